import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { FerryContext } from '../ferry-context-types.ts';
import type { JobContext } from '../../jobs/job-handlers.ts';
import { JobFailedError } from '../../jobs/job-handlers.ts';
import type { JobInput } from '../../jobs/job-types.ts';
import type { JobViewer } from './job-service.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { hasAuthority, type Authority } from '../../domain/access/authorities.ts';
import { FerryError } from '../../errors.ts';

// What every capability's job handlers and export producers share: the job's user, its input
// file, the run options an importer takes from the job, and copying an export to its file.

/** The import job types an `async=true` request starts, by endpoint. */
export const ASYNC_IMPORT_JOB_TYPES = {
  metadata: 'METADATA_IMPORT',
  dataValues: 'DATAVALUE_IMPORT',
  gml: 'GML_IMPORT',
  geoJson: 'GEOJSON_IMPORT',
} as const;

/** The name an import reads its input under: the upload's own name, or DHIS2's "request body". */
export function inputFileName(job: Pick<JobInput, 'inputFile'>): string {
  return job.inputFile?.originalName || 'request body';
}

/**
 * The user a job runs as, read afresh from the database when the job starts (never the principal
 * cached when it was queued: a role, authority or scope taken away since must count, even when it
 * was taken away by another process). Undefined for jobs the CLI operator queued (no user: every
 * right). A user since deleted or disabled refuses the job (F1101, F1105).
 */
export async function principalOf(
  context: FerryContext,
  userUid: string | null,
): Promise<Principal | undefined> {
  return userUid ? context.auth.currentPrincipal(userUid) : undefined;
}

export function requireInput(job: JobInput): NonNullable<JobInput['inputFile']> {
  if (!job.inputFile) throw new JobFailedError(`Job ${job.id} has no input file`);
  return job.inputFile;
}

export /** The run options every importer takes from the job. */
function runOptions(ctx: JobContext) {
  return {
    signal: ctx.signal,
    progress: (p: { stage: string; processed: number; total?: number }) => ctx.progress(p),
    beforeCommit: (tx: Parameters<JobContext['assertLeaseHeld']>[0]) => ctx.assertLeaseHeld(tx),
  };
}

export async function writeText(out: Writable, text: string | Uint8Array): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Copies a stream of chunks to the export file with backpressure; returns the bytes written. */
export async function copyTo(
  chunks: AsyncIterable<string | Uint8Array>,
  out: Writable,
  signal: AbortSignal,
  onBytes: (bytes: number) => void,
): Promise<number> {
  let bytes = 0;
  for await (const chunk of chunks) {
    signal.throwIfAborted();
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    await writeText(out, chunk);
    onBytes(bytes);
  }
  return bytes;
}

export function requireViewerAuthority(viewer: JobViewer | null, authority: Authority): void {
  if (viewer && !hasAuthority(viewer.authorities, authority)) throw new FerryError('F1102', [authority]);
}

/**
 * What every job does first: the submitter's current principal (`principalOf`), refused with F1102
 * naming `authority` when it is gone since the job was queued. The job then runs with this
 * principal, so its scope and sharing are the current ones too.
 */
export async function requireRunAuthority(
  context: FerryContext,
  userUid: string | null,
  authority: Authority,
): Promise<Principal | undefined> {
  const principal = await principalOf(context, userUid);
  if (principal && !hasAuthority(principal.authorities, authority)) {
    throw new FerryError('F1102', [authority]);
  }
  return principal;
}

/** What words a list of identifiers reads as on a card: "a, b and 3 more". */
export function listed(values: readonly string[], max = 3): string {
  if (values.length <= max) return values.join(', ');
  return `${values.slice(0, max).join(', ')} and ${values.length - max} more`;
}

export function stringList(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
