import type { SchemaDescriptor } from '../../domain/schema/schema-types.ts';
import { neutraliseFormula } from '../csv/spreadsheet-safe.ts';

type StoredObject = Record<string, unknown> & { id: string };

/** One cell; with `escapeFormulas`, text a spreadsheet would run as a formula gets a leading `'`. */
export function csvField(value: unknown, escapeFormulas = false): string {
  if (value === undefined || value === null) return '';
  const text = escapeFormulas ? neutraliseFormula(String(value)) : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** DHIS2's column names, in order, as a header row (DHIS2 imports skip it by default). */
export function csvHeader(schema: SchemaDescriptor): string {
  return `${(schema.csvColumns ?? []).join(',')}\n`;
}

/**
 * An object as DHIS2 metadata CSV rows, the inverse of the decoder: one row, or one row per option
 * for option sets and option groups. `lookups` holds referenced options (and option sets) by UID.
 * `escapeFormulas` is for a file meant for a spreadsheet (see `neutraliseFormula`); without it the
 * rows re-import exactly.
 */
export function objectToCsvRows(
  schema: SchemaDescriptor,
  object: StoredObject,
  lookups: ReadonlyMap<string, StoredObject>,
  { escapeFormulas = false }: { escapeFormulas?: boolean } = {},
): string {
  const columns = schema.csvColumns ?? [];
  const cell = (column: string, option?: StoredObject): unknown => {
    if (column === 'uid') return object.id;
    if (column === 'optionName') return option?.name;
    if (column === 'optionUid') return option?.id;
    if (column === 'optionCode') return option?.code;
    if (column === 'latitude' || column === 'longitude') {
      const geometry = object.geometry as { type?: string; coordinates?: number[] } | undefined;
      if (geometry?.type !== 'Point' || !geometry.coordinates) return undefined;
      return column === 'latitude' ? geometry.coordinates[1] : geometry.coordinates[0];
    }
    const side = /^(left|right)Side(Expression|Description|MissingValueStrategy)$/.exec(column);
    if (side) {
      const part = object[`${side[1]}Side`] as Record<string, unknown> | undefined;
      return part?.[side[2][0].toLowerCase() + side[2].slice(1)];
    }
    if (column.endsWith('Uid') || column.endsWith('Code')) {
      const suffix = column.endsWith('Uid') ? 'Uid' : 'Code';
      const property = column.slice(0, -suffix.length);
      const ref = object[property] as { id?: string } | undefined;
      if (suffix === 'Uid') return ref?.id;
      return ref?.id ? lookups.get(ref.id)?.code : undefined;
    }
    const value = object[column];
    if (value && typeof value === 'object') return (value as { id?: unknown }).id;
    return value;
  };
  const row = (option?: StoredObject) =>
    `${columns.map((c) => csvField(cell(c, option), escapeFormulas)).join(',')}\n`;
  if (schema.collection === 'optionSets' || schema.collection === 'optionGroups') {
    const options = ((object.options as Array<{ id: string }> | undefined) ?? [])
      .map((r) => lookups.get(r.id))
      .filter((o): o is StoredObject => o !== undefined);
    if (options.length > 0) return options.map((o) => row(o)).join('');
  }
  return row();
}
