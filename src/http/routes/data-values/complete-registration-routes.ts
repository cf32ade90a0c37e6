import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { HTTP_LIMITS } from '../../../codecs/input/input-limits.ts';
import { importSummaryHttp } from '../../../domain/data-values/import-summary.ts';
import {
  importCompleteRegistrations,
  listCompleteRegistrations,
} from '../../../services/data-values/complete-registration-service.ts';
import { removeCompleteRegistrations } from '../../../services/data-values/complete-registration-removal.ts';

type Query = Record<string, unknown>;

const SMALL_BODY = { bodyLimit: HTTP_LIMITS.maxSmallBodyBytes };

/** DHIS2's `/api/completeDataSetRegistrations`: list, register and un-register. */
export async function registerCompleteRegistrationRoutes(
  app: FastifyInstance,
  context: FerryContext,
): Promise<void> {
  app.get<{ Querystring: Query }>('/api/completeDataSetRegistrations', async (request) => ({
    completeDataSetRegistrations: await listCompleteRegistrations(
      context,
      request.query,
      requirePrincipal(request),
    ),
  }));

  // At most 1,000 registrations of a few hundred bytes: sign-in's small body limit is ample.
  app.post<{ Querystring: Query }>(
    '/api/completeDataSetRegistrations',
    SMALL_BODY,
    async (request, reply) => {
      const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
      const summary = await importCompleteRegistrations(context, request.body, request.query, principal);
      const http = importSummaryHttp(summary);
      return reply
        .status(http.httpStatusCode)
        .send(webMessage(http.httpStatusCode, http.status, http.message, { response: summary }));
    },
  );

  // DHIS2's un-registration: 204 without a body, as DHIS2 answers it, also when nothing was stored.
  app.delete<{ Querystring: Query }>('/api/completeDataSetRegistrations', async (request, reply) => {
    const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
    await removeCompleteRegistrations(context, request.query, principal);
    return reply.status(204).send();
  });
}
