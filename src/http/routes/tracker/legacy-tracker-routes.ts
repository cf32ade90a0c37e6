import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { startImportJob, withSpooledBody } from '../../async-import.ts';
import { FerryError, parseBooleanParameter } from '../../../errors.ts';
import {
  importLegacyTracker,
  legacyTrackerParams,
  type LegacyTrackerEndpoint,
} from '../../../services/tracker/legacy-tracker-import-service.ts';
import { trackerImportParams } from '../../../services/tracker/tracker-import-service.ts';
import { LEGACY_TRACKER_JOB_TYPES } from '../../../services/tracker/legacy-tracker-jobs.ts';
import {
  countExport,
  parseEventExport,
  readEvents,
} from '../../../services/tracker/tracker-export-service.ts';
import { legacyImportWebMessage } from '../../../codecs/tracker-legacy/import-summaries-encoder.ts';
import { currentEventToLegacy } from '../../../codecs/tracker-legacy/legacy-tracker-objects.ts';
import {
  LEGACY_EVENT_CSV_HEADER,
  LEGACY_EVENTS_XML_END,
  LEGACY_EVENTS_XML_START,
  legacyEventCsvLines,
  legacyEventsXml,
} from '../../../codecs/tracker-legacy/legacy-event-encoder.ts';
import {
  attachmentDisposition,
  compressionSuffix,
  compressStream,
  type ExportCompression,
} from '../../../services/jobs/export-compression.ts';

type Query = Record<string, unknown>;

const ACCEPTED = /json|xml|csv|octet-stream|gzip|zip/i;

type EventFormat = 'json' | 'xml' | 'csv';
const CONTENT_TYPES: Record<EventFormat, string> = {
  json: 'application/json',
  xml: 'application/xml',
  csv: 'application/csv',
};

/**
 * DHIS2's tracker endpoints up to 2.40 (removed in 2.41), for files and clients of older servers:
 * `POST /api/events` (JSON, XML, event CSV) and `POST /api/trackedEntityInstances` (JSON, XML),
 * imported through the same service as `POST /api/tracker` and answered with that era's
 * ImportSummaries; `GET /api/events` (`.json`, `.xml`, `.csv`, each also `.gz` or `.zip`) in that era's shape, read
 * by the current export.
 */
export async function registerLegacyTrackerRoutes(
  app: FastifyInstance,
  context: FerryContext,
): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    const post =
      (endpoint: LegacyTrackerEndpoint) => async (request: FastifyRequest, reply: FastifyReply) => {
        const principal = requireAuthority(request, 'F_TRACKER_IMPORT');
        const contentType = request.headers['content-type'] ?? '';
        if (!ACCEPTED.test(contentType))
          throw new FerryError('F1003', [
            `${contentType || '(none)'}; accepted: application/json, application/xml` +
              (endpoint === 'events' ? ', application/csv' : '') +
              ' (gzip or zip allowed)',
          ]);
        const query = request.query as Query;
        // Bad parameters are refused before the body is read or a job queued.
        trackerImportParams(legacyTrackerParams(query));
        if (parseBooleanParameter('async', query.async, false))
          return startImportJob(
            context,
            request,
            reply,
            LEGACY_TRACKER_JOB_TYPES[endpoint as Exclude<LegacyTrackerEndpoint, 'any'>],
            { ...query },
            principal,
          );
        return withSpooledBody(context, request, async (body) => {
          const { summaries } = await importLegacyTracker(
            context,
            { ...body, format: (request.query as Query).format as string | undefined },
            endpoint,
            request.query as Query,
            principal,
          );
          const message = legacyImportWebMessage(summaries);
          return reply.status(message.httpStatusCode).send(message);
        });
      };
    scope.post('/api/events', post('events'));
    scope.post('/api/events.json', post('events'));
    scope.post('/api/trackedEntityInstances', post('trackedEntities'));
    scope.post('/api/trackedEntityInstances.json', post('trackedEntities'));
  });

  const eventsRoute = async (
    request: FastifyRequest,
    reply: FastifyReply,
    format: EventFormat,
    suffix: string,
  ) => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    // CSV only: a file meant for a spreadsheet (docs/security.md); checked before anything is read.
    const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
    // 2.40's parameter names for the current export's (the current names are taken too).
    const export_ = await parseEventExport(
      context,
      {
        ...query,
        occurredAfter: query.startDate ?? query.occurredAfter,
        occurredBefore: query.endDate ?? query.occurredBefore,
        updatedAfter: query.lastUpdatedStartDate ?? query.updatedAfter,
        events: query.event ?? query.events,
      },
      principal,
    );
    const { paging } = export_;
    const total =
      paging.paging && paging.totalPages ? await countExport(context, 'events', export_) : undefined;
    const pager: Record<string, unknown> = { page: paging.page, pageSize: paging.pageSize };
    if (total !== undefined) {
      pager.total = total;
      pager.pageCount = Math.ceil(total / paging.pageSize);
    }
    async function* legacyBatches() {
      for await (const batch of readEvents(context, export_)) yield batch.map(currentEventToLegacy);
    }
    async function* json() {
      yield paging.paging ? `{"pager":${JSON.stringify(pager)},"events":[` : '{"events":[';
      let first = true;
      for await (const batch of legacyBatches()) {
        let chunk = '';
        for (const event of batch) {
          chunk += (first ? '' : ',') + JSON.stringify(event);
          first = false;
        }
        if (chunk) yield chunk;
      }
      yield ']}';
    }
    async function* xml() {
      yield LEGACY_EVENTS_XML_START;
      for await (const batch of legacyBatches()) yield legacyEventsXml(batch);
      yield LEGACY_EVENTS_XML_END;
    }
    async function* csv() {
      yield LEGACY_EVENT_CSV_HEADER;
      for await (const batch of legacyBatches()) yield legacyEventCsvLines(batch, { escapeFormulas });
    }
    const body = Readable.from(format === 'json' ? json() : format === 'xml' ? xml() : csv());
    const compression: ExportCompression = suffix === '.gz' ? 'gzip' : suffix === '.zip' ? 'zip' : 'none';
    const fileName = `events.${format}`;
    const out = compressStream(body, compression, fileName);
    request.raw.on('close', () => {
      if (!out.readableEnded) out.destroy();
      if (!body.readableEnded) body.destroy();
    });
    if (compression === 'none') {
      reply.type(`${CONTENT_TYPES[format]}; charset=utf-8`);
      if (format === 'csv') reply.header('Content-Disposition', attachmentDisposition(fileName));
    } else {
      reply.type(`application/${format}+${compression}`);
      reply.header(
        'Content-Disposition',
        attachmentDisposition(`${fileName}${compressionSuffix(compression)}`),
      );
    }
    return reply.send(out);
  };
  app.get('/api/events', (request, reply) => eventsRoute(request, reply, 'json', ''));
  for (const format of ['json', 'xml', 'csv'] as const)
    for (const suffix of ['', '.gz', '.zip'])
      app.get(`/api/events.${format}${suffix}`, (request, reply) =>
        eventsRoute(request, reply, format, suffix),
      );
}
