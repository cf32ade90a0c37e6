import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { SqlExecutor, Storage } from '../storage/storage.ts';
import { generateUid } from '../domain/identifiers/uid.ts';
import { FerryError, isDiskFullError } from '../errors.ts';
import type { StoredFileHandle } from './job-types.ts';

export const FILE_PURPOSES = ['upload', 'export'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

export interface StoredFile extends StoredFileHandle {
  purpose: FilePurpose;
  created: string;
  expires: string | null;
}

export interface SaveFileOptions {
  purpose: FilePurpose;
  contentType: string;
  originalName?: string | null;
  expires?: Date | null;
  /** Refuse bodies larger than this many bytes (the stream is aborted and the partial file removed). */
  maxBytes?: number;
}

export class FileTooLargeError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`File is larger than the limit of ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Uploaded bodies and produced exports, on disk under one directory (`<dataDir>/files`, or
 * FERRY_FILES_DIR: a directory every node can read when workers run on several machines), with a
 * row in `stored_file`. Bytes are hashed (SHA-256) while they stream to disk; nothing is buffered.
 * A file is written to `<id>.part` and renamed when complete, so a crash never leaves a row pointing
 * at half a file.
 */
export class FileStore {
  readonly directory: string;
  private readonly storage: Storage;

  constructor(storage: Storage, directory: string) {
    this.storage = storage;
    this.directory = resolve(directory);
  }

  /** Streams `source` to disk, then records it (in `db` when given: the caller's transaction). */
  async save(
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    options: SaveFileOptions,
    db: SqlExecutor = this.storage,
  ): Promise<StoredFile> {
    const id = generateUid();
    const written = await this.writeStream(id, source, options.maxBytes);
    try {
      return await this.record(db, id, written, options);
    } catch (error) {
      await rm(written.path, { force: true });
      throw error;
    }
  }

  /** Streams bytes to a new file without recording it yet (for producers that record later). */
  async writeStream(
    id: string,
    source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
    maxBytes = Number.POSITIVE_INFINITY,
  ): Promise<{ path: string; size: number; sha256: string }> {
    const path = this.pathFor(id);
    mkdirSync(join(path, '..'), { recursive: true });
    const partial = `${path}.part`;
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > maxBytes) {
          callback(new FileTooLargeError(maxBytes));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await pipeline(source as NodeJS.ReadableStream, meter, createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      if (isDiskFullError(error)) throw new FerryError('F1502', ['while storing the file']);
      throw error;
    }
    return { path, size, sha256: hash.digest('hex') };
  }

  /** Records a file already written at `pathFor(id)`. */
  async record(
    db: SqlExecutor,
    id: string,
    written: { path: string; size: number; sha256: string },
    options: SaveFileOptions,
  ): Promise<StoredFile> {
    const created = new Date().toISOString();
    const expires = options.expires ? options.expires.toISOString() : null;
    await db.execute(
      `INSERT INTO stored_file (id, purpose, content_type, original_name, size, sha256, path, created, expires)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id,
        options.purpose,
        options.contentType,
        options.originalName ?? null,
        written.size,
        written.sha256,
        this.relative(written.path),
        created,
        expires,
      ],
    );
    return this.handle({
      id,
      purpose: options.purpose,
      content_type: options.contentType,
      original_name: options.originalName ?? null,
      size: written.size,
      sha256: written.sha256,
      path: this.relative(written.path),
      created,
      expires,
    });
  }

  async get(id: string, db: SqlExecutor = this.storage): Promise<StoredFile | undefined> {
    const row = await db.queryOne<FileRow>('SELECT * FROM stored_file WHERE id = ?', [id]);
    return row ? this.handle(row) : undefined;
  }

  /** Whether the bytes are still on disk (an expired file's row may outlive them). */
  async exists(file: StoredFile): Promise<boolean> {
    try {
      await stat(this.pathFor(file.id));
      return true;
    } catch {
      return false;
    }
  }

  async delete(id: string, db: SqlExecutor = this.storage): Promise<void> {
    await db.execute('DELETE FROM stored_file WHERE id = ?', [id]);
    await rm(this.pathFor(id), { force: true });
  }

  /**
   * Removes files past their expiry, and files older than `uploadsBefore` that were uploads;
   * returns how many went. Rows go first, so a crash between leaves an orphan file, not a dangling row.
   */
  async sweep(now: Date, uploadsBefore: Date): Promise<number> {
    const rows = await this.storage.query<{ id: string }>(
      `SELECT id FROM stored_file WHERE (expires IS NOT NULL AND expires < ?) OR (purpose = 'upload' AND created < ?)`,
      [now.toISOString(), uploadsBefore.toISOString()],
    );
    for (const row of rows) await this.delete(row.id);
    return rows.length;
  }

  /** `<dir>/<first two characters>/<id>`: UIDs are safe file names, and no directory grows huge. */
  pathFor(id: string): string {
    if (!/^[A-Za-z0-9]{11}$/.test(id)) throw new Error(`Not a file id: ${id}`);
    return join(this.directory, id.slice(0, 2), id);
  }

  private relative(path: string): string {
    return path.startsWith(this.directory + sep) ? path.slice(this.directory.length + 1) : path;
  }

  private handle(row: FileRow): StoredFile {
    const path = this.pathFor(row.id);
    return {
      id: row.id,
      purpose: row.purpose as FilePurpose,
      contentType: row.content_type,
      originalName: row.original_name,
      size: Number(row.size),
      sha256: row.sha256,
      created: row.created,
      expires: row.expires,
      open: async () => createReadStream(path),
    };
  }
}

interface FileRow {
  id: string;
  purpose: string;
  content_type: string;
  original_name: string | null;
  size: number;
  sha256: string;
  path: string;
  created: string;
  expires: string | null;
}
