import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DedupeStore } from '../../src/storage/dedupe-store.ts';
import { runMigrations } from '../../src/storage/migrations/migrate.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';

/*
 * Migration 170 (the narrow entry table) carries a pool's existing entries over: their keys, ids,
 * first and last seen times and job. The database is put back to the shape before 170 (the entry
 * table of migration 40, no visits) and filled as the old code did, then migrated again.
 * On SQLite and PostgreSQL (registered only when a PostgreSQL URL is set).
 */

const RUNNABLE = TEST_DATABASE_KINDS.filter((kind) => !skipReasonFor(kind));

for (const kind of RUNNABLE) {
  describe(`dedupe migration 170 (${kind})`, () => {
    let db: TestDatabase;

    before(async () => {
      db = await createTestDatabase(kind);
    });
    after(() => db.dispose());

    it('keeps every entry with its id, times and job, and the pool keeps tracking after it', async () => {
      const pg = kind === 'postgres';
      const storage = db.storage;
      await storage.executeScript(`DROP TABLE dedupe_entry; DROP TABLE dedupe_visit;
        ${pg ? '' : 'ALTER TABLE dedupe_pool DROP COLUMN next_entry_id;'}
        DELETE FROM schema_migration WHERE version = 170;
        CREATE TABLE dedupe_entry (
          entry_id ${pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY'},
          pool_id ${pg ? 'BIGINT' : 'INTEGER'} NOT NULL REFERENCES dedupe_pool (pool_id) ON DELETE CASCADE,
          entity_type_id ${pg ? 'BIGINT' : 'INTEGER'} NOT NULL,
          key TEXT NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, job_id TEXT);
        CREATE UNIQUE INDEX dedupe_entry_key ON dedupe_entry (pool_id, entity_type_id, key);`);
      await storage.execute(
        `INSERT INTO dedupe_pool (uid, name, description, retention_days, sharing, created, last_updated)
         VALUES ('migrPool001', 'Old pool', '', 90, '{}', '2026-01-01', '2026-01-01')`,
      );
      const poolId = (await new DedupeStore(storage).poolByUid('migrPool001'))!.poolId;
      const old: Array<[number, number, string, string, string, string | null]> = [
        [3, 1, 'a', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 'job1'],
        [7, 1, 'b', '2026-01-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', null],
        [9, 3, 'a', '2026-03-01T00:00:00.000Z', '2026-03-01T00:00:00.000Z', 'job3'],
      ];
      for (const [id, type, key, first, last, job] of old)
        await storage.execute(
          `INSERT INTO dedupe_entry (entry_id, pool_id, entity_type_id, key, first_seen, last_seen, job_id)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [id, poolId, type, key, first, last, job],
        );

      assert.deepEqual(await runMigrations(storage), [170]);

      const store = new DedupeStore(storage);
      const entries = await store.entries(poolId, { limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.entryId, e.entityTypeId, e.key, e.firstSeen, e.lastSeen, e.jobId]),
        [...old].reverse(),
      );
      const added = await storage.transaction((tx) =>
        new DedupeStore(tx).trackKeys(poolId, 1, ['a', 'c'], '2026-04-01T00:00:00.000Z', 'job4'),
      );
      assert.deepEqual([...added], ['c']);
      const [newest, next] = await store.entries(poolId, { limit: 2 });
      assert.ok(newest.entryId > 9, `a new entry's id follows the carried ones: ${newest.entryId}`);
      assert.deepEqual(
        [newest.key, newest.firstSeen, newest.jobId],
        ['c', '2026-04-01T00:00:00.000Z', 'job4'],
      );
      assert.equal(next.entryId, 9);
      const a = (await store.entries(poolId, { limit: 10, entityTypeId: 1, prefix: 'a' }))[0];
      assert.deepEqual(
        [a.entryId, a.firstSeen, a.lastSeen, a.jobId],
        [3, '2026-01-01T00:00:00.000Z', '2026-04-01T00:00:00.000Z', 'job4'],
      );
      assert.equal(await store.countEntries(poolId), 4);
    });
  });
}
