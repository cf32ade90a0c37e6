import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import type { SqlExecutor, SqlValue } from '../../storage/storage.ts';
import { encodeDelimited } from '../../codecs/tab/tab-encoder.ts';
import type { ProgramShape } from './analysis-program-metadata.ts';
import type { ProgramAnalysisRequest } from './analysis-program-request.ts';
import { combine, dateRange, inList, orgUnitCondition, type Condition } from './analysis-event-tables.ts';

/**
 * Paradata of a program's analysis export (`paradata=true`): the tracker audit trail
 * (`tracker_audit`, written on every update and delete of an event or enrollment, with the stored
 * form before and after) of the exported events and, for tracker programs, enrollments, as
 * `paradata.tab`: a line per changed field (a data value by its data element's UID, else the
 * column: status, occurred_at, org_unit_id, ...), with the value before and after, who, when and
 * the import job. Creations are not in the trail: an object's creation is its own created and
 * created_by. The records are the export's: same program, stages, statuses, org units (with the
 * requester's view scope) and dates.
 */

export const PROGRAM_PARADATA_COLUMNS: readonly (readonly [name: string, meaning: string])[] = [
  ['audit_id', 'the change: a number increasing in the order changes were stored'],
  ['object_type', 'EVENT or ENROLLMENT'],
  ['object_id', 'the event or enrollment UID (event_id / enrollment_id in the data files)'],
  ['event', 'UPDATE or DELETE'],
  ['field', "a data element UID for a data value, else the stored column's name"],
  ['previous_value', 'the value before the change'],
  ['new_value', 'the value after it'],
  ['changed_by', 'user name of who made the change'],
  ['timestamp_utc', 'when (ISO 8601, UTC)'],
  ['import_job', 'id of the import job that made the change'],
];

const PAGE = 2000;
/** Columns of a stored row that say nothing about the record's content (stamps, keys). */
const IGNORED = new Set([
  'created',
  'updated',
  'updated_by',
  'created_by',
  'updated_at_client',
  'created_at_client',
  'stored_by',
  'data_values',
]);

function parsed(value: unknown): Record<string, unknown> {
  if (value && typeof value === 'object') return value as Record<string, unknown>;
  if (typeof value !== 'string' || value === '') return {};
  try {
    const object = JSON.parse(value) as unknown;
    return object && typeof object === 'object' ? (object as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A stored event's data values (`{ de: { value } }`, a JSON object or its text) as de → value. */
function dataValues(value: unknown): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const [de, v] of Object.entries(parsed(value))) out.set(de, text((v as { value?: unknown })?.value));
  return out;
}

/** The fields an audit row changed: [field, before, after]. */
export function changedFields(
  previousRaw: unknown,
  currentRaw: unknown,
): [string, string | null, string | null][] {
  const previous = parsed(previousRaw);
  const current = parsed(currentRaw);
  const out: [string, string | null, string | null][] = [];
  if (current.deleted === true) return [['deleted', 'false', 'true']];
  if ('data_values' in current || 'data_values' in previous) {
    const before = dataValues(previous.data_values);
    const after = dataValues(current.data_values);
    for (const de of new Set([...before.keys(), ...after.keys()])) {
      const [b, a] = [before.get(de) ?? null, after.get(de) ?? null];
      if (b !== a) out.push([de, b, a]);
    }
  }
  for (const column of Object.keys(current)) {
    if (IGNORED.has(column) || !(column in previous)) continue;
    const [b, a] = [text(previous[column]), text(current[column])];
    if (b !== a) out.push([column, b, a]);
  }
  return out;
}

async function* auditRows(
  db: SqlExecutor,
  join: string,
  where: Condition,
  signal?: AbortSignal,
): AsyncIterable<unknown[]> {
  const sql = `SELECT a.audit_id, a.tracker_type, a.uid, a.audit_type, a.previous, a.current, a.modified_by, a.created, a.job_id
    FROM tracker_audit a ${join} WHERE ${where.sql} AND a.audit_id > ? ORDER BY a.audit_id LIMIT ${PAGE}`;
  let last = 0;
  for (;;) {
    signal?.throwIfAborted();
    const rows = await db.query<Record<string, unknown>>(sql, [...where.params, last] as SqlValue[]);
    for (const row of rows)
      yield [
        row.audit_id,
        row.tracker_type,
        row.uid,
        row.audit_type,
        row.previous,
        row.current,
        row.modified_by,
        row.created,
        row.job_id,
      ];
    if (rows.length < PAGE) return;
    last = Number(rows[rows.length - 1].audit_id);
  }
}

/** paradata.tab's text for the program's exported records; `summary.rows` counts lines once read. */
export async function programParadata(
  context: FerryContext,
  shape: ProgramShape,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
  signal?: AbortSignal,
): Promise<{ chunks: AsyncIterable<string>; summary: { rows: number } }> {
  const db = context.storage;
  const stageSids = shape.stages.map((s) => s.sid);
  // The export's own conditions (spoolEventProgram's), on the audited event's current row. Scope
  // is checked now (E2012), before any byte is written.
  const events = combine([
    { sql: 'e.program_id = ?', params: [shape.sid] },
    { sql: 'e.deleted = 0', params: [] },
    stageSids.length > 0 ? inList('e.program_stage_id', stageSids) : { sql: '1 = 0', params: [] },
    inList('e.status', request.statuses),
    shape.tracker
      ? { sql: '', params: [] }
      : dateRange('COALESCE(e.occurred_at, e.scheduled_at)', request.startDate, request.endDate),
    await orgUnitCondition(context, 'e.org_unit_id', request.orgUnits, principal),
  ]);
  const enrollments = shape.tracker
    ? combine([
        { sql: 'en.program_id = ?', params: [shape.sid] },
        { sql: 'en.deleted = 0', params: [] },
        inList('en.status', request.programStatuses),
        dateRange('en.enrolled_at', request.startDate, request.endDate),
        await orgUnitCondition(context, 'en.org_unit_id', request.orgUnits, principal),
      ])
    : undefined;
  const summary = { rows: 0 };
  async function* lines(): AsyncIterable<(string | null)[]> {
    const sources: AsyncIterable<unknown[]>[] = [
      auditRows(db, "JOIN event e ON a.tracker_type = 'EVENT' AND e.event_id = a.object_id", events, signal),
    ];
    if (enrollments) {
      sources.push(
        auditRows(
          db,
          "JOIN enrollment en ON a.tracker_type = 'ENROLLMENT' AND en.enrollment_id = a.object_id",
          enrollments,
          signal,
        ),
      );
    }
    for (const source of sources) {
      for await (const [auditId, type, uid, kind, previous, current, by, created, job] of source) {
        for (const [field, before, after] of changedFields(previous, current)) {
          summary.rows++;
          yield [
            text(auditId),
            text(type),
            text(uid),
            text(kind),
            field,
            before,
            after,
            text(by),
            text(created),
            text(job),
          ];
        }
      }
    }
  }
  return {
    chunks: encodeDelimited(
      'tab',
      PROGRAM_PARADATA_COLUMNS.map(([name]) => name),
      lines(),
    ),
    summary,
  };
}
