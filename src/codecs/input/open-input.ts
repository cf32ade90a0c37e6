import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { INPUT_LIMITS, type InputLimits } from './input-limits.ts';
import { InputError } from './input-error.ts';

export type Compression = 'none' | 'gzip' | 'zip';

export interface OpenedInput {
  compression: Compression;
  /** For zip: the entry read. */
  entryName?: string;
  /** The uncompressed bytes, in chunks; never the whole file at once. */
  chunks: AsyncIterable<Uint8Array>;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];
const EMPTY_ZIP_MAGIC = [0x50, 0x4b, 0x05, 0x06];
/** Archives inside an archive are never expanded (no recursion into bombs). */
const NESTED_ARCHIVE = /\.(zip|gz|gzip|tgz|bz2|xz|7z|rar|tar)$/i;

/** Bytes of a file read so far, and its size on disk (for gzip and zip: of the compressed file). */
export type BytesReadListener = (bytesRead: number, fileSize: number) => void;

export interface OpenInputOptions {
  /** Overrides of INPUT_LIMITS, field by field. */
  limits?: Partial<InputLimits>;
  /**
   * Called as the file is read, with the bytes read so far against its size: the command line
   * draws its progress bar from it (an import reports no row total, and counting the rows first
   * would read the file twice).
   */
  onBytesRead?: BytesReadListener;
}

/**
 * Opens an uploaded file (already spooled to disk) for reading, unwrapping gzip or zip detected by
 * magic bytes as DHIS2 does, whatever the name or content type says. Expanded size and ratio are
 * limited while streaming, so a bomb is stopped early instead of filling memory or disk.
 */
export async function openInput(
  path: string,
  fileName: string,
  options: OpenInputOptions = {},
): Promise<OpenedInput> {
  const effective = { ...INPUT_LIMITS, ...options.limits };
  const onBytesRead = options.onBytesRead;
  const head = await readHead(path, 4);
  const compressedSize = (await stat(path)).size;
  if (startsWith(head, GZIP_MAGIC)) {
    const file = createReadStream(path, { highWaterMark: 1024 * 1024 });
    const gunzip = createGunzip({ chunkSize: 256 * 1024 });
    // pipeline, not pipe: the bytes start flowing now, but the caller may begin reading later (after
    // a database transaction has begun), and a truncated or corrupt file fails in between. With
    // pipe, that 'error' had no listener yet and ended the process; pipeline listens from the start,
    // and the error stays on the destroyed stream, where the reader's iteration rethrows it.
    pipeline(file, gunzip).catch(() => {});
    // And a listener for gunzip's whole life: pipeline drops its own once the file is written in,
    // but a truncated stream fails only at the final flush, after that (seen on PostgreSQL, where
    // the read begins a round trip later).
    gunzip.on('error', () => {});
    if (onBytesRead) {
      // A second 'data' listener beside pipe's: it sees every chunk and leaves pausing to pipe.
      let read = 0;
      file.on('data', (chunk) => onBytesRead((read += chunk.length), compressedSize));
    }
    return { compression: 'gzip', chunks: limitExpansion(gunzip, fileName, compressedSize, effective) };
  }
  if (startsWith(head, ZIP_MAGIC) || startsWith(head, EMPTY_ZIP_MAGIC)) {
    const { stream, entryName, uncompressedSize } = await openSingleZipEntry(path, fileName, effective);
    let chunks = limitExpansion(stream, fileName, compressedSize, effective);
    if (onBytesRead) {
      // yauzl reads the archive itself; the share of the entry expanded, applied to the file size,
      // stands in for the compressed bytes read (the entry is nearly all of a one-entry archive).
      const share = uncompressedSize > 0 ? compressedSize / uncompressedSize : 0;
      chunks = reportReads(chunks, (expanded) =>
        onBytesRead(Math.min(compressedSize, Math.round(expanded * share)), compressedSize),
      );
    }
    return { compression: 'zip', entryName, chunks };
  }
  const file = createReadStream(path, { highWaterMark: 64 * 1024 });
  if (!onBytesRead) return { compression: 'none', chunks: file };
  return {
    compression: 'none',
    chunks: reportReads(file, (read) => onBytesRead(read, compressedSize)),
  };
}

/** `chunks` unchanged, calling `report` with the bytes passed through so far before each one. */
async function* reportReads(
  chunks: AsyncIterable<Uint8Array>,
  report: (bytes: number) => void,
): AsyncIterable<Uint8Array> {
  let bytes = 0;
  for await (const chunk of chunks) {
    report((bytes += chunk.length));
    yield chunk;
  }
}

async function readHead(path: string, bytes: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function startsWith(head: Uint8Array, magic: readonly number[]): boolean {
  return magic.every((byte, i) => head[i] === byte);
}

async function* limitExpansion(
  source: Readable,
  fileName: string,
  compressedSize: number,
  limits: InputLimits,
): AsyncIterable<Uint8Array> {
  let expanded = 0;
  try {
    for await (const chunk of source) {
      expanded += (chunk as Uint8Array).length;
      if (expanded > limits.maxExpandedBytes) {
        throw new InputError(fileName, `expands to more than ${limits.maxExpandedBytes} bytes; refused`);
      }
      if (
        expanded > limits.ratioCheckAfterBytes &&
        compressedSize > 0 &&
        expanded / compressedSize > limits.maxExpansionRatio
      ) {
        throw new InputError(
          fileName,
          `expands more than ${limits.maxExpansionRatio} times its compressed size; refused as a compression bomb`,
        );
      }
      yield chunk as Uint8Array;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(fileName, `compressed data is corrupt: ${(error as Error).message}`);
  } finally {
    source.destroy();
  }
}

function openSingleZipEntry(
  path: string,
  fileName: string,
  limits: InputLimits,
): Promise<{ stream: Readable; entryName: string; uncompressedSize: number }> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true, strictFileNames: true }, (openError, zip) => {
      if (openError || !zip) {
        reject(
          new InputError(fileName, `not a readable zip archive: ${openError?.message ?? 'unknown error'}`),
        );
        return;
      }
      if (zip.entryCount === 0) {
        zip.close();
        reject(new InputError(fileName, 'zip archive is empty'));
        return;
      }
      if (zip.entryCount > limits.maxZipEntries) {
        zip.close();
        reject(
          new InputError(
            fileName,
            `zip archive holds ${zip.entryCount} entries; Ferry reads an archive with exactly one file`,
          ),
        );
        return;
      }
      zip.on('error', (error: Error) =>
        reject(new InputError(fileName, `zip archive is corrupt: ${error.message}`)),
      );
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          zip.close();
          reject(new InputError(fileName, 'zip archive holds a directory, not a file'));
          return;
        }
        if (NESTED_ARCHIVE.test(entry.fileName)) {
          zip.close();
          reject(new InputError(fileName, `zip entry '${entry.fileName}' is itself an archive; refused`));
          return;
        }
        if (entry.uncompressedSize > limits.maxExpandedBytes) {
          zip.close();
          reject(
            new InputError(fileName, `zip entry '${entry.fileName}' expands to more than the limit; refused`),
          );
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) {
            reject(
              new InputError(
                fileName,
                `zip entry '${entry.fileName}' cannot be read: ${streamError?.message}`,
              ),
            );
            return;
          }
          // Listened to from the start, as the gzip stream is (see openInput): the entry inflates
          // before the caller reads, and a corrupt entry must not fail with no listener. The error
          // stays on the destroyed stream for the reader's iteration.
          stream.on('error', () => {});
          resolve({ stream, entryName: entry.fileName, uncompressedSize: entry.uncompressedSize });
        });
      });
      zip.readEntry();
    });
  });
}
