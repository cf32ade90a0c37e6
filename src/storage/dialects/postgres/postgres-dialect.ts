import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
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
    connectionString,
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
  const storage = new PostgresStorage(pool, connectionString);
  await storage.query('SELECT 1');
  return storage;
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
    const connection = 'release' in this.client ? this.client : await (this.client as pg.Pool).connect();
    try {
      const copy = connection.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`));
      const done = finished(copy);
      let text = '';
      for (const row of rows) {
        text += copyLine(row);
        if (text.length >= COPY_CHUNK_CHARS) {
          if (!copy.write(text)) await once(copy, 'drain');
          text = '';
        }
      }
      copy.end(text);
      await done;
    } finally {
      if (connection !== this.client) (connection as pg.PoolClient).release();
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
  const connection = 'release' in client ? client : await (client as pg.Pool).connect();
  const ownsConnection = connection !== client;
  const cursor = `ferry_cursor_${Math.random().toString(36).slice(2)}`;
  let ok = false;
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
    if (!ok && !inTransaction) await connection.query('ROLLBACK').catch(() => {});
    if (ownsConnection) (connection as pg.PoolClient).release();
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

  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(new PostgresTx(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
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
