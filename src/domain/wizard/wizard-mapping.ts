import { isValidUid } from '../identifiers/uid.ts';
import { isIsoPeriodType } from '../periods/periods.ts';

/**
 * An import wizard mapping: how a source's records become Ferry's data. Stored as JSON with a
 * format version, versioned on every save, exported and imported as the same JSON. Pure: parsing
 * and checking only; services/wizard resolves it against metadata and runs it.
 *
 * A field takes its value from one column, a constant, several columns joined, or one part of a
 * column split. `valueMaps` replace source values (per column) before anything else reads them:
 * the answer to "unmapped values" (`null` skips the value). An aggregate target has two layouts:
 * - `long`: a record per value, with data element, period, org unit (and combo) columns;
 * - `wide`: a record per org unit and period, with a column per data element (and option combo).
 *   An Excel fixed-layout form is a wide table whose columns are cell addresses.
 */
export const WIZARD_MAPPING_FORMAT = 1;

export type FieldSource =
  | { column: string; split?: { separator: string; part: number } }
  | { columns: string[]; separator?: string }
  | { constant: string };

export interface PeriodField {
  source: FieldSource;
  /** Derive the period of this type from a date (ISO, dd/mm/yyyy, Excel serial); absent: the value is an ISO period. */
  fromDate?: string;
}

export const ORG_UNIT_MATCHES = ['auto', 'uid', 'code', 'name', 'path'] as const;
export type OrgUnitMatch = (typeof ORG_UNIT_MATCHES)[number];

export interface OrgUnitField {
  /** For `path`, `columns` from the top (region / district / facility). */
  source: FieldSource;
  match: OrgUnitMatch;
}

export interface WideValueColumn {
  column: string;
  dataElement: string;
  categoryOptionCombo?: string;
}

export const DEDUPE_MODES = ['FILTER', 'TRACK', 'FILTER_AND_TRACK'] as const;

export interface AggregateTarget {
  kind: 'aggregate';
  layout: 'long' | 'wide';
  dataSet?: string;
  orgUnit: OrgUnitField;
  period: PeriodField;
  attributeOptionCombo?: FieldSource;
  /** long: the data element (UID, code or name; fuzzy names go through valueMaps). */
  dataElement?: FieldSource;
  categoryOptionCombo?: FieldSource;
  value?: FieldSource;
  comment?: FieldSource;
  /** wide: a column per value. */
  valueColumns?: WideValueColumn[];
  importStrategy: 'CREATE_AND_UPDATE' | 'CREATE' | 'UPDATE';
  /** Re-runs: the natural key (element, period, org unit, combos) updates; a pool filters what was imported before. */
  dedupe?: { pool: string; mode: (typeof DEDUPE_MODES)[number] };
}

export interface OrgUnitTarget {
  kind: 'organisationUnits';
  /** The unit's name, code and UID (UID optional: a stable one is derived from the path otherwise). */
  name: FieldSource;
  code?: FieldSource;
  id?: FieldSource;
  shortName?: FieldSource;
  openingDate?: FieldSource;
  /** The parent: matched like an aggregate org unit, or absent when the columns name the whole path. */
  parent?: OrgUnitField;
  /** Columns from the top of the hierarchy to the unit: every level is created as needed. */
  path?: string[];
}

export type WizardTarget = AggregateTarget | OrgUnitTarget;

export interface WizardMappingBody {
  format: number;
  name: string;
  description: string;
  source: { kind: 'csv' | 'xlsx' | 'json'; options: Record<string, unknown> };
  target: WizardTarget;
  valueMaps: Record<string, Record<string, string | null>>;
}

/** A mapping that cannot be used: names the field (a JSON path) and what is wrong. */
export class WizardMappingError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`Mapping field \`${field}\`: ${message}`);
    this.field = field;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function text(value: unknown, field: string, max = 1000): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max)
    throw new WizardMappingError(field, `must be a text of 1 to ${max} characters`);
  return value;
}

export function parseFieldSource(value: unknown, field: string): FieldSource {
  if (typeof value === 'string') return { column: text(value, field) };
  if (!isObject(value))
    throw new WizardMappingError(
      field,
      'must be {column}, {columns, separator}, {constant} or a column name',
    );
  if (value.constant !== undefined) {
    if (typeof value.constant !== 'string')
      throw new WizardMappingError(`${field}.constant`, 'must be a text');
    return { constant: value.constant };
  }
  if (value.columns !== undefined) {
    if (!Array.isArray(value.columns) || value.columns.length === 0)
      throw new WizardMappingError(`${field}.columns`, 'must be a list of column names');
    const columns = value.columns.map((c, i) => text(c, `${field}.columns[${i}]`));
    const separator = value.separator ?? ' ';
    if (typeof separator !== 'string') throw new WizardMappingError(`${field}.separator`, 'must be a text');
    return { columns, separator };
  }
  const column = text(value.column, `${field}.column`);
  if (value.split === undefined) return { column };
  if (!isObject(value.split)) throw new WizardMappingError(`${field}.split`, 'must be {separator, part}');
  const separator = text(value.split.separator, `${field}.split.separator`, 20);
  const part = value.split.part;
  if (typeof part !== 'number' || !Number.isInteger(part) || part === 0)
    throw new WizardMappingError(
      `${field}.split.part`,
      'must be a position from 1 (or from -1 for the last)',
    );
  return { column, split: { separator, part } };
}

function optionalField(value: unknown, field: string): FieldSource | undefined {
  return value === undefined || value === null ? undefined : parseFieldSource(value, field);
}

function uid(value: unknown, field: string): string {
  if (!isValidUid(value)) throw new WizardMappingError(field, 'must be a UID');
  return value;
}

function parseOrgUnitField(value: unknown, field: string): OrgUnitField {
  if (!isObject(value) || (value.source === undefined && value.match === undefined))
    return { source: parseFieldSource(value, field), match: 'auto' };
  const match = (value.match ?? 'auto') as OrgUnitMatch;
  if (!ORG_UNIT_MATCHES.includes(match))
    throw new WizardMappingError(`${field}.match`, `must be one of ${ORG_UNIT_MATCHES.join(', ')}`);
  const source = parseFieldSource(value.source, `${field}.source`);
  if (match === 'path' && !('columns' in source))
    throw new WizardMappingError(`${field}.source`, 'matching by path needs {columns: [top, ..., unit]}');
  return { source, match };
}

function parseAggregate(target: Record<string, unknown>): AggregateTarget {
  const layout = target.layout ?? 'long';
  if (layout !== 'long' && layout !== 'wide')
    throw new WizardMappingError('target.layout', 'must be long or wide');
  if (target.dataSet !== undefined) uid(target.dataSet, 'target.dataSet');
  if (target.orgUnit === undefined) throw new WizardMappingError('target.orgUnit', 'is required');
  if (target.period === undefined) throw new WizardMappingError('target.period', 'is required');
  let period: PeriodField;
  if (isObject(target.period) && target.period.source !== undefined) {
    const fromDate = target.period.fromDate;
    if (fromDate !== undefined && (typeof fromDate !== 'string' || !isIsoPeriodType(fromDate)))
      throw new WizardMappingError(
        'target.period.fromDate',
        'must be a DHIS2 period type such as Monthly, Weekly, Quarterly',
      );
    period = {
      source: parseFieldSource(target.period.source, 'target.period.source'),
      fromDate: fromDate as string | undefined,
    };
  } else {
    period = { source: parseFieldSource(target.period, 'target.period') };
  }
  const strategy = target.importStrategy ?? 'CREATE_AND_UPDATE';
  if (strategy !== 'CREATE_AND_UPDATE' && strategy !== 'CREATE' && strategy !== 'UPDATE')
    throw new WizardMappingError('target.importStrategy', 'must be CREATE_AND_UPDATE, CREATE or UPDATE');
  const out: AggregateTarget = {
    kind: 'aggregate',
    layout,
    ...(target.dataSet !== undefined ? { dataSet: target.dataSet as string } : {}),
    orgUnit: parseOrgUnitField(target.orgUnit, 'target.orgUnit'),
    period,
    importStrategy: strategy,
  };
  const aoc = optionalField(target.attributeOptionCombo, 'target.attributeOptionCombo');
  if (aoc) out.attributeOptionCombo = aoc;
  const comment = optionalField(target.comment, 'target.comment');
  if (comment) out.comment = comment;
  if (layout === 'long') {
    if (target.dataElement === undefined)
      throw new WizardMappingError('target.dataElement', 'is required for a long list');
    if (target.value === undefined)
      throw new WizardMappingError('target.value', 'is required for a long list');
    out.dataElement = parseFieldSource(target.dataElement, 'target.dataElement');
    out.value = parseFieldSource(target.value, 'target.value');
    const coc = optionalField(target.categoryOptionCombo, 'target.categoryOptionCombo');
    if (coc) out.categoryOptionCombo = coc;
  } else {
    if (!Array.isArray(target.valueColumns) || target.valueColumns.length === 0)
      throw new WizardMappingError(
        'target.valueColumns',
        'a wide table needs a list of {column, dataElement, categoryOptionCombo}',
      );
    out.valueColumns = target.valueColumns.map((v, i) => {
      const f = `target.valueColumns[${i}]`;
      if (!isObject(v)) throw new WizardMappingError(f, 'must be {column, dataElement, categoryOptionCombo}');
      return {
        column: text(v.column, `${f}.column`),
        dataElement: uid(v.dataElement, `${f}.dataElement`),
        ...(v.categoryOptionCombo !== undefined
          ? { categoryOptionCombo: uid(v.categoryOptionCombo, `${f}.categoryOptionCombo`) }
          : {}),
      };
    });
  }
  if (target.dedupe !== undefined) {
    if (!isObject(target.dedupe)) throw new WizardMappingError('target.dedupe', 'must be {pool, mode}');
    const mode = target.dedupe.mode ?? 'FILTER_AND_TRACK';
    if (!DEDUPE_MODES.includes(mode as (typeof DEDUPE_MODES)[number]))
      throw new WizardMappingError('target.dedupe.mode', `must be one of ${DEDUPE_MODES.join(', ')}`);
    out.dedupe = {
      pool: text(target.dedupe.pool, 'target.dedupe.pool'),
      mode: mode as (typeof DEDUPE_MODES)[number],
    };
  }
  return out;
}

function parseOrgUnits(target: Record<string, unknown>): OrgUnitTarget {
  const out: OrgUnitTarget = {
    kind: 'organisationUnits',
    name: parseFieldSource(target.name, 'target.name'),
  };
  for (const key of ['code', 'id', 'shortName', 'openingDate'] as const) {
    const f = optionalField(target[key], `target.${key}`);
    if (f) out[key] = f;
  }
  if (target.parent !== undefined) out.parent = parseOrgUnitField(target.parent, 'target.parent');
  if (target.path !== undefined) {
    if (!Array.isArray(target.path) || target.path.length === 0)
      throw new WizardMappingError(
        'target.path',
        'must be the columns from the top of the hierarchy to the parent',
      );
    out.path = target.path.map((c, i) => text(c, `target.path[${i}]`));
  }
  if (!out.parent && !out.path)
    throw new WizardMappingError(
      'target.parent',
      'an org unit needs a parent (matched) or a path of columns above it',
    );
  return out;
}

const SOURCE_KINDS = ['csv', 'xlsx', 'json'] as const;

/** A mapping body as sent (a POST, a file), checked; the file options stay for the source to check. */
export function parseWizardMapping(body: unknown): WizardMappingBody {
  if (!isObject(body)) throw new WizardMappingError('body', 'must be a JSON object');
  const format = body.format ?? WIZARD_MAPPING_FORMAT;
  if (format !== WIZARD_MAPPING_FORMAT)
    throw new WizardMappingError(
      'format',
      `this Ferry reads mapping format ${WIZARD_MAPPING_FORMAT}; the file has ${String(format)}`,
    );
  const name = text(typeof body.name === 'string' ? body.name.trim() : body.name, 'name', 230);
  const description = body.description ?? '';
  if (typeof description !== 'string') throw new WizardMappingError('description', 'must be a text');
  if (!isObject(body.source)) throw new WizardMappingError('source', 'must be {kind, options}');
  const kind = body.source.kind;
  if (!SOURCE_KINDS.includes(kind as (typeof SOURCE_KINDS)[number]))
    throw new WizardMappingError('source.kind', `must be one of ${SOURCE_KINDS.join(', ')}`);
  const options = body.source.options ?? {};
  if (!isObject(options)) throw new WizardMappingError('source.options', 'must be an object');
  const { file: _file, ...kept } = options;
  if (!isObject(body.target)) throw new WizardMappingError('target', 'must be an object');
  const target =
    body.target.kind === 'aggregate'
      ? parseAggregate(body.target)
      : body.target.kind === 'organisationUnits'
        ? parseOrgUnits(body.target)
        : (() => {
            throw new WizardMappingError('target.kind', 'must be aggregate or organisationUnits');
          })();
  const valueMaps: Record<string, Record<string, string | null>> = {};
  if (body.valueMaps !== undefined) {
    if (!isObject(body.valueMaps))
      throw new WizardMappingError('valueMaps', 'must be {column: {source value: target value or null}}');
    for (const [column, map] of Object.entries(body.valueMaps)) {
      if (!isObject(map))
        throw new WizardMappingError(`valueMaps.${column}`, 'must be {source value: target value or null}');
      const entries: Record<string, string | null> = {};
      for (const [from, to] of Object.entries(map)) {
        if (to !== null && typeof to !== 'string')
          throw new WizardMappingError(`valueMaps.${column}.${from}`, 'must be a text, or null to skip');
        entries[from] = to;
      }
      valueMaps[column] = entries;
    }
  }
  return {
    format: WIZARD_MAPPING_FORMAT,
    name,
    description,
    source: { kind: kind as WizardMappingBody['source']['kind'], options: kept },
    target,
    valueMaps,
  };
}

/** The columns a mapping reads, to check a source has them before anything is imported. */
export function columnsUsed(body: WizardMappingBody): string[] {
  const out = new Set<string>();
  const add = (f: FieldSource | undefined) => {
    if (!f) return;
    if ('column' in f) out.add(f.column);
    else if ('columns' in f) for (const c of f.columns) out.add(c);
  };
  const t = body.target;
  if (t.kind === 'aggregate') {
    add(t.orgUnit.source);
    add(t.period.source);
    add(t.attributeOptionCombo);
    add(t.dataElement);
    add(t.categoryOptionCombo);
    add(t.value);
    add(t.comment);
    for (const v of t.valueColumns ?? []) out.add(v.column);
  } else {
    add(t.name);
    add(t.code);
    add(t.id);
    add(t.shortName);
    add(t.openingDate);
    add(t.parent?.source);
    for (const c of t.path ?? []) out.add(c);
  }
  return [...out];
}

/** The columns a record must have a value in (the rest may be empty). */
export function mandatoryColumns(body: WizardMappingBody): string[] {
  const t = body.target;
  const columnsOf = (f: FieldSource | undefined): string[] =>
    !f ? [] : 'column' in f ? [f.column] : 'columns' in f ? f.columns : [];
  if (t.kind === 'aggregate')
    return [...columnsOf(t.orgUnit.source), ...columnsOf(t.period.source), ...columnsOf(t.dataElement)];
  return [...columnsOf(t.name)];
}

/** A field's value from a record: the column, the joined columns, a split part, or the constant. */
export function fieldValue(
  field: FieldSource,
  values: Readonly<Record<string, string | null>>,
): string | null {
  if ('constant' in field) return field.constant;
  if ('columns' in field) {
    const parts = field.columns
      .map((c) => values[c])
      .filter((v): v is string => v !== null && v !== undefined && v.trim() !== '');
    return parts.length === 0 ? null : parts.map((p) => p.trim()).join(field.separator ?? ' ');
  }
  const raw = values[field.column];
  if (raw === null || raw === undefined) return null;
  if (!field.split) return raw.trim() === '' ? null : raw.trim();
  const parts = raw.split(field.split.separator);
  const part = field.split.part > 0 ? parts[field.split.part - 1] : parts[parts.length + field.split.part];
  return part === undefined || part.trim() === '' ? null : part.trim();
}

/**
 * `2024-03-15`, `15/03/2024`, `15.03.2024`, `2024/03/15`, an ISO date-time, a month (`2024-03`, its
 * first day) or an Excel serial → `YYYY-MM-DD`.
 */
export function parseDateText(value: string): string | undefined {
  const v = value.trim();
  let m = /^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$/.exec(v);
  let y: number, mo: number, d: number;
  if (m) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if ((m = /^(\d{4})[-/.](\d{1,2})$/.exec(v))) [y, mo, d] = [Number(m[1]), Number(m[2]), 1];
  else if ((m = /^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$/.exec(v)))
    [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if (/^\d{4,6}(\.\d+)?$/.test(v)) {
    // An Excel serial number that lost its date format on the way (a CSV saved from Excel).
    const serial = Math.floor(Number(v));
    if (serial < 20_000 || serial > 80_000) return undefined;
    const ms = Date.UTC(1899, 11, 30) + serial * 86_400_000;
    return new Date(ms).toISOString().slice(0, 10);
  } else return undefined;
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d)
    return undefined;
  return date.toISOString().slice(0, 10);
}

const TRUE_WORDS = new Set(['true', 'yes', 'y', '1', 'oui', 'si', 'sim', 'ja', 'x']);
const FALSE_WORDS = new Set(['false', 'no', 'n', '0', 'non', 'nao', 'nein']);

/** A boolean as a source writes it, or undefined when it is none of the usual words. */
export function parseBooleanText(value: string): 'true' | 'false' | undefined {
  const v = value
    .trim()
    .toLowerCase()
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '');
  if (TRUE_WORDS.has(v)) return 'true';
  if (FALSE_WORDS.has(v)) return 'false';
  return undefined;
}
