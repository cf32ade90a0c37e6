import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import type { JobQueueOptions } from '../../src/jobs/job-queue.ts';
import { createJobQueue } from '../../src/jobs/create-job-queue.ts';
import { createInProcessJobQueue } from '../../src/jobs/drivers/in-process/in-process-driver.ts';
import { JobHandlerRegistry, TransientJobError } from '../../src/jobs/job-handlers.ts';
import type { JobRecord } from '../../src/jobs/job-types.ts';

/**
 * One suite for every job driver: the in-process pool on SQLite and on PostgreSQL, and pg-boss on
 * PostgreSQL. Each case uses real databases and real timers with short leases.
 */
const DRIVERS = [
  { kind: 'sqlite', driver: 'in-process' },
  { kind: 'postgres', driver: 'in-process' },
  { kind: 'postgres', driver: 'pg-boss' },
] as const;

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

for (const { kind, driver } of DRIVERS) {
  if (!TEST_DATABASE_KINDS.includes(kind)) continue;
  describe(`job queue conformance: ${driver} on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    const bossSchema = `ferry_boss_${randomBytes(4).toString('hex')}`;
    const queues: { stop(graceMs?: number): Promise<void> }[] = [];

    before(async () => {
      db = await createTestDatabase(kind);
    });
    after(async () => {
      for (const queue of queues) await queue.stop(100);
      if (kind === 'postgres') await db.storage.executeScript(`DROP SCHEMA IF EXISTS ${bossSchema} CASCADE`);
      await db.dispose();
    });

    async function newQueue(registry: JobHandlerRegistry, options: Partial<JobQueueOptions> = {}) {
      const base: JobQueueOptions = {
        storage: db.storage,
        registry,
        leaseMs: 1500,
        heartbeatMs: 200,
        pollIntervalMs: 50,
        progressIntervalMs: 200,
        sweepIntervalMs: 200,
        reconcileIntervalMs: 60_000,
        retryBackoffMs: (attempt) => 200 * attempt,
        databaseUrl: db.databaseUrl,
        pgBossSchema: bossSchema,
        ...options,
      };
      const queue = driver === 'pg-boss' ? await createJobQueue(base) : createInProcessJobQueue(base);
      assert.equal(queue.driver, driver);
      queues.push(queue);
      return queue;
    }

    async function enqueue(
      queue: Awaited<ReturnType<typeof newQueue>>,
      type: string,
      params: Record<string, unknown> = {},
      extra: { maxAttempts?: number; runAfter?: Date } = {},
    ): Promise<JobRecord> {
      const job = await db.storage.transaction((tx) => queue.enqueue(tx, { type, params, ...extra }));
      queue.wake();
      return job;
    }

    const finished = (queue: Awaited<ReturnType<typeof newQueue>>, id: string) =>
      waitFor(`job ${id} to finish`, async () => {
        const job = await queue.store.get(id);
        return job && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status) ? job : undefined;
      });

    it('runs a job enqueued in a committed transaction and never one whose transaction rolled back', async () => {
      const registry = new JobHandlerRegistry();
      const ran: unknown[] = [];
      registry.register('TEST_ECHO', async (job, ctx) => {
        ran.push(job.params.n);
        ctx.notify('INFO', `echo ${String(job.params.n)}`);
        return { status: 'OK', stats: { created: Number(job.params.n), updated: 0, deleted: 0, ignored: 0 } };
      });
      const queue = await newQueue(registry);
      await queue.startWorkers();
      let rolledBackId = '';
      await assert.rejects(
        db.storage.transaction(async (tx) => {
          rolledBackId = (await queue.enqueue(tx, { type: 'TEST_ECHO', params: { n: 1 } })).id;
          throw new Error('roll back');
        }),
        /roll back/,
      );
      const kept = await enqueue(queue, 'TEST_ECHO', { n: 2 });
      const done = await finished(queue, kept.id);
      assert.equal(done.status, 'COMPLETED');
      assert.deepEqual(done.summary, {
        status: 'OK',
        stats: { created: 2, updated: 0, deleted: 0, ignored: 0 },
      });
      await sleep(300);
      assert.deepEqual(ran, [2]);
      assert.equal(await queue.store.get(rolledBackId), undefined);
      const notes = await queue.store.notifications(kept.id);
      assert.equal(notes[0].completed, true, 'the newest notification closes the job');
      assert.equal(
        notes[0].message,
        'Import complete with status OK, 2 created, 0 updated, 0 deleted, 0 ignored',
      );
      assert.ok(notes.some((n) => n.message === 'echo 2'));
    });

    it('delivers at least once but completes each job once, even with two workers and duplicate deliveries', async () => {
      const registry = new JobHandlerRegistry();
      const runs = new Map<string, number>();
      registry.register('TEST_ONCE', async (job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        await sleep(20);
        return { n: job.params.n };
      });
      const first = await newQueue(registry, { concurrency: 3 });
      const second = await newQueue(registry, { concurrency: 3 });
      const jobs: JobRecord[] = [];
      for (let n = 0; n < 12; n++) {
        const job = await enqueue(first, 'TEST_ONCE', { n });
        jobs.push(job);
        // A duplicate delivery of the same job (at-least-once): it must not run twice.
        await db.storage.transaction((tx) =>
          first.delivery.announce(tx, { id: job.id, type: job.type, runAfter: job.runAfter }),
        );
      }
      await Promise.all([first.startWorkers(), second.startWorkers()]);
      for (const job of jobs) {
        const done = await finished(first, job.id);
        assert.equal(done.status, 'COMPLETED');
        assert.deepEqual(done.summary, { n: job.params.n });
      }
      await sleep(300);
      for (const job of jobs) assert.equal(runs.get(job.id), 1, `job ${job.params.n} ran once`);
    });

    it('cancels a queued job before it runs and a running job through its AbortSignal', async () => {
      const registry = new JobHandlerRegistry();
      let started = false;
      let sawAbort = false;
      registry.register('TEST_SLOW', async (_job, ctx) => {
        started = true;
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve();
          });
        });
        ctx.signal.throwIfAborted();
        return {};
      });
      registry.register('TEST_NEVER', async () => {
        throw new Error('a cancelled job ran');
      });
      const queue = await newQueue(registry);
      const queued = await enqueue(queue, 'TEST_NEVER', {}, { runAfter: new Date(Date.now() + 1000) });
      assert.equal((await queue.cancel(queued.id))?.status, 'CANCELLED');
      await queue.startWorkers();
      const running = await enqueue(queue, 'TEST_SLOW');
      await waitFor('the slow job to start', async () => started);
      assert.equal((await queue.store.get(running.id))?.status, 'RUNNING');
      await queue.cancel(running.id);
      const done = await finished(queue, running.id);
      assert.equal(done.status, 'CANCELLED');
      assert.ok(sawAbort);
      await sleep(1200);
      assert.equal((await queue.store.get(queued.id))?.status, 'CANCELLED');
    });

    it('cancels a running job on another worker: the flag reaches it with the heartbeat', async () => {
      const registry = new JobHandlerRegistry();
      let started = false;
      registry.register('TEST_REMOTE_CANCEL', async (_job, ctx) => {
        started = true;
        while (!ctx.signal.aborted) await sleep(20);
        ctx.signal.throwIfAborted();
        return {};
      });
      const worker = await newQueue(registry);
      const other = await newQueue(new JobHandlerRegistry());
      await worker.startWorkers();
      const job = await enqueue(worker, 'TEST_REMOTE_CANCEL');
      await waitFor('start', async () => started);
      await other.cancel(job.id);
      assert.equal((await finished(worker, job.id)).status, 'CANCELLED');
    });

    it('takes a job back from a worker whose lease expired: retried, and the stale worker cannot commit', async () => {
      const registry = new JobHandlerRegistry();
      registry.register('TEST_LEASE', async (job) => ({ ranOnAttempt: job.attempt }));
      const queue = await newQueue(registry);
      const job = await enqueue(queue, 'TEST_LEASE');
      // A worker that claims and then dies: no heartbeats.
      const dead = await queue.store.claim({
        queue: 'default',
        queueLimit: 10,
        types: ['TEST_LEASE'],
        workerId: 'dead-worker',
        leaseMs: 300,
      });
      assert.ok(dead && dead !== 'queue-full');
      assert.equal(dead.job.id, job.id);
      await queue.startWorkers();
      const done = await finished(queue, job.id);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.attempts, 2);
      assert.deepEqual(done.summary, { ranOnAttempt: 2 });
      const stale = await db.storage.transaction((tx) =>
        queue.store.finish(tx, job.id, dead.leaseToken, { status: 'FAILED', error: 'stale' }),
      );
      assert.equal(stale, false, 'the fenced update refuses the old lease token');
      assert.equal((await queue.store.get(job.id))?.status, 'COMPLETED');
      const notes = await queue.store.notifications(job.id);
      assert.ok(notes.some((n) => n.level === 'WARN' && /lease expired/.test(n.message)));
    });

    it('marks a job FAILED with the reason when its lease expires on the last attempt, never leaving it RUNNING', async () => {
      const registry = new JobHandlerRegistry();
      registry.register('TEST_LAST', async () => ({}));
      const queue = await newQueue(registry);
      const job = await enqueue(queue, 'TEST_LAST', {}, { maxAttempts: 1 });
      const dead = await queue.store.claim({
        queue: 'default',
        queueLimit: 10,
        types: ['TEST_LAST'],
        workerId: 'dead-worker',
        leaseMs: 200,
      });
      assert.ok(dead && dead !== 'queue-full');
      await queue.startWorkers();
      const done = await finished(queue, job.id);
      assert.equal(done.status, 'FAILED');
      assert.match(done.error ?? '', /lease expired.*attempt 1 of 1/);
    });

    it('retries transient failures with backoff and fails permanent ones at once', async () => {
      const registry = new JobHandlerRegistry();
      const attemptsAt: number[] = [];
      registry.register('TEST_FLAKY', async (job) => {
        attemptsAt.push(Date.now());
        if (job.attempt < 3) throw new TransientJobError(`flaky ${job.attempt}`);
        return { ok: true };
      });
      registry.register('TEST_BROKEN', async () => {
        throw new Error('bad input in row 7');
      });
      const queue = await newQueue(registry);
      await queue.startWorkers();
      const flaky = await enqueue(queue, 'TEST_FLAKY');
      const broken = await enqueue(queue, 'TEST_BROKEN');
      const flakyDone = await finished(queue, flaky.id);
      assert.equal(flakyDone.status, 'COMPLETED');
      assert.equal(flakyDone.attempts, 3);
      assert.ok(attemptsAt[1] - attemptsAt[0] >= 190, 'first backoff ≈ 200 ms');
      assert.ok(attemptsAt[2] - attemptsAt[1] >= 390, 'second backoff ≈ 400 ms');
      const brokenDone = await finished(queue, broken.id);
      assert.equal(brokenDone.status, 'FAILED');
      assert.equal(brokenDone.attempts, 1);
      assert.equal(brokenDone.error, 'bad input in row 7');
      const exhausted = await enqueue(queue, 'TEST_FLAKY', {}, { maxAttempts: 2 });
      const exhaustedDone = await finished(queue, exhausted.id);
      assert.equal(exhaustedDone.status, 'FAILED');
      assert.equal(exhaustedDone.attempts, 2);
    });

    it('runs queued jobs after a restart: a new queue instance picks them up', async () => {
      const registry = new JobHandlerRegistry();
      registry.register('TEST_RESTART', async (job) => ({ n: job.params.n }));
      const before = await newQueue(registry);
      const jobs = [
        await enqueue(before, 'TEST_RESTART', { n: 1 }),
        await enqueue(before, 'TEST_RESTART', { n: 2 }),
      ];
      await before.stop(0);
      const afterRestart = await newQueue(registry);
      await afterRestart.startWorkers();
      for (const job of jobs) assert.equal((await finished(afterRestart, job.id)).status, 'COMPLETED');
    });

    it('writes progress at most about once per interval, with rows per second', async () => {
      const registry = new JobHandlerRegistry();
      const seen: (number | undefined)[] = [];
      registry.register('TEST_PROGRESS', async (job, ctx) => {
        for (let i = 1; i <= 60; i++) {
          ctx.progress({ stage: 'Importing data values', processed: i * 1000, total: 60_000 });
          await sleep(10);
          if (i % 20 === 0) seen.push((await queueRef.store.get(job.id))?.progress?.processed);
        }
        return {};
      });
      const queueRef = await newQueue(registry);
      await queueRef.startWorkers();
      const job = await enqueue(queueRef, 'TEST_PROGRESS');
      const done = await finished(queueRef, job.id);
      assert.equal(done.progress?.processed, 60_000);
      assert.equal(done.progress?.total, 60_000);
      assert.ok(
        seen.some((p) => p !== undefined && p < 60_000),
        'progress visible while running',
      );
      assert.ok((done.progress?.rowsPerSecond ?? 0) > 0);
    });

    it('runs one job at a time in the export queue by default', async () => {
      const registry = new JobHandlerRegistry();
      let running = 0;
      let most = 0;
      registry.register(
        'TEST_EXPORT',
        async () => {
          running++;
          most = Math.max(most, running);
          await sleep(100);
          running--;
          return {};
        },
        { queue: 'export' },
      );
      const a = await newQueue(registry, { concurrency: 3 });
      const b = await newQueue(registry, { concurrency: 3 });
      const jobs = [];
      for (let i = 0; i < 4; i++) jobs.push(await enqueue(a, 'TEST_EXPORT'));
      await Promise.all([a.startWorkers(), b.startWorkers()]);
      for (const job of jobs) assert.equal((await finished(a, job.id)).status, 'COMPLETED');
      assert.equal(most, 1);
    });
  });
}
