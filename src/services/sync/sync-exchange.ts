import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Principal } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { signAcknowledgement } from './sync-acknowledgements.ts';
import type { AcknowledgementFile } from './sync-package-format.ts';
import { importPackage, type ImportPackageResult } from './sync-package-importer.ts';
import { exportPackage } from './sync-package-writer.ts';
import {
  kindsFor,
  LOCAL_METADATA,
  requireIdentity,
  requireSite,
  requireSyncAuthority,
  type SiteRow,
} from './sync-site-registry.ts';

/**
 * The parent's side of push and pull (docs/sync.md, "Push and pull"). A push is an upload of one
 * package by its sequence, in chunks at offsets: after a dropped connection the child asks how many
 * bytes arrived and sends the rest; the last chunk imports the package and answers its
 * acknowledgement. Asking again for a package already imported answers its acknowledgement again.
 * A pull asks the parent for the next package addressed to the child; it is written to the
 * parent's outbox once and downloaded with HTTP ranges, so a broken download resumes too.
 */

/** A package larger than this is refused as a push (split packages are for files, not pushes). */
export const MAX_PUSH_BYTES = 1024 * 1024 * 1024;

function syncDir(context: FerryContext, name: string): string {
  return join(context.config.dataDir, 'sync', name);
}

function checkSequence(sequence: number): void {
  if (!Number.isInteger(sequence) || sequence < 1)
    throw new FerryError('F1000', ['sequence', String(sequence), 'a package sequence number, 1 or more']);
}

async function signedAgain(
  context: FerryContext,
  site: SiteRow,
  sequence: number,
): Promise<AcknowledgementFile | undefined> {
  const row = await context.storage.queryOne<{ digest: string; to_seq: number | string; counts: string }>(
    "SELECT digest, to_seq, counts FROM sync_package WHERE direction = 'in' AND site_id = ? AND sequence = ?",
    [site.siteId, sequence],
  );
  if (!row) return undefined;
  const identity = await requireIdentity(context.storage);
  const counts = JSON.parse(row.counts) as Record<
    string,
    { created: number; updated: number; deleted: number }
  >;
  return signAcknowledgement(identity, {
    target: site.siteId,
    sequence,
    toSeq: Number(row.to_seq),
    manifestSha256: row.digest,
    status: 'ALREADY_IMPORTED',
    counts: Object.fromEntries(
      Object.entries(counts).map(([k, c]) => [k, c.created + c.updated + c.deleted]),
    ),
    conflicts: 0,
  });
}

export interface UploadStatus {
  site: string;
  sequence: number;
  received: number;
  total: number | null;
  imported: boolean;
  acknowledgement?: AcknowledgementFile;
}

/** How much of a child's package has arrived, or its acknowledgement when it was imported. */
export async function uploadStatus(
  context: FerryContext,
  principal: Principal | undefined,
  siteId: string,
  sequence: number,
): Promise<UploadStatus> {
  requireSyncAuthority(principal, 'F_SYNC_IMPORT');
  checkSequence(sequence);
  const site = await requireSite(context.storage, siteId);
  if (sequence <= site.receivedPackage) {
    const acknowledgement = await signedAgain(context, site, sequence);
    return { site: siteId, sequence, received: 0, total: null, imported: true, acknowledgement };
  }
  const row = await context.storage.queryOne<{ received: number | string; total: number | string }>(
    'SELECT received, total FROM sync_upload WHERE site_id = ? AND sequence = ?',
    [siteId, sequence],
  );
  return {
    site: siteId,
    sequence,
    received: row ? Number(row.received) : 0,
    total: row ? Number(row.total) : null,
    imported: false,
  };
}

export interface UploadChunkResult extends UploadStatus {
  result?: Omit<ImportPackageResult, 'acknowledgement'>;
}

/**
 * Appends a chunk at `offset` of a child's package of `total` bytes; the chunk that completes it
 * imports it. An offset other than what has arrived is F1913 naming the right one.
 */
export async function receiveUploadChunk(
  context: FerryContext,
  principal: Principal | undefined,
  input: { site: string; sequence: number; offset: number; total: number; body: Readable },
): Promise<UploadChunkResult> {
  requireSyncAuthority(principal, 'F_SYNC_IMPORT');
  checkSequence(input.sequence);
  if (!Number.isInteger(input.total) || input.total < 1 || input.total > MAX_PUSH_BYTES)
    throw new FerryError('F1000', [
      'total',
      String(input.total),
      `the package's size in bytes, up to ${MAX_PUSH_BYTES}`,
    ]);
  const site = await requireSite(context.storage, input.site);
  if (site.role !== 'child')
    throw new FerryError('F1913', [
      input.sequence,
      input.site,
      'only a child site pushes packages to this site',
    ]);
  if (input.sequence <= site.receivedPackage) {
    input.body.resume();
    const acknowledgement = await signedAgain(context, site, input.sequence);
    return {
      site: site.siteId,
      sequence: input.sequence,
      received: 0,
      total: null,
      imported: true,
      acknowledgement,
    };
  }
  const dir = syncDir(context, 'uploads');
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${site.siteId}-${input.sequence}.zip`);
  const row = await context.storage.queryOne<{ received: number | string; total: number | string }>(
    'SELECT received, total FROM sync_upload WHERE site_id = ? AND sequence = ?',
    [site.siteId, input.sequence],
  );
  let received = row && existsSync(path) ? Number(row.received) : 0;
  if (row && Number(row.total) !== input.total) received = 0;
  if (input.offset !== received) {
    input.body.resume();
    throw new FerryError('F1913', [
      input.sequence,
      site.siteId,
      `${received} bytes have arrived, so the next chunk starts at offset ${received}, not ${input.offset}`,
    ]);
  }
  if (received === 0) {
    await rm(path, { force: true });
    await context.storage.execute('DELETE FROM sync_upload WHERE site_id = ? AND sequence = ?', [
      site.siteId,
      input.sequence,
    ]);
    await context.storage.execute(
      'INSERT INTO sync_upload (site_id, sequence, total, received, path, created) VALUES (?, ?, ?, 0, ?, ?)',
      [site.siteId, input.sequence, input.total, path, new Date().toISOString()],
    );
  }
  let bytes = received;
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (bytes > input.total)
        return callback(
          new FerryError('F1913', [
            input.sequence,
            site.siteId,
            `more than the ${input.total} bytes announced`,
          ]),
        );
      callback(null, chunk);
    },
  });
  try {
    await pipeline(input.body, limit, createWriteStream(path, { flags: 'a' }));
  } finally {
    // What reached the disk counts, also when the connection dropped: the child resumes from there.
    const onDisk = existsSync(path) ? (await stat(path)).size : 0;
    await context.storage.execute('UPDATE sync_upload SET received = ? WHERE site_id = ? AND sequence = ?', [
      Math.min(onDisk, input.total),
      site.siteId,
      input.sequence,
    ]);
    bytes = Math.min(onDisk, input.total);
  }
  if (bytes < input.total)
    return {
      site: site.siteId,
      sequence: input.sequence,
      received: bytes,
      total: input.total,
      imported: false,
    };
  try {
    const { acknowledgement, ...result } = await importPackage(context, principal, path);
    return {
      site: site.siteId,
      sequence: input.sequence,
      received: bytes,
      total: input.total,
      imported: true,
      acknowledgement,
      result,
    };
  } finally {
    // A refused package is gone too: the child sends it again from the start (or a new one).
    await rm(path, { force: true });
    await context.storage.execute('DELETE FROM sync_upload WHERE site_id = ? AND sequence = ?', [
      site.siteId,
      input.sequence,
    ]);
  }
}

export interface PullOffer {
  site: string;
  /** Nothing new for the child. */
  upToDate: boolean;
  sequence?: number;
  bytes?: number;
}

/**
 * The package a child pulls next: the one after `have` (the child's last imported package) when
 * it is still in the outbox, or a new one with the changes since (from the acknowledged point when
 * an unacknowledged package's file is gone).
 */
export async function preparePull(
  context: FerryContext,
  principal: Principal | undefined,
  siteId: string,
  have: number,
): Promise<PullOffer> {
  requireSyncAuthority(principal, 'F_SYNC_EXPORT');
  const site = await requireSite(context.storage, siteId);
  if (site.role !== 'child')
    throw new FerryError('F1913', [have + 1, siteId, 'only a child site pulls packages from this site']);
  const next = have + 1;
  if (next <= site.sentPackage) {
    const row = await context.storage.queryOne<{ file_path: string | null; bytes: number | string }>(
      "SELECT file_path, bytes FROM sync_package WHERE direction = 'out' AND site_id = ? AND sequence = ?",
      [siteId, next],
    );
    if (row?.file_path && existsSync(row.file_path) && !row.file_path.includes('\n'))
      return { site: siteId, upToDate: false, sequence: next, bytes: Number(row.bytes) };
  }
  const fromAck = next <= site.sentPackage;
  const kinds = kindsFor(site.role);
  const after = fromAck ? site.ackedToSeq : site.sentToSeq;
  const pending = await context.storage.queryOne(
    `SELECT 1 AS found FROM sync_change WHERE seq > ? AND kind IN (${kinds.map(() => '?').join(', ')})
       AND (type IS NULL OR type NOT IN (${LOCAL_METADATA.map(() => '?').join(', ')})) LIMIT 1`,
    [after, ...kinds, ...LOCAL_METADATA],
  );
  if (!pending && !fromAck) return { site: siteId, upToDate: true };
  const dir = syncDir(context, 'outbox');
  const exported = await exportPackage(context, principal, {
    to: siteId,
    output: join(dir, `${siteId}-${site.sentPackage + 1}.zip`),
    fromAck,
  });
  return { site: siteId, upToDate: false, sequence: exported.manifest.sequence, bytes: exported.bytes };
}

/** The outbox file of a package for a child, for download. */
export async function outboxFile(
  context: FerryContext,
  principal: Principal | undefined,
  siteId: string,
  sequence: number,
): Promise<{ path: string; bytes: number }> {
  requireSyncAuthority(principal, 'F_SYNC_EXPORT');
  checkSequence(sequence);
  await requireSite(context.storage, siteId);
  const row = await context.storage.queryOne<{ file_path: string | null }>(
    "SELECT file_path FROM sync_package WHERE direction = 'out' AND site_id = ? AND sequence = ?",
    [siteId, sequence],
  );
  if (!row?.file_path || !existsSync(row.file_path))
    throw new FerryError('F1200', [`Sync package ${sequence} for`, siteId]);
  return { path: row.file_path, bytes: (await stat(row.file_path)).size };
}
