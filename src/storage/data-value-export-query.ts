import type { SqlExecutor, SqlValue } from './storage.ts';
import type { ExportField, ExportRowChunk } from '../domain/data-values/exported-data-values.ts';

/**
 * The read side of aggregate data value export: one streaming query over `data_value` in
 * primary-key order, with every identifier written under the requested scheme.
 *
 * On SQLite the rows come as arrays of plain columns and integer ids (no object per row, no
 * join per identifier); each distinct id is looked up once. PostgreSQL streams rows from a cursor
 * with the identifiers joined in SQL.
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

/** Rows per chunk: ~300 KB of text, small enough for flat memory, large enough to amortise a write. */
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
  // so the rows are read by one primary-key scan, already in order, instead of an index scan and a sort.
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
  return db.streamArrays
    ? streamArrayChunks(db as Parameters<typeof streamArrayChunks>[0], selection, columns)
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

type IdentifierField = 'dataElement' | 'orgUnit' | 'categoryOptionCombo' | 'attributeOptionCombo';

/**
 * Text of each surrogate id under one identifier column, loaded once per distinct id: a million
 * values reference a few thousand objects, so joining `metadata_object` per row in SQL (four
 * B-tree searches a row) cost most of the export's time.
 */
class IdentifierTexts {
  private readonly texts: Array<string | null> = [];
  private readonly db: SqlExecutor;
  private readonly sql: string;

  constructor(db: SqlExecutor, sql: string) {
    this.db = db;
    this.sql = sql;
  }

  /** The text, or null when no object has this id (the row is left out, as the join did). */
  get(id: number): string | null | undefined {
    return this.texts[id];
  }

  async load(id: number): Promise<string | null> {
    const row = await this.db.queryOne<{ text: string }>(this.sql, [id]);
    const text = row ? String(row.text) : null;
    this.texts[id] = text;
    return text;
  }
}

const STORED_COLUMNS: Readonly<Record<ExportField, string>> = {
  orgUnit: 'org_unit_id',
  period: 'period_id',
  dataElement: 'data_element_id',
  categoryOptionCombo: 'category_option_combo_id',
  attributeOptionCombo: 'attribute_option_combo_id',
  value: 'value',
  storedBy: 'stored_by',
  created: 'created',
  lastUpdated: 'last_updated',
  comment: 'comment',
  followUp: 'follow_up',
  deleted: 'deleted',
};
/** Fields written as the empty string when absent. */
const NULLABLE_TEXT: ReadonlySet<ExportField> = new Set(['value', 'storedBy', 'comment']);

/**
 * SQLite: one statement over the whole selection in primary-key order, rows as arrays of the five
 * key ids followed by the plain fields. Identifiers and period codes are mapped in JS from
 * per-id arrays. Each batch can be joined straight into an encoder's text (`joined`).
 */
async function* streamArrayChunks(
  db: SqlExecutor & { streamArrays: NonNullable<SqlExecutor['streamArrays']> },
  selection: DataValueExportSelection,
  columns: ExportColumns,
): AsyncIterable<ExportRowChunk> {
  const where = whereClause(selection, true);
  const filterJoins = [
    where.needsOrgUnit ? 'JOIN metadata_object ou ON ou.sid = dv.org_unit_id' : '',
    where.needsPeriod ? 'JOIN period p ON p.period_id = dv.period_id' : '',
  ].join(' ');
  const lookup = (column: IdentifierColumn): IdentifierTexts =>
    new IdentifierTexts(
      db,
      `SELECT ${identifierExpression('m', column)} AS text FROM metadata_object m WHERE m.sid = ?`,
    );
  const periods = new IdentifierTexts(db, 'SELECT iso AS text FROM period WHERE period_id = ?');
  const keyTexts: readonly IdentifierTexts[] = [
    lookup(columns.orgUnit),
    periods,
    lookup(columns.dataElement),
    lookup(columns.categoryOptionCombo),
    lookup(columns.attributeOptionCombo),
  ];
  const KEY_OF: Partial<Record<ExportField, number>> = {
    orgUnit: 0,
    period: 1,
    dataElement: 2,
    categoryOptionCombo: 3,
    attributeOptionCombo: 4,
  };
  // Per output field, its index in the selected row (keys first, then the plain fields).
  const plainFields = columns.fields.filter((f) => KEY_OF[f] === undefined);
  const plan = columns.fields.map((f) => KEY_OF[f] ?? 5 + plainFields.indexOf(f));
  // Stored columns as they are: COALESCE and CASE per row cost SQLite more than the JS below.
  const select = [...KEY_COLUMNS, ...plainFields.map((f) => STORED_COLUMNS[f])]
    .map((c) => `dv.${c}`)
    .join(', ');
  const nullableSources = plainFields.flatMap((f, i) => (NULLABLE_TEXT.has(f) ? [5 + i] : []));
  const flagSources = plainFields.flatMap((f, i) => (f === 'followUp' || f === 'deleted' ? [5 + i] : []));
  const sql = `SELECT ${select} FROM data_value dv ${filterJoins} WHERE ${where.sql} ORDER BY ${PK}`;
  const width = plan.length;
  // Fields whose text may need escaping by an encoder: user text, and codes or names.
  const unsafeSources = columns.fields.flatMap((f, i) => {
    const identifier = KEY_OF[f] !== undefined && f !== 'period' && columns[f as IdentifierField] !== 'uid';
    return f === 'value' || f === 'storedBy' || f === 'comment' || identifier ? [plan[i]] : [];
  });
  for await (const batch of db.streamArrays(sql, where.params, CHUNK_ROWS)) {
    let count = 0;
    for (const raw of batch) {
      for (let k = 0; k < 5; k++) {
        const texts = keyTexts[k];
        const id = raw[k] as number;
        let text = texts.get(id);
        if (text === undefined) text = await texts.load(id);
        raw[k] = text;
      }
      if (raw[0] === null || raw[1] === null || raw[2] === null || raw[3] === null || raw[4] === null) {
        continue;
      }
      for (const i of nullableSources) if (raw[i] === null) raw[i] = '';
      for (const i of flagSources) raw[i] = raw[i] === 0 ? 'false' : 'true';
      batch[count++] = raw;
    }
    if (count === 0) continue;
    batch.length = count;
    yield {
      count,
      rows: () => batch.map((raw) => plan.map((source) => String(raw[source]))),
      joined(fieldSeparator, rowSeparator, unsafe) {
        let out = '';
        for (const raw of batch) {
          for (const source of unsafeSources) if (unsafe.test(raw[source] as string)) return undefined;
          out += raw[plan[0]] as string;
          for (let f = 1; f < width; f++) out += `${fieldSeparator}${raw[plan[f]] as string}`;
          out += rowSeparator;
        }
        return out;
      },
    };
  }
}
