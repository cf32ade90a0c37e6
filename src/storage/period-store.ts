import type { SqlExecutor, Storage } from './storage.ts';
import { parsePeriod, type Period } from '../domain/periods/periods.ts';

/** Rows per IN list or multi-row INSERT: well under SQLite's 32,766 and PostgreSQL's 65,535 bind limits. */
const CHUNK = 500;

/**
 * Committed period ids by canonical ISO string and back. Rows of `period` are never updated or
 * deleted, so an id once committed stays right for the life of the process.
 */
class PeriodIdCache {
  readonly idByIso = new Map<string, number>();
  readonly isoById = new Map<number, string>();

  add(iso: string, id: number): void {
    this.idByIso.set(iso, id);
    this.isoById.set(id, iso);
  }
}

function isTransaction(db: SqlExecutor): boolean {
  return (db as { inTransaction?: unknown }).inTransaction === true;
}

/**
 * The `period` table: the integer ids data values refer to, created on first use. Built for imports
 * that call `idsFor` once per batch: one SELECT for the periods not yet known, one multi-row INSERT
 * for those that are new, one re-SELECT; everything already seen comes from memory.
 *
 * Inside a transaction (`withExecutor(tx)`), ids the transaction discovers or creates are kept in
 * that store only, never in the shared cache: a rollback would otherwise leave ids in memory that
 * do not exist (and that SQLite may hand to a different period later). Call `markCommitted()` on the
 * transaction's store after the commit to share what it learnt.
 */
export class PeriodStore {
  private readonly db: SqlExecutor;
  private readonly shared: PeriodIdCache;
  /** Ids seen inside this store's transaction; undefined when the executor autocommits. */
  private readonly pending: PeriodIdCache | undefined;

  constructor(db: SqlExecutor, shared = new PeriodIdCache()) {
    this.db = db;
    this.shared = shared;
    this.pending = isTransaction(db) ? new PeriodIdCache() : undefined;
  }

  /** The same store working in a transaction; shares the committed-id cache. */
  withExecutor(db: SqlExecutor): PeriodStore {
    return new PeriodStore(db, this.shared);
  }

  /** Shares the ids this transaction's store learnt; call only after the transaction committed. */
  markCommitted(): void {
    if (!this.pending) return;
    for (const [iso, id] of this.pending.idByIso) this.shared.add(iso, id);
    this.pending.idByIso.clear();
    this.pending.isoById.clear();
  }

  /**
   * Period ids for ISO period strings, creating the `period` rows that are missing. The result is
   * keyed by the strings as given (`2024W05` and `2024W5` both map to the id of `2024W5`); strings
   * that are not periods are absent from it, for the caller to report.
   */
  async idsFor(isos: Iterable<string>): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    const unknown = new Map<string, Period>();
    const asked = new Map<string, string[]>();
    for (const text of new Set(isos)) {
      const period = parsePeriod(text);
      if (!period) continue;
      const id = this.cachedId(period.iso);
      if (id !== undefined) {
        result.set(text, id);
        continue;
      }
      unknown.set(period.iso, period);
      const aliases = asked.get(period.iso);
      if (aliases) aliases.push(text);
      else asked.set(period.iso, [text]);
    }
    if (unknown.size === 0) return result;

    const found = await this.select(this.db, [...unknown.keys()]);
    const missing = [...unknown.values()].filter((p) => !found.has(p.iso));
    if (missing.length > 0) {
      // Outside a transaction, insert and re-read on one connection: SQLite reads outside a
      // transaction go to the reader connection, whose snapshot an open stream can hold back.
      const storage = this.db as Partial<Storage>;
      const created =
        !this.pending && typeof storage.transaction === 'function'
          ? await storage.transaction((tx) => this.create(tx, missing))
          : await this.create(this.db, missing);
      for (const [iso, id] of created) found.set(iso, id);
    }
    const cache = this.pending ?? this.shared;
    for (const [iso, id] of found) {
      cache.add(iso, id);
      for (const text of asked.get(iso) ?? []) result.set(text, id);
    }
    return result;
  }

  /** ISO strings of period ids (for exports); ids with no row are absent. */
  async byIds(ids: Iterable<number>): Promise<Map<number, string>> {
    const result = new Map<number, string>();
    const unknown: number[] = [];
    for (const id of new Set(ids)) {
      const iso = this.shared.isoById.get(id) ?? this.pending?.isoById.get(id);
      if (iso !== undefined) result.set(id, iso);
      else unknown.push(id);
    }
    const cache = this.pending ?? this.shared;
    for (let i = 0; i < unknown.length; i += CHUNK) {
      const chunk = unknown.slice(i, i + CHUNK);
      const rows = await this.db.query<{ period_id: number | string; iso: string }>(
        `SELECT period_id, iso FROM period WHERE period_id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) {
        const id = Number(row.period_id);
        cache.add(row.iso, id);
        result.set(id, row.iso);
      }
    }
    return result;
  }

  private cachedId(iso: string): number | undefined {
    return this.shared.idByIso.get(iso) ?? this.pending?.idByIso.get(iso);
  }

  /** Inserts periods (skipping any that exist by now) and returns the ids of all of them. */
  private async create(db: SqlExecutor, periods: readonly Period[]): Promise<Map<string, number>> {
    // DO NOTHING rather than failing: another import may create the same period at the same time.
    await db.executeMany(
      'INSERT INTO period (iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?) ON CONFLICT (iso) DO NOTHING',
      periods.map((p) => [p.iso, p.type, p.startDate, p.endDate]),
    );
    const ids = await this.select(
      db,
      periods.map((p) => p.iso),
    );
    const lost = periods.find((p) => !ids.has(p.iso));
    if (lost) throw new Error(`Period ${lost.iso} was inserted but cannot be read back`);
    return ids;
  }

  private async select(db: SqlExecutor, isos: readonly string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (let i = 0; i < isos.length; i += CHUNK) {
      const chunk = isos.slice(i, i + CHUNK);
      const rows = await db.query<{ period_id: number | string; iso: string }>(
        `SELECT period_id, iso FROM period WHERE iso IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) found.set(row.iso, Number(row.period_id));
    }
    return found;
  }
}
