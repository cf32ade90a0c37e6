import type { Transaction } from '../../storage/storage.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { ConflictRecord, ConflictRule } from './sync-conflicts.ts';
import type { PartName } from './sync-package-format.ts';
import type { PartCounts } from './sync-import-counts.ts';
import type { VerifiedPackage } from './sync-package-reader.ts';
import type { SiteRow } from './sync-site-registry.ts';

/** What the stages of a package import share (sync-package-importer.ts builds it). */
export interface ImportScope {
  readonly tx: Transaction;
  readonly pkg: VerifiedPackage;
  readonly site: SiteRow;
  readonly rule: ConflictRule;
  readonly sids: SidCache;
  readonly conflicts: ConflictRecord[];
  /** Data flows up: the sender is a child, so this site's version is the parent's. */
  readonly localIsParent: boolean;
  count(part: PartName): PartCounts;
  refuse(part: PartName, row: number, message: string): never;
  changedLocally(kind: string, keys: readonly number[]): Promise<boolean>;
}

/** Resolves UIDs of one metadata collection to local ids, caching what it has seen. */
export class SidCache {
  private readonly known = new Map<string, Map<string, number>>();
  private readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }

  async load(collection: string, uids: Iterable<string>): Promise<void> {
    const map = this.known.get(collection) ?? new Map<string, number>();
    this.known.set(collection, map);
    const wanted = [...new Set(uids)].filter((u) => !map.has(u));
    for (let i = 0; i < wanted.length; i += 500) {
      const chunk = wanted.slice(i, i + 500);
      const rows = await this.db.query<{ sid: number | string; uid: string }>(
        `SELECT sid, uid FROM metadata_object WHERE type = ? AND uid IN (${chunk.map(() => '?').join(', ')})`,
        [collection, ...chunk],
      );
      for (const row of rows) map.set(row.uid, Number(row.sid));
    }
  }

  get(collection: string, uid: string): number | undefined {
    return this.known.get(collection)?.get(uid);
  }
}

/** Canonical JSON (sorted keys) to compare stored metadata with incoming: JSONB reorders keys. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(value ?? null);
}
