import { setTimeout as sleep } from 'node:timers/promises';
import type { FerryContext } from '../../src/services/ferry-context.ts';

/** Rows one TEST_ATOMIC_IMPORT writes; all of them or none must be there afterwards. */
export const ATOMIC_ROWS = 2000;

/**
 * Test-only job types, loaded into `ferry worker` and the crash script through FERRY_JOB_MODULES.
 * TEST_ATOMIC_IMPORT writes ATOMIC_ROWS periods in one transaction (idempotent: ON CONFLICT DO
 * NOTHING), pausing between batches when `FERRY_TEST_SLOW_MS` is set so a test can kill it midway.
 * TEST_SQUARE records its result in a table so a second run with a different result would show.
 */
export async function registerJobs(context: FerryContext): Promise<void> {
  const pauseMs = Number(process.env.FERRY_TEST_SLOW_MS ?? 0);
  context.jobs.registerHandler('TEST_ATOMIC_IMPORT', async (job, ctx) => {
    const prefix = String(job.params.prefix);
    return context.storage.transaction(async (tx) => {
      for (let i = 0; i < ATOMIC_ROWS; i += 100) {
        const rows = Array.from({ length: 100 }, (_, k) => [
          `${prefix}${String(i + k).padStart(5, '0')}`,
          'Test',
          'a',
          'b',
        ]);
        await tx.executeMany(
          'INSERT INTO period (iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
          rows,
        );
        ctx.progress({ stage: 'Importing', processed: i + 100, total: ATOMIC_ROWS });
        if (pauseMs > 0) {
          if (i === 500) console.log(`IN_TRANSACTION ${job.id}`);
          await sleep(pauseMs);
        }
      }
      await ctx.assertLeaseHeld(tx);
      return { status: 'OK', stats: { created: ATOMIC_ROWS, updated: 0, deleted: 0, ignored: 0 } };
    });
  });
  context.jobs.registerHandler('TEST_SQUARE', async (job, ctx) => {
    const n = Number(job.params.n);
    await sleep(20 + (n % 5) * 10);
    await context.storage.transaction(async (tx) => {
      await ctx.assertLeaseHeld(tx);
      // The run log: a job run twice would leave two rows.
      await tx.execute('INSERT INTO period (iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?)', [
        `SQ${job.id}-${ctx.fencingToken.slice(0, 8)}`,
        'Run',
        String(n * n),
        process.pid.toString(),
      ]);
    });
    return { n, square: n * n };
  });
}
