import type { SqlExecutor, SqlValue, Storage } from './storage.ts';

/** A pool row as stored; `sharing` is its JSON text. */
export interface DedupePoolRow {
  poolId: number;
  uid: string;
  name: string;
  description: string;
  retentionDays: number;
  sharing: string;
  created: string;
  lastUpdated: string;
}

export interface DedupeEntryRow {
  entryId: number;
  entityTypeId: number;
  key: string;
  firstSeen: string;
  lastSeen: string;
  jobId: string | null;
}

/** Keys per statement: 4 parameters a row stays far below SQLite's and PostgreSQL's limits. */
const KEYS_PER_STATEMENT = 1_000;

function poolRow(row: Record<string, unknown>): DedupePoolRow {
  return {
    poolId: Number(row.pool_id),
    uid: String(row.uid),
    name: String(row.name),
    description: String(row.description),
    retentionDays: Number(row.retention_days),
    sharing: String(row.sharing),
    created: String(row.created),
    lastUpdated: String(row.last_updated),
  };
}

const POOL_COLUMNS = 'pool_id, uid, name, description, retention_days, sharing, created, last_updated';

/** LIKE pattern for a prefix, with `\` as the escape character (both dialects). */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Keys per statement on PostgreSQL, sent as one array parameter (`unnest`, `= ANY`): one bind
 * value instead of six per row, so the server parses a short statement instead of thousands of
 * placeholders.
 */
const POSTGRES_KEYS_PER_STATEMENT = 10_000;

/** A PostgreSQL array literal of texts: every element quoted, `\\` and `"` escaped. */
function postgresTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

/**
 * Keys per statement on SQLite, sent as one JSON array text read with `json_each`: one bind value
 * instead of six per row, and one statement per batch of an import (2,000 keys) instead of two.
 */
const SQLITE_KEYS_PER_STATEMENT = 5_000;

/**
 * The keys as one JSON array for `json_each`, or undefined when one of them would not come back
 * from SQLite's JSON exactly as sent (a control character JSON escapes as `\u00XX`, NUL among
 * them, or a lone surrogate): those chunks are bound one value per placeholder instead.
 */
function sqliteJsonArray(values: readonly unknown[]): string | undefined {
  const json = JSON.stringify(values);
  return json.includes('\\u') ? undefined : json;
}

/**
 * SQLite: `key IN (...)` conditions covering `keys`: one JSON array for `json_each` when JSON
 * carries them exactly, else placeholders, 1,000 a statement.
 */
function sqliteKeyLists(keys: readonly string[]): Array<{ sql: string; params: SqlValue[] }> {
  const json = sqliteJsonArray(keys);
  if (json !== undefined) return [{ sql: 'key IN (SELECT value FROM json_each(?))', params: [json] }];
  return chunks(keys, KEYS_PER_STATEMENT).map((part) => ({
    sql: `key IN (${part.map(() => '?').join(', ')})`,
    params: part,
  }));
}

/**
 * SQLite, per transaction: whether the last chunk it tracked held only keys the pool had (see
 * `insertKeys`). Weak: it goes with the transaction object.
 */
const heldBefore = new WeakMap<SqlExecutor, boolean>();

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The `dedupe_pool` and `dedupe_entry` tables. Written once for both dialects; every method runs on
 * the executor it was made with, so a caller's transaction covers the checks and inserts of an import.
 */
export class DedupeStore {
  private readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }

  async listPools(): Promise<DedupePoolRow[]> {
    const rows = await this.db.query(`SELECT ${POOL_COLUMNS} FROM dedupe_pool ORDER BY name`);
    return rows.map(poolRow);
  }

  async poolByUid(uid: string): Promise<DedupePoolRow | undefined> {
    const row = await this.db.queryOne(`SELECT ${POOL_COLUMNS} FROM dedupe_pool WHERE uid = ?`, [uid]);
    return row ? poolRow(row) : undefined;
  }

  async poolByName(name: string): Promise<DedupePoolRow | undefined> {
    const row = await this.db.queryOne(`SELECT ${POOL_COLUMNS} FROM dedupe_pool WHERE name = ?`, [name]);
    return row ? poolRow(row) : undefined;
  }

  async insertPool(pool: Omit<DedupePoolRow, 'poolId'>): Promise<void> {
    await this.db.execute(
      `INSERT INTO dedupe_pool (uid, name, description, retention_days, sharing, created, last_updated)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [
        pool.uid,
        pool.name,
        pool.description,
        pool.retentionDays,
        pool.sharing,
        pool.created,
        pool.lastUpdated,
      ],
    );
  }

  async updatePool(pool: DedupePoolRow): Promise<void> {
    await this.db.execute(
      `UPDATE dedupe_pool SET name = ?, description = ?, retention_days = ?, sharing = ?, last_updated = ?
       WHERE pool_id = ?`,
      [pool.name, pool.description, pool.retentionDays, pool.sharing, pool.lastUpdated, pool.poolId],
    );
  }

  /** Deletes the pool with its entries and visits (entries have no foreign key to cascade). */
  async deletePool(poolId: number): Promise<void> {
    await this.db.execute('DELETE FROM dedupe_entry WHERE pool_id = ?', [poolId]);
    await this.db.execute('DELETE FROM dedupe_visit WHERE pool_id = ?', [poolId]);
    await this.db.execute('DELETE FROM dedupe_pool WHERE pool_id = ?', [poolId]);
  }

  async countEntries(poolId: number): Promise<number> {
    const row = await this.db.queryOne<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM dedupe_entry WHERE pool_id = ?',
      [poolId],
    );
    return Number(row?.n ?? 0);
  }

  /**
   * Removes entries last seen before `cutoff` (ISO text); returns how many. Entries point at
   * visits, so the pool's entries are scanned only when one of its visits has passed the cutoff
   * since the last sweep; most imports find none and cost one look-up in dedupe_visit.
   */
  async pruneBefore(poolId: number, cutoff: string): Promise<number> {
    const due = await this.db.queryOne(
      'SELECT visit_id FROM dedupe_visit WHERE pool_id = ? AND seen < ? AND swept = 0 LIMIT 1',
      [poolId, cutoff],
    );
    if (!due) return 0;
    const { changes } = await this.db.execute(
      `DELETE FROM dedupe_entry WHERE pool_id = ?
       AND last_visit IN (SELECT visit_id FROM dedupe_visit WHERE pool_id = ? AND seen < ?)`,
      [poolId, poolId, cutoff],
    );
    // Kept, not deleted: an entry's first sighting may still name one of them.
    await this.db.execute('UPDATE dedupe_visit SET swept = 1 WHERE pool_id = ? AND seen < ? AND swept = 0', [
      poolId,
      cutoff,
    ]);
    return changes;
  }

  /**
   * One page of entries, newest first, by keyset on `entry_id`: `before` is the previous page's
   * last `entryId`. `prefix` keeps keys starting with it; `entityTypeId` one type. No index orders
   * entries by id (each would cost every insert a B-tree write): the pool's range of the primary
   * key is read and the newest `limit` rows kept, then their visits joined.
   */
  async entries(
    poolId: number,
    options: { prefix?: string; entityTypeId?: number; before?: number; limit: number },
  ): Promise<DedupeEntryRow[]> {
    const where = ['pool_id = ?'];
    const params: SqlValue[] = [poolId];
    if (options.before !== undefined) {
      where.push('entry_id < ?');
      params.push(options.before);
    }
    if (options.entityTypeId !== undefined) {
      where.push('entity_type_id = ?');
      params.push(options.entityTypeId);
    }
    if (options.prefix !== undefined && options.prefix !== '') {
      where.push("key LIKE ? ESCAPE '\\'");
      params.push(likePrefix(options.prefix));
    }
    params.push(options.limit);
    const rows = await this.db.query(
      `SELECT e.entry_id, e.entity_type_id, e.key, f.seen AS first_seen, l.seen AS last_seen, l.job_id
       FROM (SELECT entry_id, entity_type_id, key, first_visit, last_visit FROM dedupe_entry
             WHERE ${where.join(' AND ')} ORDER BY entry_id DESC LIMIT ?) AS e
       JOIN dedupe_visit AS f ON f.visit_id = e.first_visit
       JOIN dedupe_visit AS l ON l.visit_id = e.last_visit
       ORDER BY e.entry_id DESC`,
      params,
    );
    return rows.map((row) => ({
      entryId: Number(row.entry_id),
      entityTypeId: Number(row.entity_type_id),
      key: String(row.key),
      firstSeen: String(row.first_seen),
      lastSeen: String(row.last_seen),
      jobId: row.job_id === '' || row.job_id === null ? null : String(row.job_id),
    }));
  }

  /**
   * Every entry as `[key, entityTypeId]`, in batches by keyset on the primary key (type, then
   * key): each batch is a range read of the one index the table has (exports).
   */
  async *streamEntries(poolId: number, batchSize = 5_000): AsyncIterable<Array<[string, number]>> {
    let type = -1;
    let key = '';
    for (;;) {
      const rows = await this.db.query<{ key: string; entity_type_id: number | string }>(
        `SELECT entity_type_id, key FROM dedupe_entry WHERE pool_id = ? AND (entity_type_id, key) > (?, ?)
         ORDER BY entity_type_id, key LIMIT ?`,
        [poolId, type, key, batchSize],
      );
      if (rows.length === 0) return;
      const last = rows[rows.length - 1];
      type = Number(last.entity_type_id);
      key = last.key;
      yield rows.map((row) => [row.key, Number(row.entity_type_id)]);
      if (rows.length < batchSize) return;
    }
  }

  /**
   * The visit id of one import's sightings in the pool: first and last seen of an entry point at
   * one (its time and job), so an entry stores two small integers instead of two times and a job.
   */
  async visit(poolId: number, seen: string, jobId: string | null): Promise<number> {
    const params = [poolId, seen, jobId ?? ''];
    const find = 'SELECT visit_id FROM dedupe_visit WHERE pool_id = ? AND seen = ? AND job_id = ?';
    let row = await this.db.queryOne<{ visit_id: number | string }>(find, params);
    if (!row) {
      await this.db.execute(
        'INSERT INTO dedupe_visit (pool_id, seen, job_id) VALUES (?, ?, ?) ON CONFLICT (pool_id, seen, job_id) DO NOTHING',
        params,
      );
      row = await this.db.queryOne<{ visit_id: number | string }>(find, params);
    }
    return Number(row!.visit_id);
  }

  /** The keys of `keys` the pool holds for the type (FILTER). */
  async existingKeys(poolId: number, entityTypeId: number, keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    if (this.db.kind === 'postgres') {
      for (const chunk of chunks(keys, POSTGRES_KEYS_PER_STATEMENT)) {
        const rows = await this.db.query<{ key: string }>(
          'SELECT key FROM dedupe_entry WHERE pool_id = ? AND entity_type_id = ? AND key = ANY(?::text[])',
          [poolId, entityTypeId, postgresTextArray(chunk)],
        );
        for (const row of rows) found.add(row.key);
      }
      return found;
    }
    for (const chunk of chunks(keys, SQLITE_KEYS_PER_STATEMENT)) {
      const json = sqliteJsonArray(chunk);
      const rows =
        json === undefined
          ? (
              await Promise.all(
                chunks(chunk, KEYS_PER_STATEMENT).map((part) =>
                  this.db.query<{ key: string }>(
                    `SELECT key FROM dedupe_entry WHERE pool_id = ? AND entity_type_id = ? AND key IN (${part.map(() => '?').join(', ')})`,
                    [poolId, entityTypeId, ...part],
                  ),
                ),
              )
            ).flat()
          : await this.db.query<{ key: string }>(
              `SELECT key FROM dedupe_entry WHERE pool_id = ? AND entity_type_id = ?
               AND key IN (SELECT value FROM json_each(?))`,
              [poolId, entityTypeId, json],
            );
      for (const row of rows) found.add(row.key);
    }
    return found;
  }

  /**
   * The check-and-track of distinct keys: inserts those the pool does not hold and returns them;
   * those it holds get their last visit (seen time, job) updated. The primary key decides, never a
   * read followed by a write: on PostgreSQL a key another open transaction inserted makes the
   * insert wait for it, then count as held (or new, if that rolled back).
   */
  async trackKeys(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    now: string,
    jobId: string | null,
  ): Promise<Set<string>> {
    const visit = await this.visit(poolId, now, jobId);
    const added = new Set<string>();
    await this.insertKeys(poolId, entityTypeId, keys, visit, added);
    return added;
  }

  /**
   * A pool CSV import's keys of one type: new keys inserted, held ones get their last visit
   * updated. Keys may repeat (a repeat counts as held). Returns how many keys were new.
   */
  async upsertKeys(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    now: string,
    jobId: string | null,
  ): Promise<number> {
    return this.insertKeys(poolId, entityTypeId, keys, await this.visit(poolId, now, jobId));
  }

  /**
   * Inserts the keys new to the pool (adding them to `added` when given) and moves the last visit
   * of the held ones to `visit`; returns how many were new. One statement a chunk when every key
   * is new (a first import) and two when some are held: the insert's count says which case it is,
   * so the all-new case reads nothing back.
   */
  private async insertKeys(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    visit: number,
    added?: Set<string>,
  ): Promise<number> {
    if (keys.length === 0) return 0;
    let inserted = 0;
    if (this.db.kind === 'postgres') {
      // Sorted across chunks so every import takes the index's locks in one order; one chunk
      // (an import's batch) is ordered by the statement itself.
      const ordered = keys.length > POSTGRES_KEYS_PER_STATEMENT ? [...keys].sort() : keys;
      for (const chunk of chunks(ordered, POSTGRES_KEYS_PER_STATEMENT)) {
        const array = postgresTextArray(chunk);
        let count: number;
        if (added) {
          // One row back, not one a key: the count, and the inserted keys only when some were
          // held (an import's first pass inserts every key, a second none).
          const [result] = await this.db.query<{ n: number | string; keys: string[] | null }>(
            `WITH inserted AS (
               INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_visit, last_visit)
               SELECT ?::bigint, ?::bigint, k, ?::bigint, ?::bigint FROM unnest(?::text[]) AS k ORDER BY k
               ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING RETURNING key)
             SELECT COUNT(*) AS n, CASE WHEN COUNT(*) BETWEEN 1 AND ? - 1 THEN array_agg(key) END AS keys
             FROM inserted`,
            [poolId, entityTypeId, visit, visit, array, chunk.length],
          );
          count = Number(result.n);
          if (count === chunk.length) for (const key of chunk) added.add(key);
          else for (const key of result.keys ?? []) added.add(key);
        } else {
          ({ changes: count } = await this.db.execute(
            `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_visit, last_visit)
             SELECT ?::bigint, ?::bigint, k, ?::bigint, ?::bigint FROM unnest(?::text[]) AS k ORDER BY k
             ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING`,
            [poolId, entityTypeId, visit, visit, array],
          ));
        }
        inserted += count;
        // Rows inserted just now already name this visit, so the update skips them.
        if (count < chunk.length)
          await this.db.execute(
            `UPDATE dedupe_entry SET last_visit = ?
             WHERE pool_id = ? AND entity_type_id = ? AND key = ANY(?::text[]) AND last_visit <> ?`,
            [visit, poolId, entityTypeId, array, visit],
          );
      }
      return inserted;
    }
    if (!('inTransaction' in this.db) && 'transaction' in this.db) {
      // Counted by the connection's total_changes(), which only a transaction keeps to itself.
      const storage = this.db as Storage;
      return storage.transaction((tx) =>
        new DedupeStore(tx).insertKeys(poolId, entityTypeId, keys, visit, added),
      );
    }
    for (const chunk of chunks(keys, SQLITE_KEYS_PER_STATEMENT)) {
      // Ids for the whole chunk, reserved first: a row with an id at or past `base` was inserted
      // by this chunk.
      const base = await this.reserveEntryIds(poolId, chunk.length);
      // After a chunk whose keys the pool held, all of them (a file sent again), the next one
      // likely is too: its held keys are touched first, and when that covers the chunk no insert
      // is tried (each would look the key up only to find it).
      const touchFirst = heldBefore.get(this.db) === true;
      const lists = touchFirst ? sqliteKeyLists(chunk) : undefined;
      if (lists) {
        let touched = 0;
        for (const part of lists) touched += (await this.touch(poolId, entityTypeId, part, visit)).changes;
        if (touched === chunk.length) continue;
      }
      const before = await this.totalChanges();
      // One prepared statement a key, in a loop inside the dialect: on the bench it cost less CPU
      // than one INSERT ... SELECT FROM json_each(?) a chunk (sorted or not), since SQLite runs on
      // this thread and a call is no round trip. total_changes() counts the rows it inserted.
      await this.db.executeMany(
        `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, entry_id, first_visit, last_visit)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING`,
        chunk.map((key, i) => [poolId, entityTypeId, key, base + i, visit, visit]),
      );
      const count = (await this.totalChanges()) - before;
      inserted += count;
      heldBefore.set(this.db, count === 0);
      if (count === chunk.length) {
        if (added) for (const key of chunk) added.add(key);
        continue;
      }
      for (const part of lists ?? sqliteKeyLists(chunk)) {
        if (added && count > 0) {
          const rows = await this.db.query<{ key: string }>(
            `SELECT key FROM dedupe_entry WHERE pool_id = ? AND entity_type_id = ? AND ${part.sql} AND entry_id >= ?`,
            [poolId, entityTypeId, ...part.params, base],
          );
          for (const row of rows) added.add(row.key);
        }
        if (!lists) await this.touch(poolId, entityTypeId, part, visit);
      }
    }
    return inserted;
  }

  /**
   * SQLite: moves the last visit of the listed keys the pool holds to `visit`. Rows that already
   * name it (inserted by this import) are skipped, so `changes` counts held keys seen again.
   */
  private touch(
    poolId: number,
    entityTypeId: number,
    part: { sql: string; params: SqlValue[] },
    visit: number,
  ): Promise<{ changes: number }> {
    return this.db.execute(
      `UPDATE dedupe_entry SET last_visit = ?
       WHERE pool_id = ? AND entity_type_id = ? AND ${part.sql} AND last_visit <> ?`,
      [visit, poolId, entityTypeId, ...part.params, visit],
    );
  }

  /** SQLite: rows changed on this connection since it opened. */
  private async totalChanges(): Promise<number> {
    const row = await this.db.queryOne<{ n: number }>('SELECT total_changes() AS n');
    return Number(row!.n);
  }

  /** SQLite: `count` entry ids of the pool's counter; returns the first. */
  private async reserveEntryIds(poolId: number, count: number): Promise<number> {
    // Two statements, not UPDATE ... RETURNING: outside a transaction `queryOne` runs on the
    // storage's read connection, which must not write.
    await this.db.execute('UPDATE dedupe_pool SET next_entry_id = next_entry_id + ? WHERE pool_id = ?', [
      count,
      poolId,
    ]);
    const row = await this.db.queryOne<{ base: number }>(
      'SELECT next_entry_id - ? AS base FROM dedupe_pool WHERE pool_id = ?',
      [count, poolId],
    );
    return Number(row!.base);
  }

  /** UIDs of metadata objects by their numeric ids (a data value's key in portable form). */
  async uidsOfSids(sids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const chunk of chunks(sids, KEYS_PER_STATEMENT)) {
      const rows = await this.db.query<{ sid: number | string; uid: string }>(
        `SELECT sid, uid FROM metadata_object WHERE sid IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) out.set(Number(row.sid), row.uid);
    }
    return out;
  }

  /** ISO strings of period ids (periods created in the caller's transaction included). */
  async isosOfPeriods(ids: readonly number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    for (const chunk of chunks(ids, KEYS_PER_STATEMENT)) {
      const rows = await this.db.query<{ period_id: number | string; iso: string }>(
        `SELECT period_id, iso FROM period WHERE period_id IN (${chunk.map(() => '?').join(', ')})`,
        chunk,
      );
      for (const row of rows) out.set(Number(row.period_id), row.iso);
    }
    return out;
  }
}
