import type { DataValueItem } from '../domain/data-values/data-value-input.ts';
import type { IdScheme } from '../domain/identifiers/id-scheme.ts';
import type { InputLimits } from './input/input-limits.ts';

// The types every data value decoder shares; the registry (data-value-decoders.ts) imports the
// decoders, and the decoders take their types from here, so neither imports the other.

export interface DataValueDecodeInput {
  /** The spooled upload on disk (PDF needs random access); `chunks` is its decompressed content. */
  path: string;
  fileName: string;
  chunks: AsyncIterable<Uint8Array>;
}

export interface DataValueDecodeOptions {
  /** CSV: whether the first row names the columns (DHIS2's `firstRowIsHeader`, default true). */
  firstRowIsHeader: boolean;
  limits: InputLimits;
}

/**
 * What a decoder yields: items one by one, or (faster for millions of rows) arrays of items in file
 * order. The importer accepts both.
 */
export type DataValueItemChunk = DataValueItem | readonly DataValueItem[];

export interface DataValueDecoder {
  /** Short name used by `--format` and in messages: json, csv, xml, adx, pdf. */
  readonly format: string;
  /** Media types it answers to (lower case, no parameters). */
  readonly contentTypes: readonly string[];
  /** File name endings it is picked by when no content type is given (the CLI), longest first. */
  readonly fileExtensions: readonly string[];
  /** The format's own default id scheme (ADX: CODE); absent means UID. */
  readonly defaultIdScheme?: IdScheme;
  decode(input: DataValueDecodeInput, options: DataValueDecodeOptions): AsyncIterable<DataValueItemChunk>;
}
