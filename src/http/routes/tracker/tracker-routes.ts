import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { maxUploadBytes, uploadFileName, withSpooledBody } from '../../async-import.ts';
import { FerryError, parseBooleanParameter } from '../../../errors.ts';
import {
  attachmentDisposition,
  compressionSuffix,
  compressStream,
  type ExportCompression,
} from '../../../services/jobs/export-compression.ts';
import { importTracker, trackerImportParams } from '../../../services/tracker/tracker-import-service.ts';
import { TRACKER_IMPORT_JOB } from '../../../services/tracker/tracker-jobs.ts';
import { trackerExportIdentifiers } from '../../../services/tracker/tracker-export-identifiers.ts';
import {
  TRACKED_ENTITY_CSV_COLUMNS,
  trackedEntityCsvLines,
} from '../../../codecs/tracker-csv/tracked-entity-csv-encoder.ts';
import {
  countExport,
  eventCsvLines,
  EVENT_CSV_COLUMNS,
  nestedFields,
  parseEnrollmentExport,
  parseEventExport,
  parseRelationshipExport,
  parseTrackedEntityExport,
  readEnrollments,
  readEvents,
  readRelationships,
  readTrackedEntities,
  type TrackerExportRequest,
} from '../../../services/tracker/tracker-export-service.ts';
import { readEventText, type EventText } from '../../../services/tracker/tracker-event-text.ts';

type Query = Record<string, unknown>;

/**
 * DHIS2's tracker API: `POST /api/tracker` (nested or flat JSON, or event CSV; async by default, answered with
 * DHIS2 2.41's job reference), the job's notifications and report, and the four exports with their
 * single-object routes. Exports stream: JSON is written object by object, a page or (paging=false)
 * every object by keyset steps.
 */
export async function registerTrackerRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    scope.post<{ Querystring: Query }>('/api/tracker', async (request, reply) => {
      const principal = requireAuthority(request, 'F_TRACKER_IMPORT');
      const contentType = request.headers['content-type'] ?? '';
      if (!/json|csv|octet-stream|gzip|zip/i.test(contentType))
        throw new FerryError('F1003', [
          `${contentType || '(none)'}; accepted: application/json, application/csv or text/csv (events), gzip or zip allowed`,
        ]);
      // Bad parameters are refused before the body is read or a job queued.
      const params = trackerImportParams(request.query);
      if (params.async) {
        const job = await context.jobs.submit({
          type: TRACKER_IMPORT_JOB,
          params: { ...request.query },
          viewer: principal,
          body: request.body as Readable,
          contentType: contentType || 'application/json',
          originalName: uploadFileName(request.headers),
          maxBytes: maxUploadBytes(context),
        });
        const base = `${request.protocol}://${request.headers.host ?? 'localhost'}`;
        return reply.send({
          httpStatus: 'OK',
          httpStatusCode: 200,
          status: 'OK',
          message: 'Tracker job added',
          response: { id: job.id, location: `${base}/api/tracker/jobs/${job.id}` },
        });
      }
      return withSpooledBody(context, request, async (body) => {
        const report = await importTracker(context, body, request.query, principal);
        return reply.status(report.status === 'ERROR' ? 409 : 200).send(report);
      });
    });
  });

  // GET /api/tracker/jobs/{id} and /report are served by routes/jobs/task-routes.ts (DHIS2's task views).

  /** `totalPages=true` on a paged export: the count DHIS2 adds as `total` and `pageCount`. */
  const totalOf = async (kind: Parameters<typeof countExport>[1], export_: TrackerExportRequest) =>
    export_.paging.paging && export_.paging.totalPages ? countExport(context, kind, export_) : undefined;

  // Events
  const events: ExportProducer = async (request, format) => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    // CSV only: a file meant for a spreadsheet (docs/security.md); checked before anything is read.
    const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
    const export_ = await parseEventExport(context, query, principal);
    const identifiers = trackerExportIdentifiers(context, query);
    if (!identifiers) {
      // No id scheme to apply: the text is written straight from the rows (readEventText).
      const steps = readEventText(context, export_, format, { escapeFormulas });
      if (format === 'csv') {
        async function* csvText() {
          yield `${EVENT_CSV_COLUMNS.join(',')}\n`;
          for await (const piece of steps) yield piece.bytes;
        }
        return Readable.from(csvText());
      }
      return jsonTextList('events', export_, await totalOf('events', export_), steps);
    }
    const batches = await withIdentifiers(
      readEvents(context, export_),
      identifiers && ((batch) => identifiers.events(batch)),
    );
    if (format === 'csv') {
      async function* csv() {
        yield `${EVENT_CSV_COLUMNS.join(',')}\n`;
        for await (const batch of batches) yield eventCsvLines(batch, { escapeFormulas });
      }
      return Readable.from(csv());
    }
    return jsonList('events', export_, await totalOf('events', export_), batches);
  };
  registerExport(app, 'events', ['json', 'csv'], events);
  app.get('/api/tracker/events/:uid', async (request) => {
    const { uid } = request.params as { uid: string };
    const principal = requirePrincipal(request);
    const identifiers = trackerExportIdentifiers(context, request.query as Query);
    const event = single(
      await firstOf(readEvents(context, await parseEventExport(context, { events: uid }, principal))),
      'Event',
      uid,
    );
    return identifiers ? (await identifiers.events([event]))[0] : event;
  });

  // Tracked entities
  const trackedEntities: ExportProducer = async (request, format) => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
    const export_ = await parseTrackedEntityExport(context, query, principal);
    const includeDeleted = String(query.includeDeleted ?? '').toLowerCase() === 'true';
    const identifiers = trackerExportIdentifiers(context, query);
    // As DHIS2: `fields` has no effect on CSV; one row per attribute value.
    const fields = format === 'csv' ? { ...nestedFields({}), attributes: true } : nestedFields(query);
    const batches = await withIdentifiers(
      readTrackedEntities(context, export_, fields, includeDeleted),
      identifiers && ((batch) => identifiers.trackedEntities(batch)),
    );
    if (format === 'csv') {
      async function* csv() {
        yield `${TRACKED_ENTITY_CSV_COLUMNS.join(',')}\n`;
        for await (const batch of batches) yield trackedEntityCsvLines(batch, { escapeFormulas });
      }
      return Readable.from(csv());
    }
    return jsonList('trackedEntities', export_, await totalOf('trackedEntities', export_), batches);
  };
  registerExport(app, 'trackedEntities', ['json', 'csv'], trackedEntities);
  app.get('/api/tracker/trackedEntities/:uid', async (request) => {
    const { uid } = request.params as { uid: string };
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    const export_ = await parseTrackedEntityExport(context, { ...query, trackedEntity: uid }, principal);
    const identifiers = trackerExportIdentifiers(context, query);
    const trackedEntity = single(
      await firstOf(readTrackedEntities(context, export_, nestedFields(query))),
      'Tracked entity',
      uid,
    );
    return identifiers ? (await identifiers.trackedEntities([trackedEntity]))[0] : trackedEntity;
  });

  // Enrollments
  const enrollments: ExportProducer = async (request) => {
    const principal = requirePrincipal(request);
    const export_ = await parseEnrollmentExport(context, request.query as Query, principal);
    return jsonList(
      'enrollments',
      export_,
      await totalOf('enrollments', export_),
      readEnrollments(context, export_),
    );
  };
  registerExport(app, 'enrollments', ['json'], enrollments);
  app.get('/api/tracker/enrollments/:uid', async (request) => {
    const { uid } = request.params as { uid: string };
    const principal = requirePrincipal(request);
    return single(
      await firstOf(
        readEnrollments(context, await parseEnrollmentExport(context, { enrollments: uid }, principal)),
      ),
      'Enrollment',
      uid,
    );
  });

  // Relationships
  const relationships: ExportProducer = async (request) => {
    const principal = requirePrincipal(request);
    const export_ = await parseRelationshipExport(context, request.query as Query, principal);
    return jsonList(
      'relationships',
      export_,
      await totalOf('relationships', export_),
      readRelationships(context, export_),
    );
  };
  registerExport(app, 'relationships', ['json'], relationships);
  app.get('/api/tracker/relationships/:uid', async (request) => {
    const { uid } = request.params as { uid: string };
    const principal = requirePrincipal(request);
    return single(
      await firstOf(
        readRelationships(context, await parseRelationshipExport(context, { relationships: uid }, principal)),
      ),
      'Relationship',
      uid,
    );
  });
}

/**
 * The export's batches with its output id schemes applied (`idScheme=CODE`, ...). The first batch
 * is read and rewritten before the answer starts, so that an identifier missing there is a clean
 * 422 (F1202) rather than a download cut off.
 */
async function withIdentifiers<T>(
  batches: AsyncIterable<T[]>,
  rewrite: ((batch: T[]) => Promise<T[]>) | undefined,
): Promise<AsyncIterable<T[]>> {
  if (!rewrite) return batches;
  const iterator = batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  let head: T[] | undefined;
  try {
    head = first.done ? undefined : await rewrite(first.value);
  } catch (error) {
    await iterator.return?.();
    throw error;
  }
  async function* all(): AsyncIterable<T[]> {
    if (first.done) return;
    try {
      if (head) yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield await rewrite!(next.value);
      }
    } finally {
      await iterator.return?.();
    }
  }
  return all();
}

async function firstOf<T>(batches: AsyncIterable<T[]>): Promise<T | undefined> {
  for await (const batch of batches) if (batch.length > 0) return batch[0];
  return undefined;
}

function single<T>(value: T | undefined, what: string, uid: string): T {
  if (value === undefined) throw new FerryError('F1200', [what, uid]);
  return value;
}

type ExportFormat = 'json' | 'csv';
type ExportProducer = (request: FastifyRequest, format: ExportFormat) => Promise<Readable>;

const COMPRESSIONS: ReadonlyArray<[string, ExportCompression]> = [
  ['', 'none'],
  ['.gz', 'gzip'],
  ['.zip', 'zip'],
];

/** What an Accept header asks for when the path does not say: DHIS2's `application/json+zip` and kin. */
function fromAccept(accept: string | undefined): { format?: ExportFormat; compression?: ExportCompression } {
  const text = (accept ?? '').toLowerCase();
  const format: ExportFormat | undefined = /\b(application|text)\/csv/.test(text)
    ? 'csv'
    : /application\/json/.test(text)
      ? 'json'
      : undefined;
  const compression: ExportCompression | undefined = /\+gzip/.test(text)
    ? 'gzip'
    : /\+zip/.test(text)
      ? 'zip'
      : undefined;
  return { format, compression };
}

/**
 * `GET /api/tracker/<name>(.json|.csv)(.gz|.zip)` and the Accept header's `application/json+gzip`,
 * `application/csv+zip` ...: the body streamed through gzip or a one-entry zip, as DHIS2 offers them.
 */
function registerExport(
  app: FastifyInstance,
  name: string,
  formats: readonly ExportFormat[],
  produce: ExportProducer,
): void {
  for (const format of [undefined, ...formats]) {
    for (const [suffix, pathCompression] of COMPRESSIONS) {
      if (format === undefined && suffix !== '') continue;
      app.get(`/api/tracker/${name}${format ? `.${format}` : ''}${suffix}`, async (request, reply) => {
        const accepted = fromAccept(request.headers.accept);
        const chosen: ExportFormat =
          format ?? (accepted.format && formats.includes(accepted.format) ? accepted.format : 'json');
        const compression: ExportCompression = suffix
          ? pathCompression
          : format
            ? 'none'
            : (accepted.compression ?? 'none');
        const body = await produce(request, chosen);
        const fileName = `${name}.${chosen}`;
        const out = compressStream(body, compression, fileName);
        request.raw.on('close', () => {
          if (!out.readableEnded) out.destroy();
          if (!body.readableEnded) body.destroy();
        });
        if (compression === 'none') {
          reply.type(chosen === 'csv' ? 'application/csv; charset=utf-8' : 'application/json; charset=utf-8');
          if (chosen === 'csv') reply.header('Content-Disposition', attachmentDisposition(fileName));
        } else {
          reply.type(`application/${chosen}+${compression}`);
          reply.header(
            'Content-Disposition',
            attachmentDisposition(`${fileName}${compressionSuffix(compression)}`),
          );
        }
        return reply.send(out);
      });
    }
  }
}

/** The opening of a JSON list: `{"pager": {...}, "<name>": [` (no pager with paging=false). */
function jsonListOpening(name: string, export_: TrackerExportRequest, total: number | undefined): string {
  const { paging } = export_;
  if (!paging.paging) return `{"${name}":[`;
  const pager: Record<string, number> = { page: paging.page, pageSize: paging.pageSize };
  if (total !== undefined) {
    pager.total = total;
    pager.pageCount = Math.ceil(total / paging.pageSize);
  }
  return `{"pager":${JSON.stringify(pager)},"${name}":[`;
}

/** jsonList of objects already written as comma-separated JSON text (readEventText). */
function jsonTextList(
  name: string,
  export_: TrackerExportRequest,
  total: number | undefined,
  pieces: AsyncIterable<EventText>,
): Readable {
  async function* json() {
    yield Buffer.from(jsonListOpening(name, export_, total));
    for await (const piece of pieces) yield piece.bytes;
    yield Buffer.from(']}');
  }
  return Readable.from(json());
}

/** `{"pager": {...}, "<name>": [...]}` written object by object (no pager with paging=false). */
function jsonList(
  name: string,
  export_: TrackerExportRequest,
  total: number | undefined,
  batches: AsyncIterable<unknown[]>,
): Readable {
  async function* json() {
    yield jsonListOpening(name, export_, total);
    let first = true;
    for await (const batch of batches) {
      let chunk = '';
      for (const item of batch) {
        chunk += (first ? '' : ',') + JSON.stringify(item);
        first = false;
      }
      if (chunk) yield chunk;
    }
    yield ']}';
  }
  return Readable.from(json());
}
