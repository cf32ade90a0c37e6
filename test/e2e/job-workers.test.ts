import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, skipReasonFor } from '../support/test-databases.ts';
import { JobService } from '../../src/services/jobs/job-service.ts';
import { loadJobConfig } from '../../src/jobs/job-config.ts';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const HANDLERS = join(import.meta.dirname, '../support/job-test-handlers.ts');

describe(
  'two `ferry worker` processes sharing one PostgreSQL queue',
  { skip: skipReasonFor('postgres') },
  () => {
    it('drain 20 queued jobs: none lost, none run twice', async () => {
      const db = await createTestDatabase('postgres');
      const bossSchema = `ferry_boss_${randomBytes(4).toString('hex')}`;
      const env = { ...process.env, FERRY_PGBOSS_SCHEMA: bossSchema, FERRY_DATA_DIR: db.dataDir };
      const jobs = new JobService({
        storage: db.storage,
        config: loadJobConfig(db.dataDir, env),
        databaseUrl: db.databaseUrl,
      });
      const workers: { child: ChildProcess; output: string }[] = [];
      try {
        assert.equal((await jobs.queue()).driver, 'pg-boss');
        const ids: string[] = [];
        for (let n = 1; n <= 20; n++) {
          const job = await db.storage.transaction((tx) =>
            jobs.enqueue(tx, { type: 'TEST_SQUARE', params: { n } }),
          );
          ids.push(job.id);
        }
        for (let i = 0; i < 2; i++) {
          const child = spawn(
            process.execPath,
            [MAIN, 'worker', '--concurrency', '3', '--database-url', db.databaseUrl!],
            {
              env: { ...env, FERRY_JOB_MODULES: HANDLERS },
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          const worker = { child, output: '' };
          child.stdout?.on('data', (chunk: Buffer) => (worker.output += chunk.toString()));
          child.stderr?.on('data', (chunk: Buffer) => (worker.output += chunk.toString()));
          workers.push(worker);
        }
        const deadline = Date.now() + 60_000;
        for (;;) {
          const open = await db.storage.queryOne<{ n: number }>(
            `SELECT COUNT(*) AS n FROM job WHERE status <> 'COMPLETED'`,
          );
          if (Number(open?.n) === 0) break;
          if (Date.now() > deadline)
            throw new Error(`jobs left unfinished:\n${workers.map((w) => w.output).join('\n')}`);
          await sleep(100);
        }
        for (const [index, id] of ids.entries()) {
          const job = await jobs.get(null, id);
          const n = index + 1;
          assert.deepEqual(job.summary, { n, square: n * n });
          assert.equal(job.attempts, 1);
        }
        const runs = await db.storage.query<{ iso: string; start_date: string; end_date: string }>(
          `SELECT iso, start_date, end_date FROM period WHERE period_type = 'Run'`,
        );
        assert.equal(runs.length, 20, 'each job ran exactly once');
        const byWorker = new Set(runs.map((r) => r.end_date));
        assert.ok(byWorker.size >= 1);
        for (const worker of workers) assert.match(worker.output, /Ferry worker .* \(pg-boss,/);
      } finally {
        for (const worker of workers) worker.child.kill('SIGTERM');
        await Promise.all(
          workers.map((w) =>
            w.child.exitCode !== null ? undefined : new Promise((resolve) => w.child.once('exit', resolve)),
          ),
        );
        await jobs.stop();
        await db.storage.executeScript(`DROP SCHEMA IF EXISTS ${bossSchema} CASCADE`);
        await db.dispose();
      }
    });
  },
);
