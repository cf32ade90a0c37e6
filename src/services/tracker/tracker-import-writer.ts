import type { SqlExecutor, SqlValue } from '../../storage/storage.ts';
import {
  TrackerStore,
  eventDataValues,
  eventDataValuesJson,
  type EventDataValue,
} from '../../storage/tracker-store.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import type { TrackerDataValue, TrackerNote, TrackerType } from '../../domain/tracker/tracker-objects.ts';
import type { TrackerPreheat } from './tracker-import-preheat.ts';
import type { Planned, TrackerPlan } from './tracker-import-validation.ts';

export interface TrackerWriteContext {
  now: string;
  username: string | null;
  jobId: string | null;
}

/** Per type: how many objects were created, updated, deleted; relationships are never updated. */
export type WriteCounts = Record<
  TrackerType,
  { created: number; updated: number; deleted: number; ignored: number }
>;

const flag = (b: boolean): number => (b ? 1 : 0);

const EVENT_COLUMNS = [
  'uid',
  'program_id',
  'program_stage_id',
  'enrollment_id',
  'org_unit_id',
  'attribute_option_combo_id',
  'status',
  'occurred_at',
  'scheduled_at',
  'completed_at',
  'completed_by',
  'follow_up',
  'assigned_user',
  'geometry',
  'data_values',
  'created',
  'updated',
  'created_at_client',
  'updated_at_client',
  'stored_by',
  'created_by',
  'updated_by',
] as const;

/**
 * The stored `data_values` of a new event straight from its payload values: what
 * eventDataValuesJson writes for values whose stamps are the event's own (value, and
 * providedElsewhere when true), with no object per value on the way. Undefined when a data element
 * comes twice or a value is null, which the general path resolves (the last one wins).
 */
function newEventDataValuesJson(dataValues: readonly TrackerDataValue[]): string | undefined {
  let text = '';
  for (let i = 0; i < dataValues.length; i++) {
    const dv = dataValues[i];
    if (dv.value === null) return undefined;
    for (let j = 0; j < i; j++) if (dataValues[j].dataElement === dv.dataElement) return undefined;
    text += `${i === 0 ? '' : ','}${JSON.stringify(dv.dataElement)}:{"value":${JSON.stringify(dv.value)}`;
    text += dv.providedElsewhere ? ',"providedElsewhere":true}' : '}';
  }
  return `{${text}}`;
}
const json = (value: unknown): string | null =>
  value === undefined || value === null ? null : JSON.stringify(value);

/**
 * Writes the valid objects of a plan (the caller drops the invalid ones, or everything under atomic
 * mode ALL), parents first so that children find their keys: tracked entities and their attribute
 * values, enrollments (with owners and notes), events (with their data values in one JSON column),
 * relationships. Updates and deletes write an audit row with the stored state before and after.
 */
export async function writeTrackerPlan(
  tx: SqlExecutor,
  plan: TrackerPlan,
  preheat: TrackerPreheat,
  write: TrackerWriteContext,
): Promise<WriteCounts> {
  const store = new TrackerStore(tx);
  const { now, username } = write;
  const counts: WriteCounts = {
    TRACKED_ENTITY: { created: 0, updated: 0, deleted: 0, ignored: 0 },
    ENROLLMENT: { created: 0, updated: 0, deleted: 0, ignored: 0 },
    EVENT: { created: 0, updated: 0, deleted: 0, ignored: 0 },
    RELATIONSHIP: { created: 0, updated: 0, deleted: 0, ignored: 0 },
  };
  const sid = (collection: string, uid: string | undefined): number | null =>
    preheat.get(collection, uid)?.sid ?? null;
  const audit: SqlValue[][] = [];
  const addAudit = (
    type: TrackerType,
    id: number,
    uid: string,
    kind: 'UPDATE' | 'DELETE',
    previous: unknown,
    current: unknown,
  ) => audit.push([type, id, uid, kind, json(previous), json(current), username, write.jobId, now]);

  const updates = new PendingUpdates(store);

  // Tracked entities
  const teIds = new Map<string, number>();
  for (const te of preheat.trackedEntities.values()) teIds.set(te.uid, te.id);
  const createTe = plan.trackedEntities.filter((p) => p.action === 'create');
  await store.insert(
    'tracked_entity',
    [
      'uid',
      'tracked_entity_type_id',
      'org_unit_id',
      'inactive',
      'potential_duplicate',
      'geometry',
      'created',
      'updated',
      'created_at_client',
      'updated_at_client',
      'stored_by',
      'created_by',
      'updated_by',
    ],
    createTe.map(({ input: te }) => [
      te.trackedEntity,
      sid('trackedEntityTypes', te.trackedEntityType),
      sid('organisationUnits', te.orgUnit),
      flag(te.inactive),
      flag(te.potentialDuplicate),
      json(te.geometry),
      now,
      now,
      te.createdAtClient ?? null,
      te.updatedAtClient ?? null,
      username,
      username,
      username,
    ]),
  );
  for (const [uid, id] of await store.idsOf(
    'tracked_entity',
    createTe.map((p) => p.uid),
  ))
    teIds.set(uid, id);
  counts.TRACKED_ENTITY.created = createTe.length;
  for (const p of plan.trackedEntities) {
    const stored = preheat.trackedEntities.get(p.uid);
    if (p.action === 'update' && stored) {
      const te = p.input;
      const values: Record<string, SqlValue> = {
        tracked_entity_type_id: sid('trackedEntityTypes', te.trackedEntityType),
        org_unit_id: sid('organisationUnits', te.orgUnit),
        inactive: flag(te.inactive),
        potential_duplicate: flag(te.potentialDuplicate),
        geometry: json(te.geometry),
        updated: now,
        updated_at_client: te.updatedAtClient ?? null,
        updated_by: username,
      };
      updates.add('tracked_entity', 'tracked_entity_id', stored.id, values);
      if (changed(values, stored.row))
        addAudit('TRACKED_ENTITY', stored.id, p.uid, 'UPDATE', stored.row, values);
      counts.TRACKED_ENTITY.updated++;
    } else if (p.action === 'delete' && stored) {
      await softDeleteTrackedEntity(store, stored.id, p.uid, stored.row, now, username, addAudit);
      counts.TRACKED_ENTITY.deleted++;
    }
  }

  // Attribute values: a tracked entity's own and its enrollments' (program attributes belong to the entity).
  const attributeWrites = new Map<number, Map<number, string>>();
  const collect = (teUid: string | undefined, values: Array<{ attribute: string; value: string }>) => {
    const teId = teUid ? teIds.get(teUid) : undefined;
    if (teId === undefined) return;
    let map = attributeWrites.get(teId);
    if (!map) attributeWrites.set(teId, (map = new Map()));
    for (const a of values) {
      const attributeSid = sid('trackedEntityAttributes', a.attribute);
      if (attributeSid !== null) map.set(attributeSid, a.value);
    }
  };
  for (const p of plan.trackedEntities) if (p.action !== 'delete') collect(p.uid, p.input.attributes);
  for (const p of plan.enrollments)
    if (p.action !== 'delete') collect(p.input.trackedEntity, p.input.attributes);
  const teUidById = new Map([...teIds].map(([uid, id]) => [id, uid]));
  // One bulk insert for every entity's new values; a delete first only where values were stored.
  const attributeRows: SqlValue[][] = [];
  for (const [teId, values] of attributeWrites) {
    const stored = preheat.attributeValues.get(teId) ?? new Map<number, string>();
    const changed = [...values].filter(([attribute, value]) => stored.get(attribute) !== value);
    if (changed.length === 0) continue;
    const replaced = changed.filter(([attribute]) => stored.has(attribute)).map(([attribute]) => attribute);
    if (replaced.length > 0) await store.deleteAttributeValues(teId, replaced);
    for (const [attribute, value] of changed)
      if (value !== '') attributeRows.push([teId, attribute, value, now, now, username]);
    const previous = Object.fromEntries(
      changed.filter(([a]) => stored.has(a)).map(([a]) => [preheat.uidBySid.get(a) ?? a, stored.get(a)]),
    );
    if (Object.keys(previous).length > 0) {
      const uid = teUidById.get(teId) ?? '';
      addAudit(
        'TRACKED_ENTITY',
        teId,
        uid,
        'UPDATE',
        { attributes: previous },
        { attributes: Object.fromEntries(changed) },
      );
    }
  }
  await store.insertAll(
    'tracked_entity_attribute_value',
    ['tracked_entity_id', 'attribute_id', 'value', 'created', 'updated', 'stored_by'],
    attributeRows.length,
    (i) => attributeRows[i],
  );

  // Enrollments
  const enIds = new Map<string, number>();
  for (const en of preheat.enrollments.values()) enIds.set(en.uid, en.id);
  const createEn = plan.enrollments.filter((p) => p.action === 'create');
  await store.insert(
    'enrollment',
    [
      'uid',
      'tracked_entity_id',
      'program_id',
      'org_unit_id',
      'status',
      'enrolled_at',
      'occurred_at',
      'completed_at',
      'completed_by',
      'follow_up',
      'geometry',
      'created',
      'updated',
      'created_at_client',
      'updated_at_client',
      'stored_by',
      'created_by',
      'updated_by',
    ],
    createEn.map(({ input: en }) => [
      en.enrollment,
      teIds.get(en.trackedEntity!) ?? null,
      sid('programs', en.program),
      sid('organisationUnits', en.orgUnit),
      en.status,
      en.enrolledAt ?? null,
      en.occurredAt ?? null,
      en.completedAt ?? null,
      en.completedBy ?? null,
      flag(en.followUp),
      json(en.geometry),
      now,
      now,
      en.createdAtClient ?? null,
      en.updatedAtClient ?? null,
      username,
      username,
      username,
    ]),
  );
  for (const [uid, id] of await store.idsOf(
    'enrollment',
    createEn.map((p) => p.uid),
  ))
    enIds.set(uid, id);
  counts.ENROLLMENT.created = createEn.length;
  // Program owners: an entity created in this plan has none yet, so its owners go in one bulk
  // insert (once per entity and program); a stored entity's keep the owner it has.
  const createdTe = new Set(createTe.map((p) => p.uid));
  const newOwners = new Map<string, SqlValue[]>();
  for (const p of createEn) {
    const teId = teIds.get(p.input.trackedEntity!);
    const programId = sid('programs', p.input.program);
    const orgUnitId = sid('organisationUnits', p.input.orgUnit);
    if (teId === undefined || programId === null || orgUnitId === null) continue;
    if (!createdTe.has(p.input.trackedEntity!)) await store.upsertOwner(teId, programId, orgUnitId, now);
    else if (!newOwners.has(`${teId}|${programId}`))
      newOwners.set(`${teId}|${programId}`, [teId, programId, orgUnitId, now, now]);
  }
  const ownerRows = [...newOwners.values()];
  await store.insertAll(
    'tracked_entity_program_owner',
    ['tracked_entity_id', 'program_id', 'org_unit_id', 'created', 'updated'],
    ownerRows.length,
    (i) => ownerRows[i],
  );
  for (const p of plan.enrollments) {
    const stored = preheat.enrollments.get(p.uid);
    if (p.action === 'update' && stored) {
      const en = p.input;
      const values: Record<string, SqlValue> = {
        program_id: sid('programs', en.program),
        org_unit_id: sid('organisationUnits', en.orgUnit),
        status: en.status,
        enrolled_at: en.enrolledAt ?? null,
        occurred_at: en.occurredAt ?? null,
        completed_at: en.completedAt ?? null,
        completed_by: en.completedBy ?? null,
        follow_up: flag(en.followUp),
        geometry: json(en.geometry),
        updated: now,
        updated_at_client: en.updatedAtClient ?? null,
        updated_by: username,
      };
      updates.add('enrollment', 'enrollment_id', stored.id, values);
      if (changed(values, stored.row)) addAudit('ENROLLMENT', stored.id, p.uid, 'UPDATE', stored.row, values);
      counts.ENROLLMENT.updated++;
    } else if (p.action === 'delete' && stored) {
      await softDeleteEnrollment(store, stored.id, p.uid, stored.row, now, username, addAudit);
      counts.ENROLLMENT.deleted++;
    }
  }

  // Events
  const evIds = new Map<string, number>();
  for (const ev of preheat.events.values()) evIds.set(ev.uid, ev.id);
  const dataValuesOf = (
    p: Planned<(typeof plan.events)[number]['input']>,
    previous: Record<string, EventDataValue>,
  ) => {
    const out: Record<string, EventDataValue> = { ...previous };
    let valuesChanged = false;
    for (const dv of p.input.dataValues) {
      if (dv.value === null) {
        if (dv.dataElement in out) valuesChanged = true;
        delete out[dv.dataElement];
        continue;
      }
      const before = previous[dv.dataElement];
      if (before && before.value === dv.value && before.providedElsewhere === dv.providedElsewhere) continue;
      valuesChanged = true;
      out[dv.dataElement] = {
        value: dv.value,
        providedElsewhere: dv.providedElsewhere,
        createdAt: (before?.createdAt as string | undefined) ?? now,
        updatedAt: now,
        storedBy: username,
      };
    }
    return { values: out, changed: valuesChanged };
  };
  const eventColumns = (ev: (typeof plan.events)[number]['input']) => {
    const stage = preheat.get('programStages', ev.programStage);
    const programUid = ev.program ?? (stage?.object.program as { id?: string } | undefined)?.id;
    return {
      program_id: sid('programs', programUid),
      program_stage_id: stage?.sid ?? null,
      enrollment_id: ev.enrollment ? (enIds.get(ev.enrollment) ?? null) : null,
      org_unit_id: sid('organisationUnits', ev.orgUnit),
      attribute_option_combo_id: sid('categoryOptionCombos', ev.attributeOptionCombo),
      status: ev.status,
      occurred_at: ev.occurredAt ?? null,
      scheduled_at: ev.scheduledAt ?? null,
      completed_at: ev.completedAt ?? null,
      completed_by: ev.completedBy ?? null,
      follow_up: flag(ev.followUp),
      assigned_user: ev.assignedUser ?? null,
      geometry: json(ev.geometry),
    } satisfies Record<string, SqlValue>;
  };
  // A new event's row and its values share one set of stamps, which its values then leave out.
  const newStamps = { created: now, updated: now, storedBy: username };
  const createEv = plan.events.filter((p) => p.action === 'create');
  // Rows built as they are written (insertAll): a chunk's rows are never all held at once.
  await store.insertAll('event', EVENT_COLUMNS, createEv.length, (i) => {
    const p = createEv[i];
    const c = eventColumns(p.input);
    return [
      p.uid,
      c.program_id,
      c.program_stage_id,
      c.enrollment_id,
      c.org_unit_id,
      c.attribute_option_combo_id,
      c.status,
      c.occurred_at,
      c.scheduled_at,
      c.completed_at,
      c.completed_by,
      c.follow_up,
      c.assigned_user,
      c.geometry,
      newEventDataValuesJson(p.input.dataValues) ??
        eventDataValuesJson(dataValuesOf(p, {}).values, newStamps),
      now,
      now,
      p.input.createdAtClient ?? null,
      p.input.updatedAtClient ?? null,
      username,
      username,
      username,
    ];
  });
  // New events' keys are needed only by their notes and by relationships (a query per 500 events).
  const eventKeysNeeded = plan.relationships.length > 0 || createEv.some((p) => p.input.notes.length > 0);
  if (eventKeysNeeded)
    for (const [uid, id] of await store.idsOf(
      'event',
      createEv.map((p) => p.uid),
    ))
      evIds.set(uid, id);
  counts.EVENT.created = createEv.length;
  for (const p of plan.events) {
    const stored = preheat.events.get(p.uid);
    if (p.action === 'update' && stored) {
      const previous = eventDataValues(stored.row.data_values, {
        created: stored.row.created,
        updated: stored.row.updated,
        storedBy: stored.row.stored_by,
      });
      const dataValues = dataValuesOf(p, previous);
      const columns = eventColumns(p.input);
      const values: Record<string, SqlValue> = {
        ...columns,
        data_values: eventDataValuesJson(dataValues.values, {
          created: stored.row.created,
          updated: now,
          storedBy: stored.row.stored_by,
        }),
        updated: now,
        updated_at_client: p.input.updatedAtClient ?? null,
        updated_by: username,
      };
      updates.add('event', 'event_id', stored.id, values);
      // Data values are compared value by value above; the other columns here.
      if (dataValues.changed || changed(columns, stored.row))
        addAudit(
          'EVENT',
          stored.id,
          p.uid,
          'UPDATE',
          { ...stored.row, data_values: previous },
          { ...values, data_values: dataValues.values },
        );
      counts.EVENT.updated++;
    } else if (p.action === 'delete' && stored) {
      await store.update('event', 'event_id', stored.id, { deleted: 1, updated: now, updated_by: username });
      addAudit('EVENT', stored.id, p.uid, 'DELETE', stored.row, { deleted: true });
      counts.EVENT.deleted++;
    }
  }

  // Notes of enrollments and events: new UIDs only (DHIS2's notes are immutable).
  const notes: Array<{ note: TrackerNote; enrollmentId: number | null; eventId: number | null }> = [];
  for (const p of plan.enrollments)
    if (p.action !== 'delete')
      for (const note of p.input.notes)
        notes.push({ note, enrollmentId: enIds.get(p.uid) ?? null, eventId: null });
  for (const p of plan.events)
    if (p.action !== 'delete')
      for (const note of p.input.notes)
        notes.push({ note, enrollmentId: null, eventId: evIds.get(p.uid) ?? null });
  const existingNotes = await store.noteUids(notes.map((n) => n.note.note).filter((u): u is string => !!u));
  await store.insert(
    'tracker_note',
    ['uid', 'enrollment_id', 'event_id', 'value', 'stored_by', 'stored_at', 'created_by'],
    notes
      .filter((n) => n.note.value !== '' && !(n.note.note && existingNotes.has(n.note.note)))
      .map((n) => [
        n.note.note ?? generateUid(),
        n.enrollmentId,
        n.eventId,
        n.note.value,
        username,
        n.note.storedAt ?? now,
        username,
      ]),
  );

  // Relationships: created or deleted; DHIS2 does not update a relationship, so an update is ignored.
  const endId = (kind: TrackerType, uid: string): number | null =>
    (kind === 'TRACKED_ENTITY' ? teIds : kind === 'ENROLLMENT' ? enIds : evIds).get(uid) ?? null;
  const createRel = plan.relationships.filter((p) => p.action === 'create');
  await store.insert(
    'relationship',
    [
      'uid',
      'relationship_type_id',
      'from_kind',
      'from_id',
      'to_kind',
      'to_id',
      'bidirectional',
      'created',
      'updated',
      'created_at_client',
      'stored_by',
      'created_by',
      'updated_by',
    ],
    createRel.map(({ input: r }) => [
      r.relationship,
      sid('relationshipTypes', r.relationshipType),
      r.from!.kind,
      endId(r.from!.kind, r.from!.uid),
      r.to!.kind,
      endId(r.to!.kind, r.to!.uid),
      flag(r.bidirectional),
      now,
      now,
      r.createdAtClient ?? null,
      username,
      username,
      username,
    ]),
  );
  counts.RELATIONSHIP.created = createRel.length;
  for (const p of plan.relationships) {
    const stored = preheat.relationships.get(p.uid);
    if (p.action === 'update') counts.RELATIONSHIP.ignored++;
    else if (p.action === 'delete' && stored) {
      await store.update('relationship', 'relationship_id', stored.id, {
        deleted: 1,
        updated: now,
        updated_by: username,
      });
      addAudit('RELATIONSHIP', stored.id, p.uid, 'DELETE', stored.row, { deleted: true });
      counts.RELATIONSHIP.deleted++;
    }
  }

  await updates.flush();
  if (audit.length > 0)
    await store.insert(
      'tracker_audit',
      [
        'tracker_type',
        'object_id',
        'uid',
        'audit_type',
        'previous',
        'current',
        'modified_by',
        'job_id',
        'created',
      ],
      audit,
    );
  return counts;
}

/**
 * After a committed import: the tables it grew get fresh planner statistics on PostgreSQL
 * (`TrackerStore.refreshStatistics`), from the created counts of the import's report.
 */
export async function refreshTrackerStatistics(
  db: SqlExecutor,
  created: Readonly<Record<TrackerType, number>>,
): Promise<void> {
  await new TrackerStore(db).refreshStatistics({
    tracked_entity: created.TRACKED_ENTITY,
    tracked_entity_attribute_value: created.TRACKED_ENTITY,
    enrollment: created.ENROLLMENT,
    event: created.EVENT,
    relationship: created.RELATIONSHIP,
  });
}

/** Updates gathered per table and written in bulk (`TrackerStore.updateMany`). */
class PendingUpdates {
  private readonly store: TrackerStore;
  private readonly tables = new Map<
    string,
    { key: string; columns: string[]; rows: Array<{ id: number; values: SqlValue[] }> }
  >();

  constructor(store: TrackerStore) {
    this.store = store;
  }

  add(table: string, key: string, id: number, values: Record<string, SqlValue>): void {
    let pending = this.tables.get(table);
    if (!pending) this.tables.set(table, (pending = { key, columns: Object.keys(values), rows: [] }));
    pending.rows.push({ id, values: pending.columns.map((c) => values[c]) });
  }

  async flush(): Promise<void> {
    for (const [table, pending] of this.tables) {
      for (let i = 0; i < pending.rows.length; i += 2000)
        await this.store.updateMany(table, pending.key, pending.columns, pending.rows.slice(i, i + 2000));
    }
    this.tables.clear();
  }
}

/** JSON with its object keys sorted: JSONB gives keys back in its own order. */
function canonical(value: unknown): string {
  let v = value;
  if (typeof value === 'string' && /^[[{]/.test(value)) {
    try {
      v = JSON.parse(value) as unknown;
    } catch {
      v = value; // text that merely starts like JSON
    }
  }
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/** Whether an update changes anything but the update stamps (no audit row for a no-op re-import). */
function changed(values: Record<string, SqlValue>, row: Record<string, unknown>): boolean {
  for (const [column, value] of Object.entries(values)) {
    if (column === 'updated' || column === 'updated_by' || column === 'updated_at_client') continue;
    const before = row[column] ?? null;
    if (column !== 'geometry') {
      // Scalars: compared as text (PostgreSQL returns BIGINT as a string, SQLite as a number).
      if ((value === null) !== (before === null) || (value !== null && String(value) !== String(before)))
        return true;
      continue;
    }
    if (
      value === null || before === null
        ? value !== before
        : canonical(String(value)) !== canonical(typeof before === 'object' ? before : String(before))
    )
      return true;
  }
  return false;
}

type AddAudit = (
  type: TrackerType,
  id: number,
  uid: string,
  kind: 'UPDATE' | 'DELETE',
  previous: unknown,
  current: unknown,
) => void;

/** A deleted tracked entity takes its enrollments (and their events) with it; validation checked the authority. */
async function softDeleteTrackedEntity(
  store: TrackerStore,
  id: number,
  uid: string,
  row: Record<string, unknown>,
  now: string,
  username: string | null,
  addAudit: AddAudit,
): Promise<void> {
  await store.update('tracked_entity', 'tracked_entity_id', id, {
    deleted: 1,
    updated: now,
    updated_by: username,
  });
  addAudit('TRACKED_ENTITY', id, uid, 'DELETE', row, { deleted: true });
  for (const enrollment of await store.enrollmentsOfTrackedEntities([id]))
    await softDeleteEnrollment(store, enrollment.id, enrollment.uid, enrollment.row, now, username, addAudit);
}

async function softDeleteEnrollment(
  store: TrackerStore,
  id: number,
  uid: string,
  row: Record<string, unknown>,
  now: string,
  username: string | null,
  addAudit: AddAudit,
): Promise<void> {
  await store.update('enrollment', 'enrollment_id', id, { deleted: 1, updated: now, updated_by: username });
  addAudit('ENROLLMENT', id, uid, 'DELETE', row, { deleted: true });
  for (const event of await store.eventsOfEnrollments([id])) {
    await store.update('event', 'event_id', event.id, { deleted: 1, updated: now, updated_by: username });
    addAudit('EVENT', event.id, event.uid, 'DELETE', event.row, { deleted: true });
  }
}
