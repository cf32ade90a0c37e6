import { useCallback, useEffect, useMemo, useState } from 'react';
import {
  Button,
  ButtonStrip,
  Card,
  CircularLoader,
  DataTable,
  DataTableBody,
  DataTableCell,
  DataTableColumnHeader,
  DataTableHead,
  DataTableRow,
  InputField,
  Pagination,
  SingleSelectField,
  SingleSelectOption,
} from '@dhis2/ui';
import { api, type ExportCard, type Me } from '../api.ts';
import { LabelledModal } from '../components/labelled-modal.tsx';
import { ErrorNotice } from '../components/error-notice.tsx';
import { DedupePoolForm, type PoolWithCount } from '../components/dedupe-pool-form.tsx';
import { DedupePoolImport } from '../components/dedupe-pool-import.tsx';
import { FINISHED, JobStatusTag } from '../components/job-progress.tsx';
import { formatBytes, formatTime } from '../format.ts';
import { navigate } from '../router.ts';
import { canUsePool, type PoolAccess } from '../../../src/domain/dedupe/dedupe-pool.ts';
import type { DedupeEntityType } from '../../../src/domain/dedupe/dedupe-entity-types.ts';
import type { EntryPage } from '../../../src/services/dedupe/dedupe-pool-service.ts';
import './dedupe-pools.css';

const PAGE_SIZES = ['25', '50', '100', '250'];
/** How often the pool's export card is asked about while its file is being made. */
const EXPORT_POLL_MS = 1000;

/** The entity type select's value for no filter (an empty value would show as nothing chosen). */
const ALL_TYPES = 'all';

/** Keyset paging: page n is read with the `nextBefore` the page before it returned. */
interface Paging {
  page: number;
  /** cursors[n - 1] is the `before` of page n (undefined: the first page). */
  cursors: (number | undefined)[];
}

function PoolEntries({ pool, types }: { pool: PoolWithCount; types: readonly DedupeEntityType[] }) {
  const [search, setSearch] = useState('');
  const [prefix, setPrefix] = useState('');
  const [entityType, setEntityType] = useState('');
  const [pageSize, setPageSize] = useState(50);
  const [paging, setPaging] = useState<Paging>({ page: 1, cursors: [undefined] });
  const [reply, setReply] = useState<EntryPage | null>(null);
  const [error, setError] = useState<unknown>(null);

  // The search waits for a pause in typing, then starts again at page 1.
  useEffect(() => {
    const timer = setTimeout(() => setPrefix(search.trim()), 300);
    return () => clearTimeout(timer);
  }, [search]);
  useEffect(() => setPaging({ page: 1, cursors: [undefined] }), [prefix, entityType, pageSize, pool]);

  const before = paging.cursors[paging.page - 1];
  useEffect(() => {
    const query = new URLSearchParams({ pageSize: String(pageSize) });
    if (prefix) query.set('prefix', prefix);
    if (entityType) query.set('entityType', entityType);
    if (before !== undefined) query.set('before', String(before));
    let current = true;
    api<EntryPage>(`/api/dedupe/pools/${encodeURIComponent(pool.id)}/entries?${query}`)
      .then((page) => {
        if (!current) return;
        setReply(page);
        setError(null);
      })
      .catch((caught: unknown) => current && setError(caught));
    return () => {
      current = false;
    };
  }, [pool, prefix, entityType, pageSize, before]);

  const filtered = Boolean(prefix || entityType);
  const entries = reply?.entries ?? [];
  const nextBefore = reply?.pager.nextBefore ?? null;
  const changePage = (page: number) =>
    setPaging((previous) => {
      if (page > previous.page && nextBefore === null) return previous;
      const cursors = previous.cursors.slice(0, page);
      if (page > previous.page) cursors[page - 1] = nextBefore ?? undefined;
      return { page, cursors };
    });

  return (
    <section className="section" aria-labelledby="entries-heading">
      <h2 id="entries-heading">Tracked entries</h2>
      <Card className="panel">
        <div className="row">
          <InputField
            label="Search keys (by their start)"
            name="entrySearch"
            type="search"
            value={search}
            onChange={({ value }) => setSearch(value ?? '')}
          />
          <SingleSelectField
            label="Entity type"
            selected={entityType || ALL_TYPES}
            onChange={({ selected }) => setEntityType(selected === ALL_TYPES ? '' : selected)}
            dataTest="option-entityType"
          >
            <SingleSelectOption value={ALL_TYPES} label="All entity types" />
            {types.map((type) => (
              <SingleSelectOption key={type.id} value={String(type.id)} label={type.name} />
            ))}
          </SingleSelectField>
        </div>
      </Card>
      {error ? <ErrorNotice error={error} title="The entries cannot be read" /> : null}
      {reply === null ? (
        <CircularLoader small aria-label="Loading entries" />
      ) : entries.length === 0 ? (
        <p className="section" id="no-entries">
          {filtered ? 'No entry matches this search.' : 'The pool holds no entry yet.'}
        </p>
      ) : (
        <div
          className="table-wrap section"
          id="entries"
          tabIndex={0}
          role="region"
          aria-labelledby="entries-heading"
        >
          <DataTable>
            <DataTableHead>
              <DataTableRow>
                <DataTableColumnHeader>Key</DataTableColumnHeader>
                <DataTableColumnHeader>Entity type</DataTableColumnHeader>
                <DataTableColumnHeader>First seen</DataTableColumnHeader>
                <DataTableColumnHeader>Last seen</DataTableColumnHeader>
                <DataTableColumnHeader>Job</DataTableColumnHeader>
              </DataTableRow>
            </DataTableHead>
            <DataTableBody>
              {entries.map((entry) => (
                <DataTableRow key={entry.id}>
                  <DataTableCell className="pool-key">{entry.value}</DataTableCell>
                  <DataTableCell>
                    {types.find((type) => type.id === entry.entityTypeId)?.name ??
                      entry.entityType ??
                      entry.entityTypeId}
                  </DataTableCell>
                  <DataTableCell>{formatTime(entry.firstSeen)}</DataTableCell>
                  <DataTableCell>{formatTime(entry.lastSeen)}</DataTableCell>
                  <DataTableCell>
                    {entry.job ? <a href={`#/jobs/${entry.job}`}>View job</a> : ''}
                  </DataTableCell>
                </DataTableRow>
              ))}
            </DataTableBody>
          </DataTable>
        </div>
      )}
      {reply !== null && (entries.length > 0 || paging.page > 1) ? (
        <Pagination
          className="pool-pagination"
          page={paging.page}
          pageSize={pageSize}
          pageSizes={PAGE_SIZES}
          pageLength={entries.length}
          isLastPage={nextBefore === null}
          hidePageSelect
          // The pool's count is the total only when nothing filters the entries.
          {...(filtered
            ? {}
            : {
                total: pool.entryCount,
                pageCount: Math.max(1, Math.ceil(pool.entryCount / pageSize)),
              })}
          onPageChange={changePage}
          onPageSizeChange={setPageSize}
          dataTest="entries-pagination"
        />
      ) : null}
    </section>
  );
}

/** The pool's entries as CSV through the export queue; the card is watched until its file is ready. */
function PoolDownload({ pool }: { pool: PoolWithCount }) {
  const [card, setCard] = useState<ExportCard | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const finished = card ? FINISHED.includes(card.status) : true;
  useEffect(() => {
    if (!card || finished) return;
    const timer = setTimeout(() => {
      api<ExportCard>(`/api/exports/${encodeURIComponent(card.id)}`)
        .then(setCard)
        .catch(setError);
    }, EXPORT_POLL_MS);
    return () => clearTimeout(timer);
  }, [card, finished]);
  const request = async () => {
    setBusy(true);
    setError(null);
    try {
      setCard(
        await api<ExportCard>(`/api/dedupe/pools/${encodeURIComponent(pool.id)}/export`, { method: 'POST' }),
      );
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button onClick={() => void request()} loading={busy || (card !== null && !finished)}>
        Download
      </Button>
      {card ? (
        <span className="pool-export" id="pool-export" aria-live="polite">
          Export #{card.jobNumber} <JobStatusTag status={card.status} />
          {card.file?.downloadUrl ? (
            <a className="download" href={card.file.downloadUrl} download>
              Save {card.file.name} ({formatBytes(card.file.size)})
            </a>
          ) : null}
          {card.error ? <span className="error-text">{card.error}</span> : null}
          <a href="#/exports">Export queue</a>
        </span>
      ) : null}
      {error ? <ErrorNotice error={error} title="The pool cannot be exported" /> : null}
    </>
  );
}

function DeletePool({ pool, onClose }: { pool: PoolWithCount; onClose: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const remove = async () => {
    setBusy(true);
    try {
      await api(`/api/dedupe/pools/${encodeURIComponent(pool.id)}`, { method: 'DELETE' });
      navigate('#/pools');
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  };
  return (
    <LabelledModal
      onClose={onClose}
      small
      dataTest="pool-delete"
      title={`Delete pool ${pool.name}?`}
      actions={
        <ButtonStrip end>
          <Button secondary onClick={onClose} initialFocus>
            Cancel
          </Button>
          <Button destructive onClick={() => void remove()} loading={busy} disabled={busy}>
            Delete pool
          </Button>
        </ButtonStrip>
      }
    >
      <p>
        The pool and its {pool.entryCount.toLocaleString()} entries are deleted. Imports that name it are then
        refused.
      </p>
      {error ? <ErrorNotice error={error} title="The pool was not deleted" /> : null}
    </LabelledModal>
  );
}

/**
 * One pool (issue 16): what it is, its tracked entries (prefix search, entity type, keyset paging,
 * newest first), Import (choose a CSV file, then confirm), Download (through the export queue),
 * Edit and Delete. Buttons follow the pool's sharing, read with the server's own rule (canUsePool);
 * the server checks again.
 */
export default function DedupePoolPage({ me, id }: { me: Me; id: string }) {
  const [pool, setPool] = useState<PoolWithCount | null>(null);
  const [types, setTypes] = useState<readonly DedupeEntityType[]>([]);
  const [groups, setGroups] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [dialog, setDialog] = useState<'import' | 'edit' | 'delete' | null>(null);

  const load = useCallback(() => {
    api<PoolWithCount>(`/api/dedupe/pools/${encodeURIComponent(id)}`)
      .then((found) => {
        setPool(found);
        setError(null);
      })
      .catch(setError);
  }, [id]);
  useEffect(load, [load]);
  useEffect(() => {
    api<{ entityTypes: DedupeEntityType[] }>('/api/dedupe/entityTypes')
      .then((reply) => setTypes(reply.entityTypes))
      .catch(setError);
    api<{ userGroups?: { id: string }[] }>('/api/me?fields=userGroups[id]')
      .then((reply) => setGroups((reply.userGroups ?? []).map((group) => group.id)))
      .catch(setError);
  }, []);

  const allowed = useMemo(() => {
    const subject = { userUid: me.id, userGroupUids: groups, superuser: me.authorities.includes('ALL') };
    return (access: PoolAccess) => (pool ? canUsePool(pool, subject, access) : false);
  }, [me, groups, pool]);

  if (!pool)
    return error ? (
      <ErrorNotice error={error} title="The pool cannot be read" />
    ) : (
      <CircularLoader small aria-label="Loading the pool" />
    );
  return (
    <>
      <p>
        <a href="#/pools">All pools</a>
      </p>
      <Card className="panel">
        <div className="stack">
          <h2 id="pool-name">{pool.name}</h2>
          {pool.description ? <p className="muted">{pool.description}</p> : null}
          <dl className="pool-facts" id="pool-facts">
            <dt>Entries</dt>
            <dd id="pool-entry-count">{pool.entryCount.toLocaleString()}</dd>
            <dt>Retention</dt>
            <dd>{pool.retentionDays} days after an entry was last seen</dd>
            <dt>Created</dt>
            <dd>{formatTime(pool.created)}</dd>
            <dt>Last changed</dt>
            <dd>{formatTime(pool.lastUpdated)}</dd>
          </dl>
          <div className="pool-actions">
            {allowed('track') ? (
              <Button primary onClick={() => setDialog('import')}>
                Import
              </Button>
            ) : null}
            {allowed('filter') ? <PoolDownload pool={pool} /> : null}
            {allowed('manage') ? (
              <>
                <Button secondary onClick={() => setDialog('edit')}>
                  Edit
                </Button>
                <Button secondary destructive onClick={() => setDialog('delete')}>
                  Delete
                </Button>
              </>
            ) : null}
            <a href="/api/dedupe/entityTypes.csv" download>
              Download entity types
            </a>
          </div>
        </div>
      </Card>
      {error ? <ErrorNotice error={error} /> : null}
      {allowed('filter') ? (
        <PoolEntries pool={pool} types={types} />
      ) : (
        <p className="section">Your access to this pool does not include reading its entries.</p>
      )}
      {dialog === 'import' ? (
        <DedupePoolImport pool={pool} onClose={() => setDialog(null)} onImported={load} />
      ) : null}
      {dialog === 'edit' ? (
        <DedupePoolForm
          pool={pool}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            load();
          }}
        />
      ) : null}
      {dialog === 'delete' ? <DeletePool pool={pool} onClose={() => setDialog(null)} /> : null}
    </>
  );
}
