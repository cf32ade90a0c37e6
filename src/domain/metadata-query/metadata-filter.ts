import type { SchemaDescriptor } from '../schema/schema-types.ts';
import { MetadataQueryError } from './metadata-query-error.ts';

/**
 * DHIS2's `filter=property:operator:value`, checked against the type's schema. Filters are ANDed.
 * Supported operators: eq, !eq and ne, like and ilike (substring; both case-insensitive here),
 * $like and ^like (starts with), in:[a,b], null, !null.
 */
export const FILTER_OPERATORS = [
  'eq',
  '!eq',
  'ne',
  'like',
  'ilike',
  '$like',
  '^like',
  'in',
  'null',
  '!null',
] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

export interface ParsedFilter {
  /** The stored property (`displayName` is filtered as `name`). */
  property: string;
  /**
   * `atMost` (integer at most `value`) and `pathThrough` (an org unit `path` that passes through one
   * of the UIDs in `value`: the unit is one of them or below one) are not `filter=` operators; the
   * org unit list parameters (`maxLevel`, `withinUserHierarchy`) are translated into them.
   */
  operator:
    'eq' | 'ne' | 'like' | 'ilike' | 'in' | 'null' | '!null' | 'startsWith' | 'atMost' | 'pathThrough';
  value?: string | readonly string[];
}

const SCALAR_KINDS = new Set(['string', 'text', 'integer', 'number', 'boolean', 'date', 'enum']);
/** Display properties map to what they are computed from. */
const ALIASES: Readonly<Record<string, string>> = { displayName: 'name', displayShortName: 'shortName' };
const MAX_IN_VALUES = 10_000;

/** Properties of a type that `filter=` accepts, for error messages and docs. */
export function filterableProperties(schema: SchemaDescriptor): string[] {
  const names = schema.properties
    .filter((p) => SCALAR_KINDS.has(p.kind) || p.kind === 'reference')
    .map((p) => p.name);
  if (schema.properties.some((p) => p.name === 'name')) names.push('displayName');
  if (schema.properties.some((p) => p.name === 'shortName')) names.push('displayShortName');
  return names;
}

export function parseMetadataFilter(expression: string, schema: SchemaDescriptor): ParsedFilter {
  const first = expression.indexOf(':');
  if (first <= 0)
    throw new MetadataQueryError('F1022', ['filter', expression, 'expected property:operator[:value]']);
  const name = expression.slice(0, first);
  const second = expression.indexOf(':', first + 1);
  const operatorText = second === -1 ? expression.slice(first + 1) : expression.slice(first + 1, second);
  // The value is everything after the second colon, so values may contain colons (times, codes).
  const value = second === -1 ? undefined : expression.slice(second + 1);

  // Own properties only: `filter=constructor:eq:x` must not find Object's constructor.
  const stored = Object.hasOwn(ALIASES, name) ? ALIASES[name] : name;
  const property = schema.properties.find((p) => p.name === stored);
  const scalar = property && SCALAR_KINDS.has(property.kind);
  if (!property || (!scalar && property.kind !== 'reference')) {
    throw new MetadataQueryError('F1020', [
      name,
      `filter=${expression}`,
      schema.collection,
      filterableProperties(schema).join(', '),
    ]);
  }
  if (!(FILTER_OPERATORS as readonly string[]).includes(operatorText)) {
    throw new MetadataQueryError('F1021', [
      operatorText,
      `filter=${expression}`,
      FILTER_OPERATORS.join(', '),
    ]);
  }
  const operator = operatorText as FilterOperator;
  if (!scalar && operator !== 'null' && operator !== '!null') {
    throw new MetadataQueryError('F1022', [
      'filter',
      expression,
      `reference \`${name}\` can only be tested with null or !null`,
    ]);
  }
  if (operator === 'null' || operator === '!null') return { property: stored, operator };
  if (value === undefined)
    throw new MetadataQueryError('F1022', ['filter', expression, `operator \`${operator}\` needs a value`]);
  switch (operator) {
    case 'eq':
      return { property: stored, operator: 'eq', value };
    case '!eq':
    case 'ne':
      return { property: stored, operator: 'ne', value };
    case 'like':
    case 'ilike':
      return { property: stored, operator: 'ilike', value };
    case '$like':
    case '^like':
      return { property: stored, operator: 'startsWith', value };
    case 'in': {
      const match = /^\[(.*)\]$/s.exec(value);
      if (!match)
        throw new MetadataQueryError('F1022', ['filter', expression, 'in needs a list such as [a,b,c]']);
      const values = match[1].split(',').filter((v) => v.length > 0);
      if (values.length > MAX_IN_VALUES) {
        throw new MetadataQueryError('F1022', ['filter', expression, `more than ${MAX_IN_VALUES} values`]);
      }
      return { property: stored, operator: 'in', value: values };
    }
  }
}
