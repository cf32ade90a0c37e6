/**
 * Ferry's one storage interface. Services see only this; the SQLite and PostgreSQL dialects
 * implement the low-level `SqlExecutor`, and the stores on top of it are written once.
 */

export const DATABASE_KINDS = ['sqlite', 'postgres'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

export type SqlValue = string | number | bigint | null | Uint8Array;
export type SqlRow = Record<string, unknown>;

/**
 * A connection (or a transaction on one). SQL is written with `?` placeholders; the PostgreSQL
 * dialect numbers them. Anything dialect-specific is asked of `kind`.
 */
export interface SqlExecutor {
  readonly kind: DatabaseKind;
  query<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  queryOne<T = SqlRow>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  execute(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** Several statements with no parameters (migrations). */
  executeScript(sql: string): Promise<void>;
  /**
   * Streams a result set without holding it: a server-side cursor on PostgreSQL, a statement
   * iterator on SQLite. Rows arrive in batches of up to `batchSize`.
   */
  stream<T = SqlRow>(sql: string, params?: readonly SqlValue[], batchSize?: number): AsyncIterable<T[]>;
  /**
   * SQLite only (absent on PostgreSQL): `stream` with each row as an array of column values in
   * SELECT order. No object per row with a property per column: exports read millions of rows.
   */
  streamArrays?(sql: string, params?: readonly SqlValue[], batchSize?: number): AsyncIterable<unknown[][]>;
  /**
   * SQLite only: `query` with each row as an array, for results small enough to hold (bound them
   * with LIMIT). One call per statement instead of one per row as `streamArrays` makes.
   */
  queryArrays?(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]>;
  /**
   * The same statement run for many parameter rows, as fast as the dialect can: a prepared
   * statement in a loop on SQLite, multi-row statements on PostgreSQL. `sql` inserts one row.
   */
  executeMany(sql: string, rows: readonly (readonly SqlValue[])[]): Promise<void>;
  /**
   * PostgreSQL only (absent on SQLite): `COPY table (columns) FROM STDIN`, the bulk path, several
   * times faster than INSERT for large batches. Rows are plain values; the dialect encodes them.
   * A constraint violation fails the whole statement.
   */
  copyRows?(table: string, columns: readonly string[], rows: Iterable<readonly SqlValue[]>): Promise<void>;
  /**
   * PostgreSQL only, and only outside a transaction: the text of `COPY (<query>) TO STDOUT <options>`
   * in chunks that each end at a line feed, from a connection of its own. COPY takes no bind
   * parameters: `query` must carry its values as literals. Stopping early ends the connection.
   */
  copyOut?(query: string, options?: string): AsyncIterable<Buffer>;
}

/** What `Storage.transaction` hands its callback. Nested transactions are savepoints. */
export interface Transaction extends SqlExecutor {
  readonly inTransaction: true;
}

export interface Storage extends SqlExecutor {
  /** Runs pending migrations; called on start. Returns the versions applied now. */
  migrate(): Promise<number[]>;
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * On SQLite, writers are serialised by an in-process lock; readers outside see committed data.
   */
  transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T>;
  /** A human description with no secrets, e.g. `sqlite:./data/ferry.db`. */
  readonly description: string;
  close(): Promise<void>;
}
