import { DATA_VALUE_ENTITY_TYPE, type DedupeEntityType } from './dedupe-entity-types.ts';

/**
 * How an import uses a pool (`dedupePool`, `dedupeKey`, `dedupeMode`), after Patchworks' de-dupe
 * shape: FILTER drops records whose key is in the pool and records nothing; TRACK records new keys
 * and drops nothing; FILTER_AND_TRACK does both, atomically per key.
 */
export const DEDUPE_MODES = ['FILTER', 'TRACK', 'FILTER_AND_TRACK'] as const;
export type DedupeMode = (typeof DEDUPE_MODES)[number];

export interface DedupeUse {
  /** The pool's UID or name, as given. */
  pool: string;
  mode: DedupeMode;
  /** The fields whose values, joined with `/`, form the key, in this order. */
  keyFields: readonly string[];
}

/** A bad dedupe parameter; `parameter`, `given`, `allowed` as the importers' parameter errors. */
export class DedupeParameterError extends Error {
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

function single(params: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const raw = params[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value === null || value === '') return undefined;
  return String(value).trim();
}

/**
 * The pool use an import's parameters ask for, or undefined when `dedupePool` is absent (then
 * `dedupeKey` and `dedupeMode` must be absent too). `dedupeMode` defaults to FILTER_AND_TRACK;
 * `dedupeKey` (comma-separated field names) to the entity type's full key.
 */
export function parseDedupeUse(
  params: Readonly<Record<string, unknown>>,
  entityType: DedupeEntityType = DATA_VALUE_ENTITY_TYPE,
): DedupeUse | undefined {
  const pool = single(params, 'dedupePool');
  const modeText = single(params, 'dedupeMode');
  const keyText = single(params, 'dedupeKey');
  if (pool === undefined) {
    if (modeText !== undefined)
      throw new DedupeParameterError('dedupeMode', modeText, 'only with dedupePool');
    if (keyText !== undefined) throw new DedupeParameterError('dedupeKey', keyText, 'only with dedupePool');
    return undefined;
  }
  const mode = (modeText ?? 'FILTER_AND_TRACK').toUpperCase();
  if (!(DEDUPE_MODES as readonly string[]).includes(mode))
    throw new DedupeParameterError('dedupeMode', modeText ?? '', DEDUPE_MODES.join(', '));
  let keyFields: readonly string[] = entityType.keyFields;
  if (keyText !== undefined) {
    const fields = keyText.split(/[,/]/).map((f) => f.trim());
    const allowed = new Set(entityType.keyFields);
    if (fields.length === 0 || fields.some((f) => !allowed.has(f)) || new Set(fields).size !== fields.length)
      throw new DedupeParameterError(
        'dedupeKey',
        keyText,
        `distinct fields of ${entityType.keyFields.join(', ')}, comma-separated`,
      );
    keyFields = fields;
  }
  return { pool, mode: mode as DedupeMode, keyFields };
}

export function modeFilters(mode: DedupeMode): boolean {
  return mode !== 'TRACK';
}

export function modeTracks(mode: DedupeMode): boolean {
  return mode !== 'FILTER';
}
