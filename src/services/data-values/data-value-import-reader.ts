import { stat } from 'node:fs/promises';
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
import { decodeOnThread, THREAD_DECODED_FORMATS } from './data-value-import-decode-thread.ts';
import type { DataValueImportSource } from './data-value-import-types.ts';

// The first stage of a data value import: which decoder reads the file, and the file opened
// (gzip or zip unwrapped) and decoded into items as they are pulled, on a thread of its own for a
// large file.

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
 * Files at least this large on disk are decoded on a thread of their own (`decodeThread: 'auto'`).
 * None for now: with the thread, the async import of 2,500,000 values on SQLite
 * (test/e2e/async-import-progress) left a 2.8-4.5 s gap between progress events where the test
 * allows 2 s, and inline it does not; until that is understood the thread is opt-in
 * (`decodeThread: 'always'`, the bench's FERRY_BENCH_DECODE_THREAD=always). Once on, 1 MiB is the
 * size to use: a thread costs tens of milliseconds to start (hundreds on a loaded machine).
 */
export const DECODE_THREAD_MIN_BYTES = Number.POSITIVE_INFINITY;

/** A file opened for decoding; `close` releases its decoding thread, if it has one. */
export interface OpenedDataValueFile {
  items(): AsyncIterable<DataValueItemChunk>;
  close(): Promise<void>;
}

/**
 * Opens the spooled file for decoding; nothing is decoded until the items are iterated, and the
 * file is never held whole. A large file of a text format (see `DECODE_THREAD_MIN_BYTES`) is
 * opened and decoded on a thread of its own while this one writes; its unreadable or bad archive
 * fails the first pull of the items. Otherwise it is opened here (a bad archive throws InputError
 * now, before any transaction) and decoded as it is pulled. `thread` forces either way (tests).
 */
export async function openDataValueFile(
  source: DataValueImportSource,
  decoder: DataValueDecoder,
  firstRowIsHeader: boolean,
  onBytesRead: BytesReadListener | undefined,
  thread: 'auto' | 'always' | 'never' = 'auto',
): Promise<OpenedDataValueFile> {
  const threaded =
    THREAD_DECODED_FORMATS.has(decoder.format) &&
    (thread === 'always' || (thread === 'auto' && (await fileSize(source.path)) >= DECODE_THREAD_MIN_BYTES));
  if (threaded) {
    return decodeOnThread(source, decoder.format, firstRowIsHeader, { ...INPUT_LIMITS }, onBytesRead);
  }
  const opened = await openInput(source.path, source.fileName, { onBytesRead });
  return {
    items: () =>
      decoder.decode(
        { path: source.path, fileName: source.fileName, chunks: opened.chunks },
        { firstRowIsHeader, limits: { ...INPUT_LIMITS } },
      ),
    close: async () => undefined,
  };
}

/** The size on disk, or 0 when it can't be read (openInput then reports why, inline). */
async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Decoders yield single items or (for speed) arrays of them; the importer takes both. */
export function isItemArray(chunk: DataValueItemChunk): chunk is readonly DataValueItem[] {
  return Array.isArray(chunk);
}
