import { InputError } from '../input/input-error.ts';
import { readJsonCollectionBatches } from '../json/safe-json-reader.ts';

/** One object of a DXF2 payload: the collection it was listed under and its index there. */
export interface MetadataItem {
  collection: string;
  index: number;
  object: Record<string, unknown>;
  /** Where the object starts in the file, for error messages. */
  line: number;
}

/**
 * Reads DHIS2's JSON metadata payload (`{"dataElements": [...], "system": {...}}`) from a stream
 * of text through the shared safe JSON reader, yielding one object per collection array item as
 * soon as it is complete. Only the item being read is held in memory; duplicate and prototype keys,
 * deep nesting and over-long strings are refused with line and column. Numbers are rounded to
 * doubles as DHIS2's reader rounds them. Top-level values that are not arrays (`system`, `date`)
 * are read and skipped.
 */
export async function* decodeMetadataJson(
  text: AsyncIterable<string>,
  fileName: string,
): AsyncIterable<MetadataItem> {
  for await (const events of readJsonCollectionBatches(text, {
    fileName,
    numbers: 'double',
    root: 'object',
  })) {
    const items: MetadataItem[] = [];
    for (const event of events) {
      if (event.kind !== 'item') continue;
      const { value, collection, line } = event;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new InputError(fileName, `items of \`${collection}\` must be objects`, { line });
      }
      items.push({ collection, index: event.index, object: value, line });
    }
    yield* items;
  }
}
