import { useCallback, useEffect, useState } from 'react';
import { Card, SingleSelectField, SingleSelectOption } from '@dhis2/ui';
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

interface Program {
  id: string;
  displayName: string;
  programStages?: { id: string; displayName: string }[];
}

const FORMATS = [
  ['json', 'JSON'],
  ['csv', 'CSV'],
] as const;
const STATUSES = ['ACTIVE', 'COMPLETED', 'VISITED', 'SCHEDULE', 'OVERDUE', 'SKIPPED'] as const;

/**
 * Event export (`GET /api/tracker/events`, or the export queue's kind `events`): an org unit and
 * how far below it, a program and optionally its stage, occurred and last-updated dates, status,
 * assigned user, format and compression; the id schemes and deleted events behind "Advanced
 * options". **Export** downloads at once; **Add to export queue** makes the file on the server
 * (progress on its card, download later). `query` pre-fills the form (Recreate job).
 */
export default function ExportEventsPage({ query }: { query?: URLSearchParams }) {
  const [orgUnits, setOrgUnits, orgUnitsPending] = useOrgUnitPaths(initial(query, 'orgUnit'));
  const [mode, setMode] = useState(initial(query, 'orgUnitMode', 'DESCENDANTS'));
  const [programs, setPrograms] = useState<Program[]>([]);
  const [program, setProgram] = useState(initial(query, 'program'));
  const [stage, setStage] = useState(initial(query, 'programStage'));
  const [occurredAfter, setOccurredAfter] = useState(initial(query, 'occurredAfter'));
  const [occurredBefore, setOccurredBefore] = useState(initial(query, 'occurredBefore'));
  const [updatedAfter, setUpdatedAfter] = useState(initial(query, 'updatedAfter'));
  const [status, setStatus] = useState(initial(query, 'status'));
  const [assignedUserMode, setAssignedUserMode] = useState(initial(query, 'assignedUserMode', 'ALL'));
  const [assignedUsers, setAssignedUsers] = useState(
    initial(query, 'assignedUsers').split(',').filter(Boolean),
  );
  const [format, setFormat] = useState(initial(query, 'format', 'csv'));
  const [compression, setCompression] = useState(initial(query, 'compression', 'zip'));
  const [includeDeleted, setIncludeDeleted] = useState(initial(query, 'includeDeleted') === 'true');
  const [schemes, setSchemes] = useState<Record<string, string>>(() =>
    initialSchemes(query, TRACKER_ID_SCHEMES),
  );
  const [loadError, setLoadError] = useState<unknown>(null);
  const onLoadError = useCallback((error: unknown) => setLoadError(error), []);

  useEffect(() => {
    // A program's stages, from the program when the server lists them there, else from the
    // stages' own `program` reference.
    Promise.all([
      api<{ programs: Program[] }>(
        '/api/programs?fields=id,displayName,programStages[id,displayName]&paging=false',
      ),
      api<{ programStages: { id: string; displayName: string; program?: { id: string } }[] }>(
        '/api/programStages?fields=id,displayName,program[id]&paging=false',
      ),
    ])
      .then(([reply, stageReply]) =>
        setPrograms(
          reply.programs
            .map((p) => ({
              ...p,
              programStages: p.programStages?.length
                ? p.programStages
                : stageReply.programStages.filter((s) => s.program?.id === p.id),
            }))
            .sort((a, b) => a.displayName.localeCompare(b.displayName)),
        ),
      )
      .catch(onLoadError);
  }, [onLoadError]);

  const stages = programs.find((p) => p.id === program)?.programStages ?? [];
  const dateProblem = dateOrderProblem(occurredAfter, occurredBefore, t('occurred-after date'));
  const missing =
    orgUnits.length === 0
      ? t('Choose an org unit.')
      : !program
        ? t('Choose a program.')
        : dateProblem
          ? t('Correct the dates.')
          : assignedUserMode === 'PROVIDED' && assignedUsers.length === 0
            ? t('Choose the assigned users.')
            : '';

  const params = () => ({
    orgUnit: orgUnitIds(orgUnits).join(','),
    orgUnitMode: mode,
    program,
    programStage: stage || undefined,
    occurredAfter,
    occurredBefore,
    updatedAfter,
    status: status || undefined,
    ...assignedUserParams(assignedUserMode, assignedUsers),
    includeDeleted: includeDeleted ? 'true' : undefined,
    ...idSchemeParams(schemes),
  });
  const run = () =>
    downloadExport(
      `${exportPath('/api/tracker/events', format, compression)}?${queryOf({ ...params(), paging: 'false' })}`,
      `events.${format}`,
    );
  const queue = () => queueExport('events', format, compression, params());

  return (
    <Card className="panel">
      <div className="stack">
        {loadError ? <ErrorNotice error={loadError} title={t('The form could not be filled in')} /> : null}
        <OrgUnitPicker
          legend={t('Organisation unit')}
          selected={orgUnits}
          onChange={setOrgUnits}
          onError={onLoadError}
          pending={orgUnitsPending}
        />
        <RadioChoice
          legend={t('Which org units')}
          name="mode"
          options={orgUnitModes()}
          value={mode}
          onChange={setMode}
        />
        <div className="row">
          <SingleSelectField
            label={t('Program')}
            selected={programs.some((p) => p.id === program) ? program : ''}
            onChange={({ selected }) => {
              setProgram(selected);
              setStage('');
            }}
            filterable
            noMatchText={t('No program matches')}
            placeholder={t('Choose a program')}
            dataTest="option-program"
          >
            {programs.map((p) => (
              <SingleSelectOption key={p.id} value={p.id} label={p.displayName} />
            ))}
          </SingleSelectField>
          <SingleSelectField
            label={t('Program stage')}
            selected={stage && stages.some((s) => s.id === stage) ? stage : 'ALL'}
            onChange={({ selected }) => setStage(selected === 'ALL' ? '' : selected)}
            disabled={!program}
            dataTest="option-programStage"
          >
            <SingleSelectOption value="ALL" label={t('Every stage')} />
            {stages.map((s) => (
              <SingleSelectOption key={s.id} value={s.id} label={s.displayName} />
            ))}
          </SingleSelectField>
        </div>
        <div className="row">
          <OptionalDate
            label={t('Occurred after')}
            name="occurredAfter"
            value={occurredAfter}
            onChange={setOccurredAfter}
          />
          <OptionalDate
            label={t('Occurred before')}
            name="occurredBefore"
            value={occurredBefore}
            onChange={setOccurredBefore}
            problem={dateProblem}
          />
        </div>
        <div className="row">
          <OptionalDate
            label={t('Last updated after')}
            name="updatedAfter"
            value={updatedAfter}
            onChange={setUpdatedAfter}
          />
          <SingleSelectField
            label={t('Status')}
            selected={status || 'ANY'}
            onChange={({ selected }) => setStatus(selected === 'ANY' ? '' : selected)}
            dataTest="option-status"
          >
            <SingleSelectOption value="ANY" label={t('Any status')} />
            {STATUSES.map((value) => (
              <SingleSelectOption key={value} value={value} label={value} />
            ))}
          </SingleSelectField>
        </div>
        <AssignedUserFields
          mode={assignedUserMode}
          users={assignedUsers}
          onMode={setAssignedUserMode}
          onUsers={setAssignedUsers}
        />
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
          deletedLabel={t('Include deleted events')}
        />
        <ExportAction
          missing={missing}
          run={run}
          queue={queue}
          queueOnly={
            assignedUserMode !== 'ALL'
              ? t('Events filtered by their assigned user are made in the export queue.')
              : undefined
          }
        />
      </div>
    </Card>
  );
}
