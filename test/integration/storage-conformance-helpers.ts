import type { SqlExecutor } from '../../src/storage/storage.ts';

/**
 * Helpers for the storage conformance suite: a scratch table with one column per SqlValue type
 * (the only DDL that differs by dialect) and a timeout that turns a hang (a leaked pool
 * connection, a deadlock) into a failure.
 */
export async function createSampleTable(db: SqlExecutor): Promise<void> {
  const postgres = db.kind === 'postgres';
  await db.executeScript(`
    CREATE TABLE sample (
      id ${postgres ? 'BIGINT' : 'INTEGER'} PRIMARY KEY,
      label TEXT,
      amount ${postgres ? 'DOUBLE PRECISION' : 'REAL'},
      big ${postgres ? 'BIGINT' : 'INTEGER'},
      payload ${postgres ? 'BYTEA' : 'BLOB'}
    );
    CREATE TABLE counter (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
    INSERT INTO counter (name, n) VALUES ('hits', 0);
  `);
}

export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise with its resolve function, for making two transactions take turns. */
export function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
