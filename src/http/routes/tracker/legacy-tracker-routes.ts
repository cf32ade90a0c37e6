import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { withSpooledBody } from '../../async-import.ts';
import { FerryError } from '../../../errors.ts';
import {
  importLegacyTracker,
  type LegacyTrackerEndpoint,
} from '../../../services/tracker/legacy-tracker-import-service.ts';
import {
  countExport,
  parseEventExport,
  readEvents,
} from '../../../services/tracker/tracker-export-service.ts';
import { legacyImportWebMessage } from '../../../codecs/tracker-legacy/import-summaries-encoder.ts';
import { currentEventToLegacy } from '../../../codecs/tracker-legacy/legacy-tracker-objects.ts';

type Query = Record<string, unknown>;

const ACCEPTED = /json|xml|csv|octet-stream|gzip|zip/i;

/**
 * DHIS2's tracker endpoints up to 2.40 (removed in 2.41), for files and clients of older servers:
 * `POST /api/events` (JSON, XML, event CSV) and `POST /api/trackedEntityInstances` (JSON, XML),
 * imported through the same service as `POST /api/tracker` and answered with that era's
 * ImportSummaries; `GET /api/events` in that era's shape, read by the current export.
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

  const eventsRoute = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = request.query as Query;
    const principal = requirePrincipal(request);
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
    async function* json() {
      if (paging.paging) {
        const pager: Record<string, unknown> = { page: paging.page, pageSize: paging.pageSize };
        if (total !== undefined) {
          pager.total = total;
          pager.pageCount = Math.ceil(total / paging.pageSize);
        }
        yield `{"pager":${JSON.stringify(pager)},"events":[`;
      } else yield '{"events":[';
      let first = true;
      for await (const batch of readEvents(context, export_)) {
        let chunk = '';
        for (const event of batch) {
          chunk += (first ? '' : ',') + JSON.stringify(currentEventToLegacy(event));
          first = false;
        }
        if (chunk) yield chunk;
      }
      yield ']}';
    }
    return reply.type('application/json; charset=utf-8').send(Readable.from(json()));
  };
  app.get('/api/events', eventsRoute);
  app.get('/api/events.json', eventsRoute);
}
