import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  Button,
  CalendarInput,
  Card,
  CheckboxField,
  InputField,
  MultiSelectField,
  MultiSelectOption,
  SingleSelectField,
  SingleSelectOption,
} from '@dhis2/ui';
import { api, postJson, type ExportCard } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { OrgUnitPicker, orgUnitIds, useOrgUnitPaths } from '../components/org-unit-picker.tsx';
import { navigate } from '../router.ts';
import { ENROLLMENT_STATUSES, EVENT_STATUSES } from '../../../src/domain/tracker/tracker-objects.ts';
import type { AnalysisFormat } from '../../../src/services/analysis/analysis-file-writers.ts';

/**
 * The analysis export request form (issue 15), after Survey Solutions' export page: program or
 * data set, version, status, data type, metadata, format, destination, password, **Add to queue**.
 * It offers what the server's analysis producer accepts (src/services/analysis/analysis-jobs.ts:
 * the program parameters of analysis-program-request.ts, the data set parameters and extras of
 * analysis-export-service.ts and analysis-extras.ts) and queues `POST /api/exports`, kind
 * `analysis`; the card then shows in the export queue.
 */

/** Every format the server writes; typed by the server's own list, so a new one must be named here. */
const FORMAT_LABELS: Record<AnalysisFormat, string> = {
  tab: 'Tab-separated data (*.tab)',
  stata: 'Stata 14+ (*.dta)',
  spss: 'SPSS (*.sav)',
  csv: 'CSV (*.csv)',
  parquet: 'Apache Parquet (*.parquet)',
};

const EVENT_STATUS_LABELS: Record<(typeof EVENT_STATUSES)[number], string> = {
  ACTIVE: 'Active',
  COMPLETED: 'Completed',
  VISITED: 'Visited',
  SCHEDULE: 'Scheduled',
  OVERDUE: 'Overdue',
  SKIPPED: 'Skipped',
};
const ENROLLMENT_STATUS_LABELS: Record<(typeof ENROLLMENT_STATUSES)[number], string> = {
  ACTIVE: 'Active',
  COMPLETED: 'Completed',
  CANCELLED: 'Cancelled',
};

/** What the server accepts for each source (the parameter checks named above). */
const ACCEPTS = {
  dataSet: { extras: true, locale: false, status: false, version: false, layout: true, needsDates: true },
  program: { extras: true, locale: true, status: true, version: true, layout: false, needsDates: false },
} as const;
type Source = keyof typeof ACCEPTS;

/** The label language select's value for "no locale" (an empty value would show as nothing chosen). */
const DEFAULT_LOCALE = 'default';

/** The server's rule for an export password (src/services/jobs/export-compression.ts). */
const PASSWORD_MIN_LENGTH = 8;
const PASSWORD_MAX_LENGTH = 256;

/** A cloud destination (an rclone remote) as `GET /api/exportRemotes` lists it; secrets never come back. */
interface Remote {
  id: string;
  name: string;
  type: string;
  scope: 'user' | 'server';
}

/** The remote types in words (src/services/jobs/destinations/rclone-remotes.ts). */
const REMOTE_TYPE_LABELS: Record<string, string> = {
  webdav: 'WebDAV',
  sftp: 'SFTP',
  s3: 'S3',
  dropbox: 'Dropbox',
  onedrive: 'OneDrive',
  drive: 'Google Drive',
};

interface Subject {
  id: string;
  displayName: string;
  version?: number;
  programType?: string;
  translations?: { locale: string }[];
}

function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export default function ExportAnalysisPage({ query }: { query: URLSearchParams }) {
  const [source, setSource] = useState<Source>(query.get('program') ? 'program' : 'dataSet');
  const [dataSets, setDataSets] = useState<Subject[]>([]);
  const [programs, setPrograms] = useState<Subject[]>([]);
  const [subject, setSubject] = useState(query.get('program') ?? query.get('dataSet') ?? '');
  // A recreated request (export-forms.ts) starts from the old one's parameters.
  const list = (key: string) => query.get(key)?.split(',').filter(Boolean) ?? [];
  const [pinVersion, setPinVersion] = useState(!query.get('program') || query.has('programVersion'));
  const [statuses, setStatuses] = useState<string[]>(() => list('status'));
  const [programStatuses, setProgramStatuses] = useState<string[]>(() => list('programStatus'));
  const [metadata, setMetadata] = useState(query.get('metadata') === 'true');
  const [paradata, setParadata] = useState(query.get('paradata') === 'true');
  const [binary, setBinary] = useState(query.get('binary') === 'true');
  const [format, setFormat] = useState<AnalysisFormat>(
    (Object.keys(FORMAT_LABELS) as AnalysisFormat[]).find((f) => f === query.get('format')) ?? 'stata',
  );
  const [layout, setLayout] = useState(query.get('layout') ?? 'wide');
  const [orgUnits, setOrgUnits, orgUnitsPending] = useOrgUnitPaths(query.get('orgUnit') ?? '');
  const [startDate, setStartDate] = useState(
    query.get('startDate') ?? (query.has('format') ? '' : isoDate(new Date(Date.now() - 365 * 86_400_000))),
  );
  const [endDate, setEndDate] = useState(
    query.get('endDate') ?? (query.has('format') ? '' : isoDate(new Date())),
  );
  const [locale, setLocale] = useState(query.get('locale') ?? '');
  // `download`, `directory`, or `remote:<id>` for a cloud destination.
  const [destination, setDestination] = useState('download');
  const [directory, setDirectory] = useState('');
  const [remotes, setRemotes] = useState<Remote[]>([]);
  const [protect, setProtect] = useState(false);
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const accepts = ACCEPTS[source];

  useEffect(() => {
    api<{ dataSets: Subject[] }>('/api/dataSets?fields=id,displayName,version&paging=false')
      .then((reply) => setDataSets(reply.dataSets))
      .catch(setError);
    api<{ programs: Subject[] }>(
      '/api/programs?fields=id,displayName,version,programType,translations[locale]&paging=false',
    )
      .then((reply) => setPrograms(reply.programs))
      .catch(setError);
    api<{ exportRemotes: Remote[] }>('/api/exportRemotes')
      .then((reply) => setRemotes(reply.exportRemotes))
      .catch(setError);
  }, []);
  const onTreeError = useCallback((caught: unknown) => setError(caught), []);

  const subjects = source === 'program' ? programs : dataSets;
  const chosen = subjects.find((item) => item.id === subject);
  const tracker = chosen?.programType === 'WITH_REGISTRATION';
  // Binary files (FILE_RESOURCE and IMAGE values) are exported for event programs only; the server
  // refuses them for tracker programs and data sets (analysis-extras.ts, refuseBinaryExtra).
  const offersBinary = source === 'program' && chosen !== undefined && !tracker;
  const locales = useMemo(
    () => [...new Set((chosen?.translations ?? []).map((t) => t.locale))].sort(),
    [chosen],
  );

  const dateProblem =
    startDate && endDate && startDate > endDate ? 'The start date is after the end date.' : '';
  const passwordProblem = !protect
    ? ''
    : [...password].length < PASSWORD_MIN_LENGTH
      ? `At least ${PASSWORD_MIN_LENGTH} characters.`
      : [...password].length > PASSWORD_MAX_LENGTH
        ? `At most ${PASSWORD_MAX_LENGTH} characters.`
        : '';
  const repeatProblem = protect && repeat !== password ? 'The two passwords differ.' : '';
  const missing = [
    !chosen && (source === 'program' ? 'a program' : 'a data set'),
    source === 'dataSet' && orgUnits.length === 0 && 'at least one org unit',
    accepts.needsDates && (!startDate || !endDate) && 'a start and an end date',
    destination === 'directory' && directory.trim() === '' && 'a directory',
  ].filter((text): text is string => typeof text === 'string');
  const ready = missing.length === 0 && !dateProblem && !passwordProblem && !repeatProblem;

  const params = (): Record<string, string> => {
    const units = orgUnitIds(orgUnits).join(',');
    const dates = { ...(startDate ? { startDate } : {}), ...(endDate ? { endDate } : {}) };
    if (source === 'program') {
      return {
        program: subject,
        ...(pinVersion && chosen?.version !== undefined ? { programVersion: String(chosen.version) } : {}),
        ...(statuses.length > 0 ? { status: statuses.join(',') } : {}),
        ...(tracker && programStatuses.length > 0 ? { programStatus: programStatuses.join(',') } : {}),
        ...(units ? { orgUnit: units } : {}),
        ...dates,
        ...(locale ? { locale } : {}),
        ...(metadata ? { metadata: 'true' } : {}),
        ...(paradata ? { paradata: 'true' } : {}),
        ...(binary && offersBinary ? { binary: 'true' } : {}),
      };
    }
    return {
      dataSet: subject,
      orgUnit: units,
      ...dates,
      layout,
      ...(metadata ? { metadata: 'true' } : {}),
      ...(paradata ? { paradata: 'true' } : {}),
    };
  };

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await postJson<ExportCard>('/api/exports', {
        kind: 'analysis',
        format,
        params: params(),
        destination: destination.startsWith('remote:')
          ? { type: 'remote', remote: destination.slice('remote:'.length), path: directory.trim() }
          : destination === 'directory'
            ? { type: 'directory', path: directory.trim() }
            : { type: 'download' },
        ...(protect ? { password } : {}),
      });
      navigate('#/exports');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card className="panel">
      <form
        className="stack"
        id="analysis-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (ready && !busy) void submit();
        }}
      >
        <div className="row">
          <SingleSelectField
            label="Export from"
            selected={source}
            onChange={({ selected }) => {
              setSource(selected as Source);
              setSubject('');
              setLocale('');
            }}
            dataTest="option-source"
          >
            <SingleSelectOption value="dataSet" label="A data set (aggregate data)" />
            <SingleSelectOption value="program" label="A program (events and tracked entities)" />
          </SingleSelectField>
          <SingleSelectField
            label={source === 'program' ? 'Program' : 'Data set'}
            selected={chosen ? subject : ''}
            onChange={({ selected }) => {
              setSubject(selected);
              setLocale('');
            }}
            filterable
            noMatchText="Nothing matches"
            placeholder={source === 'program' ? 'Choose a program' : 'Choose a data set'}
            dataTest="option-subject"
          >
            {subjects.map((item) => (
              <SingleSelectOption key={item.id} value={item.id} label={item.displayName} />
            ))}
          </SingleSelectField>
        </div>
        <div className="row">
          {accepts.version ? (
            <SingleSelectField
              label="Version"
              selected={pinVersion ? 'pinned' : 'current'}
              onChange={({ selected }) => setPinVersion(selected === 'pinned')}
              disabled={!chosen}
              helpText="DHIS2 keeps one version, the one in force; the file records it."
              dataTest="option-version"
            >
              <SingleSelectOption
                value="pinned"
                label={
                  chosen?.version !== undefined
                    ? `Version ${chosen.version} (in force now; refused if it changes)`
                    : 'The version in force now'
                }
              />
              <SingleSelectOption
                value="current"
                label="Whichever version is in force when the file is made"
              />
            </SingleSelectField>
          ) : (
            <p className="muted" id="data-set-version">
              {chosen?.version !== undefined
                ? `Data set version ${chosen.version}: the version in force is exported.`
                : 'The data set’s version in force is exported.'}
            </p>
          )}
        </div>
        {accepts.status ? (
          <div className="row">
            <MultiSelectField
              label="Event status"
              selected={statuses}
              onChange={({ selected }) => setStatuses(selected)}
              helpText="None chosen: events in any status."
              dataTest="option-status"
            >
              {EVENT_STATUSES.map((status) => (
                <MultiSelectOption key={status} value={status} label={EVENT_STATUS_LABELS[status]} />
              ))}
            </MultiSelectField>
            {tracker ? (
              <MultiSelectField
                label="Enrollment status"
                selected={programStatuses}
                onChange={({ selected }) => setProgramStatuses(selected)}
                helpText="None chosen: enrollments in any status."
                dataTest="option-programStatus"
              >
                {ENROLLMENT_STATUSES.map((status) => (
                  <MultiSelectOption key={status} value={status} label={ENROLLMENT_STATUS_LABELS[status]} />
                ))}
              </MultiSelectField>
            ) : null}
          </div>
        ) : null}
        <fieldset className="plain">
          <legend>Data type</legend>
          <p className="muted">
            {source === 'program'
              ? 'The main data: one file per program (events), or tracked entities, enrollments and one file per stage.'
              : 'The main data: one file per data set, and a readme saying what was asked.'}
          </p>
          {accepts.extras ? (
            <>
              <CheckboxField
                label="Include metadata: DDI codebook, the DHIS2 definition and a questionnaire PDF"
                name="metadata"
                checked={metadata}
                onChange={({ checked }) => setMetadata(checked)}
              />
              <CheckboxField
                label="Include paradata: who changed which value, when, from what to what, through which import job"
                name="paradata"
                checked={paradata}
                onChange={({ checked }) => setParadata(checked)}
              />
              {offersBinary ? (
                <CheckboxField
                  label="Include binary data: the files and images of file and image values, in folders per event"
                  name="binary"
                  checked={binary}
                  onChange={({ checked }) => setBinary(checked)}
                />
              ) : null}
            </>
          ) : null}
        </fieldset>
        <div className="row">
          <SingleSelectField
            label="Format"
            selected={format}
            onChange={({ selected }) => setFormat(selected as AnalysisFormat)}
            dataTest="option-format"
          >
            {(Object.keys(FORMAT_LABELS) as AnalysisFormat[]).map((value) => (
              <SingleSelectOption key={value} value={value} label={FORMAT_LABELS[value]} />
            ))}
          </SingleSelectField>
          {accepts.layout ? (
            <SingleSelectField
              label="Layout"
              selected={layout}
              onChange={({ selected }) => setLayout(selected)}
              dataTest="option-layout"
            >
              <SingleSelectOption value="wide" label="Wide: a row per org unit and period" />
              <SingleSelectOption value="long" label="Long: a row per value" />
            </SingleSelectField>
          ) : null}
          {accepts.locale ? (
            <SingleSelectField
              label="Label language"
              selected={locale || DEFAULT_LOCALE}
              onChange={({ selected }) => setLocale(selected === DEFAULT_LOCALE ? '' : selected)}
              disabled={!chosen}
              helpText={chosen && locales.length === 0 ? 'This program has no translations.' : undefined}
              dataTest="option-locale"
            >
              <SingleSelectOption value={DEFAULT_LOCALE} label="Default language" />
              {locales.map((value) => (
                <SingleSelectOption key={value} value={value} label={value} />
              ))}
            </SingleSelectField>
          ) : null}
        </div>
        <OrgUnitPicker
          legend={
            source === 'program'
              ? 'Organisation units, with their descendants (none chosen: all you may see)'
              : 'Organisation units, with their descendants'
          }
          pending={orgUnitsPending}
          selected={orgUnits}
          onChange={setOrgUnits}
          onError={onTreeError}
        />
        <div className="row">
          <CalendarInput
            label={source === 'program' ? 'From (event or enrollment date)' : 'Periods from'}
            name="startDate"
            calendar="gregory"
            date={startDate}
            onDateSelect={(value) => setStartDate(value?.calendarDateString ?? '')}
            clearable={!accepts.needsDates}
            dataTest="start-date"
          />
          <CalendarInput
            label={source === 'program' ? 'To' : 'Periods to'}
            name="endDate"
            calendar="gregory"
            date={endDate}
            onDateSelect={(value) => setEndDate(value?.calendarDateString ?? '')}
            clearable={!accepts.needsDates}
            error={Boolean(dateProblem)}
            validationText={dateProblem || undefined}
            dataTest="end-date"
          />
        </div>
        <div className="row">
          <SingleSelectField
            label="Destination"
            selected={destination}
            onChange={({ selected }) => setDestination(selected)}
            helpText={
              remotes.length === 0
                ? 'Cloud storage (OneDrive, Dropbox, Google Drive, S3, WebDAV, SFTP) is offered once a remote is set up (/api/exportRemotes).'
                : undefined
            }
            dataTest="option-destination"
          >
            <SingleSelectOption value="download" label="Download from the card" />
            <SingleSelectOption value="directory" label="A directory on the server" />
            {remotes.map((remote) => (
              <SingleSelectOption
                key={remote.id}
                value={`remote:${remote.id}`}
                label={`${REMOTE_TYPE_LABELS[remote.type] ?? remote.type}: ${remote.name}${
                  remote.scope === 'server' ? ' (the server’s)' : ''
                }`}
              />
            ))}
          </SingleSelectField>
          {destination.startsWith('remote:') ? (
            <InputField
              label="Folder on the remote (empty: its top)"
              name="remotePath"
              value={directory}
              onChange={({ value }) => setDirectory(value ?? '')}
              placeholder="exports/2026"
            />
          ) : null}
          {destination === 'directory' ? (
            <InputField
              label="Directory (under the server's export root)"
              name="directory"
              value={directory}
              onChange={({ value }) => setDirectory(value ?? '')}
              placeholder="district/2026"
            />
          ) : null}
        </div>
        <CheckboxField
          label="Protect the archive with a password (AES-256; opened by 7-Zip)"
          name="protect"
          checked={protect}
          onChange={({ checked }) => setProtect(checked)}
        />
        {protect ? (
          <div className="row">
            <InputField
              label="Password"
              name="password"
              type="password"
              autoComplete="new-password"
              value={password}
              onChange={({ value }) => setPassword(value ?? '')}
              error={Boolean(password) && Boolean(passwordProblem)}
              validationText={password ? passwordProblem || undefined : undefined}
              helpText="Never stored: regenerating the file asks for it again."
            />
            <InputField
              label="Password again"
              name="passwordRepeat"
              type="password"
              autoComplete="new-password"
              value={repeat}
              onChange={({ value }) => setRepeat(value ?? '')}
              error={Boolean(repeat) && Boolean(repeatProblem)}
              validationText={repeat ? repeatProblem || undefined : undefined}
            />
          </div>
        ) : null}
        {error ? <ErrorNotice error={error} title="The export was not queued" /> : null}
        <div>
          <Button primary type="submit" disabled={!ready || busy} loading={busy}>
            Add to queue
          </Button>
          {missing.length > 0 ? (
            <p className="muted" id="analysis-missing">
              Choose {missing.join(', ')}.
            </p>
          ) : null}
        </div>
      </form>
    </Card>
  );
}
