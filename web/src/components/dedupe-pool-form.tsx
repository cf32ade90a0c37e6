import { useState } from 'react';
import { Button, ButtonStrip, InputField, TextAreaField } from '@dhis2/ui';
import { api } from '../api.ts';
import { LabelledModal } from './labelled-modal.tsx';
import { ErrorNotice } from './error-notice.tsx';
import {
  DEFAULT_RETENTION_DAYS,
  MAX_POOL_DESCRIPTION_CHARS,
  MAX_POOL_NAME_CHARS,
  MAX_RETENTION_DAYS,
  type DedupePool,
} from '../../../src/domain/dedupe/dedupe-pool.ts';

/** A pool as `GET /api/dedupe/pools` lists it. */
export type PoolWithCount = DedupePool & { entryCount: number };

/**
 * Creates a pool (`POST /api/dedupe/pools`) or changes one (`PUT .../{id}`): name, description,
 * retention in days. The limits are the server's own (src/domain/dedupe/dedupe-pool.ts); the server
 * checks again and its refusal is shown in the dialog.
 */
export function DedupePoolForm({
  pool,
  onClose,
  onSaved,
}: {
  pool?: PoolWithCount;
  onClose: () => void;
  onSaved: (pool: DedupePool) => void;
}) {
  const [name, setName] = useState(pool?.name ?? '');
  const [description, setDescription] = useState(pool?.description ?? '');
  const [retention, setRetention] = useState(String(pool?.retentionDays ?? DEFAULT_RETENTION_DAYS));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const days = Number(retention);
  const retentionProblem =
    /^\d+$/.test(retention) && days >= 1 && days <= MAX_RETENTION_DAYS
      ? ''
      : `A whole number of days from 1 to ${MAX_RETENTION_DAYS.toLocaleString()}.`;
  const nameProblem = name.trim() === '' ? 'A pool needs a name.' : '';

  const save = async () => {
    setBusy(true);
    setError(null);
    try {
      const reply = await api<{ response: DedupePool }>(
        pool ? `/api/dedupe/pools/${encodeURIComponent(pool.id)}` : '/api/dedupe/pools',
        {
          method: pool ? 'PUT' : 'POST',
          headers: { 'content-type': 'application/json' },
          // PUT without sharing keeps the pool's sharing as it is.
          body: JSON.stringify({ name: name.trim(), description, retentionDays: days }),
        },
      );
      onSaved(reply.response);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <LabelledModal
      onClose={onClose}
      dataTest="pool-form"
      title={pool ? `Edit pool ${pool.name}` : 'New de-duplication pool'}
      actions={
        <ButtonStrip end>
          <Button secondary onClick={onClose}>
            Cancel
          </Button>
          <Button
            primary
            type="submit"
            form="pool-form"
            disabled={busy || Boolean(nameProblem) || Boolean(retentionProblem)}
            loading={busy}
          >
            {pool ? 'Save' : 'Create pool'}
          </Button>
        </ButtonStrip>
      }
    >
      <form
        className="stack"
        id="pool-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (!nameProblem && !retentionProblem) void save();
        }}
      >
        <InputField
          label="Name"
          name="poolName"
          required
          value={name}
          onChange={({ value }) => setName((value ?? '').slice(0, MAX_POOL_NAME_CHARS))}
          validationText={name ? nameProblem : undefined}
          error={Boolean(name) && Boolean(nameProblem)}
          initialFocus
        />
        <TextAreaField
          label="Description"
          name="poolDescription"
          value={description}
          rows={3}
          onChange={({ value }) => setDescription((value ?? '').slice(0, MAX_POOL_DESCRIPTION_CHARS))}
          helpText="What the pool holds and which imports use it."
        />
        <InputField
          label="Retention (days)"
          name="poolRetention"
          type="number"
          min="1"
          max={String(MAX_RETENTION_DAYS)}
          value={retention}
          onChange={({ value }) => setRetention(value ?? '')}
          error={Boolean(retentionProblem)}
          validationText={retentionProblem || undefined}
          helpText="An entry not seen again for this long is removed."
        />
        {error ? <ErrorNotice error={error} title="The pool was not saved" /> : null}
      </form>
    </LabelledModal>
  );
}
