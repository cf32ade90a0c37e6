import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { SqlExecutor, SqlRow, SqlValue, Storage, Transaction } from '../../storage.ts';
import { runMigrations } from '../../migrations/migrate.ts';

/** COPY data is sent in writes of about this many characters (one per row would be slow). */
const COPY_CHUNK_CHARS = 256 * 1024;

/** One row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes. */
function copyLine(row: readonly SqlValue[]): string {
  let line = '';
  for (let i = 0; i < row.length; i++) {
    const value = row[i];
    if (i > 0) line += '\t';
    if (value === null) line += '\\N';
    else if (typeof value === 'string') line += COPY_SPECIAL.test(value) ? escapeCopy(value) : value;
    else if (typeof value === 'number' || typeof value === 'bigint') line += String(value);
    else line += `\\\\x${Buffer.from(value).toString('hex')}`;
  }
  return line + '\n';
}

const COPY_SPECIAL = /[\\\n\r\t]/;

function escapeCopy(value: string): string {
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

/** PostgreSQL's limit on bind parameters in one statement. */
const MAX_BIND_PARAMETERS = 65_535;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * PostgreSQL through `pg`, used when DATABASE_URL is set. BIGINT columns come back as numbers:
 * Ferry's surrogate ids and counts stay far below 2^53.
 */
export async function createPostgresStorage(connectionString: string, poolSize = 10): Promise<Storage> {
  const pool = new pg.Pool({
    connectionString: withoutJit(connectionString),
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client's error (server restart) must not crash the process; the pool drops the client.
  pool.on('error', () => {});
  // A checked-out client has no pool listener: a terminated backend or a socket error (EPIPE under
  // a COPY) would be an unhandled 'error' event that ends the process. Every client gets a listener
  // for its whole life that marks it broken; the query or COPY in flight fails on its own, and
  // `release` hands a broken client back with its error, so the pool discards it.
  pool.on('connect', (client) => {
    client.on('error', (error: Error) => {
      if (!brokenClients.has(client)) brokenClients.set(client, error);
    });
  });
  const storage = new PostgresStorage(pool, connectionString);
  await storage.query('SELECT 1');
  return storage;
}

/**
 * The connection string with `-c jit=off` added to its startup options. Ferry's statements are
 * short index scans whose long id lists push the cost estimate past jit_above_cost: a district's
 * two-year export from 50,400,000 values spent 822 ms compiling and about 1,100 ms running
 * (bench/national-scale-bench.ts, docs/performance-postgres.md). A string that is not a URL is
 * left as it is.
 */
export function withoutJit(connectionString: string): string {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return connectionString;
  }
  const options = url.searchParams.get('options');
  url.searchParams.set('options', `${options ? `${options} ` : ''}-c jit=off`);
  return url.toString();
}

/**
 * Rewrites `?` placeholders as `$1, $2, ...` (from `$first`), leaving quoted strings and identifiers
 * alone.
 */
export function numberPlaceholders(sql: string, first = 1): string {
  let out = '';
  let n = first - 1;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      out += c;
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
      out += c;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}

/**
 * Splits `INSERT ... VALUES (<tuple>) <tail>` at the tuple, finding its closing parenthesis past
 * nested calls and quoted text, so that `VALUES (?, COALESCE(?, 'x'), 0)` repeats whole.
 */
export function splitValuesTuple(sql: string): { head: string; tuple: string; tail: string } | undefined {
  const match = /\bVALUES\s*\(/i.exec(sql);
  if (!match) return undefined;
  const open = match.index + match[0].length - 1;
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '(') {
      depth++;
    } else if (c === ')' && --depth === 0) {
      return { head: sql.slice(0, match.index), tuple: sql.slice(open, i + 1), tail: sql.slice(i + 1) };
    }
  }
  return undefined;
}

/** How many `?` placeholders, outside quoted strings and identifiers. */
function countPlaceholders(sql: string): number {
  let count = 0;
  let quote: string | null = null;
  for (const c of sql) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '?') {
      count++;
    }
  }
  return count;
}

type Queryable = pg.Pool | pg.PoolClient;

/** Clients whose connection failed (terminated backend, server restart, socket error). */
const brokenClients = new WeakMap<pg.ClientBase, Error>();

/**
 * Returns a checked-out client to the pool; with `error` (the failure of its last use, say a
 * ROLLBACK that could not run) or when its connection broke, the pool ends it instead of handing a
 * dead connection to the next caller.
 */
function releaseClient(client: pg.PoolClient, error?: unknown): void {
  const broken = brokenClients.get(client) ?? (error === undefined ? undefined : asError(error));
  client.release(broken ?? false);
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

class PostgresExecutor implements SqlExecutor {
  readonly kind = 'postgres' as const;
  protected readonly client: Queryable;
  private readonly translated = new Map<string, string>();

  constructor(client: Queryable) {
    this.client = client;
  }

  protected sql(text: string): string {
    let numbered = this.translated.get(text);
    if (numbered === undefined) {
      numbered = numberPlaceholders(text);
      if (this.translated.size > 1000) this.translated.clear();
      this.translated.set(text, numbered);
    }
    return numbered;
  }

  async query<T = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.client.query(this.sql(sql), params as unknown[]);
    return result.rows as T[];
  }

  async queryOne<T = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return (await this.query<T>(sql, params))[0];
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    const result = await this.client.query(this.sql(sql), params as unknown[]);
    return { changes: result.rowCount ?? 0 };
  }

  async executeScript(sql: string): Promise<void> {
    await this.client.query(sql);
  }

  async *stream<T = SqlRow>(
    sql: string,
    params: readonly SqlValue[] = [],
    batchSize = 1000,
  ): AsyncIterable<T[]> {
    yield* streamWithCursor<T>(this.client, this.sql(sql), params, batchSize, this instanceof PostgresTx);
  }

  async copyRows(
    table: string,
    columns: readonly string[],
    rows: Iterable<readonly SqlValue[]>,
  ): Promise<void> {
    const owned = 'release' in this.client ? undefined : await (this.client as pg.Pool).connect();
    const connection = owned ?? (this.client as pg.PoolClient);
    let failure: unknown;
    try {
      const copy = connection.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
      // `finished` listens for the stream's 'error' from the start, so a connection lost mid-COPY
      // rejects here instead of being an unhandled event; a stream destroyed while we wait for
      // 'drain' ends the wait through the same promise.
      const done = finished(copy);
      done.catch(() => {});
      let text = '';
      for (const row of rows) {
        text += copyLine(row);
        if (text.length >= COPY_CHUNK_CHARS) {
          if (copy.destroyed) break;
          if (!copy.write(text)) await Promise.race([once(copy, 'drain'), done]);
          text = '';
        }
      }
      if (!copy.destroyed) copy.end(text);
      await done;
      const broken = brokenClients.get(connection);
      if (broken) throw broken;
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      if (owned) releaseClient(owned, failure);
    }
  }

  async executeMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<void> {
    if (rows.length === 0) return;
    const parts = splitValuesTuple(sql);
    if (!parts) throw new Error('executeMany needs an INSERT ... VALUES (?, ...) statement');
    const { head, tuple, tail } = parts;
    const width = countPlaceholders(tuple);
    if (countPlaceholders(head) + countPlaceholders(tail) > 0) {
      throw new Error('executeMany takes placeholders only inside the VALUES tuple');
    }
    const perStatement = Math.max(1, Math.min(1000, Math.floor(MAX_BIND_PARAMETERS / Math.max(1, width))));
    for (let start = 0; start < rows.length; start += perStatement) {
      const chunk = rows.slice(start, start + perStatement);
      const params: SqlValue[] = [];
      const tuples: string[] = [];
      for (const row of chunk) {
        if (row.length !== width) {
          throw new Error(`executeMany: a row has ${row.length} values for ${width} placeholders`);
        }
        tuples.push(numberPlaceholders(tuple, params.length + 1));
        params.push(...row);
      }
      await this.client.query(`${head}VALUES ${tuples.join(', ')}${tail}`, params as unknown[]);
    }
  }
}

async function* streamWithCursor<T>(
  client: Queryable,
  sql: string,
  params: readonly SqlValue[],
  batchSize: number,
  inTransaction: boolean,
): AsyncIterable<T[]> {
  const owned = 'release' in client ? undefined : await (client as pg.Pool).connect();
  const connection = owned ?? (client as pg.PoolClient);
  const cursor = `ferry_cursor_${Math.random().toString(36).slice(2)}`;
  let ok = false;
  let rollbackFailure: unknown;
  try {
    if (!inTransaction) await connection.query('BEGIN READ ONLY');
    await connection.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`, params as unknown[]);
    for (;;) {
      const result = await connection.query(`FETCH ${batchSize} FROM ${cursor}`);
      if (result.rows.length === 0) break;
      yield result.rows as T[];
      if (result.rows.length < batchSize) break;
    }
    await connection.query(`CLOSE ${cursor}`);
    if (!inTransaction) await connection.query('COMMIT');
    ok = true;
  } finally {
    if (!ok && !inTransaction) {
      await connection.query('ROLLBACK').catch((error: unknown) => (rollbackFailure = error));
    }
    if (owned) releaseClient(owned, rollbackFailure);
  }
}

class PostgresTx extends PostgresExecutor implements Transaction {
  readonly inTransaction = true as const;
}

class PostgresStorage extends PostgresExecutor implements Storage {
  readonly description: string;
  private readonly pool: pg.Pool;

  constructor(pool: pg.Pool, connectionString: string) {
    super(pool);
    this.pool = pool;
    this.description = `postgres:${redactPassword(connectionString)}`;
  }

  migrate(): Promise<number[]> {
    return runMigrations(this);
  }

  async *copyOut(query: string, options = ''): AsyncIterable<Buffer> {
    const client = await this.pool.connect();
    let failure: unknown;
    let completed = false;
    let rest: Buffer | undefined;
    try {
      const copy = client.query(copyTo(`COPY (${query}) TO STDOUT ${options}`));
      for await (const chunk of copy as AsyncIterable<Buffer>) {
        // A line can be split across network reads: hand on whole lines only.
        const data = rest ? Buffer.concat([rest, chunk]) : chunk;
        const end = data.lastIndexOf(10) + 1;
        rest = end < data.length ? data.subarray(end) : undefined;
        if (end > 0) yield data.subarray(0, end);
      }
      if (rest) yield rest;
      const broken = brokenClients.get(client);
      if (broken) throw broken;
      completed = true;
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      // Stopped before the end (the consumer returned early): the connection is still in COPY
      // mode, so it is ended rather than handed to the next caller.
      releaseClient(client, failure ?? (completed ? undefined : new Error('COPY not read to the end')));
    }
  }

  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // Set when the client cannot be trusted for the next caller: its ROLLBACK failed.
    let unusable: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(new PostgresTx(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => (unusable = rollbackError));
      throw error;
    } finally {
      releaseClient(client, unusable);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function redactPassword(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return 'postgres';
  }
}
