import type { RawObject } from '../../domain/tracker/tracker-objects.ts';
import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { readCsvRecordBatches, type CsvRecord } from '../csv/csv-reader.ts';

/**
 * DHIS2's event CSV: one row per event and data value, the event's columns repeated on each row.
 * Two column sets exist: 2.40's (`dxf2/events/event/csv/CsvEventDataValue.java`, read by position,
 * the header row optional) and the current one (2.41+, `tracker/imports/csv`, the columns of
 * `GET /api/tracker/events.csv`). A file with a header is read by its column names, so either set
 * (or a mix, in any order) reads; without one, the columns are `defaultColumns` (2.40's for the
 * older endpoint, the current ones for `POST /api/tracker`), in their order.
 */
export const LEGACY_EVENT_CSV_COLUMNS = [
  'event',
  'status',
  'program',
  'programStage',
  'enrollment',
  'orgUnit',
  'eventDate',
  'dueDate',
  'latitude',
  'longitude',
  'dataElement',
  'value',
  'storedBy',
  'providedElsewhere',
  'completedDate',
  'completedBy',
  'geometry',
] as const;

/**
 * The current columns (2.41+, `CsvEventDataValue.java` of `tracker/export`, as DHIS2's docs print
 * them), the order of a file without a header posted to `POST /api/tracker`.
 */
export const CURRENT_EVENT_CSV_COLUMNS = [
  'event',
  'status',
  'program',
  'programStage',
  'enrollment',
  'orgUnit',
  'occurredAt',
  'scheduledAt',
  'geometry',
  'latitude',
  'longitude',
  'followUp',
  'deleted',
  'createdAt',
  'createdAtClient',
  'updatedAt',
  'updatedAtClient',
  'completedBy',
  'completedAt',
  'updatedBy',
  'attributeOptionCombo',
  'attributeCategoryOptions',
  'assignedUser',
  'dataElement',
  'value',
  'providedElsewhere',
  'storedByDataValue',
  'createdAtDataValue',
  'updatedAtDataValue',
] as const;

/** A column's field in the event (or its data value); `null` for columns that are read and ignored. */
const COLUMNS: Record<string, string | null> = {
  event: 'event',
  status: 'status',
  program: 'program',
  programStage: 'programStage',
  enrollment: 'enrollment',
  orgUnit: 'orgUnit',
  eventDate: 'occurredAt',
  occurredAt: 'occurredAt',
  dueDate: 'scheduledAt',
  scheduledAt: 'scheduledAt',
  latitude: 'latitude',
  longitude: 'longitude',
  geometry: 'geometry',
  completedDate: 'completedAt',
  completedAt: 'completedAt',
  completedBy: 'completedBy',
  followUp: 'followUp',
  attributeOptionCombo: 'attributeOptionCombo',
  assignedUser: 'assignedUser',
  createdAtClient: 'createdAtClient',
  updatedAtClient: 'updatedAtClient',
  dataElement: 'dataElement',
  value: 'value',
  providedElsewhere: 'providedElsewhere',
  // Set by the server that wrote the file; the importing server sets its own.
  storedBy: null,
  deleted: null,
  createdAt: null,
  updatedAt: null,
  updatedBy: null,
  attributeCategoryOptions: 'attributeCategoryOptions',
  storedByDataValue: null,
  createdAtDataValue: null,
  updatedAtDataValue: null,
  // The spelling in DHIS2's CsvEventDataValue.java (its docs print createdAtDataValue).
  createAtDataValue: null,
};

const DATA_VALUE_FIELDS = new Set(['dataElement', 'value', 'providedElsewhere']);

export interface CsvEvent {
  /** The event with current field names, `latitude`/`longitude` as `coordinate`, geometry as text. */
  value: RawObject;
  /** The line of the event's first row. */
  line: number;
}

/**
 * A header row: it starts with `event` (DHIS2's files do; an unknown name in it is then refused), or
 * every cell is a column name (a hand-made file in another order). No data row looks like either.
 */
function isHeader(fields: string[]): boolean {
  const names = fields.map((f) => f.trim().replace(/^\uFEFF/, ''));
  return names[0] === 'event' || names.every((name) => Object.hasOwn(COLUMNS, name));
}

/**
 * The events of an event CSV, streamed: consecutive rows of one event (same `event` UID, or, without
 * one, the same event columns) make one event with a data value per row. A row with no data element
 * adds none (an event without values). Rows of another column count, unknown header columns and an
 * unquoted-quote problem are refused naming the file, line and column.
 */
export async function* readEventCsv(
  text: AsyncIterable<string>,
  fileName: string,
  defaultColumns: readonly string[] = LEGACY_EVENT_CSV_COLUMNS,
): AsyncIterable<CsvEvent[]> {
  let columns: (string | null)[] | undefined;
  let width = 0;
  let current: { key: string; value: RawObject; line: number; chars: number } | undefined;

  const rowOf = (record: CsvRecord): void => {
    if (record.fields.length !== width)
      throw new InputError(
        fileName,
        `${record.fields.length} columns where the header (or 2.40's layout) has ${width}`,
        { line: record.line },
      );
  };

  for await (const records of readCsvRecordBatches(text, fileName)) {
    const out: CsvEvent[] = [];
    for (const record of records) {
      if (!columns) {
        if (isHeader(record.fields)) {
          columns = record.fields.map((raw, index) => {
            const name = raw.trim().replace(/^\uFEFF/, '');
            if (!Object.hasOwn(COLUMNS, name))
              throw new InputError(fileName, `unknown column \`${name}\` (column ${index + 1})`, {
                line: record.line,
              });
            return COLUMNS[name];
          });
          width = columns.length;
          continue;
        }
        columns = defaultColumns.map((c) => COLUMNS[c] ?? null);
        width = columns.length;
      }
      rowOf(record);
      const event: RawObject = {};
      const dataValue: RawObject = {};
      let eventKey = '';
      record.fields.forEach((cell, index) => {
        const field = columns![index];
        if (!field || cell === '') return;
        if (DATA_VALUE_FIELDS.has(field)) dataValue[field] = cell;
        else {
          event[field] = cell;
          eventKey += `${field}=${cell}\u0000`;
        }
      });
      if (event.latitude !== undefined || event.longitude !== undefined) {
        event.coordinate = { latitude: event.latitude, longitude: event.longitude };
        delete event.latitude;
        delete event.longitude;
      }
      const key = typeof event.event === 'string' ? `uid:${event.event}` : `row:${eventKey}`;
      if (!current || current.key !== key) {
        if (current) out.push({ value: current.value, line: current.line });
        current = { key, value: { ...event, dataValues: [] }, line: record.line, chars: 0 };
      }
      // One event is held until its last row: the JSON reader's one-item limit bounds it too.
      current.chars += record.fields.reduce((sum, f) => sum + f.length, 0);
      if (current.chars > INPUT_LIMITS.maxJsonValueChars)
        throw new InputError(
          fileName,
          `the rows of one event are longer than ${INPUT_LIMITS.maxJsonValueChars} characters`,
          { line: record.line },
        );
      if (dataValue.dataElement !== undefined) (current.value.dataValues as RawObject[]).push(dataValue);
      else if (dataValue.value !== undefined)
        throw new InputError(fileName, 'a value without a dataElement', { line: record.line });
    }
    if (out.length > 0) yield out;
  }
  if (current) yield [{ value: current.value, line: current.line }];
}
