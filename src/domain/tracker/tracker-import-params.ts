import { parseTrackerDedupeUse, type TrackerDedupeUse } from '../dedupe/tracker-dedupe-key.ts';

/**
 * DHIS2's tracker import parameters (`POST /api/tracker`, `ImportRequestParams.java`), parsed the
 * way DHIS2 and its Import/Export app send them: values in any case, `strategy` as a synonym of
 * `importStrategy`, `dryRun=true` as `importMode=VALIDATE`. An unknown value is refused by name.
 */
export const TRACKER_IMPORT_MODES = ['COMMIT', 'VALIDATE'] as const;
export const TRACKER_IMPORT_STRATEGIES = ['CREATE_AND_UPDATE', 'CREATE', 'UPDATE', 'DELETE'] as const;
export const TRACKER_ATOMIC_MODES = ['ALL', 'OBJECT'] as const;
export const TRACKER_VALIDATION_MODES = ['FULL', 'FAIL_FAST'] as const;
export const TRACKER_REPORT_MODES = ['ERRORS', 'WARNINGS', 'FULL'] as const;

export type TrackerImportMode = (typeof TRACKER_IMPORT_MODES)[number];
export type TrackerImportStrategy = (typeof TRACKER_IMPORT_STRATEGIES)[number];
export type TrackerAtomicMode = (typeof TRACKER_ATOMIC_MODES)[number];
export type TrackerValidationMode = (typeof TRACKER_VALIDATION_MODES)[number];
export type TrackerReportMode = (typeof TRACKER_REPORT_MODES)[number];

/**
 * Parameters DHIS2 takes on this endpoint that Ferry accepts and ignores (documented in
 * docs/formats/tracker.md): identifiers are always UIDs for now, there is no preheat cache or
 * flush to tune, sharing is not skipped.
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
  'idScheme',
] as const;

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

/** Parses the query of `POST /api/tracker` (or a job's stored parameters). */
export function parseTrackerImportParams(query: Record<string, unknown>): TrackerImportParams {
  const d = DEFAULT_TRACKER_IMPORT_PARAMS;
  const strategyName = query.importStrategy !== undefined ? 'importStrategy' : 'strategy';
  let importMode = oneOf('importMode', query.importMode, TRACKER_IMPORT_MODES, d.importMode);
  if (flag('dryRun', query.dryRun, false)) importMode = 'VALIDATE';
  const validationMode = single(query.validationMode);
  if (validationMode?.toUpperCase() === 'SKIP') {
    // DHIS2 lets superusers skip validation; Ferry always validates (its writes rely on it).
    throw new TrackerParameterError('validationMode', validationMode, [...TRACKER_VALIDATION_MODES]);
  }
  const dedupe = parseTrackerDedupeUse(query);
  return {
    async: flag('async', query.async, d.async),
    importMode,
    importStrategy: oneOf(strategyName, query[strategyName], TRACKER_IMPORT_STRATEGIES, d.importStrategy),
    atomicMode: oneOf('atomicMode', query.atomicMode, TRACKER_ATOMIC_MODES, d.atomicMode),
    validationMode: oneOf('validationMode', query.validationMode, TRACKER_VALIDATION_MODES, d.validationMode),
    reportMode: oneOf('reportMode', query.reportMode, TRACKER_REPORT_MODES, d.reportMode),
    skipRuleEngine: flag('skipRuleEngine', query.skipRuleEngine, d.skipRuleEngine),
    // Absent rather than undefined, so that parsed parameters without a pool compare as before.
    ...(dedupe ? { dedupe } : {}),
  };
}
