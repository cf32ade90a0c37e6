import type { SqlExecutor, SqlValue } from './storage.ts';

/**
 * Tracker data persistence (tables of migration 6, tracker-migrations.ts), written once for both
 * dialects. Look-ups take UIDs in bulk (one query per 500); writes are multi-row; exports stream
 * with keyset pagination on the surrogate key, newest first as DHIS2 orders them by default.
 */

export interface StoredTrackedEntity {
  id: number;
  uid: string;
  trackedEntityTypeId: number;
  orgUnitId: number;
  deleted: boolean;
  row: Record<string, unknown>;
}
export interface StoredEnrollment {
  id: number;
  uid: string;
  trackedEntityId: number;
  programId: number;
  orgUnitId: number;
  status: string;
  deleted: boolean;
  row: Record<string, unknown>;
}
export interface StoredEvent {
  id: number;
  uid: string;
  programId: number;
  programStageId: number;
  enrollmentId: number | null;
  orgUnitId: number;
  deleted: boolean;
  row: Record<string, unknown>;
}
export interface StoredRelationship {
  id: number;
  uid: string;
  deleted: boolean;
  row: Record<string, unknown>;
}

const CHUNK = 500;
/** PostgreSQL: values per `= ANY(array)` look-up. */
const ANY_CHUNK = 20_000;
/** SQLite: rows per multi-row INSERT (22 event columns x 16 rows, far below SQLite's 32,766 parameters). */
const ROWS_PER_INSERT = 16;
/** SQLite: page cache of an import's transaction, in KiB (negative: PRAGMA cache_size's unit). */
const IMPORT_PAGE_CACHE_KIB = -16_384;
/** PostgreSQL: an import that adds this many rows to a table refreshes its statistics. */
const ANALYZE_FROM_ROWS = 10_000;
/** Rows built and inserted together by insertAll on SQLite. */
const INSERT_SLICE = 2000;
/** PostgreSQL: from this many rows an insert is a COPY. */
const COPY_FROM_ROWS = 200;

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

export function jsonValue(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}

/** One data value of an event, as the import writes it and the export reads it back. */
export interface EventDataValue {
  value: unknown;
  providedElsewhere: boolean;
  createdAt: unknown;
  updatedAt: unknown;
  storedBy: unknown;
}

/** The event row's own stamps, which its data values take unless they say otherwise. */
export interface EventStamps {
  created: unknown;
  updated: unknown;
  storedBy: unknown;
}

/**
 * An event's `data_values` column read back in full. The column is compact: an entry holds
 * `value` and only the fields that differ from the event row's own stamps (`createdAt` from
 * `created`, `updatedAt` from `updated`, `storedBy` from `stored_by`, `providedElsewhere` false),
 * so a newly created event's values are `{"<data element>":{"value":"12"}, ...}`, a fifth of the
 * full form. Rows written in the full form (older imports, the demo seeder) read the same.
 */
export function eventDataValues(column: unknown, stamps: EventStamps): Record<string, EventDataValue> {
  const raw = (jsonValue(column) ?? {}) as Record<string, Record<string, unknown>>;
  const out: Record<string, EventDataValue> = {};
  for (const dataElement of Object.keys(raw)) {
    const v = raw[dataElement];
    out[dataElement] = {
      value: v.value,
      providedElsewhere: v.providedElsewhere === true,
      createdAt: 'createdAt' in v ? v.createdAt : stamps.created,
      updatedAt: 'updatedAt' in v ? v.updatedAt : stamps.updated,
      storedBy: 'storedBy' in v ? v.storedBy : stamps.storedBy,
    };
  }
  return out;
}

/** The compact `data_values` text of an event whose row carries `stamps` (see eventDataValues). */
export function eventDataValuesJson(
  values: Readonly<Record<string, EventDataValue>>,
  stamps: EventStamps,
): string {
  let text = '';
  for (const dataElement of Object.keys(values)) {
    const v = values[dataElement];
    text += `${text === '' ? '' : ','}${JSON.stringify(dataElement)}:{"value":${JSON.stringify(v.value)}`;
    if (v.providedElsewhere) text += ',"providedElsewhere":true';
    if (v.createdAt !== stamps.created) text += `,"createdAt":${JSON.stringify(v.createdAt ?? null)}`;
    if (v.updatedAt !== stamps.updated) text += `,"updatedAt":${JSON.stringify(v.updatedAt ?? null)}`;
    if (v.storedBy !== stamps.storedBy) text += `,"storedBy":${JSON.stringify(v.storedBy ?? null)}`;
    text += '}';
  }
  return `{${text}}`;
}

export class TrackerStore {
  readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }

  withExecutor(db: SqlExecutor): TrackerStore {
    return new TrackerStore(db);
  }

  /**
   * Rows whose `column` is one of `values`, by `sql(condition)`. SQLite: `IN (?, ...)` per 500
   * values (prepared once per size, in process). PostgreSQL: `= ANY(?::type[])` with one array
   * parameter per 20,000 values, so a chunk of an import is one round trip and one small statement
   * to plan instead of forty statements of 500 parameters each.
   */
  private async selectIn<T = Record<string, unknown>>(
    sql: (condition: string) => string,
    column: string,
    values: readonly (string | number)[],
    type: 'text' | 'bigint',
    before: readonly SqlValue[] = [],
  ): Promise<T[]> {
    const out: T[] = [];
    const postgres = this.db.kind === 'postgres';
    const step = postgres ? ANY_CHUNK : CHUNK;
    for (let i = 0; i < values.length; i += step) {
      const chunk = values.slice(i, i + step);
      const rows = postgres
        ? await this.db.query<T>(sql(`${column} = ANY(?::${type}[])`), [...before, chunk as never])
        : await this.db.query<T>(sql(`${column} IN (${placeholders(chunk.length)})`), [...before, ...chunk]);
      for (const row of rows) out.push(row);
    }
    return out;
  }

  private byUids(table: string, uids: Iterable<string>): Promise<Record<string, unknown>[]> {
    return this.selectIn((c) => `SELECT * FROM ${table} WHERE ${c}`, 'uid', [...new Set(uids)], 'text');
  }

  private byIds(table: string, key: string, ids: Iterable<number>): Promise<Record<string, unknown>[]> {
    return this.selectIn((c) => `SELECT * FROM ${table} WHERE ${c}`, key, [...new Set(ids)], 'bigint');
  }

  async trackedEntities(uids: Iterable<string>): Promise<Map<string, StoredTrackedEntity>> {
    return new Map(
      (await this.byUids('tracked_entity', uids)).map((r) => [String(r.uid), toTrackedEntity(r)]),
    );
  }

  async trackedEntitiesById(ids: Iterable<number>): Promise<Map<number, StoredTrackedEntity>> {
    return new Map(
      (await this.byIds('tracked_entity', 'tracked_entity_id', ids)).map((r) => {
        const te = toTrackedEntity(r);
        return [te.id, te];
      }),
    );
  }

  async enrollments(uids: Iterable<string>): Promise<Map<string, StoredEnrollment>> {
    return new Map((await this.byUids('enrollment', uids)).map((r) => [String(r.uid), toEnrollment(r)]));
  }

  async enrollmentsById(ids: Iterable<number>): Promise<Map<number, StoredEnrollment>> {
    return new Map(
      (await this.byIds('enrollment', 'enrollment_id', ids)).map((r) => {
        const e = toEnrollment(r);
        return [e.id, e];
      }),
    );
  }

  async events(uids: Iterable<string>): Promise<Map<string, StoredEvent>> {
    return new Map((await this.byUids('event', uids)).map((r) => [String(r.uid), toEvent(r)]));
  }

  async relationships(uids: Iterable<string>): Promise<Map<string, StoredRelationship>> {
    return new Map(
      (await this.byUids('relationship', uids)).map((r) => [
        String(r.uid),
        { id: Number(r.relationship_id), uid: String(r.uid), deleted: Number(r.deleted) === 1, row: r },
      ]),
    );
  }

  /** Attribute values of tracked entities: entity id → attribute id → value. */
  async attributeValues(trackedEntityIds: Iterable<number>): Promise<Map<number, Map<number, string>>> {
    const out = new Map<number, Map<number, string>>();
    for (const r of await this.byIds(
      'tracked_entity_attribute_value',
      'tracked_entity_id',
      trackedEntityIds,
    )) {
      const id = Number(r.tracked_entity_id);
      let values = out.get(id);
      if (!values) out.set(id, (values = new Map()));
      values.set(Number(r.attribute_id), String(r.value));
    }
    return out;
  }

  /** Who holds given values of one attribute (E1064): value → holders (uid and org unit). */
  async attributeValueHolders(
    attributeId: number,
    values: readonly string[],
  ): Promise<Array<{ value: string; uid: string; orgUnitId: number }>> {
    const rows = await this.selectIn<{ value: string; uid: string; org_unit_id: number }>(
      (c) => `SELECT v.value AS value, t.uid AS uid, t.org_unit_id AS org_unit_id
           FROM tracked_entity_attribute_value v JOIN tracked_entity t ON t.tracked_entity_id = v.tracked_entity_id
          WHERE v.attribute_id = ? AND t.deleted = 0 AND ${c}`,
      'v.value',
      [...new Set(values)],
      'text',
      [attributeId],
    );
    return rows.map((r) => ({ value: r.value, uid: r.uid, orgUnitId: Number(r.org_unit_id) }));
  }

  /** Enrollments (not deleted) of tracked entities, for "enrol once" and cascade checks. */
  async enrollmentsOfTrackedEntities(ids: Iterable<number>): Promise<StoredEnrollment[]> {
    return (await this.byIds('enrollment', 'tracked_entity_id', ids))
      .map(toEnrollment)
      .filter((e) => !e.deleted);
  }

  /** Events (not deleted) of enrollments, for cascade deletes. */
  async eventsOfEnrollments(ids: Iterable<number>): Promise<StoredEvent[]> {
    return (await this.byIds('event', 'enrollment_id', ids)).map(toEvent).filter((e) => !e.deleted);
  }

  /** Surrogate ids of new rows by UID, after an insert. */
  async idsOf(table: 'tracked_entity' | 'enrollment' | 'event' | 'relationship', uids: readonly string[]) {
    const key = `${table}_id`;
    const out = new Map<string, number>();
    const rows = await this.selectIn<Record<string, unknown>>(
      (c) => `SELECT uid, ${key} AS id FROM ${table} WHERE ${c}`,
      'uid',
      uids,
      'text',
    );
    for (const r of rows) out.set(String(r.uid), Number(r.id));
    return out;
  }

  /**
   * Inserts rows in bulk. PostgreSQL: COPY for a batch of more than a few rows (one round trip, no
   * statement of 20,000 parameters to parse and plan), multi-row INSERTs otherwise. SQLite: one
   * prepared statement of ROWS_PER_INSERT rows run per group (binding is per call, so a call per
   * row costs more than SQLite's own work), the remainder a row at a time.
   */
  async insert(
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<void> {
    if (rows.length === 0) return;
    const into = `INSERT INTO ${table} (${columns.join(', ')}) VALUES `;
    const tuple = `(${placeholders(columns.length)})`;
    if (this.db.copyRows && rows.length >= COPY_FROM_ROWS) {
      await this.db.copyRows(table, columns, rows);
      return;
    }
    if (this.db.kind !== 'sqlite' || rows.length < ROWS_PER_INSERT) {
      await this.db.executeMany(into + tuple, rows);
      return;
    }
    const whole = rows.length - (rows.length % ROWS_PER_INSERT);
    const groups: SqlValue[][] = [];
    for (let i = 0; i < whole; i += ROWS_PER_INSERT) {
      const group: SqlValue[] = [];
      for (let r = i; r < i + ROWS_PER_INSERT; r++) for (const value of rows[r]) group.push(value);
      groups.push(group);
    }
    await this.db.executeMany(into + Array.from({ length: ROWS_PER_INSERT }, () => tuple).join(', '), groups);
    if (whole < rows.length) await this.db.executeMany(into + tuple, rows.slice(whole));
  }

  /**
   * Inserts `count` rows made by `rowAt(i)` as they are needed: on PostgreSQL one COPY fed row by
   * row, so building and encoding the rows overlaps the server's work on those already sent; on
   * SQLite (and for a few rows) `insert` per slice of INSERT_SLICE rows. Either way only a slice of
   * rows is held at once.
   */
  async insertAll(
    table: string,
    columns: readonly string[],
    count: number,
    rowAt: (index: number) => SqlValue[],
  ): Promise<void> {
    if (count === 0) return;
    if (this.db.copyRows && count >= COPY_FROM_ROWS) {
      await this.db.copyRows(table, columns, {
        *[Symbol.iterator]() {
          for (let i = 0; i < count; i++) yield rowAt(i);
        },
      });
      return;
    }
    for (let start = 0; start < count; start += INSERT_SLICE) {
      const rows: SqlValue[][] = [];
      for (let i = start; i < Math.min(count, start + INSERT_SLICE); i++) rows.push(rowAt(i));
      await this.insert(table, columns, rows);
    }
  }

  /**
   * PostgreSQL: refreshes the planner's statistics of the tables an import has just grown by
   * `ANALYZE_FROM_ROWS` rows or more (`grown`: new rows by table). Until autovacuum gets there
   * (a minute or more after the commit), the planner takes a freshly filled table for an empty one:
   * each keyset step of an export right after a 200,000-event import read every event of the
   * program and sorted them (223 ms a step, 53 s in all) instead of walking the index (0.4 ms).
   * SQLite's planner picks the index without statistics.
   */
  async refreshStatistics(grown: Readonly<Record<string, number>>): Promise<void> {
    if (this.db.kind !== 'postgres') return;
    for (const [table, rows] of Object.entries(grown))
      if (rows >= ANALYZE_FROM_ROWS && /^[a-z_]+$/.test(table)) await this.db.execute(`ANALYZE ${table}`);
  }

  /**
   * SQLite: a 16 MiB page cache for an import's transaction instead of the connection's 64 MiB;
   * returns what restores the setting. A large import fills whatever cache it is given with dirty
   * pages, and that is resident memory: 200,000 events peaked at 396-422 MB with 64 MiB and
   * 333-372 MB with 16 MiB, at the same speed (three runs each, docs/formats/tracker.md).
   * `restoreThrough` is the storage itself, so that the setting is restored after the transaction
   * has ended, whichever way it ended (on SQLite its script runs on the writer connection).
   */
  async limitPageCache(restoreThrough: SqlExecutor): Promise<(() => Promise<void>) | undefined> {
    if (this.db.kind !== 'sqlite') return undefined;
    const before = await this.db.queryOne<{ cache_size: number }>('PRAGMA cache_size');
    await this.db.executeScript(`PRAGMA cache_size = ${IMPORT_PAGE_CACHE_KIB}`);
    return async () => {
      await restoreThrough.executeScript(`PRAGMA cache_size = ${Number(before?.cache_size ?? -2000)}`);
    };
  }

  /** Updates one row by key; `values` maps column to value. */
  async update(table: string, key: string, id: number, values: Record<string, SqlValue>): Promise<void> {
    const columns = Object.keys(values);
    await this.db.execute(
      `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${key} = ?`,
      [...columns.map((c) => values[c]), id],
    );
  }

  /**
   * Updates many rows by key, each with the same columns: one prepared statement in a loop on SQLite
   * (in process, no round trips), and on PostgreSQL `UPDATE ... FROM (VALUES ...)` in multi-row
   * statements, so a re-import of 200,000 events is a few hundred statements, not 200,000 round trips.
   */
  async updateMany(
    table: string,
    key: string,
    columns: readonly string[],
    rows: ReadonlyArray<{ id: number; values: readonly SqlValue[] }>,
  ): Promise<void> {
    if (rows.length === 0) return;
    if (this.db.kind === 'sqlite') {
      await this.db.executeMany(
        `UPDATE ${table} SET ${columns.map((c) => `${c} = ?`).join(', ')} WHERE ${key} = ?`,
        rows.map((r) => [...r.values, r.id]),
      );
      return;
    }
    // VALUES parameters are untyped text in PostgreSQL: each is cast to its column's type.
    const casts = ['?::bigint', ...columns.map((c) => `?::${postgresType(c)}`)];
    await this.db.executeMany(
      `UPDATE ${table} AS t SET ${columns.map((c) => `${c} = v.${c}`).join(', ')}
         FROM (VALUES (${casts.join(', ')})) AS v(${['id', ...columns].join(', ')}) WHERE t.${key} = v.id`,
      rows.map((r) => [r.id, ...r.values]),
    );
  }

  async deleteAttributeValues(trackedEntityId: number, attributeIds: readonly number[]): Promise<void> {
    if (attributeIds.length === 0) return;
    await this.db.execute(
      `DELETE FROM tracked_entity_attribute_value WHERE tracked_entity_id = ? AND attribute_id IN (${placeholders(attributeIds.length)})`,
      [trackedEntityId, ...attributeIds],
    );
  }

  async upsertOwner(
    trackedEntityId: number,
    programId: number,
    orgUnitId: number,
    now: string,
  ): Promise<void> {
    await this.db.execute(
      `INSERT INTO tracked_entity_program_owner (tracked_entity_id, program_id, org_unit_id, created, updated)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (tracked_entity_id, program_id) DO NOTHING`,
      [trackedEntityId, programId, orgUnitId, now, now],
    );
  }

  async noteUids(uids: readonly string[]): Promise<Set<string>> {
    return new Set((await this.byUids('tracker_note', uids)).map((r) => String(r.uid)));
  }
}

/** The PostgreSQL type of a tracker column, by the naming the migration follows. */
function postgresType(column: string): string {
  if (column.endsWith('_id')) return 'bigint';
  if (['deleted', 'inactive', 'potential_duplicate', 'follow_up', 'bidirectional'].includes(column))
    return 'smallint';
  if (column === 'geometry' || column === 'data_values') return 'jsonb';
  return 'text';
}

function toTrackedEntity(r: Record<string, unknown>): StoredTrackedEntity {
  return {
    id: Number(r.tracked_entity_id),
    uid: String(r.uid),
    trackedEntityTypeId: Number(r.tracked_entity_type_id),
    orgUnitId: Number(r.org_unit_id),
    deleted: Number(r.deleted) === 1,
    row: r,
  };
}

function toEnrollment(r: Record<string, unknown>): StoredEnrollment {
  return {
    id: Number(r.enrollment_id),
    uid: String(r.uid),
    trackedEntityId: Number(r.tracked_entity_id),
    programId: Number(r.program_id),
    orgUnitId: Number(r.org_unit_id),
    status: String(r.status),
    deleted: Number(r.deleted) === 1,
    row: r,
  };
}

function toEvent(r: Record<string, unknown>): StoredEvent {
  return {
    id: Number(r.event_id),
    uid: String(r.uid),
    programId: Number(r.program_id),
    programStageId: Number(r.program_stage_id),
    enrollmentId: r.enrollment_id === null || r.enrollment_id === undefined ? null : Number(r.enrollment_id),
    orgUnitId: Number(r.org_unit_id),
    deleted: Number(r.deleted) === 1,
    row: r,
  };
}
