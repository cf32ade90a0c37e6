import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { canDataRead, type SharingSubject } from '../../domain/access/data-sharing.ts';
import type { SqlValue } from '../../storage/storage.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../errors.ts';
import { EVENT_STATUSES, ENROLLMENT_STATUSES } from '../../domain/tracker/tracker-objects.ts';

/**
 * The tracker exports' query parameters (DHIS2's names and values) turned into SQL conditions on the
 * export's own table and its paging; `tracker-export-service.ts` reads the rows. Org units become a
 * semi-join limited to the caller's view scope.
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

/** DHIS2 has no upper page size; Ferry caps a page so one answer stays small (use paging=false). */
const MAX_PAGE_SIZE = 10_000;

export interface Paging {
  paging: boolean;
  page: number;
  pageSize: number;
  totalPages: boolean;
}

export type Query = Record<string, unknown>;

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
export interface Condition {
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

export function combine(parts: Condition[]): Condition {
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

/** The caller as a data sharing subject; undefined for users with ALL and the operator (no check). */
function sharingOf(principal: Principal | undefined): SharingSubject | undefined {
  if (!principal || principal.authorities.has('ALL')) return undefined;
  return { userUid: principal.uid, userGroupUids: principal.userGroupUids, superuser: false };
}

/**
 * Sids of the objects of a type (programs, stages, tracked entity types) whose data the caller may
 * not read (data sharing). Read at each export: sharing may have changed since the last.
 */
async function unreadable(
  context: FerryContext,
  collection: string,
  subject: SharingSubject,
): Promise<number[]> {
  const out: number[] = [];
  for await (const batch of context.metadata.streamMatching(collection, []))
    for (const { sid, object } of batch) if (!canDataRead(object, subject)) out.push(sid);
  return out;
}

/** `column NOT IN (sids)`, or nothing when there are none. */
function notIn(column: string, sids: readonly number[]): Condition[] {
  return sids.length === 0
    ? []
    : [{ sql: `${column} NOT IN (${sids.map(() => '?').join(', ')})`, params: [...sids] }];
}

/**
 * A program (or stage, or type) named by an export's parameter whose data the caller may not read
 * is refused, as DHIS2 refuses it and as the analysis exports do (F1300).
 */
function refuseUnreadable(
  collection: string,
  uid: string | undefined,
  sid: number | undefined,
  hidden: readonly number[],
) {
  if (uid !== undefined && sid !== undefined && hidden.includes(sid)) {
    const label = {
      programs: 'program',
      programStages: 'program stage',
      trackedEntityTypes: 'tracked entity type',
    }[collection];
    throw new FerryError('F1300', [`User has no data read access to ${label}: \`${uid}\``]);
  }
}

/** A parsed export: its SQL conditions and paging; the rows are read by `readPages`. */
export interface TrackerExportRequest {
  where: Condition;
  paging: Paging;
  /**
   * Tracked entity exports: programs and stages whose data the caller may not read (sids), left
   * out of the enrollments and events nested in the entities.
   */
  hidden?: { programs: number[]; stages: number[] };
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
  // Program sharing: events of programs and stages whose data the caller may not read are left out.
  const subject = sharingOf(principal);
  if (subject) {
    const programs = await unreadable(context, 'programs', subject);
    const stages = await unreadable(context, 'programStages', subject);
    refuseUnreadable('programs', single(query, 'program'), program, programs);
    refuseUnreadable('programStages', single(query, 'programStage'), stage, stages);
    parts.push(...notIn('e.program_id', programs), ...notIn('e.program_stage_id', stages));
  }
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
  const subject = sharingOf(principal);
  if (subject) {
    const programs = await unreadable(context, 'programs', subject);
    refuseUnreadable('programs', single(query, 'program'), program, programs);
    parts.push(...notIn('en.program_id', programs));
  }
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
  // Sharing: the program asked for, and the types of the entities, must give data read.
  const subject = sharingOf(principal);
  let hidden: TrackerExportRequest['hidden'];
  if (subject) {
    const programs = await unreadable(context, 'programs', subject);
    const types = await unreadable(context, 'trackedEntityTypes', subject);
    refuseUnreadable('programs', single(query, 'program'), program, programs);
    refuseUnreadable('trackedEntityTypes', single(query, 'trackedEntityType'), type, types);
    parts.push(...notIn('t.tracked_entity_type_id', types));
    hidden = { programs, stages: await unreadable(context, 'programStages', subject) };
  }
  if (program !== undefined)
    parts.push({
      sql: 'EXISTS (SELECT 1 FROM enrollment x WHERE x.tracked_entity_id = t.tracked_entity_id AND x.program_id = ? AND x.deleted = 0)',
      params: [program],
    });
  if (type !== undefined) parts.push({ sql: 't.tracked_entity_type_id = ?', params: [type] });
  if (uids.length > 0) parts.push({ sql: `t.uid IN (${uids.map(() => '?').join(', ')})`, params: uids });
  parts.push(...enrollmentConditions(query, program), ...assignedUserConditions(query, program, principal));
  const updatedAfter = date(query, 'updatedAfter');
  const updatedBefore = date(query, 'updatedBefore');
  const updatedWithin = single(query, 'updatedWithin');
  if (updatedWithin !== undefined && (updatedAfter || updatedBefore))
    throw new FerryError('F1000', [
      'updatedWithin',
      updatedWithin,
      'not together with updatedAfter or updatedBefore',
    ]);
  if (updatedAfter) parts.push({ sql: 't.updated >= ?', params: [new Date(updatedAfter).toISOString()] });
  if (updatedBefore) parts.push({ sql: 't.updated <= ?', params: [new Date(updatedBefore).toISOString()] });
  if (updatedWithin !== undefined)
    parts.push({
      sql: 't.updated >= ?',
      params: [new Date(Date.now() - durationMs('updatedWithin', updatedWithin)).toISOString()],
    });
  if (!parseBooleanParameter('includeDeleted', single(query, 'includeDeleted'), false))
    parts.push({ sql: 't.deleted = 0', params: [] });
  return { where: combine(parts), paging: parsePaging(query), hidden };
}

/**
 * The tracked entity export's enrollment filters (`programStatus` or `enrollmentStatus`, `followUp`,
 * `enrollmentEnrolledAfter`/`Before`, `enrollmentOccurredAfter`/`Before`): the entity has an
 * enrollment in `program` that meets them all. As DHIS2, each needs `program`.
 */
function enrollmentConditions(query: Query, program: number | undefined): Condition[] {
  const checks: Condition[] = [];
  const statusName = single(query, 'enrollmentStatus') !== undefined ? 'enrollmentStatus' : 'programStatus';
  const status = single(query, statusName);
  if (status)
    checks.push({
      sql: 'x.status = ?',
      params: [parseEnumParameter(statusName, status, ENROLLMENT_STATUSES, 'ACTIVE')],
    });
  const followUp = single(query, 'followUp');
  if (followUp !== undefined)
    checks.push({ sql: 'x.follow_up = ?', params: [parseBooleanParameter('followUp', followUp) ? 1 : 0] });
  const bounds: Array<[string, string, string]> = [
    ['enrollmentEnrolledAfter', 'x.enrolled_at', '>='],
    ['enrollmentEnrolledBefore', 'x.enrolled_at', '<='],
    ['enrollmentOccurredAfter', 'x.occurred_at', '>='],
    ['enrollmentOccurredBefore', 'x.occurred_at', '<='],
  ];
  for (const [name, column, op] of bounds) {
    const value = date(query, name);
    if (value) checks.push({ sql: `${column} ${op} ?`, params: [value] });
  }
  if (checks.length === 0) return [];
  if (program === undefined) throw new FerryError('F1004', ['program']);
  const inner = combine(checks);
  return [
    {
      sql: `EXISTS (SELECT 1 FROM enrollment x WHERE x.tracked_entity_id = t.tracked_entity_id AND x.program_id = ? AND x.deleted = 0 AND ${inner.sql})`,
      params: [program, ...inner.params],
    },
  ];
}

export const ASSIGNED_USER_MODES = ['ALL', 'CURRENT', 'PROVIDED', 'NONE', 'ANY'] as const;

/**
 * `assignedUserMode` and `assignedUsers` on the tracked entity export: the entity has an event (in
 * `program`, when given) assigned to the caller (CURRENT), to one of `assignedUsers` (PROVIDED, the
 * mode `assignedUsers` alone implies), to nobody (NONE) or to anybody (ANY). ALL, the default, is no
 * filter. `assignedUsers` with another mode is refused, as DHIS2 does.
 */
function assignedUserConditions(
  query: Query,
  program: number | undefined,
  principal: Principal | undefined,
): Condition[] {
  const users = uidList(query, 'assignedUsers', 'assignedUser');
  const modeText = single(query, 'assignedUserMode');
  const mode = parseEnumParameter(
    'assignedUserMode',
    modeText,
    ASSIGNED_USER_MODES,
    users.length > 0 ? 'PROVIDED' : 'ALL',
  );
  if (users.length > 0 && mode !== 'PROVIDED')
    throw new FerryError('F1000', ['assignedUsers', users.join(','), 'only with assignedUserMode=PROVIDED']);
  let check: Condition;
  if (mode === 'ALL') return [];
  else if (mode === 'NONE') check = { sql: 'ev.assigned_user IS NULL', params: [] };
  else if (mode === 'ANY') check = { sql: 'ev.assigned_user IS NOT NULL', params: [] };
  else if (mode === 'CURRENT') {
    if (!principal) throw new FerryError('F1000', ['assignedUserMode', mode, 'ALL, PROVIDED, NONE, ANY']);
    check = { sql: 'ev.assigned_user = ?', params: [principal.uid] };
  } else {
    if (users.length === 0) throw new FerryError('F1004', ['assignedUsers']);
    check = { sql: `ev.assigned_user IN (${users.map(() => '?').join(', ')})`, params: users };
  }
  const inProgram: Condition =
    program === undefined ? { sql: '', params: [] } : { sql: 'x.program_id = ?', params: [program] };
  const inner = combine([inProgram, check]);
  return [
    {
      sql: `EXISTS (SELECT 1 FROM enrollment x JOIN event ev ON ev.enrollment_id = x.enrollment_id WHERE x.tracked_entity_id = t.tracked_entity_id AND x.deleted = 0 AND ev.deleted = 0 AND ${inner.sql})`,
      params: inner.params,
    },
  ];
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/**
 * A duration as the Import/Export app writes it (`100d5h30m`, each part optional, DHIS2's `10d`
 * among them) or in ISO-8601 (`P10D`, `PT36H`, `P1DT2H30M`), in milliseconds.
 */
function durationMs(name: string, text: string): number {
  const short = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/i.exec(text);
  const iso = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/i.exec(text);
  const parts = short ?? iso;
  if (!parts || parts.slice(1).every((p) => p === undefined) || /T$/i.test(text))
    throw new FerryError('F1000', [name, text, 'a duration such as 10d, 100d5h30m or P10D']);
  const [d, h, m, s] = parts.slice(1).map((p) => Number(p ?? 0));
  return (
    d * DURATION_UNITS_MS.d + h * DURATION_UNITS_MS.h + m * DURATION_UNITS_MS.m + s * DURATION_UNITS_MS.s
  );
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
