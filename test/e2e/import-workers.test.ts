import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestDatabase, skipReasonFor } from '../support/test-databases.ts';
import { loadGeneratedMetadata, writeGeneratedCsv } from '../support/generated-data-values.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage } from '../../src/services/ferry-context.ts';

/**
 * Issue 5's acceptance on PostgreSQL: two `ferry worker` processes drain 20 queued real
 * DATAVALUE_IMPORT jobs (pg-boss); none is lost and none runs twice to a different result.
 */
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const JOBS = 20;
const VALUES_PER_JOB = 1_000;

describe(
  'two `ferry worker` processes draining real data value imports on PostgreSQL',
  { skip: skipReasonFor('postgres') },
  () => {
    it('imports 20 queued files: every value once, every job once, nothing lost', async () => {
      const db = await createTestDatabase('postgres');
      const bossSchema = `ferry_boss_${randomBytes(4).toString('hex')}`;
      // The submitting context reads its pg-boss schema from the environment, as the workers do.
      process.env.FERRY_PGBOSS_SCHEMA = bossSchema;
      const env = { ...process.env, FERRY_DATA_DIR: db.dataDir };
      const context = createFerryContextFromStorage(
        loadConfig({}, { dataDir: db.dataDir, databaseUrl: db.databaseUrl }),
        db.storage,
      );
      const workers: { child: ChildProcess; output: string }[] = [];
      try {
        assert.equal((await context.jobs.queue()).driver, 'pg-boss');
        await loadGeneratedMetadata(db.storage, JOBS * VALUES_PER_JOB);
        // One generated file cut into 20 slices with the header each: disjoint values per job.
        const whole = join(db.dataDir, 'all.csv');
        await writeGeneratedCsv(whole, JOBS * VALUES_PER_JOB);
        const [header, ...rows] = readFileSync(whole, 'utf8').trimEnd().split('\n');
        const ids: string[] = [];
        for (let j = 0; j < JOBS; j++) {
          const slice = join(db.dataDir, `slice-${j}.csv`);
          writeFileSync(
            slice,
            [header, ...rows.slice(j * VALUES_PER_JOB, (j + 1) * VALUES_PER_JOB)].join('\n') + '\n',
          );
          const job = await context.jobs.submit({
            type: 'DATAVALUE_IMPORT',
            params: { importStrategy: 'CREATE_AND_UPDATE' },
            viewer: null,
            body: createReadStream(slice),
            contentType: 'application/csv',
            originalName: `slice-${j}.csv`,
          });
          ids.push(job.id);
        }
        for (let i = 0; i < 2; i++) {
          const child = spawn(
            process.execPath,
            [MAIN, 'worker', '--concurrency', '2', '--database-url', db.databaseUrl!],
            { env, stdio: ['ignore', 'pipe', 'pipe'] },
          );
          const worker = { child, output: '' };
          child.stdout?.on('data', (chunk: Buffer) => (worker.output += chunk.toString()));
          child.stderr?.on('data', (chunk: Buffer) => (worker.output += chunk.toString()));
          workers.push(worker);
        }
        const deadline = Date.now() + 120_000;
        for (;;) {
          const open = await db.storage.queryOne<{ n: number }>(
            `SELECT COUNT(*) AS n FROM job WHERE status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
          );
          if (Number(open?.n) === 0) break;
          if (Date.now() > deadline)
            throw new Error(`imports left unfinished:\n${workers.map((w) => w.output).join('\n')}`);
          await sleep(200);
        }
        for (const id of ids) {
          const job = await context.jobs.get(null, id);
          assert.equal(job.status, 'COMPLETED', job.error ?? '');
          assert.equal(job.attempts, 1, `job ${id} ran once`);
          const summary = job.summary as { status: string; importCount: Record<string, number> };
          assert.equal(summary.status, 'SUCCESS');
          assert.deepEqual(summary.importCount, {
            imported: VALUES_PER_JOB,
            updated: 0,
            ignored: 0,
            deleted: 0,
          });
        }
        const values = await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
        assert.equal(Number(values?.n), JOBS * VALUES_PER_JOB);
        for (const worker of workers) assert.match(worker.output, /Ferry worker .* \(pg-boss,/);
      } finally {
        for (const worker of workers) worker.child.kill('SIGTERM');
        await Promise.all(
          workers.map((w) =>
            w.child.exitCode !== null ? undefined : new Promise((resolve) => w.child.once('exit', resolve)),
          ),
        );
        await context.jobs.stop();
        await db.storage.executeScript(`DROP SCHEMA IF EXISTS ${bossSchema} CASCADE`);
        await db.dispose();
      }
    });
  },
);
