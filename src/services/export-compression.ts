import { PassThrough, pipeline, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import yazl from 'yazl';

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

/** A `Content-Disposition` that survives any file name: an ASCII fallback plus RFC 5987 `filename*`. */
export function attachmentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
