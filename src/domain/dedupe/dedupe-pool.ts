import {
  canDataRead,
  canDataWrite,
  hasSharingPermission,
  type SharingSubject,
} from '../access/data-sharing.ts';
import { isValidUid } from '../identifiers/uid.ts';

/**
 * A de-duplication pool as Ferry stores and serves it, and the rules for creating, changing and
 * using one. Sharing is DHIS2's 2.36+ object (`owner`, `public`, `users`, `userGroups`), read with
 * the data sharing model of src/domain/access/data-sharing.ts, with the access letters meaning:
 * metadata read = see the pool, metadata write = change or delete it (and its sharing), data read =
 * filter with it and export its entries, data write = track keys into it and import a CSV file.
 */
export interface DedupePoolSharing {
  owner: string | null;
  public: string;
  users: Record<string, { id: string; access: string }>;
  userGroups: Record<string, { id: string; access: string }>;
}

export interface DedupePool {
  id: string;
  name: string;
  description: string;
  retentionDays: number;
  sharing: DedupePoolSharing;
  created: string;
  lastUpdated: string;
}

/** What a POST or PUT may set. */
export interface DedupePoolInput {
  name: string;
  description: string;
  retentionDays: number;
  sharing: DedupePoolSharing | undefined;
}

export const DEFAULT_RETENTION_DAYS = 90;
/** 100 years: long enough to mean "keep", short enough that the date arithmetic stays valid. */
export const MAX_RETENTION_DAYS = 36_500;
export const MAX_POOL_NAME_CHARS = 230;
export const MAX_POOL_DESCRIPTION_CHARS = 2_000;
/** Longest key a pool holds (a data value's full key is 5 UIDs and a period: about 70). */
export const MAX_DEDUPE_KEY_CHARS = 1_000;

/** A pool body that cannot be accepted; the service answers 400 naming the field. */
export class DedupePoolInputError extends Error {
  readonly field: string;
  readonly given: string;
  readonly allowed: string;
  constructor(field: string, given: string, allowed: string) {
    super(`Invalid value for \`${field}\`: \`${given}\`; allowed: ${allowed}`);
    this.field = field;
    this.given = given;
    this.allowed = allowed;
  }
}

const ACCESS = /^[r-][w-][r-][w-]-{4}$/;
const NO_ACCESS = '--------';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return (text ?? String(value)).slice(0, 100);
}

function accessMap(value: unknown, field: string): Record<string, { id: string; access: string }> {
  if (value === undefined || value === null) return {};
  const out: Record<string, { id: string; access: string }> = {};
  const add = (uid: unknown, access: unknown, where: string): void => {
    if (typeof uid !== 'string' || !isValidUid(uid))
      throw new DedupePoolInputError(where, shown(uid), 'a UID');
    if (typeof access !== 'string' || !ACCESS.test(access))
      throw new DedupePoolInputError(`${where}.access`, shown(access), 'an access string such as rwrw----');
    out[uid] = { id: uid, access };
  };
  if (Array.isArray(value)) {
    value.forEach((entry, i) => {
      if (!isRecord(entry)) throw new DedupePoolInputError(`${field}[${i}]`, shown(entry), '{id, access}');
      add(entry.id, entry.access, `${field}[${i}]`);
    });
  } else if (isRecord(value)) {
    for (const [key, entry] of Object.entries(value)) {
      if (!isRecord(entry)) throw new DedupePoolInputError(`${field}.${key}`, shown(entry), '{id, access}');
      add(entry.id ?? key, entry.access, `${field}.${key}`);
    }
  } else {
    throw new DedupePoolInputError(field, shown(value), 'an object of {id, access} by UID');
  }
  return out;
}

/** Sharing as given in a body (2.36+ shape; users and groups as a map or a list), checked. */
export function parsePoolSharing(value: unknown): DedupePoolSharing | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new DedupePoolInputError('sharing', shown(value), 'an object');
  const owner = value.owner ?? null;
  if (owner !== null && (typeof owner !== 'string' || !isValidUid(owner)))
    throw new DedupePoolInputError('sharing.owner', shown(owner), 'a user UID');
  const publicAccess = value.public ?? NO_ACCESS;
  if (typeof publicAccess !== 'string' || !ACCESS.test(publicAccess))
    throw new DedupePoolInputError(
      'sharing.public',
      shown(publicAccess),
      'an access string such as r-r-----',
    );
  return {
    owner: owner as string | null,
    public: publicAccess,
    users: accessMap(value.users, 'sharing.users'),
    userGroups: accessMap(value.userGroups, 'sharing.userGroups'),
  };
}

/** A POST or PUT body, checked; `retentionDays` defaults to 90, `description` to empty. */
export function parsePoolInput(body: unknown): DedupePoolInput {
  if (!isRecord(body)) throw new DedupePoolInputError('body', shown(body), 'a JSON object');
  const name = typeof body.name === 'string' ? body.name.trim() : '';
  if (name === '' || name.length > MAX_POOL_NAME_CHARS)
    throw new DedupePoolInputError(
      'name',
      shown(body.name),
      `a text of 1 to ${MAX_POOL_NAME_CHARS} characters`,
    );
  const description = body.description ?? '';
  if (typeof description !== 'string' || description.length > MAX_POOL_DESCRIPTION_CHARS)
    throw new DedupePoolInputError(
      'description',
      shown(description),
      `a text of at most ${MAX_POOL_DESCRIPTION_CHARS} characters`,
    );
  const retentionDays = body.retentionDays ?? DEFAULT_RETENTION_DAYS;
  if (
    typeof retentionDays !== 'number' ||
    !Number.isInteger(retentionDays) ||
    retentionDays < 1 ||
    retentionDays > MAX_RETENTION_DAYS
  )
    throw new DedupePoolInputError(
      'retentionDays',
      shown(retentionDays),
      `a whole number of days, 1 to ${MAX_RETENTION_DAYS}`,
    );
  return { name, description, retentionDays, sharing: parsePoolSharing(body.sharing) };
}

/** A new pool's sharing when the body gives none: its creator owns it and has full access, nobody else any. */
export function creatorSharing(creatorUid: string | null): DedupePoolSharing {
  return {
    owner: creatorUid,
    public: NO_ACCESS,
    users: creatorUid ? { [creatorUid]: { id: creatorUid, access: 'rwrw----' } } : {},
    userGroups: {},
  };
}

export const POOL_ACCESS = ['see', 'manage', 'filter', 'track'] as const;
export type PoolAccess = (typeof POOL_ACCESS)[number];

/** In words, for refusals: what each kind of use needs. */
export const POOL_ACCESS_NEEDS: Readonly<Record<PoolAccess, string>> = {
  see: 'metadata read access',
  manage: 'metadata write access',
  filter: 'data read access',
  track: 'data write access',
};

/**
 * Whether the subject may use the pool so. The owner has metadata read and write (as in DHIS2,
 * where the owner's rights are over the object, not its data); ALL passes everything. Undefined
 * subject: the operator at the command line, who holds the database.
 */
export function canUsePool(
  pool: Pick<DedupePool, 'sharing'>,
  subject: SharingSubject | undefined,
  access: PoolAccess,
): boolean {
  if (!subject || subject.superuser) return true;
  const body = { sharing: pool.sharing };
  const owner = pool.sharing.owner !== null && pool.sharing.owner === subject.userUid;
  switch (access) {
    case 'see':
      return (
        owner ||
        hasSharingPermission(body, subject, 'metadataRead') ||
        hasSharingPermission(body, subject, 'metadataWrite') ||
        canDataRead(body, subject)
      );
    case 'manage':
      return owner || hasSharingPermission(body, subject, 'metadataWrite');
    case 'filter':
      return canDataRead(body, subject);
    case 'track':
      return canDataWrite(body, subject);
  }
}
