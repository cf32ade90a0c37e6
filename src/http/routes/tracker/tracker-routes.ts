import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { maxUploadBytes, uploadFileName, withSpooledBody } from '../../async-import.ts';
import { FerryError, parseBooleanParameter } from '../../../errors.ts';
import { importTracker, trackerImportParams } from '../../../services/tracker/tracker-import-service.ts';
import { TRACKER_IMPORT_JOB } from '../../../services/tracker/tracker-jobs.ts';
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

type Query = Record<string, unknown>;

/**
 * DHIS2's tracker API: `POST /api/tracker` (nested or flat JSON; async by default, answered with
 * DHIS2 2.41's job reference), the job's notifications and report, and the four exports with their
 * single-object routes. Exports stream: JSON is written object by object, a page or (paging=false)
 * every object by keyset steps.
 */
export async function registerTrackerRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    scope.post<{ Querystring: Query }>('/api/tracker', async (request, reply) => {
      const principal = requireAuthority(request, 'F_TRACKER_IMPORT');
      const contentType = request.headers['content-type'] ?? '';
      if (!/json|octet-stream|gzip|zip/i.test(contentType))
        throw new FerryError('F1003', [
          `${contentType || '(none)'}; accepted: application/json (gzip or zip allowed)`,
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
  const eventsRoute = async (request: FastifyRequest, reply: FastifyReply, format: 'json' | 'csv') => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    // CSV only: a file meant for a spreadsheet (docs/security.md); checked before anything is read.
    const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
    const export_ = await parseEventExport(context, query, principal);
    if (format === 'csv') {
      async function* csv() {
        yield `${EVENT_CSV_COLUMNS.join(',')}\n`;
        for await (const batch of readEvents(context, export_))
          yield eventCsvLines(batch, { escapeFormulas });
      }
      return reply.type('application/csv; charset=utf-8').send(Readable.from(csv()));
    }
    return sendList(reply, 'events', export_, await totalOf('events', export_), readEvents(context, export_));
  };
  app.get('/api/tracker/events', (request, reply) => eventsRoute(request, reply, 'json'));
  app.get('/api/tracker/events.json', (request, reply) => eventsRoute(request, reply, 'json'));
  app.get('/api/tracker/events.csv', (request, reply) => eventsRoute(request, reply, 'csv'));
  app.get('/api/tracker/events/:uid', async (request) => {
    const { uid } = request.params as { uid: string };
    const principal = requirePrincipal(request);
    return single(
      await firstOf(readEvents(context, await parseEventExport(context, { events: uid }, principal))),
      'Event',
      uid,
    );
  });

  // Tracked entities
  const trackedEntitiesRoute = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    const export_ = await parseTrackedEntityExport(context, query, principal);
    const includeDeleted = String(query.includeDeleted ?? '').toLowerCase() === 'true';
    return sendList(
      reply,
      'trackedEntities',
      export_,
      await totalOf('trackedEntities', export_),
      readTrackedEntities(context, export_, nestedFields(query), includeDeleted),
    );
  };
  app.get('/api/tracker/trackedEntities', trackedEntitiesRoute);
  app.get('/api/tracker/trackedEntities.json', trackedEntitiesRoute);
  app.get('/api/tracker/trackedEntities/:uid', async (request) => {
    const { uid } = request.params as { uid: string };
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    const export_ = await parseTrackedEntityExport(context, { ...query, trackedEntity: uid }, principal);
    return single(
      await firstOf(readTrackedEntities(context, export_, nestedFields(query))),
      'Tracked entity',
      uid,
    );
  });

  // Enrollments
  const enrollmentsRoute = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = requirePrincipal(request);
    const export_ = await parseEnrollmentExport(context, request.query as Query, principal);
    return sendList(
      reply,
      'enrollments',
      export_,
      await totalOf('enrollments', export_),
      readEnrollments(context, export_),
    );
  };
  app.get('/api/tracker/enrollments', enrollmentsRoute);
  app.get('/api/tracker/enrollments.json', enrollmentsRoute);
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
  const relationshipsRoute = async (request: FastifyRequest, reply: FastifyReply) => {
    const principal = requirePrincipal(request);
    const export_ = await parseRelationshipExport(context, request.query as Query, principal);
    return sendList(
      reply,
      'relationships',
      export_,
      await totalOf('relationships', export_),
      readRelationships(context, export_),
    );
  };
  app.get('/api/tracker/relationships', relationshipsRoute);
  app.get('/api/tracker/relationships.json', relationshipsRoute);
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

async function firstOf<T>(batches: AsyncIterable<T[]>): Promise<T | undefined> {
  for await (const batch of batches) if (batch.length > 0) return batch[0];
  return undefined;
}

function single<T>(value: T | undefined, what: string, uid: string): T {
  if (value === undefined) throw new FerryError('F1200', [what, uid]);
  return value;
}

/** `{"pager": {...}, "<name>": [...]}` written object by object (no pager with paging=false). */
function sendList(
  reply: FastifyReply,
  name: string,
  export_: TrackerExportRequest,
  total: number | undefined,
  batches: AsyncIterable<unknown[]>,
): FastifyReply {
  const { paging } = export_;
  async function* json() {
    if (paging.paging) {
      const pager: Record<string, number> = { page: paging.page, pageSize: paging.pageSize };
      if (total !== undefined) {
        pager.total = total;
        pager.pageCount = Math.ceil(total / paging.pageSize);
      }
      yield `{"pager":${JSON.stringify(pager)},"${name}":[`;
    } else yield `{"${name}":[`;
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
  return reply.type('application/json; charset=utf-8').send(Readable.from(json()));
}
