import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { generateUid, isValidUid } from '../../domain/identifiers/uid.ts';
import { withoutUnsafeNameCharacters } from '../../domain/system/file-name.ts';
import { FileStore, FileTooLargeError } from '../../jobs/file-store.ts';
import { FerryError } from '../../errors.ts';

/**
 * DHIS2 file resources (`/api/fileResources`): the content of FILE_RESOURCE and IMAGE values.
 * Bytes stream to disk under `<files directory>/file-resources/<2 chars>/<uid>` (hashed with
 * SHA-256 on the way, never buffered, cut off at the upload limit), then a `file_resource` row
 * records name, content type, length, hash, domain and uploader. Stored synchronously, so the
 * storage status is STORED at once (DHIS2 answers PENDING while it copies to its file store).
 */

/** DHIS2's domains; only data values' files are kept here. */
export const FILE_RESOURCE_DOMAINS = ['DATA_VALUE'] as const;
export type FileResourceDomain = (typeof FILE_RESOURCE_DOMAINS)[number];

/** DHIS2's blocklist ("File resource blocklist" in its Web API guide): refused at upload. */
const BLOCKED_CONTENT_TYPES = new Set([
  'text/html',
  'text/css',
  'text/javascript',
  'font/otf',
  'application/x-shockwave-flash',
  'application/vnd.debian.binary-package',
  'application/x-rpm',
  'application/java-archive',
  'application/x-ms-dos-executable',
  'application/vnd.microsoft.portable-executable',
  'application/vnd.apple.installer+xml',
  'application/vnd.mozilla.xul+xml',
  'application/x-httpd-php',
  'application/x-sh',
  'application/x-csh',
]);
const BLOCKED_EXTENSIONS = new Set(
  'html htm css js mjs otf swf deb rpm jar jsp exe msi mpkg xul php bin sh csh bat'.split(' '),
);

export interface FileResource {
  uid: string;
  name: string;
  contentType: string;
  contentLength: number;
  sha256: string;
  domain: FileResourceDomain;
  ownerUid: string | null;
  created: string;
}

interface FileResourceRow {
  uid: string;
  name: string;
  content_type: string;
  content_length: number | string;
  sha256: string;
  domain: string;
  owner_uid: string | null;
  created: string;
}

/** Where file resources' bytes live: beside the job files, so every worker node reads them. */
export function fileResourceStore(context: FerryContext): FileStore {
  return new FileStore(context.storage, join(context.jobs.files.directory, 'file-resources'));
}

export interface NewFileResource {
  source: AsyncIterable<Uint8Array> | Readable;
  /** The part's file name; a default when absent, as DHIS2. */
  name: string | undefined;
  contentType: string | undefined;
  domain: unknown;
  /** A uid chosen by the client (`?uid=`), else one is generated. */
  uid: unknown;
  maxBytes: number;
}

/** Streams the upload to disk and records it; F1000 for a blocked type or a bad domain/uid, F1002 when too large. */
export async function createFileResource(
  context: FerryContext,
  upload: NewFileResource,
  owner: Principal,
): Promise<FileResource> {
  const domain = upload.domain ?? 'DATA_VALUE';
  if (!FILE_RESOURCE_DOMAINS.includes(domain as FileResourceDomain))
    throw new FerryError('F1000', ['domain', String(domain), FILE_RESOURCE_DOMAINS.join(', ')]);
  if (upload.uid !== undefined && !isValidUid(upload.uid))
    throw new FerryError('F1000', ['uid', String(upload.uid), 'an 11-character DHIS2 uid']);
  const uid = (upload.uid as string | undefined) ?? generateUid();
  if (await getFileResource(context, uid))
    throw new FerryError('F1300', [`File resource ${uid} already exists`]);
  const name =
    withoutUnsafeNameCharacters(upload.name?.split(/[\\/]/).pop() ?? '')
      .trim()
      .slice(0, 255) || 'file';
  const contentType =
    (upload.contentType ?? '').split(';', 1)[0].trim().toLowerCase() || 'application/octet-stream';
  const extension = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  if (BLOCKED_CONTENT_TYPES.has(contentType))
    throw new FerryError('F1000', [
      'file',
      contentType,
      "a content type outside DHIS2's file resource blocklist",
    ]);
  if (BLOCKED_EXTENSIONS.has(extension))
    throw new FerryError('F1000', ['file', name, "a file extension outside DHIS2's file resource blocklist"]);
  const store = fileResourceStore(context);
  let written: { path: string; size: number; sha256: string };
  try {
    written = await store.writeStream(uid, upload.source, upload.maxBytes);
  } catch (error) {
    if (error instanceof FileTooLargeError) throw new FerryError('F1002', [error.limit]);
    throw error;
  }
  const resource: FileResource = {
    uid,
    name,
    contentType,
    contentLength: written.size,
    sha256: written.sha256,
    domain: domain as FileResourceDomain,
    ownerUid: owner.uid,
    created: new Date().toISOString(),
  };
  try {
    await context.storage.execute(
      `INSERT INTO file_resource (uid, name, content_type, content_length, sha256, domain, owner_uid, created)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      [uid, name, contentType, written.size, written.sha256, resource.domain, owner.uid, resource.created],
    );
  } catch (error) {
    await rm(written.path, { force: true });
    throw error;
  }
  return resource;
}

export async function getFileResource(context: FerryContext, uid: string): Promise<FileResource | undefined> {
  if (!isValidUid(uid)) return undefined;
  const row = await context.storage.queryOne<FileResourceRow>('SELECT * FROM file_resource WHERE uid = ?', [
    uid,
  ]);
  return row ? resourceOf(row) : undefined;
}

/** File resources by uid, in bulk (the analysis export's binary files). */
export async function getFileResources(
  context: FerryContext,
  uids: readonly string[],
): Promise<Map<string, FileResource>> {
  const out = new Map<string, FileResource>();
  const valid = [...new Set(uids.filter((u) => isValidUid(u)))];
  for (let i = 0; i < valid.length; i += 500) {
    const part = valid.slice(i, i + 500);
    const rows = await context.storage.query<FileResourceRow>(
      `SELECT * FROM file_resource WHERE uid IN (${part.map(() => '?').join(', ')})`,
      part,
    );
    for (const row of rows) out.set(row.uid, resourceOf(row));
  }
  return out;
}

/**
 * Who may read a file resource: its uploader, a superuser (ALL), or a user who exports data
 * (F_EXPORT_DATA). DHIS2 checks the referencing data value's sharing; Ferry does not trace that link yet.
 */
export function canReadFileResource(resource: FileResource, principal: Principal): boolean {
  return (
    resource.ownerUid === principal.uid ||
    principal.authorities.has('ALL') ||
    principal.authorities.has('F_EXPORT_DATA')
  );
}

/** The bytes on disk, or undefined when the file is gone. */
export async function openFileResourceContent(
  context: FerryContext,
  resource: FileResource,
): Promise<Readable | undefined> {
  const path = fileResourceStore(context).pathFor(resource.uid);
  try {
    await stat(path);
  } catch {
    return undefined;
  }
  return createReadStream(path);
}

/** DHIS2's FileResource object as JSON. */
export function fileResourceJson(resource: FileResource): Record<string, unknown> {
  return {
    id: resource.uid,
    name: resource.name,
    displayName: resource.name,
    created: resource.created,
    lastUpdated: resource.created,
    contentType: resource.contentType,
    contentLength: resource.contentLength,
    domain: resource.domain,
    storageStatus: 'STORED',
    ...(resource.ownerUid ? { createdBy: { id: resource.ownerUid } } : {}),
    hasMultipleStorageFiles: false,
  };
}

function resourceOf(row: FileResourceRow): FileResource {
  return {
    uid: row.uid,
    name: row.name,
    contentType: row.content_type,
    contentLength: Number(row.content_length),
    sha256: row.sha256,
    domain: row.domain as FileResourceDomain,
    ownerUid: row.owner_uid,
    created: row.created,
  };
}
