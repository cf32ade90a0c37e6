import { createHash } from 'node:crypto';
import type { Transaction } from '../../storage/storage.ts';
import type { PoolPrincipal } from '../dedupe/dedupe-pool-service.ts';
import type { TrackerType } from '../../domain/tracker/tracker-objects.ts';
import type { EventInput, TrackedEntityInput } from '../../domain/tracker/tracker-objects.ts';
import type { TrackerDedupeUse } from '../../domain/dedupe/tracker-dedupe-key.ts';
import { DedupeStore } from '../../storage/dedupe-store.ts';
import { modeFilters, modeTracks } from '../../domain/dedupe/dedupe-use.ts';
import { EVENT_ENTITY_TYPE, TRACKED_ENTITY_ENTITY_TYPE } from '../../domain/dedupe/dedupe-entity-types.ts';
import { pruneExpiredEntries, requirePool } from '../dedupe/dedupe-pool-service.ts';
import { checkAndTrackKeys } from '../dedupe/dedupe-key-check.ts';
import type { Planned, TrackerPlan } from './tracker-import-validation.ts';

// The tracker import's use of a de-duplication pool (docs/formats/dedupe-pools.md): a stage between
// validation (with program rules) and writing, inside the import's transaction, that takes out of
// the valid objects the events and tracked entities whose key the pool holds, and records new keys
// with the same atomic check-and-track as the data value import (checkAndTrackKeys). A
// rollback (dry run, atomicMode ALL with an error) leaves the pool as it was.

/** Dropped objects listed in the report; the rest are counted. */
const MAX_LISTED = 10_000;

export interface TrackerDedupeDrop {
  trackerType: TrackerType;
  uid: string;
  reason: string;
}

/** The report's `dedupe` entry, beside `validationReport`. */
export interface TrackerDedupeReport {
  pool: string;
  poolName: string;
  mode: TrackerDedupeUse['mode'];
  /** Key fields per kind checked, joined with `/`. */
  key: { EVENT?: string; TRACKED_ENTITY?: string };
  /** Objects not written because of the pool (counted as ignored), their children included. */
  filtered: number;
  /** Keys added to the pool (in a dry run: that would be added). */
  tracked: number;
  dropped: TrackerDedupeDrop[];
  droppedOmitted?: number;
}

interface Kind<T> {
  type: TrackerType;
  entityTypeId: number;
  fields: readonly string[];
  /** The key, or undefined when the record has none of the key's fields (it is then not checked). */
  keyOf: (input: T) => string | undefined;
}

/**
 * The fields' values joined with `/`; undefined when every one is empty: a record without the
 * key's fields (a person sent without the attribute) has no key, and must not match every other
 * record without them.
 */
function joinKey(values: string[]): string | undefined {
  return values.every((value) => value === '') ? undefined : values.join('/');
}

/** An event's key: `dataElement:<uid>` is that data element's value, other fields as sent. */
function eventKey(fields: readonly string[]): (event: EventInput) => string | undefined {
  return (event) =>
    joinKey(
      fields.map((field) => {
        if (field.startsWith('dataElement:'))
          return event.dataValues.find((d) => d.dataElement === field.slice(12))?.value ?? '';
        const value = (event as unknown as Record<string, unknown>)[field];
        return value === undefined || value === null ? '' : String(value);
      }),
    );
}

/** A tracked entity's key: `attribute:<uid>` is that attribute's value, other fields as sent. */
function trackedEntityKey(fields: readonly string[]): (te: TrackedEntityInput) => string | undefined {
  return (te) =>
    joinKey(
      fields.map((field) => {
        if (field.startsWith('attribute:'))
          return te.attributes.find((a) => a.attribute === field.slice(10))?.value ?? '';
        const value = (te as unknown as Record<string, unknown>)[field];
        return value === undefined || value === null ? '' : String(value);
      }),
    );
}

/** Longest key stored as is; a pool CSV file takes values up to 1,000 characters. */
const MAX_KEY_LENGTH = 1_000;

/**
 * The key as stored: a longer one (a long text value in it) as `sha256:<hex>`, so that it stays
 * within the CSV limit and PostgreSQL's index entry size, and still matches the same record.
 */
function storedKey(key: string): string {
  return key.length <= MAX_KEY_LENGTH ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export class TrackerImportDedupe {
  private readonly tx: Transaction;
  private readonly store: DedupeStore;
  private readonly use: TrackerDedupeUse;
  private readonly pool: { poolId: number; uid: string; name: string };
  private readonly now: string;
  private readonly jobId: string | null;
  private readonly dryRun: boolean;
  /** A dry run stores nothing, so the keys it would have tracked are remembered here (per type). */
  private readonly dryRunTracked = new Set<string>();
  /** UIDs of every object dropped so far: their children in later chunks are dropped too. */
  readonly droppedUids = new Set<string>();
  private readonly dropped: TrackerDedupeDrop[] = [];
  private tracked = 0;

  private constructor(
    tx: Transaction,
    use: TrackerDedupeUse,
    pool: { poolId: number; uid: string; name: string },
    settings: { now: string; jobId: string | undefined; dryRun: boolean },
  ) {
    this.tx = tx;
    this.store = new DedupeStore(tx);
    this.use = use;
    this.pool = pool;
    this.now = settings.now;
    this.jobId = settings.jobId ?? null;
    this.dryRun = settings.dryRun;
  }

  /**
   * The pool, checked for the caller's sharing now (data read to filter, data write to track), its
   * expired entries removed unless in a dry run; throws F1200/F1700 when it may not be used so.
   */
  static async open(
    tx: Transaction,
    use: TrackerDedupeUse,
    principal: PoolPrincipal | undefined,
    settings: { now: string; jobId: string | undefined; dryRun: boolean },
  ): Promise<TrackerImportDedupe> {
    if (modeFilters(use.mode)) await requirePool(tx, principal, use.pool, 'filter');
    const row = await requirePool(tx, principal, use.pool, modeTracks(use.mode) ? 'track' : 'filter');
    if (!settings.dryRun) await pruneExpiredEntries(tx, row, new Date(settings.now));
    return new TrackerImportDedupe(tx, use, { poolId: row.poolId, uid: row.uid, name: row.name }, settings);
  }

  /**
   * Takes out of `valid` (a chunk's objects without errors) what the pool drops, in place:
   * tracked entities and events whose key it holds, and the children of a dropped object
   * (enrollments of a dropped tracked entity, events of a dropped enrollment, relationships with a
   * dropped end), which could not be written without it. Deletions are not checked.
   */
  async filter(valid: TrackerPlan): Promise<void> {
    if (this.use.trackedEntities) {
      const fields = this.use.trackedEntities;
      valid.trackedEntities = await this.check(valid.trackedEntities, {
        type: 'TRACKED_ENTITY',
        entityTypeId: TRACKED_ENTITY_ENTITY_TYPE.id,
        fields,
        keyOf: trackedEntityKey(fields),
      });
    }
    valid.enrollments = this.dropChildren(valid.enrollments, 'ENROLLMENT', (e) => [e.trackedEntity]);
    valid.events = this.dropChildren(valid.events, 'EVENT', (e) => [e.enrollment, e.trackedEntity]);
    if (this.use.events) {
      const fields = this.use.events;
      valid.events = await this.check(valid.events, {
        type: 'EVENT',
        entityTypeId: EVENT_ENTITY_TYPE.id,
        fields,
        keyOf: eventKey(fields),
      });
    }
    valid.relationships = this.dropChildren(valid.relationships, 'RELATIONSHIP', (r) => [
      r.from?.uid,
      r.to?.uid,
    ]);
  }

  report(): TrackerDedupeReport {
    const key: TrackerDedupeReport['key'] = {};
    if (this.use.events) key.EVENT = this.use.events.join('/');
    if (this.use.trackedEntities) key.TRACKED_ENTITY = this.use.trackedEntities.join('/');
    return {
      pool: this.pool.uid,
      poolName: this.pool.name,
      mode: this.use.mode,
      key,
      filtered: this.droppedUids.size,
      tracked: this.tracked,
      dropped: this.dropped,
      ...(this.droppedUids.size > this.dropped.length
        ? { droppedOmitted: this.droppedUids.size - this.dropped.length }
        : {}),
    };
  }

  private drop(type: TrackerType, uid: string, reason: string): void {
    this.droppedUids.add(uid);
    if (this.dropped.length < MAX_LISTED) this.dropped.push({ trackerType: type, uid, reason });
  }

  private dropChildren<T>(
    planned: Planned<T>[],
    type: TrackerType,
    parents: (input: T) => (string | undefined)[],
  ): Planned<T>[] {
    if (this.droppedUids.size === 0) return planned;
    return planned.filter((p) => {
      if (p.action === 'delete') return true;
      const parent = parents(p.input).find((uid) => uid !== undefined && this.droppedUids.has(uid));
      if (parent === undefined) return true;
      this.drop(
        type,
        p.uid,
        `Not written: ${parent}, which it belongs to, was dropped by the de-duplication pool`,
      );
      return false;
    });
  }

  /** The objects that pass the pool; a key new to it passes once (FILTER_AND_TRACK), as in data values. */
  private async check<T>(planned: Planned<T>[], kind: Kind<T>): Promise<Planned<T>[]> {
    const keys = new Map<Planned<T>, string>();
    for (const p of planned) {
      if (p.action === 'delete') continue;
      const key = kind.keyOf(p.input);
      if (key !== undefined) keys.set(p, storedKey(key));
    }
    if (keys.size === 0) return planned;
    const distinct = [...new Set(keys.values())];
    const mode = this.use.mode;
    let passing: Set<string>;
    if (mode === 'FILTER') {
      const held = await this.store.existingKeys(this.pool.poolId, kind.entityTypeId, distinct);
      passing = new Set(distinct.filter((key) => !held.has(key)));
    } else {
      if (this.dryRun) {
        const held = await this.store.existingKeys(this.pool.poolId, kind.entityTypeId, distinct);
        const memo = (key: string) => `${kind.entityTypeId}/${key}`;
        passing = new Set(distinct.filter((key) => !held.has(key) && !this.dryRunTracked.has(memo(key))));
        for (const key of passing) this.dryRunTracked.add(memo(key));
      } else {
        // The atomic check-and-insert: only the keys new to the pool come back.
        passing = await checkAndTrackKeys(
          this.tx,
          this.pool.poolId,
          kind.entityTypeId,
          distinct,
          this.now,
          this.jobId,
        );
      }
      this.tracked += passing.size;
      if (mode === 'TRACK') return planned;
    }
    // FILTER records nothing, so several objects with one key all pass; FILTER_AND_TRACK lets one.
    const letThrough = new Set<string>();
    const reason = (key: string) =>
      `Already in de-duplication pool '${this.pool.name}' (key ${kind.fields.join('/')} = ${key}): counted as ignored, not written`;
    return planned.filter((p) => {
      const key = keys.get(p);
      if (key === undefined) return true;
      if (passing.has(key) && !(mode !== 'FILTER' && letThrough.has(key))) {
        letThrough.add(key);
        return true;
      }
      this.drop(kind.type, p.uid, reason(key));
      return false;
    });
  }
}
