import { useEffect, useState } from 'react';
import { Card, CircularLoader } from '@dhis2/ui';
import { api, type JobRecord, type Me } from '../api.ts';
import { may, mayUsePools } from '../authorities.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { JobStatusTag } from '../components/job-progress.tsx';
import { formatTime, jobTypeLabel } from '../format.ts';
import { t } from '../i18n.ts';

interface SystemInfo {
  version: string;
  ferryVersion?: string;
  databaseKind?: string;
  serverDate?: string;
}

/** A home card: a page the user may open, and what it does in a sentence. */
interface HomeCard {
  href: string;
  title: string;
  text: string;
  allowed: (me: Me) => boolean;
}

/** The home page's cards, in the order a data manager uses them; each shown only when allowed. */
function homeCards(): HomeCard[] {
  return [
    {
      href: '#/import',
      title: t('Import data values'),
      text: t('JSON, CSV, XML, ADX or a PDF form: dry run first, then import.'),
      allowed: (me) => may(me, 'importData'),
    },
    {
      href: '#/import/metadata',
      title: t('Import metadata'),
      text: t('JSON, CSV or XML metadata, with every DHIS2 option.'),
      allowed: (me) => may(me, 'importMetadata'),
    },
    {
      href: '#/export',
      title: t('Export data values'),
      text: t('Choose org units, data sets and dates; the file is made in the export queue.'),
      allowed: (me) => may(me, 'exportData'),
    },
    {
      href: '#/export/metadata',
      title: t('Export metadata'),
      text: t('Choose the types; JSON, XML or CSV, made in the export queue.'),
      allowed: (me) => may(me, 'exportMetadata'),
    },
    {
      href: '#/export/events',
      title: t('Export events and tracked entities'),
      text: t(
        "A program's events or tracked entities for an org unit and below; JSON or CSV, at once or in the export queue.",
      ),
      allowed: (me) => may(me, 'exportData'),
    },
    {
      href: '#/export/analysis',
      title: t('Export analysis files'),
      text: t('Tab, Stata, SPSS, CSV or Parquet files of a data set or program, with labels, in a zip.'),
      allowed: (me) => may(me, 'exportData'),
    },
    {
      href: '#/pools',
      title: t('De-duplication pools'),
      text: t('The records already imported, so that the same records arriving again are skipped.'),
      allowed: mayUsePools,
    },
    {
      href: '#/exports',
      title: t('Export queue'),
      text: t('Files being made and ready to download.'),
      allowed: () => true,
    },
  ];
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
        {homeCards()
          .filter((card) => card.allowed(me))
          .map((card) => (
            <Card key={card.href}>
              <div className="card-body">
                <h2>
                  <a href={card.href}>{card.title}</a>
                </h2>
                <p>{card.text}</p>
              </div>
            </Card>
          ))}
      </div>
      {error ? <ErrorNotice error={error} /> : null}
      <section className="section" aria-labelledby="recent-jobs">
        <h2 id="recent-jobs">{t('Recent jobs')}</h2>
        {jobs === null ? (
          <CircularLoader small aria-label={t('Loading jobs')} />
        ) : jobs.length === 0 ? (
          <p>{t('No jobs yet.')}</p>
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
        <a href="#/jobs">{t('All jobs')}</a>
      </section>
      <section className="section" aria-labelledby="server">
        <h2 id="server">{t('Server')}</h2>
        {info ? (
          <p id="server-info">
            {t('Ferry {{ferry}} (speaks DHIS2 {{dhis2}}), {{database}} database', {
              ferry: info.ferryVersion ?? '',
              dhis2: info.version,
              database: info.databaseKind === 'postgres' ? 'PostgreSQL' : 'SQLite',
            })}
            {active === null
              ? '.'
              : active === 1
                ? t(', 1 job running or queued.')
                : t(', {{n}} jobs running or queued.', {
                    n: active >= 500 ? t('500 or more') : active,
                  })}
          </p>
        ) : null}
      </section>
    </>
  );
}
