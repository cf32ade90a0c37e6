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
  nestedFields,
  parseEventExport,
  parseTrackedEntityExport,
  readEvents,
  readTrackedEntities,
  type TrackerExportRequest,
} from '../../../services/tracker/tracker-export-service.ts';
import type { RawObject } from '../../../domain/tracker/tracker-objects.ts';
import { legacyImportWebMessage } from '../../../codecs/tracker-legacy/import-summaries-encoder.ts';
import {
  currentEventToLegacy,
  currentTrackedEntityToLegacy,
} from '../../../codecs/tracker-legacy/legacy-tracker-objects.ts';
import {
  LEGACY_EVENT_CSV_HEADER,
  legacyEventCsvLines,
  legacyEventsXml,
  legacyXmlElement,
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
 * ImportSummaries (`async=true`: 2.40's EVENT_IMPORT / TEI_IMPORT jobs); `GET /api/events` (JSON,
 * XML, CSV) and `GET /api/trackedEntityInstances` (JSON, XML), each also `.gz` or `.zip`, in that
 * era's shape, read by the current exports.
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
            { ...body, format: typeof query.format === 'string' ? query.format : undefined },
            endpoint,
            query,
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
    const pager = await pagerOf(export_, () => countExport(context, 'events', export_));
    async function* legacyBatches() {
      for await (const batch of readEvents(context, export_)) yield batch.map(currentEventToLegacy);
    }
    async function* csv() {
      yield LEGACY_EVENT_CSV_HEADER;
      for await (const batch of legacyBatches()) yield legacyEventCsvLines(batch, { escapeFormulas });
    }
    const body =
      format === 'csv'
        ? csv()
        : format === 'xml'
          ? xmlList('events', pager, legacyBatches(), (batch) => legacyEventsXml(batch))
          : jsonList('events', pager, legacyBatches());
    return sendExport(request, reply, 'events', format, suffix, body);
  };
  app.get('/api/events', (request, reply) => eventsRoute(request, reply, 'json', ''));
  for (const format of ['json', 'xml', 'csv'] as const)
    for (const suffix of SUFFIXES)
      app.get(`/api/events.${format}${suffix}`, (request, reply) =>
        eventsRoute(request, reply, format, suffix),
      );

  const instancesRoute = async (
    request: FastifyRequest,
    reply: FastifyReply,
    format: EventFormat,
    suffix: string,
  ) => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
    // 2.40's names: ou=a;b, trackedEntityInstance=a;b, lastUpdatedStartDate/EndDate.
    const current: Query = {
      ...query,
      orgUnits: query.ou ?? query.orgUnits ?? query.orgUnit,
      trackedEntity: query.trackedEntityInstance ?? query.trackedEntity,
      updatedAfter: query.lastUpdatedStartDate ?? query.updatedAfter,
      updatedBefore: query.lastUpdatedEndDate ?? query.updatedBefore,
    };
    const export_ = await parseTrackedEntityExport(context, current, principal);
    const includeDeleted = parseBooleanParameter('includeDeleted', query.includeDeleted, false);
    const pager = await pagerOf(export_, () => countExport(context, 'trackedEntities', export_));
    async function* legacyBatches() {
      for await (const batch of readTrackedEntities(context, export_, nestedFields(current), includeDeleted))
        yield batch.map(currentTrackedEntityToLegacy);
    }
    const body =
      format === 'xml'
        ? xmlList('trackedEntityInstances', pager, legacyBatches(), (batch) =>
            batch.map((t) => legacyXmlElement('trackedEntityInstance', t)).join(''),
          )
        : jsonList('trackedEntityInstances', pager, legacyBatches());
    return sendExport(request, reply, 'trackedEntityInstances', format, suffix, body);
  };
  app.get('/api/trackedEntityInstances', (request, reply) => instancesRoute(request, reply, 'json', ''));
  for (const format of ['json', 'xml'] as const)
    for (const suffix of SUFFIXES)
      app.get(`/api/trackedEntityInstances.${format}${suffix}`, (request, reply) =>
        instancesRoute(request, reply, format, suffix),
      );
}

const SUFFIXES = ['', '.gz', '.zip'] as const;

/** 2.40's pager (`page`, `pageSize`, and with `totalPages=true` `total`, `pageCount`); none unpaged. */
async function pagerOf(
  export_: TrackerExportRequest,
  count: () => Promise<number>,
): Promise<Record<string, number> | undefined> {
  const { paging } = export_;
  if (!paging.paging) return undefined;
  const pager: Record<string, number> = { page: paging.page, pageSize: paging.pageSize };
  if (paging.totalPages) {
    const total = await count();
    pager.total = total;
    pager.pageCount = Math.ceil(total / paging.pageSize);
  }
  return pager;
}

async function* jsonList(
  name: string,
  pager: Record<string, number> | undefined,
  batches: AsyncIterable<RawObject[]>,
): AsyncIterable<string> {
  yield pager ? `{"pager":${JSON.stringify(pager)},"${name}":[` : `{"${name}":[`;
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

async function* xmlList(
  name: string,
  pager: Record<string, number> | undefined,
  batches: AsyncIterable<RawObject[]>,
  write: (batch: RawObject[]) => string,
): AsyncIterable<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?><${name}>`;
  if (pager) yield legacyXmlElement('pager', pager);
  for await (const batch of batches) yield write(batch);
  yield `</${name}>`;
}

/** The body as `<name>.<format>`, gzipped or as a one-entry zip for `.gz`/`.zip`, streamed. */
function sendExport(
  request: FastifyRequest,
  reply: FastifyReply,
  name: string,
  format: EventFormat,
  suffix: string,
  chunks: AsyncIterable<string>,
): FastifyReply {
  const body = Readable.from(chunks);
  const compression: ExportCompression = suffix === '.gz' ? 'gzip' : suffix === '.zip' ? 'zip' : 'none';
  const fileName = `${name}.${format}`;
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
}
