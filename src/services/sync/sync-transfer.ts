import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Principal } from '../../domain/access/principal.ts';
import { FerryError, isFerryError } from '../../errors.ts';
import type { FerryContext } from '../ferry-context-types.ts';
import { applyAcknowledgement } from './sync-acknowledgements.ts';
import type { AcknowledgementFile } from './sync-package-format.ts';
import { importPackage, type ImportPackageResult } from './sync-package-importer.ts';
import { exportPackage } from './sync-package-writer.ts';
import {
  kindsFor,
  listSites,
  requireIdentity,
  requireSyncAuthority,
  type SiteRow,
} from './sync-site-registry.ts';

/**
 * The child's side of push and pull (docs/sync.md, "Push and pull"): over the parent's API, with
 * the parent's URL from the site registry, credentials of a user on the parent and, for HTTPS with
 * a private CA or a self-signed certificate, the CA file to trust:
 *
 * - FERRY_SYNC_CREDENTIALS: `username:password` (HTTP Basic) or a personal access token `fry_...`.
 * - FERRY_SYNC_CA_FILE: PEM certificates trusted for the parent's HTTPS, besides the system's.
 */
export interface TransferConfig {
  credentials?: string;
  caFile?: string;
  /** Bytes per upload request; a dropped connection costs at most one chunk. */
  chunkBytes?: number;
}

export function transferConfig(env: NodeJS.ProcessEnv = process.env): TransferConfig {
  return {
    credentials: env.FERRY_SYNC_CREDENTIALS || undefined,
    caFile: env.FERRY_SYNC_CA_FILE || undefined,
  };
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;

interface Response {
  status: number;
  body: Buffer;
}

class ParentClient {
  private readonly base: URL;
  private readonly site: string;
  private readonly authorization: string | undefined;
  private readonly ca: Buffer | undefined;

  constructor(parent: SiteRow, config: TransferConfig) {
    if (!parent.url)
      throw new FerryError('F1912', [
        parent.siteId,
        'the parent has no URL: register it with `ferry sync sites add --url`',
      ]);
    this.base = new URL(parent.url.endsWith('/') ? parent.url : `${parent.url}/`);
    this.site = parent.siteId;
    const credentials = config.credentials;
    this.authorization = credentials
      ? credentials.startsWith('fry_')
        ? `ApiToken ${credentials}`
        : `Basic ${Buffer.from(credentials).toString('base64')}`
      : undefined;
    this.ca = config.caFile ? readFileSync(config.caFile) : undefined;
  }

  request(
    method: string,
    path: string,
    options: {
      body?: Readable | Buffer;
      headers?: Record<string, string>;
      into?: NodeJS.WritableStream;
    } = {},
  ): Promise<Response> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const transport = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.authorization) headers.authorization = this.authorization;
    return new Promise((resolve, reject) => {
      const request = transport.request(
        url,
        { method, headers, ...(url.protocol === 'https:' && this.ca ? { ca: this.ca } : {}) },
        (response) => {
          const status = response.statusCode ?? 0;
          if (options.into && status >= 200 && status < 300) {
            response.pipe(options.into);
            response.on('error', reject);
            options.into.on('finish', () => resolve({ status, body: Buffer.alloc(0) }));
            options.into.on('error', reject);
            return;
          }
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      request.on('error', (error) => reject(new FerryError('F1912', [this.site, error.message])));
      const body = options.body;
      if (Buffer.isBuffer(body)) request.end(body);
      else if (body) {
        const stream = body as Readable;
        stream.on('error', (error: Error) => request.destroy(error));
        stream.pipe(request);
      } else request.end();
    });
  }

  async json<T>(
    method: string,
    path: string,
    options: Parameters<ParentClient['request']>[2] = {},
  ): Promise<T> {
    const response = await this.request(method, path, options);
    const text = response.body.toString('utf8');
    let parsed: unknown;
    try {
      parsed = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new FerryError('F1912', [this.site, `HTTP ${response.status} ${text.slice(0, 200)}`]);
    }
    if (response.status >= 400) {
      const message = (parsed as { message?: string }).message ?? text.slice(0, 200);
      const code = (parsed as { errorCode?: string }).errorCode;
      throw new FerryError('F1912', [
        this.site,
        `HTTP ${response.status}${code ? ` ${code}` : ''}: ${message}`,
      ]);
    }
    return parsed as T;
  }
}

async function parentOf(context: FerryContext): Promise<SiteRow> {
  const parent = (await listSites(context.storage)).find((s) => s.role === 'parent');
  if (!parent) throw new FerryError('F1901', ['(parent)']);
  return parent;
}

interface UploadReply {
  response?: {
    received: number;
    total: number | null;
    imported: boolean;
    acknowledgement?: AcknowledgementFile;
  };
}

export interface PushResult {
  parent: string;
  sent: Array<{ sequence: number; bytes: number; resumedAt: number }>;
  acknowledged: number;
  upToDate: boolean;
}

/**
 * Pushes to the parent what it has not acknowledged: packages sent but unacknowledged first (from
 * their files in the outbox), then a new package of the changes since, each uploaded in chunks
 * from where the parent's copy ends; each acknowledgement is applied as it comes.
 */
export async function pushToParent(
  context: FerryContext,
  principal: Principal | undefined,
  config: TransferConfig = transferConfig(),
): Promise<PushResult> {
  requireSyncAuthority(principal, 'F_SYNC_EXPORT');
  const identity = await requireIdentity(context.storage);
  let parent = await parentOf(context);
  const client = new ParentClient(parent, config);
  const result: PushResult = {
    parent: parent.siteId,
    sent: [],
    acknowledged: parent.ackedPackage,
    upToDate: false,
  };
  const outbox = join(context.config.dataDir, 'sync', 'outbox');
  const files: Array<{ sequence: number; path: string }> = [];
  let resend = false;
  for (let sequence = parent.ackedPackage + 1; sequence <= parent.sentPackage; sequence++) {
    const row = await context.storage.queryOne<{ file_path: string | null }>(
      "SELECT file_path FROM sync_package WHERE direction = 'out' AND site_id = ? AND sequence = ?",
      [parent.siteId, sequence],
    );
    if (!row?.file_path || row.file_path.includes('\n') || !existsSync(row.file_path)) {
      resend = true;
      break;
    }
    files.push({ sequence, path: row.file_path });
  }
  if (resend) files.length = 0;
  const kinds = kindsFor('parent');
  const after = resend ? parent.ackedToSeq : parent.sentToSeq;
  const pending = await context.storage.queryOne(
    `SELECT 1 AS found FROM sync_change WHERE seq > ? AND kind IN (${kinds.map(() => '?').join(', ')}) LIMIT 1`,
    [after, ...kinds],
  );
  if (pending || resend) {
    const exported = await exportPackage(context, principal, {
      to: parent.siteId,
      output: join(outbox, `${parent.siteId}-${parent.sentPackage + 1}.zip`),
      fromAck: resend,
    });
    files.push({ sequence: exported.manifest.sequence, path: exported.files[0] });
  }
  if (files.length === 0) {
    result.upToDate = true;
    return result;
  }
  for (const file of files) {
    const total = (await stat(file.path)).size;
    const base = `api/sync/uploads/${encodeURIComponent(identity.siteId)}/${file.sequence}`;
    let status = (await client.json<UploadReply>('GET', base)).response!;
    const resumedAt = status.imported ? total : status.total === total ? status.received : 0;
    let offset = resumedAt;
    while (!status.imported) {
      const end = Math.min(total, offset + (config.chunkBytes ?? DEFAULT_CHUNK));
      status = (
        await client.json<UploadReply>('PUT', `${base}?offset=${offset}&total=${total}`, {
          body: createReadStream(file.path, { start: offset, end: end - 1 }),
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(end - offset) },
        })
      ).response!;
      if (!status.imported && status.received <= offset)
        throw new FerryError('F1912', [
          parent.siteId,
          `the upload of package ${file.sequence} made no progress`,
        ]);
      offset = status.received;
    }
    if (!status.acknowledgement)
      throw new FerryError('F1912', [parent.siteId, `no acknowledgement for package ${file.sequence}`]);
    await applyAcknowledgement(
      context,
      principal,
      status.acknowledgement,
      `acknowledgement from ${parent.siteId}`,
    );
    result.sent.push({ sequence: file.sequence, bytes: total, resumedAt });
  }
  parent = await parentOf(context);
  result.acknowledged = parent.ackedPackage;
  return result;
}

export interface PullResult {
  parent: string;
  imported: Array<Omit<ImportPackageResult, 'acknowledgement'>>;
  upToDate: boolean;
}

/**
 * Pulls the packages the parent has for this site, one after another until it is up to date: each
 * downloaded to the inbox (resumed with a Range request when a part is there), imported, and its
 * acknowledgement posted back.
 */
export async function pullFromParent(
  context: FerryContext,
  principal: Principal | undefined,
  config: TransferConfig = transferConfig(),
  maxPackages = 100,
): Promise<PullResult> {
  requireSyncAuthority(principal, 'F_SYNC_IMPORT');
  const identity = await requireIdentity(context.storage);
  const parent = await parentOf(context);
  const client = new ParentClient(parent, config);
  const inbox = join(context.config.dataDir, 'sync', 'inbox');
  await mkdir(inbox, { recursive: true });
  const result: PullResult = { parent: parent.siteId, imported: [], upToDate: false };
  for (let i = 0; i < maxPackages; i++) {
    const site = (await listSites(context.storage)).find((s) => s.siteId === parent.siteId)!;
    const offer = (
      await client.json<{ response: { upToDate: boolean; sequence?: number; bytes?: number } }>(
        'POST',
        'api/sync/pull',
        {
          body: Buffer.from(JSON.stringify({ site: identity.siteId, have: site.receivedPackage })),
          headers: { 'content-type': 'application/json' },
        },
      )
    ).response;
    if (offer.upToDate || offer.sequence === undefined) {
      result.upToDate = true;
      return result;
    }
    const path = join(inbox, `${parent.siteId}-${offer.sequence}.zip`);
    const partial = `${path}.partial`;
    const have = existsSync(partial) ? (await stat(partial)).size : 0;
    if (have < (offer.bytes ?? Infinity)) {
      const response = await client.request(
        'GET',
        `api/sync/outbox/${encodeURIComponent(identity.siteId)}/${offer.sequence}`,
        {
          headers: have > 0 ? { range: `bytes=${have}-` } : {},
          into: createWriteStream(partial, { flags: have > 0 ? 'a' : 'w' }),
        },
      );
      if (response.status >= 400)
        throw new FerryError('F1912', [
          parent.siteId,
          `HTTP ${response.status} downloading package ${offer.sequence}`,
        ]);
    }
    await rename(partial, path);
    let imported: ImportPackageResult;
    try {
      imported = await importPackage(context, principal, path);
    } catch (error) {
      // A refused download is not kept: the next pull fetches it afresh.
      if (isFerryError(error)) await rm(path, { force: true });
      throw error;
    }
    await rm(path, { force: true });
    await client.json('POST', 'api/sync/acks', {
      body: Buffer.from(JSON.stringify(imported.acknowledgement)),
      headers: { 'content-type': 'application/json' },
    });
    const { acknowledgement: _ack, ...summary } = imported;
    result.imported.push(summary);
  }
  return result;
}
