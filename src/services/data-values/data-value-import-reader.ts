import type { DataValueItem } from '../../domain/data-values/data-value-input.ts';
import { INPUT_LIMITS } from '../../codecs/input/input-limits.ts';
import { openInput, type BytesReadListener } from '../../codecs/input/open-input.ts';
import {
  decoderForContentType,
  decoderForFileName,
  decoderForFormat,
  DATA_VALUE_DECODERS,
  type DataValueDecoder,
  type DataValueItemChunk,
} from '../../codecs/data-value-decoders.ts';
import { FerryError } from '../../errors.ts';
import type { DataValueImportSource } from './data-value-import-types.ts';

// The first stage of a data value import: which decoder reads the file, and the file opened
// (gzip or zip unwrapped) and decoded into items as they are pulled.

/** The decoder for the file: `format` if given, else its content type, else its file name. */
export function pickDecoder(source: DataValueImportSource): DataValueDecoder {
  if (source.format) {
    const decoder = decoderForFormat(source.format);
    if (!decoder) {
      throw new FerryError('F1000', [
        'format',
        source.format,
        DATA_VALUE_DECODERS.map((d) => d.format).join(', '),
      ]);
    }
    return decoder;
  }
  const decoder = decoderForContentType(source.contentType) ?? decoderForFileName(source.fileName);
  if (!decoder) throw new FerryError('F1003', [source.contentType ?? source.fileName]);
  return decoder;
}

/**
 * Opens the spooled file (an unreadable or bad archive throws InputError here, before any
 * transaction) and returns a function that starts decoding it. Nothing is read until the items
 * are iterated; the file is never held whole.
 */
export async function openDataValueFile(
  source: DataValueImportSource,
  decoder: DataValueDecoder,
  firstRowIsHeader: boolean,
  onBytesRead: BytesReadListener | undefined,
): Promise<() => AsyncIterable<DataValueItemChunk>> {
  const opened = await openInput(source.path, source.fileName, { onBytesRead });
  return () =>
    decoder.decode(
      { path: source.path, fileName: source.fileName, chunks: opened.chunks },
      { firstRowIsHeader, limits: { ...INPUT_LIMITS } },
    );
}

/** Decoders yield single items or (for speed) arrays of them; the importer takes both. */
export function isItemArray(chunk: DataValueItemChunk): chunk is readonly DataValueItem[] {
  return Array.isArray(chunk);
}
