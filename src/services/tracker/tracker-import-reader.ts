import { openInput } from '../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { readJsonCollectionBatches } from '../../codecs/json/safe-json-reader.ts';
import { CURRENT_EVENT_CSV_COLUMNS } from '../../codecs/tracker-csv/event-csv-decoder.ts';
import { readEventCsvItems } from '../../codecs/tracker-legacy/legacy-tracker-decoder.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import {
  addPayloadItem,
  emptyBundle,
  TRACKER_COLLECTIONS,
  type RawObject,
  type TrackerBundle,
} from '../../domain/tracker/tracker-objects.ts';
import { FerryError } from '../../errors.ts';

export interface TrackerImportInput {
  path: string;
  fileName: string;
  contentType?: string;
}

/**
 * Objects (counting nested ones) per chunk: validated and written together, then let go. A chunk's
 * objects outlive several young-generation collections and die old, so its size sets how much
 * garbage the old generation gathers between full collections: 20,000 put the peak RSS of a
 * 200,000-event import near 480 MB, 5,000 near 400 MB at the same speed (docs/formats/tracker.md).
 */
export const TRACKER_CHUNK_OBJECTS = 5_000;

/**
 * Whether a payload is event CSV: its content type says so, else its name, else its first character
 * that is not white space is not `{` or `[`. The text read to decide is handed back.
 */
async function isEventCsv(
  input: TrackerImportInput,
  entryName: string | undefined,
  text: AsyncIterable<string>,
): Promise<{ csv: boolean; text: AsyncIterable<string> }> {
  const type = (input.contentType ?? '').toLowerCase();
  const names = [input.fileName, entryName ?? ''].map((n) => n.toLowerCase().replace(/\.(gz|gzip|zip)$/, ''));
  // The content type first, then the name: `application/json` wins over a name ending `.csv`.
  if (/csv/.test(type)) return { csv: true, text };
  if (/json/.test(type)) return { csv: false, text };
  if (names.some((n) => n.endsWith('.csv'))) return { csv: true, text };
  if (names.some((n) => n.endsWith('.json'))) return { csv: false, text };
  const iterator = text[Symbol.asyncIterator]();
  const held: string[] = [];
  let csv = false;
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    held.push(next.value);
    const head = next.value.replace(/^\uFEFF/, '').trimStart();
    if (head === '') continue;
    csv = head[0] !== '{' && head[0] !== '[';
    break;
  }
  async function* rest() {
    yield* held;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  return { csv, text: rest() };
}

/**
 * Reads a tracker payload and yields it flattened in chunks of about `chunkObjects` objects (a
 * nested tracked entity stays whole in one chunk); gzip and zip are recognised by their bytes.
 * JSON, nested or flat, goes through the safe streaming JSON reader; a relationship a nested payload
 * lists under both of its ends is yielded once. Event CSV (DHIS2's current columns, or 2.40's, by
 * the header) is read row by row, each event remembering the line of its first row.
 */
export async function* readTrackerChunks(
  input: TrackerImportInput,
  signal?: AbortSignal,
  chunkObjects = TRACKER_CHUNK_OBJECTS,
): AsyncIterable<TrackerBundle> {
  const collections = new Set<string>(TRACKER_COLLECTIONS);
  const relationships = new Set<string>();
  let bundle = emptyBundle();
  const size = (b: TrackerBundle) =>
    b.trackedEntities.length + b.enrollments.length + b.events.length + b.relationships.length;
  const finish = (b: TrackerBundle): TrackerBundle => {
    b.relationships = b.relationships.filter((r) =>
      relationships.has(r.relationship) ? false : (relationships.add(r.relationship), true),
    );
    return b;
  };
  try {
    const opened = await openInput(input.path, input.fileName);
    const sniffed = await isEventCsv(input, opened.entryName, decodeUtf8(opened.chunks, input.fileName));
    if (sniffed.csv) {
      for await (const items of readEventCsvItems(sniffed.text, input.fileName, CURRENT_EVENT_CSV_COLUMNS)) {
        signal?.throwIfAborted();
        for (const item of items) {
          addPayloadItem(bundle, 'events', item.value, generateUid);
          bundle.events[bundle.events.length - 1].line = item.line;
          if (size(bundle) >= chunkObjects) {
            yield bundle;
            bundle = emptyBundle();
          }
        }
      }
      if (size(bundle) > 0) yield bundle;
      return;
    }
    for await (const events of readJsonCollectionBatches(sniffed.text, {
      fileName: input.fileName,
      numbers: 'text',
      root: 'object',
    })) {
      signal?.throwIfAborted();
      for (const event of events) {
        if (event.kind !== 'item' || !collections.has(event.collection)) continue;
        const value = event.value;
        if (value === null || typeof value !== 'object' || Array.isArray(value))
          throw new InputError(input.fileName, `items of \`${event.collection}\` must be objects`, {
            line: event.line,
          });
        addPayloadItem(bundle, event.collection, value as RawObject, generateUid);
        if (size(bundle) >= chunkObjects) {
          yield finish(bundle);
          bundle = emptyBundle();
        }
      }
    }
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
  if (size(bundle) > 0) yield finish(bundle);
}
