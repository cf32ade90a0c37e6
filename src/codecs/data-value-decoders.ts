import type { DataValueDecoder } from './data-value-decoder-types.ts';
import { csvDataValueDecoder } from './data-value-csv/csv-data-value-decoder.ts';
import { jsonDataValueDecoder } from './data-value-json/json-data-value-decoder.ts';
import { xmlDataValueDecoder } from './data-value-xml/xml-data-value-decoder.ts';
import { adxDataValueDecoder } from './adx/adx-decoder.ts';
import { pdfFormDecoder } from './pdf-form/pdf-form-decoder.ts';

export type {
  DataValueDecodeInput,
  DataValueDecodeOptions,
  DataValueDecoder,
  DataValueItemChunk,
} from './data-value-decoder-types.ts';

/**
 * The registry of data value decoders behind `POST /api/dataValueSets` and `ferry import data`.
 * A decoder turns the (already decompressed) bytes of a file into `DataValueItem`s. To add a
 * format, write a `DataValueDecoder` and list it in `DATA_VALUE_DECODERS`; nothing else changes.
 */
export const DATA_VALUE_DECODERS: readonly DataValueDecoder[] = [
  jsonDataValueDecoder,
  csvDataValueDecoder,
  xmlDataValueDecoder,
  adxDataValueDecoder,
  pdfFormDecoder,
];

/** The decoder for a media type (`application/json; charset=utf-8` → json), or undefined. */
export function decoderForContentType(contentType: string | undefined): DataValueDecoder | undefined {
  if (!contentType) return undefined;
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  return DATA_VALUE_DECODERS.find((decoder) => decoder.contentTypes.includes(mediaType));
}

/** The decoder for a `--format` name, or undefined. */
export function decoderForFormat(format: string): DataValueDecoder | undefined {
  const lower = format.toLowerCase();
  return DATA_VALUE_DECODERS.find((decoder) => decoder.format === lower);
}

/** The decoder a file name suggests (`x.csv.gz` → csv, `x.adx.xml` → adx), or undefined. */
export function decoderForFileName(fileName: string): DataValueDecoder | undefined {
  const lower = fileName.toLowerCase().replace(/\.(gz|zip)$/, '');
  let best: { decoder: DataValueDecoder; length: number } | undefined;
  for (const decoder of DATA_VALUE_DECODERS) {
    for (const extension of decoder.fileExtensions) {
      if (lower.endsWith(extension) && (!best || extension.length > best.length)) {
        best = { decoder, length: extension.length };
      }
    }
  }
  return best?.decoder;
}
