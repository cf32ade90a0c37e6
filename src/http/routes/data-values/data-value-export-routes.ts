import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { noteAudit } from '../audit/audit-hooks.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requireAuthority } from '../../auth-plugin.ts';
import {
  dataValueExportScope,
  exportDataValues,
  parseDataValueExportRequest,
  type DataValueExportFormat,
} from '../../../services/data-values/data-value-export-service.ts';
import { attachmentDisposition, type ExportCompression } from '../../../services/jobs/export-compression.ts';
import { generateDataEntryForm } from '../../../services/data-values/pdf-form-service.ts';

/** URL suffixes DHIS2 maps to a format (WebMvcConfig.MEDIA_TYPE_MAP). */
const FORMAT_SUFFIXES: ReadonlyArray<readonly [string, DataValueExportFormat | undefined]> = [
  ['', undefined],
  ['.json', 'json'],
  ['.xml', 'xml'],
  ['.csv', 'csv'],
  ['.adx.xml', 'adx'],
  // The Import/Export app's data export page asks for ADX as `dataValueSets.adx+xml` (its format
  // value is the media type's suffix), with `compression=` as a parameter.
  ['.adx+xml', 'adx'],
];
const COMPRESSION_SUFFIXES: ReadonlyArray<readonly [string, ExportCompression | undefined]> = [
  ['', undefined],
  ['.gz', 'gzip'],
  ['.zip', 'zip'],
];

/** The format an Accept header asks for, when the URL and the `format` parameter don't say. */
function formatFromAccept(accept: string | undefined): DataValueExportFormat | undefined {
  const text = (accept ?? '').toLowerCase();
  if (text.includes('adx+xml') || text.includes('xml+adx')) return 'adx';
  if (text.includes('application/json')) return 'json';
  if (text.includes('csv')) return 'csv';
  if (text.includes('xml')) return 'xml';
  return undefined;
}

/**
 * `GET /api/dataValueSets(.json|.xml|.csv|.adx.xml)(.gz|.zip)`: DHIS2's data value export, streamed
 * from the database to the socket; and `GET /api/dataSets/{uid}/form.pdf`: a fillable PDF form.
 * Both need `F_EXPORT_DATA`; only org units in the user's data view scope, and data sets and
 * attribute option combos the user may data-read (sharing), are exported.
 */
export async function registerDataValueExportRoutes(
  app: FastifyInstance,
  context: FerryContext,
): Promise<void> {
  for (const [formatSuffix, pathFormat] of FORMAT_SUFFIXES) {
    for (const [compressionSuffix, pathCompression] of COMPRESSION_SUFFIXES) {
      if (formatSuffix === '' && compressionSuffix !== '') continue;
      app.get(
        `/api/dataValueSets${formatSuffix}${compressionSuffix}`,
        async (request: FastifyRequest<{ Querystring: Record<string, unknown> }>, reply: FastifyReply) => {
          const principal = requireAuthority(request, 'F_EXPORT_DATA');
          const query = request.query;
          const format =
            pathFormat ?? (query.format === undefined ? formatFromAccept(request.headers.accept) : undefined);
          const exportRequest = parseDataValueExportRequest(query, { format, compression: pathCompression });
          // The audit record counts the values sent; its hook runs once the stream has ended.
          const result = await exportDataValues(context, exportRequest, dataValueExportScope(principal), {
            onProgress: (values) => noteAudit(request, { counts: { exported: values } }),
          });
          reply.header('Content-Type', result.contentType);
          // CSV always downloads (DHIS2 sends it inline unless asked): a browser never renders it.
          if (result.attachment || exportRequest.format === 'csv')
            reply.header('Content-Disposition', attachmentDisposition(result.fileName));
          request.raw.on('close', () => {
            if (!result.body.readableEnded) result.body.destroy();
          });
          return reply.send(result.body);
        },
      );
    }
  }

  app.get(
    '/api/dataSets/:uid/form.pdf',
    async (
      request: FastifyRequest<{ Params: { uid: string }; Querystring: Record<string, unknown> }>,
      reply: FastifyReply,
    ) => {
      const principal = requireAuthority(request, 'F_EXPORT_DATA');
      const orgUnit = typeof request.query.orgUnit === 'string' ? request.query.orgUnit : undefined;
      const period = typeof request.query.period === 'string' ? request.query.period : undefined;
      const form = await generateDataEntryForm(context, {
        dataSet: request.params.uid,
        orgUnit,
        period,
        ...dataValueExportScope(principal),
      });
      reply.header('Content-Type', 'application/pdf');
      reply.header('Content-Disposition', attachmentDisposition(form.fileName));
      return reply.send(Buffer.from(form.bytes));
    },
  );
}
