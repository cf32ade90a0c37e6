import { IdSchemes, parseIdScheme, formatIdScheme, type IdScheme } from '../identifiers/id-scheme.ts';
import { parseDedupeUse, type DedupeUse } from '../dedupe/dedupe-use.ts';

/** DHIS2's import strategies with its older names as aliases (`ImportStrategy`). */
export const IMPORT_STRATEGIES = ['CREATE', 'UPDATE', 'CREATE_AND_UPDATE', 'DELETE'] as const;
export type ImportStrategy = (typeof IMPORT_STRATEGIES)[number];

const STRATEGY_ALIASES: Readonly<Record<string, ImportStrategy>> = {
  CREATE: 'CREATE',
  NEW: 'CREATE',
  UPDATE: 'UPDATE',
  UPDATES: 'UPDATE',
  CREATE_AND_UPDATE: 'CREATE_AND_UPDATE',
  NEW_AND_UPDATES: 'CREATE_AND_UPDATE',
  DELETE: 'DELETE',
  DELETES: 'DELETE',
};

/** The type keys of DHIS2's specific id scheme parameters (`dataElementIdScheme`, ...). */
export const ID_SCHEME_KEYS = [
  'dataElement',
  'orgUnit',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'dataSet',
  'category',
  'categoryOption',
] as const;
export type IdSchemeKey = (typeof ID_SCHEME_KEYS)[number];

/** Parsed, validated options of one data value import. */
export interface DataValueImportOptions {
  importStrategy: ImportStrategy;
  dryRun: boolean;
  idSchemes: IdSchemes;
  dataSet?: string;
  atomic: boolean;
  skipExistingCheck: boolean;
  skipAudit: boolean;
  /** Accepted for DHIS2 compatibility; Ferry always resolves identifiers in bulk. */
  preheatCache: boolean;
  async: boolean;
  firstRowIsHeader: boolean;
  /**
   * Ferry's opt-in (`keepCreated=true`): a new value takes the file's `created`. By default, as
   * DHIS2 2.42, a new value's `created` is the import time and the file's is ignored.
   */
  keepCreated: boolean;
  /** The format's own default scheme (ADX: CODE), used when neither query nor file gives one. */
  formatDefaultIdScheme?: IdScheme;
  /** A de-duplication pool to filter with and/or track into (`dedupePool`, `dedupeKey`, `dedupeMode`). */
  dedupe?: DedupeUse;
}

/** A bad parameter: the HTTP layer answers 400 naming it (F1000). */
export class ImportParameterError extends Error {
  readonly parameter: string;
  readonly given: string;
  readonly allowed: string;
  constructor(parameter: string, given: string, allowed: string) {
    super(`Invalid value for parameter \`${parameter}\`: \`${given}\`; allowed: ${allowed}`);
    this.parameter = parameter;
    this.given = given;
    this.allowed = allowed;
  }
}

export type RawParams = Readonly<Record<string, unknown>>;

function single(params: RawParams, name: string): string | undefined {
  const raw = params[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value === null || value === '') return undefined;
  return String(value);
}

function booleanParam(params: RawParams, name: string, fallback = false): boolean {
  const text = single(params, name);
  if (text === undefined) return fallback;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  throw new ImportParameterError(name, text, 'true, false');
}

export function parseImportStrategy(text: string, parameter = 'importStrategy'): ImportStrategy {
  const strategy = STRATEGY_ALIASES[text.toUpperCase()];
  if (!strategy) {
    throw new ImportParameterError(parameter, text, Object.keys(STRATEGY_ALIASES).join(', '));
  }
  return strategy;
}

function idSchemeParam(params: RawParams, name: string): IdScheme | undefined {
  const text = single(params, name);
  if (text === undefined) return undefined;
  try {
    return parseIdScheme(text);
  } catch {
    throw new ImportParameterError(name, text, 'UID, CODE, NAME, ATTRIBUTE:<uid>');
  }
}

/** Id schemes from `idScheme` and the specific `<type>IdScheme` entries of a params object. */
export function parseIdSchemes(params: RawParams): IdSchemes {
  const specific: Record<string, IdScheme | undefined> = {};
  for (const key of ID_SCHEME_KEYS) specific[key] = idSchemeParam(params, `${key}IdScheme`);
  return new IdSchemes(idSchemeParam(params, 'idScheme'), specific);
}

/**
 * The options of `POST /api/dataValueSets` from its query parameters (or the CLI's flags in the same
 * names). Unknown values are refused naming the parameter; unknown parameters are ignored, as DHIS2
 * binds only what it knows.
 */
export function parseDataValueImportParams(params: RawParams): DataValueImportOptions {
  const strategyText = single(params, 'importStrategy') ?? single(params, 'strategy');
  const strategyParameter = single(params, 'importStrategy') !== undefined ? 'importStrategy' : 'strategy';
  return {
    importStrategy: strategyText ? parseImportStrategy(strategyText, strategyParameter) : 'CREATE_AND_UPDATE',
    dryRun: booleanParam(params, 'dryRun'),
    idSchemes: parseIdSchemes(params),
    dataSet: single(params, 'dataSet'),
    atomic: booleanParam(params, 'atomic'),
    skipExistingCheck: booleanParam(params, 'skipExistingCheck'),
    skipAudit: booleanParam(params, 'skipAudit'),
    preheatCache: booleanParam(params, 'preheatCache'),
    async: booleanParam(params, 'async'),
    firstRowIsHeader: booleanParam(params, 'firstRowIsHeader', true),
    keepCreated: booleanParam(params, 'keepCreated'),
    dedupe: parseDedupeUse(params),
  };
}

/** The options as plain JSON, for DHIS2's `importOptions` echo and for job parameters. */
export function describeImportOptions(options: DataValueImportOptions): Record<string, unknown> {
  const idSchemes: Record<string, string> = {};
  if (options.idSchemes.givenGeneral) idSchemes.idScheme = formatIdScheme(options.idSchemes.givenGeneral);
  for (const key of ID_SCHEME_KEYS) {
    const scheme = options.idSchemes.schemeFor(key);
    if (
      options.idSchemes.givenGeneral === undefined
        ? scheme.kind !== 'UID'
        : scheme !== options.idSchemes.givenGeneral
    ) {
      idSchemes[`${key}IdScheme`] = formatIdScheme(scheme);
    }
  }
  return {
    idSchemes,
    dryRun: options.dryRun,
    async: options.async,
    importStrategy: options.importStrategy,
    mergeMode: 'REPLACE',
    reportMode: 'FULL',
    skipExistingCheck: options.skipExistingCheck,
    skipAudit: options.skipAudit,
    preheatCache: options.preheatCache,
    atomic: options.atomic,
    firstRowIsHeader: options.firstRowIsHeader,
    ...(options.keepCreated ? { keepCreated: true } : {}),
    ...(options.dataSet ? { dataSet: options.dataSet } : {}),
    ...(options.dedupe
      ? {
          dedupePool: options.dedupe.pool,
          dedupeMode: options.dedupe.mode,
          dedupeKey: options.dedupe.keyFields.join(','),
        }
      : {}),
  };
}
