import { useCallback, useEffect, useState } from 'react';
import { Card, CheckboxField, Radio, SingleSelectField, SingleSelectOption } from '@dhis2/ui';
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
const MODES = [
  ['SELECTED', 'Selected only'],
  ['CHILDREN', 'Selected and directly below'],
  ['DESCENDANTS', 'Selected and all below'],
] as const;

/**
 * Event export (`GET /api/tracker/events`): an org unit and how far below it, a program and
 * optionally its stage, occurred and last-updated dates, status, format and compression; the id
 * schemes and deleted events behind "Advanced options". The file downloads at once.
 */
export default function ExportEventsPage() {
  const [orgUnits, setOrgUnits] = useState<string[]>([]);
  const [mode, setMode] = useState('DESCENDANTS');
  const [programs, setPrograms] = useState<Program[]>([]);
  const [program, setProgram] = useState('');
  const [stage, setStage] = useState('');
  const [occurredAfter, setOccurredAfter] = useState('');
  const [occurredBefore, setOccurredBefore] = useState('');
  const [updatedAfter, setUpdatedAfter] = useState('');
  const [status, setStatus] = useState('');
  const [format, setFormat] = useState('csv');
  const [compression, setCompression] = useState('zip');
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const [schemes, setSchemes] = useState<Record<string, string>>({});
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
  const dateProblem = dateOrderProblem(occurredAfter, occurredBefore, 'occurred-after date');
  const missing =
    orgUnits.length === 0
      ? 'Choose an org unit.'
      : !program
        ? 'Choose a program.'
        : dateProblem
          ? 'Correct the dates.'
          : '';

  const run = () => {
    const query = queryOf({
      orgUnit: orgUnitIds(orgUnits).join(','),
      orgUnitMode: mode,
      program,
      programStage: stage || undefined,
      occurredAfter,
      occurredBefore,
      updatedAfter,
      status: status || undefined,
      includeDeleted: includeDeleted ? 'true' : undefined,
      paging: 'false',
      ...idSchemeParams(schemes),
    });
    return downloadExport(
      `${exportPath('/api/tracker/events', format, compression)}?${query}`,
      `events.${format}`,
    );
  };

  return (
    <Card className="panel">
      <div className="stack">
        {loadError ? <ErrorNotice error={loadError} title="The form could not be filled in" /> : null}
        <OrgUnitPicker
          legend="Organisation unit"
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
        <div className="row">
          <SingleSelectField
            label="Program"
            selected={program}
            onChange={({ selected }) => {
              setProgram(selected);
              setStage('');
            }}
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
            label="Program stage"
            selected={stage || 'ALL'}
            onChange={({ selected }) => setStage(selected === 'ALL' ? '' : selected)}
            disabled={!program}
            dataTest="option-programStage"
          >
            <SingleSelectOption value="ALL" label="Every stage" />
            {stages.map((s) => (
              <SingleSelectOption key={s.id} value={s.id} label={s.displayName} />
            ))}
          </SingleSelectField>
        </div>
        <div className="row">
          <OptionalDate
            label="Occurred after"
            name="occurredAfter"
            value={occurredAfter}
            onChange={setOccurredAfter}
          />
          <OptionalDate
            label="Occurred before"
            name="occurredBefore"
            value={occurredBefore}
            onChange={setOccurredBefore}
            problem={dateProblem}
          />
        </div>
        <div className="row">
          <OptionalDate
            label="Last updated after"
            name="updatedAfter"
            value={updatedAfter}
            onChange={setUpdatedAfter}
          />
          <SingleSelectField
            label="Status"
            selected={status || 'ANY'}
            onChange={({ selected }) => setStatus(selected === 'ANY' ? '' : selected)}
            dataTest="option-status"
          >
            <SingleSelectOption value="ANY" label="Any status" />
            {STATUSES.map((value) => (
              <SingleSelectOption key={value} value={value} label={value} />
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
              label="Include deleted events"
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
