import type { SqlExecutor, SqlValue } from './storage.ts';
import {
  FIELD_SEPARATOR,
  ROW_SEPARATOR,
  type ExportField,
  type ExportRowChunk,
} from '../domain/data-values/exported-data-values.ts';

/**
 * The read side of aggregate data value export: one streaming query over `data_value`, joined to
 * `metadata_object` and `period` so that every identifier comes out already written under the
 * requested scheme, in primary-key order.
 *
 * Rows travel as "packed" text: fields joined by US (0x1F) and rows by RS (0x1E), which SQLite
 * builds in C with `group_concat`, one string per chunk. Building one JS string per chunk instead of
 * an object with a dozen properties per row is what makes a million values a second possible on
 * node:sqlite (see bench/data-value-export-bench.ts). PostgreSQL streams plain rows from a cursor.
 */

/**
 * The stored column behind an identifier: `uid`, or `code`/`name` falling back to the uid when the
 * object has none (an export must never write an empty reference).
 */
export type IdentifierColumn = 'uid' | 'code' | 'name';

/** The selection, already resolved to surrogate ids by the service. */
export interface DataValueExportSelection {
  dataElementIds: readonly number[];
  /** Org units selected exactly. */
  orgUnitIds?: readonly number[];
  /** Org unit paths whose whole subtree is selected (`children=true`). */
  orgUnitPathPrefixes?: readonly string[];
  periodIds?: readonly number[];
  /** Periods lying wholly within [startDate, endDate] (`YYYY-MM-DD`), as DHIS2 selects them. */
  startDate?: string;
  endDate?: string;
  /** Values changed at or after this ISO timestamp. */
  lastUpdatedSince?: string;
  includeDeleted: boolean;
  /** Only values with these attribute option combos. */
  attributeOptionComboIds?: readonly number[];
}

export interface ExportColumns {
  fields: readonly ExportField[];
  dataElement: IdentifierColumn;
  orgUnit: IdentifierColumn;
  categoryOptionCombo: IdentifierColumn;
  attributeOptionCombo: IdentifierColumn;
}

/** Rows per chunk: ~100 KB of text, small enough for flat memory, large enough to amortise a query. */
const CHUNK_ROWS = 5000;
const KEY_COLUMNS = [
  'org_unit_id',
  'period_id',
  'data_element_id',
  'category_option_combo_id',
  'attribute_option_combo_id',
] as const;
const PK = KEY_COLUMNS.map((c) => `dv.${c}`).join(', ');
/** Well under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters per statement. */
const MAX_IN_LIST = 10_000;

function identifierExpression(alias: string, column: IdentifierColumn): string {
  return column === 'uid' ? `${alias}.uid` : `COALESCE(${alias}.${column}, ${alias}.uid)`;
}

function fieldExpression(field: ExportField, columns: ExportColumns): string {
  switch (field) {
    case 'dataElement':
      return identifierExpression('de', columns.dataElement);
    case 'period':
      return 'p.iso';
    case 'orgUnit':
      return identifierExpression('ou', columns.orgUnit);
    case 'categoryOptionCombo':
      return identifierExpression('coc', columns.categoryOptionCombo);
    case 'attributeOptionCombo':
      return identifierExpression('aoc', columns.attributeOptionCombo);
    case 'value':
      return "COALESCE(dv.value, '')";
    case 'storedBy':
      return "COALESCE(dv.stored_by, '')";
    case 'created':
      return 'dv.created';
    case 'lastUpdated':
      return 'dv.last_updated';
    case 'comment':
      return "COALESCE(dv.comment, '')";
    case 'followUp':
      return "CASE WHEN dv.follow_up = 0 THEN 'false' ELSE 'true' END";
    case 'deleted':
      return "CASE WHEN dv.deleted = 0 THEN 'false' ELSE 'true' END";
  }
}

/** Fields whose text comes from users (or from code/name identifiers) and may hold a separator. */
function freeTextExpressions(columns: ExportColumns): string[] {
  const out = ["COALESCE(dv.value, '')", "COALESCE(dv.stored_by, '')", "COALESCE(dv.comment, '')"];
  if (columns.dataElement !== 'uid') out.push(identifierExpression('de', columns.dataElement));
  if (columns.orgUnit !== 'uid') out.push(identifierExpression('ou', columns.orgUnit));
  if (columns.categoryOptionCombo !== 'uid') {
    out.push(identifierExpression('coc', columns.categoryOptionCombo));
  }
  if (columns.attributeOptionCombo !== 'uid') {
    out.push(identifierExpression('aoc', columns.attributeOptionCombo));
  }
  return out;
}

function placeholders(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

/** WHERE clause and parameters for a selection; also says which joins the filters need. */
function whereClause(
  selection: DataValueExportSelection,
  keyOrdered: boolean,
): {
  sql: string;
  params: SqlValue[];
  needsOrgUnit: boolean;
  needsPeriod: boolean;
} {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  let needsOrgUnit = false;
  let needsPeriod = false;
  // SQLite: a unary `+` keeps the planner off the secondary indexes (data element, last updated),
  // so chunks are read by a primary-key range instead of an index scan and a sort per chunk.
  const column = (name: string): string => (keyOrdered ? `+${name}` : name);
  const inList = (column: string, ids: readonly number[]): void => {
    if (ids.length > MAX_IN_LIST) throw new Error(`Too many ids in one export filter (${ids.length})`);
    clauses.push(ids.length === 0 ? '1 = 0' : `${column} IN (${placeholders(ids)})`);
    params.push(...ids);
  };
  inList(column('dv.data_element_id'), selection.dataElementIds);
  const orgUnitParts: string[] = [];
  if (selection.orgUnitIds && selection.orgUnitIds.length > 0) {
    if (selection.orgUnitIds.length > MAX_IN_LIST) throw new Error('Too many org units in one export');
    orgUnitParts.push(`dv.org_unit_id IN (${placeholders(selection.orgUnitIds)})`);
    params.push(...selection.orgUnitIds);
  }
  for (const prefix of selection.orgUnitPathPrefixes ?? []) {
    // substr, not LIKE: LIKE is case-insensitive on SQLite and UIDs are case-sensitive.
    orgUnitParts.push(`substr(ou.path, 1, ${prefix.length}) = ?`);
    params.push(prefix);
    needsOrgUnit = true;
  }
  clauses.push(orgUnitParts.length === 0 ? '1 = 0' : `(${orgUnitParts.join(' OR ')})`);
  if (selection.periodIds) inList(column('dv.period_id'), selection.periodIds);
  if (selection.startDate !== undefined) {
    clauses.push('p.start_date >= ?');
    params.push(selection.startDate);
    needsPeriod = true;
  }
  if (selection.endDate !== undefined) {
    clauses.push('p.end_date <= ?');
    params.push(selection.endDate);
    needsPeriod = true;
  }
  if (selection.lastUpdatedSince !== undefined) {
    clauses.push(`${column('dv.last_updated')} >= ?`);
    params.push(selection.lastUpdatedSince);
  }
  if (selection.attributeOptionComboIds) {
    inList(column('dv.attribute_option_combo_id'), selection.attributeOptionComboIds);
  }
  if (!selection.includeDeleted) clauses.push('dv.deleted = 0');
  return { sql: clauses.join(' AND '), params, needsOrgUnit, needsPeriod };
}

const FULL_JOINS = `FROM data_value dv
  JOIN metadata_object de ON de.sid = dv.data_element_id
  JOIN period p ON p.period_id = dv.period_id
  JOIN metadata_object ou ON ou.sid = dv.org_unit_id
  JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
  JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id`;

/**
 * Streams the selected data values in primary-key order (org unit, period, data element, option
 * combo, attribute option combo), so values of one org unit and period arrive together.
 */
export function streamExportRows(
  db: SqlExecutor,
  selection: DataValueExportSelection,
  columns: ExportColumns,
): AsyncIterable<ExportRowChunk> {
  return db.kind === 'sqlite'
    ? streamPackedChunks(db, selection, columns)
    : streamCursorRows(db, selection, columns);
}

async function* streamCursorRows(
  db: SqlExecutor,
  selection: DataValueExportSelection,
  columns: ExportColumns,
): AsyncIterable<ExportRowChunk> {
  const where = whereClause(selection, false);
  const select = columns.fields.map((f, i) => `${fieldExpression(f, columns)} AS f${i}`).join(', ');
  const sql = `SELECT ${select} ${FULL_JOINS} WHERE ${where.sql} ORDER BY ${PK}`;
  const width = columns.fields.length;
  for await (const batch of db.stream<Record<string, string>>(sql, where.params, CHUNK_ROWS)) {
    const rows = batch.map((row) => {
      const out = new Array<string>(width);
      for (let i = 0; i < width; i++) out[i] = String(row[`f${i}`] ?? '');
      return out;
    });
    yield { count: rows.length, rows: () => rows };
  }
}

/**
 * SQLite: keyset chunks. A cheap index-only query finds the key of the chunk's last row (an OFFSET
 * bounded to one chunk, not OFFSET paging); the chunk query then packs the rows between the two
 * keys. A chunk whose user text contains a separator is fetched again row by row.
 */
async function* streamPackedChunks(
  db: SqlExecutor,
  selection: DataValueExportSelection,
  columns: ExportColumns,
): AsyncIterable<ExportRowChunk> {
  const where = whereClause(selection, true);
  const keyJoins = [
    where.needsOrgUnit ? 'JOIN metadata_object ou ON ou.sid = dv.org_unit_id' : '',
    where.needsPeriod ? 'JOIN period p ON p.period_id = dv.period_id' : '',
  ].join(' ');
  const after = `(${PK}) > (?, ?, ?, ?, ?)`;
  const upTo = `(${PK}) <= (?, ?, ?, ?, ?)`;
  const keySql = `SELECT ${KEY_COLUMNS.map((c) => `dv.${c} AS ${c}`).join(', ')} FROM data_value dv ${keyJoins}
    WHERE ${where.sql} AND ${after} ORDER BY ${PK} LIMIT 1 OFFSET ${CHUNK_ROWS - 1}`;
  const packedExpression = columns.fields
    .map((f) => fieldExpression(f, columns))
    .join(` || '${FIELD_SEPARATOR}' || `);
  const clash = freeTextExpressions(columns)
    .map((e) => `instr(${e}, '${FIELD_SEPARATOR}') + instr(${e}, '${ROW_SEPARATOR}')`)
    .join(' + ');
  const chunkSql = (bounded: boolean): string =>
    `SELECT group_concat(f, '${ROW_SEPARATOR}') AS packed, COUNT(*) AS n, MAX(clash) AS clash FROM (
       SELECT ${packedExpression} AS f, ${clash} AS clash ${FULL_JOINS}
       WHERE ${where.sql} AND ${after}${bounded ? ` AND ${upTo}` : ''} ORDER BY ${PK})`;
  const rowsSql = (bounded: boolean): string =>
    `SELECT ${columns.fields.map((f, i) => `${fieldExpression(f, columns)} AS f${i}`).join(', ')} ${FULL_JOINS}
       WHERE ${where.sql} AND ${after}${bounded ? ` AND ${upTo}` : ''} ORDER BY ${PK}`;
  const width = columns.fields.length;
  let key: SqlValue[] = [-1, -1, -1, -1, -1];
  for (;;) {
    const last = await db.queryOne<Record<string, number>>(keySql, [...where.params, ...key]);
    const upper = last ? KEY_COLUMNS.map((c) => Number(last[c])) : undefined;
    const bounds = upper ? [...where.params, ...key, ...upper] : [...where.params, ...key];
    const chunk = await db.queryOne<{ packed: string | null; n: number; clash: number | null }>(
      chunkSql(upper !== undefined),
      bounds,
    );
    const count = Number(chunk?.n ?? 0);
    if (count > 0 && chunk?.packed != null) {
      if (Number(chunk.clash ?? 0) === 0) {
        const packed = chunk.packed;
        yield {
          count,
          packed,
          rows: () => packed.split(ROW_SEPARATOR).map((row) => row.split(FIELD_SEPARATOR)),
        };
      } else {
        const fetched = await db.query<Record<string, unknown>>(rowsSql(upper !== undefined), bounds);
        const rows = fetched.map((row) => {
          const out = new Array<string>(width);
          for (let i = 0; i < width; i++) out[i] = String(row[`f${i}`] ?? '');
          return out;
        });
        yield { count: rows.length, rows: () => rows };
      }
    }
    if (!upper) return;
    key = upper;
  }
}
