import type { SqlExecutor } from '../storage/storage.ts';
import type { JobInput, JobProgress, JobType, NotificationLevel } from './job-types.ts';

/** What a running handler can do besides its work. */
export interface JobContext {
  /** Aborted when the job is cancelled or this worker lost its lease; stop promptly and throw. */
  readonly signal: AbortSignal;
  /** Records progress; written to the job row at most about once a second, with rows/s. */
  progress(progress: JobProgress): void;
  /** Appends one of DHIS2's task notifications. */
  notify(level: NotificationLevel, message: string): void;
  /**
   * Fencing for the handler's final transaction: extends this worker's lease inside `tx`, or throws
   * `LeaseLostError` when another worker has taken the job over. On PostgreSQL the row stays locked
   * until `tx` commits, so the lease can't be taken away between the check and the commit.
   */
  assertLeaseHeld(tx: SqlExecutor): Promise<void>;
  /** The lease token of this run; changes on every claim. */
  readonly fencingToken: string;
  /** Shows COMPRESSING (or back to RUNNING) on the job; exports use it while they zip. */
  setPhase(phase: 'RUNNING' | 'COMPRESSING'): Promise<void>;
}

/** Runs one job and resolves to its summary (an ImportReport, an ImportSummary, an export card...). */
export type JobHandler = (job: JobInput, context: JobContext) => Promise<unknown>;

/** The closing notification DHIS2 writes, made from the summary. */
export interface CompletionMessage {
  level: NotificationLevel;
  message: string;
}

export interface JobHandlerOptions {
  /** Concurrency group; exports share 'export' (one at a time by default), imports 'default'. */
  queue?: string;
  /** Runs including retries after transient faults and dead workers; default 3. */
  maxAttempts?: number;
  /** The closing notification; defaults to `describeImportCompletion`. */
  completionMessage?: (summary: unknown) => CompletionMessage;
  /**
   * Runs once the job's final status (COMPLETED, or FAILED with no retry left) is committed, in the
   * worker that finished it, or in the node whose lease sweep failed it after its worker died (the
   * export queue tells the requester their file is ready). Its errors are logged and never change
   * the job.
   */
  onFinished?: (job: FinishedJob) => Promise<void>;
}

/** What `onFinished` is told. */
export interface FinishedJob {
  id: string;
  type: JobType;
  userUid: string | null;
  status: 'COMPLETED' | 'FAILED';
}

export interface RegisteredJobHandler extends Required<
  Omit<JobHandlerOptions, 'completionMessage' | 'onFinished'>
> {
  type: JobType;
  handler: JobHandler;
  completionMessage: (summary: unknown) => CompletionMessage;
  onFinished?: (job: FinishedJob) => Promise<void>;
}

export const DEFAULT_MAX_ATTEMPTS = 3;

/** Which handler runs each job type. A worker claims only the types it has handlers for. */
export class JobHandlerRegistry {
  private readonly handlers = new Map<string, RegisteredJobHandler>();
  private readonly parent: JobHandlerRegistry | undefined;

  /** A registry with a `parent` sees the parent's handlers too (its own win). */
  constructor(parent?: JobHandlerRegistry) {
    this.parent = parent;
  }

  register(type: JobType, handler: JobHandler, options: JobHandlerOptions = {}): void {
    if (!/^[A-Z][A-Z0-9_]{0,63}$/.test(type)) throw new Error(`Job type '${type}' must be UPPER_SNAKE_CASE`);
    this.handlers.set(type, {
      type,
      handler,
      queue: options.queue ?? (type.endsWith('_EXPORT') ? 'export' : 'default'),
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      completionMessage: options.completionMessage ?? describeImportCompletion,
      ...(options.onFinished ? { onFinished: options.onFinished } : {}),
    });
  }

  get(type: string): RegisteredJobHandler | undefined {
    return this.handlers.get(type) ?? this.parent?.get(type);
  }

  types(): string[] {
    return [...new Set([...(this.parent?.types() ?? []), ...this.handlers.keys()])];
  }

  /** Queue name → the types registered in it. */
  queues(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const type of this.types()) {
      const entry = this.get(type);
      if (!entry) continue;
      out.set(entry.queue, [...(out.get(entry.queue) ?? []), entry.type]);
    }
    return out;
  }
}

/** The process-wide registry the importers and exporters add their handlers to at start-up. */
export const jobHandlers = new JobHandlerRegistry();

/**
 * Registers the handler for a job type in the process-wide registry. Call it once at start-up,
 * e.g. `registerJobHandler('DATAVALUE_IMPORT', runDataValueImport, { completionMessage })`.
 */
export function registerJobHandler(
  type: JobType,
  handler: JobHandler,
  options: JobHandlerOptions = {},
): void {
  jobHandlers.register(type, handler, options);
}

/**
 * DHIS2's closing line, from an ImportReport (`stats.created` ...) or an ImportSummary
 * (`importCount.imported` ...): "Import complete with status OK, 3 created, 0 updated, 0 deleted,
 * 0 ignored". A summary of neither shape gives "Job complete".
 */
export function describeImportCompletion(summary: unknown): CompletionMessage {
  if (summary === null || summary === undefined) {
    return { level: 'ERROR', message: 'Import failed, no summary available' };
  }
  if (typeof summary !== 'object') return { level: 'INFO', message: 'Job complete' };
  const s = summary as {
    status?: unknown;
    stats?: Record<string, unknown>;
    importCount?: Record<string, unknown>;
  };
  const counts = s.stats
    ? {
        created: s.stats.created,
        updated: s.stats.updated,
        deleted: s.stats.deleted,
        ignored: s.stats.ignored,
      }
    : s.importCount
      ? {
          created: s.importCount.imported,
          updated: s.importCount.updated,
          deleted: s.importCount.deleted,
          ignored: s.importCount.ignored,
        }
      : undefined;
  if (!counts) return { level: 'INFO', message: 'Job complete' };
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  const status = typeof s.status === 'string' ? s.status : 'OK';
  return {
    level: status === 'ERROR' ? 'ERROR' : status === 'WARNING' ? 'WARN' : 'INFO',
    message: `Import complete with status ${status}, ${n(counts.created)} created, ${n(counts.updated)} updated, ${n(counts.deleted)} deleted, ${n(counts.ignored)} ignored`,
  };
}

/** Throw (or wrap a cause in) this for a fault worth retrying: a lost connection, a busy database. */
export class TransientJobError extends Error {
  readonly transient = true;
}

/** A handler failure that carries a summary to keep (DHIS2 stores an ERROR ImportSummary). */
export class JobFailedError extends Error {
  readonly summary: unknown;
  constructor(message: string, summary?: unknown) {
    super(message);
    this.summary = summary;
  }
}

/** Thrown by `assertLeaseHeld` and used as the abort reason when another worker took the job. */
export class LeaseLostError extends Error {
  constructor(jobId: string) {
    super(`Lease on job ${jobId} was lost; another worker owns it now`);
  }
}

/** The abort reason when a user cancels a running job. */
export class JobCancelledError extends Error {
  /** What the job did before it stopped, when that is kept (a non-atomic import's written batches). */
  readonly summary?: unknown;

  constructor(jobId: string, summary?: unknown) {
    super(`Job ${jobId} was cancelled`);
    this.summary = summary;
  }
}

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EBUSY',
  'EAGAIN',
  'SQLITE_BUSY',
  'SQLITE_LOCKED',
  '40001', // serialization_failure
  '40P01', // deadlock_detected
  '57P01', // admin_shutdown
  '08006', // connection_failure
]);

/** Whether an error is worth a retry. Validation errors and bugs are not. */
export function isTransientError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { transient?: unknown; code?: unknown; errcode?: unknown; cause?: unknown };
  if (e.transient === true) return true;
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true;
  if (typeof e.errcode === 'string' && TRANSIENT_CODES.has(e.errcode)) return true;
  return e.cause !== undefined && e.cause !== error ? isTransientError(e.cause) : false;
}
