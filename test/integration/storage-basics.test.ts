import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';

for (const kind of TEST_DATABASE_KINDS) {
  describe(`storage basics on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('migrates, writes in a transaction and rolls back on error', async () => {
      const db = await createTestDatabase(kind);
      try {
        assert.deepEqual(await db.storage.migrate(), [], 'a second migrate applies nothing');
        await db.storage.transaction(async (tx) => {
          await tx.execute(
            'INSERT INTO period (iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?)',
            ['202401', 'Monthly', '2024-01-01', '2024-01-31'],
          );
        });
        await assert.rejects(
          db.storage.transaction(async (tx) => {
            await tx.execute(
              'INSERT INTO period (iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?)',
              ['202402', 'Monthly', '2024-02-01', '2024-02-29'],
            );
            throw new Error('boom');
          }),
          /boom/,
        );
        const rows = await db.storage.query<{ iso: string }>('SELECT iso FROM period ORDER BY iso');
        assert.deepEqual(
          rows.map((r) => r.iso),
          ['202401'],
        );
      } finally {
        await db.dispose();
      }
    });

    it('streams a result set in batches', async () => {
      const db = await createTestDatabase(kind);
      try {
        const rows = Array.from({ length: 2500 }, (_, i) => [
          `2000${String(i).padStart(5, '0')}`,
          'X',
          'a',
          'b',
        ]);
        await db.storage.transaction((tx) =>
          tx.executeMany(
            'INSERT INTO period (iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?)',
            rows,
          ),
        );
        const sizes: number[] = [];
        for await (const batch of db.storage.stream('SELECT iso FROM period ORDER BY iso', [], 1000)) {
          sizes.push(batch.length);
        }
        assert.deepEqual(sizes, [1000, 1000, 500]);
      } finally {
        await db.dispose();
      }
    });
  });
}
