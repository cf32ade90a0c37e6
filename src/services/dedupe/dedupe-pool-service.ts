import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority, sharingSubjectOf } from '../../domain/access/principal.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { DedupeStore, type DedupePoolRow } from '../../storage/dedupe-store.ts';
import { generateUid, isValidUid } from '../../domain/identifiers/uid.ts';
import {
  canUsePool,
  creatorSharing,
  DedupePoolInputError,
  parsePoolInput,
  POOL_ACCESS_NEEDS,
  type DedupePool,
  type DedupePoolSharing,
  type PoolAccess,
} from '../../domain/dedupe/dedupe-pool.ts';
import { dedupeEntityTypeById } from '../../domain/dedupe/dedupe-entity-types.ts';
import { FerryError } from '../../errors.ts';

// Pools: list, read, create, change, delete, and their entries, each checked against the caller's
// sharing at the moment it acts. `principal` undefined is the operator at the command line.

export const DEFAULT_ENTRIES_PAGE_SIZE = 50;
export const MAX_ENTRIES_PAGE_SIZE = 1_000;

export function poolFromRow(row: DedupePoolRow): DedupePool {
  return {
    id: row.uid,
    name: row.name,
    description: row.description,
    retentionDays: row.retentionDays,
    sharing: JSON.parse(row.sharing) as DedupePoolSharing,
    created: row.created,
    lastUpdated: row.lastUpdated,
  };
}

/** Who uses a pool: a signed-in principal, or an importer's principal with the same fields. */
export type PoolPrincipal = Pick<Principal, 'uid' | 'userGroupUids' | 'authorities'>;

function subjectOf(principal: PoolPrincipal | undefined) {
  return principal ? sharingSubjectOf(principal) : undefined;
}

function inputError(error: unknown): never {
  if (error instanceof DedupePoolInputError)
    throw new FerryError('F1000', [error.field, error.given, error.allowed]);
  throw error;
}

/**
 * The pool by UID or name, checked for `access`. A pool the caller may not even see answers as
 * missing (404), so its name does not leak; one it sees but may not use so answers 403 (F1700).
 */
export async function requirePool(
  db: SqlExecutor,
  principal: PoolPrincipal | undefined,
  ref: string,
  access: PoolAccess,
): Promise<DedupePoolRow> {
  const store = new DedupeStore(db);
  const row = (isValidUid(ref) ? await store.poolByUid(ref) : undefined) ?? (await store.poolByName(ref));
  const pool = row ? poolFromRow(row) : undefined;
  const subject = subjectOf(principal);
  if (!row || !pool || !canUsePool(pool, subject, 'see'))
    throw new FerryError('F1200', ['De-duplication pool', ref]);
  if (!canUsePool(pool, subject, access))
    throw new FerryError('F1700', [row.name, POOL_ACCESS_NEEDS[access]]);
  return row;
}

/** Removes the pool's entries last seen longer ago than its retention; returns how many. */
export async function pruneExpiredEntries(
  db: SqlExecutor,
  row: DedupePoolRow,
  now = new Date(),
): Promise<number> {
  const cutoff = new Date(now.getTime() - row.retentionDays * 86_400_000).toISOString();
  return new DedupeStore(db).pruneBefore(row.poolId, cutoff);
}

export async function listPools(
  context: FerryContext,
  principal: Principal | undefined,
): Promise<Array<DedupePool & { entryCount: number }>> {
  const store = new DedupeStore(context.storage);
  const subject = subjectOf(principal);
  const out: Array<DedupePool & { entryCount: number }> = [];
  for (const row of await store.listPools()) {
    const pool = poolFromRow(row);
    if (!canUsePool(pool, subject, 'see')) continue;
    out.push({ ...pool, entryCount: await store.countEntries(row.poolId) });
  }
  return out;
}

export async function getPool(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
): Promise<DedupePool & { entryCount: number }> {
  const row = await requirePool(context.storage, principal, ref, 'see');
  return { ...poolFromRow(row), entryCount: await new DedupeStore(context.storage).countEntries(row.poolId) };
}

async function nameTaken(store: DedupeStore, name: string, except?: number): Promise<void> {
  const other = await store.poolByName(name);
  if (other && other.poolId !== except)
    throw new FerryError('F1300', [`A de-duplication pool named '${name}' exists already (${other.uid})`]);
}

/** Creates a pool; needs F_DEDUPE_POOL_MANAGE. Without sharing in the body, its creator owns it alone. */
export async function createPool(
  context: FerryContext,
  principal: Principal | undefined,
  body: unknown,
): Promise<DedupePool> {
  if (principal && !principalHasAuthority(principal, 'F_DEDUPE_POOL_MANAGE'))
    throw new FerryError('F1102', ['F_DEDUPE_POOL_MANAGE']);
  let input;
  try {
    input = parsePoolInput(body);
  } catch (error) {
    inputError(error);
  }
  const requestedId = (body as { id?: unknown }).id;
  if (requestedId !== undefined && (typeof requestedId !== 'string' || !isValidUid(requestedId)))
    throw new FerryError('F1000', ['id', String(requestedId), 'a UID, or leave it out']);
  const uid = (requestedId as string | undefined) ?? generateUid();
  const now = new Date().toISOString();
  const sharing = input.sharing ?? creatorSharing(principal?.uid ?? null);
  if (sharing.owner === null && principal) sharing.owner = principal.uid;
  await context.storage.transaction(async (tx) => {
    const store = new DedupeStore(tx);
    if (tx.kind === 'postgres')
      await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', ['dedupe_pool']);
    await nameTaken(store, input.name);
    if (await store.poolByUid(uid))
      throw new FerryError('F1300', [`A de-duplication pool with id ${uid} exists already`]);
    await store.insertPool({
      uid,
      name: input.name,
      description: input.description,
      retentionDays: input.retentionDays,
      sharing: JSON.stringify(sharing),
      created: now,
      lastUpdated: now,
    });
  });
  return getPool(context, principal, uid);
}

/** Changes name, description, retention and (when given) sharing; needs metadata write on the pool. */
export async function updatePool(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
  body: unknown,
): Promise<DedupePool> {
  let input;
  try {
    input = parsePoolInput(body);
  } catch (error) {
    inputError(error);
  }
  const uid = await context.storage.transaction(async (tx) => {
    const row = await requirePool(tx, principal, ref, 'manage');
    const store = new DedupeStore(tx);
    if (tx.kind === 'postgres')
      await tx.execute('SELECT pg_advisory_xact_lock(hashtext(?))', ['dedupe_pool']);
    await nameTaken(store, input.name, row.poolId);
    const old = JSON.parse(row.sharing) as DedupePoolSharing;
    const sharing = input.sharing ? { ...input.sharing, owner: input.sharing.owner ?? old.owner } : old;
    await store.updatePool({
      ...row,
      name: input.name,
      description: input.description,
      retentionDays: input.retentionDays,
      sharing: JSON.stringify(sharing),
      lastUpdated: new Date().toISOString(),
    });
    return row.uid;
  });
  return getPool(context, principal, uid);
}

export async function deletePool(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
): Promise<DedupePool> {
  return context.storage.transaction(async (tx) => {
    const row = await requirePool(tx, principal, ref, 'manage');
    await new DedupeStore(tx).deletePool(row.poolId);
    return poolFromRow(row);
  });
}

export interface EntryPage {
  pager: { pageSize: number; nextBefore: number | null };
  entries: Array<{
    id: number;
    value: string;
    entityTypeId: number;
    entityType: string | null;
    firstSeen: string;
    lastSeen: string;
    job: string | null;
  }>;
}

/**
 * A page of the pool's entries, newest first: `before` is the `pager.nextBefore` of the previous
 * page (keyset, so page 1,000 costs what page 1 does); `prefix` searches keys by their start.
 */
export async function listEntries(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
  query: { prefix?: string; entityTypeId?: number; before?: number; pageSize?: number },
): Promise<EntryPage> {
  const row = await requirePool(context.storage, principal, ref, 'filter');
  const pageSize = query.pageSize ?? DEFAULT_ENTRIES_PAGE_SIZE;
  const rows = await new DedupeStore(context.storage).entries(row.poolId, {
    prefix: query.prefix,
    entityTypeId: query.entityTypeId,
    before: query.before,
    limit: pageSize + 1,
  });
  const more = rows.length > pageSize;
  const page = more ? rows.slice(0, pageSize) : rows;
  return {
    pager: { pageSize, nextBefore: more ? page[page.length - 1].entryId : null },
    entries: page.map((entry) => ({
      id: entry.entryId,
      value: entry.key,
      entityTypeId: entry.entityTypeId,
      entityType: dedupeEntityTypeById(entry.entityTypeId)?.code ?? null,
      firstSeen: entry.firstSeen,
      lastSeen: entry.lastSeen,
      job: entry.jobId,
    })),
  };
}
