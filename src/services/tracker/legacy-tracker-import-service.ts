import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import { openInput, type BytesReadListener } from '../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import {
  addPayloadItem,
  emptyBundle,
  type TrackerBundle,
  type TrackerType,
} from '../../domain/tracker/tracker-objects.ts';
import type { TrackerImportReport } from '../../domain/tracker/tracker-import-report.ts';
import {
  readLegacyTracker,
  LEGACY_TRACKER_FORMATS,
  type LegacyTrackerFormat,
  type LegacyTrackerItem,
} from '../../codecs/tracker-legacy/legacy-tracker-decoder.ts';
import {
  buildLegacyImportSummaries,
  type LegacyImportSummaries,
  type LegacyObjectGroup,
} from '../../codecs/tracker-legacy/import-summaries-encoder.ts';
import {
  importTrackerChunks,
  trackerImportParams,
  type TrackerImportRunOptions,
} from './tracker-import-service.ts';
import { TRACKER_CHUNK_OBJECTS, type TrackerImportInput } from './tracker-import-reader.ts';
import { TrackerIdentifierResolver } from './tracker-import-identifiers.ts';

/** Which older endpoint the file came to: each takes its own list; the CLI takes either. */
export type LegacyTrackerEndpoint = 'events' | 'trackedEntities' | 'any';

export interface LegacyTrackerImportInput extends TrackerImportInput {
  /** json, xml or csv; else from the content type, the file name, or the first character. */
  format?: string;
}

export interface LegacyTrackerImportResult {
  summaries: LegacyImportSummaries;
  /** The same import as `/api/tracker` reports it (the CLI's --json prints it beside the summaries). */
  report: TrackerImportReport;
  format: LegacyTrackerFormat;
}

/** 2.40's strategy names (`ImportStrategy.java`) and the current ones. */
const STRATEGIES: Record<string, string> = {
  NEW_AND_UPDATES: 'CREATE_AND_UPDATE',
  NEW: 'CREATE',
  UPDATES: 'UPDATE',
  DELETES: 'DELETE',
};

/**
 * The query of an older endpoint as the current importer's parameters: 2.40's strategy names,
 * `async` dropped (these endpoints answer when done, as 2.40 did by default), and atomicMode OBJECT
 * unless asked otherwise: 2.40 imported each object on its own, so one bad event did not hold back
 * the rest.
 */
export function legacyTrackerParams(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...query, async: 'false' };
  for (const name of ['strategy', 'importStrategy']) {
    const value = query[name];
    if (typeof value === 'string' && STRATEGIES[value.toUpperCase()])
      out[name] = STRATEGIES[value.toUpperCase()];
  }
  if (query.atomicMode === undefined) out.atomicMode = 'OBJECT';
  return out;
}

function formatFrom(input: LegacyTrackerImportInput): LegacyTrackerFormat | undefined {
  if (input.format) {
    const format = input.format.toLowerCase() as LegacyTrackerFormat;
    if (!LEGACY_TRACKER_FORMATS.includes(format))
      throw new FerryError('F1000', ['format', input.format, LEGACY_TRACKER_FORMATS.join(', ')]);
    return format;
  }
  const type = (input.contentType ?? '').toLowerCase();
  if (/xml/.test(type)) return 'xml';
  if (/csv/.test(type)) return 'csv';
  if (/json/.test(type)) return 'json';
  const name = input.fileName.toLowerCase().replace(/\.(gz|gzip|zip)$/, '');
  const extension = /\.(json|xml|csv)$/.exec(name)?.[1];
  return extension as LegacyTrackerFormat | undefined;
}

/** The format from the first character that is not white space, when nothing else said it. */
async function sniffed(
  text: AsyncIterable<string>,
): Promise<{ format: LegacyTrackerFormat; text: AsyncIterable<string> }> {
  const iterator = text[Symbol.asyncIterator]();
  const held: string[] = [];
  let format: LegacyTrackerFormat = 'csv';
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    held.push(next.value);
    const head = next.value.replace(/^\uFEFF/, '').trimStart();
    if (head === '') continue;
    format = head[0] === '<' ? 'xml' : head[0] === '{' || head[0] === '[' ? 'json' : 'csv';
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
  return { format, text: rest() };
}

/** UIDs of the payload already stored, so a summary can say imported or updated per object. */
async function storedUids(context: FerryContext, table: string, uids: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (let i = 0; i < uids.length; i += 500) {
    const chunk = uids.slice(i, i + 500);
    if (chunk.length === 0) continue;
    const rows = await context.storage.query<{ uid: string }>(
      `SELECT uid FROM ${table} WHERE uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) found.add(String(row.uid));
  }
  return found;
}

const TABLES: Partial<Record<TrackerType, string>> = {
  TRACKED_ENTITY: 'tracked_entity',
  ENROLLMENT: 'enrollment',
  EVENT: 'event',
};

/** One chunk of a tracker file, flattened, with its top-level objects' groups (for the summaries). */
export interface TrackerFileChunk {
  bundle: TrackerBundle;
  /** The chunk's top-level objects and what each nested, in file order. */
  groups: LegacyObjectGroup[];
}

/**
 * Reads a tracker file of the older formats (or event CSV in the current columns) into the chunks
 * the current importer takes: JSON, XML or CSV (from `format`, the content type, the name, or the
 * first character), gzip or zip, streamed; a chunk of about `chunkObjects` objects at a time (a
 * tracked entity instance stays whole), so memory holds one chunk whatever the file's size. The
 * format found is set on `found` before the first chunk.
 */
export async function* readTrackerFileChunks(
  input: LegacyTrackerImportInput,
  endpoint: LegacyTrackerEndpoint,
  options: {
    signal?: AbortSignal;
    onBytesRead?: BytesReadListener;
    progress?: TrackerImportRunOptions['progress'];
    chunkObjects?: number;
  } = {},
  found: { format?: LegacyTrackerFormat } = {},
): AsyncIterable<TrackerFileChunk> {
  let format = formatFrom(input);
  if (format === 'csv' && endpoint === 'trackedEntities')
    throw new FerryError('F1003', ['text/csv; tracked entity instances are JSON or XML']);
  const chunkObjects = options.chunkObjects ?? TRACKER_CHUNK_OBJECTS;
  const wanted = endpoint === 'any' ? undefined : endpoint;
  // One relationship listed under both of its ends is one relationship, across chunks too.
  const relationships = new Set<string>();
  let chunk: TrackerFileChunk = { bundle: emptyBundle(), groups: [] };
  let read = 0;
  const size = (b: TrackerBundle) =>
    b.trackedEntities.length + b.enrollments.length + b.events.length + b.relationships.length;
  const finish = (c: TrackerFileChunk): TrackerFileChunk => {
    c.bundle.relationships = c.bundle.relationships.filter((r) =>
      relationships.has(r.relationship) ? false : (relationships.add(r.relationship), true),
    );
    return c;
  };
  options.progress?.({ stage: 'Reading tracker file', processed: 0 });
  try {
    const opened = await openInput(input.path, input.fileName, { onBytesRead: options.onBytesRead });
    let text = decodeUtf8(opened.chunks, input.fileName);
    if (!format) ({ format, text } = await sniffed(text));
    found.format = format;
    const root = endpoint === 'trackedEntities' ? 'trackedEntities' : 'events';
    for await (const items of readLegacyTracker(text, input.fileName, format, root)) {
      options.signal?.throwIfAborted();
      for (const item of items) {
        addItem(chunk.bundle, chunk.groups, item, wanted, input.fileName);
        if (size(chunk.bundle) >= chunkObjects) {
          read += size(chunk.bundle);
          options.progress?.({ stage: 'Reading tracker file', processed: read });
          yield finish(chunk);
          chunk = { bundle: emptyBundle(), groups: [] };
        }
      }
    }
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
  if (size(chunk.bundle) > 0) yield finish(chunk);
}

/**
 * An older event of a program with registration named its tracked entity instance and program but
 * often no enrollment: 2.40 took the instance's active enrollment in the program. The current
 * importer needs the enrollment (E1033), so it is looked up here, in bulk; an event with no (or more
 * than one) active enrollment is left without one and gets E1033 from the importer. `inFile` holds
 * the active enrollments of the file's earlier chunks (null: more than one), which the database
 * does not show yet (the import's transaction is still open).
 */
async function fillEnrollments(
  context: FerryContext,
  bundle: TrackerBundle,
  inFile: Map<string, string | null>,
): Promise<void> {
  for (const en of bundle.enrollments)
    if (en.status === 'ACTIVE' && en.trackedEntity && en.program) {
      const key = `${en.trackedEntity}/${en.program}`;
      inFile.set(key, inFile.has(key) ? null : en.enrollment);
    }
  const open = bundle.events.filter((e) => !e.enrollment && e.trackedEntity && e.program);
  if (open.length === 0) return;
  const found = new Map<string, string | null>();
  for (const event of open) {
    const key = `${event.trackedEntity}/${event.program}`;
    if (inFile.has(key)) found.set(key, inFile.get(key)!);
  }
  const uids = [...new Set(open.map((e) => e.trackedEntity!))];
  for (let i = 0; i < uids.length; i += 500) {
    const chunk = uids.slice(i, i + 500);
    const rows = await context.storage.query<{ te: string; program: string; enrollment: string }>(
      `SELECT te.uid AS te, p.uid AS program, en.uid AS enrollment
         FROM enrollment en
         JOIN tracked_entity te ON te.tracked_entity_id = en.tracked_entity_id
         JOIN metadata_object p ON p.sid = en.program_id
        WHERE en.status = 'ACTIVE' AND en.deleted = 0 AND te.uid IN (${chunk.map(() => '?').join(', ')})`,
      chunk,
    );
    for (const row of rows) {
      const key = `${row.te}/${row.program}`;
      const known = found.get(key);
      if (known === row.enrollment) continue;
      found.set(key, found.has(key) ? null : String(row.enrollment));
    }
  }
  for (const event of open) {
    const enrollment = found.get(`${event.trackedEntity}/${event.program}`);
    if (enrollment) event.enrollment = enrollment;
  }
}

/**
 * DHIS2's older tracker imports (`POST /api/events`, `POST /api/trackedEntityInstances` up to 2.40):
 * the file (JSON, XML, or event CSV in 2.40's or the current columns; gzip or zip) is decoded as a
 * stream into the current importer's objects and run through the same import as `POST /api/tracker`
 * (same preheat, validation, codes and writer, chunk by chunk as the file is read: nothing holds
 * the whole file), then its report is told as that era's ImportSummaries. The caller's authority and capture scope are checked by that import, when it runs.
 */
export async function importLegacyTracker(
  context: FerryContext,
  input: LegacyTrackerImportInput,
  endpoint: LegacyTrackerEndpoint,
  query: Record<string, unknown>,
  principal: Principal | undefined,
  options: TrackerImportRunOptions & { onBytesRead?: BytesReadListener } = {},
): Promise<LegacyTrackerImportResult> {
  if (principal && !principalHasAuthority(principal, 'F_TRACKER_IMPORT'))
    throw new FerryError('F1102', ['F_TRACKER_IMPORT']);
  // Bad parameters are refused before the file is read.
  const params = trackerImportParams(legacyTrackerParams(query));
  const found: { format?: LegacyTrackerFormat } = {};
  const groups: LegacyObjectGroup[] = [];
  // UIDs stored before the import (updated, not imported, in the summaries), read per chunk outside
  // the import's transaction, which holds what earlier chunks created.
  const stored = new Map<TrackerType, Set<string>>(
    (['TRACKED_ENTITY', 'ENROLLMENT', 'EVENT'] as const).map((t) => [t, new Set<string>()]),
  );
  const active = new Map<string, string | null>();
  // Metadata named by CODE, NAME, ... becomes UIDs first: the enrollment look-up below needs them.
  const identifiers = params.idSchemes ? new TrackerIdentifierResolver(context, params.idSchemes) : undefined;
  async function* chunks(): AsyncIterable<TrackerBundle> {
    for await (const chunk of readTrackerFileChunks(input, endpoint, options, found)) {
      await identifiers?.resolve(chunk.bundle);
      await fillEnrollments(context, chunk.bundle, active);
      const uids: Array<[TrackerType, string[]]> = [
        ['TRACKED_ENTITY', chunk.bundle.trackedEntities.map((t) => t.trackedEntity)],
        ['ENROLLMENT', chunk.bundle.enrollments.map((e) => e.enrollment)],
        ['EVENT', chunk.bundle.events.map((e) => e.event)],
      ];
      for (const [type, list] of uids)
        for (const uid of await storedUids(context, TABLES[type]!, list)) stored.get(type)!.add(uid);
      groups.push(...chunk.groups);
      yield chunk.bundle;
    }
  }

  const report = await importTrackerChunks(context, chunks(), params, principal, options);
  const failed = report.validationReport.errorReports.length > 0;
  const dropped = new Map((report.dedupe?.dropped ?? []).map((d) => [`${d.trackerType}:${d.uid}`, d.reason]));
  const summaries = buildLegacyImportSummaries(report, groups, {
    existed: (type, uid) => stored.get(type)?.has(uid) ?? false,
    dropped: (type, uid) => dropped.get(`${type}:${uid}`),
    deleting: params.importStrategy === 'DELETE',
    written: !(params.atomicMode === 'ALL' && failed),
  });
  return { summaries, report, format: found.format ?? 'json' };
}

/** Adds one top-level object to the bundle and remembers what it nested, for its summary. */
function addItem(
  bundle: TrackerBundle,
  groups: LegacyObjectGroup[],
  item: LegacyTrackerItem,
  wanted: LegacyTrackerItem['collection'] | undefined,
  fileName: string,
): void {
  if (wanted && item.collection !== wanted)
    throw new InputError(
      fileName,
      wanted === 'events'
        ? 'tracked entity instances are imported through /api/trackedEntityInstances'
        : 'events are imported through /api/events',
      { line: item.line },
    );
  const before = {
    enrollments: bundle.enrollments.length,
    events: bundle.events.length,
    relationships: bundle.relationships.length,
  };
  addPayloadItem(bundle, item.collection, item.value, generateUid);
  const relationships = bundle.relationships.slice(before.relationships).map((r) => r.relationship);
  if (item.collection === 'events') {
    groups.push({ type: 'EVENT', uid: bundle.events[before.events].event, enrollments: [], relationships });
    return;
  }
  const te = bundle.trackedEntities[bundle.trackedEntities.length - 1];
  const events = bundle.events.slice(before.events);
  groups.push({
    type: 'TRACKED_ENTITY',
    uid: te.trackedEntity,
    enrollments: bundle.enrollments.slice(before.enrollments).map((en) => ({
      uid: en.enrollment,
      events: events.filter((ev) => ev.enrollment === en.enrollment).map((ev) => ev.event),
    })),
    relationships,
  });
}
