import type { Transaction } from '../../storage/storage.ts';
import type { ImportCount, ImportSummary } from '../../domain/data-values/import-summary.ts';
import type { PoolPrincipal } from '../dedupe/dedupe-pool-service.ts';
import { DedupeStore } from '../../storage/dedupe-store.ts';
import { modeFilters, modeTracks, type DedupeUse } from '../../domain/dedupe/dedupe-use.ts';
import { DATA_VALUE_ENTITY_TYPE } from '../../domain/dedupe/dedupe-entity-types.ts';
import { pruneExpiredEntries, requirePool } from '../dedupe/dedupe-pool-service.ts';
import { checkAndTrackKeys } from '../dedupe/dedupe-key-check.ts';
import type { ResolvedValue } from './data-value-import-validation.ts';

// The data value import's use of a de-duplication pool (`dedupePool`, `dedupeKey`, `dedupeMode`;
// docs/formats/dedupe-pools.md): a stage between validation and writing that drops values whose key
// the pool holds and records new keys, inside the import's transaction, so a rollback (dry run,
// atomic failure) leaves the pool as it was and a commit keeps values and keys together.

/** Row indexes of filtered values listed in the summary; the rest are counted. */
const MAX_LISTED_INDEXES = 10_000;

/** What the summary's `dedupe` entry says. */
export interface DedupeReport {
  pool: string;
  poolName: string;
  mode: DedupeUse['mode'];
  key: string;
  /** Values dropped because their key was in the pool (counted in importCount.ignored). */
  filtered: number;
  /** Keys added to the pool (in a dry run: that would be added). */
  tracked: number;
  reason: string;
  /** Row indexes of the dropped values, up to 10,000. */
  filteredIndexes: number[];
  filteredIndexesOmitted?: number;
}

type DedupePrincipal = PoolPrincipal;

export class DataValueImportDedupe {
  private readonly tx: Transaction;
  private readonly store: DedupeStore;
  private readonly use: DedupeUse;
  private readonly poolId: number;
  private readonly poolUid: string;
  private readonly poolName: string;
  private readonly now: string;
  private readonly jobId: string | null;
  private readonly counts: ImportCount;
  private readonly isDryRun: () => boolean;
  /** Numeric ids → UIDs (data elements, org units, combos) and period ids → ISO, filled per batch. */
  private readonly uids = new Map<number, string>();
  private readonly isos = new Map<number, string>();
  /** A dry run stores nothing, so the keys it would have tracked are remembered here instead. */
  private readonly dryRunTracked = new Set<string>();
  private filtered = 0;
  private tracked = 0;
  private readonly filteredIndexes: number[] = [];

  private constructor(
    tx: Transaction,
    use: DedupeUse,
    pool: { poolId: number; uid: string; name: string },
    settings: { now: string; jobId: string | undefined; counts: ImportCount; isDryRun: () => boolean },
  ) {
    this.tx = tx;
    this.store = new DedupeStore(tx);
    this.use = use;
    this.poolId = pool.poolId;
    this.poolUid = pool.uid;
    this.poolName = pool.name;
    this.now = settings.now;
    this.jobId = settings.jobId ?? null;
    this.counts = settings.counts;
    this.isDryRun = settings.isDryRun;
  }

  /**
   * The pool, checked for the caller's sharing now (data read to filter, data write to track), its
   * expired entries removed; throws F1200/F1700 when it may not be used so.
   */
  static async open(
    tx: Transaction,
    use: DedupeUse,
    principal: DedupePrincipal | undefined,
    settings: { now: string; jobId: string | undefined; counts: ImportCount; isDryRun: () => boolean },
  ): Promise<DataValueImportDedupe> {
    if (modeFilters(use.mode)) await requirePool(tx, principal, use.pool, 'filter');
    const row = await requirePool(tx, principal, use.pool, modeTracks(use.mode) ? 'track' : 'filter');
    if (!settings.isDryRun()) await pruneExpiredEntries(tx, row, new Date(settings.now));
    return new DataValueImportDedupe(tx, use, { poolId: row.poolId, uid: row.uid, name: row.name }, settings);
  }

  /**
   * The batch without the values the pool drops; records new keys as the mode says. A key new to
   * the pool passes once: with FILTER_AND_TRACK a second value with the same key (a partial
   * `dedupeKey`) is dropped too, in this batch or a later one.
   */
  async filter(resolved: ResolvedValue[]): Promise<ResolvedValue[]> {
    if (resolved.length === 0) return resolved;
    await this.resolveIdentifiers(resolved);
    const keys = resolved.map((entry) => this.keyOf(entry));
    const distinct = [...new Set(keys)];
    const type = DATA_VALUE_ENTITY_TYPE.id;
    const dryRun = this.isDryRun();
    const mode = this.use.mode;
    /** Keys that let their (first) value through. */
    let passing: Set<string> | undefined;
    if (mode === 'FILTER') {
      const held = await this.store.existingKeys(this.poolId, type, distinct);
      passing = new Set(distinct.filter((key) => !held.has(key)));
      // FILTER records nothing, so several values with one key all pass.
      return this.drop(resolved, keys, passing, false);
    }
    let added: Set<string>;
    if (dryRun) {
      const held = await this.store.existingKeys(this.poolId, type, distinct);
      added = new Set(distinct.filter((key) => !held.has(key) && !this.dryRunTracked.has(key)));
      for (const key of added) this.dryRunTracked.add(key);
    } else {
      // The atomic check-and-insert: only the keys new to the pool come back.
      added = await checkAndTrackKeys(this.tx, this.poolId, type, distinct, this.now, this.jobId);
    }
    this.tracked += added.size;
    if (mode === 'TRACK') return resolved;
    return this.drop(resolved, keys, added, true);
  }

  report(): DedupeReport {
    const listed = this.filteredIndexes.length;
    return {
      pool: this.poolUid,
      poolName: this.poolName,
      mode: this.use.mode,
      key: this.use.keyFields.join('/'),
      filtered: this.filtered,
      tracked: this.tracked,
      reason: `Already in de-duplication pool '${this.poolName}' (key ${this.use.keyFields.join('/')}): counted as ignored, not written`,
      filteredIndexes: this.filteredIndexes,
      ...(this.filtered > listed ? { filteredIndexesOmitted: this.filtered - listed } : {}),
    };
  }

  private drop(
    resolved: ResolvedValue[],
    keys: string[],
    passing: Set<string>,
    oncePerKey: boolean,
  ): ResolvedValue[] {
    const out: ResolvedValue[] = [];
    const letThrough = new Set<string>();
    for (let i = 0; i < resolved.length; i++) {
      const key = keys[i];
      if (passing.has(key) && !(oncePerKey && letThrough.has(key))) {
        letThrough.add(key);
        out.push(resolved[i]);
        continue;
      }
      this.filtered++;
      this.counts.ignored++;
      if (this.filteredIndexes.length < MAX_LISTED_INDEXES) this.filteredIndexes.push(resolved[i].index);
    }
    return out;
  }

  /** The key from UIDs and the ISO period, never from the file's identifiers: codes or names vary. */
  private keyOf(entry: ResolvedValue): string {
    const parts: string[] = [];
    for (const field of this.use.keyFields) {
      switch (field) {
        case 'dataElement':
          parts.push(this.uids.get(entry.dataElement)!);
          break;
        case 'period':
          parts.push(this.isos.get(entry.period)!);
          break;
        case 'orgUnit':
          parts.push(this.uids.get(entry.orgUnit)!);
          break;
        case 'categoryOptionCombo':
          parts.push(this.uids.get(entry.categoryOptionCombo)!);
          break;
        case 'attributeOptionCombo':
          parts.push(this.uids.get(entry.attributeOptionCombo)!);
          break;
      }
    }
    return parts.join('/');
  }

  private async resolveIdentifiers(resolved: ResolvedValue[]): Promise<void> {
    const sids = new Set<number>();
    const periods = new Set<number>();
    for (const entry of resolved) {
      for (const sid of [
        entry.dataElement,
        entry.orgUnit,
        entry.categoryOptionCombo,
        entry.attributeOptionCombo,
      ])
        if (!this.uids.has(sid)) sids.add(sid);
      if (!this.isos.has(entry.period)) periods.add(entry.period);
    }
    for (const [sid, uid] of await this.store.uidsOfSids([...sids])) this.uids.set(sid, uid);
    for (const [id, iso] of await this.store.isosOfPeriods([...periods])) this.isos.set(id, iso);
  }
}

/** The summary with the pool's entry, when the import used one. */
export function withDedupeReport(
  summary: ImportSummary,
  dedupe: DataValueImportDedupe | undefined,
): ImportSummary {
  if (!dedupe) return summary;
  const withReport: ImportSummary & { dedupe: DedupeReport } = { ...summary, dedupe: dedupe.report() };
  return withReport;
}
