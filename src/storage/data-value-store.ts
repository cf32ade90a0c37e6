import type { SqlExecutor, SqlValue } from './storage.ts';
import {
  mergeDataValues,
  type MergeAudit,
  type MergeCounts,
} from './dialects/postgres/postgres-data-value-copy.ts';

/** The five integer ids that identify a stored data value, in the primary key's order. */
export interface DataValueKey {
  orgUnit: number;
  period: number;
  dataElement: number;
  categoryOptionCombo: number;
  attributeOptionCombo: number;
}

/** What an import compares against: the stored row's changeable part. */
export interface StoredDataValue {
  value: string | null;
  comment: string | null;
  followUp: boolean;
  deleted: boolean;
}

/** A row to write: inserted when new, otherwise replacing everything but `created`. */
export interface DataValueRow extends DataValueKey {
  value: string | null;
  storedBy: string | null;
  created: string;
  lastUpdated: string;
  comment: string | null;
  followUp: boolean;
  deleted: boolean;
}

export const AUDIT_TYPES = ['CREATE', 'UPDATE', 'DELETE'] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

export interface DataValueAuditRow extends DataValueKey {
  auditType: AuditType;
  previousValue: string | null;
  newValue: string | null;
  modifiedBy: string | null;
  created: string;
  jobId: string | null;
}

export interface CompleteRegistrationRow {
  dataSet: number;
  period: number;
  orgUnit: number;
  attributeOptionCombo: number;
  completedDate: string;
  storedBy: string | null;
  lastUpdated: string;
}

/** Identifying columns of a metadata object, read without its JSON body where possible. */
export interface MetadataIdentifiers {
  sid: number;
  uid: string;
  code: string | null;
  name: string | null;
  path: string | null;
  body?: Record<string, unknown>;
}

const KEY_COLUMNS =
  'org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id';
const ROW_COLUMNS = `${KEY_COLUMNS}, value, stored_by, created, last_updated, comment, follow_up, deleted`;
const AUDIT_COLUMNS = `${KEY_COLUMNS}, audit_type, previous_value, new_value, modified_by, created, job_id`;
const ROW_COLUMN_LIST = ROW_COLUMNS.split(', ');
const AUDIT_COLUMN_LIST = AUDIT_COLUMNS.split(', ');
const UPSERT_SET =
  'value = excluded.value, stored_by = excluded.stored_by, last_updated = excluded.last_updated, ' +
  'comment = excluded.comment, follow_up = excluded.follow_up, deleted = excluded.deleted';

/** A (org unit, period) run shorter than this is looked up value by value, longer by a range scan. */
const RANGE_LOOKUP_MIN = 8;

/** The page cache during an import, in SQLite's negative-KiB form (16 MiB). */
const BULK_PAGE_CACHE_KIB = -16_384;

/** The page cache while deferred indexes are rebuilt (4 MiB): it bounds the sorter's memory. */
const INDEX_BUILD_PAGE_CACHE_KIB = -4_096;

/** Rows per multi-row INSERT on SQLite: 64 × 12 = 768 bind parameters, far below the 32,766 limit. */
const MULTI_ROW = 200;

/**
 * The write side of aggregate data values, for both dialects: bulk look-up of stored values by key,
 * bulk upsert, plain inserts that report clashes, audit rows and complete registrations. Callers
 * pass batches sorted in key order (the primary key's order), which keeps B-tree writes local.
 * SQLite runs prepared statements in a loop (no round trips); PostgreSQL sends a batch as arrays
 * through `unnest`, one statement per batch instead of one per row.
 */
export class DataValueStore {
  private readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }

  withExecutor(db: SqlExecutor): DataValueStore {
    return new DataValueStore(db);
  }

  /**
   * For a bulk load into an empty table on SQLite: drops the secondary indexes of `data_value` and
   * returns their definitions for `createIndexes` once the rows are in. Building an index from
   * a full table is a sort; maintaining it row by row is a random B-tree write per index per row
   * (about half of the insert cost, bench/data-value-import-bench.ts). Inside the import's
   * transaction, a rollback brings the indexes back by itself; readers on their own connection
   * keep seeing the committed schema. PostgreSQL is left alone: DROP INDEX would lock the table
   * against readers until the import commits.
   */
  async dropSecondaryIndexes(): Promise<string[]> {
    if (this.db.kind !== 'sqlite') return [];
    const indexes = await this.db.query<{ name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'data_value' AND sql IS NOT NULL",
    );
    for (const index of indexes) await this.db.executeScript(`DROP INDEX "${index.name}"`);
    return indexes.map((index) => index.sql);
  }

  /**
   * Re-creates indexes dropped by `dropSecondaryIndexes`. The sort behind CREATE INDEX spills to
   * temporary files, which `temp_store = MEMORY` would keep in RAM: 5 million rows took the
   * process from 125 to 507 MB. With temp_store FILE for the duration it peaks under 250 MB.
   * SQLite sizes the sorter's in-memory runs by the page cache setting; 4 MiB instead of the
   * import's 16 MiB took 10-15 MB off a 5M-value import's peak at the same speed.
   */
  async createIndexes(definitions: readonly string[]): Promise<void> {
    if (definitions.length === 0) return;
    const tempStore = await this.db.queryOne<{ temp_store: number }>('PRAGMA temp_store');
    const cacheSize = await this.db.queryOne<{ cache_size: number }>('PRAGMA cache_size');
    await this.db.executeScript(`PRAGMA cache_size = ${INDEX_BUILD_PAGE_CACHE_KIB}`);
    // SQLite refuses to change temp_store inside a transaction once the connection has opened its
    // temporary database (a temp table, a spilled sort, an ALTER TABLE ... RENAME in a migration).
    // The setting only saves memory, so the index build goes on without it rather than failing
    // the import.
    const switchedTempStore = await this.db
      .executeScript('PRAGMA temp_store = FILE')
      .then(() => true)
      .catch(() => false);
    try {
      for (const sql of definitions) await this.db.executeScript(sql);
    } finally {
      await this.db.executeScript(`PRAGMA cache_size = ${Number(cacheSize?.cache_size ?? -2000)}`);
      if (switchedTempStore) {
        await this.db.executeScript(`PRAGMA temp_store = ${Number(tempStore?.temp_store ?? 0)}`);
      }
    }
  }

  /**
   * SQLite: a small page cache for the import's duration; returns what restores the setting.
   * Batches are written and read in key order and audit rows are appended, so the working set is
   * the right edge of a few B-trees: 16 MiB does as well as the connection's 64 MiB, and the
   * difference is resident memory once the database outgrows the cache (bench: 1,000,000 values,
   * peak RSS 336 → 260 MB).
   */
  async limitPageCache(): Promise<(() => Promise<void>) | undefined> {
    if (this.db.kind !== 'sqlite') return undefined;
    const before = await this.db.queryOne<{ cache_size: number }>('PRAGMA cache_size');
    await this.db.executeScript(`PRAGMA cache_size = ${BULK_PAGE_CACHE_KIB}`);
    return async () => {
      await this.db.executeScript(`PRAGMA cache_size = ${Number(before?.cache_size ?? -2000)}`);
    };
  }

  /** Whether no data value (deleted or not) is stored at all. */
  async isEmpty(): Promise<boolean> {
    const row = await this.db.queryOne('SELECT 1 AS found FROM data_value LIMIT 1');
    return row === undefined;
  }

  /**
   * Identifiers of every object of a type; the JSON body only when asked (org units carry
   * geometry, and most imports need only uid and path of them).
   */
  async loadIdentifiers(collection: string, withBody: boolean): Promise<MetadataIdentifiers[]> {
    const out: MetadataIdentifiers[] = [];
    const columns = `sid, uid, code, name, path${withBody ? ', body' : ''}`;
    for await (const rows of this.db.stream<{
      sid: number;
      uid: string;
      code: string | null;
      name: string | null;
      path: string | null;
      body?: unknown;
    }>(`SELECT ${columns} FROM metadata_object WHERE type = ? ORDER BY sid`, [collection], 2000)) {
      for (const row of rows) {
        const entry: MetadataIdentifiers = {
          sid: Number(row.sid),
          uid: row.uid,
          code: row.code,
          name: row.name,
          path: row.path,
        };
        if (withBody) {
          entry.body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as Record<
            string,
            unknown
          >;
        }
        out.push(entry);
      }
    }
    return out;
  }

  /**
   * The stored values for keys sorted in key order; the result is aligned with `keys` (undefined
   * where nothing is stored).
   */
  async findExisting(keys: readonly DataValueKey[]): Promise<Array<StoredDataValue | undefined>> {
    if (keys.length === 0) return [];
    return this.db.kind === 'postgres' ? this.findExistingPostgres(keys) : this.findExistingSqlite(keys);
  }

  private async findExistingSqlite(
    keys: readonly DataValueKey[],
  ): Promise<Array<StoredDataValue | undefined>> {
    const result: Array<StoredDataValue | undefined> = new Array(keys.length);
    let start = 0;
    while (start < keys.length) {
      const { orgUnit, period } = keys[start];
      let end = start + 1;
      while (end < keys.length && keys[end].orgUnit === orgUnit && keys[end].period === period) end++;
      if (end - start >= RANGE_LOOKUP_MIN) {
        // Stored rows and keys are both in (data element, option combo, attribute option combo)
        // order within the run: a merge join, no per-row map or string key.
        const rows = await this.db.query<StoredRow & { de: number; coc: number; aoc: number }>(
          `SELECT data_element_id AS de, category_option_combo_id AS coc, attribute_option_combo_id AS aoc,
                  value, comment, follow_up, deleted
             FROM data_value WHERE org_unit_id = ? AND period_id = ?
            ORDER BY data_element_id, category_option_combo_id, attribute_option_combo_id`,
          [orgUnit, period],
        );
        let r = 0;
        for (let i = start; i < end && r < rows.length; i++) {
          const k = keys[i];
          let order = 0;
          while (r < rows.length) {
            const row = rows[r];
            order =
              row.de - k.dataElement || row.coc - k.categoryOptionCombo || row.aoc - k.attributeOptionCombo;
            if (order >= 0) break;
            r++;
          }
          if (r < rows.length && order === 0) result[i] = toStored(rows[r]);
        }
      } else {
        for (let i = start; i < end; i++) {
          const k = keys[i];
          const row = await this.db.queryOne<StoredRow>(
            `SELECT value, comment, follow_up, deleted FROM data_value
              WHERE org_unit_id = ? AND period_id = ? AND data_element_id = ?
                AND category_option_combo_id = ? AND attribute_option_combo_id = ?`,
            [k.orgUnit, k.period, k.dataElement, k.categoryOptionCombo, k.attributeOptionCombo],
          );
          if (row) result[i] = toStored(row);
        }
      }
      start = end;
    }
    return result;
  }

  private async findExistingPostgres(
    keys: readonly DataValueKey[],
  ): Promise<Array<StoredDataValue | undefined>> {
    const rows = await this.db.query<StoredRow & { i: number }>(
      `SELECT k.i::int AS i, dv.value, dv.comment, dv.follow_up, dv.deleted
         FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])
              WITH ORDINALITY AS k(ou, pe, de, coc, aoc, i)
         JOIN data_value dv ON dv.org_unit_id = k.ou AND dv.period_id = k.pe AND dv.data_element_id = k.de
          AND dv.category_option_combo_id = k.coc AND dv.attribute_option_combo_id = k.aoc`,
      keyArrays(keys),
    );
    const result: Array<StoredDataValue | undefined> = new Array(keys.length);
    for (const row of rows) result[Number(row.i) - 1] = toStored(row);
    return result;
  }

  /**
   * Rows known to be new: the table was empty when the import began and the import's key set let
   * each key through once. PostgreSQL takes them by COPY (bench, 300,000 values: the unnest
   * INSERT spent 3.3 s here); SQLite's multi-row insert is already its fastest path.
   */
  async insertFresh(rows: readonly DataValueRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.db.copyRows) {
      await this.db.copyRows('data_value', ROW_COLUMN_LIST, rowTuples(rows));
      return;
    }
    await this.upsert(rows);
  }

  /** Whether `merge` is offered: PostgreSQL, where it is COPY into a staging table and one statement. */
  canMerge(): boolean {
    return this.db.kind === 'postgres' && this.db.copyRows !== undefined;
  }

  /**
   * CREATE_AND_UPDATE of rows that are not deletes, decided on the server: new keys (and keys stored
   * as deleted) inserted, changed values updated, unchanged ones left, audit rows for what was written
   * (unless `audit` is undefined); answers how many of each. `fresh`: the table was empty when the
   * import began, so every row is new. See postgres-data-value-copy.ts.
   */
  async merge(
    rows: readonly DataValueRow[],
    audit: MergeAudit | undefined,
    fresh: boolean,
  ): Promise<MergeCounts> {
    if (rows.length === 0) return { imported: 0, updated: 0, ignored: 0 };
    return mergeDataValues(this.db, stageTuples(rows), audit, fresh);
  }

  /** Inserts new rows and replaces existing ones (all but `created`), in one pass. */
  async upsert(rows: readonly DataValueRow[]): Promise<void> {
    if (rows.length === 0) return;
    const conflict = `ON CONFLICT (${KEY_COLUMNS}) DO UPDATE SET ${UPSERT_SET}`;
    if (this.db.kind === 'postgres') {
      await this.db.execute(
        `INSERT INTO data_value (${ROW_COLUMNS}) SELECT * FROM unnest(${ROW_TYPES}) ${conflict}`,
        rowArrays(rows),
      );
      return;
    }
    await this.insertMultiRow(
      `INSERT INTO data_value (${ROW_COLUMNS}) VALUES`,
      12,
      conflict,
      rows,
      pushRowParams,
    );
  }

  /**
   * SQLite: many rows per statement. Each `run` crosses from JS into SQLite and binds its
   * arguments; 64 rows a statement cut that cost about threefold on this path. The statement for a
   * full chunk is prepared once and cached; the remainder goes one row at a time.
   */
  private async insertMultiRow<T>(
    head: string,
    width: number,
    tail: string,
    rows: readonly T[],
    push: (row: T, params: SqlValue[]) => void,
  ): Promise<void> {
    const tuple = `(${new Array(width).fill('?').join(', ')})`;
    const full = Math.floor(rows.length / MULTI_ROW) * MULTI_ROW;
    if (full > 0) {
      const sql = `${head} ${new Array(MULTI_ROW).fill(tuple).join(', ')} ${tail}`;
      for (let start = 0; start < full; start += MULTI_ROW) {
        const params: SqlValue[] = [];
        for (let i = start; i < start + MULTI_ROW; i++) push(rows[i], params);
        await this.db.execute(sql, params);
      }
    }
    if (full < rows.length) {
      const sql = `${head} ${tuple} ${tail}`;
      const params: SqlValue[] = [];
      for (let i = full; i < rows.length; i++) {
        params.length = 0;
        push(rows[i], params);
        await this.db.execute(sql, params);
      }
    }
  }

  /**
   * Plain inserts for `skipExistingCheck`: nothing is looked up first. Returns the positions of rows
   * that clashed with a stored value (and were not written).
   */
  async insertNew(rows: readonly DataValueRow[]): Promise<number[]> {
    if (rows.length === 0) return [];
    if (this.db.kind === 'postgres') {
      const inserted = await this.db.query<{ i: number }>(
        `WITH input AS (SELECT * FROM unnest(${ROW_TYPES}, ?::int[]) AS t(${ROW_COLUMNS}, i)),
              written AS (INSERT INTO data_value (${ROW_COLUMNS}) SELECT ${ROW_COLUMNS} FROM input
                          ON CONFLICT DO NOTHING RETURNING ${KEY_COLUMNS})
         SELECT input.i FROM input JOIN written USING (${KEY_COLUMNS})`,
        [...rowArrays(rows), rows.map((_, i) => i) as unknown as SqlValue],
      );
      const written = new Set(inserted.map((r) => Number(r.i)));
      return rows.map((_, i) => i).filter((i) => !written.has(i));
    }
    const before = await this.totalChanges();
    await this.db.executeMany(
      `INSERT INTO data_value (${ROW_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      rows.map(rowParams),
    );
    if ((await this.totalChanges()) - before === rows.length) return [];
    // Some clashed: the rows this batch wrote carry its last_updated stamp; the others don't.
    const stored = await this.findExistingWithStamp(rows);
    return rows.map((_, i) => i).filter((i) => stored[i] !== rows[i].lastUpdated);
  }

  private async totalChanges(): Promise<number> {
    const row = await this.db.queryOne<{ n: number }>('SELECT total_changes() AS n');
    return Number(row?.n ?? 0);
  }

  private async findExistingWithStamp(rows: readonly DataValueRow[]): Promise<Array<string | undefined>> {
    const out: Array<string | undefined> = [];
    for (const k of rows) {
      const row = await this.db.queryOne<{ last_updated: string }>(
        `SELECT last_updated FROM data_value
          WHERE org_unit_id = ? AND period_id = ? AND data_element_id = ?
            AND category_option_combo_id = ? AND attribute_option_combo_id = ?`,
        [k.orgUnit, k.period, k.dataElement, k.categoryOptionCombo, k.attributeOptionCombo],
      );
      out.push(row?.last_updated);
    }
    return out;
  }

  /** Whether `auditStoredAsCreated` is right for this database (see there). */
  canAuditStoredAsCreated(): boolean {
    return this.db.kind === 'sqlite';
  }

  /**
   * A CREATE audit row for every stored value of a range of org units, in one statement. Only right when the import that
   * calls it created every row of the table: it began on an empty table, and on SQLite its write
   * transaction excludes every other writer (on PostgreSQL, rows committed by others meanwhile
   * would be visible to the statement, so it is not offered there).
   */
  async auditStoredAsCreated(
    modifiedBy: string | null,
    created: string,
    jobId: string | null,
    orgUnits: { from: number; to: number },
  ): Promise<void> {
    await this.db.execute(
      `INSERT INTO data_value_audit (${AUDIT_COLUMNS})
       SELECT ${KEY_COLUMNS}, 'CREATE', NULL, value, ?, ?, ? FROM data_value
        WHERE org_unit_id >= ? AND org_unit_id <= ?`,
      [modifiedBy, created, jobId, orgUnits.from, orgUnits.to],
    );
  }

  async insertAudits(rows: readonly DataValueAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.db.copyRows) {
      await this.db.copyRows('data_value_audit', AUDIT_COLUMN_LIST, auditTuples(rows));
      return;
    }
    if (this.db.kind === 'postgres') {
      await this.db.execute(
        `INSERT INTO data_value_audit (${AUDIT_COLUMNS})
         SELECT * FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[],
                              ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])`,
        [
          ...keyArrays(rows),
          column(rows, (r) => r.auditType),
          column(rows, (r) => r.previousValue),
          column(rows, (r) => r.newValue),
          column(rows, (r) => r.modifiedBy),
          column(rows, (r) => r.created),
          column(rows, (r) => r.jobId),
        ],
      );
      return;
    }
    await this.insertMultiRow(
      `INSERT INTO data_value_audit (${AUDIT_COLUMNS}) VALUES`,
      11,
      '',
      rows,
      pushAuditParams,
    );
  }

  /** Registers a data set as complete for an org unit, period and attribute option combo. */
  async registerComplete(row: CompleteRegistrationRow): Promise<void> {
    await this.db.execute(
      `INSERT INTO complete_registration
         (data_set_id, period_id, org_unit_id, attribute_option_combo_id, completed_date, stored_by, last_updated)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (data_set_id, period_id, org_unit_id, attribute_option_combo_id)
       DO UPDATE SET completed_date = excluded.completed_date, stored_by = excluded.stored_by,
                     last_updated = excluded.last_updated`,
      [
        row.dataSet,
        row.period,
        row.orgUnit,
        row.attributeOptionCombo,
        row.completedDate,
        row.storedBy,
        row.lastUpdated,
      ],
    );
  }
}

interface StoredRow {
  value: string | null;
  comment: string | null;
  follow_up: number | boolean;
  deleted: number | boolean;
}

function toStored(row: StoredRow): StoredDataValue {
  return {
    value: row.value,
    comment: row.comment,
    followUp: Number(row.follow_up) === 1,
    deleted: Number(row.deleted) === 1,
  };
}

const ROW_TYPES =
  '?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::smallint[], ?::smallint[]';

function pushRowParams(r: DataValueRow, params: SqlValue[]): void {
  params.push(
    r.orgUnit,
    r.period,
    r.dataElement,
    r.categoryOptionCombo,
    r.attributeOptionCombo,
    r.value,
    r.storedBy,
    r.created,
    r.lastUpdated,
    r.comment,
    r.followUp ? 1 : 0,
    r.deleted ? 1 : 0,
  );
}

function rowParams(r: DataValueRow): SqlValue[] {
  const params: SqlValue[] = [];
  pushRowParams(r, params);
  return params;
}

/**
 * One array per column, for PostgreSQL's `unnest`. `pg` sends JS arrays as array literals; the
 * SqlValue type has no arrays, hence the cast, which stays inside this file.
 */
function column<T>(rows: readonly T[], pick: (row: T) => string | number | null): SqlValue {
  const out = new Array<string | number | null>(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = pick(rows[i]);
  return out as unknown as SqlValue;
}

function keyArrays(keys: readonly DataValueKey[]): SqlValue[] {
  return [
    column(keys, (k) => k.orgUnit),
    column(keys, (k) => k.period),
    column(keys, (k) => k.dataElement),
    column(keys, (k) => k.categoryOptionCombo),
    column(keys, (k) => k.attributeOptionCombo),
  ];
}

function rowArrays(rows: readonly DataValueRow[]): SqlValue[] {
  return [
    ...keyArrays(rows),
    column(rows, (r) => r.value),
    column(rows, (r) => r.storedBy),
    column(rows, (r) => r.created),
    column(rows, (r) => r.lastUpdated),
    column(rows, (r) => r.comment),
    column(rows, (r) => (r.followUp ? 1 : 0)),
    column(rows, (r) => (r.deleted ? 1 : 0)),
  ];
}

function* rowTuples(rows: readonly DataValueRow[]): Iterable<SqlValue[]> {
  for (const r of rows) yield rowParams(r);
}

/** Rows in the staging table's column order (`STAGE_COLUMNS`: no `deleted`, merges never delete). */
function* stageTuples(rows: readonly DataValueRow[]): Iterable<SqlValue[]> {
  for (const r of rows) {
    yield [
      r.orgUnit,
      r.period,
      r.dataElement,
      r.categoryOptionCombo,
      r.attributeOptionCombo,
      r.value,
      r.storedBy,
      r.created,
      r.lastUpdated,
      r.comment,
      r.followUp ? 1 : 0,
    ];
  }
}

function pushAuditParams(r: DataValueAuditRow, params: SqlValue[]): void {
  params.push(
    r.orgUnit,
    r.period,
    r.dataElement,
    r.categoryOptionCombo,
    r.attributeOptionCombo,
    r.auditType,
    r.previousValue,
    r.newValue,
    r.modifiedBy,
    r.created,
    r.jobId,
  );
}

function* auditTuples(rows: readonly DataValueAuditRow[]): Iterable<SqlValue[]> {
  for (const r of rows) {
    const params: SqlValue[] = [];
    pushAuditParams(r, params);
    yield params;
  }
}
