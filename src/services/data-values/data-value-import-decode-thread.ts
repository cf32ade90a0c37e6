import { Worker } from 'node:worker_threads';
import type { DataValueItem } from '../../domain/data-values/data-value-input.ts';
import type { BytesReadListener } from '../../codecs/input/open-input.ts';
import type { InputLimits } from '../../codecs/input/input-limits.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { FerryError, type ErrorCode } from '../../errors.ts';
import { readDataValueItemBatch, type DataValueItemBatch } from './data-value-import-item-batch.ts';

// The import's side of the decoding thread (data-value-import-decode-worker.ts): an import uses
// both cores, one decoding the file while the other resolves, validates and writes. The items
// arrive in compact batches (data-value-import-item-batch.ts); every batch taken gives the thread
// one credit for the next, so no more than BATCHES_AHEAD batches wait between the two threads and
// memory stays flat whatever the file's size.

/** Batches the decoding thread may post before the import takes one. */
const BATCHES_AHEAD = 4;

/** The formats the thread decodes; the others (PDF forms) are decoded inline. */
export const THREAD_DECODED_FORMATS: ReadonlySet<string> = new Set(['csv', 'json', 'xml', 'adx']);

export interface DecodeWorkerData {
  path: string;
  fileName: string;
  format: string;
  firstRowIsHeader: boolean;
  limits: InputLimits;
  reportBytesRead: boolean;
  batchesAhead: number;
}

/** An error of the decoding thread, sent as data: an Error loses its class crossing threads. */
export type ThreadError =
  | {
      kind: 'input';
      message: string;
      stack?: string;
      fileName: string;
      line?: number;
      column?: number;
      byteOffset?: number;
    }
  | { kind: 'ferry'; code: string; args: readonly string[]; details?: unknown }
  | { kind: 'other'; message: string; stack?: string };

export type DecodeThreadMessage =
  | { type: 'batch'; batch: DataValueItemBatch; bytesRead: [number, number] | undefined }
  | { type: 'end'; bytesRead: [number, number] | undefined }
  | { type: 'error'; error: ThreadError; bytesRead: [number, number] | undefined };

export function serializeThreadError(error: unknown): ThreadError {
  if (error instanceof InputError) {
    return {
      kind: 'input',
      message: error.message,
      stack: error.stack,
      fileName: error.fileName,
      line: error.line,
      column: error.column,
      byteOffset: error.byteOffset,
    };
  }
  if (error instanceof FerryError) {
    return { kind: 'ferry', code: error.code, args: error.args, details: error.details };
  }
  const e = error instanceof Error ? error : new Error(String(error));
  return { kind: 'other', message: e.message, stack: e.stack };
}

/** The error as the decoder threw it: an InputError stays one, with the same message and place. */
export function reviveThreadError(error: ThreadError): Error {
  if (error.kind === 'ferry') return new FerryError(error.code as ErrorCode, error.args, error.details);
  const revived =
    error.kind === 'input'
      ? new InputError(error.fileName, '', {
          line: error.line,
          column: error.column,
          byteOffset: error.byteOffset,
        })
      : new Error(error.message);
  revived.message = error.message;
  if (error.stack) revived.stack = error.stack;
  return revived;
}

export interface DecodingThread {
  /** The file's items; iterate once. */
  items(): AsyncIterable<readonly DataValueItem[]>;
  /** Stops the thread (at the end, or when the import stops early). */
  close(): Promise<void>;
}

/**
 * Starts decoding `path` as `format` on a thread of its own. Nothing is awaited here: the thread
 * starts while the import begins its transaction and loads metadata, and a file that can't be
 * opened fails the first pull of `items()` with the InputError the inline decoder would throw.
 */
export function decodeOnThread(
  source: { path: string; fileName: string },
  format: string,
  firstRowIsHeader: boolean,
  limits: InputLimits,
  onBytesRead: BytesReadListener | undefined,
): DecodingThread {
  const data: DecodeWorkerData = {
    path: source.path,
    fileName: source.fileName,
    format,
    firstRowIsHeader,
    limits,
    reportBytesRead: onBytesRead !== undefined,
    batchesAhead: BATCHES_AHEAD,
  };
  const worker = new Worker(new URL('./data-value-import-decode-worker.ts', import.meta.url), {
    workerData: data,
  });
  const queue: DecodeThreadMessage[] = [];
  let failure: Error | undefined;
  let finished = false;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (message: DecodeThreadMessage) => {
    queue.push(message);
    notify();
  });
  worker.on('error', (error: Error) => {
    failure ??= error;
    notify();
  });
  worker.on('exit', (code) => {
    // Messages posted before the exit are delivered before this event.
    if (!finished) failure ??= new Error(`the decoding thread stopped (exit code ${code})`);
    notify();
  });

  async function* items(): AsyncIterable<readonly DataValueItem[]> {
    for (;;) {
      while (queue.length === 0) {
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
      }
      const message = queue.shift()!;
      if (message.bytesRead && onBytesRead) onBytesRead(message.bytesRead[0], message.bytesRead[1]);
      if (message.type === 'error') {
        finished = true;
        throw reviveThreadError(message.error);
      }
      if (message.type === 'end') {
        finished = true;
        return;
      }
      worker.postMessage({ credit: 1 });
      yield readDataValueItemBatch(message.batch);
    }
  }

  return {
    items,
    async close() {
      finished = true;
      await worker.terminate();
    },
  };
}
