import type { FerryContext } from '../ferry-context-types.ts';
import { jsonValue } from '../../storage/tracker-store.ts';
import type { TrackerExportRequest } from './tracker-export-query.ts';
import {
  bool,
  csvCell,
  E,
  EVENT_COLUMNS,
  EVENT_SELECT,
  EVENTS,
  notesOf,
  readPageArrays,
} from './tracker-export-service.ts';

/**
 * The event export as text written straight from the rows (`GET /api/tracker/events.json|.csv`
 * without an output id scheme): the same text as the event objects of tracker-export-service.ts
 * (readEvents, eventCsvLines) give, without building them.
 */

/** Rows read per keyset step of a text export (paging=false) where each step is a query. */
const TEXT_BATCH = 2000;
/**
 * Rows per piece of a streamed text export (SQLite). Small, so that rows and their text die young:
 * pieces of 5,000 rows outlived V8's young generation, and promoting them to the old one and
 * collecting it there cost as much as writing the text.
 */
const STREAM_BATCH = 250;

const text = JSON.stringify;

/** `,"name":value` as JSON.stringify writes a property, or nothing for null and undefined (as `put`). */
function jsonField(name: string, value: unknown): string {
  return value === null || value === undefined ? '' : `,"${name}":${text(value)}`;
}

/**
 * An event row as the JSON text `JSON.stringify(eventOf(row, notes))` gives, written straight from
 * the row: no event object, no data value objects, no second walk by JSON.stringify. Building and
 * stringifying those objects was most of a 200,000-event export's time (docs/formats/tracker.md).
 * The two must stay equal property by property; tracker-export-text.test.ts compares them.
 */
export function eventJsonText(row: readonly unknown[], notes: ReadonlyMap<number, unknown[]>): string {
  const created = row[E.created];
  const updated = row[E.updated];
  const storedBy = row[E.stored_by];
  let out = `{"event":${text(String(row[E.uid]))}`;
  out += jsonField('status', row[E.status]);
  out += jsonField('program', row[E.program]);
  out += jsonField('programStage', row[E.program_stage]);
  out += jsonField('enrollment', row[E.enrollment]);
  out += jsonField('trackedEntity', row[E.tracked_entity]);
  out += jsonField('orgUnit', row[E.org_unit]);
  out += jsonField('occurredAt', row[E.occurred_at]);
  out += jsonField('scheduledAt', row[E.scheduled_at]);
  out += `,"followUp":${bool(row[E.follow_up])},"deleted":${bool(row[E.deleted])}`;
  out += jsonField('createdAt', created);
  out += jsonField('createdAtClient', row[E.created_at_client]);
  out += jsonField('updatedAt', updated);
  out += jsonField('updatedAtClient', row[E.updated_at_client]);
  out += jsonField('attributeOptionCombo', row[E.attribute_option_combo]);
  out += jsonField('completedBy', row[E.completed_by]);
  out += jsonField('completedAt', row[E.completed_at]);
  if (row[E.geometry] !== null && row[E.geometry] !== undefined)
    out += jsonField('geometry', jsonValue(row[E.geometry]));
  if (row[E.assigned_user] !== null && row[E.assigned_user] !== undefined)
    out += `,"assignedUser":{"uid":${text(row[E.assigned_user])}}`;
  out += jsonField('storedBy', storedBy);
  if (row[E.created_by] !== null && row[E.created_by] !== undefined)
    out += `,"createdBy":{"username":${text(row[E.created_by])}}`;
  if (row[E.updated_by] !== null && row[E.updated_by] !== undefined)
    out += `,"updatedBy":{"username":${text(row[E.updated_by])}}`;
  // The compact stored values (see eventDataValues): a stamp a value leaves out is the row's own.
  const stored = (jsonValue(row[E.data_values]) ?? {}) as Record<string, Record<string, unknown>>;
  const createdText = jsonField('createdAt', created);
  const updatedText = jsonField('updatedAt', updated);
  const storedByText = jsonField('storedBy', storedBy);
  out += ',"dataValues":[';
  let first = true;
  for (const dataElement in stored) {
    const v = stored[dataElement];
    out += `${first ? '' : ','}{"dataElement":${text(dataElement)}${jsonField('value', v.value)},"providedElsewhere":${v.providedElsewhere === true}`;
    out += 'createdAt' in v ? jsonField('createdAt', v.createdAt) : createdText;
    out += 'updatedAt' in v ? jsonField('updatedAt', v.updatedAt) : updatedText;
    out += 'storedBy' in v ? jsonField('storedBy', v.storedBy) : storedByText;
    out += '}';
    first = false;
  }
  return `${out}],"notes":${text(notes.get(Number(row[E.id])) ?? [])}}`;
}

/**
 * An event row's CSV lines as `eventCsvLines([eventOf(row, notes)])` gives them, written straight
 * from the row (see eventJsonText).
 */
export function eventCsvText(row: readonly unknown[], escapeFormulas: boolean): string {
  const cell = (value: unknown): string => csvCell(value, escapeFormulas);
  const geometry =
    row[E.geometry] === null || row[E.geometry] === undefined ? undefined : jsonValue(row[E.geometry]);
  const point =
    (geometry as { type?: string } | undefined)?.type === 'Point'
      ? (geometry as { coordinates: number[] }).coordinates
      : undefined;
  const created = row[E.created];
  const updated = row[E.updated];
  const storedBy = row[E.stored_by];
  const base =
    `${cell(String(row[E.uid]))},${cell(row[E.status])},${cell(row[E.program])},${cell(row[E.program_stage])},` +
    `${cell(row[E.enrollment])},${cell(row[E.org_unit])},${cell(row[E.occurred_at])},${cell(row[E.scheduled_at])},` +
    `${cell(geometry)},${cell(point?.[1])},${cell(point?.[0])},${bool(row[E.follow_up])},${bool(row[E.deleted])},` +
    `${cell(created)},${cell(row[E.created_at_client])},${cell(updated)},${cell(row[E.updated_at_client])},` +
    `${cell(row[E.completed_by])},${cell(row[E.completed_at])},${cell(row[E.updated_by])},` +
    `${cell(row[E.attribute_option_combo])},,${cell(row[E.assigned_user])},`;
  const stored = (jsonValue(row[E.data_values]) ?? {}) as Record<string, Record<string, unknown>>;
  let out = '';
  for (const dataElement in stored) {
    const v = stored[dataElement];
    out +=
      `${base}${cell(dataElement)},${cell(v.value)},${v.providedElsewhere === true},` +
      `${cell('storedBy' in v ? v.storedBy : storedBy)},${cell('createdAt' in v ? v.createdAt : created)},` +
      `${cell('updatedAt' in v ? v.updatedAt : updated)}\n`;
  }
  return out === '' ? `${base},,,,,\n` : out;
}

/** One piece of readEventText: UTF-8 bytes and how many events they hold. */
export interface EventText {
  bytes: Buffer;
  events: number;
}

/** Size of the pieces readEventText yields. */
const PIECE_BYTES = 256 * 1024;

/**
 * Text encoded into pieces of PIECE_BYTES as it is made, one event at a time. Appending events'
 * texts to one string and encoding that made a rope of thousands of small strings, and flattening
 * it (Buffer.from) cost more than making the text; encoding each event's own text does not.
 */
class Pieces {
  private buffer = Buffer.allocUnsafe(PIECE_BYTES);
  private length = 0;
  private events = 0;

  /** Adds one event's text; a full piece is returned to be yielded. */
  add(text: string): EventText | undefined {
    let full: EventText | undefined;
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    if (this.length > 0 && this.length + text.length * 3 > this.buffer.length) full = this.take();
    if (text.length * 3 > this.buffer.length) this.buffer = Buffer.allocUnsafe(text.length * 3);
    this.length += this.buffer.write(text, this.length);
    this.events++;
    return full;
  }

  take(): EventText | undefined {
    if (this.length === 0) return undefined;
    const piece = { bytes: this.buffer.subarray(0, this.length), events: this.events };
    this.buffer = Buffer.allocUnsafe(PIECE_BYTES);
    this.length = 0;
    this.events = 0;
    return piece;
  }
}

/**
 * The event export as UTF-8 text in pieces: the JSON texts of the events separated by commas (the
 * first without one; the caller writes the list around them), or CSV lines without the header. For
 * exports without an output id scheme, where rewriting needs the event objects (readEvents).
 */
export async function* readEventText(
  context: FerryContext,
  request: TrackerExportRequest,
  format: 'json' | 'csv',
  { escapeFormulas = false }: { escapeFormulas?: boolean } = {},
): AsyncIterable<EventText> {
  const pieces = new Pieces();
  let first = true;
  for await (const rows of readEventArrays(context, request)) {
    const notes =
      format === 'json'
        ? await notesOf(
            context,
            'event_id',
            rows.map((r) => Number(r[E.id])),
          )
        : undefined;
    for (const row of rows) {
      const text = notes ? (first ? '' : ',') + eventJsonText(row, notes) : eventCsvText(row, escapeFormulas);
      first = false;
      const full = pieces.add(text);
      if (full) yield full;
    }
  }
  const last = pieces.take();
  if (last) yield last;
}

/**
 * The event rows of an export as arrays (EVENT_COLUMNS), in steps of TEXT_BATCH. SQLite with
 * paging=false: one statement iterated from start to end (`streamArrays`), the joins applied row by
 * row as the scan goes: keyset steps each paid a materialised subquery and a sort of its page. It
 * reads one snapshot (a WAL read transaction) for the export's duration. Otherwise keyset steps.
 */
function readEventArrays(context: FerryContext, request: TrackerExportRequest): AsyncIterable<unknown[][]> {
  const storage = context.storage;
  if (!request.paging.paging && storage.streamArrays) {
    const sql = `${EVENT_SELECT.replace('(%INNER%) e', 'event e')} WHERE ${request.where.sql} ORDER BY e.event_id DESC`;
    return storage.streamArrays(sql, request.where.params, STREAM_BATCH);
  }
  return readPageArrays(context, { ...EVENTS, select: EVENT_SELECT }, request, EVENT_COLUMNS, TEXT_BATCH);
}
