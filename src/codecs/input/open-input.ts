import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
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

/**
 * Opens an uploaded file (already spooled to disk) for reading, unwrapping gzip or zip detected by
 * magic bytes as DHIS2 does, whatever the name or content type says. Expanded size and ratio are
 * limited while streaming, so a bomb is stopped early instead of filling memory or disk.
 */
export async function openInput(
  path: string,
  fileName: string,
  limits: Partial<InputLimits> = {},
): Promise<OpenedInput> {
  const effective = { ...INPUT_LIMITS, ...limits };
  const head = await readHead(path, 4);
  const compressedSize = (await stat(path)).size;
  if (startsWith(head, GZIP_MAGIC)) {
    const gunzip = createReadStream(path, { highWaterMark: 1024 * 1024 }).pipe(
      createGunzip({ chunkSize: 256 * 1024 }),
    );
    return { compression: 'gzip', chunks: limitExpansion(gunzip, fileName, compressedSize, effective) };
  }
  if (startsWith(head, ZIP_MAGIC) || startsWith(head, EMPTY_ZIP_MAGIC)) {
    const { stream, entryName } = await openSingleZipEntry(path, fileName, effective);
    return {
      compression: 'zip',
      entryName,
      chunks: limitExpansion(stream, fileName, compressedSize, effective),
    };
  }
  return { compression: 'none', chunks: createReadStream(path, { highWaterMark: 64 * 1024 }) };
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
): Promise<{ stream: Readable; entryName: string }> {
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
          resolve({ stream, entryName: entry.fileName });
        });
      });
      zip.readEntry();
    });
  });
}
