import type { RawObject } from '../../domain/tracker/tracker-objects.ts';
import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { FORBIDDEN_JSON_KEYS, parseJsonText, readJsonCollectionBatches } from '../json/safe-json-reader.ts';
import { readXmlEventBatches, type XmlElement } from '../xml/safe-xml-reader.ts';
import { readEventCsv } from '../tracker-csv/event-csv-decoder.ts';
import {
  legacyEventToCurrent,
  legacyTrackedEntityToCurrent,
  type JsonTextParser,
} from './legacy-tracker-objects.ts';

export const LEGACY_TRACKER_FORMATS = ['json', 'xml', 'csv'] as const;
export type LegacyTrackerFormat = (typeof LEGACY_TRACKER_FORMATS)[number];

/** One top-level object of a file, already in the current importer's shape (nested children kept). */
export interface LegacyTrackerItem {
  collection: 'events' | 'trackedEntities';
  value: RawObject;
  /** Where the object starts in the file (CSV: its first row). */
  line: number;
}

/**
 * The older lists and the current ones: a file from a 2.40 server (`{"events": [...]}`,
 * `{"trackedEntityInstances": [...]}`) or one written with current names reads alike.
 */
const JSON_COLLECTIONS: Record<string, LegacyTrackerItem['collection']> = {
  events: 'events',
  trackedEntityInstances: 'trackedEntities',
  trackedEntities: 'trackedEntities',
};

const XML_ITEMS: Record<string, LegacyTrackerItem['collection']> = {
  event: 'events',
  trackedEntityInstance: 'trackedEntities',
  trackedEntity: 'trackedEntities',
};

function jsonTextParser(fileName: string, line: number): JsonTextParser {
  return (text) => {
    try {
      return parseJsonText(text, { fileName, numbers: 'double', firstLine: line });
    } catch (error) {
      if (error instanceof InputError) throw new InputError(fileName, `geometry: ${error.message}`, { line });
      throw error;
    }
  };
}

function toCurrent(collection: LegacyTrackerItem['collection'], raw: RawObject, parse: JsonTextParser) {
  return collection === 'events'
    ? legacyEventToCurrent(raw, parse)
    : legacyTrackedEntityToCurrent(raw, parse);
}

/**
 * DHIS2's older tracker JSON, streamed item by item: `events`, `trackedEntityInstances` (or
 * `trackedEntities`) at the top level, or a top-level array of `rootCollection` objects. Numbers
 * are kept as their text (a value `12.50` stays `12.50`). Other top-level fields are ignored, as
 * DHIS2 ignored them.
 */
export async function* readLegacyTrackerJson(
  text: AsyncIterable<string>,
  fileName: string,
  rootCollection: LegacyTrackerItem['collection'] = 'events',
): AsyncIterable<LegacyTrackerItem[]> {
  for await (const batch of readJsonCollectionBatches(text, { fileName, numbers: 'text' })) {
    const items: LegacyTrackerItem[] = [];
    for (const event of batch) {
      if (event.kind !== 'item') continue;
      const collection = event.collection === '' ? rootCollection : JSON_COLLECTIONS[event.collection];
      if (!collection) continue;
      const value = event.value;
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        throw new InputError(fileName, `items of \`${event.collection || 'the list'}\` must be objects`, {
          line: event.line,
        });
      items.push({
        collection,
        value: toCurrent(collection, value as RawObject, jsonTextParser(fileName, event.line)),
        line: event.line,
      });
    }
    if (items.length > 0) yield items;
  }
}

/** Elements whose children are the items of a list (`<dataValues><dataValue .../></dataValues>`). */
const XML_LISTS = new Set(['dataValues', 'attributes', 'enrollments', 'events', 'notes', 'relationships']);

/**
 * An element of DHIS2's older tracker XML as the object its JSON had: attributes and leaf elements
 * become fields (both forms occur: `<event eventDate="...">` and `<eventDate>...</eventDate>`), list
 * elements become arrays, other elements objects.
 */
function xmlObject(element: XmlElement, fileName: string): RawObject {
  const out: RawObject = {};
  const set = (key: string, value: unknown, line: number) => {
    // An element named __proto__ would otherwise reach the object's prototype.
    if (FORBIDDEN_JSON_KEYS.has(key))
      throw new InputError(fileName, `the name \`${key}\` is not allowed`, { line });
    out[key] = value;
  };
  for (const [name, value] of Object.entries(element.attributes)) {
    if (name === 'xmlns' || name.startsWith('xmlns:')) continue;
    set(name.includes(':') ? name.slice(name.indexOf(':') + 1) : name, value, element.line);
  }
  for (const child of element.children) {
    if (XML_LISTS.has(child.localName))
      set(
        child.localName,
        child.children.map((c) => xmlObject(c, fileName)),
        child.line,
      );
    else if (child.children.length === 0 && Object.keys(child.attributes).length === 0)
      set(child.localName, child.text.trim(), child.line);
    else set(child.localName, xmlObject(child, fileName), child.line);
  }
  return out;
}

/**
 * DHIS2's older tracker XML (`<events><event .../></events>`, `<trackedEntityInstances>
 * <trackedEntityInstance ...>`; dropped in 2.41), streamed: each item is read whole at depth 2.
 */
export async function* readLegacyTrackerXml(
  text: AsyncIterable<string>,
  fileName: string,
): AsyncIterable<LegacyTrackerItem[]> {
  // The reader holds each item whole until it closes; the JSON reader's one-item limit bounds it
  // here too (counted by input chunk), so one endless <trackedEntityInstance> cannot fill memory.
  const max = INPUT_LIMITS.maxJsonValueChars;
  let sinceItem = 0;
  async function* counted() {
    for await (const chunk of text) {
      sinceItem += chunk.length;
      if (sinceItem > max)
        throw new InputError(
          fileName,
          `one <event> or <trackedEntityInstance> is longer than ${max} characters`,
        );
      yield chunk;
    }
  }
  for await (const batch of readXmlEventBatches(counted(), { fileName, captureDepth: 2 })) {
    const items: LegacyTrackerItem[] = [];
    for (const event of batch) {
      if (event.kind !== 'element') continue;
      sinceItem = 0;
      // 2.40's paged exports put a <pager> before the items.
      if (event.element.localName === 'pager') continue;
      const collection = XML_ITEMS[event.element.localName];
      if (!collection)
        throw new InputError(
          fileName,
          `unexpected element <${event.element.name}>; expected <event> or <trackedEntityInstance>`,
          { line: event.element.line, column: event.element.column },
        );
      const line = event.element.line;
      items.push({
        collection,
        value: toCurrent(collection, xmlObject(event.element, fileName), jsonTextParser(fileName, line)),
        line,
      });
    }
    if (items.length > 0) yield items;
  }
}

/** Any of the formats: JSON, XML, or event CSV (2.40's columns or the current ones). */
export async function* readLegacyTracker(
  text: AsyncIterable<string>,
  fileName: string,
  format: LegacyTrackerFormat,
  rootCollection: LegacyTrackerItem['collection'] = 'events',
): AsyncIterable<LegacyTrackerItem[]> {
  if (format === 'json') yield* readLegacyTrackerJson(text, fileName, rootCollection);
  else if (format === 'xml') yield* readLegacyTrackerXml(text, fileName);
  else
    for await (const events of readEventCsv(text, fileName))
      yield events.map((e) => ({
        collection: 'events' as const,
        value: legacyEventToCurrent(e.value, jsonTextParser(fileName, e.line)),
        line: e.line,
      }));
}
