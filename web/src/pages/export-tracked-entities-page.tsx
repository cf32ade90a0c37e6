import { useCallback, useEffect, useState } from 'react';
import { Card, CheckboxField, InputField, Radio, SingleSelectField, SingleSelectOption } from '@dhis2/ui';
import { api } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { OrgUnitPicker, orgUnitIds } from '../components/org-unit-picker.tsx';
import {
  ExportAction,
  FormatCompression,
  IdSchemeFields,
  OptionalDate,
  TRACKER_ID_SCHEMES,
  dateOrderProblem,
  idSchemeParams,
} from '../components/export-form-fields.tsx';
import { downloadExport, exportPath, queryOf } from '../export-download.ts';

interface Named {
  id: string;
  displayName: string;
}

const FORMATS = [
  ['json', 'JSON'],
  ['csv', 'CSV'],
] as const;
const MODES = [
  ['SELECTED', 'Selected only'],
  ['CHILDREN', 'Selected and directly below'],
  ['DESCENDANTS', 'Selected and all below'],
  ['ACCESSIBLE', 'Every org unit I may see (none chosen)'],
  ['CAPTURE', 'My data capture org units (none chosen)'],
] as const;
const PROGRAM_STATUSES = [
  ['ANY', 'Any status'],
  ['ACTIVE', 'Active'],
  ['COMPLETED', 'Completed'],
  ['CANCELLED', 'Cancelled'],
] as const;
const ASSIGNED_USER_MODES = [
  ['ALL', 'Any (assigned or not)'],
  ['CURRENT', 'Assigned to me'],
  ['ANY', 'Assigned to someone'],
  ['NONE', 'Assigned to no one'],
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
 * last updated between two dates or within a duration, assigned user, what to include, format and
 * compression; id schemes and deleted ones behind "Advanced options". Downloads at once.
 */
export default function ExportTrackedEntitiesPage() {
  const [orgUnits, setOrgUnits] = useState<string[]>([]);
  const [mode, setMode] = useState('DESCENDANTS');
  const [by, setBy] = useState<'program' | 'type'>('program');
  const [programs, setPrograms] = useState<Named[]>([]);
  const [types, setTypes] = useState<Named[]>([]);
  const [program, setProgram] = useState('');
  const [type, setType] = useState('');
  const [programStatus, setProgramStatus] = useState('ANY');
  const [followUp, setFollowUp] = useState('ANY');
  const [enrolledAfter, setEnrolledAfter] = useState('');
  const [enrolledBefore, setEnrolledBefore] = useState('');
  const [updated, setUpdated] = useState<'dates' | 'within'>('dates');
  const [updatedAfter, setUpdatedAfter] = useState('');
  const [updatedBefore, setUpdatedBefore] = useState('');
  const [updatedWithin, setUpdatedWithin] = useState('');
  const [assignedUserMode, setAssignedUserMode] = useState('ALL');
  const [contents, setContents] = useState<string>(CONTENTS[0][0]);
  const [format, setFormat] = useState('json');
  const [compression, setCompression] = useState('none');
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const [schemes, setSchemes] = useState<Record<string, string>>({});
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
              : '';

  const run = () => {
    const query = queryOf({
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
      assignedUserMode: assignedUserMode !== 'ALL' ? assignedUserMode : undefined,
      includeDeleted: includeDeleted ? 'true' : undefined,
      fields: contents,
      paging: 'false',
      ...idSchemeParams(schemes),
    });
    return downloadExport(
      `${exportPath('/api/tracker/trackedEntities', format, compression)}?${query}`,
      `trackedEntities.${format}`,
    );
  };

  return (
    <Card className="panel">
      <div className="stack">
        {loadError ? <ErrorNotice error={loadError} title="The form could not be filled in" /> : null}
        <OrgUnitPicker
          legend="Organisation units"
          selected={orgUnits}
          onChange={setOrgUnits}
          onError={onLoadError}
        />
        <fieldset className="plain">
          <legend>Which org units</legend>
          <div className="row radios">
            {MODES.map(([value, label]) => (
              <Radio
                key={value}
                name="orgUnitMode"
                value={value}
                label={label}
                checked={mode === value}
                onChange={() => setMode(value)}
                dataTest={`mode-${value}`}
              />
            ))}
          </div>
        </fieldset>
        <fieldset className="plain">
          <legend>Tracked entities of</legend>
          <div className="row radios">
            <Radio
              name="by"
              value="program"
              label="A program"
              checked={by === 'program'}
              onChange={() => setBy('program')}
            />
            <Radio
              name="by"
              value="type"
              label="A tracked entity type"
              checked={by === 'type'}
              onChange={() => setBy('type')}
            />
          </div>
        </fieldset>
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
        <fieldset className="plain">
          <legend>Last updated</legend>
          <div className="row radios">
            <Radio
              name="updated"
              value="dates"
              label="Between dates"
              checked={updated === 'dates'}
              onChange={() => setUpdated('dates')}
            />
            <Radio
              name="updated"
              value="within"
              label="Within the last …"
              checked={updated === 'within'}
              onChange={() => setUpdated('within')}
            />
          </div>
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
        </fieldset>
        <div className="row">
          <SingleSelectField
            label="Assigned user"
            selected={assignedUserMode}
            onChange={({ selected }) => setAssignedUserMode(selected)}
            dataTest="option-assignedUserMode"
          >
            {ASSIGNED_USER_MODES.map(([value, label]) => (
              <SingleSelectOption key={value} value={value} label={label} />
            ))}
          </SingleSelectField>
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
        <details>
          <summary>Advanced options</summary>
          <div className="stack section">
            <IdSchemeFields params={TRACKER_ID_SCHEMES} values={schemes} onChange={setSchemes} />
            <CheckboxField
              label="Include deleted tracked entities"
              name="includeDeleted"
              checked={includeDeleted}
              onChange={({ checked }) => setIncludeDeleted(checked)}
            />
          </div>
        </details>
        <ExportAction missing={missing} run={run} />
      </div>
    </Card>
  );
}
