import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../../errors.ts';
import { startImportJob, withSpooledBody } from '../../async-import.ts';
import { ASYNC_IMPORT_JOB_TYPES } from '../../../services/jobs/job-helpers.ts';
import { geometryReportResponse } from '../../../services/geometry/geometry-jobs.ts';
import { geoJsonImportReply } from '../../../services/geometry/geojson-import-report.ts';
import {
  importGeoJson,
  importGml,
  ORG_UNIT_PROPERTIES,
} from '../../../services/geometry/geometry-import-service.ts';
import {
  exportOrgUnitGeoJson,
  geometryViewScope,
} from '../../../services/geometry/geometry-export-service.ts';
import type { ImportReport } from '../../../domain/metadata-import/import-report.ts';

type Query = Record<string, unknown>;

/** `dryRun=true`, or DHIS2's metadata `importMode=VALIDATE` (what its GML endpoint actually reads). */
function parseDryRun(query: Query): boolean {
  const dryRun = parseBooleanParameter('dryRun', query.dryRun, false);
  const importMode = parseEnumParameter(
    'importMode',
    query.importMode,
    ['COMMIT', 'VALIDATE'] as const,
    'COMMIT',
  );
  return dryRun || importMode === 'VALIDATE';
}

function listParameter(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => String(v).split(/[;,]/)).filter((v) => v !== '');
}

function reportMessage(report: ImportReport) {
  const status = report.status === 'OK' ? 200 : 409;
  return {
    status,
    body: webMessage(
      status,
      report.status,
      status === 200 ? undefined : 'One or more errors occurred, please see full details in import report.',
      { response: geometryReportResponse(report) },
    ),
  };
}

/**
 * Geometry import and export: `POST /api/metadata/gml` (DHIS2 §5), `POST
 * /api/organisationUnits/geometry` (DHIS2's GeoJSON import) and `GET /api/organisationUnits.geojson`.
 * Uploads are spooled to disk by the raw-body scope, never buffered by Fastify. `async=true` stores
 * the upload and runs a GML_IMPORT / GEOJSON_IMPORT job instead (DHIS2's job reply).
 */
export async function registerGeometryRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    for (const path of ['/api/metadata/gml', '/api/metadata/gml.json']) {
      scope.post<{ Querystring: Query }>(path, async (request, reply) => {
        const principal = requireAuthority(request, 'F_METADATA_IMPORT');
        const dryRun = parseDryRun(request.query);
        if (parseBooleanParameter('async', request.query.async, false)) {
          return startImportJob(context, request, reply, ASYNC_IMPORT_JOB_TYPES.gml, { dryRun }, principal);
        }
        const report = await withSpooledBody(context, request, (input) =>
          importGml(context, input, { dryRun }, principal),
        );
        const { status, body } = reportMessage(report);
        return reply.status(status).send(body);
      });
    }

    scope.post<{ Querystring: Query }>('/api/organisationUnits/geometry', async (request, reply) => {
      const principal = requireAuthority(request, 'F_METADATA_IMPORT');
      const query = request.query;
      const dryRun = parseBooleanParameter('dryRun', query.dryRun, false);
      const geoJsonId = parseBooleanParameter('geoJsonId', query.geoJsonId, true);
      const geoJsonProperty =
        typeof query.geoJsonProperty === 'string' && query.geoJsonProperty !== ''
          ? query.geoJsonProperty
          : undefined;
      if (!geoJsonId && !geoJsonProperty)
        throw new FerryError('F1004', ['geoJsonProperty (when geoJsonId=false)']);
      const orgUnitProperty = parseEnumParameter(
        'orgUnitProperty',
        query.orgUnitProperty,
        ORG_UNIT_PROPERTIES,
        'id',
      );
      const attributeId =
        typeof query.attributeId === 'string' && query.attributeId !== '' ? query.attributeId : undefined;
      const options = {
        dryRun,
        geoJsonId,
        geoJsonProperty,
        orgUnitProperty,
        ...(attributeId !== undefined ? { attributeId } : {}),
      };
      if (parseBooleanParameter('async', query.async, false)) {
        return startImportJob(context, request, reply, ASYNC_IMPORT_JOB_TYPES.geoJson, options, principal);
      }
      const report = await withSpooledBody(context, request, (input) =>
        importGeoJson(context, input, options, principal),
      );
      // DHIS2's reply: 200 whatever the outcome, its GeoJsonImportReport with E77xx conflicts.
      return reply.status(200).send(geoJsonImportReply(report));
    });
  });

  app.get<{ Querystring: Query }>('/api/organisationUnits.geojson', async (request, reply) => {
    const principal = requirePrincipal(request);
    const query = request.query;
    let level: number | undefined;
    if (query.level !== undefined && query.level !== '') {
      if (!/^\d{1,2}$/.test(String(query.level))) {
        throw new FerryError('F1000', ['level', String(query.level), 'a level number (1 = root)']);
      }
      level = Number(query.level);
    }
    const chunks = exportOrgUnitGeoJson(context, {
      level,
      parents: listParameter(query.parent),
      orgUnits: listParameter(query.ou),
      viewScope: geometryViewScope(principal),
    });
    // Pull the first chunk here so a bad parameter is a 400, not a broken stream.
    const iterator = chunks[Symbol.asyncIterator]();
    const first = await iterator.next();
    async function* rest() {
      if (!first.done) yield first.value;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    }
    if (parseBooleanParameter('attachment', query.attachment, false)) {
      reply.header('Content-Disposition', 'attachment; filename="organisationUnits.geojson"');
    }
    return reply.type('application/geo+json; charset=utf-8').send(Readable.from(rest()));
  });
}
