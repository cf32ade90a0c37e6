import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { DedupeStore } from '../../storage/dedupe-store.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { readCsvRecordBatches } from '../../codecs/csv/csv-reader.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { dedupeEntityTypeById, DEDUPE_ENTITY_TYPES } from '../../domain/dedupe/dedupe-entity-types.ts';
import { MAX_DEDUPE_KEY_CHARS } from '../../domain/dedupe/dedupe-pool.ts';
import { FerryError } from '../../errors.ts';
import { pruneExpiredEntries, requirePool } from './dedupe-pool-service.ts';
import { loadDedupeConfig } from './dedupe-config.ts';

// A pool's entries as a CSV file, both ways: exactly the header `value,entity_type_id`, comma
// separated, one row per entry (Patchworks' format). Fields holding a comma, a quote or a line
// break are quoted as RFC 4180 says, so any key survives the round trip.

export const POOL_CSV_HEADER = 'value,entity_type_id';

/** Rows written to the pool per statement batch while importing. */
const IMPORT_BATCH_ROWS = 5_000;

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The export's text, streamed in chunks of one batch of entries each. */
export async function* poolCsvChunks(
  context: FerryContext,
  poolId: number,
  signal?: AbortSignal,
  onRows?: (rows: number) => void,
): AsyncIterable<string> {
  yield `${POOL_CSV_HEADER}\n`;
  let rows = 0;
  for await (const batch of new DedupeStore(context.storage).streamEntries(poolId)) {
    signal?.throwIfAborted();
    let text = '';
    for (const [key, type] of batch) text += `${csvField(key)},${type}\n`;
    rows += batch.length;
    onRows?.(rows);
    yield text;
  }
}

export interface PoolCsvImportResult {
  pool: string;
  /** Data rows read (the header not counted). */
  rows: number;
  /** Entries the pool did not hold and now does. */
  added: number;
  /** Rows whose (type, key) the pool held already, or that repeated an earlier row: last seen and job updated. */
  alreadyInPool: number;
  /** Expired entries removed before the import. */
  expiredRemoved: number;
  entryCount: number;
}

function refuse(fileName: string, line: number, reason: string): never {
  throw new FerryError('F1701', [fileName, line, reason], { line });
}

/**
 * Imports a pool CSV file into the pool `ref`, all or nothing: the header must be exactly
 * `value,entity_type_id`; every row needs a non-empty value and the id of a known entity type.
 * A (type, key) the pool holds keeps its entry; its last seen and job are updated. The first bad
 * row stops the import with its line number (F1701) and nothing of the file stays. Streamed: the
 * file is read in chunks and written in batches inside one transaction.
 */
export async function importPoolCsv(
  context: FerryContext,
  principal: Principal | undefined,
  ref: string,
  source: { path: string; fileName: string },
  run: { jobId?: string; signal?: AbortSignal; progress?: (rows: number) => void } = {},
): Promise<PoolCsvImportResult> {
  const { importMaxBytes } = loadDedupeConfig();
  const size = (await stat(source.path)).size;
  if (size > importMaxBytes) throw new FerryError('F1002', [importMaxBytes]);
  const jobId = run.jobId ?? null;
  return context.storage.transaction(async (tx) => {
    // Checked inside the transaction that writes: the rights at the moment of acting.
    const row = await requirePool(tx, principal, ref, 'track');
    const store = new DedupeStore(tx);
    const expiredRemoved = await pruneExpiredEntries(tx, row);
    const now = new Date().toISOString();
    let rows = 0;
    let added = 0;
    let headerSeen = false;
    // The batch's keys by entity type (files usually hold one): one statement a type and batch.
    // Repeats stay in: the statement counts a repeat as held.
    const pending = new Map<number, string[]>();
    let pendingRows = 0;
    const flush = async (): Promise<void> => {
      if (pendingRows === 0) return;
      for (const [type, keys] of pending) added += await store.upsertKeys(row.poolId, type, keys, now, jobId);
      pending.clear();
      pendingRows = 0;
      run.progress?.(rows);
    };
    try {
      const text = decodeUtf8(createReadStream(source.path), source.fileName);
      for await (const records of readCsvRecordBatches(text, source.fileName)) {
        run.signal?.throwIfAborted();
        for (const record of records) {
          const { fields, line } = record;
          if (!headerSeen) {
            if (fields.length !== 2 || fields[0] !== 'value' || fields[1] !== 'entity_type_id')
              refuse(
                source.fileName,
                line,
                `the header must be exactly \`${POOL_CSV_HEADER}\`, not \`${fields.join(',')}\``,
              );
            headerSeen = true;
            continue;
          }
          rows++;
          if (fields.length !== 2)
            refuse(source.fileName, line, `expected 2 fields (value,entity_type_id), found ${fields.length}`);
          const [value, typeText] = fields;
          if (value === '') refuse(source.fileName, line, 'the value is empty');
          if (value.length > MAX_DEDUPE_KEY_CHARS)
            refuse(source.fileName, line, `the value is longer than ${MAX_DEDUPE_KEY_CHARS} characters`);
          if (typeText === '') refuse(source.fileName, line, 'entity_type_id is missing');
          const type = /^\d{1,9}$/.test(typeText) ? Number(typeText) : NaN;
          if (!dedupeEntityTypeById(type))
            refuse(
              source.fileName,
              line,
              `entity_type_id \`${typeText.slice(0, 50)}\` is not an entity type (${DEDUPE_ENTITY_TYPES.map((t) => t.id).join(', ')}; GET /api/dedupe/entityTypes)`,
            );
          const keys = pending.get(type);
          if (keys) keys.push(value);
          else pending.set(type, [value]);
          if (++pendingRows >= IMPORT_BATCH_ROWS) await flush();
        }
      }
    } catch (error) {
      if (error instanceof InputError) refuse(source.fileName, error.line ?? 0, error.message);
      throw error;
    }
    if (!headerSeen)
      refuse(source.fileName, 1, `the file is empty; the header \`${POOL_CSV_HEADER}\` is required`);
    await flush();
    return {
      pool: row.uid,
      rows,
      added,
      alreadyInPool: rows - added,
      expiredRemoved,
      entryCount: await store.countEntries(row.poolId),
    };
  });
}
