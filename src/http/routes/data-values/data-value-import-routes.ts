import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { requireAuthority } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { importDataValues } from '../../../services/data-values/data-value-import-service.ts';
import { importSummaryHttp } from '../../../domain/data-values/import-summary.ts';
import { decoderForContentType, DATA_VALUE_DECODERS } from '../../../codecs/data-value-decoders.ts';
import { FerryError, parseBooleanParameter } from '../../../errors.ts';
import { parseDataValueImportParams } from '../../../domain/data-values/data-value-import-options.ts';
import { startImportJob, withSpooledBody } from '../../async-import.ts';
import { ASYNC_IMPORT_JOB_TYPES } from '../../../services/jobs/job-helpers.ts';

/**
 * `POST /api/dataValueSets`: DHIS2's data value import for every format in the decoder registry,
 * picked by content type (gzip and zip bodies are recognised by their bytes). The body is spooled
 * to disk, never held in memory, then imported; the reply is DHIS2's WebMessage around the
 * ImportSummary (409 when the status is ERROR). With `async=true` the body is stored and a
 * DATAVALUE_IMPORT job runs the same import in the background (DHIS2's job reply).
 */
export async function registerDataValueImportRoutes(
  app: FastifyInstance,
  context: FerryContext,
): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    scope.post<{ Querystring: Record<string, unknown> }>('/api/dataValueSets', async (request, reply) => {
      const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
      const contentType = request.headers['content-type'];
      // Refuse an unknown format before reading a possibly huge body.
      if (!decoderForContentType(contentType)) {
        throw new FerryError('F1003', [
          `${contentType ?? '(none)'}; accepted: ${DATA_VALUE_DECODERS.flatMap((d) => d.contentTypes).join(', ')}`,
        ]);
      }
      if (parseBooleanParameter('async', request.query.async, false)) {
        // Bad parameters are refused now, not after the upload was queued.
        let skipAudit: boolean;
        try {
          skipAudit = parseDataValueImportParams(request.query).skipAudit;
        } catch (error) {
          if (error instanceof Error && 'parameter' in error) {
            const e = error as Error & { parameter: string; given: string; allowed: string };
            throw new FerryError('F1000', [e.parameter, e.given, e.allowed]);
          }
          throw error;
        }
        // So is a skipAudit the user may not ask for: the job would only fail with it (F1102).
        if (skipAudit) requireAuthority(request, 'F_SKIP_DATA_IMPORT_AUDIT');
        return startImportJob(
          context,
          request,
          reply,
          ASYNC_IMPORT_JOB_TYPES.dataValues,
          { ...request.query },
          principal,
        );
      }
      return withSpooledBody(context, request, async (body) => {
        const summary = await importDataValues(
          context,
          { path: body.path, fileName: body.fileName, contentType },
          request.query,
          principal,
        );
        const http = importSummaryHttp(summary);
        return reply
          .status(http.httpStatusCode)
          .send(webMessage(http.httpStatusCode, http.status, http.message, { response: summary }));
      });
    });
  });
}
