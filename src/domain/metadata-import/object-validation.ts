import type { PropertyDescriptor, SchemaDescriptor, SchemaRegistry } from '../schema/schema-types.ts';
import { isValidUid } from '../identifiers/uid.ts';
import { errorReport, type ErrorReport } from './import-report.ts';

const DATE_PATTERN =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * The checks that need nothing but the object and its schema: required properties (E4000), UID
 * format of the id and of referenced ids (E4014), maximum lengths (E4001), enum values and
 * property kinds (E6020, E6021), recursing into embedded objects. References are resolved by the
 * importer, which knows the payload and the database.
 */
export function validateObjectShape(
  registry: SchemaRegistry,
  schema: SchemaDescriptor,
  object: Record<string, unknown>,
  main: { klass: string; uid?: string },
  prefix = '',
): ErrorReport[] {
  const errors: ErrorReport[] = [];
  const context = (property: string, value?: unknown) => ({
    mainKlass: main.klass,
    mainId: main.uid,
    errorKlass: schema.klass,
    errorProperty: prefix + property,
    ...(value !== undefined ? { value: String(value) } : {}),
  });
  if (schema.identifiable && object.id !== undefined && !isValidUid(object.id)) {
    errors.push(errorReport('E4014', [String(object.id), 'id'], context('id', object.id)));
  }
  for (const property of schema.properties) {
    const value = object[property.name];
    if (value === undefined || value === null || value === '') {
      if (property.required && !property.computed) {
        errors.push(errorReport('E4000', [prefix + property.name], context(property.name)));
      }
      continue;
    }
    errors.push(...checkKind(registry, property, value, main, prefix, context));
  }
  return errors;
}

function checkKind(
  registry: SchemaRegistry,
  property: PropertyDescriptor,
  value: unknown,
  main: { klass: string; uid?: string },
  prefix: string,
  context: (property: string, value?: unknown) => Parameters<typeof errorReport>[2],
): ErrorReport[] {
  const name = property.name;
  const wrong = (expected: string): ErrorReport[] => [
    errorReport('E6021', [prefix + name, shorten(value), expected], context(name, shorten(value))),
  ];
  switch (property.kind) {
    case 'string':
    case 'text':
      if (typeof value !== 'string') return wrong('text');
      if (property.maxLength !== undefined && value.length > property.maxLength && name !== 'id') {
        return [
          errorReport(
            'E4001',
            [prefix + name, property.maxLength, value.length],
            context(name, shorten(value)),
          ),
        ];
      }
      return [];
    case 'integer':
      return Number.isInteger(value) ? [] : wrong('an integer');
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [] : wrong('a number');
    case 'boolean':
      return typeof value === 'boolean' ? [] : wrong('true or false');
    case 'date':
      return typeof value === 'string' && DATE_PATTERN.test(value) ? [] : wrong('a date (yyyy-MM-dd)');
    case 'enum':
      return typeof value === 'string' && property.enumValues?.includes(value)
        ? []
        : [
            errorReport(
              'E6020',
              [prefix + name, shorten(value), (property.enumValues ?? []).join(', ')],
              context(name, shorten(value)),
            ),
          ];
    case 'stringList':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? [] : wrong('a list of text');
    case 'reference':
      return checkReferenceShape(value, name, prefix, context);
    case 'references':
      if (!Array.isArray(value)) return wrong('a list of references');
      return value.flatMap((item) => checkReferenceShape(item, name, prefix, context));
    case 'embedded':
    case 'embeddedList': {
      const itemSchema = property.itemSchema ? registry.byCollection(property.itemSchema) : undefined;
      const items = property.kind === 'embeddedList' ? value : [value];
      if (!Array.isArray(items)) return wrong('a list of objects');
      const out: ErrorReport[] = [];
      for (const item of items) {
        if (!item || typeof item !== 'object' || Array.isArray(item)) return wrong('objects');
        if (itemSchema) {
          out.push(
            ...validateObjectShape(
              registry,
              itemSchema,
              item as Record<string, unknown>,
              main,
              `${prefix}${name}.`,
            ),
          );
        }
      }
      return out;
    }
    case 'geometry':
      return typeof value === 'object' && !Array.isArray(value) ? [] : wrong('a GeoJSON geometry');
    case 'json':
      return [];
  }
}

function checkReferenceShape(
  value: unknown,
  name: string,
  prefix: string,
  context: (property: string, value?: unknown) => Parameters<typeof errorReport>[2],
): ErrorReport[] {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return [
      errorReport(
        'E6021',
        [prefix + name, shorten(value), 'a reference {"id": ...}'],
        context(name, shorten(value)),
      ),
    ];
  }
  const id = (value as { id?: unknown }).id;
  const code = (value as { code?: unknown }).code;
  if (id === undefined && typeof code === 'string') return [];
  if (!isValidUid(id)) return [errorReport('E4014', [String(id), prefix + name], context(name, String(id)))];
  return [];
}

function shorten(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 100 ? `${text.slice(0, 97)}...` : text;
}

/** DHIS2's value type check for an attribute value (E6004); text-like types accept anything. */
export function isValidAttributeValue(valueType: string, value: string): boolean {
  switch (valueType) {
    case 'NUMBER':
    case 'UNIT_INTERVAL':
    case 'PERCENTAGE': {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) return false;
      if (valueType === 'UNIT_INTERVAL') return n >= 0 && n <= 1;
      if (valueType === 'PERCENTAGE') return n >= 0 && n <= 100;
      return true;
    }
    case 'INTEGER':
      return /^[+-]?\d+$/.test(value);
    case 'INTEGER_POSITIVE':
      return /^\+?\d+$/.test(value) && Number(value) > 0;
    case 'INTEGER_NEGATIVE':
      return /^-\d+$/.test(value) && Number(value) < 0;
    case 'INTEGER_ZERO_OR_POSITIVE':
      return /^\+?\d+$/.test(value);
    case 'BOOLEAN':
      return value === 'true' || value === 'false';
    case 'TRUE_ONLY':
      return value === 'true';
    case 'DATE':
      return /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value));
    case 'DATETIME':
      return DATE_PATTERN.test(value) && !Number.isNaN(Date.parse(value));
    case 'TIME':
      return /^([01]\d|2[0-3]):[0-5]\d$/.test(value);
    case 'EMAIL':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
    case 'URL':
      return /^https?:\/\/\S+$/.test(value);
    case 'PHONE_NUMBER':
      return /^[+0-9 ()\-.]{3,50}$/.test(value);
    case 'ORGANISATION_UNIT':
    case 'FILE_RESOURCE':
    case 'IMAGE':
      return isValidUid(value);
    default:
      return true;
  }
}
