import { DatabaseSync, type StatementSync, type SQLInputValue } from 'node:sqlite';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SqlExecutor, SqlRow, SqlValue, Storage, Transaction } from '../../storage.ts';
import { AsyncLock } from '../../async-lock.ts';
import { runMigrations } from '../../migrations/migrate.ts';

/**
 * SQLite through `node:sqlite`, the embedded default. Two connections to one WAL file: a writer,
 * used by one transaction at a time (an in-process lock serialises them), and a reader, so that
 * requests outside a transaction see only committed data and never wait for a long import.
 * `:memory:` has no file to share, so there both roles use one connection.
 */
export async function createSqliteStorage(path: string): Promise<Storage> {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const writer = openConnection(path);
  const reader = path === ':memory:' ? writer : openConnection(path);
  const storage = new SqliteStorage(path, writer, reader);
  return storage;
}

function openConnection(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true, timeout: 10_000 });
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA temp_store = MEMORY;
    PRAGMA cache_size = -65536;
  `);
  return db;
}

class SqliteConnection implements SqlExecutor {
  readonly kind = 'sqlite' as const;
  private readonly statements = new Map<string, StatementSync>();
  private readonly arrayStatements = new Map<string, StatementSync>();
  readonly db: DatabaseSync;

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  prepared(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async query<T = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.prepared(sql).all(...toInputs(params)) as T[];
  }

  async queryOne<T = SqlRow>(sql: string, params: readonly SqlValue[] = []): Promise<T | undefined> {
    return this.prepared(sql).get(...toInputs(params)) as T | undefined;
  }

  async execute(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    const result = this.prepared(sql).run(...toInputs(params));
    return { changes: Number(result.changes) };
  }

  async executeScript(sql: string): Promise<void> {
    this.db.exec(sql);
  }

  async *stream<T = SqlRow>(
    sql: string,
    params: readonly SqlValue[] = [],
    batchSize = 1000,
  ): AsyncIterable<T[]> {
    // A statement of its own: an iterator left open across awaits must not share a cached one.
    const statement = this.db.prepare(sql);
    let batch: T[] = [];
    for (const row of statement.iterate(...toInputs(params))) {
      batch.push(row as T);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async *streamArrays(
    sql: string,
    params: readonly SqlValue[] = [],
    batchSize = 1000,
  ): AsyncIterable<unknown[][]> {
    const statement = this.db.prepare(sql);
    statement.setReturnArrays(true);
    let batch: unknown[][] = [];
    for (const row of statement.iterate(...toInputs(params))) {
      batch.push(row as unknown as unknown[]);
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  async queryArrays(sql: string, params: readonly SqlValue[] = []): Promise<unknown[][]> {
    // A statement of its own: a cached one may be shared with callers that read objects.
    let statement = this.arrayStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      statement.setReturnArrays(true);
      if (this.arrayStatements.size > 100) this.arrayStatements.clear();
      this.arrayStatements.set(sql, statement);
    }
    return statement.all(...toInputs(params)) as unknown as unknown[][];
  }

  async executeMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<void> {
    const statement = this.prepared(sql);
    for (const row of rows) statement.run(...toInputs(row));
  }
}

class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  readonly description: string;
  private readonly lock = new AsyncLock();
  private readonly writer: SqliteConnection;
  private readonly reader: SqliteConnection;
  private closed = false;

  constructor(path: string, writer: DatabaseSync, reader: DatabaseSync) {
    this.description = `sqlite:${path}`;
    this.writer = new SqliteConnection(writer);
    this.reader = writer === reader ? this.writer : new SqliteConnection(reader);
  }

  migrate(): Promise<number[]> {
    return runMigrations(this);
  }

  query<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]> {
    return this.reader.query<T>(sql, params);
  }

  queryOne<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined> {
    return this.reader.queryOne<T>(sql, params);
  }

  stream<T = SqlRow>(sql: string, params?: readonly SqlValue[], batchSize?: number): AsyncIterable<T[]> {
    return this.reader.stream<T>(sql, params, batchSize);
  }

  streamArrays(sql: string, params?: readonly SqlValue[], batchSize?: number): AsyncIterable<unknown[][]> {
    return this.reader.streamArrays(sql, params, batchSize);
  }

  queryArrays(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]> {
    return this.reader.queryArrays(sql, params);
  }

  execute(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }> {
    return this.lock.run(() => this.writer.execute(sql, params));
  }

  executeScript(sql: string): Promise<void> {
    return this.lock.run(() => this.writer.executeScript(sql));
  }

  executeMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<void> {
    return this.transaction((tx) => tx.executeMany(sql, rows));
  }

  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    return this.lock.run(async () => {
      const connection = this.writer;
      connection.db.exec('BEGIN IMMEDIATE');
      const tx = Object.assign(Object.create(connection) as SqliteConnection, {
        inTransaction: true as const,
      });
      try {
        const result = await work(tx);
        connection.db.exec('COMMIT');
        return result;
      } catch (error) {
        if (connection.db.isTransaction) connection.db.exec('ROLLBACK');
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lock.run(async () => {
      if (this.reader !== this.writer) this.reader.db.close();
      // The connection is closing, so its page cache is of no further use; without shrinking it,
      // the ANALYZE that optimize may run after a large import fills all 64 MiB of it (a 5M-value
      // import's process peaked 30 MB higher at close than during the import).
      this.writer.db.exec('PRAGMA cache_size = -2000; PRAGMA optimize');
      this.writer.db.close();
    });
  }
}

function toInputs(params: readonly SqlValue[]): SQLInputValue[] {
  return params as SQLInputValue[];
}
