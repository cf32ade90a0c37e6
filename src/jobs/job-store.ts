import { randomUUID } from 'node:crypto';
import type { SqlExecutor, SqlRow, SqlValue, Storage } from '../storage/storage.ts';
import { generateUid } from '../domain/identifiers/uid.ts';
import type {
  JobNotification,
  JobParams,
  JobProgress,
  JobRecord,
  JobStatus,
  JobType,
  NotificationLevel,
} from './job-types.ts';

/** DHIS2's `notifierMaxMessagesPerJob`: beyond this, messages below WARN are dropped. */
export const MAX_NOTIFICATIONS_PER_JOB = 500;

export interface NewJob {
  type: JobType;
  queue: string;
  params: JobParams;
  inputFileId?: string | null;
  userUid?: string | null;
  dedupeKey?: string | null;
  maxAttempts: number;
  /** Defaults to now. */
  runAfter?: Date;
}

export interface JobListQuery {
  types?: readonly string[];
  statuses?: readonly JobStatus[];
  userUid?: string;
  /** Only jobs owned by this user unless `includeAllUsers`. */
  limit?: number;
  offset?: number;
}

/** A job claimed by a worker: the lease token fences every later write of that worker. */
export interface ClaimedJob {
  job: JobRecord;
  leaseToken: string;
}

export type LeaseCheck = 'held' | 'lost' | 'cancel-requested';

export interface ExpiredLease {
  id: string;
  type: string;
  queue: string;
  outcome: 'retried' | 'failed' | 'cancelled';
  runAfter: string;
}

const ACTIVE = `('RUNNING', 'COMPRESSING')`;

/**
 * The job table, written once for both dialects. Every state change after a claim is conditional on
 * the lease token (fencing), so a worker whose lease expired and was taken over cannot overwrite
 * the new owner's result. Times are the application's clock as ISO text; nodes sharing a
 * PostgreSQL queue need clocks within a few seconds of each other (leases are tens of seconds).
 */
export class JobStore {
  readonly storage: Storage;

  constructor(storage: Storage) {
    this.storage = storage;
  }

  async insert(db: SqlExecutor, job: NewJob, now = new Date()): Promise<JobRecord> {
    const id = generateUid();
    const created = now.toISOString();
    await db.execute(
      `INSERT INTO job (id, type, queue, status, params, input_file_id, user_uid, dedupe_key, created, run_after, max_attempts)
       VALUES (?, ?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        job.type,
        job.queue,
        JSON.stringify(job.params),
        job.inputFileId ?? null,
        job.userUid ?? null,
        job.dedupeKey ?? null,
        created,
        (job.runAfter ?? now).toISOString(),
        job.maxAttempts,
      ],
    );
    const record = await this.get(id, db);
    if (!record) throw new Error(`job ${id} vanished right after insert`);
    return record;
  }

  async get(id: string, db: SqlExecutor = this.storage): Promise<JobRecord | undefined> {
    const row = await db.queryOne('SELECT * FROM job WHERE id = ?', [id]);
    return row ? toJobRecord(row) : undefined;
  }

  async list(query: JobListQuery = {}, db: SqlExecutor = this.storage): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.types?.length) {
      where.push(`type IN (${query.types.map(() => '?').join(', ')})`);
      params.push(...query.types);
    }
    if (query.statuses?.length) {
      where.push(`status IN (${query.statuses.map(() => '?').join(', ')})`);
      params.push(...query.statuses);
    }
    if (query.userUid !== undefined) {
      where.push('user_uid = ?');
      params.push(query.userUid);
    }
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 1000);
    const offset = Math.max(query.offset ?? 0, 0);
    const rows = await db.query(
      `SELECT * FROM job ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY number DESC LIMIT ${limit} OFFSET ${offset}`,
      params,
    );
    return rows.map(toJobRecord);
  }

  /** A queued or running job with this dedupe key, for "an identical request returns that job". */
  async findActiveByDedupeKey(db: SqlExecutor, dedupeKey: string): Promise<JobRecord | undefined> {
    const row = await db.queryOne(
      `SELECT * FROM job WHERE dedupe_key = ? AND status IN ('QUEUED', 'RUNNING', 'COMPRESSING') ORDER BY number LIMIT 1`,
      [dedupeKey],
    );
    return row ? toJobRecord(row) : undefined;
  }

  /**
   * Claims the oldest claimable job of `queue` (or the job `jobId`) unless the queue already has
   * `queueLimit` jobs with live leases. One atomic UPDATE inside a transaction that, on PostgreSQL,
   * holds an advisory lock per queue so two workers can't both see a free slot.
   */
  async claim(options: {
    queue: string;
    queueLimit: number;
    types: readonly string[];
    workerId: string;
    leaseMs: number;
    jobId?: string;
    now?: Date;
  }): Promise<ClaimedJob | 'queue-full' | undefined> {
    if (options.types.length === 0) return undefined;
    return this.storage.transaction(async (tx) => {
      const now = options.now ?? new Date();
      const nowText = now.toISOString();
      if (tx.kind === 'postgres') {
        await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', [`ferry-job-queue:${options.queue}`]);
      }
      const active = await tx.queryOne<{ n: number }>(
        `SELECT COUNT(*) AS n FROM job WHERE queue = ? AND status IN ${ACTIVE} AND lease_expires > ?`,
        [options.queue, nowText],
      );
      if (Number(active?.n ?? 0) >= options.queueLimit) return 'queue-full' as const;
      const token = randomUUID();
      const typeList = options.types.map(() => '?').join(', ');
      const pick =
        options.jobId !== undefined
          ? `SELECT number FROM job WHERE id = ? AND queue = ? AND status = 'QUEUED' AND run_after <= ? AND type IN (${typeList})`
          : `SELECT number FROM job WHERE queue = ? AND status = 'QUEUED' AND run_after <= ? AND type IN (${typeList}) ORDER BY number LIMIT 1`;
      const pickParams: SqlValue[] =
        options.jobId !== undefined
          ? [options.jobId, options.queue, nowText, ...options.types]
          : [options.queue, nowText, ...options.types];
      const lock = tx.kind === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
      const row = await tx.queryOne(
        `UPDATE job SET status = 'RUNNING', lease_token = ?, lease_owner = ?, lease_expires = ?,
           attempts = attempts + 1, started = COALESCE(started, ?), error = NULL
         WHERE number = (${pick}${lock}) AND status = 'QUEUED'
         RETURNING *`,
        [
          token,
          options.workerId,
          new Date(now.getTime() + options.leaseMs).toISOString(),
          nowText,
          ...pickParams,
        ],
      );
      return row ? { job: toJobRecord(row), leaseToken: token } : undefined;
    });
  }

  /** Extends the lease; says whether it is still held and whether someone asked to cancel. */
  async heartbeat(id: string, token: string, leaseMs: number, db?: SqlExecutor): Promise<LeaseCheck> {
    // A write with RETURNING: outside a transaction it must still take the writer's path (on
    // SQLite, plain reads go to the reader connection).
    if (!db) return this.storage.transaction((tx) => this.heartbeat(id, token, leaseMs, tx));
    const row = await db.queryOne<{ cancel_requested: number }>(
      `UPDATE job SET lease_expires = ? WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE}
       RETURNING cancel_requested`,
      [new Date(Date.now() + leaseMs).toISOString(), id, token],
    );
    if (!row) return 'lost' satisfies LeaseCheck;
    return Number(row.cancel_requested)
      ? ('cancel-requested' satisfies LeaseCheck)
      : ('held' satisfies LeaseCheck);
  }

  async writeProgress(
    id: string,
    token: string,
    progress: JobProgress,
    rowsPerSecond: number | null,
    leaseMs: number,
  ): Promise<LeaseCheck> {
    const now = Date.now();
    const row = await this.storage.transaction((tx) =>
      tx.queryOne<{ cancel_requested: number }>(
        `UPDATE job SET stage = ?, processed = ?, total = ?, rows_per_second = ?, progress_updated = ?, lease_expires = ?
       WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE} RETURNING cancel_requested`,
        [
          progress.stage,
          progress.processed,
          progress.total ?? null,
          rowsPerSecond,
          new Date(now).toISOString(),
          new Date(now + leaseMs).toISOString(),
          id,
          token,
        ],
      ),
    );
    if (!row) return 'lost';
    return Number(row.cancel_requested) ? 'cancel-requested' : 'held';
  }

  async setActiveStatus(id: string, token: string, status: 'RUNNING' | 'COMPRESSING'): Promise<boolean> {
    const result = await this.storage.execute(
      `UPDATE job SET status = ? WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE}`,
      [status, id, token],
    );
    return result.changes === 1;
  }

  /**
   * The fenced final write: succeeds only for the lease holder. Returns false when the lease was
   * lost (the job was taken over or expired), in which case nothing is written.
   */
  async finish(
    db: SqlExecutor,
    id: string,
    token: string,
    outcome: { status: 'COMPLETED' | 'FAILED' | 'CANCELLED'; summary?: unknown; error?: string | null },
  ): Promise<boolean> {
    const result = await db.execute(
      `UPDATE job SET status = ?, summary = COALESCE(?, summary), error = ?, finished = ?, lease_token = NULL, lease_expires = NULL
       WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE}`,
      [
        outcome.status,
        outcome.summary === undefined ? null : JSON.stringify(outcome.summary),
        outcome.error ?? null,
        new Date().toISOString(),
        id,
        token,
      ],
    );
    return result.changes === 1;
  }

  /** Puts a job back in the queue after a transient fault (fenced), or fails it when out of attempts. */
  async retryOrFail(
    db: SqlExecutor,
    id: string,
    token: string,
    error: string,
    backoffMs: (attempt: number) => number,
  ): Promise<{ outcome: 'retried' | 'failed'; runAfter: string } | undefined> {
    const row = await db.queryOne<{ attempts: number; max_attempts: number }>(
      `SELECT attempts, max_attempts FROM job WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE}`,
      [id, token],
    );
    if (!row) return undefined;
    const attempts = Number(row.attempts);
    if (attempts < Number(row.max_attempts)) {
      const runAfter = new Date(Date.now() + backoffMs(attempts)).toISOString();
      const result = await db.execute(
        `UPDATE job SET status = 'QUEUED', run_after = ?, error = ?, lease_token = NULL, lease_owner = NULL, lease_expires = NULL
         WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE}`,
        [runAfter, error, id, token],
      );
      return result.changes === 1 ? { outcome: 'retried', runAfter } : undefined;
    }
    const done = await this.finish(db, id, token, { status: 'FAILED', error });
    return done ? { outcome: 'failed', runAfter: new Date().toISOString() } : undefined;
  }

  /**
   * Running jobs whose lease ran out (their worker died or hung): retried with backoff while
   * attempts remain, otherwise FAILED with the reason; a cancel request turns into CANCELLED.
   * Never leaves one RUNNING. `exceptOwners` are this process's live workers.
   */
  async expireLeases(
    db: SqlExecutor,
    backoffMs: (attempt: number) => number,
    exceptJobIds: ReadonlySet<string> = new Set(),
    now = new Date(),
  ): Promise<ExpiredLease[]> {
    const nowText = now.toISOString();
    const rows = await db.query<{
      id: string;
      type: string;
      queue: string;
      attempts: number;
      max_attempts: number;
      cancel_requested: number;
      lease_token: string;
    }>(
      `SELECT id, type, queue, attempts, max_attempts, cancel_requested, lease_token FROM job
       WHERE status IN ${ACTIVE} AND lease_expires < ?`,
      [nowText],
    );
    const out: ExpiredLease[] = [];
    for (const row of rows) {
      if (exceptJobIds.has(row.id)) continue;
      let outcome: ExpiredLease['outcome'];
      let runAfter = nowText;
      let status: JobStatus;
      let error: string;
      if (Number(row.cancel_requested)) {
        outcome = 'cancelled';
        status = 'CANCELLED';
        error = 'Cancelled; the worker had stopped responding';
      } else if (Number(row.attempts) < Number(row.max_attempts)) {
        outcome = 'retried';
        status = 'QUEUED';
        runAfter = new Date(now.getTime() + backoffMs(Number(row.attempts))).toISOString();
        error = `Worker stopped responding (lease expired) during attempt ${row.attempts}; retrying`;
      } else {
        outcome = 'failed';
        status = 'FAILED';
        error = `Worker stopped responding (lease expired) during attempt ${row.attempts} of ${row.max_attempts}; giving up`;
      }
      const finished = status === 'QUEUED' ? null : nowText;
      const result = await db.execute(
        `UPDATE job SET status = ?, run_after = ?, error = ?, finished = ?, lease_token = NULL, lease_owner = NULL, lease_expires = NULL
         WHERE id = ? AND lease_token = ? AND status IN ${ACTIVE}`,
        [status, runAfter, error, finished, row.id, row.lease_token],
      );
      if (result.changes !== 1) continue;
      await this.addNotification(
        db,
        row.id,
        outcome === 'retried' ? 'WARN' : 'ERROR',
        error,
        status !== 'QUEUED',
      );
      out.push({ id: row.id, type: row.type, queue: row.queue, outcome, runAfter });
    }
    return out;
  }

  /**
   * Cancels a queued job at once; asks a running one to stop (its worker sees the flag at the next
   * heartbeat or progress write and aborts). Returns the job after the change.
   */
  async requestCancel(db: SqlExecutor, id: string): Promise<JobRecord | undefined> {
    const now = new Date().toISOString();
    const queued = await db.execute(
      `UPDATE job SET status = 'CANCELLED', finished = ?, error = 'Cancelled before it started' WHERE id = ? AND status = 'QUEUED'`,
      [now, id],
    );
    if (queued.changes === 1) {
      await this.addNotification(db, id, 'INFO', 'Job cancelled before it started', true);
    } else {
      await db.execute(`UPDATE job SET cancel_requested = 1 WHERE id = ? AND status IN ${ACTIVE}`, [id]);
    }
    return this.get(id, db);
  }

  async addNotification(
    db: SqlExecutor,
    jobId: string,
    level: NotificationLevel,
    message: string,
    completed = false,
  ): Promise<void> {
    await db.execute(
      'INSERT INTO job_notification (uid, job_id, level, time, message, completed) VALUES (?, ?, ?, ?, ?, ?)',
      [generateUid(), jobId, level, new Date().toISOString(), message, completed ? 1 : 0],
    );
  }

  async countNotifications(jobId: string): Promise<number> {
    const row = await this.storage.queryOne<{ n: number }>(
      'SELECT COUNT(*) AS n FROM job_notification WHERE job_id = ?',
      [jobId],
    );
    return Number(row?.n ?? 0);
  }

  /** Newest first, as DHIS2's task endpoint returns them. */
  async notifications(jobId: string, db: SqlExecutor = this.storage): Promise<JobNotification[]> {
    const rows = await db.query<{
      uid: string;
      level: NotificationLevel;
      time: string;
      message: string;
      completed: number;
    }>(
      'SELECT uid, level, time, message, completed FROM job_notification WHERE job_id = ? ORDER BY notification_id DESC',
      [jobId],
    );
    return rows.map((r) => ({
      uid: r.uid,
      level: r.level,
      time: r.time,
      message: r.message,
      completed: Number(r.completed) === 1,
    }));
  }

  /** Deletes finished jobs (and their notifications) finished before `before`; returns their ids. */
  async deleteFinishedBefore(
    before: Date,
    filter: { type?: string; id?: string } = {},
    db?: SqlExecutor,
  ): Promise<string[]> {
    if (!db) return this.storage.transaction((tx) => this.deleteFinishedBefore(before, filter, tx));
    const where = [`status IN ('COMPLETED', 'FAILED', 'CANCELLED')`, 'finished < ?'];
    const params: SqlValue[] = [before.toISOString()];
    if (filter.type) {
      where.push('type = ?');
      params.push(filter.type);
    }
    if (filter.id) {
      where.push('id = ?');
      params.push(filter.id);
    }
    const rows = await db.query<{ id: string }>(
      `DELETE FROM job WHERE ${where.join(' AND ')} RETURNING id`,
      params,
    );
    return rows.map((r) => r.id);
  }
}

export function parseJson(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return JSON.parse(value) as unknown;
  return value;
}

export function toJobRecord(row: SqlRow): JobRecord {
  const stage = row.stage as string | null;
  return {
    id: row.id as string,
    number: Number(row.number),
    type: row.type as string,
    queue: row.queue as string,
    status: row.status as JobStatus,
    params: (parseJson(row.params) ?? {}) as JobParams,
    inputFileId: (row.input_file_id as string | null) ?? null,
    userUid: (row.user_uid as string | null) ?? null,
    dedupeKey: (row.dedupe_key as string | null) ?? null,
    created: row.created as string,
    started: (row.started as string | null) ?? null,
    finished: (row.finished as string | null) ?? null,
    runAfter: row.run_after as string,
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    leaseOwner: (row.lease_owner as string | null) ?? null,
    leaseExpires: (row.lease_expires as string | null) ?? null,
    cancelRequested: Number(row.cancel_requested) === 1,
    progress:
      stage === null || stage === undefined
        ? null
        : {
            stage,
            processed: Number(row.processed ?? 0),
            ...(row.total === null || row.total === undefined ? {} : { total: Number(row.total) }),
            rowsPerSecond: row.rows_per_second === null ? null : Number(row.rows_per_second),
            updated: (row.progress_updated as string | null) ?? null,
          },
    summary: parseJson(row.summary),
    error: (row.error as string | null) ?? null,
    outputFileId: (row.output_file_id as string | null) ?? null,
  };
}
