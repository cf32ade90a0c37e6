import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, relative, isAbsolute } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { APP_ZIP_LIMITS } from '../../codecs/input/input-limits.ts';

export type AppZipLimits = { -readonly [K in keyof typeof APP_ZIP_LIMITS]: number };

/** Why an app zip is refused; the install names the zip and says nothing was installed. */
export class AppZipError extends Error {}

/** One file of the archive, as the central directory declares it. */
export interface AppZipEntry {
  /** The entry's path inside the archive, `/`-separated, never absolute, never with `..`. */
  name: string;
  isDirectory: boolean;
  declaredSize: number;
}

/** An open app zip: its entries, checked, and a way to read or unpack them with the limits. */
export interface AppZip {
  entries: readonly AppZipEntry[];
  /** One entry's bytes, at most `maxBytes` (the manifest). */
  readEntry(name: string, maxBytes: number): Promise<Buffer>;
  /** Writes every entry under `dir`, counting inflated bytes per entry and together. */
  extractTo(dir: string): Promise<void>;
  close(): void;
}

/** S_IFMT and S_IFLNK of the Unix mode kept in the upper half of the external attributes. */
const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

function openZipFile(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    // strictFileNames: yauzl refuses absolute paths, `..` segments and backslashes (zip-slip).
    // validateEntrySizes: an entry that inflates to more or less than declared is an error.
    yauzl.open(
      path,
      { lazyEntries: true, autoClose: false, strictFileNames: true, validateEntrySizes: true },
      (error, zip) => {
        if (error || !zip)
          reject(new AppZipError(`not a readable zip archive: ${error?.message ?? 'unknown'}`));
        else resolve(zip);
      },
    );
  });
}

/** Every entry of the central directory, checked one by one before anything is unpacked. */
function readEntries(zip: yauzl.ZipFile, limits: AppZipLimits): Promise<yauzl.Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: yauzl.Entry[] = [];
    const seen = new Set<string>();
    let declaredTotal = 0;
    zip.on('error', (error: Error) => reject(new AppZipError(`zip archive is corrupt: ${error.message}`)));
    zip.on('end', () => resolve(entries));
    zip.on('entry', (entry: yauzl.Entry) => {
      const problem = entryProblem(entry, limits, seen);
      if (problem) {
        reject(new AppZipError(problem));
        return;
      }
      declaredTotal += entry.uncompressedSize;
      if (declaredTotal > limits.maxExpandedBytes) {
        reject(new AppZipError(`the files expand to more than ${limits.maxExpandedBytes} bytes together`));
        return;
      }
      entries.push(entry);
      zip.readEntry();
    });
    zip.readEntry();
  });
}

function entryProblem(entry: yauzl.Entry, limits: AppZipLimits, seen: Set<string>): string | undefined {
  const name = entry.fileName;
  if (name.length > limits.maxPathChars)
    return `entry '${name.slice(0, 80)}...' has a path over ${limits.maxPathChars} characters`;
  // yauzl's strictFileNames already refuses these; checked again here because unpacking depends on it.
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\\') || name.includes('\0'))
    return `entry '${name}' has an absolute or malformed path`;
  const segments = name.replace(/\/$/, '').split('/');
  if (segments.some((segment) => segment === '..' || segment === '.' || segment === ''))
    return `entry '${name}' has a path with '.', '..' or an empty segment`;
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (mode === S_IFLNK) return `entry '${name}' is a symbolic link`;
  const isDirectory = name.endsWith('/');
  if (mode !== 0 && mode !== (isDirectory ? S_IFDIR : S_IFREG))
    return `entry '${name}' is not a plain ${isDirectory ? 'folder' : 'file'}`;
  if (entry.generalPurposeBitFlag & 0x1) return `entry '${name}' is encrypted`;
  if (entry.uncompressedSize > limits.maxEntryBytes)
    return `entry '${name}' expands to more than ${limits.maxEntryBytes} bytes`;
  // Case-folded: on a case-insensitive disk `A.js` and `a.js` would be one file.
  const key = name.replace(/\/$/, '').toLowerCase();
  if (seen.has(key)) return `entry '${name}' appears twice`;
  seen.add(key);
  return undefined;
}

function openEntryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (error, stream) => {
      if (error || !stream)
        reject(new AppZipError(`entry '${entry.fileName}' cannot be read: ${error?.message}`));
      else resolve(stream);
    });
  });
}

/**
 * Opens an app zip from a file on disk (random access: the central directory is at the end) and
 * checks every entry before anything is unpacked: entry count, path (no absolute, `..`, backslash,
 * duplicate), type (no symbolic links or devices), declared sizes. Unpacking counts the bytes that
 * really inflate, per entry and together, since a zip's declared sizes are only a claim.
 */
export async function openAppZip(path: string, limits: AppZipLimits = APP_ZIP_LIMITS): Promise<AppZip> {
  const zip = await openZipFile(path);
  try {
    if (zip.entryCount === 0) throw new AppZipError('the zip archive is empty');
    if (zip.entryCount > limits.maxEntries)
      throw new AppZipError(
        `the zip archive holds ${zip.entryCount} entries; at most ${limits.maxEntries} are taken`,
      );
    const raw = await readEntries(zip, limits);
    const byName = new Map(raw.map((entry) => [entry.fileName, entry]));
    const meter = (entry: yauzl.Entry, maxBytes: number, counted: { total: number }) =>
      new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          counted.total += chunk.length;
          if (chunk.length > 0 && counted.total > maxBytes) {
            callback(new AppZipError(`entry '${entry.fileName}' expands to more than ${maxBytes} bytes`));
            return;
          }
          callback(null, chunk);
        },
      });
    return {
      entries: raw.map((entry) => ({
        name: entry.fileName,
        isDirectory: entry.fileName.endsWith('/'),
        declaredSize: entry.uncompressedSize,
      })),
      async readEntry(name, maxBytes) {
        const entry = byName.get(name);
        if (!entry) throw new AppZipError(`the zip archive has no '${name}'`);
        if (entry.uncompressedSize > maxBytes)
          throw new AppZipError(`'${name}' is larger than ${maxBytes} bytes`);
        const chunks: Buffer[] = [];
        const counted = { total: 0 };
        await pipeline(await openEntryStream(zip, entry), meter(entry, maxBytes, counted), async (source) => {
          for await (const chunk of source) chunks.push(chunk as Buffer);
        }).catch(rethrowAsZipError(name));
        return Buffer.concat(chunks);
      },
      async extractTo(dir) {
        let total = 0;
        for (const entry of raw) {
          const target = join(dir, ...entry.fileName.replace(/\/$/, '').split('/'));
          // Defence in depth: whatever the name checks missed, nothing is written outside `dir`.
          const inside = relative(dir, target);
          if (inside === '' || inside.startsWith('..') || isAbsolute(inside))
            throw new AppZipError(`entry '${entry.fileName}' would be written outside the app's folder`);
          if (entry.fileName.endsWith('/')) {
            await mkdir(target, { recursive: true });
            continue;
          }
          await mkdir(dirname(target), { recursive: true });
          const counted = { total: 0 };
          const remaining = limits.maxExpandedBytes - total;
          const cap = Math.min(limits.maxEntryBytes, remaining);
          await pipeline(
            await openEntryStream(zip, entry),
            meter(entry, cap, counted),
            // `wx`: never follow or replace anything already there (a duplicate the checks missed).
            createWriteStream(target, { flags: 'wx', mode: 0o644 }),
          ).catch(rethrowAsZipError(entry.fileName));
          total += counted.total;
        }
      },
      close: () => zip.close(),
    };
  } catch (error) {
    zip.close();
    throw error;
  }
}

function rethrowAsZipError(name: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof AppZipError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    // Disk problems are the server's, not the zip's: let the caller report them as such.
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'EACCES') throw error;
    throw new AppZipError(`entry '${name}' is corrupt: ${(error as Error).message}`);
  };
}
