import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { ZipWriter } from '@zip.js/zip.js';
import type { FerryContext } from '../ferry-context-types.ts';
import { FerryError } from '../../errors.ts';
import type { Principal } from '../../domain/access/principal.ts';
import {
  analysisKindOf,
  booleanCodes,
  type AnalysisVariable,
} from '../../domain/analysis/analysis-variables.ts';
import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
} from '../../domain/category/default-category-model.ts';
import { parsePeriod } from '../../domain/periods/periods.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import {
  dataValueExportScope,
  parseDataValueExportRequest,
  type DataValueExportRequest,
} from '../data-values/data-value-export-service.ts';
import { writeText } from '../jobs/job-helpers.ts';
import type { ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';
import { streamDataValueRows } from './analysis-value-reader.ts';
import { AnalysisSpool, type SpooledRow } from './analysis-table.ts';
import { analysisFile, ANALYSIS_FORMATS, type AnalysisFormat } from './analysis-file-writers.ts';
import {
  ANALYSIS_EXTRA_PARAMETERS,
  describeAnalysisExtras,
  parseAnalysisExtras,
  refuseBinaryExtra,
  type AnalysisExtras,
} from './analysis-extras.ts';
import { addAnalysisMetadata, metadataFileOf } from './analysis-metadata.ts';
import { aggregateParadata, PARADATA_COLUMNS, PARADATA_FILE } from './analysis-paradata.ts';

export { ANALYSIS_FORMATS, type AnalysisFormat };

/** Wide: a row per org unit, period and attribute option combo. Long: a row per data value. */
export const ANALYSIS_LAYOUTS = ['wide', 'long'] as const;
export type AnalysisLayout = (typeof ANALYSIS_LAYOUTS)[number];

export interface AnalysisExportRequest {
  format: AnalysisFormat;
  layout: AnalysisLayout;
  dataSets: string[];
  orgUnits: string[];
  periods: string[];
  startDate?: string;
  endDate?: string;
  /** DHIS2's data value export request behind it (org units always with their descendants). */
  values: DataValueExportRequest;
  /** Metadata, paradata (analysis-extras.ts); none when absent. */
  extras?: AnalysisExtras;
}

function list(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/**
 * The parameters of an analysis export (`dataSet`, `orgUnit`, `period` or `startDate`/`endDate`,
 * `layout`), checked with the data value export's own rules and errors (E2001-E2008).
 */
export function parseAnalysisExportRequest(
  params: Record<string, unknown>,
  format: string,
): AnalysisExportRequest {
  if (!(ANALYSIS_FORMATS as readonly string[]).includes(format))
    throw new FerryError('F1000', ['format', format, ANALYSIS_FORMATS.join(', ')]);
  const layout = list(params.layout)[0] ?? 'wide';
  if (!(ANALYSIS_LAYOUTS as readonly string[]).includes(layout))
    throw new FerryError('F1000', ['layout', layout, ANALYSIS_LAYOUTS.join(', ')]);
  const known = [
    'dataSet',
    'orgUnit',
    'period',
    'startDate',
    'endDate',
    'layout',
    ...ANALYSIS_EXTRA_PARAMETERS,
  ];
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) throw new FerryError('F1000', [key, String(params[key]), known.join(', ')]);
  }
  const extras = parseAnalysisExtras(params);
  refuseBinaryExtra(extras, 'data sets');
  if (list(params.dataSet).length === 0) throw new FerryError('F1004', ['dataSet']);
  const values = parseDataValueExportRequest(
    {
      dataSet: list(params.dataSet),
      orgUnit: list(params.orgUnit),
      period: list(params.period),
      ...(params.startDate !== undefined ? { startDate: params.startDate } : {}),
      ...(params.endDate !== undefined ? { endDate: params.endDate } : {}),
      children: 'true',
    },
    { format: 'csv', compression: 'none' },
  );
  return {
    format: format as AnalysisFormat,
    layout: layout as AnalysisLayout,
    dataSets: values.dataSets,
    orgUnits: values.orgUnits,
    periods: values.periods,
    ...(values.startDate ? { startDate: values.startDate } : {}),
    ...(values.endDate ? { endDate: values.endDate } : {}),
    values,
    extras,
  };
}

/** Card and readme text: "Data set X; org units A with descendants; periods 2024 (wide, Stata)". */
export function describeAnalysisExport(request: Omit<AnalysisExportRequest, 'values'>): string {
  const parts = [
    `data set${request.dataSets.length > 1 ? 's' : ''} ${request.dataSets.join(', ')}`,
    `org unit${request.orgUnits.length > 1 ? 's' : ''} ${request.orgUnits.join(', ')} with descendants`,
  ];
  if (request.periods.length > 0)
    parts.push(`period${request.periods.length > 1 ? 's' : ''} ${request.periods.join(', ')}`);
  if (request.startDate && request.endDate)
    parts.push(`periods from ${request.startDate} to ${request.endDate}`);
  return `Analysis file of ${parts.join('; ')}${request.extras ? describeAnalysisExtras(request.extras) : ''} (${request.layout}, ${FORMAT_NAMES[request.format]})`;
}

const FORMAT_NAMES: Record<AnalysisFormat, string> = {
  tab: 'tab-separated',
  csv: 'CSV',
  stata: 'Stata 14+ (.dta format 118)',
  spss: 'SPSS (.sav)',
  parquet: 'Apache Parquet',
};

export interface AnalysisExportOptions {
  signal?: AbortSignal;
  /** Encrypts every entry of the archive (AES-256); see export-compression.ts. */
  password?: string;
  progress?: (stage: string, processed: number) => void;
  now?: Date;
}

export interface AnalysisExportSummary {
  files: { name: string; rows: number; variables: number }[];
  values: number;
  /** Lines of paradata.tab, when asked for. */
  paradata?: number;
  /** The metadata entries written (DDI, definition, forms), when asked for. */
  metadata?: string[];
}

/** One data set's table: its columns, ready for spooling. */
interface TableShape {
  dataSet: MetadataObject;
  stem: string;
  /** The columns after the org unit's levels. */
  cellVariables: AnalysisVariable[];
  /** Where each (data element, option combo) goes among the cells (wide). */
  valueColumn: Map<string, number>;
  levelNames: Map<number, string>;
}

const ref = (value: unknown): string | undefined =>
  (value as { id?: unknown } | undefined)?.id as string | undefined;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

async function loadAll(
  context: FerryContext,
  collection: string,
  uids: readonly string[],
): Promise<Map<string, MetadataObject>> {
  const found = await context.metadata.findBy(collection, 'uid', [...new Set(uids)]);
  return new Map(found.map(({ object }) => [object.id, object]));
}

/** The option combos of each category combo, in the combo's order (else by name). */
async function optionCombosOf(
  context: FerryContext,
  comboUids: readonly string[],
): Promise<Map<string, MetadataObject[]>> {
  const wanted = new Set(comboUids);
  const byCombo = new Map<string, MetadataObject[]>();
  for await (const batch of context.metadata.stream('categoryOptionCombos')) {
    for (const { object } of batch) {
      const combo =
        ref(object.categoryCombo) ??
        (object.id === DEFAULT_CATEGORY_OPTION_COMBO_UID ? DEFAULT_CATEGORY_COMBO_UID : undefined);
      if (!combo || !wanted.has(combo)) continue;
      const list = byCombo.get(combo) ?? [];
      list.push(object);
      byCombo.set(combo, list);
    }
  }
  const combos = await loadAll(context, 'categoryCombos', comboUids);
  for (const [uid, cocs] of byCombo) {
    const order = (
      Array.isArray(combos.get(uid)?.categoryOptionCombos)
        ? (combos.get(uid)!.categoryOptionCombos as unknown[])
        : []
    ).map(ref);
    cocs.sort((a, b) => {
      const [ia, ib] = [order.indexOf(a.id), order.indexOf(b.id)];
      if (ia !== ib && ia >= 0 && ib >= 0) return ia - ib;
      return text(a.name).localeCompare(text(b.name)) || a.id.localeCompare(b.id);
    });
  }
  if (wanted.has(DEFAULT_CATEGORY_COMBO_UID) && !byCombo.has(DEFAULT_CATEGORY_COMBO_UID)) {
    byCombo.set(DEFAULT_CATEGORY_COMBO_UID, [{ id: DEFAULT_CATEGORY_OPTION_COMBO_UID, name: 'default' }]);
  }
  return byCombo;
}

/** Option codes as numbers: the codes themselves when all are whole numbers, else the sort order. */
async function optionSetCodes(
  context: FerryContext,
  optionSetUid: string,
): Promise<Pick<AnalysisVariable, 'codes' | 'valueLabels'> | undefined> {
  const set = await context.metadata.get('optionSets', optionSetUid);
  if (!set) return undefined;
  const options = [
    ...(
      await loadAll(
        context,
        'options',
        (Array.isArray(set.options) ? set.options : []).map(ref).filter((id): id is string => !!id),
      )
    ).values(),
  ];
  options.sort(
    (a, b) => Number(a.sortOrder ?? 0) - Number(b.sortOrder ?? 0) || text(a.code).localeCompare(text(b.code)),
  );
  const numeric = options.every((o) => /^-?\d{1,9}$/.test(text(o.code)));
  const codes = new Map<string, number>();
  const valueLabels = options.map((option, i) => {
    const value = numeric ? Number(option.code) : i + 1;
    codes.set(text(option.code), value);
    return { value, label: text(option.name) || text(option.code) };
  });
  return { codes, valueLabels };
}

/** Columns before the levels, and the fixed ones after them. */
const HEAD: AnalysisVariable[] = [
  { name: 'orgunit_id', label: 'Organisation unit ID', kind: 'string' },
  { name: 'orgunit_code', label: 'Organisation unit code', kind: 'string' },
  { name: 'orgunit_name', label: 'Organisation unit name', kind: 'string' },
];
const PERIOD_COLUMNS: AnalysisVariable[] = [
  { name: 'period', label: 'Period (ISO)', kind: 'string' },
  { name: 'period_start', label: 'Period start date', kind: 'date' },
  { name: 'period_end', label: 'Period end date', kind: 'date' },
  { name: 'aoc_id', label: 'Attribute option combo ID', kind: 'string' },
  { name: 'aoc_name', label: 'Attribute option combo', kind: 'string' },
];
const LONG_COLUMNS: AnalysisVariable[] = [
  { name: 'de_id', label: 'Data element ID', kind: 'string' },
  { name: 'de_code', label: 'Data element code', kind: 'string' },
  { name: 'de_name', label: 'Data element', kind: 'string' },
  { name: 'coc_id', label: 'Category option combo ID', kind: 'string' },
  { name: 'coc_name', label: 'Category option combo', kind: 'string' },
  { name: 'value', label: 'Value', kind: 'string' },
  { name: 'stored_by', label: 'Stored by', kind: 'string' },
  { name: 'last_updated', label: 'Last updated', kind: 'datetime' },
  { name: 'comment', label: 'Comment', kind: 'string' },
];

async function shapeTable(
  context: FerryContext,
  dataSet: MetadataObject,
  layout: AnalysisLayout,
): Promise<TableShape & { elements: Map<string, MetadataObject>; cocs: Map<string, MetadataObject> }> {
  const elementUids = (Array.isArray(dataSet.dataSetElements) ? dataSet.dataSetElements : [])
    .map((dse) => ref((dse as { dataElement?: unknown }).dataElement))
    .filter((id): id is string => !!id);
  const elements = await loadAll(context, 'dataElements', elementUids);
  const comboOf = (uid: string) => {
    const dse = (dataSet.dataSetElements as { dataElement?: unknown; categoryCombo?: unknown }[]).find(
      (d) => ref(d.dataElement) === uid,
    );
    return ref(dse?.categoryCombo) ?? ref(elements.get(uid)?.categoryCombo) ?? DEFAULT_CATEGORY_COMBO_UID;
  };
  const attributeCombo = ref(dataSet.categoryCombo) ?? DEFAULT_CATEGORY_COMBO_UID;
  const combos = await optionCombosOf(context, [...elementUids.map(comboOf), attributeCombo]);
  const cocs = new Map<string, MetadataObject>();
  for (const list of combos.values()) for (const coc of list) cocs.set(coc.id, coc);
  const levelNames = new Map<number, string>();
  for await (const batch of context.metadata.stream('organisationUnitLevels')) {
    for (const { object } of batch) levelNames.set(Number(object.level), text(object.name));
  }
  const cellVariables = [...HEAD, ...PERIOD_COLUMNS];
  const valueColumn = new Map<string, number>();
  if (layout === 'long') {
    cellVariables.push(...LONG_COLUMNS);
  } else {
    for (const uid of elementUids) {
      const element = elements.get(uid);
      if (!element) continue;
      const base = text(element.code) || text(element.name) || uid;
      const label = text(element.formName) || text(element.name) || uid;
      const kind = analysisKindOf(text(element.valueType));
      const optionSet = ref(element.optionSet);
      const coded = optionSet
        ? await optionSetCodes(context, optionSet)
        : text(element.valueType) === 'BOOLEAN' || text(element.valueType) === 'TRUE_ONLY'
          ? booleanCodes()
          : undefined;
      const combo = comboOf(uid);
      for (const coc of combos.get(combo) ?? []) {
        const isDefault = combo === DEFAULT_CATEGORY_COMBO_UID;
        valueColumn.set(`${uid}|${coc.id}`, cellVariables.length);
        cellVariables.push({
          name: isDefault ? base : `${base}__${text(coc.code) || text(coc.name) || coc.id}`,
          label: isDefault ? label : `${label} (${text(coc.name) || coc.id})`,
          kind: coded ? 'integer' : kind,
          ...(coded ?? {}),
          ...(text(element.description) ? { description: text(element.description) } : {}),
        });
      }
    }
  }
  const stem = text(dataSet.code) || text(dataSet.name) || dataSet.id;
  return { dataSet, stem, cellVariables, valueColumn, levelNames, elements, cocs };
}

/** Org units by uid with their ancestors' names, looked up in bulk per chunk and cached (bounded). */
class OrgUnitNames {
  private readonly cache = new Map<string, { code: string | null; name: string; levels: string[] }>();
  private readonly context: FerryContext;
  constructor(context: FerryContext) {
    this.context = context;
  }

  async load(uids: Iterable<string>): Promise<void> {
    const missing = [...new Set(uids)].filter((uid) => !this.cache.has(uid));
    if (missing.length === 0) return;
    if (this.cache.size > 50_000) this.cache.clear();
    const units = await loadAll(this.context, 'organisationUnits', missing);
    const paths = new Map(
      [...units.values()].map((u) => [u.id, (text(u.path) || `/${u.id}`).split('/').filter(Boolean)]),
    );
    const ancestorUids = [...new Set([...paths.values()].flat())].filter((uid) => !units.has(uid));
    const ancestors = await loadAll(this.context, 'organisationUnits', ancestorUids);
    const nameOf = (uid: string) => text((units.get(uid) ?? ancestors.get(uid))?.name) || uid;
    for (const [uid, unit] of units) {
      this.cache.set(uid, {
        code: text(unit.code) || null,
        name: text(unit.name) || uid,
        levels: (paths.get(uid) ?? []).map(nameOf),
      });
    }
  }

  get(uid: string) {
    return this.cache.get(uid) ?? { code: null, name: uid, levels: [] };
  }
}

const FIELDS = [
  'orgUnit',
  'period',
  'dataElement',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'value',
  'storedBy',
  'lastUpdated',
  'comment',
] as const;

/** Reads one data set's values into a spool, shaped wide or long; returns the values read. */
async function spoolDataSet(
  context: FerryContext,
  request: AnalysisExportRequest,
  chunks: AsyncIterable<ExportRowChunk>,
  shape: Awaited<ReturnType<typeof shapeTable>>,
  spool: AnalysisSpool,
  options: AnalysisExportOptions,
): Promise<number> {
  const orgUnits = new OrgUnitNames(context);
  const width = shape.cellVariables.length;
  const head = (ou: string, iso: string, aoc: string): SpooledRow => {
    const unit = orgUnits.get(ou);
    const period = parsePeriod(iso);
    const cells: (string | null)[] = new Array<string | null>(width).fill(null);
    cells[0] = ou;
    cells[1] = unit.code;
    cells[2] = unit.name;
    cells[3] = iso;
    cells[4] = period?.startDate ?? null;
    cells[5] = period?.endDate ?? null;
    cells[6] = aoc;
    cells[7] = text(shape.cocs.get(aoc)?.name) || null;
    return [unit.levels, ...cells];
  };
  let count = 0;
  let group = '';
  let groupRows = new Map<string, SpooledRow>();
  const flush = async () => {
    for (const aoc of [...groupRows.keys()].sort()) await spool.add(groupRows.get(aoc)!);
    groupRows = new Map();
  };
  let lastProgress = 0;
  for await (const chunk of chunks) {
    options.signal?.throwIfAborted();
    const rows = chunk.rows();
    await orgUnits.load(rows.map((r) => r[0]));
    for (const [ou, iso, de, coc, aoc, value, storedBy, lastUpdated, comment] of rows) {
      count++;
      if (request.layout === 'long') {
        const row = head(ou, iso, aoc);
        const element = shape.elements.get(de);
        // Cells 8.. are LONG_COLUMNS, after the levels at row[0].
        const tail = [
          de,
          text(element?.code) || null,
          text(element?.name) || de,
          coc,
          text(shape.cocs.get(coc)?.name) || coc,
        ];
        tail.push(value, storedBy || null, lastUpdated || null, comment || null);
        tail.forEach((cell, i) => (row[1 + 8 + i] = cell));
        await spool.add(row);
        continue;
      }
      const key = `${ou}|${iso}`;
      if (key !== group) {
        await flush();
        group = key;
      }
      const column = shape.valueColumn.get(`${de}|${coc}`);
      // A value whose option combo is not its element's (left over from a combo change) has no column.
      if (column === undefined) continue;
      let row = groupRows.get(aoc);
      if (!row) groupRows.set(aoc, (row = head(ou, iso, aoc)));
      row[1 + column] = value;
    }
    if (Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      options.progress?.(`Reading data values of ${shape.stem}`, count);
    }
  }
  await flush();
  return count;
}

/**
 * Writes the analysis export as a zip to `out`: a data file per data set in the requested format
 * and layout, and `export__readme.txt`. Values come through the data value export's scope and
 * sharing rules (dataValueExportScope). `out` is not ended.
 */
export async function writeAnalysisExport(
  context: FerryContext,
  request: AnalysisExportRequest,
  principal: Principal | undefined,
  out: Writable,
  options: AnalysisExportOptions = {},
): Promise<AnalysisExportSummary> {
  const scope = dataValueExportScope(principal);
  const now = options.now ?? new Date();
  const dataSets = await loadAll(context, 'dataSets', request.dataSets);
  for (const uid of request.dataSets) {
    if (!dataSets.has(uid)) throw new FerryError('F1300', [`dataSet \`${uid}\` does not exist`]);
  }
  // Every data set's scope and sharing are checked (E2010-E2012) before anything is written; the
  // reads themselves start later, one data set at a time.
  const reads = new Map<string, AsyncIterable<ExportRowChunk>>();
  for (const uid of request.dataSets) {
    reads.set(uid, await streamDataValueRows(context, { ...request.values, dataSets: [uid] }, scope, FIELDS));
  }
  const zip = new ZipWriter(new WritableStream<Uint8Array>({ write: (chunk) => writeText(out, chunk) }), {
    useWebWorkers: false,
    level: 6,
    ...(options.password !== undefined
      ? { password: options.password, encryptionStrength: 3, zipCrypto: false }
      : {}),
  });
  const addEntry = async (name: string, chunks: AsyncIterable<string | Uint8Array> | Iterable<string>) => {
    const encoder = new TextEncoder();
    const bytes = Readable.from(
      (async function* () {
        for await (const chunk of chunks) {
          // A cancelled job stops between chunks of the file being written, not only while reading.
          options.signal?.throwIfAborted();
          yield typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
        }
      })(),
    );
    await zip.add(name, Readable.toWeb(bytes) as unknown as ReadableStream<Uint8Array>);
  };
  const dir = await mkdtemp(join(tmpdir(), 'ferry-analysis-'));
  const summary: AnalysisExportSummary = { files: [], values: 0 };
  const readmeFiles: string[] = [];
  const taken = new Set<string>();
  const metadataInputs: Parameters<typeof addAnalysisMetadata>[1][] = [];
  try {
    for (const uid of request.dataSets) {
      const shape = await shapeTable(context, dataSets.get(uid)!, request.layout);
      const spool = new AnalysisSpool(join(dir, `${uid}.spool`), shape.cellVariables);
      try {
        summary.values += await spoolDataSet(context, request, reads.get(uid)!, shape, spool, options);
      } finally {
        await spool.close();
      }
      const file = analysisFile(request.format, {
        stem: shape.stem,
        label: text(shape.dataSet.name) || uid,
        created: now,
        cellVariables: shape.cellVariables,
        levelNames: shape.levelNames,
        spool,
      });
      let name = `${file.stem}.${file.extension}`;
      for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${file.stem}_${n}.${file.extension}`;
      taken.add(name.toLowerCase());
      options.progress?.(`Writing ${name}`, spool.rowCount);
      await addEntry(name, file.bytes());
      summary.files.push({ name, rows: spool.rowCount, variables: file.variables.length });
      if (request.extras?.metadata) {
        const metadataFile = metadataFileOf(
          request.format,
          file,
          name,
          spool.rowCount,
          `${text(shape.dataSet.name) || uid}: ${request.layout === 'wide' ? 'a row per organisation unit, period and attribute option combo' : 'a row per data value'}`,
        );
        metadataInputs.push({
          collection: 'dataSets',
          object: shape.dataSet,
          stem: file.stem,
          files: [metadataFile],
          produced: now,
          dataKind: 'aggregate data',
          abstract: describeAnalysisExport(request),
        });
      }
      readmeFiles.push(
        `${name}: ${spool.rowCount} rows, ${file.variables.length} variables (data set ${text(shape.dataSet.name)}, ${uid})`,
        ...file.variables.map((v) => `  ${v.name}\t${v.type}\t${v.label}`),
        '',
      );
    }
    if (request.extras?.paradata) {
      options.progress?.(`Writing ${PARADATA_FILE}`, 0);
      const paradata = await aggregateParadata(context, request.values, scope, options.signal);
      await addEntry(PARADATA_FILE, paradata.chunks);
      summary.paradata = paradata.summary.rows;
      readmeFiles.push(
        `${PARADATA_FILE}: ${paradata.summary.rows} changes of the exported values (their audit trail), oldest first`,
        ...PARADATA_COLUMNS.map(([column, meaning]) => `  ${column}\t${meaning}`),
        '',
      );
    }
    for (const input of metadataInputs) {
      options.progress?.(`Writing the metadata of ${input.stem}`, 0);
      const names = await addAnalysisMetadata(context, input, addEntry, `Metadata/${input.stem}/`);
      summary.metadata = [...(summary.metadata ?? []), ...names];
      readmeFiles.push(
        `Metadata of ${text(input.object.name) || input.object.id} (${input.object.id}):`,
        ...names.map((n) => `  ${n}`),
        '  ddi.xml: DDI Codebook 2.5 of the data file (variables, labels, categories, descriptions);',
        `  ${input.stem}.json: the data set's definition as DHIS2 metadata JSON (GET /api/dataSets/${input.object.id}/metadata);`,
        '  Forms/: the data entry form as a PDF, in the stored labels (default) and in each translation.',
        '',
      );
    }
    const readme = [
      `Generated by Ferry ${context.version} on ${now.toISOString()}`,
      `Requested by: ${principal ? `${principal.username} (${principal.uid})` : 'the operator, on the command line'}`,
      `Asked for: ${describeAnalysisExport(request)}`,
      `Values read: ${summary.values}, within the requester's data view scope and data sharing`,
      '',
      'Missing values: no value is empty in tab and CSV files, "." in Stata and system-missing in SPSS. A value',
      'that is not valid for its column (text in a number column, a code outside the option set) is kept as',
      'text in tab and CSV files and written as the declared missing value "not a valid value": .a in Stata,',
      'the user-missing value -999999999 in SPSS. Option sets are value labels; dates are Stata %td/%tc and',
      'SPSS DATE/DATETIME values.',
      '',
      'Files:',
      ...readmeFiles,
    ].join('\n');
    await addEntry(
      'export__readme.txt',
      (async function* () {
        yield readme;
      })(),
    );
    await zip.close();
    return summary;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
