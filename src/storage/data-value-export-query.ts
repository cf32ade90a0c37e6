import type { SqlExecutor, SqlValue } from './storage.ts';
import type { ExportField, ExportRowChunk } from '../domain/data-values/exported-data-values.ts';

/**
 * The read side of aggregate data value export: one streaming query over `data_value` in
 * primary-key order, with every identifier written under the requested scheme.
 *
 * On SQLite the rows come as arrays of plain columns and integer ids (no object per row, no
 * join per identifier); each distinct id is looked up once. PostgreSQL streams the rows as COPY
 * text with the identifiers joined and the fields formatted in SQL (a cursor inside a transaction).
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
  /** No values with these attribute option combos (those the user may not read). */
  excludedAttributeOptionComboIds?: readonly number[];
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
export const MAX_IN_LIST = 10_000;

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
  seekPeriods = false,
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
  if (selection.periodIds) {
    inList(seekPeriods ? 'dv.period_id' : column('dv.period_id'), selection.periodIds);
  }
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
  const excluded = selection.excludedAttributeOptionComboIds ?? [];
  if (excluded.length > 0) {
    if (excluded.length > MAX_IN_LIST)
      throw new Error(`Too many ids in one export filter (${excluded.length})`);
    clauses.push(`${column('dv.attribute_option_combo_id')} NOT IN (${placeholders(excluded)})`);
    params.push(...excluded);
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
  if (db.streamArrays) {
    return streamArrayChunks(db as Parameters<typeof streamArrayChunks>[0], selection, columns);
  }
  if (db.copyOut) return streamCopyChunks(db as Parameters<typeof streamCopyChunks>[0], selection, columns);
  return streamCursorRows(db, selection, columns);
}

/** Bytes of COPY text gathered into one chunk (about 2,500 values of CSV). */
const COPY_CHUNK_BYTES = 256 * 1024;

/**
 * PostgreSQL: the cursor's statement run as `COPY (...) TO STDOUT` in text format with ',' as the
 * delimiter. Every field is text made in SQL (COALESCE, CASE), so a line is the row's fields joined
 * by ',' unless some field holds a backslash, comma, tab or line break, which COPY escapes with a
 * backslash. A chunk without a backslash is therefore already CSV lines for `joined` (after the
 * fields that could need quoting pass the encoder's test); the others are parsed by `rows()`. No
 * object per row and no per-field parsing in `pg`: the cursor's FETCH path spent most of the
 * export's CPU there (bench/postgres-load-bench.ts).
 */
async function* streamCopyChunks(
  db: SqlExecutor & { copyOut: NonNullable<SqlExecutor['copyOut']> },
  selection: DataValueExportSelection,
  columns: ExportColumns,
): AsyncIterable<ExportRowChunk> {
  // Subtrees and date ranges as id lists: the primary-key scan then returns the rows in order (no
  // sort; a 1,000,000-value export sorted 150 MB on disk when the org units came from a path join).
  const where = whereClause(await withResolvedRanges(db, selection), false);
  const select = columns.fields.map((f) => fieldExpression(f, columns)).join(', ');
  const sql = inlineParameters(
    `SELECT ${select} ${FULL_JOINS} WHERE ${where.sql} ORDER BY ${PK}`,
    where.params,
  );
  const width = columns.fields.length;
  // Fields whose text may need escaping by an encoder: user text, and codes or names.
  const candidates = columns.fields.flatMap((f, i) => {
    const identifier = f !== 'period' && f in IDENTIFIER_FIELDS && columns[f as IdentifierField] !== 'uid';
    return f === 'value' || f === 'storedBy' || f === 'comment' || identifier ? [i] : [];
  });
  let pending: Buffer[] = [];
  let size = 0;
  for await (const data of db.copyOut(sql, "(DELIMITER ',')")) {
    pending.push(data);
    size += data.length;
    if (size >= COPY_CHUNK_BYTES) {
      yield copyTextChunk(Buffer.concat(pending, size).toString('utf8'), width, candidates);
      pending = [];
      size = 0;
    }
  }
  if (size > 0) yield copyTextChunk(Buffer.concat(pending, size).toString('utf8'), width, candidates);
}

const IDENTIFIER_FIELDS = { dataElement: 1, orgUnit: 1, categoryOptionCombo: 1, attributeOptionCombo: 1 };

/** Lines of COPY text (each ended by a line feed) as an export chunk. */
function copyTextChunk(text: string, width: number, candidates: readonly number[]): ExportRowChunk {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  const escaped = text.includes('\\');
  return {
    count,
    rows: () => {
      const rows: string[][] = [];
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        rows.push(parseCopyLine(text.slice(start, end), width));
        start = end + 1;
      }
      return rows;
    },
    joined(fieldSeparator, rowSeparator, unsafe) {
      if (escaped || fieldSeparator !== ',' || rowSeparator !== '\n') return undefined;
      if (candidates.length === 0) return text;
      const last = candidates[candidates.length - 1];
      const lastSafe = candidates.map(() => '');
      let start = 0;
      for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
        let from = start;
        let u = 0;
        for (let field = 0; field <= last; field++) {
          let to = text.indexOf(',', from);
          if (to === -1 || to > end) to = end;
          if (field === candidates[u]) {
            const value = text.slice(from, to);
            // Most rows repeat the previous row's user and have no comment: skip the pattern for those.
            if (value.length > 0 && value !== lastSafe[u]) {
              if (unsafe.test(value)) return undefined;
              lastSafe[u] = value;
            }
            u++;
          }
          from = to + 1;
        }
        start = end + 1;
      }
      return text;
    },
  };
}

/** One line of COPY's text format with ',' as the delimiter: backslash escapes undone, `\N` as ''. */
function parseCopyLine(line: string, width: number): string[] {
  if (!line.includes('\\')) return line.split(',');
  const fields: string[] = [];
  let field = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === ',') {
      fields.push(field);
      field = '';
    } else if (c !== '\\') {
      field += c;
    } else {
      const next = line[++i];
      field += COPY_ESCAPES[next] ?? next;
    }
  }
  fields.push(field);
  if (fields.length !== width) throw new Error(`COPY line with ${fields.length} fields for ${width}`);
  return fields;
}

const COPY_ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  v: '\v',
  N: '',
};

/**
 * `?` placeholders (outside quoted text) replaced by literals, for COPY, which takes no bind
 * parameters. Numbers must be finite; text is written as E'...' with backslashes and quotes
 * doubled, which reads the same whatever standard_conforming_strings says.
 */
export function inlineParameters(sql: string, params: readonly SqlValue[]): string {
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '?') {
      if (n >= params.length) throw new Error('Fewer parameters than placeholders');
      out += literal(params[n++]);
      continue;
    }
    out += c;
  }
  if (n !== params.length) throw new Error('More parameters than placeholders');
  return out;
}

function literal(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`Not a finite number: ${value}`);
    return String(value);
  }
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new Error('Text with a NUL character');
    return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
  }
  throw new Error('Binary values cannot be inlined');
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
 * The selection with org unit subtrees and date ranges turned into id lists, when they are small
 * enough: SQLite then seeks each org unit's rows by primary key instead of joining `metadata_object`
 * and `period` for every row of the scan (a quarter of the read's time).
 */
async function withResolvedRanges(
  db: SqlExecutor,
  selection: DataValueExportSelection,
): Promise<DataValueExportSelection> {
  let resolved = selection;
  const prefixes = selection.orgUnitPathPrefixes ?? [];
  if (prefixes.length > 0) {
    const ids = new Set(selection.orgUnitIds ?? []);
    for (const prefix of prefixes) {
      const rows = await db.query<{ sid: number }>(
        `SELECT sid FROM metadata_object WHERE substr(path, 1, ${prefix.length}) = ? LIMIT ${MAX_IN_LIST + 1}`,
        [prefix],
      );
      for (const row of rows) ids.add(Number(row.sid));
      if (ids.size > MAX_IN_LIST) break;
    }
    if (ids.size <= MAX_IN_LIST) {
      resolved = { ...resolved, orgUnitIds: [...ids].sort((a, b) => a - b), orgUnitPathPrefixes: [] };
    }
  }
  if (selection.startDate !== undefined || selection.endDate !== undefined) {
    const rows = await db.query<{ id: number }>(
      `SELECT period_id AS id FROM period WHERE start_date >= ? AND end_date <= ? LIMIT ${MAX_IN_LIST + 1}`,
      [selection.startDate ?? '', selection.endDate ?? '\uffff'],
    );
    if (rows.length <= MAX_IN_LIST) {
      const chosen = selection.periodIds ? new Set(selection.periodIds) : undefined;
      const periodIds = rows.map((r) => Number(r.id)).filter((id) => !chosen || chosen.has(id));
      resolved = { ...resolved, periodIds, startDate: undefined, endDate: undefined };
    }
  }
  return resolved;
}

/**
 * SQLite: the selection in primary-key order (see `arrayBatches`), rows as arrays of the stored
 * columns in output order, keys as integer ids. Identifiers and period codes are mapped in JS from
 * per-id arrays. Each batch can be joined straight into an encoder's text (`joined`).
 */
async function* streamArrayChunks(
  db: SqlExecutor & { streamArrays: NonNullable<SqlExecutor['streamArrays']> },
  selection: DataValueExportSelection,
  columns: ExportColumns,
): AsyncIterable<ExportRowChunk> {
  const resolved = await withResolvedRanges(db, selection);
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
  // Columns in output order, so that a mapped row is the output row and joins with one `join`;
  // key columns no field asks for come last, still needed to leave out rows whose object is gone.
  const width = columns.fields.length;
  const selected = [
    ...columns.fields,
    ...(Object.keys(KEY_OF) as ExportField[]).filter((f) => !columns.fields.includes(f)),
  ];
  // Stored columns as they are: COALESCE and CASE per row cost SQLite more than the JS below.
  const select = selected.map((f) => `dv.${STORED_COLUMNS[f]}`).join(', ');
  const positionsOf = (test: (f: ExportField) => boolean): number[] =>
    selected.flatMap((f, i) => (test(f) ? [i] : []));
  const keyPositions = positionsOf((f) => KEY_OF[f] !== undefined);
  const keyTextsAt = keyPositions.map((i) => keyTexts[KEY_OF[selected[i]] as number]);
  const nullableSources = positionsOf((f) => NULLABLE_TEXT.has(f));
  const flagSources = positionsOf((f) => f === 'followUp' || f === 'deleted');
  const statement = (
    part: DataValueExportSelection,
    seekPeriods: boolean,
  ): { sql: string; params: SqlValue[] } => {
    const where = whereClause(part, true, seekPeriods);
    const filterJoins = [
      where.needsOrgUnit ? 'JOIN metadata_object ou ON ou.sid = dv.org_unit_id' : '',
      where.needsPeriod ? 'JOIN period p ON p.period_id = dv.period_id' : '',
    ].join(' ');
    return {
      sql: `SELECT ${select} FROM data_value dv ${filterJoins} WHERE ${where.sql} ORDER BY ${PK}`,
      params: where.params,
    };
  };
  // Fields whose text may need escaping by an encoder: user text, and codes or names.
  const unsafeSources = columns.fields.flatMap((f, i) => {
    const identifier = KEY_OF[f] !== undefined && f !== 'period' && columns[f as IdentifierField] !== 'uid';
    return f === 'value' || f === 'storedBy' || f === 'comment' || identifier ? [i] : [];
  });
  for await (const batch of arrayBatches(db, resolved, statement)) {
    let count = 0;
    rows: for (const raw of batch) {
      for (let k = 0; k < keyPositions.length; k++) {
        const position = keyPositions[k];
        const texts = keyTextsAt[k];
        const id = raw[position] as number;
        let text = texts.get(id);
        if (text === undefined) text = await texts.load(id);
        if (text === null) continue rows;
        raw[position] = text;
      }
      for (const i of nullableSources) if (raw[i] === null) raw[i] = '';
      for (const i of flagSources) raw[i] = raw[i] === 0 ? 'false' : 'true';
      batch[count++] = raw;
    }
    if (count === 0) continue;
    batch.length = count;
    yield {
      count,
      rows: () =>
        batch.map((raw) => {
          const row = new Array<string>(width);
          for (let f = 0; f < width; f++) row[f] = String(raw[f]);
          return row;
        }),
      joined(fieldSeparator, rowSeparator, unsafe) {
        // One line per row, joined once: a flat string, cheaper to encode than one grown by `+=`.
        const lines = new Array<string>(count);
        const lastSafe = unsafeSources.map(() => '');
        for (let r = 0; r < count; r++) {
          const raw = batch[r];
          for (let u = 0; u < unsafeSources.length; u++) {
            const field = raw[unsafeSources[u]] as string;
            // Most rows repeat the previous row's user and have no comment: skip the pattern for those.
            if (field.length === 0 || field === lastSafe[u]) continue;
            if (unsafe.test(field)) return undefined;
            lastSafe[u] = field;
          }
          // Every field is text by now; `join` writes the line flat in one allocation.
          lines[r] = (raw.length === width ? raw : raw.slice(0, width)).join(fieldSeparator);
        }
        lines.push('');
        return lines.join(rowSeparator);
      },
    };
  }
}

/** Org units read per statement are chosen so that one read holds about this many rows. */
const GROUP_ROWS = 5000;
/** A read that reaches this many rows is dropped and its org units streamed instead. */
const GROUP_CAP = 4 * GROUP_ROWS;
const MAX_GROUP_UNITS = 512;
const MAX_SEEK_PERIODS = 64;

/**
 * Raw rows in primary-key order. With the org units listed (no subtree left to join), they are
 * read a few org units at a time, each group by one `queryArrays` call: about a quarter faster than
 * `streamArrays`, which crosses into SQLite once per row. The group size follows the rows per org
 * unit seen so far, and a group that would hold more than `GROUP_CAP` rows is streamed instead, so
 * memory stays bounded however the values are spread.
 */
async function* arrayBatches(
  db: SqlExecutor & { streamArrays: NonNullable<SqlExecutor['streamArrays']> },
  selection: DataValueExportSelection,
  statement: (part: DataValueExportSelection, seekPeriods: boolean) => { sql: string; params: SqlValue[] },
): AsyncIterable<unknown[][]> {
  const listed = selection.orgUnitIds ?? [];
  if (!db.queryArrays || listed.length === 0 || (selection.orgUnitPathPrefixes ?? []).length > 0) {
    const whole = statement(selection, false);
    yield* db.streamArrays(whole.sql, whole.params, CHUNK_ROWS);
    return;
  }
  // Ascending, so that groups read one after another keep the primary-key order.
  const ids = [...new Set(listed)].sort((a, b) => a - b);
  // With a few periods, SQLite seeks each (org unit, period) pair by primary key rather than
  // testing every row's period; with many, the pairs would outnumber the rows.
  const seekPeriods = selection.periodIds !== undefined && selection.periodIds.length <= MAX_SEEK_PERIODS;
  let size = 1;
  for (let start = 0; start < ids.length;) {
    const group = ids.slice(start, start + size);
    start += group.length;
    // Padded with repeats to a power of two: a handful of statement texts, each prepared once.
    while (group.length < size) group.push(group[group.length - 1]);
    const part = statement({ ...selection, orgUnitIds: group }, seekPeriods);
    const rows = await db.queryArrays(`${part.sql} LIMIT ${GROUP_CAP}`, part.params);
    if (rows.length >= GROUP_CAP) {
      yield* db.streamArrays(part.sql, part.params, CHUNK_ROWS);
    } else if (rows.length > 0) {
      yield rows;
    }
    const perUnit = Math.max(1, rows.length / size);
    // Growing by doubling at most: org units without values (upper levels) say little about the next ones.
    const fitting = 2 ** Math.max(0, Math.floor(Math.log2(GROUP_ROWS / perUnit)));
    size = Math.min(MAX_GROUP_UNITS, 2 * size, fitting);
  }
}
