import { useCallback, useEffect, useState } from 'react';
import { Card, InputField, SingleSelectField, SingleSelectOption } from '@dhis2/ui';
import { api } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { OrgUnitPicker, orgUnitIds, useOrgUnitPaths } from '../components/org-unit-picker.tsx';
import {
  AdvancedExportOptions,
  AssignedUserFields,
  ExportAction,
  FormatCompression,
  OptionalDate,
  RadioChoice,
  TRACKER_ID_SCHEMES,
  assignedUserParams,
  dateOrderProblem,
  idSchemeParams,
  initial,
  initialSchemes,
  orgUnitModes,
  queueExport,
} from '../components/export-form-fields.tsx';
import { downloadExport, exportPath, queryOf } from '../export-download.ts';
import { t } from '../i18n.ts';

interface Named {
  id: string;
  displayName: string;
}

const FORMATS = [
  ['json', 'JSON'],
  ['csv', 'CSV'],
] as const;
/** The tracker org unit modes, and two that take no org unit. */
const modes = () =>
  [
    ...orgUnitModes(),
    ['ACCESSIBLE', t('Every org unit I may see (none chosen)')],
    ['CAPTURE', t('My data capture org units (none chosen)')],
  ] as const;
const PROGRAM_STATUSES = [
  ['ANY', 'Any status'],
  ['ACTIVE', 'Active'],
  ['COMPLETED', 'Completed'],
  ['CANCELLED', 'Cancelled'],
] as const;
const CONTENTS = [
  ['*', 'Attributes, enrollments, events and relationships'],
  ['*,!enrollments,!relationships,!programOwners', 'Attributes only'],
] as const;

/** DHIS2's durations for `updatedWithin`: 10d, 12h, 1d12h30m, or ISO-8601's P10D. */
const DURATION = /^(?:(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?|P(?:\d+D)?(?:T(?:\d+H)?(?:\d+M)?(?:\d+S)?)?)$/i;

/**
 * Tracked entity export (`GET /api/tracker/trackedEntities`): org units and how far below them, a
 * program (with its enrollment status, follow-up and enrollment dates) or a tracked entity type,
 * last updated between two dates or within a duration, assigned user (with a user picker for
 * PROVIDED), what to include, format and compression; id schemes and deleted ones behind "Advanced
 * options". **Export** downloads at once, **Add to export queue** makes the file on the server
 * (kind `trackedEntities`). `query` pre-fills the form (Recreate job).
 */
export default function ExportTrackedEntitiesPage({ query }: { query?: URLSearchParams }) {
  const [orgUnits, setOrgUnits, orgUnitsPending] = useOrgUnitPaths(initial(query, 'orgUnits'));
  const [mode, setMode] = useState(initial(query, 'orgUnitMode', 'DESCENDANTS'));
  const [by, setBy] = useState<'program' | 'type'>(initial(query, 'trackedEntityType') ? 'type' : 'program');
  const [programs, setPrograms] = useState<Named[]>([]);
  const [types, setTypes] = useState<Named[]>([]);
  const [program, setProgram] = useState(initial(query, 'program'));
  const [type, setType] = useState(initial(query, 'trackedEntityType'));
  const [programStatus, setProgramStatus] = useState(initial(query, 'programStatus', 'ANY'));
  const [followUp, setFollowUp] = useState(initial(query, 'followUp', 'ANY'));
  const [enrolledAfter, setEnrolledAfter] = useState(initial(query, 'enrollmentEnrolledAfter'));
  const [enrolledBefore, setEnrolledBefore] = useState(initial(query, 'enrollmentEnrolledBefore'));
  const [updated, setUpdated] = useState<'dates' | 'within'>(
    initial(query, 'updatedWithin') ? 'within' : 'dates',
  );
  const [updatedAfter, setUpdatedAfter] = useState(initial(query, 'updatedAfter'));
  const [updatedBefore, setUpdatedBefore] = useState(initial(query, 'updatedBefore'));
  const [updatedWithin, setUpdatedWithin] = useState(initial(query, 'updatedWithin'));
  const [assignedUserMode, setAssignedUserMode] = useState(initial(query, 'assignedUserMode', 'ALL'));
  const [assignedUsers, setAssignedUsers] = useState(
    initial(query, 'assignedUsers').split(',').filter(Boolean),
  );
  const [contents, setContents] = useState<string>(initial(query, 'fields', CONTENTS[0][0]));
  const [format, setFormat] = useState(initial(query, 'format', 'json'));
  const [compression, setCompression] = useState(initial(query, 'compression', 'none'));
  const [includeDeleted, setIncludeDeleted] = useState(initial(query, 'includeDeleted') === 'true');
  const [schemes, setSchemes] = useState<Record<string, string>>(() =>
    initialSchemes(query, TRACKER_ID_SCHEMES),
  );
  const [loadError, setLoadError] = useState<unknown>(null);
  const onLoadError = useCallback((error: unknown) => setLoadError(error), []);

  useEffect(() => {
    const byName = (a: Named, b: Named) => a.displayName.localeCompare(b.displayName);
    api<{ programs: (Named & { programType?: string })[] }>(
      '/api/programs?fields=id,displayName,programType&paging=false',
    )
      .then((reply) =>
        // Tracked entities are enrolled in programs with registration only.
        setPrograms(reply.programs.filter((p) => p.programType !== 'WITHOUT_REGISTRATION').sort(byName)),
      )
      .catch(onLoadError);
    api<{ trackedEntityTypes: Named[] }>('/api/trackedEntityTypes?fields=id,displayName&paging=false')
      .then((reply) => setTypes([...reply.trackedEntityTypes].sort(byName)))
      .catch(onLoadError);
  }, [onLoadError]);

  const needsOrgUnit = mode === 'SELECTED' || mode === 'CHILDREN' || mode === 'DESCENDANTS';
  const enrolledProblem = dateOrderProblem(enrolledAfter, enrolledBefore, 'enrolled-after date');
  const updatedProblem = dateOrderProblem(updatedAfter, updatedBefore, 'updated-after date');
  const withinProblem =
    updated === 'within' && updatedWithin && !DURATION.test(updatedWithin.trim())
      ? 'A duration such as 10d, 12h or 1d12h.'
      : '';
  const missing =
    needsOrgUnit && orgUnits.length === 0
      ? 'Choose an org unit, or "every org unit I may see".'
      : by === 'program' && !program
        ? 'Choose a program.'
        : by === 'type' && !type
          ? 'Choose a tracked entity type.'
          : updated === 'within' && !updatedWithin.trim()
            ? 'Give the duration for "within the last".'
            : enrolledProblem || updatedProblem || withinProblem
              ? 'Correct the dates.'
              : assignedUserMode === 'PROVIDED' && assignedUsers.length === 0
                ? t('Choose the assigned users.')
                : '';

  const params = () => ({
    orgUnits: needsOrgUnit ? orgUnitIds(orgUnits).join(',') : undefined,
    orgUnitMode: mode,
    program: by === 'program' ? program : undefined,
    trackedEntityType: by === 'type' ? type : undefined,
    programStatus: by === 'program' && programStatus !== 'ANY' ? programStatus : undefined,
    followUp: by === 'program' && followUp !== 'ANY' ? followUp : undefined,
    enrollmentEnrolledAfter: by === 'program' ? enrolledAfter : undefined,
    enrollmentEnrolledBefore: by === 'program' ? enrolledBefore : undefined,
    updatedAfter: updated === 'dates' ? updatedAfter : undefined,
    updatedBefore: updated === 'dates' ? updatedBefore : undefined,
    updatedWithin: updated === 'within' ? updatedWithin.trim() : undefined,
    ...assignedUserParams(assignedUserMode, assignedUsers),
    includeDeleted: includeDeleted ? 'true' : undefined,
    fields: contents,
    ...idSchemeParams(schemes),
  });
  const run = () =>
    downloadExport(
      `${exportPath('/api/tracker/trackedEntities', format, compression)}?${queryOf({ ...params(), paging: 'false' })}`,
      `trackedEntities.${format}`,
    );
  const queue = () => queueExport('trackedEntities', format, compression, params());

  return (
    <Card className="panel">
      <div className="stack">
        {loadError ? <ErrorNotice error={loadError} title="The form could not be filled in" /> : null}
        <OrgUnitPicker
          legend={t('Organisation units')}
          selected={orgUnits}
          onChange={setOrgUnits}
          onError={onLoadError}
          pending={orgUnitsPending}
        />
        <RadioChoice
          legend={t('Which org units')}
          name="mode"
          options={modes()}
          value={mode}
          onChange={setMode}
        />
        <RadioChoice
          legend={t('Tracked entities of')}
          name="by"
          options={[
            ['program', t('A program')],
            ['type', t('A tracked entity type')],
          ]}
          value={by}
          onChange={setBy}
        />
        {by === 'program' ? (
          <>
            <div className="row">
              <SingleSelectField
                label="Program"
                selected={program}
                onChange={({ selected }) => setProgram(selected)}
                filterable
                noMatchText="No program matches"
                placeholder="Choose a program"
                dataTest="option-program"
              >
                {programs.map((p) => (
                  <SingleSelectOption key={p.id} value={p.id} label={p.displayName} />
                ))}
              </SingleSelectField>
              <SingleSelectField
                label="Program status"
                selected={programStatus}
                onChange={({ selected }) => setProgramStatus(selected)}
                dataTest="option-programStatus"
              >
                {PROGRAM_STATUSES.map(([value, label]) => (
                  <SingleSelectOption key={value} value={value} label={label} />
                ))}
              </SingleSelectField>
              <SingleSelectField
                label="Follow-up"
                selected={followUp}
                onChange={({ selected }) => setFollowUp(selected)}
                dataTest="option-followUp"
              >
                <SingleSelectOption value="ANY" label="Any" />
                <SingleSelectOption value="true" label="Marked for follow-up" />
                <SingleSelectOption value="false" label="Not marked for follow-up" />
              </SingleSelectField>
            </div>
            <div className="row">
              <OptionalDate
                label="Enrolled after"
                name="enrolledAfter"
                value={enrolledAfter}
                onChange={setEnrolledAfter}
              />
              <OptionalDate
                label="Enrolled before"
                name="enrolledBefore"
                value={enrolledBefore}
                onChange={setEnrolledBefore}
                problem={enrolledProblem}
              />
            </div>
          </>
        ) : (
          <SingleSelectField
            label="Tracked entity type"
            selected={type}
            onChange={({ selected }) => setType(selected)}
            filterable
            noMatchText="No type matches"
            placeholder="Choose a tracked entity type"
            dataTest="option-trackedEntityType"
          >
            {types.map((t) => (
              <SingleSelectOption key={t.id} value={t.id} label={t.displayName} />
            ))}
          </SingleSelectField>
        )}
        <div className="stack">
          <RadioChoice
            legend={t('Last updated')}
            name="updated"
            options={[
              ['dates', t('Between dates')],
              ['within', t('Within the last …')],
            ]}
            value={updated}
            onChange={setUpdated}
          />
          {updated === 'dates' ? (
            <div className="row">
              <OptionalDate
                label="Updated after"
                name="updatedAfter"
                value={updatedAfter}
                onChange={setUpdatedAfter}
              />
              <OptionalDate
                label="Updated before"
                name="updatedBefore"
                value={updatedBefore}
                onChange={setUpdatedBefore}
                problem={updatedProblem}
              />
            </div>
          ) : (
            <InputField
              label="Updated within (10d, 12h, 1d12h)"
              name="updatedWithin"
              value={updatedWithin}
              onChange={({ value }) => setUpdatedWithin(value ?? '')}
              error={Boolean(withinProblem)}
              validationText={withinProblem || undefined}
            />
          )}
        </div>
        <AssignedUserFields
          mode={assignedUserMode}
          users={assignedUsers}
          onMode={setAssignedUserMode}
          onUsers={setAssignedUsers}
        />
        <div className="row">
          <SingleSelectField
            label="Include"
            selected={contents}
            onChange={({ selected }) => setContents(selected)}
            dataTest="option-fields"
          >
            {CONTENTS.map(([value, label]) => (
              <SingleSelectOption key={value} value={value} label={label} />
            ))}
          </SingleSelectField>
        </div>
        <FormatCompression
          formats={FORMATS}
          format={format}
          compression={compression}
          onFormat={setFormat}
          onCompression={setCompression}
        />
        <AdvancedExportOptions
          schemeParams={TRACKER_ID_SCHEMES}
          schemes={schemes}
          onSchemes={setSchemes}
          includeDeleted={includeDeleted}
          onIncludeDeleted={setIncludeDeleted}
          deletedLabel={t('Include deleted tracked entities')}
        />
        <ExportAction missing={missing} run={run} queue={queue} />
      </div>
    </Card>
  );
}
