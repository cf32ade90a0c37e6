import { createHash, type CipherGCM } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import yazl from 'yazl';
import type { Principal } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { committedChangeSeq } from '../../storage/sync-change-store.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { packageSealer, signBytes, type PackageSealer } from './sync-keys.ts';
import {
  PACKAGE_FORMAT,
  ENCRYPTION_ALGORITHM,
  PART_FILES,
  FILE_SIGNATURE_LENGTH,
  FILE_SIGNATURE_PREFIX,
  fileSignedText,
  pieceName,
  type ManifestPart,
  type PackageManifest,
  type PartName,
} from './sync-package-format.ts';
import {
  LOCAL_METADATA,
  requireIdentity,
  requireSite,
  requireSyncAuthority,
  type SiteRow,
} from './sync-site-registry.ts';
import {
  columnToJson,
  idColumnOf,
  RELATIONSHIP_END_TABLES,
  TRACKER_SPECS,
  type TrackerKind,
} from './sync-tracker-rows.ts';

/** Rows per read from the database while a part is written. */
const READ_BATCH = 2000;

const LOCAL = new Set(LOCAL_METADATA);

export interface ExportPackageOptions {
  to: string;
  output: string;
  /** Start from what the site last acknowledged instead of where the last package ended (a lost package). */
  fromAck?: boolean;
  /** Split into pieces of at most this many bytes (an email attachment). */
  splitSize?: number;
  /** Encrypt for the receiver; default: the site's setting. */
  encrypt?: boolean;
}

export interface ExportedPackage {
  manifest: PackageManifest;
  /** The package file, or its pieces when split. */
  files: string[];
  bytes: number;
  manifestSha256: string;
}

/**
 * Writes the next sync package for a site (docs/sync.md, "Export"): the changes after the previous
 * package (or after the acknowledged one with `fromAck`) up to the last committed change, as parts
 * streamed from the database to temporary files, zipped beside the output and renamed at the end.
 * The package is recorded as sent (its sequence taken) only when the file is complete.
 */
export async function exportPackage(
  context: FerryContext,
  principal: Principal | undefined,
  options: ExportPackageOptions,
): Promise<ExportedPackage> {
  requireSyncAuthority(principal, 'F_SYNC_EXPORT');
  const db = context.storage;
  const identity = await requireIdentity(db);
  const site = await requireSite(db, options.to);
  if (options.splitSize !== undefined && (!Number.isInteger(options.splitSize) || options.splitSize < 1024))
    throw new FerryError('F1000', [
      'split-size',
      String(options.splitSize),
      'a whole number of bytes, 1024 or more',
    ]);
  const fromSeq = options.fromAck ? site.ackedToSeq : site.sentToSeq;
  const toSeq = Math.max(fromSeq, await committedChangeSeq(db));
  const sequence = site.sentPackage + 1;
  const encrypt = options.encrypt ?? site.encrypt;
  const sealer = encrypt ? packageSealer(site.boxPublic) : undefined;
  const work = await mkdtemp(join(context.config.dataDir, 'sync-tmp-'));
  try {
    const parts: ManifestPart[] = [];
    const counts: Record<string, number> = {};
    for (const [name, rows] of partSources(db, site, fromSeq, toSeq)) {
      const part = await writePart(work, name, rows, sealer);
      counts[name] = part.count;
      if (part.count > 0) parts.push(part);
    }
    const manifest: PackageManifest = {
      format: PACKAGE_FORMAT,
      ferryVersion: context.version,
      source: identity.siteId,
      target: site.siteId,
      sequence,
      fromSeq,
      toSeq,
      created: new Date().toISOString(),
      direction: site.role === 'parent' ? 'up' : 'down',
      counts,
      parts,
      encryption: sealer
        ? { algorithm: ENCRYPTION_ALGORITHM, ephemeralPublicKey: sealer.ephemeralPublic }
        : null,
    };
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    const signature = signBytes(identity.signingPrivate, manifestBytes);
    await mkdir(dirname(options.output), { recursive: true });
    const partial = `${options.output}.partial`;
    await writeZip(partial, manifestBytes, signature, parts, work);
    await signFile(partial, identity.signingPrivate);
    const bytes = (await stat(partial)).size;
    const files =
      options.splitSize !== undefined && bytes > options.splitSize
        ? await splitFile(partial, options.output, options.splitSize)
        : [options.output];
    if (files.length === 1 && files[0] === options.output) await rename(partial, options.output);
    else await rm(partial, { force: true });
    const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
    await recordSent(db, site, manifest, manifestSha256, bytes, files);
    return { manifest, files, bytes, manifestSha256 };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function recordSent(
  db: FerryContext['storage'],
  site: SiteRow,
  manifest: PackageManifest,
  digest: string,
  bytes: number,
  files: string[],
): Promise<void> {
  await db.transaction(async (tx) => {
    // Another export may have taken the sequence meanwhile; the unique index refuses the second.
    const now = new Date().toISOString();
    const updated = await tx.execute(
      'UPDATE sync_site SET sent_package = ?, sent_to_seq = ?, sent_at = ? WHERE site_id = ? AND sent_package = ?',
      [manifest.sequence, manifest.toSeq, now, site.siteId, manifest.sequence - 1],
    );
    if (updated.changes !== 1)
      throw new FerryError('F1913', [
        manifest.sequence,
        site.siteId,
        'another package was exported at the same time; export again',
      ]);
    await tx.execute(
      `INSERT INTO sync_package (direction, site_id, sequence, from_seq, to_seq, digest, counts, bytes, file_path, created)
       VALUES ('out', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        site.siteId,
        manifest.sequence,
        manifest.fromSeq,
        manifest.toSeq,
        digest,
        JSON.stringify(manifest.counts),
        bytes,
        files.join('\n'),
        now,
      ],
    );
  });
}

type RowSource = AsyncIterable<Record<string, unknown>>;

/** The parts a site gets, each as a stream of JSON objects read from the database. */
function* partSources(
  db: SqlExecutor,
  site: SiteRow,
  fromSeq: number,
  toSeq: number,
): Generator<[PartName, RowSource]> {
  if (site.role === 'child') {
    yield ['metadata', metadataRows(db, fromSeq, toSeq, false)];
    yield ['metadataDeletions', metadataRows(db, fromSeq, toSeq, true)];
    return;
  }
  yield ['dataValues', dataValueRows(db, fromSeq, toSeq)];
  yield ['completeDataSetRegistrations', completionRows(db, fromSeq, toSeq)];
  yield ['trackedEntities', trackerRows(db, 'trackedEntity', fromSeq, toSeq)];
  yield ['enrollments', trackerRows(db, 'enrollment', fromSeq, toSeq)];
  yield ['events', trackerRows(db, 'event', fromSeq, toSeq)];
  yield ['relationships', trackerRows(db, 'relationship', fromSeq, toSeq)];
}

function changed(kind: string, columns: string): string {
  return `(SELECT DISTINCT ${columns} FROM sync_change WHERE kind = '${kind}' AND seq > ? AND seq <= ?)`;
}

async function* dataValueRows(db: SqlExecutor, fromSeq: number, toSeq: number): RowSource {
  const now = new Date().toISOString();
  const sql = `SELECT ou.uid AS ou, p.iso AS pe, de.uid AS de, coc.uid AS coc, aoc.uid AS aoc,
      dv.value AS value, dv.stored_by AS stored_by, dv.created AS created, dv.last_updated AS last_updated,
      dv.comment AS comment, dv.follow_up AS follow_up, dv.deleted AS deleted, dv.org_unit_id AS present
    FROM ${changed('dataValue', 'k1, k2, k3, k4, k5')} c
    LEFT JOIN data_value dv ON dv.org_unit_id = c.k1 AND dv.period_id = c.k2 AND dv.data_element_id = c.k3
      AND dv.category_option_combo_id = c.k4 AND dv.attribute_option_combo_id = c.k5
    JOIN metadata_object ou ON ou.sid = c.k1
    JOIN period p ON p.period_id = c.k2
    JOIN metadata_object de ON de.sid = c.k3
    JOIN metadata_object coc ON coc.sid = c.k4
    JOIN metadata_object aoc ON aoc.sid = c.k5`;
  for await (const rows of db.stream<Record<string, unknown>>(sql, [fromSeq, toSeq], READ_BATCH)) {
    for (const r of rows) {
      const gone = r.present === null || r.present === undefined;
      yield {
        dataElement: r.de,
        period: r.pe,
        orgUnit: r.ou,
        categoryOptionCombo: r.coc,
        attributeOptionCombo: r.aoc,
        value: gone ? null : r.value,
        storedBy: gone ? null : r.stored_by,
        created: gone ? now : r.created,
        lastUpdated: gone ? now : r.last_updated,
        comment: gone ? null : r.comment,
        followup: !gone && Number(r.follow_up) === 1,
        deleted: gone || Number(r.deleted) === 1,
      };
    }
  }
}

async function* completionRows(db: SqlExecutor, fromSeq: number, toSeq: number): RowSource {
  const now = new Date().toISOString();
  const sql = `SELECT ds.uid AS ds, p.iso AS pe, ou.uid AS ou, aoc.uid AS aoc, cr.completed_date AS completed_date,
      cr.stored_by AS stored_by, cr.last_updated AS last_updated, cr.data_set_id AS present
    FROM ${changed('completion', 'k1, k2, k3, k4')} c
    LEFT JOIN complete_registration cr ON cr.data_set_id = c.k1 AND cr.period_id = c.k2 AND cr.org_unit_id = c.k3
      AND cr.attribute_option_combo_id = c.k4
    JOIN metadata_object ds ON ds.sid = c.k1
    JOIN period p ON p.period_id = c.k2
    JOIN metadata_object ou ON ou.sid = c.k3
    JOIN metadata_object aoc ON aoc.sid = c.k4`;
  for await (const rows of db.stream<Record<string, unknown>>(sql, [fromSeq, toSeq], READ_BATCH)) {
    for (const r of rows) {
      const gone = r.present === null || r.present === undefined;
      yield {
        dataSet: r.ds,
        period: r.pe,
        organisationUnit: r.ou,
        attributeOptionCombo: r.aoc,
        date: gone ? null : r.completed_date,
        storedBy: gone ? null : r.stored_by,
        lastUpdated: gone ? now : r.last_updated,
        completed: !gone,
      };
    }
  }
}

async function* trackerRows(db: SqlExecutor, kind: TrackerKind, fromSeq: number, toSeq: number): RowSource {
  const spec = TRACKER_SPECS[kind];
  const selects: string[] = ['t.uid AS uid', `t.${spec.idColumn} AS local_id`];
  const joins: string[] = [];
  spec.columns.forEach((column, i) => {
    if (column.metadata) {
      joins.push(`LEFT JOIN metadata_object m${i} ON m${i}.sid = t.${column.column}`);
      selects.push(`m${i}.uid AS c${i}`);
    } else if (column.tracker) {
      joins.push(
        `LEFT JOIN ${column.tracker} r${i} ON r${i}.${idColumnOf(column.tracker)} = t.${column.column}`,
      );
      selects.push(`r${i}.uid AS c${i}`);
    } else selects.push(`t.${column.column} AS c${i}`);
  });
  if (kind === 'relationship') {
    for (const end of ['from', 'to'])
      for (const [stored, table] of Object.entries(RELATIONSHIP_END_TABLES)) {
        const alias = `${end}_${table}`;
        joins.push(
          `LEFT JOIN ${table} ${alias} ON t.${end}_kind = '${stored}' AND ${alias}.${idColumnOf(table)} = t.${end}_id`,
        );
        selects.push(`${alias}.uid AS ${alias}`);
      }
  }
  const sql = `SELECT ${selects.join(', ')} FROM ${changed(kind, 'k1')} c
    JOIN ${spec.table} t ON t.${spec.idColumn} = c.k1 ${joins.join(' ')}`;
  for await (const rows of db.stream<Record<string, unknown>>(sql, [fromSeq, toSeq], READ_BATCH)) {
    const extras = kind === 'trackedEntity' ? await trackedEntityExtras(db, rows) : undefined;
    for (const r of rows) {
      const object: Record<string, unknown> = { [spec.uidProperty]: r.uid };
      spec.columns.forEach((column, i) => {
        object[column.property] = columnToJson(column, r[`c${i}`]);
      });
      if (kind === 'relationship') {
        const endOf = (end: string) => {
          const table = RELATIONSHIP_END_TABLES[String(r[`${end}_kind`] ?? object[`${end}Kind`])];
          return table ? r[`${end}_${table}`] : null;
        };
        object.from = endOf('from');
        object.to = endOf('to');
      }
      if (extras)
        Object.assign(object, extras.get(Number(r.local_id)) ?? { attributes: [], programOwners: [] });
      yield object;
    }
  }
}

/** A batch of tracked entities' attribute values and program owners, by local id. */
async function trackedEntityExtras(
  db: SqlExecutor,
  rows: readonly Record<string, unknown>[],
): Promise<Map<number, { attributes: unknown[]; programOwners: unknown[] }>> {
  const out = new Map<number, { attributes: unknown[]; programOwners: unknown[] }>();
  const ids = rows.map((r) => Number(r.local_id));
  for (const id of ids) out.set(id, { attributes: [], programOwners: [] });
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const marks = chunk.map(() => '?').join(', ');
    const values = await db.query<Record<string, unknown>>(
      `SELECT v.tracked_entity_id AS id, a.uid AS attribute, v.value AS value, v.created AS created,
         v.updated AS updated, v.stored_by AS stored_by
       FROM tracked_entity_attribute_value v JOIN metadata_object a ON a.sid = v.attribute_id
       WHERE v.tracked_entity_id IN (${marks})`,
      chunk,
    );
    for (const v of values)
      out.get(Number(v.id))?.attributes.push({
        attribute: v.attribute,
        value: v.value,
        createdAt: v.created,
        updatedAt: v.updated,
        storedBy: v.stored_by,
      });
    const owners = await db.query<Record<string, unknown>>(
      `SELECT o.tracked_entity_id AS id, p.uid AS program, ou.uid AS org_unit, o.created AS created, o.updated AS updated
       FROM tracked_entity_program_owner o JOIN metadata_object p ON p.sid = o.program_id
         JOIN metadata_object ou ON ou.sid = o.org_unit_id
       WHERE o.tracked_entity_id IN (${marks})`,
      chunk,
    );
    for (const o of owners)
      out.get(Number(o.id))?.programOwners.push({
        program: o.program,
        orgUnit: o.org_unit,
        createdAt: o.created,
        updatedAt: o.updated,
      });
  }
  return out;
}

async function* metadataRows(db: SqlExecutor, fromSeq: number, toSeq: number, deletions: boolean): RowSource {
  const sql = deletions
    ? `SELECT c.type AS type, c.uid AS uid FROM ${changed('metadata', 'type, uid')} c
       WHERE NOT EXISTS (SELECT 1 FROM metadata_object m WHERE m.type = c.type AND m.uid = c.uid)`
    : `SELECT m.type AS type, m.body AS body FROM ${changed('metadata', 'type, uid')} c
       JOIN metadata_object m ON m.type = c.type AND m.uid = c.uid`;
  for await (const rows of db.stream<Record<string, unknown>>(sql, [fromSeq, toSeq], READ_BATCH)) {
    for (const r of rows) {
      const type = String(r.type);
      if (LOCAL.has(type)) continue;
      if (deletions) yield { collection: type, id: r.uid };
      else yield { collection: type, object: typeof r.body === 'string' ? JSON.parse(r.body) : r.body };
    }
  }
}

/** One part: JSON lines → gzip → (AES-GCM) → file, hashed as written. Nothing is held whole. */
async function writePart(
  dir: string,
  name: PartName,
  rows: RowSource,
  sealer: PackageSealer | undefined,
): Promise<ManifestPart> {
  const { file, key } = PART_FILES[name];
  const path = join(dir, file.replace('parts/', ''));
  let count = 0;
  async function* lines() {
    yield `{${JSON.stringify(key)}:[\n`;
    for await (const row of rows) {
      yield `${count === 0 ? '' : ',\n'}${JSON.stringify(row)}`;
      count++;
    }
    yield '\n]}\n';
  }
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  let sealed: { cipher: CipherGCM; nonce: string } | undefined;
  if (sealer) sealed = sealer.cipherFor(name);
  const stages: NodeJS.ReadWriteStream[] = [createGzip()];
  if (sealed) stages.push(sealed.cipher);
  await pipeline(
    Readable.from(lines()),
    ...(stages as [NodeJS.ReadWriteStream]),
    tap,
    createWriteStream(path),
  );
  const part: ManifestPart = {
    name,
    file,
    sha256: hash.digest('hex'),
    bytes,
    count,
    encoding: 'gzip',
  };
  if (sealed) {
    part.nonce = sealed.nonce;
    part.tag = sealed.cipher.getAuthTag().toString('base64');
  }
  return part;
}

async function writeZip(
  path: string,
  manifest: Buffer,
  signature: string,
  parts: readonly ManifestPart[],
  dir: string,
): Promise<void> {
  const zip = new yazl.ZipFile();
  const mtime = new Date();
  zip.addBuffer(manifest, 'manifest.json', { mtime });
  zip.addBuffer(Buffer.from(`${signature}\n`), 'manifest.sig', { mtime });
  // Parts are gzip already (and maybe encrypted): stored as they are.
  for (const part of parts)
    zip.addReadStream(createReadStream(join(dir, part.file.replace('parts/', ''))), part.file, {
      mtime,
      compress: false,
    });
  // A placeholder of the signature's length; signFile writes the signature over it.
  zip.end({ comment: FILE_SIGNATURE_PREFIX + 'A'.repeat(FILE_SIGNATURE_LENGTH), forceZip64Format: false });
  await pipeline(zip.outputStream, createWriteStream(path));
}

/** Signs every byte before the signature (sync-package-format.ts, FILE_SIGNATURE_PREFIX). */
async function signFile(path: string, signingPrivate: string): Promise<void> {
  const size = (await stat(path)).size;
  const hash = createHash('sha256');
  await pipeline(createReadStream(path, { end: size - FILE_SIGNATURE_LENGTH - 1 }), hash);
  const signature = signBytes(signingPrivate, fileSignedText(hash.digest('hex')));
  if (signature.length !== FILE_SIGNATURE_LENGTH) throw new Error('unexpected signature length');
  const handle = await open(path, 'r+');
  try {
    await handle.write(
      Buffer.from(signature, 'latin1'),
      0,
      FILE_SIGNATURE_LENGTH,
      size - FILE_SIGNATURE_LENGTH,
    );
  } finally {
    await handle.close();
  }
}

/** Cuts a file into pieces of at most `size` bytes named `<output>.part-i-of-n`; returns their paths. */
async function splitFile(source: string, output: string, size: number): Promise<string[]> {
  const total = (await stat(source)).size;
  const count = Math.ceil(total / size);
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = pieceName(output, i + 1, count);
    await pipeline(
      createReadStream(source, { start: i * size, end: Math.min(total, (i + 1) * size) - 1 }),
      createWriteStream(file),
    );
    files.push(file);
  }
  return files;
}
