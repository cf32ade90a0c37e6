import { useCallback, useEffect, useState } from 'react';
import {
  Button,
  Card,
  CircularLoader,
  DataTable,
  DataTableBody,
  DataTableCell,
  DataTableColumnHeader,
  DataTableHead,
  DataTableRow,
} from '@dhis2/ui';
import { api, type Me } from '../api.ts';
import { may } from '../authorities.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { DedupePoolForm, type PoolWithCount } from '../components/dedupe-pool-form.tsx';
import { formatTime } from '../format.ts';
import { navigate } from '../router.ts';
import type { DedupeEntityType } from '../../../src/domain/dedupe/dedupe-entity-types.ts';
import './dedupe-pools.css';

/**
 * De-duplication pools (issue 16): the pools this user may see (the server filters by sharing),
 * a new pool for users with F_DEDUPE_POOL_MANAGE, and the entity types a pool CSV file uses.
 */
export default function DedupePoolsPage({ me }: { me: Me }) {
  const [pools, setPools] = useState<PoolWithCount[] | null>(null);
  const [types, setTypes] = useState<readonly DedupeEntityType[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [creating, setCreating] = useState(false);

  const load = useCallback(() => {
    api<{ pools: PoolWithCount[] }>('/api/dedupe/pools')
      .then((reply) => {
        setPools(reply.pools);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    api<{ entityTypes: DedupeEntityType[] }>('/api/dedupe/entityTypes')
      .then((reply) => setTypes(reply.entityTypes))
      .catch(setError);
  }, []);

  return (
    <>
      <Card className="panel">
        <div className="pool-actions">
          {may(me, 'managePools') ? (
            <Button primary onClick={() => setCreating(true)}>
              New pool
            </Button>
          ) : null}
          <a className="download" href="/api/dedupe/entityTypes.csv" download id="download-entity-types">
            Download entity types
          </a>
          <span className="muted">
            A pool remembers the records already imported, so that the same records arriving again are
            skipped.
          </span>
        </div>
      </Card>
      {error ? <ErrorNotice error={error} title="The pools cannot be read" /> : null}
      <section className="section" aria-labelledby="pools-heading">
        <h2 id="pools-heading">Pools</h2>
        {pools === null ? (
          <CircularLoader small aria-label="Loading pools" />
        ) : pools.length === 0 ? (
          <p>No pool is shared with you yet.</p>
        ) : (
          <div className="table-wrap" id="pools" tabIndex={0} role="region" aria-labelledby="pools-heading">
            <DataTable>
              <DataTableHead>
                <DataTableRow>
                  <DataTableColumnHeader>Name</DataTableColumnHeader>
                  <DataTableColumnHeader>Description</DataTableColumnHeader>
                  <DataTableColumnHeader align="right">Entries</DataTableColumnHeader>
                  <DataTableColumnHeader align="right">Retention</DataTableColumnHeader>
                  <DataTableColumnHeader>Last changed</DataTableColumnHeader>
                </DataTableRow>
              </DataTableHead>
              <DataTableBody>
                {pools.map((pool) => (
                  <DataTableRow key={pool.id}>
                    <DataTableCell>
                      <a href={`#/pools/${pool.id}`}>{pool.name}</a>
                    </DataTableCell>
                    <DataTableCell>{pool.description}</DataTableCell>
                    <DataTableCell align="right">{pool.entryCount.toLocaleString()}</DataTableCell>
                    <DataTableCell align="right">{pool.retentionDays} days</DataTableCell>
                    <DataTableCell>{formatTime(pool.lastUpdated)}</DataTableCell>
                  </DataTableRow>
                ))}
              </DataTableBody>
            </DataTable>
          </div>
        )}
      </section>
      <section className="section" aria-labelledby="entity-types-heading">
        <h2 id="entity-types-heading">Entity types</h2>
        <p className="muted">
          A pool CSV file has the header <code>value,entity_type_id</code>: each row a key and the id of its
          kind of record.
        </p>
        <div
          className="table-wrap"
          id="entity-types"
          tabIndex={0}
          role="region"
          aria-labelledby="entity-types-heading"
        >
          <DataTable>
            <DataTableHead>
              <DataTableRow>
                <DataTableColumnHeader align="right">Id</DataTableColumnHeader>
                <DataTableColumnHeader>Code</DataTableColumnHeader>
                <DataTableColumnHeader>Name</DataTableColumnHeader>
                <DataTableColumnHeader>Key fields</DataTableColumnHeader>
                <DataTableColumnHeader>Used by imports</DataTableColumnHeader>
              </DataTableRow>
            </DataTableHead>
            <DataTableBody>
              {types.map((type) => (
                <DataTableRow key={type.id}>
                  <DataTableCell align="right">{type.id}</DataTableCell>
                  <DataTableCell>{type.code}</DataTableCell>
                  <DataTableCell>{type.name}</DataTableCell>
                  <DataTableCell>{type.keyFields.join(', ')}</DataTableCell>
                  <DataTableCell>{type.usableInImports ? 'Yes' : 'Not yet'}</DataTableCell>
                </DataTableRow>
              ))}
            </DataTableBody>
          </DataTable>
        </div>
      </section>
      {creating ? (
        <DedupePoolForm
          onClose={() => setCreating(false)}
          onSaved={(pool) => {
            setCreating(false);
            navigate(`#/pools/${pool.id}`);
          }}
        />
      ) : null}
    </>
  );
}
