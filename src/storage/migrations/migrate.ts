import type { SqlExecutor, Storage } from '../storage.ts';
import { MIGRATIONS, type Migration } from './migrations.ts';

/**
 * Applies each pending migration in its own transaction and records it, so a crash leaves the
 * schema at a known version. PostgreSQL takes an advisory lock so that two processes starting at
 * once (a server and a worker) don't race.
 */
export async function runMigrations(
  storage: Storage,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  await storage.executeScript(
    `CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)`,
  );
  const applied: number[] = [];
  await storage.transaction(async (tx) => {
    if (tx.kind === 'postgres') await tx.execute('SELECT pg_advisory_xact_lock(4711)');
    const done = new Set(
      (await tx.query<{ version: number | string }>('SELECT version FROM schema_migration')).map((r) =>
        Number(r.version),
      ),
    );
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await applyMigration(tx, migration);
      applied.push(migration.version);
    }
  });
  return applied;
}

async function applyMigration(tx: SqlExecutor, migration: Migration): Promise<void> {
  await tx.executeScript(migration.sql[tx.kind]);
  await tx.execute('INSERT INTO schema_migration (version, name, applied) VALUES (?, ?, ?)', [
    migration.version,
    migration.name,
    new Date().toISOString(),
  ]);
}
