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
import { api } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { formatTime } from '../format.ts';

/** GET /api/sync/status (docs/sync.md, "Status"). */
interface SiteStatus {
  site: string;
  name: string;
  role: 'parent' | 'child';
  url: string | null;
  encrypt: boolean;
  lastPackageSent: { sequence: number; at: string | null } | null;
  lastAcknowledged: { sequence: number; at: string | null } | null;
  lastPackageImported: { sequence: number; at: string | null } | null;
  pendingChanges: number;
  unsentChanges: number;
  conflicts: number;
}

interface SyncStatus {
  site: { site: string; name: string; fingerprint: string } | null;
  sites: SiteStatus[];
  changeSeq: number;
}

interface Conflict {
  id: number;
  site: string;
  package: number;
  kind: string;
  key: string;
  local: { value: unknown; lastUpdated: string | null };
  incoming: { value: unknown; lastUpdated: string | null };
  rule: string;
  kept: string;
  detected: string;
}

function packageCell(entry: { sequence: number; at: string | null } | null): string {
  return entry ? `${entry.sequence} (${formatTime(entry.at)})` : 'None yet';
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '(none)';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Sync between sites (issue 18): this site's id and key, each child's (and the parent's) last
 * package sent and acknowledged, the last package imported from it, what is pending, and the
 * conflicts with both versions and what was kept.
 */
export default function SyncPage() {
  const [status, setStatus] = useState<SyncStatus | null>(null);
  const [conflicts, setConflicts] = useState<Conflict[] | null>(null);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(() => {
    api<SyncStatus>('/api/sync/status')
      .then((reply) => {
        setStatus(reply);
        setError(null);
      })
      .catch(setError);
    api<{ conflicts: Conflict[] }>('/api/sync/conflicts?limit=200')
      .then((reply) => setConflicts(reply.conflicts))
      .catch(() => setConflicts([]));
  }, []);
  useEffect(load, [load]);

  const children = status?.sites.filter((s) => s.role === 'child') ?? [];
  const parent = status?.sites.find((s) => s.role === 'parent');

  return (
    <>
      <Card className="panel">
        <div className="pool-actions">
          <Button onClick={load}>Refresh</Button>
          {status?.site ? (
            <span className="muted" id="sync-identity">
              This site is <strong>{status.site.site}</strong> (key {status.site.fingerprint}); change{' '}
              {status.changeSeq.toLocaleString()}.
            </span>
          ) : status ? (
            <span className="muted">
              This site is not set up for sync: run <code>ferry sync sites init</code> (docs/sync.md).
            </span>
          ) : null}
        </div>
      </Card>
      {error ? <ErrorNotice error={error} title="The sync status cannot be read" /> : null}
      {status === null && !error ? <CircularLoader small aria-label="Loading the sync status" /> : null}
      {parent ? (
        <section className="section" aria-labelledby="parent-heading">
          <h2 id="parent-heading">Parent</h2>
          <p id="sync-parent">
            <strong>{parent.name}</strong> ({parent.site}){parent.url ? ` at ${parent.url}` : ''}: last
            package sent {packageCell(parent.lastPackageSent)}, acknowledged{' '}
            {packageCell(parent.lastAcknowledged)}; {parent.pendingChanges.toLocaleString()} changes not yet
            acknowledged.
          </p>
        </section>
      ) : null}
      {status?.site ? (
        <section className="section" aria-labelledby="children-heading">
          <h2 id="children-heading">Child sites</h2>
          {children.length === 0 ? (
            <p>No child site is registered.</p>
          ) : (
            <div
              className="table-wrap"
              id="sync-children"
              tabIndex={0}
              role="region"
              aria-labelledby="children-heading"
            >
              <DataTable>
                <DataTableHead>
                  <DataTableRow>
                    <DataTableColumnHeader>Site</DataTableColumnHeader>
                    <DataTableColumnHeader>Last package from it</DataTableColumnHeader>
                    <DataTableColumnHeader>Last package sent to it</DataTableColumnHeader>
                    <DataTableColumnHeader>Acknowledged by it</DataTableColumnHeader>
                    <DataTableColumnHeader align="right">Pending changes</DataTableColumnHeader>
                    <DataTableColumnHeader align="right">Conflicts</DataTableColumnHeader>
                  </DataTableRow>
                </DataTableHead>
                <DataTableBody>
                  {children.map((child) => (
                    <DataTableRow key={child.site}>
                      <DataTableCell>
                        {child.name} ({child.site})
                      </DataTableCell>
                      <DataTableCell>{packageCell(child.lastPackageImported)}</DataTableCell>
                      <DataTableCell>{packageCell(child.lastPackageSent)}</DataTableCell>
                      <DataTableCell>{packageCell(child.lastAcknowledged)}</DataTableCell>
                      <DataTableCell align="right">{child.pendingChanges.toLocaleString()}</DataTableCell>
                      <DataTableCell align="right">{child.conflicts.toLocaleString()}</DataTableCell>
                    </DataTableRow>
                  ))}
                </DataTableBody>
              </DataTable>
            </div>
          )}
        </section>
      ) : null}
      {status?.site ? (
        <section className="section" aria-labelledby="conflicts-heading">
          <h2 id="conflicts-heading">Conflicts</h2>
          <p className="muted">
            Values changed here and at the sending site since the last package; the rule kept one version, and
            both are listed.
          </p>
          {conflicts === null ? (
            <CircularLoader small aria-label="Loading conflicts" />
          ) : conflicts.length === 0 ? (
            <p>No conflicts.</p>
          ) : (
            <div
              className="table-wrap"
              id="sync-conflicts"
              tabIndex={0}
              role="region"
              aria-labelledby="conflicts-heading"
            >
              <DataTable>
                <DataTableHead>
                  <DataTableRow>
                    <DataTableColumnHeader>Site and package</DataTableColumnHeader>
                    <DataTableColumnHeader>What</DataTableColumnHeader>
                    <DataTableColumnHeader>Here</DataTableColumnHeader>
                    <DataTableColumnHeader>Incoming</DataTableColumnHeader>
                    <DataTableColumnHeader>Kept</DataTableColumnHeader>
                  </DataTableRow>
                </DataTableHead>
                <DataTableBody>
                  {conflicts.map((c) => (
                    <DataTableRow key={c.id}>
                      <DataTableCell>
                        {c.site}, package {c.package}
                      </DataTableCell>
                      <DataTableCell>
                        {c.kind}: {c.key}
                      </DataTableCell>
                      <DataTableCell>
                        {shown(c.local.value)} ({formatTime(c.local.lastUpdated)})
                      </DataTableCell>
                      <DataTableCell>
                        {shown(c.incoming.value)} ({formatTime(c.incoming.lastUpdated)})
                      </DataTableCell>
                      <DataTableCell>
                        {c.kept === 'incoming' ? 'Incoming' : 'Here'} ({c.rule})
                      </DataTableCell>
                    </DataTableRow>
                  ))}
                </DataTableBody>
              </DataTable>
            </div>
          )}
        </section>
      ) : null}
    </>
  );
}
