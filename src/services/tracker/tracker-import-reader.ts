import { openInput } from '../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { readJsonCollectionBatches } from '../../codecs/json/safe-json-reader.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import {
  addPayloadItem,
  emptyBundle,
  TRACKER_COLLECTIONS,
  type RawObject,
  type TrackerBundle,
} from '../../domain/tracker/tracker-objects.ts';
import { FerryError } from '../../errors.ts';

/**
 * Tracker objects a payload read whole may hold (the older formats, which need the whole file to
 * link events to enrollments). 250,000 objects are a few hundred MB at most. `POST /api/tracker`
 * reads in chunks (`readTrackerChunks`) and has no such limit.
 */
export const MAX_TRACKER_OBJECTS = 250_000;

export interface TrackerImportInput {
  path: string;
  fileName: string;
  contentType?: string;
}

/** Objects (counting nested ones) per chunk: validated and written together, then let go. */
export const TRACKER_CHUNK_OBJECTS = 20_000;

/**
 * Reads a tracker JSON payload, nested or flat (gzip and zip recognised by their bytes), through the
 * safe streaming JSON reader, and yields it flattened in chunks of about `chunkObjects` objects (a
 * nested tracked entity stays whole in one chunk). A relationship a nested payload lists under both
 * of its ends is yielded once.
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
    for await (const events of readJsonCollectionBatches(decodeUtf8(opened.chunks, input.fileName), {
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
