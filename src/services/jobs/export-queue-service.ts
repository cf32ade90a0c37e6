import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SqlExecutor, SqlRow } from '../../storage/storage.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import { FerryError } from '../../errors.ts';
import { parseJson } from '../../jobs/job-store.ts';
import {
  isTransientError,
  JobFailedError,
  LeaseLostError,
  TransientJobError,
  type JobContext,
} from '../../jobs/job-handlers.ts';
import { isFinished, type JobParams, type JobRecord, type JobStatus } from '../../jobs/job-types.ts';
import type { JobService, JobViewer } from './job-service.ts';
import type { ExportNoticeService } from './export-notice-service.ts';
import type { FinishedJob } from '../../jobs/job-handlers.ts';
import { checkExportDirectory, deliverExportFile, makeExportDirectory } from './export-directory.ts';
import {
  attachmentDisposition,
  compressionSuffix,
  compressStream,
  EXPORT_COMPRESSIONS,
  EXPORT_ENCRYPTION,
  exportPasswordProblem,
  type ExportCompression,
} from './export-compression.ts';

/** Attempts per export job (the first run and two retries with backoff). */
const EXPORT_MAX_ATTEMPTS = 3;

/**
 * Where a finished export goes: a download, a server directory, or a registered destination type
 * (`remote`: an rclone remote, services/jobs/destinations/rclone-destination.ts).
 */
export type ExportDestination =
  | { type: 'download' }
  | { type: 'directory'; path: string }
  | { type: 'remote'; remote: string; name?: string; path: string };

/** A destination type registered from outside the queue (cloud destinations). */
export interface ExportDestinationHandler {
  /** At request time: the destination as stored with the job, or a FerryError. */
  check(viewer: JobViewer | null, destination: ExportDestination): Promise<ExportDestination>;
  /** After the file is made: delivers it, resolving to where it went (shown on the card). */
  deliver(
    path: string,
    fileName: string,
    destination: ExportDestination,
    job: { userUid: string | null; signal: AbortSignal },
  ): Promise<string>;
}

/** What a producer gets besides its parameters and output stream. */
export interface ExportProducerContext {
  readonly signal: AbortSignal;
  readonly format: string;
  /** Who asked for the export (null: the CLI operator); producers check authorities and scope. */
  readonly userUid: string | null;
  progress: JobContext['progress'];
  notify: JobContext['notify'];
  /**
   * A protected export's password, given only to a producer that writes its own archive
   * (`writesArchive`), which encrypts every entry with it; never stored or logged.
   */
  readonly password?: string;
}

/**
 * Writes one export to `out` (streaming; never the whole file in memory) and resolves to a short
 * summary (counts). `out` is ended by the queue, not the producer.
 */
export type ExportProducer = (
  params: JobParams,
  out: Writable,
  context: ExportProducerContext,
) => Promise<unknown>;

export interface ExportProducerOptions {
  /** Formats this producer writes; the first is the default. */
  formats: readonly string[];
  /** The job type; default `<KIND in upper snake case>_EXPORT`. */
  jobType?: string;
  /** File extension per format; default the format name. */
  extension?: (format: string) => string;
  contentType?: (format: string) => string;
  /** What was asked for, in words, for the card. */
  describe?: (params: JobParams, format: string) => string;
  /**
   * Checks parameters (and the viewer's authorities) at request time; throw FerryError for bad ones.
   * May be async, for checks that read the database (a program's UID, the viewer's scope).
   */
  validate?: (params: JobParams, format: string, viewer: JobViewer | null) => void | Promise<void>;
  /**
   * The producer writes a whole zip archive of several files itself (analysis exports): the queue
   * neither compresses nor wraps its output, and hands it a protected export's password to encrypt
   * each entry with, so the archive opens to the files, not to another zip.
   */
  writesArchive?: boolean;
  /** How long this kind's download is kept; default FERRY_EXPORT_FILE_HOURS (pool exports: one hour). */
  fileLifetimeMs?: number;
}

interface RegisteredProducer extends Required<
  Omit<ExportProducerOptions, 'validate' | 'fileLifetimeMs' | 'writesArchive'>
> {
  writesArchive: boolean;
  kind: string;
  fileLifetimeMs?: number;
  producer: ExportProducer;
  validate?: ExportProducerOptions['validate'];
}

export interface ExportRequest {
  kind: string;
  params?: JobParams;
  format?: string;
  compression?: string;
  /**
   * Protects the file: a zip whose entry is AES-256 encrypted. Held only in this process's memory
   * until the job has produced the file; never stored, logged or shown (see docs/security.md).
   */
  password?: string | null;
  destination?: ExportDestination;
}

/** One export's card, after Survey Solutions' export card. */
export interface ExportCard {
  id: string;
  jobNumber: number;
  kind: string;
  status: JobStatus;
  created: string;
  started: string | null;
  finished: string | null;
  timeInQueueSeconds: number | null;
  timeProducingSeconds: number | null;
  description: string;
  format: string;
  compression: ExportCompression;
  /** Whether the file is a password-protected zip; the password itself is never kept. */
  passwordProtected: boolean;
  /** `AES-256` for a protected file, null otherwise. */
  encryption: string | null;
  destination: ExportDestination;
  requestedBy: string | null;
  progress: JobRecord['progress'];
  error: string | null;
  params: JobParams;
  file: {
    name: string;
    size: number;
    sizeText: string;
    created: string;
    expires: string | null;
    expired: boolean;
    downloadUrl: string | null;
    deliveredTo: string | null;
  } | null;
  /** The newer job whose file replaced this one's (regenerate). */
  replacedBy: string | null;
}

function toJobTypeName(kind: string): string {
  return `${kind.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}_EXPORT`;
}

/** Survey Solutions' file size text: 0.1 MB minimum, one decimal below 10 MB. */
export function fileSizeText(bytes: number): string {
  const mb = bytes / 1024 / 1024;
  if (mb < 1) return `${Math.max(0.1, Math.round(mb * 10) / 10)} MB`;
  if (mb < 10) return `${Math.round(mb * 10) / 10} MB`;
  return `${Math.round(mb)} MB`;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The export queue: requests become jobs (an identical request queued or running returns that
 * job), producers stream into a file, the file is compressed (COMPRESSING) and delivered (download
 * link with expiry, or a server directory under an allow-listed root), and cards describe it all.
 */
export class ExportQueueService {
  private readonly jobs: JobService;
  private readonly producers = new Map<string, RegisteredProducer>();
  /**
   * Passwords of protected exports queued by this process, by job id, kept until their job has
   * produced the file or finished otherwise. Never written anywhere: a restart loses them.
   */
  private readonly passwords = new Map<string, string>();
  /**
   * Keys the deduplication of protected requests: an HMAC of the request and its password, so two
   * requests differing only in the password get two jobs, while the stored key reveals nothing
   * that could be brute-forced offline (the key never leaves this process).
   */
  private readonly dedupeSecret = randomBytes(32);

  /** Tells requesters when their export is ready (web app notices, email); none in bare test queues. */
  readonly notices: ExportNoticeService | undefined;

  constructor(jobs: JobService, options: { notices?: ExportNoticeService } = {}) {
    this.jobs = jobs;
    this.notices = options.notices;
  }

  private readonly destinations = new Map<string, ExportDestinationHandler>();

  /** Adds a destination type (`remote`). */
  registerDestination(type: string, handler: ExportDestinationHandler): void {
    this.destinations.set(type, handler);
  }

  /** Adds an export kind. Its job type gets a handler on this context's queue ('export' group). */
  registerExportProducer(kind: string, producer: ExportProducer, options: ExportProducerOptions): void {
    if (!/^[a-z][A-Za-z0-9]*$/.test(kind)) throw new Error(`Export kind '${kind}' must be camelCase`);
    if (options.formats.length === 0) throw new Error(`Export kind '${kind}' needs at least one format`);
    const registered: RegisteredProducer = {
      kind,
      producer,
      formats: options.formats,
      jobType: options.jobType ?? toJobTypeName(kind),
      extension: options.extension ?? ((format) => format),
      contentType:
        options.contentType ??
        ((format) => (format === 'json' ? 'application/json' : 'application/octet-stream')),
      describe: options.describe ?? ((_params, format) => `${kind} export as ${format}`),
      validate: options.validate,
      writesArchive: options.writesArchive ?? false,
      fileLifetimeMs: options.fileLifetimeMs,
    };
    this.producers.set(kind, registered);
    this.jobs.registerHandler(
      registered.jobType,
      (job, context) => this.run(job.id, registered, job.params, context, job.attempt),
      {
        queue: 'export',
        maxAttempts: EXPORT_MAX_ATTEMPTS,
        completionMessage: (summary) => {
          const s = summary as { fileName?: string; size?: number } | null;
          return {
            level: 'INFO',
            message: `Export complete: ${s?.fileName ?? 'file'} (${s?.size ?? 0} bytes)`,
          };
        },
        onFinished: (job) => this.finished(job),
      },
    );
  }

  /** After an export's final status is committed: the requester is told, once. */
  private async finished(job: FinishedJob): Promise<void> {
    if (!this.notices) return;
    const card = await this.card(null, job.id);
    await this.notices.exportFinished({
      id: card.id,
      jobNumber: card.jobNumber,
      description: card.description,
      status: job.status,
      requestedBy: card.requestedBy,
      fileName: card.file?.name ?? null,
      downloadPath: card.file?.downloadUrl ?? null,
      expires: card.file?.expires ?? null,
      deliveredTo: card.file?.deliveredTo ?? null,
      error: card.error,
    });
  }

  kinds(): string[] {
    return [...this.producers.keys()];
  }

  async request(
    viewer: JobViewer | null,
    request: ExportRequest,
  ): Promise<{ card: ExportCard; existing: boolean }> {
    const producer = this.producers.get(request.kind);
    if (!producer) throw new FerryError('F1000', ['kind', request.kind, this.kinds().join(', ')]);
    const format = request.format ?? producer.formats[0];
    if (!producer.formats.includes(format))
      throw new FerryError('F1000', ['format', format, producer.formats.join(', ')]);
    const password = request.password ?? undefined;
    if (password !== undefined) this.checkPasswordRequest(password, request.compression);
    // A producer writing its own archive gets no second compression.
    const compression = (
      producer.writesArchive ? 'none' : (request.compression ?? (password !== undefined ? 'zip' : 'none'))
    ) as ExportCompression;
    if (!EXPORT_COMPRESSIONS.includes(compression)) {
      throw new FerryError('F1000', [
        'compression',
        String(request.compression),
        EXPORT_COMPRESSIONS.join(', '),
      ]);
    }
    const params = request.params ?? {};
    await producer.validate?.(params, format, viewer);
    const wanted = request.destination ?? { type: 'download' };
    const handler = this.destinations.get(String((wanted as { type?: unknown }).type));
    const destination = handler ? await handler.check(viewer, wanted) : this.checkDestination(wanted);
    // A protected file belongs to whoever knows its password: its requester. So protected
    // requests never share a natural key (file replacement on regenerate) with another user's.
    const protection =
      password !== undefined ? { encryption: EXPORT_ENCRYPTION, requestedBy: viewer?.uid ?? null } : {};
    const naturalKey = createHash('sha256')
      .update(canonicalJson({ kind: request.kind, params, format, compression, destination, ...protection }))
      .digest('hex');
    const dedupeKey =
      password === undefined
        ? naturalKey
        : createHmac('sha256', this.dedupeSecret)
            .update(naturalKey)
            .update('\0')
            .update(password)
            .digest('hex');
    if (password !== undefined) await this.forgetFinishedPasswords();
    const queue = await this.jobs.queue();
    let heldFor: string | undefined;
    const outcome = await this.jobs.storage
      .transaction(async (tx) => {
        if (tx.kind === 'postgres')
          await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', [dedupeKey]);
        const existing = await queue.store.findActiveByDedupeKey(tx, dedupeKey);
        if (existing) return { id: existing.id, existing: true };
        const job = await queue.enqueue(tx, {
          type: producer.jobType,
          params: {
            kind: request.kind,
            format,
            compression,
            destination,
            params,
            ...(password !== undefined ? { encryption: EXPORT_ENCRYPTION } : {}),
          },
          userUid: viewer?.uid ?? null,
          dedupeKey,
        });
        // Held before the commit makes the job claimable, so a worker never finds it missing.
        if (password !== undefined) {
          heldFor = job.id;
          this.passwords.set(job.id, password);
        }
        await tx.execute(
          `INSERT INTO export_job (job_id, kind, format, compression, destination, description, natural_key)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
          [
            job.id,
            request.kind,
            format,
            compression,
            JSON.stringify(destination),
            producer.describe(params, format),
            naturalKey,
          ],
        );
        return { id: job.id, existing: false };
      })
      .catch((error: unknown) => {
        if (heldFor) this.passwords.delete(heldFor);
        throw error;
      });
    queue.wake();
    return { card: await this.card(viewer, outcome.id), existing: outcome.existing };
  }

  /**
   * A new job with the same parameters; its file replaces the old one's when it completes. A
   * password-protected export needs its password again (it was never stored); it may be a new one.
   */
  async regenerate(
    viewer: JobViewer | null,
    id: string,
    options: { password?: string | null } = {},
  ): Promise<{ card: ExportCard; existing: boolean }> {
    const old = await this.card(viewer, id);
    const password = options.password ?? undefined;
    if (old.passwordProtected && password === undefined) {
      throw new FerryError('F1004', [
        `password (export ${old.jobNumber} is password-protected and its password is not stored)`,
      ]);
    }
    if (!old.passwordProtected && password !== undefined) {
      throw new FerryError('F1000', [
        'password',
        '(hidden)',
        `none: export ${old.jobNumber} is not password-protected; request a new export with a password`,
      ]);
    }
    return this.request(viewer, {
      kind: old.kind,
      params: old.params,
      format: old.format,
      compression: old.compression,
      destination: old.destination,
      ...(password !== undefined ? { password } : {}),
    });
  }

  /** Password rules, checked before anything is queued. Errors never echo the password. */
  private checkPasswordRequest(password: unknown, compression: string | undefined): void {
    const problem = exportPasswordProblem(password);
    if (problem) throw new FerryError('F1000', ['password', '(hidden)', problem]);
    if (compression !== undefined && compression !== 'zip') {
      throw new FerryError('F1000', [
        'compression',
        String(compression),
        'zip (or leave it out) when a password is given: only a zip archive can be encrypted, gzip has no encryption',
      ]);
    }
    if (this.jobs.config.workers <= 0) {
      throw new FerryError('F1300', [
        'Password-protected exports are produced by the server that accepts the request (the password is ' +
          'held only in its memory), and this server runs no workers (FERRY_JOB_WORKERS=0)',
      ]);
    }
  }

  /** Drops held passwords whose job finished without running here (cancelled while queued, failed by a sweep). */
  private async forgetFinishedPasswords(): Promise<void> {
    if (this.passwords.size === 0) return;
    const store = (await this.jobs.queue()).store;
    for (const id of [...this.passwords.keys()]) {
      const job = await store.get(id);
      if (!job || isFinished(job.status)) this.passwords.delete(id);
    }
  }

  async list(viewer: JobViewer, limit = 50): Promise<ExportCard[]> {
    const types = [...this.producers.values()].map((p) => p.jobType);
    const jobs = await this.jobs.list(viewer, { types, limit });
    const cards: ExportCard[] = [];
    for (const job of jobs) {
      const row = await this.row(job.id);
      if (row) cards.push(toCard(job, row));
    }
    return cards;
  }

  async card(viewer: JobViewer | null, id: string): Promise<ExportCard> {
    const job = await this.jobs.get(viewer, id);
    const row = await this.row(id);
    if (!row) throw new FerryError('F1200', ['Export', id]);
    return toCard(job, row);
  }

  /** The file to download; 410 Gone when it expired (the card stays). */
  async file(viewer: JobViewer | null, id: string) {
    const card = await this.card(viewer, id);
    if (!card.file) {
      if (card.replacedBy)
        throw new FerryError('F1400', [`Export ${id}'s file was replaced by export ${card.replacedBy}`]);
      throw new FerryError('F1300', [`Export ${id} has no file yet (status ${card.status})`]);
    }
    if (card.file.expired) {
      throw new FerryError('F1400', [
        `The file of export ${id} expired at ${card.file.expires}; regenerate it`,
      ]);
    }
    const row = await this.row(id);
    const stored = row?.file_id ? await this.jobs.files.get(String(row.file_id)) : undefined;
    if (!stored || !(await this.jobs.files.exists(stored))) {
      throw new FerryError('F1400', [`The file of export ${id} is no longer on the server; regenerate it`]);
    }
    return { card, file: stored, disposition: attachmentDisposition(card.file.name) };
  }

  private async row(id: string, db: SqlExecutor = this.jobs.storage): Promise<SqlRow | undefined> {
    return db.queryOne('SELECT * FROM export_job WHERE job_id = ?', [id]);
  }

  private checkDestination(destination: ExportDestination): ExportDestination {
    if (destination.type === 'download') return { type: 'download' };
    if (destination.type !== 'directory') {
      throw new FerryError('F1000', [
        'destination.type',
        String((destination as { type: unknown }).type),
        ['download', 'directory', ...this.destinations.keys()].join(', '),
      ]);
    }
    const root = this.jobs.config.exportDirectoryRoot;
    if (!root)
      throw new FerryError('F1300', [
        'Exports to a server directory are off: set FERRY_EXPORT_DIRECTORY_ROOT',
      ]);
    const target = this.resolveInRoot(root, destination.path);
    return { type: 'directory', path: relative(root, target) };
  }

  private resolveInRoot(root: string, path: unknown): string {
    if (typeof path !== 'string' || path.includes('\0') || isAbsolute(path)) {
      throw new FerryError('F1000', [
        'destination.path',
        String(path),
        'a relative path under the export root',
      ]);
    }
    const target = resolve(root, path);
    if (target !== root && !target.startsWith(root + sep)) {
      throw new FerryError('F1000', ['destination.path', path, 'a path that stays under the export root']);
    }
    // Checked again when the file is delivered: a link may be planted in between.
    checkExportDirectory(root, target, path);
    return target;
  }

  /** The export job's handler: produce, compress, store, deliver; the final write is fenced. */
  private async run(
    jobId: string,
    producer: RegisteredProducer,
    jobParams: JobParams,
    context: JobContext,
    attempt: number,
  ): Promise<unknown> {
    const protectedExport = jobParams.encryption !== undefined;
    try {
      const summary = await this.produce(jobId, producer, jobParams, context, attempt);
      this.passwords.delete(jobId);
      return summary;
    } catch (error) {
      // Kept only for a retry that may still run here; a lost lease leaves the job to its new owner.
      const retryComing =
        (isTransientError(error) && attempt < EXPORT_MAX_ATTEMPTS) || error instanceof LeaseLostError;
      if (protectedExport && !retryComing) this.passwords.delete(jobId);
      throw error;
    }
  }

  /**
   * A protected export's password, from this process's memory. Missing means the server that
   * accepted the request restarted, or another node claimed the job: a retry (with backoff) gives
   * the holder a chance to take it, and the last attempt fails saying what to do.
   */
  private passwordFor(job: JobRecord, attempt: number): string {
    const password = this.passwords.get(job.id);
    if (password !== undefined) return password;
    const message =
      `Export ${job.number} is password-protected and this server does not hold its password: a password ` +
      'is kept only in the memory of the server that accepted the request, never stored, so a restart (or ' +
      `another node taking the job) loses it. Regenerate the export with its password (POST /api/exports/${job.id}/regenerate)`;
    if (attempt < EXPORT_MAX_ATTEMPTS) throw new TransientJobError(message);
    throw new JobFailedError(message);
  }

  private async produce(
    jobId: string,
    producer: RegisteredProducer,
    jobParams: JobParams,
    context: JobContext,
    attempt: number,
  ): Promise<unknown> {
    const files = this.jobs.files;
    const job = await this.jobs.get(null, jobId);
    const password = jobParams.encryption !== undefined ? this.passwordFor(job, attempt) : undefined;
    const wrapEncrypted = password !== undefined && !producer.writesArchive;
    const format = String(jobParams.format);
    const compression = jobParams.compression as ExportCompression;
    const destination = jobParams.destination as ExportDestination;
    const params = (jobParams.params ?? {}) as JobParams;
    const baseName = `${producer.kind}-${job.number}.${producer.extension(format)}`;
    const fileName = `${baseName}${compressionSuffix(compression)}`;
    const fileId = generateUid();
    const finalPath = files.pathFor(fileId);
    mkdirSync(join(finalPath, '..'), { recursive: true });
    const rawPath = `${finalPath}.raw`;
    const producerContext: ExportProducerContext = {
      signal: context.signal,
      format,
      userUid: job.userUid,
      progress: context.progress,
      notify: context.notify,
      ...(producer.writesArchive && password !== undefined ? { password } : {}),
    };
    try {
      let produced: unknown;
      if (wrapEncrypted) {
        // Produced straight into the encrypting zip writer: the plaintext never reaches the disk.
        context.progress({ stage: 'Producing and encrypting', processed: 0 });
        const plain = new PassThrough();
        const written = pipeline(
          compressStream(plain, 'zip', baseName, { password }),
          createWriteStream(finalPath),
        );
        // A write failure while the producer still runs must not surface as an unhandled rejection;
        // it reaches the producer as an error on `plain` and is rethrown by the await below.
        written.catch(() => {});
        try {
          produced = await producer.producer(params, plain, producerContext);
          plain.end();
        } catch (error) {
          plain.destroy(error instanceof Error ? error : new Error(String(error)));
          await written.catch(() => {});
          throw error;
        }
        await written;
        context.signal.throwIfAborted();
      } else {
        context.progress({ stage: 'Producing', processed: 0 });
        const out = createWriteStream(rawPath, { flags: 'w' });
        produced = await producer.producer(params, out, producerContext);
        await new Promise<void>((resolveEnd, reject) => {
          out.once('error', reject);
          out.end(resolveEnd);
        });
        context.signal.throwIfAborted();
      }
      if (wrapEncrypted) {
        // Already a protected zip.
      } else if (compression !== 'none') {
        await context.setPhase('COMPRESSING');
        context.progress({ stage: 'Compressing', processed: 0 });
        await pipeline(
          compressStream(createReadStream(rawPath), compression, baseName),
          createWriteStream(finalPath),
        );
        await rm(rawPath, { force: true });
      } else {
        await rename(rawPath, finalPath);
      }
      const size = (await stat(finalPath)).size;
      const sha256 = await hashFile(finalPath);
      let deliveredTo: string | null = null;
      if (destination.type === 'directory') {
        const root = this.jobs.config.exportDirectoryRoot;
        if (!root) throw new Error('FERRY_EXPORT_DIRECTORY_ROOT is no longer set');
        const directory = this.resolveInRoot(root, destination.path);
        await makeExportDirectory(root, directory, destination.path);
        deliveredTo = await deliverExportFile(finalPath, directory, fileName);
      } else if (destination.type !== 'download') {
        const handler = this.destinations.get(destination.type);
        if (!handler) throw new Error(`Export destination type ${destination.type} is not registered here`);
        context.progress({ stage: 'Delivering', processed: 0 });
        deliveredTo = await handler.deliver(finalPath, fileName, destination, {
          userUid: job.userUid,
          signal: context.signal,
        });
      }
      const now = new Date();
      const expires = new Date(now.getTime() + (producer.fileLifetimeMs ?? this.jobs.config.exportFileMs));
      const replaced = await this.jobs.storage.transaction(async (tx) => {
        await context.assertLeaseHeld(tx);
        await files.record(
          tx,
          fileId,
          { path: finalPath, size, sha256 },
          {
            purpose: 'export',
            contentType:
              compression === 'gzip'
                ? 'application/gzip'
                : compression === 'zip'
                  ? 'application/zip'
                  : producer.contentType(format),
            originalName: fileName,
            expires,
          },
        );
        await tx.execute(
          `UPDATE export_job SET file_id = ?, file_name = ?, file_size = ?, file_created = ?, file_expires = ?, delivered_to = ?
           WHERE job_id = ?`,
          [fileId, fileName, size, now.toISOString(), expires.toISOString(), deliveredTo, jobId],
        );
        // Regenerate: this file replaces older ones made for the same request.
        const older = await tx.query<{ job_id: string; file_id: string | null }>(
          `SELECT job_id, file_id FROM export_job WHERE natural_key = (SELECT natural_key FROM export_job WHERE job_id = ?)
             AND job_id <> ? AND replaced_by IS NULL AND file_id IS NOT NULL`,
          [jobId, jobId],
        );
        for (const row of older) {
          await tx.execute('UPDATE export_job SET replaced_by = ?, file_id = NULL WHERE job_id = ?', [
            jobId,
            row.job_id,
          ]);
          if (row.file_id) await tx.execute('DELETE FROM stored_file WHERE id = ?', [row.file_id]);
        }
        return older;
      });
      for (const row of replaced) if (row.file_id) await rm(files.pathFor(row.file_id), { force: true });
      return { fileName, size, sha256, produced: produced ?? null, deliveredTo };
    } catch (error) {
      await rm(rawPath, { force: true });
      await rm(finalPath, { force: true });
      throw error;
    }
  }
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function seconds(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  return Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 100) / 10);
}

function toCard(job: JobRecord, row: SqlRow): ExportCard {
  const destination = parseJson(row.destination) as ExportDestination;
  const expires = (row.file_expires as string | null) ?? null;
  const hasFile = row.file_id !== null && row.file_id !== undefined;
  const expired = expires !== null && Date.parse(expires) <= Date.now();
  return {
    id: job.id,
    jobNumber: job.number,
    kind: row.kind as string,
    status: job.status,
    created: job.created,
    started: job.started,
    finished: job.finished,
    timeInQueueSeconds: seconds(job.created, job.started),
    timeProducingSeconds: seconds(job.started, job.finished),
    description: row.description as string,
    format: row.format as string,
    compression: row.compression as ExportCompression,
    passwordProtected: job.params.encryption !== undefined,
    encryption: typeof job.params.encryption === 'string' ? job.params.encryption : null,
    destination,
    requestedBy: job.userUid,
    progress: job.progress,
    error: job.error,
    params: (job.params.params ?? {}) as JobParams,
    file:
      hasFile || row.file_name
        ? {
            name: row.file_name as string,
            size: Number(row.file_size ?? 0),
            sizeText: fileSizeText(Number(row.file_size ?? 0)),
            created: row.file_created as string,
            expires,
            expired: expired || !hasFile,
            downloadUrl:
              hasFile && !expired && destination.type === 'download' ? `/api/exports/${job.id}/file` : null,
            deliveredTo: (row.delivered_to as string | null) ?? null,
          }
        : null,
    replacedBy: (row.replaced_by as string | null) ?? null,
  };
}
