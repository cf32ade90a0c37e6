/**
 * DHIS2's `inclusionStrategy` of the metadata export: which of an exported object's properties
 * appear. NON_NULL (the default) leaves out properties without a value, ALWAYS writes every
 * selected property (null, or `[]` for a collection, where the object has none), NON_EMPTY also
 * leaves out empty strings and empty collections, at every nesting level.
 */

export const INCLUSION_STRATEGIES = ['NON_NULL', 'ALWAYS', 'NON_EMPTY'] as const;
export type InclusionStrategy = (typeof INCLUSION_STRATEGIES)[number];

type Json = Record<string, unknown>;

/** A property ALWAYS writes when it is missing: its name, and whether it holds a collection. */
export interface IncludedProperty {
  readonly name: string;
  readonly collection: boolean;
}

function isPlainObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmptyValue(value: unknown): boolean {
  return value === '' || (Array.isArray(value) && value.length === 0);
}

/** A copy of `value` without null (and, for NON_EMPTY, empty) properties, at every level. */
function pruned(value: unknown, nonEmpty: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => pruned(item, nonEmpty));
  if (!isPlainObject(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === null || item === undefined) continue;
    const kept = pruned(item, nonEmpty);
    if (nonEmpty && isEmptyValue(kept)) continue;
    out[key] = kept;
  }
  return out;
}

/**
 * Applies `strategy` to one exported object. `selected` are the top-level properties the field
 * selection asked for (ALWAYS writes those the object lacks); nested objects keep what they have.
 */
export function applyInclusionStrategy(
  object: Json,
  strategy: InclusionStrategy,
  selected: readonly IncludedProperty[],
): Json {
  if (strategy === 'ALWAYS') {
    const out: Json = { ...object };
    for (const property of selected) {
      if (out[property.name] === undefined) out[property.name] = property.collection ? [] : null;
    }
    return out;
  }
  return pruned(object, strategy === 'NON_EMPTY') as Json;
}
