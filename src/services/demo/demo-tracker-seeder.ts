import { setImmediate } from 'node:timers/promises';
import type { SqlExecutor, SqlValue, Storage, Transaction } from '../../storage/storage.ts';
import type { MetadataStore } from '../../storage/metadata-store.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../domain/category/default-category-model.ts';
import type { DemoDatabase, DemoFacility } from './demo-types.ts';
import {
  DEMO_TRACKER_INSERTS,
  DEMO_TRACKER_PARENTS,
  DEMO_TRACKER_TABLE_ORDER,
  demoTrackerRows,
  eventCount,
  lastEventUid,
  type DemoTrackerIds,
  type DemoTrackerRows,
} from './demo-tracker-data.ts';

/** What the tracker stage needs of the context. */
export interface DemoTrackerContext {
  storage: Storage;
  metadata: MetadataStore;
}

/** What the tracker stage wrote (rows already there from an interrupted run are not counted). */
export interface DemoTrackerSummary {
  trackedEntities: number;
  enrollments: number;
  events: number;
  relationships: number;
  milliseconds: number;
}

export interface DemoTrackerRun {
  onProgress?: (progress: { events: number; totalEvents: number }) => void;
  signal?: AbortSignal;
  beforeCommit?: (tx: Transaction) => Promise<void>;
  /** Facilities per transaction; FACILITIES_PER_TRANSACTION unless a test wants more transactions. */
  facilitiesPerTransaction?: number;
}

/**
 * Facilities whose tracker rows go into one transaction: about 9,000 events with their tracked
 * entities and enrollments, a fraction of a second, so that other writers wait for one chunk only.
 */
const FACILITIES_PER_TRANSACTION = 50;
/** Rows per statement: on PostgreSQL one multi-row INSERT; between batches the event loop turns. */
const BATCH_ROWS = 1_000;

/**
 * Surrogate ids of the metadata the tracker rows refer to; undefined when some is missing: a demo
 * seeded by an older Ferry, before the demo had tracker data (its data stage is then complete
 * without it, rather than failing on every start).
 */
async function demoTrackerIds(
  context: DemoTrackerContext,
  demo: DemoDatabase,
): Promise<DemoTrackerIds | undefined> {
  const { tracker } = demo;
  const metadata = context.metadata;
  const objects = new Map<string, number>();
  const add = (ids: ReadonlyMap<string, number>) => ids.forEach((id, uid) => objects.set(uid, id));
  add(await metadata.sids('programs', [tracker.malaria.program, tracker.anc.program, tracker.child.program]));
  add(
    await metadata.sids('programStages', [
      tracker.malaria.stage,
      tracker.anc.stage,
      tracker.child.birthStage,
      tracker.child.immunisationStage,
      tracker.child.growthStage,
    ]),
  );
  add(await metadata.sids('trackedEntityTypes', [tracker.personType]));
  add(await metadata.sids('trackedEntityAttributes', Object.values(tracker.attributes)));
  add(await metadata.sids('relationshipTypes', [tracker.motherChild]));
  const aoc = (await metadata.sids('categoryOptionCombos', [DEFAULT_CATEGORY_OPTION_COMBO_UID])).get(
    DEFAULT_CATEGORY_OPTION_COMBO_UID,
  );
  const wanted = [
    tracker.malaria.program,
    tracker.anc.program,
    tracker.child.program,
    tracker.malaria.stage,
    tracker.anc.stage,
    tracker.child.birthStage,
    tracker.child.immunisationStage,
    tracker.child.growthStage,
    tracker.personType,
    ...Object.values(tracker.attributes),
    tracker.motherChild,
  ];
  if (aoc === undefined || wanted.some((uid) => !objects.has(uid))) return undefined;
  return {
    orgUnits: await metadata.sids(
      'organisationUnits',
      demo.facilities.map((f) => f.uid),
    ),
    objects,
    defaultAttributeOptionCombo: aoc,
  };
}

/** Facilities in surrogate id order, as the data values are written. */
function facilitiesInOrder(demo: DemoDatabase, ids: DemoTrackerIds): DemoFacility[] {
  return [...demo.facilities].sort((a, b) => (ids.orgUnits.get(a.uid) ?? 0) - (ids.orgUnits.get(b.uid) ?? 0));
}

async function hasEvent(db: SqlExecutor, uid: string): Promise<boolean> {
  return (await db.queryOne('SELECT 1 AS present FROM event WHERE uid = ?', [uid])) !== undefined;
}

/** Which of these event UIDs are stored (at most FACILITIES_PER_TRANSACTION or so at once). */
async function existingEvents(db: SqlExecutor, uids: readonly string[]): Promise<Set<string>> {
  const rows = await db.query<{ uid: string }>(
    `SELECT uid FROM event WHERE uid IN (${uids.map(() => '?').join(', ')})`,
    uids,
  );
  return new Set(rows.map((r) => r.uid));
}

/**
 * The tracker stage: tracked entities, enrollments, events and relationships of the demo, facility
 * by facility in transactions of FACILITIES_PER_TRANSACTION facilities, in multi-row inserts of
 * BATCH_ROWS rows with a turn of the event loop between them (the server keeps answering). A
 * facility whose last event is already there was written (whole, in one transaction) by a stopped
 * seed and is skipped; inserts are `ON CONFLICT DO NOTHING` besides. Needs the metadata stage's objects.
 */
export async function seedDemoTrackerData(
  context: DemoTrackerContext,
  demo: DemoDatabase,
  run: DemoTrackerRun = {},
): Promise<DemoTrackerSummary> {
  const started = performance.now();
  const ids = await demoTrackerIds(context, demo);
  const summary = { trackedEntities: 0, enrollments: 0, events: 0, relationships: 0 };
  if (!ids) return { ...summary, milliseconds: 0 };
  const facilities = facilitiesInOrder(demo, ids);
  // One pass without writing, so that progress has a total (about a second at full size).
  let totalEvents = 0;
  for (const facility of facilities) {
    totalEvents += eventCount(demoTrackerRows(demo, ids, facility));
    if (facility.index % 50 === 0) {
      await setImmediate();
      run.signal?.throwIfAborted();
    }
  }
  let done = 0;
  run.onProgress?.({ events: 0, totalEvents });
  const perTransaction = run.facilitiesPerTransaction ?? FACILITIES_PER_TRANSACTION;
  for (let start = 0; start < facilities.length; start += perTransaction) {
    run.signal?.throwIfAborted();
    const generated = facilities
      .slice(start, start + perTransaction)
      .map((f) => demoTrackerRows(demo, ids, f));
    // A facility whose last event is there was written whole by an earlier run (a stopped seed).
    const written = await existingEvents(context.storage, generated.map(lastEventUid));
    const chunk = generated.filter((rows) => !written.has(lastEventUid(rows)));
    const chunkEvents = chunk.reduce((n, rows) => n + eventCount(rows), 0);
    done += generated.reduce((n, rows) => n + eventCount(rows), 0) - chunkEvents;
    if (chunk.length === 0) continue;
    const rows = mergeRows(chunk);
    await context.storage.transaction(async (tx) => {
      const keys = { tracked_entity: new Map<string, number>(), enrollment: new Map<string, number>() };
      for (const table of DEMO_TRACKER_TABLE_ORDER) {
        const parents = DEMO_TRACKER_PARENTS[table];
        const list = parents
          ? withParentKeys(rows[table], parents.columns, keys[parents.parent])
          : rows[table];
        for (let i = 0; i < list.length; i += BATCH_ROWS) {
          await tx.executeMany(DEMO_TRACKER_INSERTS[table], list.slice(i, i + BATCH_ROWS));
          // node:sqlite is synchronous: without a turn of the event loop between batches, no
          // request would be answered until the whole transaction ended.
          await setImmediate();
          run.signal?.throwIfAborted();
        }
        // The keys of the parents just written, for the tables after them.
        if (table === 'trackedEntities') await lookUpKeys(tx, 'tracked_entity', list, keys.tracked_entity);
        if (table === 'enrollments') await lookUpKeys(tx, 'enrollment', list, keys.enrollment);
      }
      await run.beforeCommit?.(tx);
    });
    summary.trackedEntities += rows.trackedEntities.length;
    summary.enrollments += rows.enrollments.length;
    summary.events += chunkEvents;
    summary.relationships += rows.relationships.length;
    done += chunkEvents;
    run.onProgress?.({ events: done, totalEvents });
  }
  return { ...summary, milliseconds: Math.round(performance.now() - started) };
}

/** Surrogate keys of just-written parent rows (their UID in column 0), a query per BATCH_ROWS. */
async function lookUpKeys(
  tx: SqlExecutor,
  table: 'tracked_entity' | 'enrollment',
  parentRows: readonly (readonly SqlValue[])[],
  into: Map<string, number>,
): Promise<void> {
  const uids = parentRows.map((r) => String(r[0])).filter((uid) => !into.has(uid));
  for (let i = 0; i < uids.length; i += BATCH_ROWS) {
    const chunk = uids.slice(i, i + BATCH_ROWS);
    const found = await tx.query<{ uid: string; id: number | string }>(
      `SELECT uid, ${table}_id AS id FROM ${table} WHERE uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const r of found) into.set(r.uid, Number(r.id));
  }
}

/** The rows with their parents' UIDs (in `columns`) replaced by the parents' surrogate keys. */
function withParentKeys(
  rows: readonly SqlValue[][],
  columns: readonly number[],
  keys: ReadonlyMap<string, number>,
): SqlValue[][] {
  return rows.map((row) => {
    const out = [...row];
    for (const c of columns) {
      const key = keys.get(String(row[c]));
      if (key === undefined)
        throw new Error(`Demo tracker row refers to ${String(row[c])}, which was not written`);
      out[c] = key;
    }
    return out;
  });
}

function mergeRows(chunk: readonly DemoTrackerRows[]): DemoTrackerRows {
  const out: DemoTrackerRows = {
    trackedEntities: [],
    attributeValues: [],
    owners: [],
    enrollments: [],
    enrollmentEvents: [],
    singleEvents: [],
    relationships: [],
  };
  for (const rows of chunk) for (const table of DEMO_TRACKER_TABLE_ORDER) out[table].push(...rows[table]);
  return out;
}

/**
 * Whether the tracker stage has finished: chunks commit in facility order, so the last facility's
 * last event is there only once every chunk before it committed.
 */
export async function hasDemoTrackerData(context: DemoTrackerContext, demo: DemoDatabase): Promise<boolean> {
  const ids = await demoTrackerIds(context, demo);
  if (!ids) return true; // a demo from before tracker data: nothing to write
  const facilities = facilitiesInOrder(demo, ids);
  if (ids.orgUnits.size < facilities.length) return false;
  const last = facilities[facilities.length - 1];
  return hasEvent(context.storage, lastEventUid(demoTrackerRows(demo, ids, last)));
}
