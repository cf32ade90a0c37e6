import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { SqlExecutor, Storage } from '../storage/storage.ts';
import type {
  JobNotification,
  JobParams,
  JobProgress,
  JobRecord,
  JobType,
  NotificationLevel,
} from './job-types.ts';
import { JobStore, MAX_NOTIFICATIONS_PER_JOB, type ClaimedJob, type LeaseCheck } from './job-store.ts';
import type { FileStore } from './file-store.ts';
import {
  JobCancelledError,
  JobFailedError,
  LeaseLostError,
  isTransientError,
  jobHandlers,
  type JobContext,
  type JobHandlerRegistry,
} from './job-handlers.ts';

/** What `enqueue` needs; the job row and its delivery are written in the caller's transaction. */
export interface EnqueueRequest {
  type: JobType;
  params: JobParams;
  inputFileId?: string | null;
  userUid?: string | null;
  dedupeKey?: string | null;
  /** Overrides the handler's `maxAttempts`. */
  maxAttempts?: number;
  runAfter?: Date;
}

/** Live state of a job running in this process, fresher than its row (SQLite writes may queue). */
export interface LiveJobState {
  progress: (JobProgress & { rowsPerSecond: number | null; updated: string }) | null;
  unsavedNotifications: JobNotification[];
}

/**
 * Ferry's one job queue interface. A job is a durable row; a driver only carries its delivery to a
 * worker. Both drivers pass `test/integration/job-queue-conformance.test.ts`.
 */
export interface JobQueue {
  readonly driver: 'in-process' | 'pg-boss';
  readonly store: JobStore;
  readonly registry: JobHandlerRegistry;
  /** Creates the job row and its delivery inside `tx`: a rolled-back enqueue never runs. */
  enqueue(tx: SqlExecutor, request: EnqueueRequest): Promise<JobRecord>;
  /** Wakes local workers; call after the enqueueing transaction commits (optional, saves a poll). */
  wake(): void;
  /** Starts working (claiming jobs, heartbeats, lease sweeps). A queue that only enqueues needn't. */
  startWorkers(): Promise<void>;
  /** Cancels a queued job now, or asks a running one to stop. */
  cancel(jobId: string): Promise<JobRecord | undefined>;
  live(jobId: string): LiveJobState | undefined;
  /** Stops claiming, aborts nothing: waits up to `graceMs` for running jobs, then leaves their leases to expire. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * How a driver hands jobs to workers. `announce` runs inside the enqueue (or requeue) transaction;
 * `receive` yields deliveries for one job type. A delivery without `jobId` means "claim the oldest
 * claimable job of the queue from the table" (the in-process driver's only kind).
 */
export interface JobDelivery {
  readonly name: JobQueue['driver'];
  start(): Promise<void>;
  stop(): Promise<void>;
  announce(db: SqlExecutor, job: { id: string; type: string; runAfter: string }): Promise<void>;
  receive(types: readonly string[], max: number): Promise<Delivery[]>;
}

export interface Delivery {
  jobId?: string;
  /** Done with this delivery (claimed, or nothing to do). */
  ack(): Promise<void>;
  /** Could not run it now (the queue is full): deliver again after `ms`. */
  retryLater(ms: number): Promise<void>;
}

export interface JobQueueOptions {
  storage: Storage;
  files?: FileStore;
  registry?: JobHandlerRegistry;
  /** Local worker slots; FERRY_JOB_WORKERS, default 2. */
  concurrency?: number;
  /** Cluster-wide jobs running at once per queue; default `{ export: 1 }`, others unlimited. */
  queueLimits?: Record<string, number>;
  /** A worker that misses heartbeats this long loses the job; default 30 s. */
  leaseMs?: number;
  heartbeatMs?: number;
  pollIntervalMs?: number;
  /** Progress rows are written at most this often; default 1 s. */
  progressIntervalMs?: number;
  /** Delay before retry n (1-based); default 10 s, 20 s, 40 s ... capped at 10 min. */
  retryBackoffMs?: (attempt: number) => number;
  /** How often expired leases are swept; default 5 s. */
  sweepIntervalMs?: number;
  /** The pg-boss driver's safety net for lost deliveries: also claim from the table this often. */
  reconcileIntervalMs?: number;
  workerId?: string;
  log?: (message: string) => void;
  /** PostgreSQL only: the URL pg-boss connects with (its own small pool). */
  databaseUrl?: string;
  /** PostgreSQL only: pg-boss's schema; FERRY_PGBOSS_SCHEMA, default `pgboss`. */
  pgBossSchema?: string;
}

export function defaultRetryBackoff(attempt: number): number {
  return Math.min(10_000 * 2 ** Math.max(0, attempt - 1), 10 * 60_000);
}

interface RunningJob {
  claim: ClaimedJob;
  controller: AbortController;
  live: LiveJobState;
  done: Promise<void>;
}

/**
 * The worker pool both drivers share: claims through the job table (an atomic UPDATE, fenced by a
 * lease token), heartbeats, throttled progress, notifications, retries with backoff, and the sweep
 * that takes jobs back from dead workers. The driver decides only how a worker learns of a job.
 */
export class WorkerPoolJobQueue implements JobQueue {
  readonly store: JobStore;
  readonly registry: JobHandlerRegistry;
  readonly delivery: JobDelivery;
  private readonly options: Required<
    Omit<
      JobQueueOptions,
      'files' | 'registry' | 'storage' | 'queueLimits' | 'log' | 'workerId' | 'databaseUrl' | 'pgBossSchema'
    >
  > & { queueLimits: Record<string, number>; workerId: string; log: (m: string) => void };
  private readonly running = new Map<string, RunningJob>();
  private started = false;
  private stopping = false;
  private loopTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private tickAgain = false;
  private lastReconcile = 0;

  constructor(delivery: JobDelivery, options: JobQueueOptions) {
    this.delivery = delivery;
    this.store = new JobStore(options.storage);
    this.registry = options.registry ?? jobHandlers;
    const leaseMs = options.leaseMs ?? 30_000;
    this.options = {
      concurrency: options.concurrency ?? 2,
      queueLimits: { export: 1, ...options.queueLimits },
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.max(50, Math.floor(leaseMs / 3)),
      pollIntervalMs: options.pollIntervalMs ?? 500,
      progressIntervalMs: options.progressIntervalMs ?? 1000,
      retryBackoffMs: options.retryBackoffMs ?? defaultRetryBackoff,
      sweepIntervalMs: options.sweepIntervalMs ?? 5000,
      reconcileIntervalMs: options.reconcileIntervalMs ?? 10_000,
      workerId: options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
      log: options.log ?? (() => {}),
    };
  }

  get driver(): JobQueue['driver'] {
    return this.delivery.name;
  }

  get workerId(): string {
    return this.options.workerId;
  }

  async enqueue(tx: SqlExecutor, request: EnqueueRequest): Promise<JobRecord> {
    const registered = this.registry.get(request.type);
    const job = await this.store.insert(tx, {
      type: request.type,
      queue: registered?.queue ?? (request.type.endsWith('_EXPORT') ? 'export' : 'default'),
      params: request.params,
      inputFileId: request.inputFileId,
      userUid: request.userUid,
      dedupeKey: request.dedupeKey,
      maxAttempts: request.maxAttempts ?? registered?.maxAttempts ?? 3,
      runAfter: request.runAfter,
    });
    await this.delivery.announce(tx, { id: job.id, type: job.type, runAfter: job.runAfter });
    return job;
  }

  wake(): void {
    if (!this.started || this.stopping) return;
    setImmediate(() => this.tick());
  }

  async startWorkers(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.delivery.start();
    // Jobs this process held before a crash can't be running now: sweep at once.
    await this.sweep();
    this.loopTimer = setInterval(() => this.tick(), this.options.pollIntervalMs);
    this.sweepTimer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.options.log(`job lease sweep failed: ${String(error)}`));
    }, this.options.sweepIntervalMs);
    this.tick();
  }

  async cancel(jobId: string): Promise<JobRecord | undefined> {
    // Abort a job running here first: on SQLite the cancel request below waits for the writer,
    // which a long import transaction holds until it ends, so aborting after it would come too late.
    const local = this.running.get(jobId);
    if (local && !local.controller.signal.aborted) local.controller.abort(new JobCancelledError(jobId));
    return this.store.storage.transaction((tx) => this.store.requestCancel(tx, jobId));
  }

  live(jobId: string): LiveJobState | undefined {
    return this.running.get(jobId)?.live;
  }

  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.loopTimer);
    clearInterval(this.sweepTimer);
    await this.ticking;
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const run of this.running.values()) run.controller.abort(new Error('Worker is shutting down'));
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    await this.delivery.stop();
  }

  /** Takes back jobs whose worker stopped heartbeating. Public for tests and `ferry worker`. */
  async sweep(): Promise<void> {
    const expired = await this.store.storage.transaction(async (tx) => {
      const found = await this.store.expireLeases(
        tx,
        this.options.retryBackoffMs,
        new Set(this.running.keys()),
      );
      for (const job of found) {
        if (job.outcome === 'retried') await this.delivery.announce(tx, job);
      }
      return found;
    });
    for (const job of expired) this.options.log(`job ${job.id}: lease expired, ${job.outcome}`);
    if (expired.some((job) => job.outcome === 'retried')) this.wake();
    // A job failed here (its worker died on the last attempt) is finished: its hook runs here.
    for (const job of expired) {
      if (job.outcome !== 'failed') continue;
      const record = await this.store.get(job.id);
      if (record) await this.afterFinish(record, 'FAILED');
    }
  }

  private tick(): void {
    if (this.stopping || !this.started) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = this.claimWhileFree()
      .catch((error: unknown) => this.options.log(`job claim failed: ${String(error)}`))
      .finally(() => {
        this.ticking = undefined;
        if (this.tickAgain) {
          this.tickAgain = false;
          this.tick();
        }
      });
  }

  private async claimWhileFree(): Promise<void> {
    const reconcile = Date.now() - this.lastReconcile >= this.options.reconcileIntervalMs;
    if (reconcile) this.lastReconcile = Date.now();
    for (const [queue, types] of this.registry.queues()) {
      const free = () => this.options.concurrency - this.running.size;
      if (free() <= 0 || this.stopping) return;
      const deliveries = await this.delivery.receive(types, free());
      if (reconcile && this.delivery.name !== 'in-process') deliveries.push(tableDelivery());
      for (const delivery of deliveries) {
        if (free() <= 0 || this.stopping) {
          await delivery.retryLater(0);
          continue;
        }
        const claimed = await this.store.claim({
          queue,
          queueLimit: this.options.queueLimits[queue] ?? Number.MAX_SAFE_INTEGER,
          types,
          workerId: this.options.workerId,
          leaseMs: this.options.leaseMs,
          jobId: delivery.jobId,
        });
        if (claimed === 'queue-full') {
          await delivery.retryLater(this.options.pollIntervalMs * 2);
          continue;
        }
        await delivery.ack();
        if (claimed) this.launch(claimed);
        else if (delivery.jobId === undefined) break;
      }
    }
  }

  private launch(claim: ClaimedJob): void {
    const controller = new AbortController();
    const live: LiveJobState = { progress: null, unsavedNotifications: [] };
    const entry: RunningJob = { claim, controller, live, done: Promise.resolve() };
    this.running.set(claim.job.id, entry);
    entry.done = this.run(entry)
      .catch((error: unknown) => this.options.log(`job ${claim.job.id} crashed the runner: ${String(error)}`))
      .finally(() => {
        this.running.delete(claim.job.id);
        this.tick();
      });
  }

  private async run(entry: RunningJob): Promise<void> {
    const { job, leaseToken } = entry.claim;
    const { controller, live } = entry;
    const registered = this.registry.get(job.type);
    const store = this.store;
    const leaseMs = this.options.leaseMs;
    const onLeaseCheck = (check: LeaseCheck) => {
      if (controller.signal.aborted) return;
      if (check === 'lost') controller.abort(new LeaseLostError(job.id));
      else if (check === 'cancel-requested') controller.abort(new JobCancelledError(job.id));
    };

    // Notifications are written in order through one chain; the in-memory copy serves readers
    // until the write lands (on SQLite it can wait behind a long import transaction).
    let notificationChain: Promise<void> = Promise.resolve();
    let notificationCount = await store.countNotifications(job.id);
    const notify = (level: NotificationLevel, message: string, completed = false) => {
      notificationCount++;
      if (
        notificationCount > MAX_NOTIFICATIONS_PER_JOB &&
        (level === 'DEBUG' || level === 'INFO') &&
        !completed
      ) {
        return;
      }
      const note: JobNotification = {
        uid: randomUUID(),
        level,
        time: new Date().toISOString(),
        message,
        completed,
      };
      live.unsavedNotifications.push(note);
      notificationChain = notificationChain
        .then(() => store.addNotification(store.storage, job.id, level, message, completed))
        .catch((error: unknown) => this.options.log(`job ${job.id}: notification lost: ${String(error)}`))
        .finally(() => {
          live.unsavedNotifications.splice(live.unsavedNotifications.indexOf(note), 1);
        });
    };

    // Progress: the latest value wins; one write in flight at a time, at most once per interval.
    let pending: JobProgress | undefined;
    let lastWritten: { at: number; processed: number; stage: string } = {
      at: Date.now(),
      processed: 0,
      stage: '',
    };
    let progressWrite: Promise<void> | undefined;
    let unwritten: { progress: JobProgress; rate: number | null } | undefined;
    const flushProgress = (): Promise<void> => {
      // The live overlay moves on every tick even while a row write waits: on SQLite a long import
      // transaction holds the writer, and this process's readers (tasks, SSE) still see progress.
      if (pending) {
        const progress = pending;
        pending = undefined;
        const now = Date.now();
        const seconds = (now - lastWritten.at) / 1000;
        const rate =
          progress.stage === lastWritten.stage && seconds > 0
            ? Math.max(0, (progress.processed - lastWritten.processed) / seconds)
            : null;
        lastWritten = { at: now, processed: progress.processed, stage: progress.stage };
        live.progress = { ...progress, rowsPerSecond: rate, updated: new Date(now).toISOString() };
        unwritten = { progress, rate };
      }
      if (progressWrite) return progressWrite;
      if (!unwritten) return Promise.resolve();
      const { progress, rate } = unwritten;
      unwritten = undefined;
      progressWrite = store
        .writeProgress(
          job.id,
          leaseToken,
          progress,
          rate === null ? null : Math.round(rate * 10) / 10,
          leaseMs,
        )
        .then(onLeaseCheck)
        .catch((error: unknown) => this.options.log(`job ${job.id}: progress write failed: ${String(error)}`))
        .finally(() => (progressWrite = undefined));
      return progressWrite;
    };
    const progressTimer = setInterval(() => void flushProgress(), this.options.progressIntervalMs);
    let heartbeatInFlight = false;
    const heartbeatTimer = setInterval(() => {
      if (heartbeatInFlight) return;
      heartbeatInFlight = true;
      store
        .heartbeat(job.id, leaseToken, leaseMs)
        .then(onLeaseCheck)
        .catch((error: unknown) => this.options.log(`job ${job.id}: heartbeat failed: ${String(error)}`))
        .finally(() => (heartbeatInFlight = false));
    }, this.options.heartbeatMs);

    const context: JobContext = {
      signal: controller.signal,
      fencingToken: leaseToken,
      progress(progress) {
        pending = { ...progress };
        if (!live.progress)
          live.progress = { ...progress, rowsPerSecond: null, updated: new Date().toISOString() };
      },
      notify: (level, message) => notify(level, message),
      async assertLeaseHeld(tx) {
        const check = await store.heartbeat(job.id, leaseToken, leaseMs, tx);
        if (check === 'lost') throw new LeaseLostError(job.id);
      },
      async setPhase(phase) {
        if (!(await store.setActiveStatus(job.id, leaseToken, phase))) throw new LeaseLostError(job.id);
      },
    };

    const settle = async () => {
      clearInterval(progressTimer);
      clearInterval(heartbeatTimer);
      await progressWrite;
      await flushProgress();
      await notificationChain;
    };

    try {
      if (!registered) throw new Error(`No handler for job type ${job.type} in this worker`);
      notify(
        'INFO',
        job.attempts > 1
          ? `Process started (attempt ${job.attempts} of ${job.maxAttempts})`
          : 'Process started',
      );
      const inputFile = job.inputFileId && this.files ? await this.files.get(job.inputFileId) : undefined;
      if (job.inputFileId && !inputFile)
        throw new Error(`Input file ${job.inputFileId} of job ${job.id} is gone`);
      const summary = await registered.handler(
        {
          id: job.id,
          type: job.type,
          params: job.params,
          ...(inputFile ? { inputFile } : {}),
          userUid: job.userUid,
          attempt: job.attempts,
        },
        context,
      );
      controller.signal.throwIfAborted();
      await settle();
      const closing = registered.completionMessage(summary);
      await store.storage.transaction(async (tx) => {
        if (!(await store.finish(tx, job.id, leaseToken, { status: 'COMPLETED', summary }))) {
          throw new LeaseLostError(job.id);
        }
        await store.addNotification(tx, job.id, closing.level, closing.message, true);
      });
    } catch (error) {
      await settle();
      await this.recordFailure(job, leaseToken, controller.signal.reason ?? error, error);
      return;
    }
    await this.afterFinish(job, 'COMPLETED');
  }

  /** The handler's `onFinished` hook, after the final status is committed; never fails the job. */
  private async afterFinish(job: JobRecord, status: 'COMPLETED' | 'FAILED'): Promise<void> {
    const hook = this.registry.get(job.type)?.onFinished;
    if (!hook) return;
    try {
      await hook({ id: job.id, type: job.type, userUid: job.userUid, status });
    } catch (error) {
      this.options.log(`job ${job.id}: after-finish hook failed: ${String(error)}`);
    }
  }

  private files: FileStore | undefined;

  /** Gives handlers their input files; set by whoever built the file store. */
  useFileStore(files: FileStore): this {
    this.files = files;
    return this;
  }

  private async recordFailure(job: JobRecord, token: string, reason: unknown, error: unknown): Promise<void> {
    const store = this.store;
    const message = error instanceof Error ? error.message : String(error);
    if (reason instanceof LeaseLostError || error instanceof LeaseLostError) {
      this.options.log(`job ${job.id}: lease lost; leaving it to its new owner`);
      return;
    }
    const failed = await store.storage.transaction(async (tx): Promise<boolean> => {
      if (reason instanceof JobCancelledError) {
        const summary = error instanceof JobCancelledError ? error.summary : undefined;
        if (
          await store.finish(tx, job.id, token, { status: 'CANCELLED', error: 'Cancelled by user', summary })
        ) {
          await store.addNotification(tx, job.id, 'WARN', 'Job cancelled', true);
        }
        return false;
      }
      if (isTransientError(error) || this.stopping) {
        const outcome = await store.retryOrFail(tx, job.id, token, message, this.options.retryBackoffMs);
        if (outcome?.outcome === 'retried') {
          await store.addNotification(
            tx,
            job.id,
            'WARN',
            `Attempt ${job.attempts} failed (${message}); retrying`,
          );
          await this.delivery.announce(tx, { id: job.id, type: job.type, runAfter: outcome.runAfter });
        } else if (outcome?.outcome === 'failed') {
          await store.addNotification(
            tx,
            job.id,
            'ERROR',
            `Job failed after ${job.attempts} attempts: ${message}`,
            true,
          );
          return true;
        }
        return false;
      }
      const summary = error instanceof JobFailedError ? error.summary : undefined;
      if (await store.finish(tx, job.id, token, { status: 'FAILED', error: message, summary })) {
        await store.addNotification(tx, job.id, 'ERROR', `Job failed: ${message}`, true);
        return true;
      }
      return false;
    });
    if (failed) await this.afterFinish(job, 'FAILED');
  }
}

function tableDelivery(): Delivery {
  return { ack: async () => {}, retryLater: async () => {} };
}
