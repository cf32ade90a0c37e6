/**
 * What the data value export hands its encoders: rows of text fields in a fixed order, in chunks.
 * Shared by storage (which fills the chunks) and the codecs (which write them), so neither imports
 * the other.
 */

/** Fields an export can ask for, by DHIS2's names. */
export const EXPORT_FIELDS = [
  'dataElement',
  'period',
  'orgUnit',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'value',
  'storedBy',
  'created',
  'lastUpdated',
  'comment',
  'followUp',
  'deleted',
] as const;
export type ExportField = (typeof EXPORT_FIELDS)[number];

/** The fields DHIS2's CSV export writes, in its column order (no `created`). */
export const CSV_EXPORT_FIELDS: readonly ExportField[] = [
  'dataElement',
  'period',
  'orgUnit',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'value',
  'storedBy',
  'lastUpdated',
  'comment',
  'followUp',
  'deleted',
];

/** The fields ADX carries (identifiers, value and its flags; no audit fields). */
export const ADX_EXPORT_FIELDS: readonly ExportField[] = [
  'dataElement',
  'period',
  'orgUnit',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'value',
  'comment',
  'followUp',
  'deleted',
];

/** Every field, in DHIS2's JSON and XML attribute order. */
export const FULL_EXPORT_FIELDS: readonly ExportField[] = EXPORT_FIELDS;

/**
 * A chunk of exported rows: `rows()` gives each row's fields. Booleans are `true`/`false`; absent
 * text is the empty string. `joined`, when the source offers it, writes the whole chunk as one
 * string without an array per row: fields joined by `fieldSeparator`, each row ended by
 * `rowSeparator`, or undefined when some field's text matches `unsafe` (the caller must escape it).
 */
export interface ExportRowChunk {
  readonly count: number;
  rows(): string[][];
  joined?(fieldSeparator: string, rowSeparator: string, unsafe: RegExp): string | undefined;
}

/** Set-level information an encoder may write in its header. */
export interface ExportHeader {
  /** For ADX's `exported` attribute. */
  exported: string;
}
