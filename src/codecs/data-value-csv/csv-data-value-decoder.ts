import type { DataValueInput, DataValueItem } from '../../domain/data-values/data-value-input.ts';
import type {
  DataValueDecoder,
  DataValueDecodeInput,
  DataValueDecodeOptions,
} from '../data-value-decoder-types.ts';
import { decodeUtf8 } from '../input/utf8-text.ts';
import { sliceText } from '../data-value-text-slices.ts';
import { CsvRecordReader, isCsvProblem, type CsvEntry } from '../csv/csv-reader.ts';
import { CSV_EXPORT_FIELDS } from '../../domain/data-values/exported-data-values.ts';

type CsvProperty =
  | 'dataElement'
  | 'period'
  | 'orgUnit'
  | 'categoryOptionCombo'
  | 'attributeOptionCombo'
  | 'value'
  | 'storedBy'
  | 'lastUpdated'
  | 'comment'
  | 'followUp'
  | 'deleted'
  | 'created';

/**
 * DHIS2's column order (`CsvDataValueSetWriter.HEADER_ROW`), used when `firstRowIsHeader=false`:
 * the same columns, in the same order, as Ferry's CSV export writes.
 */
export const CSV_POSITIONAL_COLUMNS: readonly CsvProperty[] = CSV_EXPORT_FIELDS;

/**
 * Header names accepted, compared in lower case: DHIS2's export header, its 2.43 record component
 * names, and the older names of DHIS2's documentation (`catoptcombo`, `attroptcombo`, `timestamp`).
 */
const HEADER_NAMES: Readonly<Record<string, CsvProperty>> = {
  dataelement: 'dataElement',
  de: 'dataElement',
  period: 'period',
  pe: 'period',
  orgunit: 'orgUnit',
  ou: 'orgUnit',
  organisationunit: 'orgUnit',
  categoryoptioncombo: 'categoryOptionCombo',
  catoptcombo: 'categoryOptionCombo',
  coc: 'categoryOptionCombo',
  attributeoptioncombo: 'attributeOptionCombo',
  attroptcombo: 'attributeOptionCombo',
  aoc: 'attributeOptionCombo',
  value: 'value',
  storedby: 'storedBy',
  lastupdated: 'lastUpdated',
  timestamp: 'lastUpdated',
  created: 'created',
  comment: 'comment',
  followup: 'followUp',
  deleted: 'deleted',
};

/** Column index of each property, -1 when the file has no such column. */
type ColumnMap = Record<CsvProperty, number>;

function positionalMap(): ColumnMap {
  const map = emptyMap();
  CSV_POSITIONAL_COLUMNS.forEach((property, i) => (map[property] = i));
  return map;
}

function emptyMap(): ColumnMap {
  return {
    dataElement: -1,
    period: -1,
    orgUnit: -1,
    categoryOptionCombo: -1,
    attributeOptionCombo: -1,
    value: -1,
    storedBy: -1,
    lastUpdated: -1,
    comment: -1,
    followUp: -1,
    deleted: -1,
    created: -1,
  };
}

function headerProperty(raw: string): CsvProperty | undefined {
  const name = raw
    .trim()
    .replace(/^\uFEFF/, '')
    .toLowerCase();
  // Own properties only: a column named `constructor` or `__proto__` is no known column.
  return Object.hasOwn(HEADER_NAMES, name) ? HEADER_NAMES[name] : undefined;
}

/**
 * The header row's columns, or undefined when it names none Ferry knows (then DHIS2's 2.42 reading
 * applies: the row is skipped and columns are positional). A property named twice maps to its
 * first column; `repeatedColumn` tells the decoder so.
 */
export function columnMapFromHeader(header: readonly string[]): ColumnMap | undefined {
  const map = emptyMap();
  let known = 0;
  header.forEach((raw, i) => {
    const property = headerProperty(raw);
    if (property && map[property] === -1) {
      map[property] = i;
      known++;
    }
  });
  return known > 0 ? map : undefined;
}

/**
 * The first property the header names twice (`value,value`, or `de` beside `dataelement`), with
 * both columns (1-based), or undefined. Which of the two holds the data can't be known.
 */
export function repeatedColumn(
  header: readonly string[],
): { property: CsvProperty; first: number; second: number } | undefined {
  const seen = new Map<CsvProperty, number>();
  for (let i = 0; i < header.length; i++) {
    const property = headerProperty(header[i]);
    if (!property) continue;
    const first = seen.get(property);
    if (first !== undefined) return { property, first: first + 1, second: i + 1 };
    seen.set(property, i);
  }
  return undefined;
}

/**
 * Why a data row does not fit the columns, or undefined when it does: fewer fields than the header
 * has columns (or, without a header, than DHIS2's order needs up to `value`), or more, unless the
 * extra fields are all empty (a trailing comma drops nothing).
 */
function rowWidthProblem(fields: readonly string[], width: Readonly<RowWidth>): string | undefined {
  const count = fields.length;
  if (count >= width.min && count <= width.max) return undefined;
  if (count < width.min) return `${count} fields where ${width.what} ${width.min}; the row is not read`;
  for (let i = width.max; i < count; i++) {
    if (fields[i] !== '') {
      return `${count} fields where ${width.what} ${width.max}; field ${i + 1} (\`${fields[i]}\`) has no column, the row is not read`;
    }
  }
  return undefined;
}

interface RowWidth {
  min: number;
  max: number;
  /** For messages: "the header has" or "DHIS2's column order needs". */
  what: string;
}

/** The header's own width: every row has as many fields as it has columns. */
function headerWidth(header: readonly string[]): RowWidth {
  return { min: header.length, max: header.length, what: 'the header has' };
}

/** Without a header: at least up to `value` (a shorter row would read as a deletion), at most all. */
const POSITIONAL_WIDTH: RowWidth = {
  min: CSV_POSITIONAL_COLUMNS.indexOf('value') + 1,
  max: CSV_POSITIONAL_COLUMNS.length,
  what: "DHIS2's column order (no header) takes",
};

function text(fields: string[], i: number): string | undefined {
  if (i < 0 || i >= fields.length) return undefined;
  const value = fields[i];
  return value === '' ? undefined : value;
}

function toInput(fields: string[], m: ColumnMap): DataValueInput {
  const value = m.value >= 0 && m.value < fields.length ? fields[m.value] : undefined;
  return {
    dataElement: text(fields, m.dataElement),
    period: text(fields, m.period),
    orgUnit: text(fields, m.orgUnit),
    categoryOptionCombo: text(fields, m.categoryOptionCombo),
    attributeOptionCombo: text(fields, m.attributeOptionCombo),
    value: value === undefined || value === '' ? null : value,
    storedBy: text(fields, m.storedBy),
    created: text(fields, m.created),
    lastUpdated: text(fields, m.lastUpdated),
    comment: text(fields, m.comment),
    followUp: text(fields, m.followUp),
    deleted: text(fields, m.deleted),
  };
}

/**
 * Reads DHIS2 data value CSV: by header names (any order, DHIS2's names and aliases), or by DHIS2's
 * positional column order when `firstRowIsHeader=false`. Yields one array of items per chunk of
 * text. A malformed row, or one with fewer or more fields than there are columns, is an issue
 * naming its line; the rest of the file still imports. A header naming one column twice ends the
 * file with a fatal issue: which of the two holds the data can't be known.
 */
export async function* decodeDataValueCsv(
  input: DataValueDecodeInput,
  options: DataValueDecodeOptions,
): AsyncIterable<readonly DataValueItem[]> {
  const reader = new CsvRecordReader({
    maxLineChars: options.limits.maxLineBytes,
    maxFieldChars: options.limits.maxFieldChars,
  });
  let columns: ColumnMap | undefined = options.firstRowIsHeader ? undefined : positionalMap();
  let width = POSITIONAL_WIDTH;
  let stopped = false;
  let index = 0;
  const entries: CsvEntry[] = [];
  const convert = (): DataValueItem[] => {
    const items: DataValueItem[] = [];
    for (const entry of entries) {
      if (isCsvProblem(entry)) {
        items.push({
          kind: 'issue',
          position: { index: index++, line: entry.line, column: entry.column ?? entry.field },
          message: `line ${entry.line}${entry.field !== undefined ? `, field ${entry.field}` : ''}: ${entry.problem}`,
          fatal: entry.fatal,
        });
        continue;
      }
      if (!columns) {
        columns = columnMapFromHeader(entry.fields);
        if (!columns) {
          columns = positionalMap();
          continue;
        }
        const repeated = repeatedColumn(entry.fields);
        if (repeated) {
          items.push({
            kind: 'issue',
            fatal: true,
            property: repeated.property,
            message: `line ${entry.line}: the header names ${repeated.property} twice (columns ${repeated.first} and ${repeated.second}); which one holds the data is unknown, so no row is read`,
          });
          stopped = true;
          break;
        }
        width = headerWidth(entry.fields);
        continue;
      }
      const fields = entry.fields;
      if (fields.length !== width.min || width.min !== width.max) {
        const problem = rowWidthProblem(fields, width);
        if (problem) {
          items.push({
            kind: 'issue',
            position: { index: index++, line: entry.line },
            message: `line ${entry.line}: ${problem}`,
          });
          continue;
        }
      }
      items.push({
        kind: 'value',
        position: { index: index++, line: entry.line },
        value: toInput(fields, columns),
      });
    }
    entries.length = 0;
    return items;
  };
  for await (const chunk of sliceText(decodeUtf8(input.chunks, input.fileName))) {
    reader.push(chunk, entries);
    if (entries.length > 0) yield convert();
    if (stopped) return;
  }
  reader.end(entries);
  if (entries.length > 0 && !stopped) yield convert();
}

export const csvDataValueDecoder: DataValueDecoder = {
  format: 'csv',
  contentTypes: ['application/csv', 'text/csv'],
  fileExtensions: ['.csv'],
  decode: decodeDataValueCsv,
};
