import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
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
  // The owner's process id in the name: a spool file whose process is gone is an orphan.
  const path = join(dir, `upload-${process.pid}-${randomUUID()}`);
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

/** `upload-<pid>-<uuid>`, and `upload-<uuid>` as spooled before the process id was in the name. */
const SPOOL_NAME = /^upload-(?:(\d+)-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether a process with this id runs on this machine (EPERM: it does, as another user). */
function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the spool files in `dir` that no running process owns: a synchronous import killed
 * mid-way (SIGKILL, out of memory, power loss) never reaches its `finally`, and its upload would
 * stay on disk for good. Called when the server starts. A file of a live process (another server
 * on the same data directory) is kept; so is anything that is not a spool file. Returns the names
 * removed.
 */
export async function removeOrphanUploads(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names) {
    const match = SPOOL_NAME.exec(name);
    if (!match) continue;
    const pid = match[1] === undefined ? undefined : Number(match[1]);
    if (pid !== undefined && processRuns(pid)) continue;
    await rm(join(dir, name), { force: true });
    removed.push(name);
  }
  return removed;
}
