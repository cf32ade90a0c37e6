import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { HTTP_LIMITS } from '../../../codecs/input/input-limits.ts';
import { importSummaryHttp } from '../../../domain/data-values/import-summary.ts';
import {
  completeRegistrationsFromXml,
  importCompleteRegistrations,
  listCompleteRegistrations,
} from '../../../services/data-values/complete-registration-service.ts';
import { encodeCompleteRegistrationsXml } from '../../../codecs/complete-registration-xml/complete-registration-xml-codec.ts';
import { removeCompleteRegistrations } from '../../../services/data-values/complete-registration-removal.ts';

type Query = Record<string, unknown>;

const SMALL_BODY = { bodyLimit: HTTP_LIMITS.maxSmallBodyBytes };

/** DHIS2's `/api/completeDataSetRegistrations`: list, register and un-register. */
export async function registerCompleteRegistrationRoutes(
  app: FastifyInstance,
  context: FerryContext,
): Promise<void> {
  // JSON by default; XML for `.xml` or an Accept header asking for XML (DHIS2 produces both).
  for (const suffix of ['', '.json', '.xml'] as const) {
    app.get<{ Querystring: Query }>(`/api/completeDataSetRegistrations${suffix}`, async (request, reply) => {
      const registrations = await listCompleteRegistrations(
        context,
        request.query,
        requirePrincipal(request),
      );
      const accept = (request.headers.accept ?? '').toLowerCase();
      const xml = suffix === '.xml' || (suffix === '' && /\b(application|text)\/xml\b/.test(accept));
      if (!xml) return { completeDataSetRegistrations: registrations };
      return reply.type('application/xml; charset=utf-8').send(encodeCompleteRegistrationsXml(registrations));
    });
  }

  // At most 1,000 registrations of a few hundred bytes: sign-in's small body limit is ample. JSON
  // or DHIS2's XML (application/xml, text/xml); the reply is the JSON WebMessage either way.
  await app.register(async (scope) => {
    scope.addContentTypeParser(
      ['application/xml', 'text/xml'],
      { parseAs: 'string', bodyLimit: HTTP_LIMITS.maxSmallBodyBytes },
      (_request, body, done) => done(null, { xml: body as string }),
    );
    scope.post<{ Querystring: Query }>(
      '/api/completeDataSetRegistrations',
      SMALL_BODY,
      async (request, reply) => {
        const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
        const body = request.body as { xml?: unknown } | undefined;
        const registrations =
          body && typeof body.xml === 'string' ? await completeRegistrationsFromXml(body.xml) : request.body;
        const summary = await importCompleteRegistrations(context, registrations, request.query, principal);
        const http = importSummaryHttp(summary);
        return reply
          .status(http.httpStatusCode)
          .send(webMessage(http.httpStatusCode, http.status, http.message, { response: summary }));
      },
    );
  });

  // DHIS2's un-registration: 204 without a body, as DHIS2 answers it, also when nothing was stored.
  app.delete<{ Querystring: Query }>('/api/completeDataSetRegistrations', async (request, reply) => {
    const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
    await removeCompleteRegistrations(context, request.query, principal);
    return reply.status(204).send();
  });
}
