import type { RawObject } from '../../domain/tracker/tracker-objects.ts';
import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { FORBIDDEN_JSON_KEYS, parseJsonText, readJsonCollectionBatches } from '../json/safe-json-reader.ts';
import { readXmlEventBatches, type XmlElement } from '../xml/safe-xml-reader.ts';
import { LEGACY_EVENT_CSV_COLUMNS, readEventCsv } from '../tracker-csv/event-csv-decoder.ts';
import { wktToGeoJson } from '../tracker-csv/wkt-geometry.ts';
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

/** Geometry given as text (a CSV cell, an XML element): GeoJSON, or well-known text (current CSV). */
function jsonTextParser(fileName: string, line: number): JsonTextParser {
  return (text) => {
    if (!/^\s*[{[]/.test(text)) return wktToGeoJson(text, fileName, line);
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

/** Fields one of which a single object posted without its list has (2.40 took one event alone). */
const SINGLE_OBJECT_FIELDS: Record<LegacyTrackerItem['collection'], readonly string[]> = {
  events: ['event', 'program', 'programStage', 'eventDate', 'occurredAt', 'dataValues'],
  trackedEntities: [
    'trackedEntityInstance',
    'trackedEntity',
    'trackedEntityType',
    'attributes',
    'enrollments',
  ],
};
/** Parts of a single object held while it may be one: more is not a single event or instance. */
const MAX_SINGLE_OBJECT_PARTS = 100_000;

/**
 * DHIS2's older tracker JSON, streamed item by item: `events`, `trackedEntityInstances` (or
 * `trackedEntities`) at the top level, a top-level array of `rootCollection` objects, or one such
 * object alone (2.40's `POST /api/events` took a single event). Numbers are kept as their text (a
 * value `12.50` stays `12.50`). Other top-level fields are ignored, as DHIS2 ignored them.
 */
export async function* readLegacyTrackerJson(
  text: AsyncIterable<string>,
  fileName: string,
  rootCollection: LegacyTrackerItem['collection'] = 'events',
): AsyncIterable<LegacyTrackerItem[]> {
  // The top level read as one object, in case it is a single event or instance; dropped as soon as
  // a list item shows it is not (or it grows past what one object holds).
  let single: RawObject | undefined = {};
  let singleLine = 1;
  let parts = 0;
  for await (const batch of readJsonCollectionBatches(text, { fileName, numbers: 'text' })) {
    const items: LegacyTrackerItem[] = [];
    for (const event of batch) {
      const collection =
        event.kind !== 'item'
          ? undefined
          : event.collection === ''
            ? rootCollection
            : JSON_COLLECTIONS[event.collection];
      if (!collection || event.kind !== 'item') {
        if (single && ++parts > MAX_SINGLE_OBJECT_PARTS) single = undefined;
        if (!single) continue;
        if (parts === 1) singleLine = event.line;
        if (event.kind === 'property') single[event.property] = event.value;
        else ((single[event.collection] ??= []) as unknown[]).push(event.value);
        continue;
      }
      single = undefined;
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
  if (!single) return;
  const found = single;
  // An event names its program or stage, an instance its type, attributes or enrollments.
  const kind = (['events', 'trackedEntities'] as const).find((c) =>
    SINGLE_OBJECT_FIELDS[c].some((field) => found[field] !== undefined),
  );
  if (kind)
    yield [
      {
        collection: kind,
        value: toCurrent(kind, found, jsonTextParser(fileName, singleLine)),
        line: singleLine,
      },
    ];
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

/**
 * Event CSV (2.40's columns or the current ones, by the header; without one, `defaultColumns`), each
 * event in the current importer's shape with the line of its first row.
 */
export async function* readEventCsvItems(
  text: AsyncIterable<string>,
  fileName: string,
  defaultColumns: readonly string[] = LEGACY_EVENT_CSV_COLUMNS,
): AsyncIterable<LegacyTrackerItem[]> {
  for await (const events of readEventCsv(text, fileName, defaultColumns))
    yield events.map((e) => ({
      collection: 'events' as const,
      value: legacyEventToCurrent(e.value, jsonTextParser(fileName, e.line)),
      line: e.line,
    }));
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
  else yield* readEventCsvItems(text, fileName);
}
