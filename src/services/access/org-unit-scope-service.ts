import type { SqlExecutor } from '../../storage/storage.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';

/**
 * Org unit scope checks against the stored hierarchy, for imports and exports that must keep a user
 * inside the org units assigned to them. Paths are read in bulk from the indexed `path` column, so a
 * batch of rows costs one query per 500 distinct org units, not one per row.
 */
export class OrgUnitScopeService {
  private readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }

  /** The same service on another executor (a transaction). */
  withExecutor(db: SqlExecutor): OrgUnitScopeService {
    return new OrgUnitScopeService(db);
  }

  /** Hierarchy paths of org units by UID; unknown UIDs are absent from the map. */
  async pathsOf(uids: Iterable<string>): Promise<Map<string, string>> {
    const unique = [...new Set(uids)];
    const out = new Map<string, string>();
    for (let i = 0; i < unique.length; i += 500) {
      const chunk = unique.slice(i, i + 500);
      const rows = await this.db.query<{ uid: string; path: string | null }>(
        `SELECT uid, path FROM metadata_object WHERE type = 'organisationUnits' AND uid IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      // An org unit stored without a path (not yet recomputed) is treated as its own root.
      for (const row of rows) out.set(row.uid, row.path ?? `/${row.uid}`);
    }
    return out;
  }

  /**
   * The subset of `uids` that are outside `scopeUids` (or unknown), in first-seen order. Empty means
   * every org unit is in scope.
   */
  async outOfScope(uids: Iterable<string>, scopeUids: Iterable<string>): Promise<string[]> {
    const scope = new Set(scopeUids);
    const unique = [...new Set(uids)];
    const paths = await this.pathsOf(unique);
    return unique.filter((uid) => !isInScope(paths.get(uid), scope));
  }

  async isInScope(uid: string, scopeUids: Iterable<string>): Promise<boolean> {
    return (await this.outOfScope([uid], scopeUids)).length === 0;
  }
}
