import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import yauzl from 'yauzl';
import { FerryError } from '../../errors.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { partDecipher, verifyBytes } from './sync-keys.ts';
import {
  PACKAGE_FORMAT,
  FILE_SIGNATURE_LENGTH,
  FILE_SIGNATURE_PREFIX,
  fileSignedText,
  PART_FILES,
  PART_NAMES,
  PIECE_PATTERN,
  pieceName,
  type PackageManifest,
  type PartName,
} from './sync-package-format.ts';
import { findSite, type SiteIdentity, type SiteRow } from './sync-site-registry.ts';

/** The manifest and its signature are small; anything bigger is not a Ferry package. */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ENTRIES = PART_NAMES.length + 2;

export interface VerifiedPackage {
  /** The name people know the package by (the file given). */
  label: string;
  manifest: PackageManifest;
  manifestSha256: string;
  sender: SiteRow;
  /** Parts verified against the signed manifest, extracted to `dir`. */
  partPaths: Map<PartName, string>;
  dir: string;
  /** Removes the extracted parts (and a reassembled file). */
  dispose(): Promise<void>;
}

/**
 * Finds the whole package for a file that may be one piece of a split package: the pieces beside it
 * are joined into a temporary file. F1911 names missing pieces.
 */
export async function reassemble(path: string, workDir: string): Promise<{ path: string; label: string }> {
  const match = PIECE_PATTERN.exec(basename(path));
  if (!match) return { path, label: basename(path) };
  const [, base, , countText] = match;
  const count = Number(countText);
  const dir = dirname(path);
  const present = new Set(await readdir(dir));
  const missing: number[] = [];
  for (let i = 1; i <= count; i++) if (!present.has(pieceName(base, i, count))) missing.push(i);
  if (missing.length > 0)
    throw new FerryError('F1911', [
      base,
      count,
      `piece${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'}`,
    ]);
  const joined = join(workDir, 'joined.zip');
  const out = createWriteStream(joined);
  for (let i = 1; i <= count; i++) {
    await pipeline(createReadStream(join(dir, pieceName(base, i, count))), out, { end: i === count });
  }
  return { path: joined, label: base };
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: true }, (error, zip) =>
      error || !zip ? reject(error ?? new Error('no zip')) : resolve(zip),
    ),
  );
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) =>
    zip.openReadStream(entry, (error, stream) =>
      error || !stream ? reject(error ?? new Error('no stream')) : resolve(stream),
    ),
  );
}

async function readSmall(stream: Readable, label: string, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MANIFEST_BYTES)
      throw new FerryError('F1903', [label, `${name} is larger than ${MAX_MANIFEST_BYTES} bytes`]);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Opens a package and checks it all before anything is imported: a readable zip of the expected
 * entries (F1903 corrupt), a manifest of the format (F1903), addressed to this site (F1905), from a
 * registered site (F1906), signed by that site's key, every part's SHA-256 and size as the signed
 * manifest says (F1904 tampered). Parts are extracted to a temporary directory as they are hashed.
 */
export async function openVerifiedPackage(
  db: SqlExecutor,
  identity: SiteIdentity,
  file: string,
  tmpRoot: string,
): Promise<VerifiedPackage> {
  const dir = await mkdtemp(join(tmpRoot, 'sync-in-'));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    const { path, label } = await reassemble(file, dir);
    let zip: yauzl.ZipFile;
    try {
      zip = await openZip(path);
    } catch (error) {
      throw new FerryError('F1903', [label, `not a readable zip (${(error as Error).message})`]);
    }
    try {
      const entries = new Map<string, yauzl.Entry>();
      await new Promise<void>((resolve, reject) => {
        zip.on('entry', (entry: yauzl.Entry) => {
          if (entries.has(entry.fileName) || entries.size >= MAX_ENTRIES)
            return reject(new FerryError('F1903', [label, `unexpected entry ${entry.fileName}`]));
          entries.set(entry.fileName, entry);
          zip.readEntry();
        });
        zip.on('end', () => resolve());
        zip.on('error', (error: Error) => reject(new FerryError('F1903', [label, error.message])));
        zip.readEntry();
      });
      const manifestEntry = entries.get('manifest.json');
      const signatureEntry = entries.get('manifest.sig');
      if (!manifestEntry || !signatureEntry)
        throw new FerryError('F1903', [
          label,
          'manifest.json or manifest.sig is missing: not a Ferry sync package',
        ]);
      const manifestBytes = await guarded(label, async () =>
        readSmall(await entryStream(zip, manifestEntry), label, 'manifest.json'),
      );
      const signature = (
        await guarded(label, async () =>
          readSmall(await entryStream(zip, signatureEntry), label, 'manifest.sig'),
        )
      )
        .toString('utf8')
        .trim();
      let manifest: PackageManifest;
      try {
        manifest = JSON.parse(manifestBytes.toString('utf8')) as PackageManifest;
      } catch {
        // A changed byte in the manifest usually still parses; when it does not, it is still tampering.
        throw new FerryError('F1904', [
          label,
          'the manifest is not valid JSON (changed after it was signed)',
        ]);
      }
      if (manifest?.format !== PACKAGE_FORMAT)
        throw new FerryError('F1903', [label, `the manifest's format is not ${PACKAGE_FORMAT}`]);
      if (manifest.target !== identity.siteId)
        throw new FerryError('F1905', [label, String(manifest.target), identity.siteId]);
      const sender = await findSite(db, String(manifest.source));
      if (!sender) throw new FerryError('F1906', [label, String(manifest.source)]);
      if (!(await fileSignatureValid(path, sender.signingPublic)))
        throw new FerryError('F1904', [
          label,
          `the file's signature does not match the key of \`${sender.siteId}\` (a byte was changed)`,
        ]);
      if (!verifyBytes(sender.signingPublic, manifestBytes, signature))
        throw new FerryError('F1904', [
          label,
          `the manifest's signature does not match the key of \`${sender.siteId}\``,
        ]);
      checkManifestShape(manifest, label);
      const partPaths = new Map<PartName, string>();
      for (const part of manifest.parts) {
        const entry = entries.get(part.file);
        if (!entry)
          throw new FerryError('F1904', [label, `part ${part.file} listed in the manifest is missing`]);
        const target = join(dir, `${part.name}.bin`);
        const hash = createHash('sha256');
        let bytes = 0;
        const tap = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            hash.update(chunk);
            bytes += chunk.length;
            if (bytes > part.bytes)
              return callback(new FerryError('F1904', [label, `part ${part.file} is longer than signed`]));
            callback(null, chunk);
          },
        });
        await guarded(label, async () =>
          pipeline(await entryStream(zip, entry), tap, createWriteStream(target)),
        );
        if (bytes !== part.bytes || hash.digest('hex') !== part.sha256)
          throw new FerryError('F1904', [
            label,
            `part ${part.file} does not match its SHA-256 in the signed manifest`,
          ]);
        partPaths.set(part.name, target);
      }
      for (const name of entries.keys()) {
        if (
          name !== 'manifest.json' &&
          name !== 'manifest.sig' &&
          !manifest.parts.some((p) => p.file === name)
        )
          throw new FerryError('F1904', [label, `entry ${name} is not in the signed manifest`]);
      }
      return {
        label,
        manifest,
        manifestSha256: createHash('sha256').update(manifestBytes).digest('hex'),
        sender,
        partPaths,
        dir,
        dispose,
      };
    } finally {
      zip.close();
    }
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** The whole-file signature in the zip's comment (sync-package-format.ts). */
async function fileSignatureValid(path: string, signingPublic: string): Promise<boolean> {
  const size = (await stat(path)).size;
  const tail = FILE_SIGNATURE_PREFIX.length + FILE_SIGNATURE_LENGTH;
  if (size < tail) return false;
  const handle = await open(path, 'r');
  const buffer = Buffer.alloc(tail);
  try {
    await handle.read(buffer, 0, tail, size - tail);
  } finally {
    await handle.close();
  }
  if (buffer.subarray(0, FILE_SIGNATURE_PREFIX.length).toString('latin1') !== FILE_SIGNATURE_PREFIX)
    return false;
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { end: size - FILE_SIGNATURE_LENGTH - 1 }), hash);
  return verifyBytes(
    signingPublic,
    fileSignedText(hash.digest('hex')),
    buffer.subarray(FILE_SIGNATURE_PREFIX.length).toString('latin1'),
  );
}

/** A zip-level failure while reading an entry (bad CRC, bad deflate data) is a corrupt package. */
async function guarded<T>(label: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof FerryError) throw error;
    throw new FerryError('F1903', [label, (error as Error).message]);
  }
}

function checkManifestShape(manifest: PackageManifest, label: string): void {
  const whole = (n: unknown) => Number.isInteger(n) && (n as number) >= 0;
  if (
    !whole(manifest.sequence) ||
    manifest.sequence < 1 ||
    !whole(manifest.fromSeq) ||
    !whole(manifest.toSeq)
  )
    throw new FerryError('F1903', [label, 'the manifest has no valid sequence or change range']);
  if (!Array.isArray(manifest.parts)) throw new FerryError('F1903', [label, 'the manifest lists no parts']);
  for (const part of manifest.parts) {
    if (!(PART_NAMES as readonly string[]).includes(part.name) || PART_FILES[part.name].file !== part.file)
      throw new FerryError('F1903', [label, `unknown part ${String(part.name)}`]);
  }
}

/**
 * A verified part's objects, one at a time with its row number (1-based): file → (AES-GCM) → gunzip
 * → lines. The first and last lines are the document's opening and closing.
 */
export async function* partObjects(
  pkg: VerifiedPackage,
  name: PartName,
  boxPrivate: string,
): AsyncGenerator<{ row: number; object: Record<string, unknown> }> {
  const path = pkg.partPaths.get(name);
  if (!path) return;
  const part = pkg.manifest.parts.find((p) => p.name === name)!;
  let source: Readable = createReadStream(path);
  if (pkg.manifest.encryption) {
    if (!part.nonce || !part.tag)
      throw new FerryError('F1903', [pkg.label, `part ${part.file} has no nonce or tag`]);
    source = source.pipe(
      partDecipher(boxPrivate, pkg.manifest.encryption.ephemeralPublicKey, name, part.nonce, part.tag),
    );
  }
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  const lines = createInterface({ input: source.pipe(gunzip), crlfDelay: Infinity });
  let row = 0;
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (line === 1 || text === ']}' || text === '') continue;
      row++;
      const json = text.endsWith(',') ? text.slice(0, -1) : text;
      yield { row, object: JSON.parse(json) as Record<string, unknown> };
    }
  } catch (error) {
    if (error instanceof FerryError) throw error;
    throw new FerryError('F1903', [pkg.label, `part ${part.file}: ${(error as Error).message}`]);
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
