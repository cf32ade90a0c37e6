import { useEffect, useState } from 'react';
import { Card, CircularLoader } from '@dhis2/ui';
import { api, type JobRecord, type Me } from '../api.ts';
import { may, mayUsePools } from '../authorities.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { JobStatusTag } from '../components/job-progress.tsx';
import { formatTime, jobTypeLabel } from '../format.ts';

interface SystemInfo {
  version: string;
  ferryVersion?: string;
  databaseKind?: string;
  serverDate?: string;
}

function ActionCard({ href, title, text }: { href: string; title: string; text: string }) {
  return (
    <Card>
      <div className="card-body">
        <h2>
          <a href={href}>{title}</a>
        </h2>
        <p>{text}</p>
      </div>
    </Card>
  );
}

export default function HomePage({ me }: { me: Me }) {
  const [jobs, setJobs] = useState<JobRecord[] | null>(null);
  const [info, setInfo] = useState<SystemInfo | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [active, setActive] = useState<number | null>(null);

  useEffect(() => {
    api<{ jobs: JobRecord[] }>('/api/jobs?pageSize=5')
      .then((reply) => setJobs(reply.jobs))
      .catch(setError);
    api<{ jobs: JobRecord[] }>('/api/jobs?status=RUNNING,QUEUED&pageSize=500')
      .then((reply) => setActive(reply.jobs.length))
      .catch(setError);
    api<SystemInfo>('/api/system/info').then(setInfo).catch(setError);
  }, []);

  return (
    <>
      <div className="cards">
        {may(me, 'importData') ? (
          <ActionCard
            href="#/import"
            title="Import data values"
            text="JSON, CSV, XML, ADX or a PDF form: dry run first, then import."
          />
        ) : null}
        {may(me, 'importMetadata') ? (
          <ActionCard
            href="#/import/metadata"
            title="Import metadata"
            text="JSON, CSV or XML metadata, with every DHIS2 option."
          />
        ) : null}
        {may(me, 'exportData') ? (
          <ActionCard
            href="#/export"
            title="Export data values"
            text="Choose org units, data sets and dates; the file is made in the export queue."
          />
        ) : null}
        {may(me, 'exportMetadata') ? (
          <ActionCard
            href="#/export/metadata"
            title="Export metadata"
            text="Choose the types; JSON, XML or CSV, made in the export queue."
          />
        ) : null}
        {may(me, 'exportData') ? (
          <ActionCard
            href="#/export/events"
            title="Export events and tracked entities"
            text="A program's events or tracked entities for an org unit and below; JSON or CSV, at once."
          />
        ) : null}
        {may(me, 'exportData') ? (
          <ActionCard
            href="#/export/analysis"
            title="Export analysis files"
            text="Tab, Stata, SPSS, CSV or Parquet files of a data set or program, with labels, in a zip."
          />
        ) : null}
        {mayUsePools(me) ? (
          <ActionCard
            href="#/pools"
            title="De-duplication pools"
            text="The records already imported, so that the same records arriving again are skipped."
          />
        ) : null}
        <ActionCard href="#/exports" title="Export queue" text="Files being made and ready to download." />
      </div>
      {error ? <ErrorNotice error={error} /> : null}
      <section className="section" aria-labelledby="recent-jobs">
        <h2 id="recent-jobs">Recent jobs</h2>
        {jobs === null ? (
          <CircularLoader small aria-label="Loading jobs" />
        ) : jobs.length === 0 ? (
          <p>No jobs yet.</p>
        ) : (
          <ul id="recent">
            {jobs.map((job) => (
              <li key={job.id}>
                <a href={`#/jobs/${job.id}`}>
                  #{job.number} {jobTypeLabel(job.type)}
                </a>{' '}
                <JobStatusTag status={job.status} summary={job.summary} />{' '}
                <span className="muted">{formatTime(job.created)}</span>
              </li>
            ))}
          </ul>
        )}
        <a href="#/jobs">All jobs</a>
      </section>
      <section className="section" aria-labelledby="server">
        <h2 id="server">Server</h2>
        {info ? (
          <p id="server-info">
            Ferry {info.ferryVersion} (speaks DHIS2 {info.version}),{' '}
            {info.databaseKind === 'postgres' ? 'PostgreSQL' : 'SQLite'} database
            {active === null
              ? '.'
              : `, ${active >= 500 ? '500 or more' : active} ${active === 1 ? 'job' : 'jobs'} running or queued.`}
          </p>
        ) : null}
      </section>
    </>
  );
}
