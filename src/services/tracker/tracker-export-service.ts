import type { FerryContext } from '../ferry-context-types.ts';
import type { SqlValue } from '../../storage/storage.ts';
import { jsonValue } from '../../storage/tracker-store.ts';
import { neutraliseFormula } from '../../codecs/csv/spreadsheet-safe.ts';
import { CURRENT_EVENT_CSV_COLUMNS } from '../../codecs/tracker-csv/event-csv-decoder.ts';
import type { Condition, NestedFields, TrackerExportRequest } from './tracker-export-query.ts';

// The query side lives in tracker-export-query.ts; its parsers are re-exported for the routes and CLI.
export {
  nestedFields,
  parseEnrollmentExport,
  parseEventExport,
  parsePaging,
  parseRelationshipExport,
  parseTrackedEntityExport,
  ORG_UNIT_MODES,
  type NestedFields,
  type Paging,
  type TrackerExportRequest,
} from './tracker-export-query.ts';

/**
 * Tracker exports (`GET /api/tracker/events|trackedEntities|enrollments|relationships`): SQL built
 * from DHIS2's filters, read newest first (DHIS2's default order, by internal id descending) with
 * keyset pagination on the surrogate key, so `paging=false` streams any number of objects with
 * memory bounded by one batch. Nested objects (attributes, data values, enrollments, events, notes)
 * are read for a whole batch at once, never one query per object. Every read is limited to the
 * caller's view scope (data view org units, or capture org units when none are set) by the
 * conditions tracker-export-query.ts builds.
 */

/** Rows read per keyset step. */
const BATCH = 1000;
/**
 * The object without its null and undefined fields, as DHIS2's JSON leaves them out. A copy, not
 * `delete` in place: deleting turns an object into a slow dictionary-mode one.
 */
function compact<T extends Record<string, unknown>>(object: T): T {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(object)) put(out, key, object[key]);
  return out as T;
}

export const bool = (v: unknown): boolean => Number(v) === 1;

// Events -----------------------------------------------------------------------------------------

/** The event export's columns, in the order of its SELECT: rows are read as arrays (see eventOf). */
export const EVENT_COLUMNS = [
  ['id', 'e.event_id'],
  ['uid', 'e.uid'],
  ['status', 'e.status'],
  ['program', 'p.uid'],
  ['program_stage', 's.uid'],
  ['enrollment', 'en.uid'],
  ['tracked_entity', 'te.uid'],
  ['org_unit', 'o.uid'],
  ['occurred_at', 'e.occurred_at'],
  ['scheduled_at', 'e.scheduled_at'],
  ['follow_up', 'e.follow_up'],
  ['deleted', 'e.deleted'],
  ['created', 'e.created'],
  ['created_at_client', 'e.created_at_client'],
  ['updated', 'e.updated'],
  ['updated_at_client', 'e.updated_at_client'],
  ['attribute_option_combo', 'aoc.uid'],
  ['completed_by', 'e.completed_by'],
  ['completed_at', 'e.completed_at'],
  ['geometry', 'e.geometry'],
  ['assigned_user', 'e.assigned_user'],
  ['stored_by', 'e.stored_by'],
  ['created_by', 'e.created_by'],
  ['updated_by', 'e.updated_by'],
  ['data_values', 'e.data_values'],
] as const;
type EventColumn = (typeof EVENT_COLUMNS)[number][0];
export const E = Object.fromEntries(EVENT_COLUMNS.map(([name], i) => [name, i])) as Record<
  EventColumn,
  number
>;

export const EVENT_SELECT = `SELECT ${EVENT_COLUMNS.map(([name, expression]) => `${expression} AS ${name}`).join(', ')}
  FROM (%INNER%) e
  JOIN metadata_object p ON p.sid = e.program_id
  JOIN metadata_object s ON s.sid = e.program_stage_id
  JOIN metadata_object o ON o.sid = e.org_unit_id
  LEFT JOIN metadata_object aoc ON aoc.sid = e.attribute_option_combo_id
  LEFT JOIN enrollment en ON en.enrollment_id = e.enrollment_id
  LEFT JOIN tracked_entity te ON te.tracked_entity_id = en.tracked_entity_id`;

export interface TrackerEvent extends Record<string, unknown> {
  event: string;
  dataValues: Array<Record<string, unknown>>;
}

/** Sets `key` when `value` is neither null nor undefined (DHIS2's JSON leaves those out). */
function put(object: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== null && value !== undefined) object[key] = value;
}

/**
 * An event row (an array in EVENT_COLUMNS order: no object per row with a property per column, which
 * node:sqlite makes slow to read) as DHIS2's JSON. Built property by property in DHIS2's order, leaving out what is
 * null: an object whose properties were deleted (as `compact` did here) turns into a slow
 * dictionary-mode object that costs JSON.stringify and the garbage collector several times more,
 * which was most of a 200,000-event export's time.
 */
function eventOf(row: readonly unknown[], notes: Map<number, unknown[]>): TrackerEvent {
  const event: Record<string, unknown> = { event: String(row[E.uid]) };
  put(event, 'status', row[E.status]);
  put(event, 'program', row[E.program]);
  put(event, 'programStage', row[E.program_stage]);
  put(event, 'enrollment', row[E.enrollment]);
  put(event, 'trackedEntity', row[E.tracked_entity]);
  put(event, 'orgUnit', row[E.org_unit]);
  put(event, 'occurredAt', row[E.occurred_at]);
  put(event, 'scheduledAt', row[E.scheduled_at]);
  event.followUp = bool(row[E.follow_up]);
  event.deleted = bool(row[E.deleted]);
  put(event, 'createdAt', row[E.created]);
  put(event, 'createdAtClient', row[E.created_at_client]);
  put(event, 'updatedAt', row[E.updated]);
  put(event, 'updatedAtClient', row[E.updated_at_client]);
  put(event, 'attributeOptionCombo', row[E.attribute_option_combo]);
  put(event, 'completedBy', row[E.completed_by]);
  put(event, 'completedAt', row[E.completed_at]);
  if (row[E.geometry] !== null && row[E.geometry] !== undefined)
    put(event, 'geometry', jsonValue(row[E.geometry]));
  if (row[E.assigned_user] !== null && row[E.assigned_user] !== undefined)
    event.assignedUser = { uid: row[E.assigned_user] };
  put(event, 'storedBy', row[E.stored_by]);
  if (row[E.created_by] !== null && row[E.created_by] !== undefined)
    event.createdBy = { username: row[E.created_by] };
  if (row[E.updated_by] !== null && row[E.updated_by] !== undefined)
    event.updatedBy = { username: row[E.updated_by] };
  // The stored values read straight into DHIS2's form: a field a value leaves out is the event
  // row's own stamp (the compact form eventDataValues describes), with no object in between.
  const stored = (jsonValue(row[E.data_values]) ?? {}) as Record<string, Record<string, unknown>>;
  const dataValues: Array<Record<string, unknown>> = [];
  for (const dataElement of Object.keys(stored)) {
    const v = stored[dataElement];
    const dv: Record<string, unknown> = { dataElement };
    put(dv, 'value', v.value);
    dv.providedElsewhere = v.providedElsewhere === true;
    put(dv, 'createdAt', 'createdAt' in v ? v.createdAt : row[E.created]);
    put(dv, 'updatedAt', 'updatedAt' in v ? v.updatedAt : row[E.updated]);
    put(dv, 'storedBy', 'storedBy' in v ? v.storedBy : row[E.stored_by]);
    dataValues.push(dv);
  }
  event.dataValues = dataValues;
  event.notes = notes.get(Number(row[E.id])) ?? [];
  return event as TrackerEvent;
}

export async function notesOf(
  context: FerryContext,
  column: 'event_id' | 'enrollment_id',
  ids: number[],
): Promise<Map<number, unknown[]>> {
  const out = new Map<number, unknown[]>();
  if (ids.length === 0) return out;
  const rows = await context.storage.query<Record<string, unknown>>(
    `SELECT ${column} AS owner, uid, value, stored_by, stored_at FROM tracker_note WHERE ${column} IN (${ids.map(() => '?').join(', ')}) ORDER BY note_id`,
    ids,
  );
  for (const r of rows) {
    const list = out.get(Number(r.owner)) ?? [];
    list.push(compact({ note: r.uid, value: r.value, storedAt: r.stored_at, storedBy: r.stored_by }));
    out.set(Number(r.owner), list);
  }
  return out;
}

/** How to read one export's table: its rows by keyset, then the joins that name their references. */
export interface ExportTable {
  table: string;
  alias: string;
  key: string;
  /** The SELECT with `%INNER%` where the page of rows of the table goes. */
  select: string;
}

export const EVENTS: ExportTable = { table: 'event', alias: 'e', key: 'event_id', select: '' };
const ENROLLMENTS: ExportTable = { table: 'enrollment', alias: 'en', key: 'enrollment_id', select: '' };
const TRACKED_ENTITIES: ExportTable = {
  table: 'tracked_entity',
  alias: 't',
  key: 'tracked_entity_id',
  select: '',
};
const RELATIONSHIPS: ExportTable = { table: 'relationship', alias: 'r', key: 'relationship_id', select: '' };

/** The rows of `spec.table` matching `where` (keyset step or page), with their joins, newest first. */
function pageQuery(spec: ExportTable, where: Condition, limit: number, after?: number, offset?: number) {
  const k = `${spec.alias}.${spec.key}`;
  const inner =
    `SELECT * FROM ${spec.table} ${spec.alias} WHERE ${where.sql}${after === undefined ? '' : ` AND ${k} < ?`}` +
    ` ORDER BY ${k} DESC LIMIT ?${offset === undefined ? '' : ' OFFSET ?'}`;
  return {
    sql: `${spec.select.replace('%INNER%', inner)} ORDER BY ${k} DESC`,
    params: [
      ...where.params,
      ...(after === undefined ? [] : [after]),
      limit,
      ...(offset === undefined ? [] : [offset]),
    ],
  };
}

/**
 * Pages of rows, newest first: one page (an OFFSET, as DHIS2's page numbers require) or, with
 * paging=false, every row by keyset steps on the key. The table is read alone (its filters are on
 * its own columns or semi-joins), so each step is an index range read; the joins that turn keys
 * into UIDs apply to the step's rows only.
 */
async function* readPages(
  context: FerryContext,
  spec: ExportTable,
  request: TrackerExportRequest,
): AsyncIterable<Record<string, unknown>[]> {
  const { where, paging } = request;
  if (paging.paging) {
    const q = pageQuery(spec, where, paging.pageSize, undefined, (paging.page - 1) * paging.pageSize);
    yield await context.storage.query(q.sql, q.params);
    return;
  }
  let last: number | undefined;
  for (;;) {
    const q = pageQuery(spec, where, BATCH, last);
    const rows = await context.storage.query<Record<string, unknown>>(q.sql, q.params);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < BATCH) return;
    last = Number(rows[rows.length - 1].id);
  }
}

export async function* readEvents(
  context: FerryContext,
  request: TrackerExportRequest,
): AsyncIterable<TrackerEvent[]> {
  for await (const rows of readPageArrays(
    context,
    { ...EVENTS, select: EVENT_SELECT },
    request,
    EVENT_COLUMNS,
    BATCH,
  )) {
    const notes = await notesOf(
      context,
      'event_id',
      rows.map((r) => Number(r[E.id])),
    );
    yield rows.map((r) => eventOf(r, notes));
  }
}

/**
 * readPages with each row an array of the `columns` (the SELECT's aliases, in order), its first
 * the key: SQLite's `queryArrays` reads them so directly; PostgreSQL's row objects are turned into
 * arrays.
 */
export async function* readPageArrays(
  context: FerryContext,
  spec: ExportTable,
  request: TrackerExportRequest,
  columns: ReadonlyArray<readonly [string, string]>,
  batch: number,
): AsyncIterable<unknown[][]> {
  const storage = context.storage;
  const read = async (sql: string, params: readonly SqlValue[]): Promise<unknown[][]> =>
    storage.queryArrays
      ? storage.queryArrays(sql, params)
      : (await storage.query<Record<string, unknown>>(sql, params)).map((r) =>
          columns.map(([name]) => r[name]),
        );
  const { where, paging } = request;
  if (paging.paging) {
    const q = pageQuery(spec, where, paging.pageSize, undefined, (paging.page - 1) * paging.pageSize);
    yield await read(q.sql, q.params);
    return;
  }
  let last: number | undefined;
  for (;;) {
    const q = pageQuery(spec, where, batch, last);
    const rows = await read(q.sql, q.params);
    if (rows.length === 0) return;
    yield rows;
    if (rows.length < batch) return;
    last = Number(rows[rows.length - 1][0]);
  }
}

async function countRows(context: FerryContext, from: string, where: Condition): Promise<number> {
  const row = await context.storage.queryOne<{ n: number | string }>(
    `SELECT COUNT(*) AS n ${from} WHERE ${where.sql}`,
    where.params,
  );
  return Number(row?.n ?? 0);
}

/** The number of objects an export matches (`totalPages=true`). */
export async function countExport(
  context: FerryContext,
  kind: 'events' | 'enrollments' | 'trackedEntities' | 'relationships',
  request: TrackerExportRequest,
): Promise<number> {
  const spec = {
    events: EVENTS,
    enrollments: ENROLLMENTS,
    trackedEntities: TRACKED_ENTITIES,
    relationships: RELATIONSHIPS,
  }[kind];
  return countRows(context, `FROM ${spec.table} ${spec.alias}`, request.where);
}

export async function countEvents(context: FerryContext, request: TrackerExportRequest): Promise<number> {
  return countRows(context, 'FROM event e', request.where);
}

// Enrollments ------------------------------------------------------------------------------------

const ENROLLMENT_SELECT = `SELECT en.enrollment_id AS id, en.uid AS uid, en.created AS created, en.created_at_client AS created_at_client,
  en.updated AS updated, en.updated_at_client AS updated_at_client, te.uid AS tracked_entity, p.uid AS program, en.status AS status,
  o.uid AS org_unit, en.enrolled_at AS enrolled_at, en.occurred_at AS occurred_at, en.follow_up AS follow_up, en.deleted AS deleted,
  en.completed_at AS completed_at, en.completed_by AS completed_by, en.geometry AS geometry, en.stored_by AS stored_by,
  en.created_by AS created_by, en.updated_by AS updated_by
  FROM (%INNER%) en
  JOIN tracked_entity te ON te.tracked_entity_id = en.tracked_entity_id
  JOIN metadata_object p ON p.sid = en.program_id
  JOIN metadata_object o ON o.sid = en.org_unit_id`;

function enrollmentOf(r: Record<string, unknown>, notes: Map<number, unknown[]>): Record<string, unknown> {
  return compact({
    enrollment: r.uid,
    createdAt: r.created,
    createdAtClient: r.created_at_client,
    updatedAt: r.updated,
    updatedAtClient: r.updated_at_client,
    trackedEntity: r.tracked_entity,
    program: r.program,
    status: r.status,
    orgUnit: r.org_unit,
    enrolledAt: r.enrolled_at,
    occurredAt: r.occurred_at,
    followUp: bool(r.follow_up),
    deleted: bool(r.deleted),
    completedAt: r.completed_at,
    completedBy: r.completed_by,
    geometry: r.geometry === null ? null : jsonValue(r.geometry),
    storedBy: r.stored_by,
    createdBy: r.created_by === null ? null : { username: r.created_by },
    updatedBy: r.updated_by === null ? null : { username: r.updated_by },
    notes: notes.get(Number(r.id)) ?? [],
  });
}

export async function* readEnrollments(
  context: FerryContext,
  request: TrackerExportRequest,
): AsyncIterable<Record<string, unknown>[]> {
  for await (const rows of readPages(context, { ...ENROLLMENTS, select: ENROLLMENT_SELECT }, request)) {
    const notes = await notesOf(
      context,
      'enrollment_id',
      rows.map((r) => Number(r.id)),
    );
    yield rows.map((r) => enrollmentOf(r, notes));
  }
}

// Tracked entities -------------------------------------------------------------------------------

const TRACKED_ENTITY_SELECT = `SELECT t.tracked_entity_id AS id, t.uid AS uid, tt.uid AS tracked_entity_type, t.created AS created,
  t.created_at_client AS created_at_client, t.updated AS updated, t.updated_at_client AS updated_at_client, o.uid AS org_unit,
  t.inactive AS inactive, t.deleted AS deleted, t.potential_duplicate AS potential_duplicate, t.geometry AS geometry,
  t.stored_by AS stored_by, t.created_by AS created_by, t.updated_by AS updated_by
  FROM (%INNER%) t
  JOIN metadata_object tt ON tt.sid = t.tracked_entity_type_id
  JOIN metadata_object o ON o.sid = t.org_unit_id`;

export async function* readTrackedEntities(
  context: FerryContext,
  request: TrackerExportRequest,
  fields: NestedFields,
  includeDeleted = false,
): AsyncIterable<Record<string, unknown>[]> {
  for await (const rows of readPages(
    context,
    { ...TRACKED_ENTITIES, select: TRACKED_ENTITY_SELECT },
    request,
  )) {
    const ids = rows.map((r) => Number(r.id));
    const marks = ids.map(() => '?').join(', ');
    const attributes = new Map<number, unknown[]>();
    if (fields.attributes && ids.length > 0) {
      for (const a of await context.storage.query<Record<string, unknown>>(
        `SELECT v.tracked_entity_id AS owner, a.uid AS attribute, a.name AS name, v.value AS value, v.created AS created,
           v.updated AS updated, v.stored_by AS stored_by, a.body AS body
           FROM tracked_entity_attribute_value v JOIN metadata_object a ON a.sid = v.attribute_id
          WHERE v.tracked_entity_id IN (${marks}) ORDER BY v.tracked_entity_id, a.uid`,
        ids,
      )) {
        const body = jsonValue(a.body) as Record<string, unknown>;
        const list = attributes.get(Number(a.owner)) ?? [];
        list.push(
          compact({
            attribute: a.attribute,
            displayName: a.name,
            createdAt: a.created,
            updatedAt: a.updated,
            storedBy: a.stored_by,
            valueType: body.valueType,
            value: a.value,
          }),
        );
        attributes.set(Number(a.owner), list);
      }
    }
    const enrollments = new Map<string, Record<string, unknown>[]>();
    if (fields.enrollments && ids.length > 0) {
      const hiddenPrograms = request.hidden?.programs ?? [];
      const hiddenStages = request.hidden?.stages ?? [];
      const notIn = (column: string, sids: number[]) =>
        sids.length === 0 ? '' : ` AND ${column} NOT IN (${sids.map(() => '?').join(', ')})`;
      const nested: TrackerExportRequest = {
        where: {
          sql: `en.tracked_entity_id IN (${marks})${includeDeleted ? '' : ' AND en.deleted = 0'}${notIn('en.program_id', hiddenPrograms)}`,
          params: [...ids, ...hiddenPrograms],
        },
        paging: { paging: false, page: 1, pageSize: BATCH, totalPages: false },
      };
      const byUid = new Map<string, Record<string, unknown>>();
      for await (const batch of readEnrollments(context, nested)) {
        for (const en of batch) {
          const list = enrollments.get(String(en.trackedEntity)) ?? [];
          list.unshift(en);
          enrollments.set(String(en.trackedEntity), list);
          byUid.set(String(en.enrollment), en);
          if (fields.events) en.events = [];
        }
      }
      if (fields.events && byUid.size > 0) {
        const uids = [...byUid.keys()];
        for await (const batch of readEvents(context, {
          where: {
            sql: `e.enrollment_id IN (SELECT enrollment_id FROM enrollment WHERE uid IN (${uids.map(() => '?').join(', ')}))${includeDeleted ? '' : ' AND e.deleted = 0'}${notIn('e.program_stage_id', hiddenStages)}`,
            params: [...uids, ...hiddenStages],
          },
          paging: { paging: false, page: 1, pageSize: BATCH, totalPages: false },
        })) {
          for (const ev of batch) (byUid.get(String(ev.enrollment))!.events as unknown[]).unshift(ev);
        }
      }
    }
    const relationships = fields.relationships
      ? await relationshipsOfEnds(context, 'TRACKED_ENTITY', ids)
      : new Map();
    const owners = new Map<number, unknown[]>();
    if (fields.programOwners && ids.length > 0) {
      for (const r of await context.storage.query<Record<string, unknown>>(
        `SELECT w.tracked_entity_id AS owner, p.uid AS program, o.uid AS org_unit FROM tracked_entity_program_owner w
           JOIN metadata_object p ON p.sid = w.program_id JOIN metadata_object o ON o.sid = w.org_unit_id
          WHERE w.tracked_entity_id IN (${marks})`,
        ids,
      )) {
        const list = owners.get(Number(r.owner)) ?? [];
        list.push({ orgUnit: r.org_unit, program: r.program });
        owners.set(Number(r.owner), list);
      }
    }
    yield rows.map((r) => {
      const id = Number(r.id);
      const te: Record<string, unknown> = compact({
        trackedEntity: r.uid,
        trackedEntityType: r.tracked_entity_type,
        createdAt: r.created,
        createdAtClient: r.created_at_client,
        updatedAt: r.updated,
        updatedAtClient: r.updated_at_client,
        orgUnit: r.org_unit,
        inactive: bool(r.inactive),
        deleted: bool(r.deleted),
        potentialDuplicate: bool(r.potential_duplicate),
        geometry: r.geometry === null ? null : jsonValue(r.geometry),
        storedBy: r.stored_by,
        createdBy: r.created_by === null ? null : { username: r.created_by },
        updatedBy: r.updated_by === null ? null : { username: r.updated_by },
      });
      if (fields.attributes) te.attributes = attributes.get(id) ?? [];
      if (fields.enrollments) te.enrollments = enrollments.get(String(r.uid)) ?? [];
      if (fields.relationships) te.relationships = relationships.get(id) ?? [];
      if (fields.programOwners)
        te.programOwners = (owners.get(id) ?? []).map((o) => ({ ...(o as object), trackedEntity: r.uid }));
      return te;
    });
  }
}

// Relationships ----------------------------------------------------------------------------------

const RELATIONSHIP_SELECT = `SELECT r.relationship_id AS id, r.uid AS uid, rt.uid AS relationship_type, rt.name AS relationship_name,
  r.bidirectional AS bidirectional, r.created AS created, r.created_at_client AS created_at_client, r.updated AS updated,
  r.deleted AS deleted, r.from_kind AS from_kind, r.to_kind AS to_kind, r.from_id AS from_id, r.to_id AS to_id,
  COALESCE(ft.uid, fen.uid, fev.uid) AS from_uid, COALESCE(tt.uid, ten.uid, tev.uid) AS to_uid
  FROM (%INNER%) r
  JOIN metadata_object rt ON rt.sid = r.relationship_type_id
  LEFT JOIN tracked_entity ft ON r.from_kind = 'TRACKED_ENTITY' AND ft.tracked_entity_id = r.from_id
  LEFT JOIN enrollment fen ON r.from_kind = 'ENROLLMENT' AND fen.enrollment_id = r.from_id
  LEFT JOIN event fev ON r.from_kind = 'EVENT' AND fev.event_id = r.from_id
  LEFT JOIN tracked_entity tt ON r.to_kind = 'TRACKED_ENTITY' AND tt.tracked_entity_id = r.to_id
  LEFT JOIN enrollment ten ON r.to_kind = 'ENROLLMENT' AND ten.enrollment_id = r.to_id
  LEFT JOIN event tev ON r.to_kind = 'EVENT' AND tev.event_id = r.to_id`;

const END_FIELD: Record<string, string> = {
  TRACKED_ENTITY: 'trackedEntity',
  ENROLLMENT: 'enrollment',
  EVENT: 'event',
};

function relationshipOf(r: Record<string, unknown>): Record<string, unknown> {
  const end = (kind: unknown, uid: unknown) => ({
    [END_FIELD[String(kind)]]: { [END_FIELD[String(kind)]]: uid },
  });
  return compact({
    relationship: r.uid,
    relationshipType: r.relationship_type,
    relationshipName: r.relationship_name,
    createdAt: r.created,
    createdAtClient: r.created_at_client,
    updatedAt: r.updated,
    bidirectional: bool(r.bidirectional),
    deleted: bool(r.deleted),
    from: end(r.from_kind, r.from_uid),
    to: end(r.to_kind, r.to_uid),
  });
}

async function relationshipsOfEnds(
  context: FerryContext,
  kind: string,
  ids: number[],
): Promise<Map<number, unknown[]>> {
  const out = new Map<number, unknown[]>();
  if (ids.length === 0) return out;
  const marks = ids.map(() => '?').join(', ');
  const rows = await context.storage.query<Record<string, unknown>>(
    RELATIONSHIP_SELECT.replace(
      '%INNER%',
      `SELECT * FROM relationship r WHERE r.deleted = 0 AND ((r.from_kind = ? AND r.from_id IN (${marks})) OR (r.to_kind = ? AND r.to_id IN (${marks})))`,
    ) + ' ORDER BY r.relationship_id',
    [kind, ...ids, kind, ...ids],
  );
  for (const r of rows) {
    for (const [k, id] of [
      [r.from_kind, r.from_id],
      [r.to_kind, r.to_id],
    ]) {
      if (k !== kind || !ids.includes(Number(id))) continue;
      const list = out.get(Number(id)) ?? [];
      list.push(relationshipOf(r));
      out.set(Number(id), list);
    }
  }
  return out;
}

export async function* readRelationships(
  context: FerryContext,
  request: TrackerExportRequest,
): AsyncIterable<Record<string, unknown>[]> {
  for await (const rows of readPages(context, { ...RELATIONSHIPS, select: RELATIONSHIP_SELECT }, request))
    yield rows.map(relationshipOf);
}

// CSV of events ----------------------------------------------------------------------------------

/**
 * DHIS2's event CSV columns (2.41+), one row per event and data value: the same list the import
 * reads a header-less file by, so what Ferry writes is what it reads.
 */
export const EVENT_CSV_COLUMNS = CURRENT_EVENT_CSV_COLUMNS;

export function csvCell(value: unknown, escapeFormulas: boolean): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // An exchange file stays exact; one for a spreadsheet gets OWASP's ' (docs/security.md).
  if (escapeFormulas) text = neutraliseFormula(text);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The CSV lines of a batch of events (an event without data values is one row with empty value
 * columns). `escapeFormulas` is for a file meant for a spreadsheet (`escapeFormulas=true`); without
 * it the values are written exactly, as DHIS2 does.
 */
export function eventCsvLines(
  events: readonly TrackerEvent[],
  { escapeFormulas = false }: { escapeFormulas?: boolean } = {},
): string {
  const cell = (value: unknown): string => csvCell(value, escapeFormulas);
  let out = '';
  for (const ev of events) {
    const point =
      (ev.geometry as { type?: string; coordinates?: number[] } | undefined)?.type === 'Point'
        ? (ev.geometry as { coordinates: number[] }).coordinates
        : undefined;
    const base = [
      ev.event,
      ev.status,
      ev.program,
      ev.programStage,
      ev.enrollment,
      ev.orgUnit,
      ev.occurredAt,
      ev.scheduledAt,
      ev.geometry,
      point?.[1],
      point?.[0],
      ev.followUp,
      ev.deleted,
      ev.createdAt,
      ev.createdAtClient,
      ev.updatedAt,
      ev.updatedAtClient,
      ev.completedBy,
      ev.completedAt,
      (ev.updatedBy as { username?: string } | undefined)?.username,
      ev.attributeOptionCombo,
      undefined,
      (ev.assignedUser as { uid?: string } | undefined)?.uid,
    ].map(cell);
    const values = ev.dataValues.length > 0 ? ev.dataValues : [undefined];
    for (const dv of values) {
      const tail = [
        dv?.dataElement,
        dv?.value,
        dv ? dv.providedElsewhere : undefined,
        dv?.storedBy,
        dv?.createdAt,
        dv?.updatedAt,
      ].map(cell);
      out += `${[...base, ...tail].join(',')}\n`;
    }
  }
  return out;
}
