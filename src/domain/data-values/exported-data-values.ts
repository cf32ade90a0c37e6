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

/** Every field, in DHIS2's JSON and XML attribute order. */
export const FULL_EXPORT_FIELDS: readonly ExportField[] = EXPORT_FIELDS;

/** Separators of packed rows: ASCII unit and record separators, which no identifier contains. */
export const FIELD_SEPARATOR = '\x1f';
export const ROW_SEPARATOR = '\x1e';

/**
 * A chunk of exported rows. `packed`, when present, holds the rows as text, fields joined by
 * FIELD_SEPARATOR and rows by ROW_SEPARATOR, and is guaranteed free of separators inside fields;
 * `rows()` gives them split. Booleans are `true`/`false`; absent text is the empty string.
 */
export interface ExportRowChunk {
  readonly count: number;
  readonly packed?: string;
  rows(): string[][];
}

/** Set-level information an encoder may write in its header. */
export interface ExportHeader {
  /** For ADX's `exported` attribute. */
  exported: string;
}
