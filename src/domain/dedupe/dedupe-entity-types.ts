/**
 * The kinds of record a de-duplication pool entry can stand for, with stable numeric ids: the ids
 * are written in pool CSV files (`value,entity_type_id`) and so must never change or be reused.
 * Append new kinds at the end with the next id.
 *
 * Extension point: enrollments and each later wizard source get their key here; `keyFields` lists
 * the fields an import may name in `dedupeKey` (`<uid>` standing for a UID), and `usableInImports`
 * turns the kind on for `dedupeMode` once its import calls the pool (as the data value import does
 * through data-value-import-dedupe.ts, the tracker import for events and tracked entities through
 * tracker-import-dedupe.ts). Until then a pool may hold such keys (imported from a CSV file), but
 * no import checks them.
 */
export interface DedupeEntityType {
  readonly id: number;
  readonly code: string;
  readonly name: string;
  /** Fields a key may be built from, in the default key's order. */
  readonly keyFields: readonly string[];
  /** Whether an import of this kind can use a pool now. */
  readonly usableInImports: boolean;
}

export const DEDUPE_ENTITY_TYPES: readonly DedupeEntityType[] = [
  {
    id: 1,
    code: 'DATA_VALUE',
    name: 'Data value',
    keyFields: ['dataElement', 'period', 'orgUnit', 'categoryOptionCombo', 'attributeOptionCombo'],
    usableInImports: true,
  },
  {
    id: 2,
    code: 'EVENT',
    name: 'Event',
    // `dataElement:<uid>` stands for that data element's value (tracker-dedupe-key.ts).
    keyFields: [
      'event',
      'occurredAt',
      'scheduledAt',
      'orgUnit',
      'program',
      'programStage',
      'dataElement:<uid>',
    ],
    usableInImports: true,
  },
  {
    id: 3,
    code: 'TRACKED_ENTITY',
    name: 'Tracked entity',
    keyFields: ['trackedEntity', 'trackedEntityType', 'orgUnit', 'attribute:<uid>'],
    usableInImports: true,
  },
  { id: 4, code: 'ENROLLMENT', name: 'Enrollment', keyFields: ['enrollment'], usableInImports: false },
  {
    id: 5,
    code: 'ORGANISATION_UNIT',
    name: 'Organisation unit',
    keyFields: ['organisationUnit'],
    usableInImports: false,
  },
];

export const DATA_VALUE_ENTITY_TYPE = DEDUPE_ENTITY_TYPES[0];
export const EVENT_ENTITY_TYPE = DEDUPE_ENTITY_TYPES[1];
export const TRACKED_ENTITY_ENTITY_TYPE = DEDUPE_ENTITY_TYPES[2];

const BY_ID = new Map(DEDUPE_ENTITY_TYPES.map((type) => [type.id, type]));

export function dedupeEntityTypeById(id: number): DedupeEntityType | undefined {
  return BY_ID.get(id);
}

/** The entity types as the `.csv` download lists them: `id,code,name,key_fields`. */
export function entityTypesCsv(): string {
  const lines = ['id,code,name,key_fields'];
  for (const type of DEDUPE_ENTITY_TYPES) {
    lines.push(`${type.id},${type.code},${type.name},${type.keyFields.join('/')}`);
  }
  return `${lines.join('\n')}\n`;
}
