import type { Storage, SqlExecutor } from '../../storage/storage.ts';
import { FerryError } from '../../errors.ts';
import { FileStore, FileTooLargeError, type StoredFile } from '../../jobs/file-store.ts';
import type { EnqueueRequest, WorkerPoolJobQueue } from '../../jobs/job-queue.ts';
import { createJobQueue } from '../../jobs/create-job-queue.ts';
import {
  JobHandlerRegistry,
  jobHandlers,
  type JobHandler,
  type JobHandlerOptions,
} from '../../jobs/job-handlers.ts';
import { loadJobConfig, type JobConfig } from '../../jobs/job-config.ts';
import {
  JOB_STATUSES,
  isFinished,
  type JobNotification,
  type JobParams,
  type JobRecord,
  type JobStatus,
  type JobType,
} from '../../jobs/job-types.ts';
import type { JobListQuery } from '../../jobs/job-store.ts';

/** Who is asking: the principal's uid and authorities (Principal from the auth plugin fits). */
export interface JobViewer {
  uid: string;
  authorities: ReadonlySet<string>;
}

/** The authority that shows every user's jobs. */
export const VIEW_JOBS_AUTHORITY = 'F_VIEW_JOBS';

export function canSeeAllJobs(viewer: JobViewer): boolean {
  return viewer.authorities.has('ALL') || viewer.authorities.has(VIEW_JOBS_AUTHORITY);
}

export function canSeeJob(viewer: JobViewer, job: Pick<JobRecord, 'userUid'>): boolean {
  return job.userUid === viewer.uid || canSeeAllJobs(viewer);
}

/** DHIS2's Notification JSON (`Notification.java`). */
export interface TaskNotification {
  id: string;
  uid: string;
  level: string;
  category: string;
  time: string;
  message: string;
  completed: boolean;
  dataType: null;
  data: null;
}

/**
 * DHIS2's reply to an async request (`WebMessageUtils.jobConfigurationReport`): importers return
 * this from `async=true` requests, with Location `/api/system/tasks/<TYPE>`.
 */
export function jobConfigurationReply(job: Pick<JobRecord, 'id' | 'type' | 'created' | 'status' | 'params'>) {
  return {
    httpStatus: 'OK',
    httpStatusCode: 200,
    status: 'OK' as const,
    message: `Initiated ${job.type}`,
    response: {
      responseType: 'JobConfiguration',
      name: job.type,
      id: job.id,
      created: job.created,
      jobType: job.type,
      jobStatus: job.status === 'QUEUED' ? 'SCHEDULED' : job.status,
      jobParameters: job.params,
      relativeNotifierEndpoint: `/api/system/tasks/${job.type}/${job.id}`,
    },
  };
}

export interface SubmitJobRequest {
  type: JobType;
  params: JobParams;
  viewer: JobViewer | null;
  /** The request body, streamed to the file store (hashed) before the job is queued. */
  body?: AsyncIterable<Uint8Array> | NodeJS.ReadableStream;
  contentType?: string;
  originalName?: string | null;
  maxBytes?: number;
  dedupeKey?: string | null;
  maxAttempts?: number;
}

export interface JobDetails {
  job: JobRecord;
  inputFile: { id: string; name: string | null; contentType: string; size: number; sha256: string } | null;
  notifications: JobNotification[];
}

export interface JobServiceOptions {
  storage: Storage;
  config: JobConfig;
  databaseUrl?: string;
  log?: (message: string) => void;
}

/**
 * Jobs as use cases: submit (upload stored, job queued, in one go), the overview (list, details,
 * cancel, recreate) with its visibility rule, DHIS2's task views, and retention. Handlers register
 * here per context (`registerHandler`) or process-wide (`registerJobHandler`).
 */
export class JobService {
  readonly storage: Storage;
  readonly config: JobConfig;
  readonly files: FileStore;
  readonly registry: JobHandlerRegistry;
  private readonly databaseUrl: string | undefined;
  private readonly log: (message: string) => void;
  private queuePromise: Promise<WorkerPoolJobQueue> | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private working = false;

  constructor(options: JobServiceOptions) {
    this.storage = options.storage;
    this.config = options.config;
    this.databaseUrl = options.databaseUrl;
    this.log = options.log ?? (() => {});
    this.files = new FileStore(options.storage, options.config.filesDir);
    this.registry = new JobHandlerRegistry(jobHandlers);
  }

  static fromEnvironment(storage: Storage, dataDir: string, databaseUrl?: string): JobService {
    return new JobService({ storage, config: loadJobConfig(dataDir), databaseUrl });
  }

  /** Registers a handler for this context's queue (importers call this with their service bound). */
  registerHandler(type: JobType, handler: JobHandler, options: JobHandlerOptions = {}): void {
    this.registry.register(type, handler, options);
  }

  queue(): Promise<WorkerPoolJobQueue> {
    this.queuePromise ??= createJobQueue({
      storage: this.storage,
      files: this.files,
      registry: this.registry,
      concurrency: this.config.workers,
      queueLimits: { export: this.config.exportConcurrency },
      leaseMs: this.config.leaseMs,
      databaseUrl: this.databaseUrl,
      pgBossSchema: this.config.pgBossSchema,
      log: this.log,
    });
    return this.queuePromise;
  }

  /** Starts this process's workers and the retention sweep (the server and `ferry worker` do). */
  async start(): Promise<void> {
    if (this.working) return;
    this.working = true;
    if (this.config.workers > 0) await (await this.queue()).startWorkers();
    this.retentionTimer = setInterval(() => {
      this.sweepRetention().catch((error: unknown) => this.log(`retention sweep failed: ${String(error)}`));
    }, this.config.sweepIntervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.retentionTimer);
    if (this.queuePromise) await (await this.queuePromise).stop();
    this.queuePromise = undefined;
    this.working = false;
  }

  /** Enqueues inside the caller's transaction; call `wake()` after it commits. */
  async enqueue(tx: SqlExecutor, request: EnqueueRequest): Promise<JobRecord> {
    return (await this.queue()).enqueue(tx, request);
  }

  wake(): void {
    void this.queue().then((queue) => queue.wake());
  }

  /**
   * Stores the body (if any) and queues the job. The file is on disk with its SHA-256 before this
   * resolves, so the reply is sent only after the upload is safe.
   */
  async submit(request: SubmitJobRequest): Promise<JobRecord> {
    let written: { id: string; path: string; size: number; sha256: string } | undefined;
    if (request.body) {
      const id = (await import('../../domain/identifiers/uid.ts')).generateUid();
      try {
        written = { id, ...(await this.files.writeStream(id, request.body, request.maxBytes)) };
      } catch (error) {
        if (error instanceof FileTooLargeError) throw new FerryError('F1002', [error.limit]);
        throw error;
      }
    }
    const queue = await this.queue();
    try {
      const job = await this.storage.transaction(async (tx) => {
        if (written) {
          await this.files.record(tx, written.id, written, {
            purpose: 'upload',
            contentType: request.contentType ?? 'application/octet-stream',
            originalName: request.originalName ?? null,
          });
        }
        return queue.enqueue(tx, {
          type: request.type,
          params: request.params,
          inputFileId: written?.id ?? null,
          userUid: request.viewer?.uid ?? null,
          dedupeKey: request.dedupeKey ?? null,
          maxAttempts: request.maxAttempts,
        });
      });
      queue.wake();
      return job;
    } catch (error) {
      if (written) await this.files.delete(written.id).catch(() => {});
      throw error;
    }
  }

  async list(
    viewer: JobViewer,
    filter: { types?: string[]; statuses?: string[]; user?: string; limit?: number; offset?: number } = {},
  ): Promise<JobRecord[]> {
    const statuses = (filter.statuses ?? []).map((s) => s.toUpperCase());
    for (const status of statuses) {
      if (!JOB_STATUSES.includes(status as JobStatus)) {
        throw new FerryError('F1000', ['status', status, JOB_STATUSES.join(', ')]);
      }
    }
    const query: JobListQuery = {
      types: filter.types?.map((t) => t.toUpperCase()),
      statuses: statuses as JobStatus[],
      limit: filter.limit,
      offset: filter.offset,
    };
    if (!canSeeAllJobs(viewer)) {
      if (filter.user !== undefined && filter.user !== viewer.uid) return [];
      query.userUid = viewer.uid;
    } else if (filter.user !== undefined) {
      query.userUid = filter.user;
    }
    const queue = await this.queue();
    return (await queue.store.list(query)).map((job) => this.withLiveProgress(queue, job));
  }

  /** The job if the viewer may see it; F1200 (not found) otherwise, so ids can't be probed. */
  async get(viewer: JobViewer | null, id: string): Promise<JobRecord> {
    const queue = await this.queue();
    const job = await queue.store.get(id);
    if (!job || (viewer && !canSeeJob(viewer, job))) throw new FerryError('F1200', ['Job', id]);
    return this.withLiveProgress(queue, job);
  }

  async details(viewer: JobViewer | null, id: string): Promise<JobDetails> {
    const job = await this.get(viewer, id);
    const file = job.inputFileId ? await this.files.get(job.inputFileId) : undefined;
    return {
      job,
      inputFile: file
        ? {
            id: file.id,
            name: file.originalName,
            contentType: file.contentType,
            size: file.size,
            sha256: file.sha256,
          }
        : null,
      notifications: await this.notifications(job),
    };
  }

  /** Newest first, including any still waiting to be written by a local worker. */
  async notifications(job: JobRecord): Promise<JobNotification[]> {
    const queue = await this.queue();
    const stored = await queue.store.notifications(job.id);
    const unsaved = queue.live(job.id)?.unsavedNotifications ?? [];
    return [...[...unsaved].reverse(), ...stored];
  }

  async cancel(viewer: JobViewer | null, id: string): Promise<JobRecord> {
    const job = await this.get(viewer, id);
    if (isFinished(job.status))
      throw new FerryError('F1300', [`Job ${id} has already finished (${job.status})`]);
    const queue = await this.queue();
    return (await queue.cancel(id)) ?? job;
  }

  /**
   * What the web app needs to pre-fill a past job's form: its type, parameters and input file;
   * with `submit`, the same request queued again as a new job (same input file, same owner rule).
   */
  async recreate(
    viewer: JobViewer | null,
    id: string,
    submit: boolean,
  ): Promise<{
    recreatedFrom: string;
    type: string;
    params: JobParams;
    inputFile: JobDetails['inputFile'];
    job?: JobRecord;
  }> {
    const details = await this.details(viewer, id);
    const { job, inputFile } = details;
    if (inputFile && !(await this.fileStillThere(inputFile.id))) {
      throw new FerryError('F1400', [`The input file of job ${id} has expired; upload it again`]);
    }
    const out = { recreatedFrom: job.id, type: job.type, params: job.params, inputFile };
    if (!submit) return out;
    const queue = await this.queue();
    const created = await this.storage.transaction((tx) =>
      queue.enqueue(tx, {
        type: job.type,
        params: job.params,
        inputFileId: job.inputFileId,
        userUid: viewer?.uid ?? job.userUid,
      }),
    );
    queue.wake();
    return { ...out, job: created };
  }

  private async fileStillThere(id: string): Promise<boolean> {
    const file = await this.files.get(id);
    return file !== undefined && (await this.files.exists(file as StoredFile));
  }

  // DHIS2's task API ---------------------------------------------------------------------------

  /** `GET /api/system/tasks/{type}/{id}`: notifications newest first, the newest completed once done. */
  async taskNotifications(viewer: JobViewer | null, type: string, id: string): Promise<TaskNotification[]> {
    const job = await this.get(viewer, id);
    if (job.type !== type.toUpperCase()) throw new FerryError('F1200', [`${type} job`, id]);
    const notes = (await this.notifications(job)).map((n) => toTaskNotification(job.type, n));
    // DHIS2: if the newest is not completed but the job is no longer running, it is shown completed.
    if (notes.length > 0 && !notes[0].completed && isFinished(job.status))
      notes[0] = { ...notes[0], completed: true };
    const loop = progressNotification(job);
    return loop ? [loop, ...notes] : notes;
  }

  /** `GET /api/system/tasks/{type}`: `{ jobId: [notifications] }` for the jobs the viewer sees. */
  async tasksOfType(viewer: JobViewer, type: string): Promise<Record<string, TaskNotification[]>> {
    const jobs = await this.list(viewer, { types: [type], limit: 500 });
    const out: Record<string, TaskNotification[]> = {};
    for (const job of jobs) out[job.id] = await this.taskNotifications(viewer, job.type, job.id);
    return out;
  }

  /** `GET /api/system/taskSummaries/{type}/{id}`: the summary, or undefined while there is none. */
  async taskSummary(viewer: JobViewer | null, type: string, id: string): Promise<unknown> {
    const job = await this.get(viewer, id);
    if (job.type !== type.toUpperCase()) throw new FerryError('F1200', [`${type} job`, id]);
    return job.summary ?? undefined;
  }

  async taskSummariesOfType(viewer: JobViewer, type: string): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const job of await this.list(viewer, { types: [type], limit: 500 })) {
      if (job.summary !== null) out[job.id] = job.summary;
    }
    return out;
  }

  /**
   * `DELETE /api/system/tasks[/{type}[/{id}]]?maxAge=days`: forgets finished jobs older than
   * `maxAge` days (0 = all finished ones). Only for F_VIEW_JOBS/ALL, or one's own job by id.
   */
  async deleteTasks(
    viewer: JobViewer,
    filter: { type?: string; id?: string; maxAgeDays?: number },
  ): Promise<number> {
    if (filter.id) await this.get(viewer, filter.id);
    else if (!canSeeAllJobs(viewer)) throw new FerryError('F1102', [VIEW_JOBS_AUTHORITY]);
    const before = new Date(Date.now() - (filter.maxAgeDays ?? 0) * 86_400_000);
    const queue = await this.queue();
    const ids = await queue.store.deleteFinishedBefore(before, {
      type: filter.type?.toUpperCase(),
      id: filter.id,
    });
    return ids.length;
  }

  /** Removes finished jobs past retention and expired or old files. */
  async sweepRetention(now = new Date()): Promise<{ jobs: number; files: number }> {
    const queue = await this.queue();
    const jobs = await queue.store.deleteFinishedBefore(new Date(now.getTime() - this.config.jobRetentionMs));
    const files = await this.files.sweep(now, new Date(now.getTime() - this.config.uploadRetentionMs));
    return { jobs: jobs.length, files };
  }

  private withLiveProgress(queue: WorkerPoolJobQueue, job: JobRecord): JobRecord {
    const live = queue.live(job.id)?.progress;
    if (!live) return job;
    if (job.progress?.updated && live.updated <= job.progress.updated) return job;
    return { ...job, progress: live };
  }
}

/**
 * While a job runs, its progress as DHIS2's LOOP notification (a message replaced rather than
 * appended): "Importing data values: 350,000 of 1,000,000 (70,000 rows/s)". Built from the
 * progress fields at read time, so progress is never stored as hundreds of messages.
 */
export function progressNotification(job: JobRecord): TaskNotification | undefined {
  const progress = job.progress;
  if (!progress || isFinished(job.status) || job.status === 'QUEUED') return undefined;
  const count = (n: number) => n.toLocaleString('en-US');
  const rate =
    progress.rowsPerSecond !== null && progress.rowsPerSecond > 0
      ? ` (${count(Math.round(progress.rowsPerSecond))} rows/s)`
      : '';
  const total = progress.total !== undefined && progress.total !== null ? ` of ${count(progress.total)}` : '';
  const time = progress.updated ?? new Date().toISOString();
  const uid = `${job.id}-${progress.processed}`;
  return {
    id: uid,
    uid,
    level: 'LOOP',
    category: job.type,
    time,
    message: `${progress.stage}: ${count(progress.processed)}${total}${rate}`,
    completed: false,
    dataType: null,
    data: null,
  };
}

function toTaskNotification(type: string, note: JobNotification): TaskNotification {
  return {
    id: note.uid,
    uid: note.uid,
    level: note.level,
    category: type,
    time: note.time,
    message: note.message,
    completed: note.completed,
    dataType: null,
    data: null,
  };
}
