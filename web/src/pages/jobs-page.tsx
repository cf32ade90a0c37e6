import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  Button,
  ButtonStrip,
  Card,
  Chip,
  CircularLoader,
  DataTable,
  DataTableBody,
  DataTableCell,
  DataTableColumnHeader,
  DataTableHead,
  DataTableRow,
  InputField,
} from '@dhis2/ui';
import { api, type JobDetails, type JobRecord } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { FINISHED, JobProgress, JobStatusTag } from '../components/job-progress.tsx';
import { ImportSummary } from '../components/import-summary.tsx';
import { formatTime, jobTypeLabel } from '../format.ts';
import { navigate } from '../router.ts';
import { exportJobFormHref } from '../export-forms.ts';

type SortKey = 'number' | 'type' | 'status' | 'created';

/** The import page that can recreate a job of this type, pre-filled (exports: export-forms.ts). */
const RECREATE_PAGE: Record<string, string> = {
  DATAVALUE_IMPORT: '#/import',
  METADATA_IMPORT: '#/import/metadata',
  GML_IMPORT: '#/import/geometry',
  TRACKER_IMPORT_JOB: '#/import/tracker',
  GEOJSON_IMPORT: '#/import/geometry',
};

function JobDetail({ id, onChanged }: { id: string; onChanged: () => void }) {
  const [details, setDetails] = useState<JobDetails | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    api<JobDetails>(`/api/jobs/${encodeURIComponent(id)}`)
      .then(setDetails)
      .catch(setError);
  }, [id]);
  useEffect(() => {
    setDetails(null);
    setError(null);
    load();
  }, [load]);

  if (error) return <ErrorNotice error={error} title="This job cannot be shown" />;
  if (!details) return <CircularLoader small aria-label="Loading job" />;
  const job = details.job;
  const finished = FINISHED.includes(job.status);
  const recreate = async () => {
    const page = RECREATE_PAGE[job.type];
    if (page) {
      navigate(`${page}?recreate=${encodeURIComponent(job.id)}`);
      return;
    }
    // An export: its page with the request's options, to change before asking again.
    const exportForm = exportJobFormHref(job.type, job.params);
    if (exportForm) {
      navigate(exportForm);
      return;
    }
    try {
      const reply = await api<{ job?: JobRecord }>(
        `/api/jobs/${encodeURIComponent(job.id)}/recreate?submit=true`,
        {
          method: 'POST',
        },
      );
      onChanged();
      if (reply.job) navigate(`#/jobs/${reply.job.id}`);
    } catch (caught) {
      setError(caught);
    }
  };
  const cancel = async () => {
    try {
      await api(`/api/jobs/${encodeURIComponent(job.id)}/cancel`, { method: 'POST' });
      load();
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };
  const params = Object.entries(job.params ?? {}).filter(([, value]) => typeof value !== 'object');
  return (
    <section aria-label={`Job ${job.number}`} id="job-detail">
      <h2>
        #{job.number} {jobTypeLabel(job.type)}
      </h2>
      <JobProgress
        key={job.id}
        job={job}
        notifications={details.notifications}
        onDone={() => {
          load();
          onChanged();
        }}
      />
      <p className="muted">
        Created {formatTime(job.created)}
        {job.finished ? `, finished ${formatTime(job.finished)}` : ''}
        {details.inputFile ? (
          <>
            ; file <span id="job-file">{details.inputFile.name}</span>
          </>
        ) : null}
      </p>
      {params.length > 0 ? (
        <details>
          <summary>Parameters ({params.length})</summary>
          <dl className="params">
            {params.map(([key, value]) => (
              <div key={key}>
                <dt>{key}</dt>
                <dd>{String(value)}</dd>
              </div>
            ))}
          </dl>
        </details>
      ) : null}
      <ButtonStrip>
        <Button onClick={() => void recreate()}>Recreate job</Button>
        {!finished ? (
          <Button destructive onClick={() => void cancel()}>
            Cancel job
          </Button>
        ) : null}
      </ButtonStrip>
      {job.summary && job.type.endsWith('_IMPORT') ? (
        <ImportSummary
          report={job.summary}
          dryRun={job.params?.dryRun === true || job.params?.dryRun === 'true'}
          name={`job-${job.number}`}
        />
      ) : null}
    </section>
  );
}

export default function JobsPage({ selected }: { selected?: string }) {
  const [jobs, setJobs] = useState<JobRecord[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [types, setTypes] = useState<string[]>([]);
  const [statuses, setStatuses] = useState<string[]>([]);
  const [search, setSearch] = useState('');

  const load = useCallback(() => {
    api<{ jobs: JobRecord[] }>('/api/jobs?pageSize=200')
      .then((reply) => setJobs(reply.jobs))
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  // While a job runs the list follows it; once all are finished it stops asking.
  useEffect(() => {
    if (!jobs?.some((job) => !FINISHED.includes(job.status))) return;
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, [jobs, load]);

  const allTypes = useMemo(() => [...new Set(jobs?.map((job) => job.type))].sort(), [jobs]);
  const allStatuses = useMemo(() => [...new Set(jobs?.map((job) => job.status))].sort(), [jobs]);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return (jobs ?? []).filter(
      (job) =>
        (types.length === 0 || types.includes(job.type)) &&
        (statuses.length === 0 || statuses.includes(job.status)) &&
        (!needle ||
          [String(job.number), job.id, job.type, jobTypeLabel(job.type), job.status, job.userUid ?? '']
            .join(' ')
            .toLowerCase()
            .includes(needle)),
    );
  }, [jobs, types, statuses, search]);
  const [sort, setSort] = useState<{ key: SortKey; direction: 'asc' | 'desc' }>({
    key: 'number',
    direction: 'desc',
  });
  const sorted = useMemo(() => {
    const sign = sort.direction === 'asc' ? 1 : -1;
    const value = (job: JobRecord): string | number =>
      sort.key === 'number'
        ? (job.number ?? 0)
        : sort.key === 'type'
          ? jobTypeLabel(job.type)
          : sort.key === 'status'
            ? job.status
            : job.created;
    return [...shown].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      return (
        sign * (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y)))
      );
    });
  }, [shown, sort]);
  const header = (key: SortKey, label: string) => (
    <DataTableColumnHeader
      name={key}
      sortIconTitle={`Sort by ${label}`}
      sortDirection={sort.key === key ? sort.direction : 'default'}
      onSortIconClick={({ direction }) =>
        setSort(
          direction === 'default'
            ? { key: 'number', direction: 'desc' }
            : { key, direction: direction as 'asc' | 'desc' },
        )
      }
    >
      {label}
    </DataTableColumnHeader>
  );
  const toggle = (list: string[], value: string) =>
    list.includes(value) ? list.filter((v) => v !== value) : [...list, value];

  return (
    <>
      {error ? <ErrorNotice error={error} title="The jobs cannot be listed" /> : null}
      {selected ? (
        <Card className="panel section">
          <JobDetail id={selected} onChanged={load} />
        </Card>
      ) : null}
      <section className="section" aria-label="All jobs">
        <Card className="panel">
          <div className="stack">
            <InputField
              label="Search jobs"
              name="jobSearch"
              type="search"
              value={search}
              onChange={({ value }) => setSearch(value ?? '')}
              placeholder="Number, type, status"
            />
            <div className="chips" role="group" aria-label="Filter by type">
              <span className="muted">Type:</span>
              {allTypes.map((type) => (
                <Chip
                  key={type}
                  selected={types.includes(type)}
                  onClick={() => setTypes(toggle(types, type))}
                  dense
                >
                  {jobTypeLabel(type)}
                </Chip>
              ))}
            </div>
            <div className="chips" role="group" aria-label="Filter by status">
              <span className="muted">Status:</span>
              {allStatuses.map((status) => (
                <Chip
                  key={status}
                  selected={statuses.includes(status)}
                  onClick={() => setStatuses(toggle(statuses, status))}
                  dense
                >
                  {status}
                </Chip>
              ))}
            </div>
          </div>
        </Card>
        {jobs === null ? (
          <CircularLoader small aria-label="Loading jobs" />
        ) : shown.length === 0 ? (
          <p>{jobs.length === 0 ? 'No jobs yet.' : 'No job matches these filters.'}</p>
        ) : (
          <div className="table-wrap section" id="jobs">
            <DataTable>
              <DataTableHead>
                <DataTableRow>
                  {header('number', '#')}
                  {header('type', 'Type')}
                  {header('status', 'Status')}
                  {header('created', 'Created')}
                  <DataTableColumnHeader>Progress</DataTableColumnHeader>
                </DataTableRow>
              </DataTableHead>
              <DataTableBody>
                {sorted.map((job) => (
                  <DataTableRow key={job.id} selected={job.id === selected}>
                    <DataTableCell>
                      <a href={`#/jobs/${job.id}`}>{job.number}</a>
                    </DataTableCell>
                    <DataTableCell>
                      {jobTypeLabel(job.type)}
                      {job.params?.dryRun === true || job.params?.dryRun === 'true' ? ' (dry run)' : ''}
                    </DataTableCell>
                    <DataTableCell>
                      <JobStatusTag status={job.status} summary={job.summary} />
                    </DataTableCell>
                    <DataTableCell>{formatTime(job.created)}</DataTableCell>
                    <DataTableCell>
                      {job.progress
                        ? `${job.progress.stage}: ${job.progress.processed.toLocaleString()}`
                        : ''}
                    </DataTableCell>
                  </DataTableRow>
                ))}
              </DataTableBody>
            </DataTable>
          </div>
        )}
      </section>
    </>
  );
}
