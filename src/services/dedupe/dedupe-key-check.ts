import type { SqlExecutor } from '../../storage/storage.ts';
import { DedupeStore } from '../../storage/dedupe-store.ts';

/**
 * The check-and-track of a batch of keys against a pool (TRACK and FILTER_AND_TRACK), shared by
 * every import that uses a pool (data values, tracker) and by the bench: the keys the pool does not
 * hold are inserted and returned; the keys it holds get their last seen time and job updated and
 * are not returned. Atomic per key: the pool's primary key on (pool, type, key) decides, by an
 * insert that does nothing on conflict (docs/formats/dedupe-pools.md, "How a key is checked"), so
 * two imports never both get one key back. Run it inside the import's transaction, so a rollback
 * takes its keys with it.
 *
 * `keys` must be distinct. Returns the keys new to the pool.
 */
export async function checkAndTrackKeys(
  tx: SqlExecutor,
  poolId: number,
  entityTypeId: number,
  keys: readonly string[],
  now: string,
  jobId: string | null,
): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  return new DedupeStore(tx).trackKeys(poolId, entityTypeId, keys, now, jobId);
}
