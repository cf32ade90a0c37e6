import type { Storage, SqlValue } from '../../storage/storage.ts';
import type { JobHandlerRegistry, JobHandler } from '../../jobs/job-handlers.ts';
import { JobCancelledError, JobFailedError } from '../../jobs/job-handlers.ts';
import type { JobInput } from '../../jobs/job-types.ts';
import { isFerryError } from '../../errors.ts';
import type { AuditEntry, AuditFilter, AuditOutcome, AuditRecord, AuditType } from './audit-types.ts';
import { formatOf, summaryCounts } from './audit-redaction.ts';

const COLUMNS = [
  'created',
  'updated',
  'type',
  'outcome',
  'username',
  'user_uid',
  'auth_kind',
  'client_ip',
  'request_id',
  'job_id',
  'method',
  'path',
  'status',
  'format',
  'file_name',
  'file_size',
  'file_sha256',
  'options',
  'counts',
  'message',
] as const;

/** What an HTTP record of a queued job sets on the job's row if the job got there first. */
const REQUEST_SIDE_COLUMNS = [
  'type',
  'username',
  'auth_kind',
  'client_ip',
  'request_id',
  'method',
  'path',
  'status',
  'options',
] as const;

const MAX_MESSAGE_CHARS = 300;

export interface AuditPage {
  pager: { page: number; pageCount: number; total: number; pageSize: number };
  audits: AuditRecord[];
}

/**
 * The audit log: who did what, when, how it ended. Kept in the database (table `audit_log`), read
 * by administrators through `GET /api/audits`. Recording never fails the action it records: a write
 * that fails is reported on stderr instead. Callers pass only what may be kept (see
 * audit-redaction.ts): no password, token or cell value reaches this service.
 */
export class AuditService {
  private readonly storage: Storage;
  private readonly log: (line: string) => void;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(storage: Storage, log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)) {
    this.storage = storage;
    this.log = log;
  }

  /**
   * Writes one record. A record with a job id is one row per job: if the job's own record is
   * there already (a fast job finishes before its request's record is written), the request's
   * fields are added to it and the job's outcome kept.
   */
  record(entry: AuditEntry): Promise<void> {
    return this.track(this.write(entry, 'request'));
  }

  /** Resolves once every record started so far is written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Writes stderr's line for an internal error: always, whatever FERRY_LOG says. */
  logInternalError(reference: string, where: string, error: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.log(`ferry: internal error (reference ${reference}) on ${where}: ${detail}`);
  }

  /**
   * Wraps every registered job handler so a job's outcome (counts, status, reason code) lands on
   * its audit row, whichever process runs it. Behaviour is unchanged: results and errors pass
   * through.
   */
  wrapJobHandlers(registry: JobHandlerRegistry): void {
    for (const type of registry.types()) {
      const registered = registry.get(type);
      if (!registered) continue;
      const inner = registered.handler;
      const wrapped: JobHandler = async (job, jobContext) => {
        try {
          const summary = await inner(job, jobContext);
          await this.recordJob(job, outcomeOfSummary(summary), summary);
          return summary;
        } catch (error) {
          const summary =
            error instanceof JobCancelledError || error instanceof JobFailedError ? error.summary : undefined;
          await this.recordJob(job, outcomeOfError(error), summary, error);
          throw error;
        }
      };
      registry.register(registered.type, wrapped, {
        queue: registered.queue,
        maxAttempts: registered.maxAttempts,
        completionMessage: registered.completionMessage,
        ...(registered.onFinished ? { onFinished: registered.onFinished } : {}),
      });
    }
  }

  private recordJob(job: JobInput, outcome: AuditOutcome, summary: unknown, error?: unknown): Promise<void> {
    const { counts } = summaryCounts(summary);
    const file = job.inputFile;
    const reason = error === undefined ? null : `attempt ${job.attempt}: ${safeReason(error)}`;
    return this.track(
      this.write(
        {
          type: typeOfJob(job.type),
          outcome,
          userUid: job.userUid,
          authKind: 'job',
          jobId: job.id,
          format: file ? formatOf(file.contentType, file.originalName) : null,
          fileName: file?.originalName ?? null,
          fileSize: file?.size ?? null,
          fileSha256: file?.sha256 ?? null,
          counts,
          message: reason,
        },
        'job',
      ),
    );
  }

  async list(filter: AuditFilter, page: number, pageSize: number): Promise<AuditPage> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    const add = (sql: string, value: SqlValue | undefined) => {
      if (value === undefined) return;
      where.push(sql);
      params.push(value);
    };
    add('username = ?', filter.user);
    add('type = ?', filter.type);
    add('outcome = ?', filter.outcome);
    add('created >= ?', filter.since);
    add('created < ?', filter.until);
    add('job_id = ?', filter.jobId);
    add('request_id = ?', filter.requestId);
    const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const total = Number(
      (await this.storage.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_log ${clause}`, params))
        ?.n ?? 0,
    );
    // Page numbers need OFFSET; an administrator pages a bounded, filtered list, not an export.
    const rows = await this.storage.query<Record<string, unknown>>(
      `SELECT id, ${COLUMNS.join(', ')} FROM audit_log ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`,
      [...params, pageSize, (page - 1) * pageSize],
    );
    return {
      pager: { page, pageCount: Math.max(1, Math.ceil(total / pageSize)), total, pageSize },
      audits: rows.map(toRecord),
    };
  }

  private track(work: Promise<void>): Promise<void> {
    const tracked = work.catch((error: unknown) => {
      this.log(
        `ferry: audit record could not be written: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
    return tracked;
  }

  private async write(entry: AuditEntry, side: 'request' | 'job'): Promise<void> {
    const now = new Date().toISOString();
    const values: SqlValue[] = [
      now,
      now,
      entry.type,
      entry.outcome,
      entry.username ?? null,
      entry.userUid ?? null,
      entry.authKind ?? null,
      entry.clientIp ?? null,
      entry.requestId ?? null,
      entry.jobId ?? null,
      entry.method ?? null,
      entry.path ?? null,
      entry.status ?? null,
      entry.format ?? null,
      entry.fileName ?? null,
      entry.fileSize ?? null,
      entry.fileSha256 ?? null,
      entry.options ? JSON.stringify(entry.options) : null,
      entry.counts ? JSON.stringify(entry.counts) : null,
      entry.message ? entry.message.slice(0, MAX_MESSAGE_CHARS) : null,
    ];
    const insert = `INSERT INTO audit_log (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`;
    if (!entry.jobId) {
      await this.storage.execute(insert, values);
      return;
    }
    // One row per job (unique partial index on job_id): the request writes who and how, the job
    // writes the outcome; whichever comes second fills in its part.
    const update =
      side === 'request'
        ? [
            ...REQUEST_SIDE_COLUMNS.map((c) => `${c} = excluded.${c}`),
            ...['user_uid', 'format', 'file_name', 'file_size', 'file_sha256'].map(
              (c) => `${c} = COALESCE(audit_log.${c}, excluded.${c})`,
            ),
          ]
        : [
            'outcome = excluded.outcome',
            'updated = excluded.updated',
            'message = excluded.message',
            'counts = COALESCE(excluded.counts, audit_log.counts)',
            ...['user_uid', 'format', 'file_name', 'file_size', 'file_sha256'].map(
              (c) => `${c} = COALESCE(audit_log.${c}, excluded.${c})`,
            ),
          ];
    await this.storage.execute(
      `${insert} ON CONFLICT (job_id) WHERE job_id IS NOT NULL DO UPDATE SET ${update.join(', ')}`,
      values,
    );
  }
}

function toRecord(row: Record<string, unknown>): AuditRecord {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const int = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(row.id),
    created: String(row.created),
    updated: String(row.updated),
    type: row.type as AuditType,
    outcome: row.outcome as AuditOutcome,
    username: text(row.username),
    userUid: text(row.user_uid),
    authKind: text(row.auth_kind) as AuditRecord['authKind'],
    clientIp: text(row.client_ip),
    requestId: text(row.request_id),
    jobId: text(row.job_id),
    method: text(row.method),
    path: text(row.path),
    status: int(row.status),
    format: text(row.format),
    fileName: text(row.file_name),
    fileSize: int(row.file_size),
    fileSha256: text(row.file_sha256),
    options: row.options ? (JSON.parse(String(row.options)) as Record<string, unknown>) : null,
    counts: row.counts ? (JSON.parse(String(row.counts)) as Record<string, number>) : null,
    message: text(row.message),
  };
}

function typeOfJob(type: string): AuditType {
  if (type.endsWith('_IMPORT')) return 'IMPORT';
  if (type.endsWith('_EXPORT')) return 'EXPORT';
  return 'ADMIN';
}

function outcomeOfSummary(summary: unknown): AuditOutcome {
  return summaryCounts(summary).status === 'ERROR' ? 'FAILURE' : 'SUCCESS';
}

function outcomeOfError(error: unknown): AuditOutcome {
  if (error instanceof JobCancelledError) return 'CANCELLED';
  if (error instanceof JobFailedError) return 'FAILURE';
  if (isFerryError(error))
    return error.status === 401 || error.status === 403 ? 'DENIED' : error.status < 500 ? 'FAILURE' : 'ERROR';
  return 'ERROR';
}

/**
 * Why a job failed, as far as the log may say: a catalog code, or the error's class. Messages are
 * left out: an input error quotes the offending cell, and that value must not reach the log.
 */
function safeReason(error: unknown): string {
  if (isFerryError(error)) return error.code;
  const code = (error as { code?: unknown } | null)?.code;
  const name = error instanceof Error ? error.name : 'Error';
  return typeof code === 'string' && /^[A-Za-z0-9_]{1,20}$/.test(code) ? `${name} ${code}` : name;
}
