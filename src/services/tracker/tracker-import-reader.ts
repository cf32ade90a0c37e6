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
 * Tracker objects one payload may hold. Validation under atomicMode ALL must see every object
 * before anything is written, so a payload is held flattened in memory (the file itself is read as
 * a stream). 250,000 objects are a few hundred MB at most; DHIS2 advises payloads far smaller.
 */
export const MAX_TRACKER_OBJECTS = 250_000;

export interface TrackerImportInput {
  path: string;
  fileName: string;
  contentType?: string;
}

/**
 * Reads a tracker JSON payload, nested or flat (gzip and zip recognised by their bytes), through the
 * safe streaming JSON reader, and flattens it into the bundle's four lists.
 */
export async function readTrackerPayload(
  input: TrackerImportInput,
  signal?: AbortSignal,
): Promise<TrackerBundle> {
  const bundle = emptyBundle();
  const collections = new Set<string>(TRACKER_COLLECTIONS);
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
      }
      const count =
        bundle.trackedEntities.length +
        bundle.enrollments.length +
        bundle.events.length +
        bundle.relationships.length;
      if (count > MAX_TRACKER_OBJECTS)
        throw new InputError(
          input.fileName,
          `more than ${MAX_TRACKER_OBJECTS} tracker objects in one payload; split it`,
        );
    }
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
  // A nested payload may list one relationship under both of its ends: one relationship.
  const seen = new Set<string>();
  bundle.relationships = bundle.relationships.filter((r) =>
    seen.has(r.relationship) ? false : (seen.add(r.relationship), true),
  );
  return bundle;
}
