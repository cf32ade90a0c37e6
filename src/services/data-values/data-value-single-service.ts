import { Readable } from 'node:stream';
import { join } from 'node:path';
import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import type { ImportSummary } from '../../domain/data-values/import-summary.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { FerryError } from '../../errors.ts';
import { importDataValues } from './data-value-import-service.ts';
import {
  dataValueExportScope,
  exportDataValues,
  parseDataValueExportRequest,
} from './data-value-export-service.ts';
import { spoolToFile } from '../jobs/upload-spool.ts';

/**
 * DHIS2's single data value API (`/api/dataValues`, parameters `de`, `pe`, `ou`, `co`, `cc`, `cp`)
 * on top of the data value set import and export: a write is a one-value import and a read a
 * one-cell export, so every check (authorities, capture and view scope, data sharing, periods,
 * value types, expiry, locks), every audit row and the summary are theirs, never a second copy.
 */

/** Where a value sits: DHIS2's `de`, `pe`, `ou`, `co` and the attribute as `cc` + `cp`. */
export interface DataValueCell {
  dataElement: string;
  period: string;
  orgUnit: string;
  /** Absent: the default category option combo. */
  categoryOptionCombo?: string;
  /** Attribute category combo and its options (`cc`, `cp` with `;` between options). */
  attributeCombo?: string;
  attributeOptions?: string[];
}

/** What a write sets. `value` absent keeps the stored value (a comment or follow-up change). */
export interface DataValueChange {
  value?: string | null;
  comment?: string;
  followUp?: boolean | string;
}

export interface StoredSingleDataValue {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo: string;
  attributeOptionCombo: string;
  value?: string;
  comment?: string;
  followup?: boolean;
  storedBy?: string;
  created?: string;
  lastUpdated?: string;
}

/** The largest request a single value makes: a value, a comment and identifiers. */
const MAX_SINGLE_VALUE_BYTES = 64 * 1024;

function text(raw: unknown): string | undefined {
  const value = Array.isArray(raw) ? raw.at(-1) : raw;
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') throw new FerryError('F1001', ['identifiers and values must be text']);
  return String(value);
}

/** The cell from DHIS2's query parameters (`de`, `pe`, ...) or a JSON body's names. */
export function parseDataValueCell(query: Record<string, unknown>): DataValueCell {
  const required = (short: string, long: string): string => {
    const value = text(query[short]) ?? text(query[long]);
    if (value === undefined || value === '') throw new FerryError('F1004', [short]);
    return value;
  };
  const cc = text(query.cc);
  const cp = text(query.cp);
  if ((cc === undefined) !== (cp === undefined)) {
    throw new FerryError('F1000', [cc === undefined ? 'cp' : 'cc', cc ?? cp ?? '', 'cc and cp together']);
  }
  const co = text(query.co) ?? text(query.categoryOptionCombo);
  return {
    dataElement: required('de', 'dataElement'),
    period: required('pe', 'period'),
    orgUnit: required('ou', 'orgUnit'),
    ...(co ? { categoryOptionCombo: co } : {}),
    ...(cc && cp ? { attributeCombo: cc, attributeOptions: cp.split(';').filter((o) => o !== '') } : {}),
  };
}

/**
 * The attribute option combo `cc` + `cp` name: the combo of `cc` whose options are exactly `cp`.
 * Without them, the default combo. An unknown pair is DHIS2's 409 with its reason.
 */
async function attributeOptionComboOf(context: FerryContext, cell: DataValueCell): Promise<string> {
  if (!cell.attributeCombo || !cell.attributeOptions) return defaultOptionCombo(context);
  const comboUids = await context.metadata.referrerUids(
    'categoryCombos',
    cell.attributeCombo,
    'categoryOptionCombos',
    'categoryCombo',
  );
  const wanted = [...new Set(cell.attributeOptions)].sort().join(';');
  for (const found of await context.metadata.findBy('categoryOptionCombos', 'uid', comboUids)) {
    const options = Array.isArray(found.object.categoryOptions) ? found.object.categoryOptions : [];
    const have = options
      .map((o) => (o as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string')
      .sort()
      .join(';');
    if (have === wanted) return found.object.id;
  }
  throw new FerryError('F1000', [
    'cp',
    cell.attributeOptions.join(';'),
    `the options of one attribute option combo of category combo \`${cell.attributeCombo}\``,
  ]);
}

async function defaultOptionCombo(context: FerryContext): Promise<string> {
  const [found] = await context.metadata.findBy('categoryOptionCombos', 'name', ['default']);
  return found?.object.id ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
}

/**
 * The stored value at `cell`, read through the data value export with the caller's scope (view
 * org units, data sharing), so a value the caller may not export is not found here either.
 */
export async function readSingleDataValue(
  context: FerryContext,
  cell: DataValueCell,
  principal: Principal | undefined,
): Promise<StoredSingleDataValue | undefined> {
  const attributeOptionCombo = await attributeOptionComboOf(context, cell);
  const categoryOptionCombo = cell.categoryOptionCombo ?? (await defaultOptionCombo(context));
  const request = parseDataValueExportRequest({
    dataElement: cell.dataElement,
    period: cell.period,
    orgUnit: cell.orgUnit,
    attributeOptionCombo,
  });
  const exported = await exportDataValues(context, request, dataValueExportScope(principal));
  // One data element, period and org unit: a value per option combo, a few hundred bytes each.
  const chunks: Buffer[] = [];
  for await (const chunk of exported.body) chunks.push(Buffer.from(chunk as Uint8Array));
  const set = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { dataValues?: StoredSingleDataValue[] };
  return set.dataValues?.find(
    (v) => v.categoryOptionCombo === categoryOptionCombo && v.attributeOptionCombo === attributeOptionCombo,
  );
}

/** Imports the one value as a JSON data value set (spooled like an upload), with `params`. */
async function importOne(
  context: FerryContext,
  dataValue: Record<string, unknown>,
  params: Record<string, unknown>,
  principal: Principal | undefined,
): Promise<ImportSummary> {
  const file = await spoolToFile(
    Readable.from([JSON.stringify({ dataValues: [dataValue] })]),
    join(context.config.dataDir, 'uploads'),
    MAX_SINGLE_VALUE_BYTES,
  );
  try {
    return await importDataValues(
      context,
      { path: file.path, fileName: 'dataValues', format: 'json' },
      params,
      principal,
    );
  } finally {
    await file.remove();
  }
}

/** DHIS2's `POST /api/dataValues`: creates or updates the value at `cell`. */
export async function saveSingleDataValue(
  context: FerryContext,
  cell: DataValueCell,
  change: DataValueChange,
  principal: Principal | undefined,
): Promise<ImportSummary> {
  const attributeOptionCombo = await attributeOptionComboOf(context, cell);
  let value = change.value;
  if (value === undefined) {
    // A comment or follow-up on its own keeps the value, as in DHIS2; the import would read a
    // missing value as a delete.
    value = (await readSingleDataValue(context, cell, principal))?.value;
    if (value === undefined) throw new FerryError('F1004', ['value']);
  }
  return importOne(
    context,
    {
      dataElement: cell.dataElement,
      period: cell.period,
      orgUnit: cell.orgUnit,
      ...(cell.categoryOptionCombo ? { categoryOptionCombo: cell.categoryOptionCombo } : {}),
      attributeOptionCombo,
      value,
      ...(change.comment !== undefined ? { comment: change.comment } : {}),
      ...(change.followUp !== undefined ? { followUp: change.followUp } : {}),
    },
    {},
    principal,
  );
}

/** DHIS2's `DELETE /api/dataValues`: the one-value import under `importStrategy=DELETE`. */
export async function deleteSingleDataValue(
  context: FerryContext,
  cell: DataValueCell,
  principal: Principal | undefined,
): Promise<ImportSummary> {
  const attributeOptionCombo = await attributeOptionComboOf(context, cell);
  return importOne(
    context,
    {
      dataElement: cell.dataElement,
      period: cell.period,
      orgUnit: cell.orgUnit,
      ...(cell.categoryOptionCombo ? { categoryOptionCombo: cell.categoryOptionCombo } : {}),
      attributeOptionCombo,
      value: '',
    },
    { importStrategy: 'DELETE' },
    principal,
  );
}
