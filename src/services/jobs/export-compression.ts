import { PassThrough, pipeline, Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { createGzip } from 'node:zlib';
import yazl from 'yazl';
import { ZipWriter } from '@zip.js/zip.js';
import { withoutUnsafeNameCharacters } from '../../domain/system/file-name.ts';

/** How an export may be compressed; the `compression` parameter of DHIS2's export endpoints. */
export const EXPORT_COMPRESSIONS = ['none', 'gzip', 'zip'] as const;
export type ExportCompression = (typeof EXPORT_COMPRESSIONS)[number];

/** The file name suffix a compression adds: `.gz`, `.zip` or nothing. */
export function compressionSuffix(compression: ExportCompression): string {
  return compression === 'gzip' ? '.gz' : compression === 'zip' ? '.zip' : '';
}

export interface CompressionOptions {
  /** zlib level 0-9 (gzip and the zip entry's deflate); zlib's default 6 when absent. */
  level?: number;
  /** gzip output chunk size in bytes. */
  chunkSize?: number;
  /**
   * Zip only: encrypt the entry with this password, AES-256 (WinZip AE-2). Check it first with
   * `checkExportPassword`. Legacy ZipCrypto is never written: it is broken (known-plaintext attacks).
   */
  password?: string;
}

/** The shortest password a protected export accepts, in characters. */
export const EXPORT_PASSWORD_MIN_LENGTH = 8;
/** The longest: far beyond any passphrase, short enough that PBKDF2 input stays trivial. */
export const EXPORT_PASSWORD_MAX_LENGTH = 256;
/** What a protected export's card and job parameters say about it (never the password). */
export const EXPORT_ENCRYPTION = 'AES-256';

/**
 * Why `password` can't protect an export, or undefined when it can. Length counts characters (code
 * points), not bytes; the archive stores the password's UTF-8 bytes, as 7-Zip and WinZip read them.
 */
export function exportPasswordProblem(password: unknown): string | undefined {
  if (typeof password !== 'string') return 'a string';
  const length = [...password].length;
  if (length < EXPORT_PASSWORD_MIN_LENGTH) return `at least ${EXPORT_PASSWORD_MIN_LENGTH} characters`;
  if (length > EXPORT_PASSWORD_MAX_LENGTH) return `at most ${EXPORT_PASSWORD_MAX_LENGTH} characters`;
  return undefined;
}

/**
 * `source` as `compression` asks: unchanged, gzip, or a zip archive holding one entry named
 * `entryName` (DHIS2's exports hold one entry, and its importers read only the first). An error in
 * `source` destroys the returned stream, so the reply or file being written fails instead of
 * ending as a truncated but valid-looking archive or hanging.
 */
export function compressStream(
  source: Readable,
  compression: ExportCompression,
  entryName: string,
  options: CompressionOptions = {},
): Readable {
  if (compression === 'none') return source;
  if (compression === 'gzip') {
    const gzip = createGzip({ level: options.level, chunkSize: options.chunkSize });
    // pipeline destroys gzip with the source's error; the callback only keeps it from being unhandled.
    pipeline(source, gzip, () => {});
    return gzip;
  }
  if (options.password !== undefined) return encryptedZipStream(source, entryName, options.password, options);
  const zip = new yazl.ZipFile();
  const out = new PassThrough();
  zip.addReadStream(
    source,
    entryName,
    options.level !== undefined ? { compressionLevel: options.level } : {},
  );
  zip.end();
  source.once('error', (error) => out.destroy(error));
  pipeline(zip.outputStream, out, () => {});
  return out;
}

/**
 * A zip holding one AES-256 (AE-2) encrypted entry, written as `source` is read: zip.js encrypts and
 * deflates chunk by chunk into a TransformStream whose reading side is the returned stream, so the
 * archive never sits in memory whole and backpressure reaches `source`. AE-2 stores no CRC of the
 * plaintext (it would let a guessed content be checked without the password); an HMAC-SHA1 over the
 * ciphertext guards integrity instead.
 */
function encryptedZipStream(
  source: Readable,
  entryName: string,
  password: string,
  options: CompressionOptions,
): Readable {
  const problem = exportPasswordProblem(password);
  if (problem) throw new Error(`An export password must be ${problem}`);
  const channel = new TransformStream<Uint8Array, Uint8Array>();
  const out = Readable.fromWeb(channel.readable as NodeReadableStream<Uint8Array>);
  const writer = new ZipWriter(channel.writable, {
    password,
    encryptionStrength: 3,
    zipCrypto: false,
    // Node has no Web Workers; the stream runs on this thread like yazl's.
    useWebWorkers: false,
    ...(options.level !== undefined ? { level: options.level } : {}),
  });
  const fail = (cause: unknown) => {
    const error = cause instanceof Error ? cause : new Error(String(cause));
    // With the error, so a producer waiting for 'drain' on `source` is woken by 'error' instead of hanging.
    if (!source.destroyed) source.destroy(error);
    if (!out.destroyed) out.destroy(error);
  };
  source.once('error', fail);
  // Object-mode sources (Readable.from over strings) yield strings; zip.js reads bytes only.
  const encoder = new TextEncoder();
  const bytes = (Readable.toWeb(source) as unknown as ReadableStream<Uint8Array | string>).pipeThrough(
    new TransformStream<Uint8Array | string, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      },
    }),
  );
  writer
    .add(entryName, bytes)
    .then(() => writer.close())
    .catch(fail);
  return out;
}

/** A `Content-Disposition` that survives any file name: an ASCII fallback plus RFC 5987 `filename*`. */
export function attachmentDisposition(name: string): string {
  // A name can come from the request (`attachment=`): nothing invisible or reordering reaches the
  // browser's save dialog.
  const fileName = withoutUnsafeNameCharacters(name) || 'download';
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
