import { useEffect, useState, type DragEvent } from 'react';
import {
  Button,
  ButtonStrip,
  Card,
  CheckboxField,
  FileInputField,
  FileListItem,
  InputField,
  LinearLoader,
  NoticeBox,
  SingleSelectField,
  SingleSelectOption,
} from '@dhis2/ui';
import { api, upload, type JobDetails, type JobRecord } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { ImportSummary } from '../components/import-summary.tsx';
import { JobProgress, type JobDone } from '../components/job-progress.tsx';
import { formatBytes } from '../format.ts';
import {
  ATOMIC_MODES,
  FLUSH_MODES,
  IMPORT_IDENTIFIERS,
  IMPORT_REPORT_MODES,
  IMPORT_STRATEGIES,
  MERGE_MODES,
  PREHEAT_MODES,
} from '../../../src/domain/metadata-import/import-params.ts';

export type ImportKind = 'dataValues' | 'metadata' | 'geometry' | 'tracker';

interface FormatChoice {
  value: string;
  label: string;
  contentType: string;
}

const FORMATS: Record<ImportKind, FormatChoice[]> = {
  dataValues: [
    { value: 'json', label: 'JSON', contentType: 'application/json' },
    { value: 'csv', label: 'CSV', contentType: 'application/csv' },
    { value: 'xml', label: 'XML (DXF2)', contentType: 'application/xml' },
    { value: 'adx', label: 'ADX', contentType: 'application/adx+xml' },
    { value: 'pdf', label: 'PDF form', contentType: 'application/pdf' },
  ],
  metadata: [
    { value: 'json', label: 'JSON', contentType: 'application/json' },
    { value: 'csv', label: 'CSV', contentType: 'application/csv' },
    { value: 'xml', label: 'XML', contentType: 'application/xml' },
  ],
  geometry: [
    { value: 'geojson', label: 'GeoJSON', contentType: 'application/geo+json' },
    { value: 'gml', label: 'GML', contentType: 'application/xml' },
  ],
  tracker: [{ value: 'json', label: 'JSON (nested or flat)', contentType: 'application/json' }],
};

/** DHIS2's import endpoint for a kind and format: geometry has one per format. */
function endpointFor(kind: ImportKind, format: string): string {
  if (kind === 'geometry') return format === 'gml' ? '/api/metadata/gml' : '/api/organisationUnits/geometry';
  if (kind === 'tracker') return '/api/tracker';
  return kind === 'dataValues' ? '/api/dataValueSets' : '/api/metadata';
}
const JOB_TYPE: Record<ImportKind, string> = {
  dataValues: 'DATAVALUE_IMPORT',
  metadata: 'METADATA_IMPORT',
  geometry: 'GEOJSON_IMPORT or GML_IMPORT',
  tracker: 'TRACKER_IMPORT_JOB',
};

/** The format a file name says, compression suffixes aside (`x.csv.gz` is CSV). */
export function detectFormat(kind: ImportKind, name: string): string {
  const lower = name.toLowerCase().replace(/\.(gz|zip)$/, '');
  if (kind === 'geometry') return lower.endsWith('.gml') || lower.endsWith('.xml') ? 'gml' : 'geojson';
  if (kind === 'tracker') return 'json';
  if (kind === 'dataValues' && (lower.endsWith('.adx.xml') || lower.endsWith('.adx'))) return 'adx';
  if (lower.endsWith('.xml')) return 'xml';
  if (lower.endsWith('.csv')) return 'csv';
  if (kind === 'dataValues' && lower.endsWith('.pdf')) return 'pdf';
  return 'json';
}

/** Whether the name alone says the format (a known extension, compression aside). */
function nameSaysFormat(name: string): boolean {
  return /\.(json|csv|xml|adx|pdf|geojson|gml)$/i.test(name.replace(/\.(gz|zip)$/i, ''));
}

/**
 * The format the first bytes say, for a file whose name does not: `{`/`[` JSON, `%PDF` PDF, `<`
 * XML (ADX when it names ADX's namespace), anything else CSV. Reads 512 bytes, never the file.
 */
export async function sniffFormat(kind: ImportKind, file: File): Promise<string> {
  const head = (await file.slice(0, 512).text()).replace(/^\uFEFF/, '').trimStart();
  if (kind === 'geometry') return head.startsWith('<') ? 'gml' : 'geojson';
  if (kind === 'tracker') return 'json';
  if (head.startsWith('{') || head.startsWith('[')) return 'json';
  if (kind === 'dataValues' && head.startsWith('%PDF')) return 'pdf';
  if (head.startsWith('<')) return kind === 'dataValues' && /ihe\.net|adx/i.test(head) ? 'adx' : 'xml';
  return 'csv';
}

const ID_SCHEMES = ['UID', 'CODE', 'NAME'];
const DATA_ID_SCHEME_PARAMS = [
  ['idScheme', 'General id scheme'],
  ['dataElementIdScheme', 'Data element id scheme'],
  ['orgUnitIdScheme', 'Org unit id scheme'],
  ['categoryOptionComboIdScheme', 'Category option combo id scheme'],
] as const;

type Options = Record<string, string>;

const DEFAULTS: Record<ImportKind, Options> = {
  dataValues: {
    importStrategy: 'CREATE_AND_UPDATE',
    atomic: 'false',
    async: 'true',
    skipAudit: 'false',
    skipExistingCheck: 'false',
    preheatCache: 'false',
    firstRowIsHeader: 'true',
    idScheme: 'UID',
    dataElementIdScheme: 'UID',
    orgUnitIdScheme: 'UID',
    categoryOptionComboIdScheme: 'UID',
  },
  metadata: {
    importStrategy: 'CREATE_AND_UPDATE',
    atomicMode: 'ALL',
    identifier: 'UID',
    mergeMode: 'REPLACE',
    importReportMode: 'ERRORS',
    preheatMode: 'REFERENCE',
    flushMode: 'AUTO',
    skipSharing: 'false',
    skipValidation: 'false',
    async: 'true',
    firstRowIsHeader: 'true',
  },
  tracker: {
    importStrategy: 'CREATE_AND_UPDATE',
    atomicMode: 'ALL',
    validationMode: 'FULL',
    reportMode: 'ERRORS',
    skipRuleEngine: 'false',
    async: 'true',
  },
  geometry: {
    async: 'true',
    geoJsonId: 'true',
    geoJsonProperty: '',
    orgUnitProperty: 'id',
  },
};

const STRATEGY_LABELS: Record<string, string> = {
  CREATE_AND_UPDATE: 'New and updates',
  CREATE: 'New only',
  UPDATE: 'Updates only',
  DELETE: 'Delete',
};

type Phase =
  | { state: 'idle' }
  | { state: 'uploading'; loaded: number; total: number }
  | { state: 'running'; job: JobRecord }
  | { state: 'done'; report: unknown; job?: JobRecord; error?: string | null };

/** A job to recreate: its options, and its file kept on the server. */
interface Recreated {
  id: string;
  params: Options;
  fileName: string | null;
}

export default function ImportPage({ kind, query }: { kind: ImportKind; query: URLSearchParams }) {
  const [file, setFile] = useState<File | null>(null);
  const [format, setFormat] = useState('json');
  const [options, setOptions] = useState<Options>(DEFAULTS[kind]);
  const [classKey, setClassKey] = useState('');
  const [classKeys, setClassKeys] = useState<string[]>([]);
  const [phase, setPhase] = useState<Phase>({ state: 'idle' });
  const [dryRun, setDryRun] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [dragging, setDragging] = useState(false);
  const [recreated, setRecreated] = useState<Recreated | null>(null);
  const [maySkipAudit, setMaySkipAudit] = useState(false);
  const recreateId = query.get('recreate');

  useEffect(() => {
    setOptions(DEFAULTS[kind]);
    setFormat(FORMATS[kind][0]?.value ?? 'json');
    setFile(null);
    setPhase({ state: 'idle' });
    setError(null);
    setRecreated(null);
  }, [kind]);

  useEffect(() => {
    if (kind !== 'metadata') return;
    api<string[]>('/api/metadata/csvImportClasses')
      .then((keys) => setClassKeys([...keys].sort()))
      .catch(setError);
  }, [kind]);

  useEffect(() => {
    if (kind !== 'dataValues') return;
    api<string[]>('/api/me/authorization')
      .then((authorities) =>
        setMaySkipAudit(authorities.includes('ALL') || authorities.includes('F_SKIP_DATA_IMPORT_AUDIT')),
      )
      .catch(() => setMaySkipAudit(false));
  }, [kind]);

  // "Recreate job": the form with the old job's options and its file, kept on the server.
  useEffect(() => {
    if (!recreateId) return;
    api<{ params: Record<string, unknown>; inputFile?: { name?: string } | null }>(
      `/api/jobs/${encodeURIComponent(recreateId)}/recreate`,
      { method: 'POST' },
    )
      .then((result) => {
        const params: Options = {};
        for (const [key, value] of Object.entries(result.params ?? {}))
          if (typeof value === 'string' || typeof value === 'boolean') params[key] = String(value);
        setOptions({ ...DEFAULTS[kind], ...params });
        if (params.classKey) setClassKey(params.classKey);
        const fileName = result.inputFile?.name ?? null;
        if (fileName) setFormat(detectFormat(kind, fileName));
        setRecreated({ id: recreateId, params, fileName });
      })
      .catch(setError);
  }, [recreateId, kind]);

  const set = (key: string) => (value: string) => setOptions((previous) => ({ ...previous, [key]: value }));
  const flag = (key: string) => options[key] === 'true';
  const chooseFile = (chosen: File | null) => {
    setFile(chosen);
    setError(null);
    setPhase({ state: 'idle' });
    if (!chosen) return;
    if (nameSaysFormat(chosen.name) || /\.(gz|zip)$/i.test(chosen.name))
      setFormat(detectFormat(kind, chosen.name));
    else void sniffFormat(kind, chosen).then(setFormat);
  };

  const needsClassKey = kind === 'metadata' && format === 'csv';
  const keptFile = !file && recreated?.fileName ? recreated : null;
  const busy = phase.state === 'uploading' || phase.state === 'running';

  const start = async (asDryRun: boolean) => {
    setError(null);
    setDryRun(asDryRun);
    try {
      if (keptFile) {
        // The server re-runs the job with its own copy of the file and the options it had.
        const reply = await api<{ job?: JobRecord }>(
          `/api/jobs/${encodeURIComponent(keptFile.id)}/recreate?submit=true`,
          { method: 'POST' },
        );
        if (reply.job) setPhase({ state: 'running', job: reply.job });
        return;
      }
      if (!file) return;
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(options)) {
        if (key === 'skipAudit' && !maySkipAudit) continue;
        if (key === 'firstRowIsHeader' && format !== 'csv') continue;
        if (key === 'classKey' || key === 'dryRun') continue;
        // GML takes none of GeoJSON's matching options; an empty property is left out.
        if (kind === 'geometry' && format === 'gml' && key !== 'async') continue;
        if (value === '') continue;
        params.set(key, value);
      }
      params.set('dryRun', String(asDryRun));
      if (needsClassKey) params.set('classKey', classKey);
      const contentType =
        FORMATS[kind].find((choice) => choice.value === format)?.contentType ?? 'application/json';
      setPhase({ state: 'uploading', loaded: 0, total: file.size });
      const reply = await upload<{
        response?: { id?: string; relativeNotifierEndpoint?: string; location?: string };
      }>(`${endpointFor(kind, format)}?${params}`, file, contentType, ({ loaded, total }) =>
        setPhase({ state: 'uploading', loaded, total }),
      );
      // DHIS2 answers an async import with the job's notifier endpoint, or (tracker) its location.
      const jobId =
        reply.response?.relativeNotifierEndpoint || reply.response?.location ? reply.response.id : undefined;
      if (jobId) {
        const details = await api<JobDetails>(`/api/jobs/${encodeURIComponent(jobId)}`);
        setPhase({ state: 'running', job: details.job });
      } else {
        setPhase({ state: 'done', report: reply });
      }
    } catch (caught) {
      setPhase({ state: 'idle' });
      setError(caught);
    }
  };

  const onDone = (done: JobDone) =>
    setPhase((previous) => ({
      state: 'done',
      report: done.summary,
      job: previous.state === 'running' ? { ...previous.job, status: done.status } : undefined,
      error: done.error,
    }));

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    const dropped = event.dataTransfer.files[0];
    if (dropped) chooseFile(dropped);
  };

  const select = (
    key: string,
    label: string,
    values: readonly string[],
    labels: Record<string, string> = {},
  ) => (
    <SingleSelectField
      label={label}
      selected={options[key]}
      onChange={({ selected }) => set(key)(selected)}
      disabled={Boolean(keptFile)}
      dataTest={`option-${key}`}
    >
      {values.map((value) => (
        <SingleSelectOption key={value} value={value} label={labels[value] ?? value} />
      ))}
    </SingleSelectField>
  );
  const check = (key: string, label: string, helpText?: string) => (
    <CheckboxField
      label={label}
      name={key}
      checked={flag(key)}
      helpText={helpText}
      onChange={({ checked }) => set(key)(String(checked))}
      disabled={Boolean(keptFile)}
    />
  );

  return (
    <>
      <Card className="panel section">
        <div className="stack">
          <div
            className={`drop-zone${dragging ? ' dragging' : ''}`}
            onDragOver={(event) => {
              event.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={onDrop}
          >
            <FileInputField
              label={
                kind === 'dataValues'
                  ? 'Data value file'
                  : kind === 'metadata'
                    ? 'Metadata file'
                    : kind === 'tracker'
                      ? 'Tracker file'
                      : 'Geometry file'
              }
              name="file"
              buttonLabel="Choose a file"
              helpText={`Drop a file here or choose one: ${FORMATS[kind].map((f) => f.label).join(', ')}; gzip or zip compressed too.`}
              accept={
                kind === 'dataValues'
                  ? '.json,.csv,.xml,.adx,.pdf,.gz,.zip'
                  : kind === 'metadata'
                    ? '.json,.csv,.xml,.gz,.zip'
                    : kind === 'tracker'
                      ? '.json,.gz,.zip'
                      : '.geojson,.json,.gml,.xml,.gz,.zip'
              }
              onChange={({ files }) => chooseFile(files?.[0] ?? null)}
              placeholder={keptFile ? '' : 'No file chosen yet'}
            >
              {file ? (
                <FileListItem
                  label={`${file.name} (${formatBytes(file.size)})`}
                  onRemove={() => chooseFile(null)}
                  removeText="Remove"
                />
              ) : null}
            </FileInputField>
            {keptFile ? (
              <p id="chosen-file">
                {keptFile.fileName} (kept from job {keptFile.id}; choose a file to import another one and
                change the options)
              </p>
            ) : null}
          </div>
          <div className="row">
            <SingleSelectField
              label="Format"
              selected={format}
              onChange={({ selected }) => setFormat(selected)}
              helpText="Detected from the file's name or first bytes; change it if it is wrong."
              disabled={Boolean(keptFile)}
              dataTest="option-format"
            >
              {FORMATS[kind].map((choice) => (
                <SingleSelectOption key={choice.value} value={choice.value} label={choice.label} />
              ))}
            </SingleSelectField>
            {kind !== 'geometry'
              ? select('importStrategy', 'Import strategy', IMPORT_STRATEGIES, STRATEGY_LABELS)
              : null}
            {needsClassKey ? (
              <SingleSelectField
                label="Object type in the CSV (class key)"
                selected={classKeys.includes(classKey) ? classKey : undefined}
                onChange={({ selected }) => setClassKey(selected)}
                filterable
                noMatchText="No such type"
                dataTest="option-classKey"
              >
                {classKeys.map((key) => (
                  <SingleSelectOption key={key} value={key} label={key} />
                ))}
              </SingleSelectField>
            ) : null}
          </div>
          {options.importStrategy === 'DELETE' ? (
            <NoticeBox warning title="Delete strategy">
              Every {kind === 'dataValues' ? 'data value' : 'object'} in the file will be deleted. Run a dry
              run first to see how many.
            </NoticeBox>
          ) : null}
          <details>
            <summary>Advanced options</summary>
            <div className="stack section">
              {kind === 'dataValues' ? (
                <>
                  {check('atomic', 'Atomic: import nothing if any value has a conflict')}
                  <div className="row">
                    {DATA_ID_SCHEME_PARAMS.map(([key, label]) => (
                      <div key={key}>{select(key, label, ID_SCHEMES)}</div>
                    ))}
                  </div>
                  {check(
                    'skipExistingCheck',
                    'Skip the check for existing values (faster; only for new data)',
                  )}
                  {maySkipAudit ? check('skipAudit', 'Skip audit (no audit rows are written)') : null}
                  {check('preheatCache', 'Preheat cache')}
                </>
              ) : kind === 'tracker' ? (
                <>
                  <div className="row">
                    {select('atomicMode', 'Atomic mode', ['ALL', 'OBJECT'], {
                      ALL: 'All or nothing',
                      OBJECT: 'Each object on its own',
                    })}
                    {select('validationMode', 'Validation mode', ['FULL', 'FAIL_FAST'])}
                    {select('reportMode', 'Report mode', ['ERRORS', 'WARNINGS', 'FULL'])}
                  </div>
                  {check('skipRuleEngine', 'Skip program rules')}
                </>
              ) : kind === 'geometry' ? (
                format === 'geojson' ? (
                  <>
                    {check('geoJsonId', 'Match each feature by its id (off: by a property of the feature)')}
                    {options.geoJsonId !== 'true' ? (
                      <InputField
                        label="Feature property holding the org unit"
                        name="geoJsonProperty"
                        value={options.geoJsonProperty}
                        onChange={({ value }) => set('geoJsonProperty')(value ?? '')}
                      />
                    ) : null}
                    {select('orgUnitProperty', "Matched against the org unit's", ['id', 'code', 'name'], {
                      id: 'UID',
                      code: 'Code',
                      name: 'Name',
                    })}
                  </>
                ) : null
              ) : (
                <>
                  <div className="row">
                    {select('atomicMode', 'Atomic mode', ATOMIC_MODES, {
                      ALL: 'All or nothing',
                      NONE: 'Each object on its own',
                    })}
                    {select('identifier', 'Identifier', IMPORT_IDENTIFIERS)}
                    {select('mergeMode', 'Merge mode', MERGE_MODES)}
                    {select('importReportMode', 'Import report mode', IMPORT_REPORT_MODES)}
                    {select('preheatMode', 'Preheat mode', PREHEAT_MODES)}
                    {select('flushMode', 'Flush mode', FLUSH_MODES)}
                  </div>
                  {check('skipSharing', 'Skip sharing')}
                  {check('skipValidation', 'Skip validation')}
                </>
              )}
              {format === 'csv' ? check('firstRowIsHeader', 'The first row is a header') : null}
              {check(
                'async',
                'Run as a background job',
                'The import continues on the server if you close this page; follow it under Jobs.',
              )}
            </div>
          </details>
          {error ? <ErrorNotice error={error} title="The import did not start" /> : null}
          <ButtonStrip>
            <Button
              onClick={() => void start(true)}
              disabled={
                busy || (!file && !keptFile) || (needsClassKey && !classKey && !keptFile) || Boolean(keptFile)
              }
            >
              Start dry run
            </Button>
            <Button
              primary
              onClick={() => void start(false)}
              disabled={busy || (!file && !keptFile) || (needsClassKey && !classKey && !keptFile)}
            >
              {keptFile ? 'Run again with this file and these options' : 'Start import'}
            </Button>
          </ButtonStrip>
        </div>
      </Card>
      {phase.state === 'uploading' ? (
        <Card className="panel section">
          <p>
            Uploading: {formatBytes(phase.loaded)} of {formatBytes(phase.total)}
          </p>
          <LinearLoader
            amount={phase.total ? Math.round((phase.loaded / phase.total) * 100) : 0}
            aria-label="Upload progress"
            width="100%"
          />
        </Card>
      ) : null}
      {phase.state === 'running' || (phase.state === 'done' && phase.job) ? (
        <Card className="panel section">
          <JobProgress job={phase.state === 'running' ? phase.job : phase.job!} onDone={onDone} />
        </Card>
      ) : null}
      {phase.state === 'done' ? (
        <Card className="panel section">
          {phase.error ? <ErrorNotice error={phase.error} title="The import failed" /> : null}
          {phase.report ? (
            <ImportSummary
              report={phase.report}
              dryRun={dryRun || (keptFile ? keptFile.params.dryRun === 'true' : false)}
              name={(file?.name ?? keptFile?.fileName ?? 'import').replace(/\.[^.]+$/, '')}
            />
          ) : null}
        </Card>
      ) : null}
      <p className="muted section">
        Every import runs as job type {JOB_TYPE[kind]}; earlier ones are under <a href="#/jobs">Jobs</a>.
      </p>
    </>
  );
}
