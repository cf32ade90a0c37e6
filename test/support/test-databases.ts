import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Storage } from '../../src/storage/storage.ts';
import { createSqliteStorage } from '../../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { createPostgresStorage } from '../../src/storage/dialects/postgres/postgres-dialect.ts';

/**
 * Real databases for tests, never mocks. SQLite always runs (a temporary file). PostgreSQL runs when
 * FERRY_TEST_POSTGRES_URL names a server (.ci/run sets it); each test gets a schema of its own that
 * is dropped afterwards, so test files can run in parallel against one database.
 */
export const POSTGRES_TEST_URL = process.env.FERRY_TEST_POSTGRES_URL;
export const POSTGRES_SKIP_REASON = POSTGRES_TEST_URL
  ? false
  : 'PostgreSQL tests are off: set FERRY_TEST_POSTGRES_URL (as .ci/run does) to run them';

export interface TestDatabase {
  kind: 'sqlite' | 'postgres';
  storage: Storage;
  /** For tests that start a second process on the same database. */
  databaseUrl?: string;
  dataDir: string;
  dispose(): Promise<void>;
}

export const TEST_DATABASE_KINDS = ['sqlite', 'postgres'] as const;

export function skipReasonFor(kind: 'sqlite' | 'postgres'): string | false {
  return kind === 'postgres' ? POSTGRES_SKIP_REASON : false;
}

/** A fresh, migrated database of the given kind. */
export async function createTestDatabase(kind: 'sqlite' | 'postgres'): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-test-'));
  if (kind === 'sqlite') {
    const storage = await createSqliteStorage(join(dataDir, 'ferry.db'));
    await storage.migrate();
    return {
      kind,
      storage,
      dataDir,
      async dispose() {
        await storage.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  if (!POSTGRES_TEST_URL) throw new Error(String(POSTGRES_SKIP_REASON));
  const schema = `ferry_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = new URL(POSTGRES_TEST_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const databaseUrl = url.toString();
  const storage = await createPostgresStorage(databaseUrl, 4);
  await storage.migrate();
  return {
    kind,
    storage,
    databaseUrl,
    dataDir,
    async dispose() {
      await storage.close();
      const cleanup = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA ${schema} CASCADE`);
      await cleanup.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
