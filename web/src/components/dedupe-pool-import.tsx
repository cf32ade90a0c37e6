import { useState } from 'react';
import { Button, ButtonStrip, FileInputField, FileListItem, NoticeBox } from '@dhis2/ui';
import { api, upload, type JobDetails, type JobRecord } from '../api.ts';
import { LabelledModal } from './labelled-modal.tsx';
import { ErrorNotice } from './error-notice.tsx';
import { JobProgress, type JobDone } from './job-progress.tsx';
import { formatBytes } from '../format.ts';
import type { PoolWithCount } from './dedupe-pool-form.tsx';
import type { PoolCsvImportResult } from '../../../src/services/dedupe/dedupe-pool-csv.ts';

type Phase =
  | { state: 'choosing' }
  | { state: 'confirming'; file: File }
  | { state: 'uploading'; file: File; loaded: number }
  | { state: 'running'; job: JobRecord }
  | { state: 'done'; done: JobDone };

/**
 * Import a pool CSV file (`value,entity_type_id`): choose the file, then confirm. The file is
 * streamed to `POST /api/dedupe/pools/{id}/entries?async=true` and imported as a job whose live
 * progress is shown; the import is atomic, so a refused file adds nothing and the job's error
 * names the line.
 */
export function DedupePoolImport({
  pool,
  onClose,
  onImported,
}: {
  pool: PoolWithCount;
  onClose: () => void;
  onImported: () => void;
}) {
  const [phase, setPhase] = useState<Phase>({ state: 'choosing' });
  const [error, setError] = useState<unknown>(null);

  const start = async (file: File) => {
    setError(null);
    setPhase({ state: 'uploading', file, loaded: 0 });
    try {
      const reply = await upload<{ response?: { id?: string } }>(
        `/api/dedupe/pools/${encodeURIComponent(pool.id)}/entries?async=true`,
        file,
        'text/csv',
        ({ loaded }) => setPhase({ state: 'uploading', file, loaded }),
      );
      const jobId = reply.response?.id;
      if (!jobId) throw new Error('The server did not start an import job.');
      const details = await api<JobDetails>(`/api/jobs/${encodeURIComponent(jobId)}`);
      setPhase({ state: 'running', job: details.job });
    } catch (caught) {
      setError(caught);
      setPhase({ state: 'confirming', file });
    }
  };

  const onDone = (done: JobDone) => {
    setPhase({ state: 'done', done });
    onImported();
  };

  const busy = phase.state === 'uploading' || phase.state === 'running';
  const result =
    phase.state === 'done' && phase.done.status === 'COMPLETED'
      ? (phase.done.summary as PoolCsvImportResult | null)
      : null;
  return (
    <LabelledModal
      onClose={busy ? undefined : onClose}
      dataTest="pool-import"
      title={`Import entries into ${pool.name}`}
      actions={
        <ButtonStrip end>
          <Button secondary onClick={onClose} disabled={busy}>
            {phase.state === 'done' ? 'Close' : 'Cancel'}
          </Button>
          {phase.state !== 'done' ? (
            <Button
              primary
              disabled={phase.state !== 'confirming'}
              loading={busy}
              onClick={() => phase.state === 'confirming' && void start(phase.file)}
            >
              Import
            </Button>
          ) : null}
        </ButtonStrip>
      }
    >
      <div className="stack">
        {phase.state === 'choosing' || phase.state === 'confirming' ? (
          <FileInputField
            label="Pool CSV file"
            name="poolFile"
            buttonLabel="Choose a file"
            accept=".csv,text/csv"
            helpText="Header value,entity_type_id; one row per key. A row that is wrong refuses the whole file."
            placeholder="No file chosen yet"
            onChange={({ files }) => {
              const file = files?.[0];
              setError(null);
              setPhase(file ? { state: 'confirming', file } : { state: 'choosing' });
            }}
          >
            {phase.state === 'confirming' ? (
              <FileListItem
                label={`${phase.file.name} (${formatBytes(phase.file.size)})`}
                onRemove={() => setPhase({ state: 'choosing' })}
                removeText="Remove"
              />
            ) : null}
          </FileInputField>
        ) : null}
        {phase.state === 'confirming' ? (
          <p id="pool-import-confirm">
            Add the keys of {phase.file.name} to {pool.name}? Keys the pool holds already only get a new
            last-seen time.
          </p>
        ) : null}
        {phase.state === 'uploading' ? (
          <p aria-live="polite">
            Uploading {phase.file.name}: {formatBytes(phase.loaded)} of {formatBytes(phase.file.size)}
          </p>
        ) : null}
        {phase.state === 'running' ? <JobProgress job={phase.job} onDone={onDone} /> : null}
        {phase.state === 'done' && result ? (
          <div id="pool-import-result">
            <NoticeBox title="Imported">
              {result.rows.toLocaleString()} rows read: {result.added.toLocaleString()} added,{' '}
              {result.alreadyInPool.toLocaleString()} already in the pool
              {result.expiredRemoved ? `; ${result.expiredRemoved.toLocaleString()} expired removed` : ''}.
              The pool now holds {result.entryCount.toLocaleString()} entries.
            </NoticeBox>
          </div>
        ) : null}
        {phase.state === 'done' && !result ? (
          <div id="pool-import-result">
            <ErrorNotice
              error={phase.done.error ?? phase.done.status}
              title="Nothing was imported from this file"
            />
          </div>
        ) : null}
        {error ? <ErrorNotice error={error} title="The file was not imported" /> : null}
      </div>
    </LabelledModal>
  );
}
