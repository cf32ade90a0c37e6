import type { FastifyInstance, FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { bufferedStart } from '../../buffered-start.ts';
import { requireAuthority } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../../errors.ts';
import { compressStream } from '../../../services/jobs/export-compression.ts';
import { startImportJob, withSpooledBody } from '../../async-import.ts';
import { ASYNC_IMPORT_JOB_TYPES } from '../../../services/jobs/job-helpers.ts';
import { metadataReportResponse } from '../../../services/metadata/metadata-jobs.ts';
import {
  importMetadata,
  importReportHttpStatus,
} from '../../../services/metadata/metadata-import-service.ts';
import {
  buildExportRequest,
  encodeMetadata,
  streamMetadataExport,
  type ExportFormat,
} from '../../../services/metadata/metadata-export-service.ts';
import { collectDependencies } from '../../../services/metadata/metadata-dependency-service.ts';
import { CSV_MEMBERSHIP_CLASSES } from '../../../codecs/metadata-csv/metadata-csv-decoder.ts';
import {
  ATOMIC_MODES,
  DEFAULT_IMPORT_PARAMS,
  FLUSH_MODES,
  IMPORT_IDENTIFIERS,
  IMPORT_MODES,
  IMPORT_REPORT_MODES,
  IMPORT_STRATEGIES,
  MERGE_MODES,
  METADATA_FORMATS,
  PREHEAT_MODES,
  type MetadataImportParams,
} from '../../../domain/metadata-import/import-params.ts';

type Query = Record<string, unknown>;

const COMPRESSIONS = ['', '.gz', '.zip'] as const;
const CONTENT_TYPES: Record<ExportFormat, string> = {
  json: 'application/json; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  csv: 'application/csv; charset=utf-8',
};

/**
 * Every parameter of DHIS2's metadata import, parsed strictly: an unknown value is a 400 naming the
 * parameter and the allowed values (DHIS2 silently falls back to the default).
 */
export function parseImportParams(query: Query): MetadataImportParams {
  const d = DEFAULT_IMPORT_PARAMS;
  const dryRun = parseBooleanParameter('dryRun', query.dryRun, false);
  const importMode = parseEnumParameter('importMode', query.importMode, IMPORT_MODES, d.importMode);
  const importStrategy = parseEnumParameter(
    'importStrategy',
    query.importStrategy ?? query.strategy,
    IMPORT_STRATEGIES,
    d.importStrategy,
  );
  const format =
    query.format === undefined
      ? undefined
      : parseEnumParameter('format', query.format, METADATA_FORMATS, 'json');
  return {
    importMode: dryRun ? 'VALIDATE' : importMode,
    identifier: parseEnumParameter('identifier', query.identifier, IMPORT_IDENTIFIERS, d.identifier),
    importStrategy,
    // The Import/Export app's metadata import page offers `OBJECT` ("Import"), which DHIS2's
    // metadata AtomicMode (ALL, NONE) does not have: DHIS2 falls back to its default, ALL, as here.
    atomicMode: parseEnumParameter(
      'atomicMode',
      String(query.atomicMode ?? '').toUpperCase() === 'OBJECT' ? 'ALL' : query.atomicMode,
      ATOMIC_MODES,
      d.atomicMode,
    ),
    mergeMode: parseEnumParameter('mergeMode', query.mergeMode, MERGE_MODES, d.mergeMode),
    importReportMode: parseEnumParameter(
      'importReportMode',
      query.importReportMode,
      IMPORT_REPORT_MODES,
      d.importReportMode,
    ),
    preheatMode: parseEnumParameter('preheatMode', query.preheatMode, PREHEAT_MODES, d.preheatMode),
    flushMode: parseEnumParameter('flushMode', query.flushMode, FLUSH_MODES, d.flushMode),
    skipSharing: parseBooleanParameter('skipSharing', query.skipSharing, false),
    skipValidation: parseBooleanParameter('skipValidation', query.skipValidation, false),
    async: parseBooleanParameter('async', query.async, false),
    firstRowIsHeader: parseBooleanParameter('firstRowIsHeader', query.firstRowIsHeader, true),
    ...(typeof query.classKey === 'string' && query.classKey !== '' ? { classKey: query.classKey } : {}),
    ...(format ? { format } : {}),
  };
}

/** Sends text chunks as the response, compressed as the path asked: gzip, or a zip of one entry. */
function sendExport(
  reply: FastifyReply,
  chunks: AsyncIterable<string>,
  format: ExportFormat,
  compression: (typeof COMPRESSIONS)[number],
  download: boolean,
): FastifyReply {
  const entryName = `metadata.${format}`;
  // DHIS2's own header form (an unquoted token), which clients of /api/metadata expect.
  if (download) reply.header('Content-Disposition', `attachment; filename=${entryName}${compression}`);
  const kind = compression === '.gz' ? 'gzip' : compression === '.zip' ? 'zip' : 'none';
  const body = compressStream(Readable.from(chunks), kind, entryName);
  const type =
    kind === 'gzip' ? 'application/gzip' : kind === 'zip' ? 'application/zip' : CONTENT_TYPES[format];
  return reply.type(type).send(body);
}

export async function registerMetadataRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    scope.post<{ Querystring: Query }>('/api/metadata', async (request, reply) => {
      const principal = requireAuthority(request, 'F_METADATA_IMPORT');
      const params = parseImportParams(request.query);
      if (params.async) {
        const isCsv = params.format === 'csv' || /csv/i.test(request.headers['content-type'] ?? '');
        if (isCsv && !params.classKey) throw new FerryError('F1004', ['classKey']);
        return startImportJob(
          context,
          request,
          reply,
          ASYNC_IMPORT_JOB_TYPES.metadata,
          { ...params },
          principal,
        );
      }
      return withSpooledBody(context, request, async (spooled) => {
        const report = await importMetadata(context, spooled, params, principal);
        const status = importReportHttpStatus(report);
        return reply
          .status(status)
          .send(
            webMessage(
              status,
              report.status === 'OK' ? 'OK' : report.status === 'WARNING' ? 'WARNING' : 'ERROR',
              status === 200
                ? undefined
                : 'One or more errors occurred, please see full details in import report.',
              { response: metadataReportResponse(report) },
            ),
          );
      });
    });
  });

  app.get('/api/metadata/csvImportClasses', async () => [
    ...Object.keys(CSV_MEMBERSHIP_CLASSES),
    ...context.registry.schemas.filter((s) => s.csvClassKey).map((s) => s.csvClassKey!),
  ]);

  for (const format of ['', ...METADATA_FORMATS.map((f) => `.${f}`)]) {
    for (const compression of COMPRESSIONS) {
      if (format === '' && compression !== '') continue;
      const exportFormat = (format.slice(1) || 'json') as ExportFormat;
      app.get<{ Querystring: Query }>(`/api/metadata${format}${compression}`, async (request, reply) => {
        const principal = requireAuthority(request, 'F_METADATA_EXPORT');
        const skipSharing = parseBooleanParameter('skipSharing', request.query.skipSharing, false);
        const download = parseBooleanParameter('download', request.query.download, false);
        const exportRequest = buildExportRequest(context.registry, request.query, exportFormat, skipSharing);
        // Held back until the first queries have run: a failure there is a real error status.
        return sendExport(
          reply,
          await bufferedStart(streamMetadataExport(context, exportRequest, principal)),
          exportFormat,
          compression,
          download,
        );
      });
    }
  }

  for (const schema of context.registry.schemas.filter((s) => s.dependencyExport)) {
    for (const format of ['', '.json', '.xml']) {
      for (const compression of COMPRESSIONS) {
        if (format === '' && compression !== '') continue;
        const exportFormat = (format.slice(1) || 'json') as ExportFormat;
        app.get<{ Params: { uid: string }; Querystring: Query }>(
          `/api/${schema.collection}/:uid/metadata${format}${compression}`,
          async (request, reply) => {
            requireAuthority(request, 'F_METADATA_EXPORT');
            const skipSharing = parseBooleanParameter('skipSharing', request.query.skipSharing, false);
            const download = parseBooleanParameter('download', request.query.download, false);
            const chunks = dependencyExportChunks(
              context,
              schema.collection,
              request.params.uid,
              exportFormat,
              skipSharing,
            );
            // Resolve the package before the first byte so a missing object is a 404, not a broken stream.
            const first = await chunks.next();
            async function* all(): AsyncIterable<string> {
              if (!first.done) yield first.value;
              for (;;) {
                const next = await chunks.next();
                if (next.done) return;
                yield next.value;
              }
            }
            return sendExport(reply, all(), exportFormat, compression, download);
          },
        );
      }
    }
  }
}

/** A dependency package encoded as text chunks. */
export async function* dependencyExportChunks(
  context: FerryContext,
  collection: string,
  uid: string,
  format: ExportFormat,
  skipSharing: boolean,
): AsyncGenerator<string> {
  const packaged = await collectDependencies(context, collection, uid);
  const request = buildExportRequest(context.registry, {}, format === 'csv' ? 'json' : format, skipSharing);
  request.collections = [...packaged.keys()];
  yield* encodeMetadata(context, request, async function* (c) {
    yield packaged.get(c) ?? [];
  });
}

/** Refuses a format the dependency export does not offer (it has no CSV). */
export function assertDependencyFormat(format: string): void {
  if (format !== 'json' && format !== 'xml') throw new FerryError('F1000', ['format', format, 'json, xml']);
}
