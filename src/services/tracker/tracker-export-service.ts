import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import type { SqlValue } from '../../storage/storage.ts';
import { jsonValue } from '../../storage/tracker-store.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../errors.ts';
import { EVENT_STATUSES, ENROLLMENT_STATUSES } from '../../domain/tracker/tracker-objects.ts';
import { neutraliseFormula } from '../../codecs/csv/spreadsheet-safe.ts';

/**
 * Tracker exports (`GET /api/tracker/events|trackedEntities|enrollments|relationships`): SQL built
 * from DHIS2's filters, read newest first (DHIS2's default order, by internal id descending) with
 * keyset pagination on the surrogate key, so `paging=false` streams any number of objects with
 * memory bounded by one batch. Nested objects (attributes, data values, enrollments, events, notes)
 * are read for a whole batch at once, never one query per object. Every read is limited to the
 * caller's view scope (data view org units, or capture org units when none are set).
 */

export const ORG_UNIT_MODES = [
  'SELECTED',
  'CHILDREN',
  'DESCENDANTS',
  'ACCESSIBLE',
  'CAPTURE',
  'ALL',
] as const;
type OrgUnitMode = (typeof ORG_UNIT_MODES)[number];

/** Rows read per keyset step. */
const BATCH = 1000;
/** DHIS2 has no upper page size; Ferry caps a page so one answer stays small (use paging=false). */
const MAX_PAGE_SIZE = 10_000;

export interface Paging {
  paging: boolean;
  page: number;
  pageSize: number;
  totalPages: boolean;
}

type Query = Record<string, unknown>;

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  const value = Array.isArray(v) ? v[v.length - 1] : v;
  return value === undefined || value === null || value === '' ? undefined : String(value);
}

function uidList(query: Query, ...names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const v = query[name];
    for (const item of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
      for (const part of String(item).split(/[,;]/)) if (part.trim() !== '') out.push(part.trim());
    }
  }
  return out;
}

function positive(query: Query, name: string, fallback: number): number {
  const text = single(query, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new FerryError('F1000', [name, text, 'a positive integer']);
  return n;
}

function date(query: Query, name: string): string | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  if (Number.isNaN(Date.parse(text))) throw new FerryError('F1000', [name, text, 'an ISO-8601 date']);
  return text;
}

export function parsePaging(query: Query): Paging {
  return {
    paging:
      parseBooleanParameter('paging', single(query, 'paging'), true) &&
      !parseBooleanParameter('skipPaging', single(query, 'skipPaging'), false),
    page: positive(query, 'page', 1),
    pageSize: Math.min(positive(query, 'pageSize', 50), MAX_PAGE_SIZE),
    totalPages: parseBooleanParameter('totalPages', single(query, 'totalPages'), false),
  };
}

/** A WHERE fragment with its parameters. */
interface Condition {
  sql: string;
  params: SqlValue[];
}

/** Path condition for "at or below one of these org units" (whole path segments only). */
function pathBelow(column: string, uids: readonly string[]): Condition {
  if (uids.length === 0) return { sql: '1 = 0', params: [] };
  return {
    sql: `(${uids.map(() => `${column} LIKE ? OR ${column} LIKE ?`).join(' OR ')})`,
    params: uids.flatMap((u) => [`%/${u}/%`, `%/${u}`]),
  };
}

/**
 * The org unit condition on `column` (an org unit sid), as a semi-join on the org units it may be:
 * the requested units under `orgUnitMode`, always within the caller's view scope. A semi-join keeps
 * the export's own table alone in its keyset scan (no join before the LIMIT).
 */
async function orgUnitCondition(
  context: FerryContext,
  column: string,
  requested: string[],
  modeText: string | undefined,
  principal: Principal | undefined,
): Promise<Condition> {
  const mode: OrgUnitMode = parseEnumParameter(
    'orgUnitMode',
    modeText,
    ORG_UNIT_MODES,
    requested.length > 0 ? 'SELECTED' : 'ACCESSIBLE',
  );
  const parts: Condition[] = [];
  const superuser = !principal || principal.authorities.has('ALL');
  if (principal && !superuser) parts.push(pathBelow(`o.path`, principal.viewOrgUnits));
  if (mode === 'CAPTURE' && principal && !superuser)
    parts.push(pathBelow(`o.path`, principal.captureOrgUnits));
  if (mode === 'SELECTED' || mode === 'CHILDREN' || mode === 'DESCENDANTS') {
    if (requested.length === 0) throw new FerryError('F1004', ['orgUnit']);
    const rows = await context.metadata.findBy('organisationUnits', 'uid', requested);
    const found = new Set(rows.map((r) => r.object.id));
    const unknown = requested.find((u) => !found.has(u));
    if (unknown) throw new FerryError('F1200', ['Organisation unit', unknown]);
    if (mode === 'DESCENDANTS') parts.push(pathBelow(`o.path`, requested));
    else {
      const sids = rows.map((r) => r.sid);
      const own = `o.sid IN (${sids.map(() => '?').join(', ')})`;
      if (mode === 'SELECTED') parts.push({ sql: own, params: sids });
      else {
        // Children: the units whose path is a selected unit's path plus one segment.
        const paths = rows.map((r) => String(r.object.path ?? `/${r.object.id}`));
        parts.push({
          sql: `(${own} OR ${paths.map(() => `(o.path LIKE ? AND o.path NOT LIKE ?)`).join(' OR ')})`,
          params: [...sids, ...paths.flatMap((p) => [`${p}/%`, `${p}/%/%`])],
        });
      }
    }
  }
  if (parts.length === 0) return { sql: '1 = 1', params: [] };
  const inner = combine(parts);
  return {
    sql: `${column} IN (SELECT o.sid FROM metadata_object o WHERE o.type = 'organisationUnits' AND ${inner.sql})`,
    params: inner.params,
  };
}

function combine(parts: Condition[]): Condition {
  const used = parts.filter((p) => p.sql !== '');
  return { sql: used.map((p) => p.sql).join(' AND ') || '1 = 1', params: used.flatMap((p) => p.params) };
}

async function sidOf(
  context: FerryContext,
  collection: string,
  uid: string | undefined,
  name: string,
): Promise<number | undefined> {
  if (!uid) return undefined;
  const sid = (await context.metadata.sids(collection, [uid])).get(uid);
  if (sid === undefined) throw new FerryError('F1200', [name, uid]);
  return sid;
}

/** Drops null and undefined fields, as DHIS2's JSON leaves them out. */
function compact<T extends Record<string, unknown>>(object: T): T {
  for (const key of Object.keys(object))
    if (object[key] === null || object[key] === undefined) delete object[key];
  return object;
}

const bool = (v: unknown) => Number(v) === 1;

// Events -----------------------------------------------------------------------------------------

const EVENT_SELECT = `SELECT e.event_id AS id, e.uid AS uid, e.status AS status, p.uid AS program, s.uid AS program_stage,
  en.uid AS enrollment, te.uid AS tracked_entity, o.uid AS org_unit, e.occurred_at AS occurred_at, e.scheduled_at AS scheduled_at,
  e.follow_up AS follow_up, e.deleted AS deleted, e.created AS created, e.created_at_client AS created_at_client,
  e.updated AS updated, e.updated_at_client AS updated_at_client, aoc.uid AS attribute_option_combo,
  e.completed_by AS completed_by, e.completed_at AS completed_at, e.geometry AS geometry, e.assigned_user AS assigned_user,
  e.stored_by AS stored_by, e.created_by AS created_by, e.updated_by AS updated_by, e.data_values AS data_values
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

function eventOf(r: Record<string, unknown>, notes: Map<number, unknown[]>): TrackerEvent {
  const values = (jsonValue(r.data_values) ?? {}) as Record<string, Record<string, unknown>>;
  return compact({
    event: String(r.uid),
    status: r.status,
    program: r.program,
    programStage: r.program_stage,
    enrollment: r.enrollment,
    trackedEntity: r.tracked_entity,
    orgUnit: r.org_unit,
    occurredAt: r.occurred_at,
    scheduledAt: r.scheduled_at,
    followUp: bool(r.follow_up),
    deleted: bool(r.deleted),
    createdAt: r.created,
    createdAtClient: r.created_at_client,
    updatedAt: r.updated,
    updatedAtClient: r.updated_at_client,
    attributeOptionCombo: r.attribute_option_combo,
    completedBy: r.completed_by,
    completedAt: r.completed_at,
    geometry: r.geometry === null ? null : jsonValue(r.geometry),
    assignedUser: r.assigned_user === null ? null : { uid: r.assigned_user },
    storedBy: r.stored_by,
    createdBy: r.created_by === null ? null : { username: r.created_by },
    updatedBy: r.updated_by === null ? null : { username: r.updated_by },
    dataValues: Object.entries(values).map(([dataElement, v]) =>
      compact({
        dataElement,
        value: v.value,
        providedElsewhere: v.providedElsewhere === true,
        createdAt: v.createdAt,
        updatedAt: v.updatedAt,
        storedBy: v.storedBy,
      }),
    ),
    notes: notes.get(Number(r.id)) ?? [],
  }) as TrackerEvent;
}

async function notesOf(
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

/** A parsed export: its SQL conditions and paging; the rows are read by `readPages`. */
export interface TrackerExportRequest {
  where: Condition;
  paging: Paging;
}

export async function parseEventExport(
  context: FerryContext,
  query: Query,
  principal: Principal | undefined,
): Promise<TrackerExportRequest> {
  const parts: Condition[] = [
    await orgUnitCondition(
      context,
      'e.org_unit_id',
      uidList(query, 'orgUnit', 'orgUnits'),
      single(query, 'orgUnitMode') ?? single(query, 'ouMode'),
      principal,
    ),
  ];
  const program = await sidOf(context, 'programs', single(query, 'program'), 'Program');
  if (program !== undefined) parts.push({ sql: 'e.program_id = ?', params: [program] });
  const stage = await sidOf(context, 'programStages', single(query, 'programStage'), 'Program stage');
  if (stage !== undefined) parts.push({ sql: 'e.program_stage_id = ?', params: [stage] });
  const status = single(query, 'status');
  if (status)
    parts.push({
      sql: 'e.status = ?',
      params: [parseEnumParameter('status', status, EVENT_STATUSES, 'ACTIVE')],
    });
  const occurredAfter = date(query, 'occurredAfter');
  if (occurredAfter) parts.push({ sql: 'e.occurred_at >= ?', params: [occurredAfter] });
  const occurredBefore = date(query, 'occurredBefore');
  if (occurredBefore) parts.push({ sql: 'e.occurred_at <= ?', params: [occurredBefore] });
  const updatedAfter = date(query, 'updatedAfter');
  if (updatedAfter) parts.push({ sql: 'e.updated >= ?', params: [new Date(updatedAfter).toISOString()] });
  const enrollments = uidList(query, 'enrollments', 'enrollment');
  if (enrollments.length > 0)
    parts.push({
      sql: `e.enrollment_id IN (SELECT enrollment_id FROM enrollment WHERE uid IN (${enrollments.map(() => '?').join(', ')}))`,
      params: enrollments,
    });
  const events = uidList(query, 'events', 'event');
  if (events.length > 0)
    parts.push({ sql: `e.uid IN (${events.map(() => '?').join(', ')})`, params: events });
  if (!parseBooleanParameter('includeDeleted', single(query, 'includeDeleted'), false))
    parts.push({ sql: 'e.deleted = 0', params: [] });
  return { where: combine(parts), paging: parsePaging(query) };
}

/** How to read one export's table: its rows by keyset, then the joins that name their references. */
interface ExportTable {
  table: string;
  alias: string;
  key: string;
  /** The SELECT with `%INNER%` where the page of rows of the table goes. */
  select: string;
}

const EVENTS: ExportTable = { table: 'event', alias: 'e', key: 'event_id', select: '' };
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
  for await (const rows of readPages(context, { ...EVENTS, select: EVENT_SELECT }, request)) {
    const notes = await notesOf(
      context,
      'event_id',
      rows.map((r) => Number(r.id)),
    );
    yield rows.map((r) => eventOf(r, notes));
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

export async function parseEnrollmentExport(
  context: FerryContext,
  query: Query,
  principal: Principal | undefined,
): Promise<TrackerExportRequest> {
  const parts: Condition[] = [
    await orgUnitCondition(
      context,
      'en.org_unit_id',
      uidList(query, 'orgUnits', 'orgUnit'),
      single(query, 'orgUnitMode') ?? single(query, 'ouMode'),
      principal,
    ),
  ];
  const program = await sidOf(context, 'programs', single(query, 'program'), 'Program');
  if (program !== undefined) parts.push({ sql: 'en.program_id = ?', params: [program] });
  const status = single(query, 'programStatus') ?? single(query, 'status');
  if (status)
    parts.push({
      sql: 'en.status = ?',
      params: [parseEnumParameter('programStatus', status, ENROLLMENT_STATUSES, 'ACTIVE')],
    });
  const te = single(query, 'trackedEntity');
  if (te)
    parts.push({
      sql: 'en.tracked_entity_id IN (SELECT tracked_entity_id FROM tracked_entity WHERE uid = ?)',
      params: [te],
    });
  const enrollments = uidList(query, 'enrollments');
  if (enrollments.length > 0)
    parts.push({ sql: `en.uid IN (${enrollments.map(() => '?').join(', ')})`, params: enrollments });
  const updatedAfter = date(query, 'updatedAfter');
  if (updatedAfter) parts.push({ sql: 'en.updated >= ?', params: [new Date(updatedAfter).toISOString()] });
  if (!parseBooleanParameter('includeDeleted', single(query, 'includeDeleted'), false))
    parts.push({ sql: 'en.deleted = 0', params: [] });
  return { where: combine(parts), paging: parsePaging(query) };
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

/** Which nested lists `fields=` asks for (`*` or `enrollments[...]`, `relationships`, `programOwners`). */
export interface NestedFields {
  enrollments: boolean;
  events: boolean;
  relationships: boolean;
  programOwners: boolean;
  attributes: boolean;
}

export function nestedFields(query: Query, defaults: Partial<NestedFields> = {}): NestedFields {
  const text = single(query, 'fields');
  if (!text)
    return {
      enrollments: false,
      events: false,
      relationships: false,
      programOwners: false,
      attributes: true,
      ...defaults,
    };
  const all = /(^|,)\s*\*/.test(text);
  const has = (name: string) =>
    new RegExp(`(^|[,\\[])\\s*${name}\\b`).test(text) && !new RegExp(`!${name}\\b`).test(text);
  return {
    enrollments: (all && !/!enrollments/.test(text)) || has('enrollments'),
    events: (all && !/!events/.test(text)) || has('events'),
    relationships: (all && !/!relationships/.test(text)) || has('relationships'),
    programOwners: (all && !/!programOwners/.test(text)) || has('programOwners'),
    attributes: (all && !/!attributes/.test(text)) || has('attributes'),
  };
}

export async function parseTrackedEntityExport(
  context: FerryContext,
  query: Query,
  principal: Principal | undefined,
): Promise<TrackerExportRequest> {
  const parts: Condition[] = [
    await orgUnitCondition(
      context,
      't.org_unit_id',
      uidList(query, 'orgUnits', 'orgUnit'),
      single(query, 'orgUnitMode') ?? single(query, 'ouMode'),
      principal,
    ),
  ];
  const program = await sidOf(context, 'programs', single(query, 'program'), 'Program');
  const type = await sidOf(
    context,
    'trackedEntityTypes',
    single(query, 'trackedEntityType'),
    'Tracked entity type',
  );
  const uids = uidList(query, 'trackedEntities', 'trackedEntity');
  if (program === undefined && type === undefined && uids.length === 0)
    throw new FerryError('F1004', ['program or trackedEntityType']);
  if (program !== undefined)
    parts.push({
      sql: 'EXISTS (SELECT 1 FROM enrollment x WHERE x.tracked_entity_id = t.tracked_entity_id AND x.program_id = ? AND x.deleted = 0)',
      params: [program],
    });
  if (type !== undefined) parts.push({ sql: 't.tracked_entity_type_id = ?', params: [type] });
  if (uids.length > 0) parts.push({ sql: `t.uid IN (${uids.map(() => '?').join(', ')})`, params: uids });
  const updatedAfter = date(query, 'updatedAfter');
  if (updatedAfter) parts.push({ sql: 't.updated >= ?', params: [new Date(updatedAfter).toISOString()] });
  const updatedBefore = date(query, 'updatedBefore');
  if (updatedBefore) parts.push({ sql: 't.updated <= ?', params: [new Date(updatedBefore).toISOString()] });
  if (!parseBooleanParameter('includeDeleted', single(query, 'includeDeleted'), false))
    parts.push({ sql: 't.deleted = 0', params: [] });
  return { where: combine(parts), paging: parsePaging(query) };
}

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
      const request: TrackerExportRequest = {
        where: {
          sql: `en.tracked_entity_id IN (${marks})${includeDeleted ? '' : ' AND en.deleted = 0'}`,
          params: ids,
        },
        paging: { paging: false, page: 1, pageSize: BATCH, totalPages: false },
      };
      const byUid = new Map<string, Record<string, unknown>>();
      for await (const batch of readEnrollments(context, request)) {
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
            sql: `e.enrollment_id IN (SELECT enrollment_id FROM enrollment WHERE uid IN (${uids.map(() => '?').join(', ')}))${includeDeleted ? '' : ' AND e.deleted = 0'}`,
            params: uids,
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

export async function parseRelationshipExport(
  context: FerryContext,
  query: Query,
  principal: Principal | undefined,
): Promise<TrackerExportRequest> {
  const te = single(query, 'trackedEntity');
  const en = single(query, 'enrollment');
  const ev = single(query, 'event');
  const uids = uidList(query, 'relationships');
  const parts: Condition[] = [];
  // The object asked about must be in the caller's view scope (its org unit), as for its own export.
  const scope = await orgUnitCondition(context, 'x.org_unit_id', [], undefined, principal);
  const end = (kind: string, table: string, key: string, uid: string): Condition => {
    const id = `(SELECT x.${key} FROM ${table} x WHERE x.uid = ? AND ${scope.sql})`;
    return {
      sql: `((r.from_kind = ? AND r.from_id = ${id}) OR (r.to_kind = ? AND r.to_id = ${id}))`,
      params: [kind, uid, ...scope.params, kind, uid, ...scope.params],
    };
  };
  if (te) parts.push(end('TRACKED_ENTITY', 'tracked_entity', 'tracked_entity_id', te));
  else if (en) parts.push(end('ENROLLMENT', 'enrollment', 'enrollment_id', en));
  else if (ev) parts.push(end('EVENT', 'event', 'event_id', ev));
  else if (uids.length > 0) {
    parts.push({ sql: `r.uid IN (${uids.map(() => '?').join(', ')})`, params: uids });
    // By UID: its `from` end must be in the caller's view scope.
    const visible = (kind: string, table: string, key: string): string =>
      `(r.from_kind = '${kind}' AND r.from_id IN (SELECT x.${key} FROM ${table} x WHERE ${scope.sql}))`;
    parts.push({
      sql: `(${visible('TRACKED_ENTITY', 'tracked_entity', 'tracked_entity_id')} OR ${visible('ENROLLMENT', 'enrollment', 'enrollment_id')} OR ${visible('EVENT', 'event', 'event_id')})`,
      params: [...scope.params, ...scope.params, ...scope.params],
    });
  } else throw new FerryError('F1004', ['trackedEntity, enrollment or event']);
  if (!parseBooleanParameter('includeDeleted', single(query, 'includeDeleted'), false))
    parts.push({ sql: 'r.deleted = 0', params: [] });
  return { where: combine(parts), paging: parsePaging(query) };
}

export async function* readRelationships(
  context: FerryContext,
  request: TrackerExportRequest,
): AsyncIterable<Record<string, unknown>[]> {
  for await (const rows of readPages(context, { ...RELATIONSHIPS, select: RELATIONSHIP_SELECT }, request))
    yield rows.map(relationshipOf);
}

// CSV of events ----------------------------------------------------------------------------------

/** DHIS2's event CSV columns (`CsvEventDataValue.java`, 2.41+), one row per event and data value. */
export const EVENT_CSV_COLUMNS = [
  'event',
  'status',
  'program',
  'programStage',
  'enrollment',
  'orgUnit',
  'occurredAt',
  'scheduledAt',
  'geometry',
  'latitude',
  'longitude',
  'followUp',
  'deleted',
  'createdAt',
  'createdAtClient',
  'updatedAt',
  'updatedAtClient',
  'completedBy',
  'completedAt',
  'updatedBy',
  'attributeOptionCombo',
  'attributeCategoryOptions',
  'assignedUser',
  'dataElement',
  'value',
  'providedElsewhere',
  'storedByDataValue',
  'createdAtDataValue',
  'updatedAtDataValue',
] as const;

function csvCell(value: unknown, escapeFormulas: boolean): string {
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
