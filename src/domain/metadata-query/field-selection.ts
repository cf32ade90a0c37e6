import { MetadataQueryError } from './metadata-query-error.ts';

/**
 * DHIS2's `fields=` parameter, parsed: `id,name,code`, `*` / `:all`, `:owner`, `:identifiable`,
 * `:nameable`, exclusions `!code`, and nested selections on references and embedded objects
 * `categoryCombo[id,name]` (or with parentheses), and the `::size` transformer (`children::size`,
 * which DHIS2's org unit tree asks for). Other transformers (`~rename`, `::isNotEmpty`) are
 * refused by name.
 */
export interface FieldSelection {
  /** `*` or `:all`: every property the object has. */
  readonly all: boolean;
  /** `:owner`: every property the type owns (what an import would read back). */
  readonly owner: boolean;
  /** Named fields, in the order given; a nested selection where one was given. */
  readonly fields: ReadonlyMap<string, FieldSelection | true>;
  readonly excluded: ReadonlySet<string>;
  /** `name::size`: these named fields are answered with their collection's size, not its items. */
  readonly sizes?: ReadonlySet<string>;
}

/** Bounds on a hostile `fields=`: each nesting level can cost a query per referenced type. */
export const MAX_FIELDS_LENGTH = 4096;
export const MAX_FIELDS_DEPTH = 5;

// A Map, not an object: `fields=` is user text, and `'__proto__' in {}` or `'toString' in {}` is true.
const PRESETS: ReadonlyMap<string, readonly string[]> = new Map([
  [':identifiable', ['id', 'code', 'name', 'displayName', 'created', 'lastUpdated']],
  [
    ':nameable',
    [
      'id',
      'code',
      'name',
      'displayName',
      'shortName',
      'displayShortName',
      'description',
      'created',
      'lastUpdated',
    ],
  ],
]);

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const SIZE_FIELD = /^([A-Za-z][A-Za-z0-9]*)::size$/;

export const DEFAULT_LIST_FIELDS = 'id,displayName';
export const DEFAULT_OBJECT_FIELDS = '*';

export function parseFieldSelection(expression: string): FieldSelection {
  if (expression.length > MAX_FIELDS_LENGTH) {
    throw new MetadataQueryError('F1022', [
      'fields',
      expression.slice(0, 40) + '…',
      `longer than ${MAX_FIELDS_LENGTH} characters`,
    ]);
  }
  return parseLevel(expression, expression, 1);
}

function parseLevel(text: string, whole: string, depth: number): FieldSelection {
  if (depth > MAX_FIELDS_DEPTH)
    throw new MetadataQueryError('F1022', ['fields', whole, `nested deeper than ${MAX_FIELDS_DEPTH} levels`]);
  let all = false;
  let owner = false;
  const fields = new Map<string, FieldSelection | true>();
  const excluded = new Set<string>();
  const sizes = new Set<string>();
  for (const item of splitTopLevel(text, whole)) {
    const trimmed = item.trim();
    if (trimmed === '') continue;
    if (trimmed === '*' || trimmed === ':all') {
      all = true;
    } else if (trimmed === ':owner') {
      owner = true;
    } else if (SIZE_FIELD.test(trimmed)) {
      const name = SIZE_FIELD.exec(trimmed)![1];
      if (!fields.has(name)) fields.set(name, true);
      sizes.add(name);
    } else if (PRESETS.has(trimmed)) {
      for (const name of PRESETS.get(trimmed)!) if (!fields.has(name)) fields.set(name, true);
    } else if (trimmed.startsWith('!')) {
      const name = trimmed.slice(1);
      if (!FIELD_NAME.test(name))
        throw new MetadataQueryError('F1022', ['fields', whole, `\`${trimmed}\` is not a field`]);
      excluded.add(name);
    } else {
      const open = trimmed.search(/[[(]/);
      const name = open === -1 ? trimmed : trimmed.slice(0, open);
      if (!FIELD_NAME.test(name)) {
        const reason = name.startsWith(':')
          ? `unknown preset \`${name}\` (known: *, :all, :owner, :identifiable, :nameable)`
          : `\`${trimmed}\` is not a field name (transformers such as ~rename are not supported; ::size is)`;
        throw new MetadataQueryError('F1022', ['fields', whole, reason]);
      }
      if (open === -1) {
        if (!fields.has(name)) fields.set(name, true);
      } else {
        const close = trimmed.at(-1);
        if (close !== (trimmed[open] === '[' ? ']' : ')')) {
          throw new MetadataQueryError('F1022', ['fields', whole, `\`${trimmed}\` has an unclosed bracket`]);
        }
        fields.set(name, parseLevel(trimmed.slice(open + 1, -1), whole, depth + 1));
      }
    }
  }
  return { all, owner, fields, excluded, ...(sizes.size > 0 ? { sizes } : {}) };
}

/** Splits on commas outside brackets; refuses unbalanced brackets. */
function splitTopLevel(text: string, whole: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth < 0) throw new MetadataQueryError('F1022', ['fields', whole, `unexpected \`${c}\``]);
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) throw new MetadataQueryError('F1022', ['fields', whole, 'unbalanced brackets']);
  parts.push(text.slice(start));
  return parts;
}

/** DHIS2's computed display properties, derived from stored ones (Ferry has no translations yet). */
export function displayProperty(object: Record<string, unknown>, name: string): unknown {
  switch (name) {
    case 'displayName':
      return object.displayName ?? object.name;
    case 'displayShortName':
      return object.displayShortName ?? object.shortName ?? object.name;
    case 'displayFormName':
      return object.displayFormName ?? object.formName ?? object.name;
    case 'displayDescription':
      return object.displayDescription ?? object.description;
    default:
      return undefined;
  }
}
