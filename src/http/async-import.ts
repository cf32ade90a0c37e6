import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import type { FerryContext } from '../services/ferry-context.ts';
import type { Principal } from '../domain/access/principal.ts';
import type { JobParams, JobType } from '../jobs/job-types.ts';
import { jobConfigurationReply } from '../services/jobs/job-service.ts';
import { INPUT_LIMITS } from '../codecs/input/input-limits.ts';
import { spoolToFile } from '../services/jobs/upload-spool.ts';
import { FerryError } from '../errors.ts';
import { withoutUnsafeNameCharacters } from '../domain/system/file-name.ts';
import { noteAudit } from './routes/audit/audit-hooks.ts';

/** Longest file name kept; longer ones are cut (names are shown on cards and job pages). */
const MAX_FILE_NAME = 255;

/**
 * The upload's own file name: `X-File-Name` (URI-encoded, as the web app sends it) or the
 * `filename*` / `filename` of a `Content-Disposition` header; null when neither is there. Any
 * directory part, control characters and invisible bidi/formatting characters (U+202E, ...) are
 * dropped: the name is only ever shown, never a path, and must read as what it is.
 */
export function uploadFileName(headers: IncomingHttpHeaders): string | null {
  const header = headers['x-file-name'];
  let name: string | undefined;
  if (typeof header === 'string' && header !== '') {
    try {
      name = decodeURIComponent(header);
    } catch {
      throw new FerryError('F1000', ['X-File-Name', header.slice(0, 100), 'a URI-encoded file name']);
    }
  } else {
    const disposition = headers['content-disposition'];
    if (typeof disposition === 'string') {
      const extended = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(disposition);
      const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/.exec(disposition);
      try {
        name = extended
          ? decodeURIComponent(extended[1].trim())
          : plain
            ? (plain[1]?.replace(/\\(.)/g, '$1') ?? plain[2])
            : undefined;
      } catch {
        name = plain ? (plain[1] ?? plain[2]) : undefined;
      }
    }
  }
  if (name === undefined) return null;
  const clean = withoutUnsafeNameCharacters(name.split(/[\\/]/).pop() ?? '').trim();
  return clean === '' ? null : clean.slice(0, MAX_FILE_NAME);
}

/** The name an import's messages use for the upload: its own name, or DHIS2's "request body". */
export function requestInputName(request: FastifyRequest): string {
  return uploadFileName(request.headers) ?? 'request body';
}

/** The largest body an import endpoint takes (sync and async alike). */
export function maxUploadBytes(context: FerryContext): number {
  return Math.min(context.config.bodyLimit, INPUT_LIMITS.maxUploadBytes);
}

/** A synchronous import's body once it is spooled to a temporary file. */
export interface SpooledRequestBody {
  path: string;
  /** How the import's messages name the upload (see `requestInputName`). */
  fileName: string;
  contentType: string | undefined;
}

/**
 * Spools the request body to a file under the data directory (never into memory), runs `work` on it,
 * and removes the file however `work` ends.
 */
export async function withSpooledBody<T>(
  context: FerryContext,
  request: FastifyRequest,
  work: (body: SpooledRequestBody) => Promise<T>,
): Promise<T> {
  const upload = await spoolToFile(
    request.body as Readable,
    join(context.config.dataDir, 'uploads'),
    maxUploadBytes(context),
  );
  // The audit record gets the upload's size and SHA-256, computed as it was spooled.
  noteAudit(request, {
    fileName: uploadFileName(request.headers),
    fileSize: upload.size,
    fileSha256: upload.sha256,
  });
  try {
    return await work({
      path: upload.path,
      fileName: requestInputName(request),
      contentType: request.headers['content-type'],
    });
  } finally {
    await upload.remove();
  }
}

/**
 * `async=true`: streams the body to the file store (content type, name, size, SHA-256), queues the
 * job with every parameter needed to run it again, and answers with DHIS2's job reply. The reply
 * goes out only once the upload is safely stored.
 */
export async function startImportJob(
  context: FerryContext,
  request: FastifyRequest,
  reply: FastifyReply,
  type: JobType,
  params: JobParams,
  principal: Principal,
): Promise<FastifyReply> {
  const job = await context.jobs.submit({
    type,
    params,
    viewer: principal,
    body: request.body as Readable,
    contentType: request.headers['content-type'] ?? 'application/octet-stream',
    originalName: uploadFileName(request.headers),
    maxBytes: maxUploadBytes(context),
  });
  return reply.header('location', `/api/system/tasks/${job.type}`).send(jobConfigurationReply(job));
}
