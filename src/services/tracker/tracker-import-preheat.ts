import type { FerryContext } from '../ferry-context-types.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import type { TrackerBundle } from '../../domain/tracker/tracker-objects.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import {
  TrackerStore,
  type StoredEnrollment,
  type StoredEvent,
  type StoredRelationship,
  type StoredTrackedEntity,
} from '../../storage/tracker-store.ts';

/** A metadata object with its surrogate key. */
export interface Meta {
  sid: number;
  object: MetadataObject;
}

/**
 * Everything validation needs, loaded in bulk once per payload: the metadata the payload names (and
 * what that metadata names in turn: a stage's program, a program's attributes, an option set's
 * options) and the stored tracker objects with the payload's UIDs.
 */
export interface TrackerPreheat {
  metadata: Map<string, Map<string, Meta>>;
  /** Org unit paths by UID. */
  orgUnitPaths: Map<string, string>;
  /** Option codes by option set UID. */
  optionCodes: Map<string, Set<string>>;
  /** Metadata UID by sid, for the kinds stored tracker rows refer to. */
  uidBySid: Map<number, string>;
  trackedEntities: Map<string, StoredTrackedEntity>;
  enrollments: Map<string, StoredEnrollment>;
  events: Map<string, StoredEvent>;
  relationships: Map<string, StoredRelationship>;
  /** Stored attribute values of the payload's stored tracked entities (entity id → attribute sid → value). */
  attributeValues: Map<number, Map<number, string>>;
  get(collection: string, uid: string | undefined): Meta | undefined;
}

const refId = (value: unknown): string | undefined => {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
};

const refIds = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(refId).filter((id): id is string => id !== undefined) : [];

/**
 * `db` reads the stored tracker objects: the import's transaction, so that objects written by its
 * earlier chunks are found (on SQLite the shared reader connection would not see them yet).
 */
export async function preheatTracker(
  context: FerryContext,
  bundle: TrackerBundle,
  db: SqlExecutor = context.storage,
): Promise<TrackerPreheat> {
  const store = new TrackerStore(db);
  const trackedEntities = await store.trackedEntities([
    ...bundle.trackedEntities.map((t) => t.trackedEntity),
    ...bundle.enrollments.map((e) => e.trackedEntity).filter((u): u is string => !!u),
    ...bundle.events.map((e) => e.trackedEntity).filter((u): u is string => !!u),
    ...bundle.relationships
      .flatMap((r) => [r.from, r.to])
      .filter((e) => e?.kind === 'TRACKED_ENTITY')
      .map((e) => e!.uid),
  ]);
  const enrollments = await store.enrollments([
    ...bundle.enrollments.map((e) => e.enrollment),
    ...bundle.events.map((e) => e.enrollment).filter((u): u is string => !!u),
    ...bundle.relationships
      .flatMap((r) => [r.from, r.to])
      .filter((e) => e?.kind === 'ENROLLMENT')
      .map((e) => e!.uid),
  ]);
  // Enrollments' tracked entities, which an event or enrollment update may not name.
  const missingTe = [...enrollments.values()].map((e) => e.trackedEntityId);
  for (const te of (await store.trackedEntitiesById(missingTe)).values()) trackedEntities.set(te.uid, te);
  const events = await store.events([
    ...bundle.events.map((e) => e.event),
    ...bundle.relationships
      .flatMap((r) => [r.from, r.to])
      .filter((e) => e?.kind === 'EVENT')
      .map((e) => e!.uid),
  ]);
  const relationships = await store.relationships(bundle.relationships.map((r) => r.relationship));
  const attributeValues = await store.attributeValues([...trackedEntities.values()].map((t) => t.id));

  const want = new Map<string, Set<string>>();
  const add = (collection: string, uid: string | undefined) => {
    if (!uid) return;
    let set = want.get(collection);
    if (!set) want.set(collection, (set = new Set()));
    set.add(uid);
  };
  for (const te of bundle.trackedEntities) {
    add('trackedEntityTypes', te.trackedEntityType);
    add('organisationUnits', te.orgUnit);
    for (const a of te.attributes) add('trackedEntityAttributes', a.attribute);
  }
  for (const en of bundle.enrollments) {
    add('programs', en.program);
    add('organisationUnits', en.orgUnit);
    for (const a of en.attributes) add('trackedEntityAttributes', a.attribute);
  }
  // Events are most of a payload: their references go straight into their sets, each UID once per
  // run of equal ones (consecutive events mostly share program, stage and data elements).
  const wanted = (collection: string): Set<string> => {
    let set = want.get(collection);
    if (!set) want.set(collection, (set = new Set()));
    return set;
  };
  const programs = wanted('programs');
  const stages = wanted('programStages');
  const orgUnits = wanted('organisationUnits');
  const combos = wanted('categoryOptionCombos');
  const elements = wanted('dataElements');
  let last: TrackerBundle['events'][number] | undefined;
  for (const ev of bundle.events) {
    if (ev.program && ev.program !== last?.program) programs.add(ev.program);
    if (ev.programStage && ev.programStage !== last?.programStage) stages.add(ev.programStage);
    if (ev.orgUnit && ev.orgUnit !== last?.orgUnit) orgUnits.add(ev.orgUnit);
    if (ev.attributeOptionCombo && ev.attributeOptionCombo !== last?.attributeOptionCombo)
      combos.add(ev.attributeOptionCombo);
    for (const dv of ev.dataValues) if (dv.dataElement) elements.add(dv.dataElement);
    last = ev;
  }
  for (const r of bundle.relationships) add('relationshipTypes', r.relationshipType);

  const metadata = new Map<string, Map<string, Meta>>();
  const uidBySid = new Map<number, string>();
  const load = async (collection: string, uids: Iterable<string>) => {
    let map = metadata.get(collection);
    if (!map) metadata.set(collection, (map = new Map()));
    const missing = [...new Set(uids)].filter((u) => !map.has(u));
    for (let i = 0; i < missing.length; i += 500) {
      for (const row of await context.metadata.findBy(collection, 'uid', missing.slice(i, i + 500))) {
        map.set(row.object.id, { sid: row.sid, object: row.object });
        uidBySid.set(row.sid, row.object.id);
      }
    }
  };
  // Stored objects' metadata, by sid, so that updates compare like with like.
  const storedSids = new Set<number>();
  for (const te of trackedEntities.values()) storedSids.add(te.trackedEntityTypeId).add(te.orgUnitId);
  for (const en of enrollments.values()) storedSids.add(en.programId).add(en.orgUnitId);
  for (const ev of events.values()) storedSids.add(ev.programId).add(ev.programStageId).add(ev.orgUnitId);
  const sidList = [...storedSids];
  for (let i = 0; i < sidList.length; i += 500) {
    const chunk = sidList.slice(i, i + 500);
    const rows = await context.storage.query<{ sid: number; type: string; uid: string }>(
      `SELECT sid, type, uid FROM metadata_object WHERE sid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const r of rows) {
      uidBySid.set(Number(r.sid), r.uid);
      add(r.type, r.uid);
    }
  }

  for (const [collection, uids] of want) await load(collection, uids);
  // What the loaded metadata names in turn.
  for (const stage of metadata.get('programStages')?.values() ?? [])
    add('programs', refId(stage.object.program));
  await load('programs', want.get('programs') ?? []);
  for (const program of metadata.get('programs')?.values() ?? []) {
    add('trackedEntityTypes', refId(program.object.trackedEntityType));
    for (const id of refIds(program.object.programStages)) add('programStages', id);
    for (const ptea of (program.object.programTrackedEntityAttributes as unknown[]) ?? [])
      add('trackedEntityAttributes', refId((ptea as Record<string, unknown>).trackedEntityAttribute));
  }
  for (const type of metadata.get('trackedEntityTypes')?.values() ?? []) {
    for (const teta of (type.object.trackedEntityTypeAttributes as unknown[]) ?? [])
      add('trackedEntityAttributes', refId((teta as Record<string, unknown>).trackedEntityAttribute));
  }
  await load('trackedEntityTypes', want.get('trackedEntityTypes') ?? []);
  await load('programStages', want.get('programStages') ?? []);
  for (const stage of metadata.get('programStages')?.values() ?? []) {
    for (const psde of (stage.object.programStageDataElements as unknown[]) ?? [])
      add('dataElements', refId((psde as Record<string, unknown>).dataElement));
  }
  await load('dataElements', want.get('dataElements') ?? []);
  await load('trackedEntityAttributes', want.get('trackedEntityAttributes') ?? []);
  for (const c of ['dataElements', 'trackedEntityAttributes'])
    for (const m of metadata.get(c)?.values() ?? []) add('optionSets', refId(m.object.optionSet));
  await load('optionSets', want.get('optionSets') ?? []);
  const optionIds = new Map<string, string[]>();
  for (const set of metadata.get('optionSets')?.values() ?? []) {
    optionIds.set(set.object.id, refIds(set.object.options));
    for (const id of refIds(set.object.options)) add('options', id);
  }
  await load('options', want.get('options') ?? []);
  const optionCodes = new Map<string, Set<string>>();
  for (const [setUid, ids] of optionIds) {
    const codes = new Set<string>();
    for (const id of ids) {
      const code = metadata.get('options')?.get(id)?.object.code;
      if (typeof code === 'string') codes.add(code);
    }
    optionCodes.set(setUid, codes);
  }
  await load('organisationUnits', want.get('organisationUnits') ?? []);
  const orgUnitPaths = new Map<string, string>();
  for (const ou of metadata.get('organisationUnits')?.values() ?? [])
    orgUnitPaths.set(ou.object.id, typeof ou.object.path === 'string' ? ou.object.path : `/${ou.object.id}`);

  return {
    metadata,
    orgUnitPaths,
    optionCodes,
    uidBySid,
    trackedEntities,
    enrollments,
    events,
    relationships,
    attributeValues,
    get: (collection, uid) => (uid ? metadata.get(collection)?.get(uid) : undefined),
  };
}
