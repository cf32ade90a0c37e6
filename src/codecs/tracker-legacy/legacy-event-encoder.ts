import type { RawObject } from '../../domain/tracker/tracker-objects.ts';
import { escapeXmlAttribute, escapeXmlText } from '../xml/xml-escape.ts';
import { neutraliseFormula } from '../csv/spreadsheet-safe.ts';
import { LEGACY_EVENT_CSV_COLUMNS } from '../tracker-csv/event-csv-decoder.ts';

/**
 * Events in the older shape (`currentEventToLegacy`) written as 2.40's `GET /api/events.xml` and
 * `.csv` wrote them. Both read back through the legacy decoders (`POST /api/events`), so a file
 * exported here imports into a server of either era.
 */

const XML_SCALARS = [
  'event',
  'status',
  'program',
  'programStage',
  'enrollment',
  'trackedEntityInstance',
  'orgUnit',
  'eventDate',
  'dueDate',
  'completedDate',
  'completedBy',
  'storedBy',
  'created',
  'lastUpdated',
  'createdAtClient',
  'lastUpdatedAtClient',
  'attributeOptionCombo',
  'followup',
  'deleted',
  'assignedUser',
] as const;

function attributes(object: RawObject, names: readonly string[]): string {
  let out = '';
  for (const name of names) {
    const value = object[name];
    if (value === undefined || value === null || typeof value === 'object') continue;
    out += ` ${name}="${escapeXmlAttribute(String(value))}"`;
  }
  return out;
}

/** `<event ...>` elements: scalars as attributes, as DHIS2's documented XML has them. */
export function legacyEventsXml(events: readonly RawObject[]): string {
  let out = '';
  for (const event of events) {
    out += `<event${attributes(event, XML_SCALARS)}>`;
    if (event.geometry) out += `<geometry>${escapeXmlText(JSON.stringify(event.geometry))}</geometry>`;
    const values = (event.dataValues as RawObject[] | undefined) ?? [];
    if (values.length > 0) {
      out += '<dataValues>';
      for (const dv of values)
        out += `<dataValue${attributes(dv, ['dataElement', 'value', 'providedElsewhere', 'storedBy', 'created', 'lastUpdated'])}/>`;
      out += '</dataValues>';
    }
    const notes = (event.notes as RawObject[] | undefined) ?? [];
    if (notes.length > 0) {
      out += '<notes>';
      for (const note of notes)
        out += `<note${attributes(note, ['note', 'storedBy', 'storedDate'])}><value>${escapeXmlText(String(note.value ?? ''))}</value></note>`;
      out += '</notes>';
    }
    out += '</event>';
  }
  return out;
}

export const LEGACY_EVENTS_XML_START = '<?xml version="1.0" encoding="UTF-8"?><events>';
export const LEGACY_EVENTS_XML_END = '</events>';

function csvCell(value: unknown, escapeFormulas: boolean): string {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  // An exchange file stays exact, as DHIS2 writes it; one for a spreadsheet gets OWASP's ' prefix.
  if (escapeFormulas) text = neutraliseFormula(text);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const LEGACY_EVENT_CSV_HEADER = `${LEGACY_EVENT_CSV_COLUMNS.join(',')}\n`;

/** 2.40's event CSV rows: one per event and data value (an event without values is one row). */
export function legacyEventCsvLines(
  events: readonly RawObject[],
  { escapeFormulas = false }: { escapeFormulas?: boolean } = {},
): string {
  let out = '';
  for (const event of events) {
    const geometry = event.geometry as { type?: string; coordinates?: unknown[] } | undefined;
    const point = geometry?.type === 'Point' ? geometry.coordinates : undefined;
    const values = (event.dataValues as RawObject[] | undefined) ?? [];
    for (const dv of values.length > 0 ? values : [undefined]) {
      const row: Record<(typeof LEGACY_EVENT_CSV_COLUMNS)[number], unknown> = {
        event: event.event,
        status: event.status,
        program: event.program,
        programStage: event.programStage,
        enrollment: event.enrollment,
        orgUnit: event.orgUnit,
        eventDate: event.eventDate,
        dueDate: event.dueDate,
        latitude: point?.[1],
        longitude: point?.[0],
        dataElement: dv?.dataElement,
        value: dv?.value,
        storedBy: dv?.storedBy ?? event.storedBy,
        providedElsewhere: dv?.providedElsewhere,
        completedDate: event.completedDate,
        completedBy: event.completedBy,
        // A point is in latitude/longitude already; other shapes only here.
        geometry: point ? undefined : geometry,
      };
      out += `${LEGACY_EVENT_CSV_COLUMNS.map((c) => csvCell(row[c], escapeFormulas)).join(',')}\n`;
    }
  }
  return out;
}

/** The element name of a list's items in 2.40's XML. */
const XML_ITEM_NAMES: Record<string, string> = {
  attributes: 'attribute',
  enrollments: 'enrollment',
  events: 'event',
  relationships: 'relationship',
  notes: 'note',
  dataValues: 'dataValue',
  programOwners: 'programOwner',
};

/**
 * One object of the older shape as an XML element: scalars as attributes, lists as a wrapper of
 * items, `geometry` as GeoJSON text, other objects (relationship ends) as child elements. The
 * legacy XML decoder reads it back.
 */
export function legacyXmlElement(name: string, object: RawObject): string {
  let attributesText = '';
  let children = '';
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      const item = XML_ITEM_NAMES[key] ?? 'item';
      children += `<${key}>`;
      for (const entry of value)
        children +=
          entry !== null && typeof entry === 'object'
            ? legacyXmlElement(item, entry as RawObject)
            : `<${item}>${escapeXmlText(String(entry))}</${item}>`;
      children += `</${key}>`;
    } else if (key === 'geometry') children += `<geometry>${escapeXmlText(JSON.stringify(value))}</geometry>`;
    else if (typeof value === 'object') children += legacyXmlElement(key, value as RawObject);
    else attributesText += ` ${key}="${escapeXmlAttribute(String(value))}"`;
  }
  return children ? `<${name}${attributesText}>${children}</${name}>` : `<${name}${attributesText}/>`;
}
