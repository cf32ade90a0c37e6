import { useEffect, useState } from 'react';
import { LinearLoader, Tag } from '@dhis2/ui';
import type { JobNotification, JobRecord } from '../api.ts';
import { formatTime } from '../format.ts';

export interface JobDone {
  id: string;
  status: string;
  summary: unknown;
  error: string | null;
}

export const FINISHED = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** The status inside an import summary (`OK`, `WARNING`, `ERROR`), DHIS2's envelope or not. */
export function summaryStatus(summary: unknown): string | undefined {
  if (!summary || typeof summary !== 'object') return undefined;
  const record = summary as { status?: unknown; response?: { status?: unknown } };
  const status = record.response?.status ?? record.status;
  return typeof status === 'string' ? status : undefined;
}

/** The job's status; an import that ran to its end but whose summary says ERROR is not green. */
export function JobStatusTag({ status, summary }: { status: string; summary?: unknown }) {
  const outcome = summaryStatus(summary);
  if (status === 'COMPLETED' && outcome === 'ERROR') return <Tag negative>COMPLETED with errors</Tag>;
  if (status === 'COMPLETED' && outcome === 'WARNING') return <Tag neutral>COMPLETED with warnings</Tag>;
  if (status === 'COMPLETED') return <Tag positive>{status}</Tag>;
  if (status === 'FAILED' || status === 'CANCELLED') return <Tag negative>{status}</Tag>;
  return <Tag neutral>{status}</Tag>;
}

/**
 * A job's live progress from `/api/jobs/{id}/events` (Server-Sent Events: `progress`,
 * `notification`, then `done` with the summary); calls onDone once.
 */
export function JobProgress({
  job: initial,
  notifications: initialNotes = [],
  onDone,
}: {
  job: JobRecord;
  notifications?: JobNotification[];
  onDone?: (done: JobDone) => void;
}) {
  const [job, setJob] = useState(initial);
  const [notes, setNotes] = useState(initialNotes);
  useEffect(() => {
    setJob(initial);
    setNotes(initialNotes);
    // A quick job may be over before this page asked for it: its summary is already in the record.
    if (FINISHED.includes(initial.status)) {
      onDone?.({
        id: initial.id,
        status: initial.status,
        summary: initial.summary,
        error: initial.error ?? null,
      });
      return;
    }
    const events = new EventSource(`/api/jobs/${encodeURIComponent(initial.id)}/events`);
    events.addEventListener('progress', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as Partial<JobRecord>;
      setJob((previous) => ({ ...previous, ...data }));
    });
    events.addEventListener('notification', (event) => {
      const note = JSON.parse((event as MessageEvent<string>).data) as JobNotification;
      setNotes((previous) => (previous.some((n) => n.uid === note.uid) ? previous : [note, ...previous]));
    });
    events.addEventListener('done', (event) => {
      const data = JSON.parse((event as MessageEvent<string>).data) as JobDone;
      setJob((previous) => ({ ...previous, status: data.status, summary: data.summary, error: data.error }));
      // Closed here, or EventSource would reconnect once the server ends the stream.
      events.close();
      onDone?.(data);
    });
    events.onerror = () => events.close();
    return () => events.close();
    // Only a new job id restarts the stream; onDone and the first notes are read once.
  }, [initial.id]);

  const progress = job.progress;
  const finished = FINISHED.includes(job.status);
  const percent =
    job.status === 'COMPLETED'
      ? 100
      : progress?.total
        ? Math.min(100, Math.round((progress.processed / progress.total) * 100))
        : undefined;
  return (
    <div className="job-progress" aria-live="polite">
      <p>
        Job {job.number ?? job.id}:{' '}
        <span id="job-status">
          <JobStatusTag status={job.status} summary={job.summary} />
        </span>
      </p>
      {!finished || percent !== undefined ? (
        <LinearLoader amount={percent ?? 0} aria-label="Job progress" margin="4px 0" width="100%" />
      ) : null}
      {progress ? (
        <p className="progress-text" id="progress-text">
          {progress.stage}: {progress.processed.toLocaleString()}
          {progress.total ? ` of ${progress.total.toLocaleString()}` : ''}
          {progress.rowsPerSecond ? ` (${Math.round(progress.rowsPerSecond).toLocaleString()} rows/s)` : ''}
        </p>
      ) : null}
      {job.error ? <p className="error-text">{job.error}</p> : null}
      {notes.length > 0 ? (
        <details>
          <summary>Messages ({notes.length})</summary>
          <ul className="notifications" id="notifications">
            {notes.map((note) => (
              <li key={note.uid}>
                {formatTime(note.time)} {note.level}: {note.message}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
    </div>
  );
}
