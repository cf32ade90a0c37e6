import { neutraliseFormula } from '../csv/spreadsheet-safe.ts';
import { geoJsonToWkt } from './wkt-encoder.ts';

/**
 * DHIS2's tracked entity CSV (`GET /api/tracker/trackedEntities.csv`, `CsvTrackedEntity.java`): one
 * row per attribute value, the entity's own columns repeated on each; an entity without attribute
 * values is one row with the attribute columns empty. Column order as DHIS2 2.41 writes them.
 */
export const TRACKED_ENTITY_CSV_COLUMNS = [
  'trackedEntity',
  'trackedEntityType',
  'createdAt',
  'createdAtClient',
  'updatedAt',
  'updatedAtClient',
  'orgUnit',
  'inactive',
  'deleted',
  'potentialDuplicate',
  'geometry',
  'latitude',
  'longitude',
  'createdBy',
  'updatedBy',
  'attrCreatedAt',
  'attrUpdatedAt',
  'attribute',
  'displayName',
  'value',
  'valueType',
] as const;

function cell(value: unknown, escapeFormulas: boolean): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // An exchange file stays exact; one for a spreadsheet gets OWASP's ' (docs/security.md).
  if (escapeFormulas) text = neutraliseFormula(text);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const username = (user: unknown): unknown => (user as { username?: unknown } | null | undefined)?.username;

/**
 * The CSV lines of a batch of tracked entities as the JSON export shapes them (`attributes` read).
 * `escapeFormulas` is for a file meant for a spreadsheet; without it values are written exactly.
 */
export function trackedEntityCsvLines(
  entities: readonly Record<string, unknown>[],
  { escapeFormulas = false }: { escapeFormulas?: boolean } = {},
): string {
  const c = (value: unknown) => cell(value, escapeFormulas);
  let out = '';
  for (const te of entities) {
    const geometry = te.geometry as { type?: string; coordinates?: unknown } | null | undefined;
    const point =
      geometry?.type === 'Point' && Array.isArray(geometry.coordinates)
        ? (geometry.coordinates as unknown[])
        : undefined;
    const head = [
      te.trackedEntity,
      te.trackedEntityType,
      te.createdAt,
      te.createdAtClient,
      te.updatedAt,
      te.updatedAtClient,
      te.orgUnit,
      te.inactive,
      te.deleted,
      te.potentialDuplicate,
      geoJsonToWkt(geometry),
      point?.[1],
      point?.[0],
      username(te.createdBy),
      username(te.updatedBy),
    ].map(c);
    const attributes = (te.attributes as Record<string, unknown>[] | undefined) ?? [];
    for (const a of attributes.length > 0 ? attributes : [undefined]) {
      const tail = [a?.createdAt, a?.updatedAt, a?.attribute, a?.displayName, a?.value, a?.valueType].map(c);
      out += `${[...head, ...tail].join(',')}\n`;
    }
  }
  return out;
}
