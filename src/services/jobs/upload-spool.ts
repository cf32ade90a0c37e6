import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { FerryError, isDiskFullError } from '../../errors.ts';

export interface SpooledFile {
  path: string;
  size: number;
  sha256: string;
  /** Removes the file; safe to call twice. */
  remove(): Promise<void>;
}

/**
 * Streams an upload to a file on disk, hashing as it goes, and stops at `maxBytes`. Imports read
 * from the file, never from memory, and zip bodies need random access that a socket can't give.
 */
export async function spoolToFile(source: Readable, dir: string, maxBytes: number): Promise<SpooledFile> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `upload-${randomUUID()}`);
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > maxBytes) {
        callback(new FerryError('F1002', [maxBytes]));
        return;
      }
      hash.update(chunk);
      callback(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(path));
  } catch (error) {
    await rm(path, { force: true });
    // A full disk is the server's state, not a bug: say so (507) instead of an internal error.
    if (isDiskFullError(error)) throw new FerryError('F1502', ['while receiving the upload']);
    throw error;
  }
  return { path, size, sha256: hash.digest('hex'), remove: () => rm(path, { force: true }) };
}
