import type { SqlExecutor, SqlValue } from './storage.ts';

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

  /** Deletes the pool and (by the foreign key's cascade) its entries. */
  async deletePool(poolId: number): Promise<void> {
    await this.db.execute('DELETE FROM dedupe_entry WHERE pool_id = ?', [poolId]);
    await this.db.execute('DELETE FROM dedupe_pool WHERE pool_id = ?', [poolId]);
  }

  async countEntries(poolId: number): Promise<number> {
    const row = await this.db.queryOne<{ n: number | string }>(
      'SELECT COUNT(*) AS n FROM dedupe_entry WHERE pool_id = ?',
      [poolId],
    );
    return Number(row?.n ?? 0);
  }

  /** Removes entries last seen before `cutoff` (ISO text); returns how many. */
  async pruneBefore(poolId: number, cutoff: string): Promise<number> {
    const { changes } = await this.db.execute(
      'DELETE FROM dedupe_entry WHERE pool_id = ? AND last_seen < ?',
      [poolId, cutoff],
    );
    return changes;
  }

  /**
   * One page of entries, newest first, by keyset on `entry_id`: `before` is the previous page's
   * last `entryId`. `prefix` keeps keys starting with it; `entityTypeId` one type.
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
      `SELECT entry_id, entity_type_id, key, first_seen, last_seen, job_id FROM dedupe_entry
       WHERE ${where.join(' AND ')} ORDER BY entry_id DESC LIMIT ?`,
      params,
    );
    return rows.map((row) => ({
      entryId: Number(row.entry_id),
      entityTypeId: Number(row.entity_type_id),
      key: String(row.key),
      firstSeen: String(row.first_seen),
      lastSeen: String(row.last_seen),
      jobId: (row.job_id as string | null) ?? null,
    }));
  }

  /** Every entry as `[key, entityTypeId]`, oldest first, in batches by keyset (exports). */
  async *streamEntries(poolId: number, batchSize = 5_000): AsyncIterable<Array<[string, number]>> {
    let after = 0;
    for (;;) {
      const rows = await this.db.query<{
        entry_id: number | string;
        key: string;
        entity_type_id: number | string;
      }>(
        `SELECT entry_id, key, entity_type_id FROM dedupe_entry WHERE pool_id = ? AND entry_id > ?
         ORDER BY entry_id LIMIT ?`,
        [poolId, after, batchSize],
      );
      if (rows.length === 0) return;
      after = Number(rows[rows.length - 1].entry_id);
      yield rows.map((row) => [row.key, Number(row.entity_type_id)]);
      if (rows.length < batchSize) return;
    }
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
   * Inserts the keys the pool does not hold and returns exactly those: INSERT ... ON CONFLICT DO
   * NOTHING RETURNING. On PostgreSQL a key another transaction inserted and has not committed makes
   * this statement wait for it, then count as held (or as new if it rolled back): so two imports
   * never both get one key back. Keys must be distinct; they are inserted in sorted order so that
   * concurrent imports take the index's locks in one order.
   */
  async insertNewKeys(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    now: string,
    jobId: string | null,
  ): Promise<Set<string>> {
    const inserted = new Set<string>();
    const sorted = [...keys].sort();
    if (this.db.kind === 'postgres') {
      for (const chunk of chunks(sorted, POSTGRES_KEYS_PER_STATEMENT)) {
        // ORDER BY: rows go in the server's key order, the same in every import (lock order).
        const rows = await this.db.query<{ key: string }>(
          `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
           SELECT ?::bigint, ?::bigint, k, ?::text, ?::text, ?::text FROM unnest(?::text[]) AS k ORDER BY k
           ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING RETURNING key`,
          [poolId, entityTypeId, now, now, jobId, postgresTextArray(chunk)],
        );
        for (const row of rows) inserted.add(row.key);
      }
      return inserted;
    }
    for (const chunk of chunks(sorted, SQLITE_KEYS_PER_STATEMENT)) {
      const json = sqliteJsonArray(chunk);
      if (json === undefined) {
        for (const part of chunks(chunk, KEYS_PER_STATEMENT)) {
          const params: SqlValue[] = [];
          for (const key of part) params.push(poolId, entityTypeId, key, now, now, jobId);
          const rows = await this.db.query<{ key: string }>(
            `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
             VALUES ${part.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}
             ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING RETURNING key`,
            params,
          );
          for (const row of rows) inserted.add(row.key);
        }
        continue;
      }
      // `WHERE true`: SQLite's parser needs it between a SELECT's FROM and ON CONFLICT.
      const rows = await this.db.query<{ key: string }>(
        `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
         SELECT ?, ?, value, ?, ?, ? FROM json_each(?) WHERE true
         ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING RETURNING key`,
        [poolId, entityTypeId, now, now, jobId, json],
      );
      for (const row of rows) inserted.add(row.key);
    }
    return inserted;
  }

  /**
   * The check-and-track of distinct keys: inserts those the pool does not hold and returns them;
   * those it holds get last seen and job updated.
   */
  async trackKeys(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    now: string,
    jobId: string | null,
  ): Promise<Set<string>> {
    if (this.db.kind === 'sqlite') {
      // One prepared statement a key, its `changes` telling new (1) from held (0), then one UPDATE
      // of the held keys. Cheaper in the database than one INSERT ... SELECT FROM json_each ...
      // DO UPDATE ... RETURNING a chunk (1,000,000 new keys: about 6.5 s of CPU against 9.3 on the
      // bench; held keys cost the same), since SQLite runs on this thread and a call costs no
      // round trip. Atomic per key; SQLite has one writer, so no lock order to keep.
      const added = new Set<string>();
      const held: string[] = [];
      for (const key of keys) {
        const { changes } = await this.db.execute(
          `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING`,
          [poolId, entityTypeId, key, now, now, jobId],
        );
        if (changes > 0) added.add(key);
        else held.push(key);
      }
      if (held.length > 0) await this.touchKeys(poolId, entityTypeId, held, now, jobId);
      return added;
    }
    return this.insertAndTouch(poolId, entityTypeId, keys, now, jobId);
  }

  /**
   * `trackKeys` in two statements a chunk: INSERT ... ON CONFLICT DO NOTHING RETURNING (the keys
   * new to the pool), then UPDATE of the others. On PostgreSQL the insert waits for a key another
   * open transaction inserted and counts it as held once that commits.
   */
  private async insertAndTouch(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    now: string,
    jobId: string | null,
  ): Promise<Set<string>> {
    const added = await this.insertNewKeys(poolId, entityTypeId, keys, now, jobId);
    const seenAgain = keys.filter((key) => !added.has(key));
    if (seenAgain.length > 0) await this.touchKeys(poolId, entityTypeId, seenAgain, now, jobId);
    return added;
  }

  /** Sets last seen and job of keys the pool holds (seen again); keys it does not hold are skipped. */
  async touchKeys(
    poolId: number,
    entityTypeId: number,
    keys: readonly string[],
    now: string,
    jobId: string | null,
  ): Promise<void> {
    const sorted = [...keys].sort();
    if (this.db.kind === 'postgres') {
      for (const chunk of chunks(sorted, POSTGRES_KEYS_PER_STATEMENT)) {
        await this.db.execute(
          `UPDATE dedupe_entry SET last_seen = ?, job_id = ?
           WHERE pool_id = ? AND entity_type_id = ? AND key = ANY(?::text[])`,
          [now, jobId, poolId, entityTypeId, postgresTextArray(chunk)],
        );
      }
      return;
    }
    for (const chunk of chunks(sorted, SQLITE_KEYS_PER_STATEMENT)) {
      const json = sqliteJsonArray(chunk);
      if (json !== undefined) {
        await this.db.execute(
          `UPDATE dedupe_entry SET last_seen = ?, job_id = ?
           WHERE pool_id = ? AND entity_type_id = ? AND key IN (SELECT value FROM json_each(?))`,
          [now, jobId, poolId, entityTypeId, json],
        );
        continue;
      }
      for (const part of chunks(chunk, KEYS_PER_STATEMENT))
        await this.db.execute(
          `UPDATE dedupe_entry SET last_seen = ?, job_id = ?
           WHERE pool_id = ? AND entity_type_id = ? AND key IN (${part.map(() => '?').join(', ')})`,
          [now, jobId, poolId, entityTypeId, ...part],
        );
    }
  }

  /**
   * A pool CSV import's batch: new (type, key) pairs inserted, those held get last seen and job
   * updated, in one statement per chunk. Pairs must be distinct within the call.
   */
  async upsertEntries(
    poolId: number,
    entries: ReadonlyArray<readonly [string, number]>,
    now: string,
    jobId: string | null,
  ): Promise<void> {
    if (this.db.kind === 'postgres') {
      // Insert what is new (DO NOTHING costs the server about a third less than DO UPDATE), then
      // update the last seen of the pairs the pool held, if any.
      for (const chunk of chunks(entries, POSTGRES_KEYS_PER_STATEMENT)) {
        const inserted = await this.db.query<{ key: string; entity_type_id: number }>(
          `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
           SELECT ?::bigint, t, k, ?::text, ?::text, ?::text FROM unnest(?::text[], ?::bigint[]) AS u (k, t) ORDER BY k, t
           ON CONFLICT (pool_id, entity_type_id, key) DO NOTHING RETURNING key, entity_type_id`,
          [
            poolId,
            now,
            now,
            jobId,
            postgresTextArray(chunk.map(([key]) => key)),
            `{${chunk.map(([, type]) => type).join(',')}}`,
          ],
        );
        if (inserted.length === chunk.length) continue;
        const added = new Set(inserted.map((row) => `${row.entity_type_id}\u0000${row.key}`));
        const held = chunk.filter(([key, type]) => !added.has(`${type}\u0000${key}`));
        await this.db.execute(
          // Rows locked in key order (FOR UPDATE above the sort), as the sorted insert takes them.
          `UPDATE dedupe_entry SET last_seen = ?, job_id = ? WHERE entry_id IN (
             SELECT d.entry_id FROM dedupe_entry AS d JOIN unnest(?::text[], ?::bigint[]) AS u (k, t)
               ON d.pool_id = ? AND d.entity_type_id = u.t AND d.key = u.k
             ORDER BY d.key, d.entity_type_id FOR UPDATE OF d)`,
          [
            now,
            jobId,
            postgresTextArray(held.map(([key]) => key)),
            `{${held.map(([, type]) => type).join(',')}}`,
            poolId,
          ],
        );
      }
      return;
    }
    for (const chunk of chunks(entries, SQLITE_KEYS_PER_STATEMENT)) {
      const json = sqliteJsonArray(chunk);
      if (json !== undefined) {
        // Each element is [key, type].
        await this.db.execute(
          `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
           SELECT ?, value ->> 1, value ->> 0, ?, ?, ? FROM json_each(?) WHERE true
           ON CONFLICT (pool_id, entity_type_id, key) DO UPDATE SET last_seen = excluded.last_seen, job_id = excluded.job_id`,
          [poolId, now, now, jobId, json],
        );
        continue;
      }
      for (const part of chunks(chunk, KEYS_PER_STATEMENT)) await this.upsertBound(poolId, part, now, jobId);
    }
  }

  private async upsertBound(
    poolId: number,
    chunk: ReadonlyArray<readonly [string, number]>,
    now: string,
    jobId: string | null,
  ): Promise<void> {
    const params: SqlValue[] = [];
    for (const [key, type] of chunk) params.push(poolId, type, key, now, now, jobId);
    await this.db.execute(
      `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, first_seen, last_seen, job_id)
       VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?)').join(', ')}
       ON CONFLICT (pool_id, entity_type_id, key) DO UPDATE SET last_seen = excluded.last_seen, job_id = excluded.job_id`,
      params,
    );
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
