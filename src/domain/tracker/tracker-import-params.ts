import { parseTrackerDedupeUse, type TrackerDedupeUse } from '../dedupe/tracker-dedupe-key.ts';
import { IdSchemeParseError, parseIdScheme, type IdScheme } from '../identifiers/id-scheme.ts';

/**
 * DHIS2's tracker import parameters (`POST /api/tracker`, `ImportRequestParams.java`), parsed the
 * way DHIS2 and its Import/Export app send them: values in any case, `strategy` as a synonym of
 * `importStrategy`, `dryRun=true` as `importMode=VALIDATE`. An unknown value is refused by name.
 */
export const TRACKER_IMPORT_MODES = ['COMMIT', 'VALIDATE'] as const;
export const TRACKER_IMPORT_STRATEGIES = ['CREATE_AND_UPDATE', 'CREATE', 'UPDATE', 'DELETE'] as const;
export const TRACKER_ATOMIC_MODES = ['ALL', 'OBJECT'] as const;
export const TRACKER_VALIDATION_MODES = ['FULL', 'FAIL_FAST', 'SKIP'] as const;
export const TRACKER_REPORT_MODES = ['ERRORS', 'WARNINGS', 'FULL'] as const;

export type TrackerImportMode = (typeof TRACKER_IMPORT_MODES)[number];
export type TrackerImportStrategy = (typeof TRACKER_IMPORT_STRATEGIES)[number];
export type TrackerAtomicMode = (typeof TRACKER_ATOMIC_MODES)[number];
export type TrackerValidationMode = (typeof TRACKER_VALIDATION_MODES)[number];
export type TrackerReportMode = (typeof TRACKER_REPORT_MODES)[number];

/**
 * Parameters DHIS2 takes on this endpoint that Ferry accepts and ignores (documented in
 * docs/formats/tracker.md): there is no preheat cache or flush to tune, sharing is not skipped,
 * side effects (notifications) are not sent, and Ferry has no generated attribute patterns.
 */
export const IGNORED_TRACKER_IMPORT_PARAMETERS = [
  'identifier',
  'preheatMode',
  'mergeMode',
  'skipSharing',
  'inclusionStrategy',
  'flushMode',
  'skipSideEffects',
  'skipPatternValidation',
] as const;

/**
 * The metadata references an identifier scheme applies to (DHIS2's `TrackerIdSchemeParams`), each
 * with its parameter; `idScheme` is the fallback of all and the scheme of the references that have
 * no parameter of their own (tracked entity types, attributes, relationship types).
 */
export const TRACKER_ID_SCHEME_PARAMETERS = {
  orgUnit: 'orgUnitIdScheme',
  program: 'programIdScheme',
  programStage: 'programStageIdScheme',
  dataElement: 'dataElementIdScheme',
  categoryOptionCombo: 'categoryOptionComboIdScheme',
  categoryOption: 'categoryOptionIdScheme',
} as const;
export type TrackerIdSchemeKind = keyof typeof TRACKER_ID_SCHEME_PARAMETERS | 'other';

/** The scheme of each kind of reference; only present when one of them is not UID. */
export type TrackerIdSchemes = Record<TrackerIdSchemeKind, IdScheme>;

const ID_SCHEME_VALUES = ['UID', 'CODE', 'NAME', 'ATTRIBUTE:<uid>'];

function idSchemeParameter(name: string, value: unknown): IdScheme | undefined {
  const text = single(value);
  if (text === undefined) return undefined;
  try {
    return parseIdScheme(text);
  } catch (error) {
    if (error instanceof IdSchemeParseError) throw new TrackerParameterError(name, text, ID_SCHEME_VALUES);
    throw error;
  }
}

/**
 * `idScheme` and the specific schemes (of an import, or the output schemes of an export); undefined
 * when every reference is a UID (the usual case).
 * `eventIdScheme` (2.40's, still sent by older clients) is taken as UID only: events, like every
 * tracker object, are named by their UIDs in the current API.
 */
export function parseTrackerIdSchemes(query: Record<string, unknown>): TrackerIdSchemes | undefined {
  const eventScheme = idSchemeParameter('eventIdScheme', query.eventIdScheme);
  if (eventScheme && eventScheme.kind !== 'UID')
    throw new TrackerParameterError('eventIdScheme', single(query.eventIdScheme)!, ['UID']);
  const general = idSchemeParameter('idScheme', query.idScheme) ?? { kind: 'UID' };
  const schemes = { other: general } as TrackerIdSchemes;
  for (const [kind, name] of Object.entries(TRACKER_ID_SCHEME_PARAMETERS))
    schemes[kind as TrackerIdSchemeKind] = idSchemeParameter(name, query[name]) ?? general;
  return Object.values(schemes).every((s) => s.kind === 'UID') ? undefined : schemes;
}

export interface TrackerImportParams {
  async: boolean;
  importMode: TrackerImportMode;
  importStrategy: TrackerImportStrategy;
  atomicMode: TrackerAtomicMode;
  validationMode: TrackerValidationMode;
  reportMode: TrackerReportMode;
  /** DHIS2's skipRuleEngine: program rules are not evaluated (their errors, warnings and assignments). */
  skipRuleEngine: boolean;
  /** A de-duplication pool to check events and tracked entities against (`dedupePool`, ...). */
  dedupe?: TrackerDedupeUse;
  /** How the payload names metadata, when not (only) by UID: `idScheme`, `orgUnitIdScheme`, ... */
  idSchemes?: TrackerIdSchemes;
}

export const DEFAULT_TRACKER_IMPORT_PARAMS: TrackerImportParams = {
  async: true,
  importMode: 'COMMIT',
  // DHIS2's code defaults to CREATE_AND_UPDATE (its docs table says CREATE).
  importStrategy: 'CREATE_AND_UPDATE',
  atomicMode: 'ALL',
  validationMode: 'FULL',
  reportMode: 'ERRORS',
  skipRuleEngine: false,
};

/** A parameter with a value outside its set; the HTTP layer answers 400 naming it. */
export class TrackerParameterError extends Error {
  readonly parameter: string;
  readonly given: string;
  readonly allowed: string;
  constructor(parameter: string, given: string, allowed: readonly string[]) {
    super(`Invalid value for parameter \`${parameter}\`: \`${given}\`; allowed: ${allowed.join(', ')}`);
    this.parameter = parameter;
    this.given = given;
    this.allowed = allowed.join(', ');
  }
}

function single(value: unknown): string | undefined {
  const v = Array.isArray(value) ? value[value.length - 1] : value;
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  const text = single(value);
  if (text === undefined) return fallback;
  const match = allowed.find((a) => a === text.toUpperCase());
  if (!match) throw new TrackerParameterError(name, text, allowed);
  return match;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  const text = single(value);
  if (text === undefined) return fallback;
  if (text.toLowerCase() === 'true') return true;
  if (text.toLowerCase() === 'false') return false;
  throw new TrackerParameterError(name, text, ['true', 'false']);
}

/**
 * DHIS2's older import strategy names (metadata's `ImportStrategy`), which the Import/Export app's
 * tracked entity import page still sends as `strategy=NEW_AND_UPDATES`, taken as their current names.
 */
const OLDER_STRATEGY_NAMES: Readonly<Record<string, TrackerImportStrategy>> = {
  NEW_AND_UPDATES: 'CREATE_AND_UPDATE',
  NEW: 'CREATE',
  UPDATES: 'UPDATE',
  DELETES: 'DELETE',
};

function strategyValue(value: unknown): unknown {
  const text = single(value);
  return (text && OLDER_STRATEGY_NAMES[text.toUpperCase()]) ?? value;
}

/** Parses the query of `POST /api/tracker` (or a job's stored parameters). */
export function parseTrackerImportParams(query: Record<string, unknown>): TrackerImportParams {
  const d = DEFAULT_TRACKER_IMPORT_PARAMS;
  const strategyName = query.importStrategy !== undefined ? 'importStrategy' : 'strategy';
  let importMode = oneOf('importMode', query.importMode, TRACKER_IMPORT_MODES, d.importMode);
  if (flag('dryRun', query.dryRun, false)) importMode = 'VALIDATE';
  // CSV only; the header row is recognised by its column names whatever this says.
  flag('skipFirst', query.skipFirst, true);
  // Taken and ignored, but DHIS2 binds these to its types: another value is refused, as there.
  oneOf('flushMode', query.flushMode, ['AUTO', 'OBJECT'] as const, 'AUTO');
  flag('skipSideEffects', query.skipSideEffects, false);
  flag('skipPatternValidation', query.skipPatternValidation, false);
  const dedupe = parseTrackerDedupeUse(query);
  const idSchemes = parseTrackerIdSchemes(query);
  return {
    async: flag('async', query.async, d.async),
    importMode,
    importStrategy: oneOf(
      strategyName,
      strategyValue(query[strategyName]),
      TRACKER_IMPORT_STRATEGIES,
      d.importStrategy,
    ),
    atomicMode: oneOf('atomicMode', query.atomicMode, TRACKER_ATOMIC_MODES, d.atomicMode),
    validationMode: oneOf('validationMode', query.validationMode, TRACKER_VALIDATION_MODES, d.validationMode),
    reportMode: oneOf('reportMode', query.reportMode, TRACKER_REPORT_MODES, d.reportMode),
    skipRuleEngine: flag('skipRuleEngine', query.skipRuleEngine, d.skipRuleEngine),
    // Absent rather than undefined, so that parsed parameters without a pool compare as before.
    ...(dedupe ? { dedupe } : {}),
    ...(idSchemes ? { idSchemes } : {}),
  };
}
