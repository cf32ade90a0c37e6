import { join } from 'node:path';
import type { Storage } from './storage.ts';

export interface StorageOptions {
  /** A PostgreSQL URL; when absent, SQLite under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
}

/** Opens the configured database and brings its schema up to date. */
export async function openStorage(options: StorageOptions): Promise<Storage> {
  const storage = options.databaseUrl
    ? await (
        await import('./dialects/postgres/postgres-dialect.ts')
      ).createPostgresStorage(options.databaseUrl)
    : await (
        await import('./dialects/sqlite/sqlite-dialect.ts')
      ).createSqliteStorage(join(options.dataDir, 'ferry.db'));
  await storage.migrate();
  return storage;
}
