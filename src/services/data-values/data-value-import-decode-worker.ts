import { parentPort, workerData } from 'node:worker_threads';
import { openInput } from '../../codecs/input/open-input.ts';
import type { DataValueDecoder } from '../../codecs/data-value-decoder-types.ts';
import type { InputLimits } from '../../codecs/input/input-limits.ts';
import { DataValueItemBatchWriter } from './data-value-import-item-batch.ts';
import {
  serializeThreadError,
  type DecodeThreadMessage,
  type DecodeWorkerData,
} from './data-value-import-decode-thread.ts';

// The decoding thread of a data value import (started by data-value-import-decode-thread.ts):
// opens the spooled file (gzip or zip unwrapped), runs the format's decoder and posts its items in
// compact batches, never more than the import's thread has credited it with, so a fast decoder
// waits for a slow database instead of filling memory.

/**
 * Each format's decoder module, imported alone: the decoder registry would also load the PDF
 * decoder's library, which costs a fresh thread hundreds of milliseconds to compile.
 */
const DECODERS: Record<string, () => Promise<DataValueDecoder>> = {
  csv: async () =>
    (await import('../../codecs/data-value-csv/csv-data-value-decoder.ts')).csvDataValueDecoder,
  json: async () =>
    (await import('../../codecs/data-value-json/json-data-value-decoder.ts')).jsonDataValueDecoder,
  xml: async () =>
    (await import('../../codecs/data-value-xml/xml-data-value-decoder.ts')).xmlDataValueDecoder,
  adx: async () => (await import('../../codecs/adx/adx-decoder.ts')).adxDataValueDecoder,
};

/** Items a batch holds before it is posted (about the importer's own batch of values). */
const BATCH_ITEMS = 2_000;

const port = parentPort!;
const data = workerData as DecodeWorkerData;
let credits = data.batchesAhead;
let wake: (() => void) | undefined;
port.on('message', (message: { credit: number }) => {
  credits += message.credit;
  wake?.();
  wake = undefined;
});

function post(message: DecodeThreadMessage, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

let bytesRead: [number, number] | undefined;

async function send(writer: DataValueItemBatchWriter): Promise<void> {
  while (credits <= 0) await new Promise<void>((resolve) => (wake = resolve));
  credits--;
  const batch = writer.take();
  post({ type: 'batch', batch, bytesRead }, [
    batch.codes.buffer as ArrayBuffer,
    batch.ends.buffer as ArrayBuffer,
  ]);
}

const writer = new DataValueItemBatchWriter();

async function run(): Promise<void> {
  const load = DECODERS[data.format];
  if (!load) throw new Error(`no decoding thread for the format ${data.format}`);
  const decoder = await load();
  const opened = await openInput(data.path, data.fileName, {
    onBytesRead: data.reportBytesRead ? (read, size) => (bytesRead = [read, size]) : undefined,
  });
  const items = decoder.decode(
    { path: data.path, fileName: data.fileName, chunks: opened.chunks },
    { firstRowIsHeader: data.firstRowIsHeader, limits: data.limits as InputLimits },
  );
  for await (const chunk of items) {
    if (Array.isArray(chunk)) for (const item of chunk) writer.add(item);
    else writer.add(chunk as never);
    if (writer.items >= BATCH_ITEMS) await send(writer);
  }
  if (!writer.isEmpty) await send(writer);
  post({ type: 'end', bytesRead });
}

// Done either way: the credit listener no longer keeps the thread alive; what was posted arrives.
run().then(
  () => port.unref(),
  async (error: unknown) => {
    // The items decoded before the error go first: inline, the import takes them before the
    // decoder throws, and their conflicts are in the failed import's summary.
    try {
      if (!writer.isEmpty) await send(writer);
    } finally {
      post({ type: 'error', error: serializeThreadError(error), bytesRead });
      port.unref();
    }
  },
);
