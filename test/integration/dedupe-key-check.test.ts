import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { checkAndTrackKeys } from '../../src/services/dedupe/dedupe-key-check.ts';
import { createPool } from '../../src/services/dedupe/dedupe-pool-service.ts';
import { DedupeStore } from '../../src/storage/dedupe-store.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';

/*
 * The check-and-track every import shares (issue 16's benchmark path): the keys new to the pool
 * come back and are stored, the held ones do not and get their last seen time and job updated;
 * with more keys than one statement takes, and with keys that SQLite's JSON path (the UPDATE of
 * held keys, the FILTER look-up) would not carry exactly (control characters), which go by bound
 * placeholders instead. On SQLite and PostgreSQL (registered only when a PostgreSQL URL is set).
 */

const RUNNABLE = TEST_DATABASE_KINDS.filter((kind) => !skipReasonFor(kind));

for (const kind of RUNNABLE) {
  describe(`checkAndTrackKeys (${kind})`, () => {
    let db: TestDatabase;
    let poolId: number;

    before(async () => {
      db = await createTestDatabase(kind);
      const context = contextFor(db.storage, db.dataDir);
      const pool = await createPool(context, undefined, { name: 'Key check' });
      poolId = (await new DedupeStore(db.storage).poolByUid(pool.id))!.poolId;
    });
    after(() => db.dispose());

    const track = (keys: string[], now: string, job: string) =>
      db.storage.transaction((tx) => checkAndTrackKeys(tx, poolId, 1, keys, now, job));

    it('returns the keys new to the pool, once, and updates last seen of those it holds', async () => {
      const first = Array.from({ length: 6_000 }, (_, i) => `k/${i}`);
      const added = await track(first, '2026-01-01T00:00:00.000Z', 'job0000001');
      assert.equal(added.size, 6_000);
      assert.deepEqual([...added].sort(), [...first].sort());

      // Half held, half new, across the statement boundary; in no particular order.
      const second = [
        ...Array.from({ length: 3_000 }, (_, i) => `k/${i * 2}`),
        ...Array.from({ length: 3_000 }, (_, i) => `n/${i}`),
      ].reverse();
      const again = await track(second, '2026-02-01T00:00:00.000Z', 'job0000002');
      assert.equal(again.size, 3_000);
      assert.ok([...again].every((key) => key.startsWith('n/')));

      const rows = await db.storage.query<{
        key: string;
        first_seen: string;
        last_seen: string;
        job_id: string;
      }>(
        `SELECT e.key, f.seen AS first_seen, l.seen AS last_seen, l.job_id FROM dedupe_entry AS e
         JOIN dedupe_visit AS f ON f.visit_id = e.first_visit JOIN dedupe_visit AS l ON l.visit_id = e.last_visit
         WHERE e.pool_id = ? AND e.key IN (?, ?, ?)`,
        [poolId, 'k/0', 'k/1', 'n/0'],
      );
      const byKey = new Map(rows.map((row) => [row.key, row]));
      assert.equal(byKey.get('k/0')?.first_seen, '2026-01-01T00:00:00.000Z');
      assert.equal(byKey.get('k/0')?.last_seen, '2026-02-01T00:00:00.000Z');
      assert.equal(byKey.get('k/0')?.job_id, 'job0000002');
      assert.equal(byKey.get('k/1')?.last_seen, '2026-01-01T00:00:00.000Z');
      assert.equal(byKey.get('n/0')?.first_seen, '2026-02-01T00:00:00.000Z');
      assert.equal(await new DedupeStore(db.storage).countEntries(poolId), 9_000);
    });

    it('carries keys with quotes, backslashes, line breaks and control characters exactly', async () => {
      const odd = [
        'say "hi"',
        'back\\slash',
        'two\nlines',
        'tab\there',
        'bell\u0007',
        'unicode é ✓',
        'json [1,"x"]',
      ];
      const added = await track(odd, '2026-03-01T00:00:00.000Z', 'job0000003');
      assert.deepEqual([...added].sort(), [...odd].sort());
      const again = await track(odd, '2026-03-02T00:00:00.000Z', 'job0000004');
      assert.equal(again.size, 0);
      assert.deepEqual(
        [...(await new DedupeStore(db.storage).existingKeys(poolId, 1, odd))].sort(),
        [...odd].sort(),
      );
    });
  });
}
