import { Readable } from 'node:stream';
import type { FerryContext } from '../ferry-context-types.ts';
import {
  compressionSuffix,
  compressStream,
  EXPORT_COMPRESSIONS,
  type ExportCompression,
} from '../jobs/export-compression.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../errors.ts';
import {
  ADX_EXPORT_FIELDS,
  CSV_EXPORT_FIELDS,
  FULL_EXPORT_FIELDS,
  type ExportField,
  type ExportRowChunk,
} from '../../domain/data-values/exported-data-values.ts';
import {
  CODE_SCHEME,
  IdSchemeParseError,
  IdSchemes,
  identifierUnderScheme,
  parseIdScheme,
  type IdScheme,
  type IdentifiableKeys,
} from '../../domain/identifiers/id-scheme.ts';
import { parsePeriod } from '../../domain/periods/periods.ts';
import { toAdxPeriod } from '../../domain/periods/adx-period.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';
import {
  canDataRead,
  canDataReadOptionCombo,
  categoryOptionUidsOf,
  type SharingSubject,
} from '../../domain/access/data-sharing.ts';
import { sharingSubjectOf, type Principal } from '../../domain/access/principal.ts';
import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
} from '../../domain/category/default-category-model.ts';
import {
  MAX_IN_LIST,
  streamExportRows,
  type DataValueExportSelection,
  type ExportColumns,
  type IdentifierColumn,
} from '../../storage/data-value-export-query.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import { encodeDataValuesCsv } from '../../codecs/data-value-csv/csv-data-value-encoder.ts';
import { encodeDataValuesJson } from '../../codecs/data-value-json/json-data-value-encoder.ts';
import { encodeDataValuesXml } from '../../codecs/data-value-xml/xml-data-value-encoder.ts';
import {
  canUnfold,
  encodeAdx,
  type AdxDisaggregation,
  type AdxExportValue,
} from '../../codecs/adx/adx-encoder.ts';

export const DATA_VALUE_EXPORT_FORMATS = ['json', 'xml', 'csv', 'adx'] as const;
export type DataValueExportFormat = (typeof DATA_VALUE_EXPORT_FORMATS)[number];

const FORMAT_EXTENSIONS: Readonly<Record<DataValueExportFormat, string>> = {
  json: '.json',
  xml: '.xml',
  csv: '.csv',
  adx: '.adx.xml',
};
const FORMAT_CONTENT_TYPES: Readonly<Record<DataValueExportFormat, string>> = {
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  csv: 'application/csv; charset=utf-8',
  adx: 'application/adx+xml; charset=utf-8',
};

/** A parsed, validated `GET /api/dataValueSets` request (DHIS2's DataExportParams). */
export interface DataValueExportRequest {
  format: DataValueExportFormat;
  compression: ExportCompression;
  /** File name asked for; a non-blank value makes the response an attachment. */
  attachment?: string;
  dataSets: string[];
  dataElements: string[];
  dataElementGroups: string[];
  periods: string[];
  startDate?: string;
  endDate?: string;
  orgUnits: string[];
  children: boolean;
  orgUnitGroups: string[];
  attributeOptionCombos: string[];
  /** Values changed at or after this instant (from lastUpdated or lastUpdatedDuration). */
  lastUpdatedSince?: string;
  includeDeleted: boolean;
  limit?: number;
  /** How identifiers are written. */
  outputSchemes: IdSchemes;
  /** How the identifiers in the request are read (UID with a code fallback unless set). */
  inputSchemes: IdSchemes;
  /**
   * CSV only (`escapeFormulas=true`): text a spreadsheet would run as a formula gets a leading `'`,
   * for a file meant for a spreadsheet. Off by default, so an exchange file re-imports exactly.
   */
  escapeFormulas: boolean;
}

export type RawQuery = Record<string, unknown>;

/**
 * Who is exporting: only what the view scope and data sharing allow leaves. Each part undefined:
 * the operator (CLI) or a superuser, no limit.
 */
export interface DataValueExportScope {
  viewOrgUnitUids?: readonly string[];
  /** Data sets and attribute option combos must be data-readable by this subject (E2010, E2011). */
  sharing?: SharingSubject;
}

/** The scope of a signed-in user's export; none for a superuser (ALL) or the operator (no principal). */
export function dataValueExportScope(principal: Principal | undefined): DataValueExportScope {
  if (!principal || principal.authorities.has('ALL')) return {};
  return { viewOrgUnitUids: principal.viewOrgUnits, sharing: sharingSubjectOf(principal) };
}

export interface DataValueExportOptions {
  /**
   * Told the number of values written so far each time the encoder emits a batch of them (a chunk
   * of rows read, thousands of values; not once per value), as the body is read. The last call
   * gives the total; there is none when no value is written. Compression does not change the count.
   */
  onProgress?: (valuesWritten: number) => void;
}

export interface DataValueExport {
  fileName: string;
  contentType: string;
  /** Whether to send Content-Disposition: attachment (a name was asked for, or the body is compressed). */
  attachment: boolean;
  body: Readable;
}

function list(query: RawQuery, name: string): string[] {
  const raw = query[name];
  const values = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  // DHIS2 accepts repeats and comma-separated lists alike.
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function single(query: RawQuery, name: string): string | undefined {
  const values = list(query, name);
  return values.length > 0 ? values[values.length - 1] : undefined;
}

function scheme(query: RawQuery, name: string): IdScheme | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  try {
    return parseIdScheme(text);
  } catch (error) {
    if (error instanceof IdSchemeParseError) {
      throw new FerryError('F1000', [name, text, 'UID, CODE, NAME, ATTRIBUTE:<uid>']);
    }
    throw error;
  }
}

const DAY = /^\d{4}-\d{2}-\d{2}/;

function dayParameter(query: RawQuery, name: string): string | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  if (!DAY.test(text) || Number.isNaN(Date.parse(text.slice(0, 10)))) {
    throw new FerryError('F1000', [name, text, 'a date, YYYY-MM-DD']);
  }
  return text.slice(0, 10);
}

const DURATION = /^(\d+)([dhms])$/;
const DURATION_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

/**
 * Parses and validates DHIS2's export parameters, with DHIS2's request errors E2001–E2009 and E2013.
 * `pathFormat`/`pathCompression` come from the URL suffix (`.csv.gz`) and win over `format` and
 * `compression` parameters, as DHIS2's media-type mapping does.
 */
export function parseDataValueExportRequest(
  query: RawQuery,
  from: { format?: DataValueExportFormat; compression?: ExportCompression; now?: Date } = {},
): DataValueExportRequest {
  const formatParam = single(query, 'format')?.replace(/^adx\+xml$/i, 'adx');
  const format = from.format ?? parseEnumParameter('format', formatParam, DATA_VALUE_EXPORT_FORMATS, 'json');
  const compression =
    from.compression ??
    parseEnumParameter('compression', single(query, 'compression'), EXPORT_COMPRESSIONS, 'none');
  const request: DataValueExportRequest = {
    format,
    compression,
    attachment: single(query, 'attachment'),
    dataSets: list(query, 'dataSet'),
    dataElements: list(query, 'dataElement'),
    dataElementGroups: list(query, 'dataElementGroup'),
    periods: list(query, 'period'),
    startDate: dayParameter(query, 'startDate'),
    endDate: dayParameter(query, 'endDate'),
    orgUnits: list(query, 'orgUnit'),
    children: parseBooleanParameter('children', single(query, 'children')),
    orgUnitGroups: list(query, 'orgUnitGroup'),
    attributeOptionCombos: list(query, 'attributeOptionCombo'),
    includeDeleted: parseBooleanParameter('includeDeleted', single(query, 'includeDeleted')),
    escapeFormulas: parseBooleanParameter('escapeFormulas', single(query, 'escapeFormulas')),
    outputSchemes: new IdSchemes(scheme(query, 'idScheme') ?? (format === 'adx' ? CODE_SCHEME : undefined), {
      dataElement: scheme(query, 'dataElementIdScheme'),
      orgUnit: scheme(query, 'orgUnitIdScheme'),
      categoryOptionCombo: scheme(query, 'categoryOptionComboIdScheme'),
      attributeOptionCombo: scheme(query, 'attributeOptionComboIdScheme'),
      dataSet: scheme(query, 'dataSetIdScheme'),
      category: scheme(query, 'categoryIdScheme'),
      categoryOption: scheme(query, 'categoryOptionIdScheme'),
    }),
    inputSchemes: new IdSchemes(scheme(query, 'inputIdScheme'), {
      dataSet: scheme(query, 'inputDataSetIdScheme'),
      dataElement: scheme(query, 'inputDataElementIdScheme'),
      dataElementGroup: scheme(query, 'inputDataElementGroupIdScheme'),
      orgUnit: scheme(query, 'inputOrgUnitIdScheme'),
    }),
  };
  const lastUpdated = single(query, 'lastUpdated');
  const lastUpdatedDuration = single(query, 'lastUpdatedDuration');
  if (lastUpdated !== undefined) {
    const time = Date.parse(lastUpdated);
    if (Number.isNaN(time))
      throw new FerryError('F1000', ['lastUpdated', lastUpdated, 'a date or timestamp']);
    request.lastUpdatedSince = new Date(time).toISOString();
  } else if (lastUpdatedDuration !== undefined) {
    const match = DURATION.exec(lastUpdatedDuration);
    if (!match) throw new FerryError('E2005', [lastUpdatedDuration]);
    const now = from.now ?? new Date();
    request.lastUpdatedSince = new Date(
      now.getTime() - Number(match[1]) * DURATION_MS[match[2]],
    ).toISOString();
  }
  const limit = single(query, 'limit');
  if (limit !== undefined) {
    if (!/^-?\d+$/.test(limit)) throw new FerryError('F1000', ['limit', limit, 'a whole number']);
    if (Number(limit) < 0) throw new FerryError('E2009', [limit]);
    request.limit = Number(limit);
  }

  if (format === 'adx' && request.dataSets.length === 0) throw new FerryError('E2013');
  if (
    request.dataSets.length === 0 &&
    request.dataElements.length === 0 &&
    request.dataElementGroups.length === 0
  ) {
    throw new FerryError('E2001');
  }
  const hasDates = request.startDate !== undefined || request.endDate !== undefined;
  if (request.periods.length === 0 && !(request.startDate && request.endDate) && !request.lastUpdatedSince) {
    throw new FerryError('E2002');
  }
  if (request.periods.length > 0 && hasDates) throw new FerryError('E2003');
  if (request.startDate && request.endDate && request.startDate > request.endDate) {
    throw new FerryError('E2004');
  }
  if (request.orgUnits.length === 0 && request.orgUnitGroups.length === 0) throw new FerryError('E2006');
  if (request.children && request.orgUnitGroups.length > 0) throw new FerryError('E2007');
  if (request.children && request.orgUnits.length === 0) throw new FerryError('E2008');
  return request;
}

/** DHIS2's file name: `<attachment or dataValues>[_<start>_<end>]<.fmt><.gz|.zip>`. */
export function exportFileName(request: DataValueExportRequest): string {
  let name = request.attachment?.trim() || 'dataValues';
  // As DHIS2 2.43 does, a suffix already on the attachment is not doubled.
  name = name.replace(/\.(gz|zip)$/i, '').replace(/\.(adx\.xml|json|xml|csv)$/i, '');
  if (request.startDate && request.endDate) name += `_${request.startDate}_${request.endDate}`;
  return `${name}${FORMAT_EXTENSIONS[request.format]}${compressionSuffix(request.compression)}`;
}

interface Resolved {
  selection: DataValueExportSelection;
  /** Data element UID → the requested data sets holding it, in request order (ADX groups by data set). */
  dataSetsOfElement: Map<string, MetadataObject[]>;
}

function identifierColumn(s: IdScheme): IdentifierColumn {
  return s.kind === 'CODE' ? 'code' : s.kind === 'NAME' ? 'name' : 'uid';
}

/**
 * Finds objects named in the request: by the input scheme; under UID (the default) an identifier
 * that matches no UID is tried as a code, as DHIS2 2.43's `inputUseCodeFallback` does. An identifier
 * that names nothing is a 409 naming the parameter.
 */
async function findAll(
  context: FerryContext,
  collection: string,
  parameter: string,
  identifiers: readonly string[],
  s: IdScheme,
): Promise<Array<{ sid: number; object: MetadataObject }>> {
  if (identifiers.length === 0) return [];
  const column = s.kind === 'CODE' ? 'code' : s.kind === 'NAME' ? 'name' : 'uid';
  if (s.kind === 'ATTRIBUTE') {
    throw new FerryError('F1000', [`input scheme for ${parameter}`, 'ATTRIBUTE', 'UID, CODE, NAME']);
  }
  const found = await context.metadata.findBy(collection, column, identifiers);
  const matched = new Set(found.map((f) => identifierUnderScheme(f.object as IdentifiableKeys, s)));
  let missing = identifiers.filter((id) => !matched.has(id));
  if (missing.length > 0 && column === 'uid') {
    const byCode = await context.metadata.findBy(collection, 'code', missing);
    found.push(...byCode);
    const codes = new Set(byCode.map((f) => f.object.code));
    missing = missing.filter((id) => !codes.has(id));
  }
  if (missing.length > 0) {
    throw new FerryError('F1300', [`${parameter} \`${missing[0]}\` does not exist`]);
  }
  return found;
}

function referenceIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    const id = (item as { id?: unknown } | null)?.id;
    return typeof id === 'string' ? [id] : [];
  });
}

/** The request resolved to surrogate ids, under the scope's view and sharing rules (E2010-E2012). */
export async function resolveSelection(
  context: FerryContext,
  request: DataValueExportRequest,
  scope: DataValueExportScope,
): Promise<Resolved> {
  const input = request.inputSchemes;
  const dataSets = await findAll(
    context,
    'dataSets',
    'dataSet',
    request.dataSets,
    input.schemeFor('dataSet'),
  );
  const sharing = scope.sharing?.superuser ? undefined : scope.sharing;
  // DHIS2's order (decideAccess): data sets (E2010), attribute option combos (E2011), org units (E2012).
  for (const { object } of dataSets) {
    if (sharing && !canDataRead(object, sharing)) throw new FerryError('E2010', [object.id]);
  }
  const combos = await findAll(
    context,
    'categoryOptionCombos',
    'attributeOptionCombo',
    request.attributeOptionCombos,
    input.schemeFor('attributeOptionCombo'),
  );
  if (sharing && combos.length > 0) {
    const optionUids = [...new Set(combos.flatMap(({ object }) => categoryOptionUidsOf(object)))];
    const options = new Map(
      (await context.metadata.findBy('categoryOptions', 'uid', optionUids)).map((o) => [
        o.object.id,
        o.object,
      ]),
    );
    for (const { object } of combos) {
      if (!canDataReadOptionCombo(object, (uid) => options.get(uid), sharing)) {
        throw new FerryError('E2011', [object.id]);
      }
    }
  }
  const elementUids = new Set<string>();
  const dataSetsOfElement = new Map<string, MetadataObject[]>();
  for (const { object } of dataSets) {
    for (const dse of Array.isArray(object.dataSetElements) ? object.dataSetElements : []) {
      const id = (dse as { dataElement?: { id?: unknown } }).dataElement?.id;
      if (typeof id !== 'string') continue;
      elementUids.add(id);
      const holders = dataSetsOfElement.get(id);
      if (!holders) dataSetsOfElement.set(id, [object]);
      else if (!holders.includes(object)) holders.push(object);
    }
  }
  const groups = await findAll(
    context,
    'dataElementGroups',
    'dataElementGroup',
    request.dataElementGroups,
    input.schemeFor('dataElementGroup'),
  );
  for (const { object } of groups) for (const id of referenceIds(object.dataElements)) elementUids.add(id);
  const elements = await findAll(
    context,
    'dataElements',
    'dataElement',
    request.dataElements,
    input.schemeFor('dataElement'),
  );
  for (const { object } of elements) elementUids.add(object.id);
  const dataElementIds = [...(await context.metadata.sids('dataElements', [...elementUids])).values()];

  const view = scope.viewOrgUnitUids;
  const orgUnits = await findAll(
    context,
    'organisationUnits',
    'orgUnit',
    request.orgUnits,
    input.schemeFor('orgUnit'),
  );
  const orgUnitIds: number[] = [];
  const orgUnitPathPrefixes: string[] = [];
  for (const { sid, object } of orgUnits) {
    const path = typeof object.path === 'string' ? object.path : `/${object.id}`;
    if (view && !isInScope(path, view)) throw new FerryError('E2012', [object.id]);
    if (request.children) orgUnitPathPrefixes.push(path);
    else orgUnitIds.push(sid);
  }
  const orgUnitGroups = await findAll(
    context,
    'organisationUnitGroups',
    'orgUnitGroup',
    request.orgUnitGroups,
    input.schemeFor('orgUnitGroup'),
  );
  const memberUids = orgUnitGroups.flatMap(({ object }) => referenceIds(object.organisationUnits));
  if (memberUids.length > 0) {
    for (const { sid, object } of await context.metadata.findBy('organisationUnits', 'uid', memberUids)) {
      // Group members outside the view scope are left out, not refused: the group is not the user's choice of units.
      const path = typeof object.path === 'string' ? object.path : `/${object.id}`;
      if (!view || isInScope(path, view)) orgUnitIds.push(sid);
    }
  }

  const selection: DataValueExportSelection = {
    dataElementIds,
    orgUnitIds,
    orgUnitPathPrefixes,
    includeDeleted: request.includeDeleted,
    lastUpdatedSince: request.lastUpdatedSince,
    startDate: request.startDate,
    endDate: request.endDate,
  };
  if (request.periods.length > 0) {
    const isos = request.periods.map((text) => {
      const period = parsePeriod(text);
      if (!period)
        throw new FerryError('F1000', ['period', text, 'ISO periods such as 202401, 2024Q1, 2024W5']);
      return period.iso;
    });
    const rows = await context.storage.query<{ period_id: number }>(
      `SELECT period_id FROM period WHERE iso IN (${isos.map(() => '?').join(', ')})`,
      isos,
    );
    selection.periodIds = rows.map((r) => Number(r.period_id));
  }
  if (request.attributeOptionCombos.length > 0) {
    selection.attributeOptionComboIds = combos.map((c) => c.sid);
  } else if (sharing) {
    // As DHIS2 2.43 does: without explicit combos, values whose combo the user may not read are left
    // out rather than refused. Worked out once per request, over category options and their combos.
    const unreadable = await unreadableAttributeOptionCombos(context, sharing);
    if (unreadable.length > MAX_IN_LIST) {
      const readable = await readableOptionComboIds(context, unreadable);
      if (readable.length > MAX_IN_LIST) {
        throw new FerryError('F1300', [
          `${unreadable.length} attribute option combos are not data-readable by this user; name the ones to export with attributeOptionCombo`,
        ]);
      }
      selection.attributeOptionComboIds = readable;
    } else if (unreadable.length > 0) {
      selection.excludedAttributeOptionComboIds = unreadable;
    }
  }
  return { selection, dataSetsOfElement };
}

/**
 * Surrogate ids of the option combos holding a category option the subject may not data-read: the
 * options are read once, and only the closed ones are looked up in `metadata_reference`. Usually
 * none are closed, and the export's query is then the same as a superuser's.
 */
async function unreadableAttributeOptionCombos(
  context: FerryContext,
  subject: SharingSubject,
): Promise<number[]> {
  const closed: string[] = [];
  for await (const batch of context.metadata.stream('categoryOptions')) {
    for (const { object } of batch) if (!canDataRead(object, subject)) closed.push(object.id);
  }
  const out = new Set<number>();
  for (let i = 0; i < closed.length; i += 500) {
    const chunk = closed.slice(i, i + 500);
    const rows = await context.storage.query<{ sid: number; uid: string }>(
      `SELECT DISTINCT o.sid AS sid, o.uid AS uid
         FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
        WHERE r.target_type = 'categoryOptions' AND r.property = 'categoryOptions'
          AND o.type = 'categoryOptionCombos' AND r.target_uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) if (row.uid !== DEFAULT_CATEGORY_OPTION_COMBO_UID) out.add(Number(row.sid));
  }
  return [...out].sort((a, b) => a - b);
}

/** Every option combo's surrogate id except `unreadable`'s: the smaller list when most are closed. */
async function readableOptionComboIds(
  context: FerryContext,
  unreadable: readonly number[],
): Promise<number[]> {
  const closed = new Set(unreadable);
  const rows = await context.storage.query<{ sid: number }>(
    `SELECT sid FROM metadata_object WHERE type = 'categoryOptionCombos' ORDER BY sid`,
  );
  return rows.map((r) => Number(r.sid)).filter((sid) => !closed.has(sid));
}

/** Identifier maps for ATTRIBUTE schemes, which SQL can't read from the stored columns: uid → value. */
async function attributeMap(
  context: FerryContext,
  collection: string,
  s: IdScheme,
): Promise<Map<string, string> | undefined> {
  if (s.kind !== 'ATTRIBUTE') return undefined;
  const map = new Map<string, string>();
  for await (const batch of context.metadata.stream(collection)) {
    for (const { object } of batch) {
      const value = identifierUnderScheme(object as IdentifiableKeys, s);
      if (value !== undefined) map.set(object.id, value);
    }
  }
  return map;
}

/** Stops after `limit` rows (DHIS2's `limit`), and maps ATTRIBUTE-scheme identifiers. */
async function* adjustRows(
  chunks: AsyncIterable<ExportRowChunk>,
  limit: number | undefined,
  mappers: ReadonlyArray<readonly [index: number, map: Map<string, string>]>,
): AsyncIterable<ExportRowChunk> {
  let remaining = limit ?? Number.POSITIVE_INFINITY;
  for await (const chunk of chunks) {
    if (remaining <= 0) return;
    if (mappers.length === 0 && chunk.count <= remaining) {
      remaining -= chunk.count;
      yield chunk;
      continue;
    }
    let rows = chunk.rows();
    if (rows.length > remaining) rows = rows.slice(0, remaining);
    remaining -= rows.length;
    for (const row of rows) {
      for (const [index, map] of mappers) row[index] = map.get(row[index]) ?? row[index];
    }
    yield { count: rows.length, rows: () => rows };
  }
}

function objectIdentifier(object: MetadataObject, s: IdScheme): string {
  return identifierUnderScheme(object as IdentifiableKeys, s) ?? object.id;
}

/**
 * How each option combo is written in ADX: category → option pairs in the combo's category order,
 * under the category and category option schemes; the default combo has none. When a category has
 * no identifier usable as an XML attribute name, the combo is written whole instead.
 */
async function adxDisaggregations(
  context: FerryContext,
  schemes: IdSchemes,
): Promise<{ disaggregations: Map<string, AdxDisaggregation>; categoryComboOf: Map<string, string> }> {
  const load = async (collection: string): Promise<Map<string, MetadataObject>> => {
    const map = new Map<string, MetadataObject>();
    for await (const batch of context.metadata.stream(collection)) {
      for (const { object } of batch) map.set(object.id, object);
    }
    return map;
  };
  const [combos, categoryCombos, categories, options] = [
    await load('categoryOptionCombos'),
    await load('categoryCombos'),
    await load('categories'),
    await load('categoryOptions'),
  ];
  const categoryScheme = schemes.schemeFor('category');
  const optionScheme = schemes.schemeFor('categoryOption');
  const out = new Map<string, AdxDisaggregation>();
  const categoryComboOf = new Map<string, string>();
  for (const combo of combos.values()) {
    const asCombo: AdxDisaggregation = {
      kind: 'combo',
      id: objectIdentifier(combo, schemes.schemeFor('categoryOptionCombo')),
    };
    const categoryComboId = (combo.categoryCombo as { id?: string } | undefined)?.id;
    if (categoryComboId) categoryComboOf.set(combo.id, categoryComboId);
    if (categoryComboId === DEFAULT_CATEGORY_COMBO_UID) {
      out.set(combo.id, { kind: 'options', pairs: [] });
      continue;
    }
    const categoryCombo = categoryComboId ? categoryCombos.get(categoryComboId) : undefined;
    const optionIds = new Set(referenceIds(combo.categoryOptions));
    const pairs: Array<readonly [string, string]> = [];
    let complete = categoryCombo !== undefined;
    for (const categoryId of referenceIds(categoryCombo?.categories)) {
      const category = categories.get(categoryId);
      const optionId = referenceIds(category?.categoryOptions).find((id) => optionIds.has(id));
      const option = optionId ? options.get(optionId) : undefined;
      const categoryName = category
        ? identifierUnderScheme(category as IdentifiableKeys, categoryScheme)
        : undefined;
      if (!option || categoryName === undefined) {
        complete = false;
        break;
      }
      pairs.push([categoryName, objectIdentifier(option, optionScheme)]);
    }
    out.set(combo.id, complete && canUnfold(pairs.map((p) => p[0])) ? { kind: 'options', pairs } : asCombo);
  }
  return { disaggregations: out, categoryComboOf };
}

/**
 * ADX values from rows with uid option combos: each (org unit, period) block, which the key order
 * keeps together, is sorted by data set and attribute options so every ADX group is written once.
 */
async function* adxValues(
  chunks: AsyncIterable<ExportRowChunk>,
  dataElementIdentifiers: Map<string, string>,
  dataSetFor: (dataElementUid: string, periodIso: string, attributeOptionComboUid: string) => string,
  disaggregations: Map<string, AdxDisaggregation>,
): AsyncIterable<AdxExportValue[]> {
  const adxPeriods = new Map<string, string>();
  const adxPeriod = (iso: string): string => {
    let text = adxPeriods.get(iso);
    if (text === undefined) {
      const period = parsePeriod(iso);
      text = period ? toAdxPeriod(period) : iso;
      adxPeriods.set(iso, text);
    }
    return text;
  };
  const disaggregation = (uid: string): AdxDisaggregation =>
    disaggregations.get(uid) ?? { kind: 'combo', id: uid };
  const attributeKey = (d: AdxDisaggregation): string =>
    d.kind === 'combo' ? `#${d.id}` : d.pairs.map((p) => p.join('=')).join('|');
  let block: AdxExportValue[] = [];
  let blockKey = '';
  const flush = (): AdxExportValue[] => {
    const done = block
      .map((v, i) => ({ v, i, k: `${v.dataSet}\u0000${attributeKey(v.attribute)}` }))
      .sort((x, y) => (x.k < y.k ? -1 : x.k > y.k ? 1 : x.i - y.i))
      .map((x) => x.v);
    block = [];
    return done;
  };
  // Fields: dataElement(uid), period, orgUnit, coc(uid), aoc(uid), value, comment, followUp, deleted.
  for await (const chunk of chunks) {
    const out: AdxExportValue[] = [];
    for (const r of chunk.rows()) {
      const key = `${r[2]}\u0000${r[1]}`;
      if (key !== blockKey && block.length > 0) out.push(...flush());
      blockKey = key;
      block.push({
        dataSet: dataSetFor(r[0], r[1], r[4]),
        orgUnit: r[2],
        period: adxPeriod(r[1]),
        attribute: disaggregation(r[4]),
        dataElement: dataElementIdentifiers.get(r[0]) ?? r[0],
        disaggregation: disaggregation(r[3]),
        value: r[5],
        comment: r[6],
        followUp: r[7] === 'true',
        deleted: r[8] === 'true',
      });
    }
    if (out.length > 0) yield out;
  }
  if (block.length > 0) yield flush();
}

async function* utf8(strings: AsyncIterable<string>): AsyncIterable<Buffer> {
  for await (const text of strings) yield Buffer.from(text, 'utf8');
}

/**
 * Starts an export: validates and resolves the request (errors are thrown before any byte is
 * written, so the HTTP layer can still answer 409), then returns a byte stream that reads the
 * database as it is consumed: a cursor → encoder → gzip/zip pipeline with backpressure, so memory
 * stays flat however many values there are.
 */
export async function exportDataValues(
  context: FerryContext,
  request: DataValueExportRequest,
  scope: DataValueExportScope = {},
  options: DataValueExportOptions = {},
): Promise<DataValueExport> {
  const { selection, dataSetsOfElement } = await resolveSelection(context, request, scope);
  const schemes = request.outputSchemes;
  const isAdx = request.format === 'adx';
  const fields: readonly ExportField[] = isAdx
    ? ADX_EXPORT_FIELDS
    : request.format === 'csv'
      ? CSV_EXPORT_FIELDS
      : FULL_EXPORT_FIELDS;
  const columns: ExportColumns = {
    fields,
    dataElement: isAdx ? 'uid' : identifierColumn(schemes.schemeFor('dataElement')),
    orgUnit: identifierColumn(schemes.schemeFor('orgUnit')),
    categoryOptionCombo: isAdx ? 'uid' : identifierColumn(schemes.schemeFor('categoryOptionCombo')),
    attributeOptionCombo: isAdx ? 'uid' : identifierColumn(schemes.schemeFor('attributeOptionCombo')),
  };
  const mappers: Array<readonly [number, Map<string, string>]> = [];
  const addMapper = async (field: ExportField, collection: string, typeKey: string): Promise<void> => {
    const map = await attributeMap(context, collection, schemes.schemeFor(typeKey));
    if (map) mappers.push([fields.indexOf(field), map]);
  };
  await addMapper('orgUnit', 'organisationUnits', 'orgUnit');
  if (!isAdx) {
    await addMapper('dataElement', 'dataElements', 'dataElement');
    await addMapper('categoryOptionCombo', 'categoryOptionCombos', 'categoryOptionCombo');
    await addMapper('attributeOptionCombo', 'categoryOptionCombos', 'attributeOptionCombo');
  }
  const rows = adjustRows(streamExportRows(context.storage, selection, columns), request.limit, mappers);
  const { onProgress } = options;
  let written = 0;
  const onValues = onProgress
    ? (count: number): void => {
        written += count;
        onProgress(written);
      }
    : undefined;

  let text: AsyncIterable<string>;
  switch (request.format) {
    case 'csv':
      text = encodeDataValuesCsv(rows, onValues, { escapeFormulas: request.escapeFormulas });
      break;
    case 'json':
      text = encodeDataValuesJson(rows, onValues);
      break;
    case 'xml':
      text = encodeDataValuesXml(rows, onValues);
      break;
    case 'adx': {
      const elementIdentifiers = new Map<string, string>();
      const elementObjects = await context.metadata.findBy('dataElements', 'uid', [
        ...dataSetsOfElement.keys(),
      ]);
      for (const { object } of elementObjects) {
        elementIdentifiers.set(object.id, objectIdentifier(object, schemes.schemeFor('dataElement')));
      }
      const { disaggregations, categoryComboOf } = await adxDisaggregations(context, schemes);
      // A value belongs to the requested data set that holds its element, has its period type and
      // its attribute combo; the first one holding the element when none matches all three.
      const chosen = new Map<string, string>();
      const dataSetFor = (element: string, iso: string, aoc: string): string => {
        const key = `${element}|${iso}|${aoc}`;
        let id = chosen.get(key);
        if (id === undefined) {
          const holders = dataSetsOfElement.get(element) ?? [];
          const periodType = parsePeriod(iso)?.type;
          const aocCombo = categoryComboOf.get(aoc);
          const fits = (ds: MetadataObject): boolean =>
            ds.periodType === periodType &&
            ((ds.categoryCombo as { id?: string } | undefined)?.id ?? DEFAULT_CATEGORY_COMBO_UID) ===
              aocCombo;
          const dataSet =
            holders.find(fits) ?? holders.find((ds) => ds.periodType === periodType) ?? holders[0];
          id = dataSet ? objectIdentifier(dataSet, schemes.schemeFor('dataSet')) : '';
          if (chosen.size < 100_000) chosen.set(key, id);
        }
        return id;
      };
      text = encodeAdx(
        adxValues(rows, elementIdentifiers, dataSetFor, disaggregations),
        new Date().toISOString(),
        onValues,
      );
      break;
    }
  }
  const fileName = exportFileName(request);
  const source = Readable.from(utf8(text), { objectMode: false, highWaterMark: 256 * 1024 });
  const attachment = request.compression !== 'none' || Boolean(request.attachment?.trim());
  // Level 3: ~3x faster than the default 6 for ~15% more bytes (perf.md B5); exports are
  // usually written once and carried on a USB key or a slow link either way.
  const body = compressStream(source, request.compression, fileName.replace(/\.zip$/, ''), {
    level: 3,
    chunkSize: 128 * 1024,
  });
  const contentType =
    request.compression === 'gzip'
      ? 'application/gzip'
      : request.compression === 'zip'
        ? 'application/zip'
        : FORMAT_CONTENT_TYPES[request.format];
  return { fileName, contentType, attachment, body };
}
