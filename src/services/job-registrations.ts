import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { FerryContext } from './ferry-context.ts';
import type { JobContext } from '../jobs/job-handlers.ts';
import { JobFailedError } from '../jobs/job-handlers.ts';
import type { JobInput, JobParams } from '../jobs/job-types.ts';
import type { JobViewer } from './job-service.ts';
import type { Principal } from '../domain/access/principal.ts';
import { hasAuthority, type Authority } from '../domain/access/authorities.ts';
import { FerryError } from '../errors.ts';
import { isValidUid } from '../domain/identifiers/uid.ts';
import { importMetadata } from './metadata-import-service.ts';
import { importDataValues, ImportCancelledError } from './data-value-import-service.ts';
import { JobCancelledError } from '../jobs/job-handlers.ts';
import { importGeoJson, importGml, type GeoJsonImportOptions } from './geometry-import-service.ts';
import {
  dataValueExportScope,
  exportDataValues,
  parseDataValueExportRequest,
  DATA_VALUE_EXPORT_FORMATS,
  type DataValueExportFormat,
} from './data-value-export-service.ts';
import {
  buildExportRequest,
  encodeMetadata,
  streamMetadataExport,
  EXPORT_FORMATS as METADATA_EXPORT_FORMATS,
  type ExportFormat as MetadataExportFormat,
} from './metadata-export-service.ts';
import { collectDependencies } from './metadata-dependency-service.ts';
import type { MetadataImportParams } from '../domain/metadata-import/import-params.ts';
import type { ImportReport } from '../domain/metadata-import/import-report.ts';

/** The import job types an `async=true` request starts, by endpoint. */
export const ASYNC_IMPORT_JOB_TYPES = {
  metadata: 'METADATA_IMPORT',
  dataValues: 'DATAVALUE_IMPORT',
  gml: 'GML_IMPORT',
  geoJson: 'GEOJSON_IMPORT',
} as const;

/** The name an import reads its input under: the upload's own name, or DHIS2's "request body". */
export function inputFileName(job: Pick<JobInput, 'inputFile'>): string {
  return job.inputFile?.originalName || 'request body';
}

/**
 * The ImportReport as the synchronous `POST /api/metadata` sends it in `response` (without the
 * internal `importParams`): what an async job stores as its summary, so both paths agree.
 */
export function metadataReportResponse(report: ImportReport): Record<string, unknown> {
  const { importParams: _params, ...response } = report;
  return { responseType: 'ImportReport', ...response };
}

/** The geometry endpoints' `response`. */
export function geometryReportResponse(report: ImportReport): Record<string, unknown> {
  return { responseType: 'ImportReport', ...report };
}

/**
 * Registers every import handler and export producer on a context's queue: called when the context
 * is built, so the server, `ferry worker` and tests all run the same jobs. Each handler calls the
 * same service as the synchronous endpoint, as the user who started the job, with the job's signal
 * and progress, and passes the job's lease check into the import's own transaction (fencing).
 */
export function registerFerryJobs(context: FerryContext): void {
  registerImportHandlers(context);
  registerExportProducers(context);
}

/** The user a job runs as; undefined for jobs the CLI operator queued (no user: every right). */
async function principalOf(context: FerryContext, userUid: string | null): Promise<Principal | undefined> {
  return userUid ? context.auth.principalFor(userUid) : undefined;
}

function requireInput(job: JobInput): NonNullable<JobInput['inputFile']> {
  if (!job.inputFile) throw new JobFailedError(`Job ${job.id} has no input file`);
  return job.inputFile;
}

/** The run options every importer takes from the job. */
function runOptions(ctx: JobContext) {
  return {
    signal: ctx.signal,
    progress: (p: { stage: string; processed: number; total?: number }) => ctx.progress(p),
    beforeCommit: (tx: Parameters<JobContext['assertLeaseHeld']>[0]) => ctx.assertLeaseHeld(tx),
  };
}

function registerImportHandlers(context: FerryContext): void {
  const jobs = context.jobs;
  const pathOf = (job: JobInput) => jobs.files.pathFor(requireInput(job).id);

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.metadata, async (job, ctx) => {
    const input = requireInput(job);
    ctx.notify('INFO', 'Metadata import started');
    const report = await importMetadata(
      context,
      { path: pathOf(job), fileName: inputFileName(job), contentType: input.contentType },
      job.params as unknown as MetadataImportParams,
      await principalOf(context, job.userUid),
      runOptions(ctx),
    );
    return metadataReportResponse(report);
  });

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.dataValues, async (job, ctx) => {
    const input = requireInput(job);
    ctx.notify('INFO', 'Importing data values');
    const summary = await importDataValues(
      context,
      { path: pathOf(job), fileName: inputFileName(job), contentType: input.contentType },
      job.params,
      await principalOf(context, job.userUid),
      { ...runOptions(ctx), jobId: job.id },
    ).catch((error: unknown) => {
      // A non-atomic import keeps its finished batches: the job is CANCELLED with their summary.
      if (error instanceof ImportCancelledError) throw new JobCancelledError(job.id, error.summary);
      throw error;
    });
    ctx.notify('INFO', 'Import done');
    return summary;
  });

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.gml, async (job, ctx) => {
    requireInput(job);
    const report = await importGml(
      context,
      { path: pathOf(job), fileName: inputFileName(job) },
      { dryRun: job.params.dryRun === true },
      await principalOf(context, job.userUid),
      runOptions(ctx),
    );
    return geometryReportResponse(report);
  });

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.geoJson, async (job, ctx) => {
    requireInput(job);
    const report = await importGeoJson(
      context,
      { path: pathOf(job), fileName: inputFileName(job) },
      job.params as unknown as GeoJsonImportOptions,
      await principalOf(context, job.userUid),
      runOptions(ctx),
    );
    return geometryReportResponse(report);
  });
}

// Export producers --------------------------------------------------------------------------------

async function writeText(out: Writable, text: string | Uint8Array): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Copies a stream of chunks to the export file with backpressure; returns the bytes written. */
async function copyTo(
  chunks: AsyncIterable<string | Uint8Array>,
  out: Writable,
  signal: AbortSignal,
  onBytes: (bytes: number) => void,
): Promise<number> {
  let bytes = 0;
  for await (const chunk of chunks) {
    signal.throwIfAborted();
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    await writeText(out, chunk);
    onBytes(bytes);
  }
  return bytes;
}

function requireViewerAuthority(viewer: JobViewer | null, authority: Authority): void {
  if (viewer && !hasAuthority(viewer.authorities, authority)) throw new FerryError('F1102', [authority]);
}

async function requireRunAuthority(
  context: FerryContext,
  userUid: string | null,
  authority: Authority,
): Promise<Principal | undefined> {
  const principal = await principalOf(context, userUid);
  if (principal && !hasAuthority(principal.authorities, authority)) {
    throw new FerryError('F1102', [authority]);
  }
  return principal;
}

/** What words a list of identifiers reads as on a card: "a, b and 3 more". */
function listed(values: readonly string[], max = 3): string {
  if (values.length <= max) return values.join(', ');
  return `${values.slice(0, max).join(', ')} and ${values.length - max} more`;
}

function stringList(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The export queue's format and compression win over any in the parameters. */
function dataValueQuery(params: JobParams): Record<string, unknown> {
  const { format: _format, compression: _compression, attachment: _attachment, ...query } = params;
  return query;
}

/** Card text for a data value export: "Data values of data set X; periods …; org units … with children (CSV)". */
export function describeDataValueExport(params: JobParams, format: string): string {
  const parts: string[] = [];
  const add = (label: string, key: string) => {
    const values = stringList(params[key]);
    if (values.length > 0) parts.push(`${label}${values.length > 1 ? 's' : ''} ${listed(values)}`);
  };
  add('data set', 'dataSet');
  add('data element', 'dataElement');
  add('data element group', 'dataElementGroup');
  add('period', 'period');
  const start = stringList(params.startDate)[0];
  const end = stringList(params.endDate)[0];
  if (start && end) parts.push(`${start} to ${end}`);
  const orgUnits = stringList(params.orgUnit);
  if (orgUnits.length > 0) {
    const children = stringList(params.children)[0] === 'true';
    parts.push(
      `org unit${orgUnits.length > 1 ? 's' : ''} ${listed(orgUnits)}${children ? ' with children' : ''}`,
    );
  }
  add('org unit group', 'orgUnitGroup');
  const since = stringList(params.lastUpdated)[0] ?? stringList(params.lastUpdatedDuration)[0];
  if (since) parts.push(`changed since ${since}`);
  if (stringList(params.includeDeleted)[0] === 'true') parts.push('including deleted values');
  const scheme = stringList(params.idScheme)[0];
  if (scheme) parts.push(`identifiers as ${scheme}`);
  return `Data values of ${parts.join('; ') || 'nothing selected'} (${format.toUpperCase()})`;
}

/** The collections a metadata export asks for: `collections: [...]` or DHIS2's `<collection>=true`. */
function metadataQuery(context: FerryContext, params: JobParams): Record<string, unknown> {
  const { collections, ...query } = params;
  if (collections === undefined) return query;
  if (
    !Array.isArray(collections) ||
    collections.some((c) => typeof c !== 'string' || !context.registry.byCollection(c))
  ) {
    throw new FerryError('F1000', [
      'params.collections',
      JSON.stringify(collections),
      'metadata collections',
    ]);
  }
  const flags: Record<string, unknown> = {};
  for (const c of collections as string[]) flags[c] = 'true';
  return { ...query, ...flags };
}

function metadataExportRequest(context: FerryContext, params: JobParams, format: string) {
  const query = metadataQuery(context, params);
  const skipSharing = stringList(query.skipSharing)[0] === 'true' || query.skipSharing === true;
  return buildExportRequest(context.registry, query, format as MetadataExportFormat, skipSharing);
}

/** Card text for a metadata export: "Metadata: dataElements, categoryCombos (JSON)". */
export function describeMetadataExport(context: FerryContext, params: JobParams, format: string): string {
  const query = metadataQuery(context, params);
  const chosen = context.registry.importOrder().filter((c) => String(query[c]).toLowerCase() === 'true');
  const asked = Array.isArray(params.collections) ? (params.collections as string[]) : chosen;
  const extras: string[] = [];
  if (typeof query.fields === 'string') extras.push(`fields ${query.fields}`);
  const filters = stringList(query.filter);
  if (filters.length > 0) extras.push(`filter ${filters.join(' and ')}`);
  if (query.skipSharing === true || query.skipSharing === 'true') extras.push('without sharing');
  const what = asked.length > 0 ? `Metadata: ${listed(asked, 6)}` : 'All metadata';
  return `${what}${extras.length > 0 ? `; ${extras.join('; ')}` : ''} (${format.toUpperCase()})`;
}

function dependencyTarget(context: FerryContext, params: JobParams): { collection: string; uid: string } {
  const collection = typeof params.type === 'string' ? params.type : '';
  const schema = context.registry.byCollection(collection);
  if (!schema?.dependencyExport) {
    throw new FerryError('F1000', [
      'params.type',
      collection || '(none)',
      context.registry.schemas
        .filter((s) => s.dependencyExport)
        .map((s) => s.collection)
        .join(', '),
    ]);
  }
  const uid = typeof params.uid === 'string' ? params.uid : '';
  if (!isValidUid(uid)) throw new FerryError('F1000', ['params.uid', uid || '(none)', 'a UID']);
  return { collection, uid };
}

function registerExportProducers(context: FerryContext): void {
  const exports = context.exports;

  exports.registerExportProducer(
    'dataValues',
    async (params, out, ctx) => {
      const principal = await requireRunAuthority(context, ctx.userUid, 'F_EXPORT_DATA');
      const request = parseDataValueExportRequest(dataValueQuery(params), {
        format: ctx.format as DataValueExportFormat,
        compression: 'none',
      });
      const result = await exportDataValues(context, request, dataValueExportScope(principal));
      try {
        const bytes = await copyTo(result.body, out, ctx.signal, (processed) =>
          ctx.progress({ stage: 'Writing data values (bytes)', processed }),
        );
        ctx.notify('INFO', `Exported data values: ${bytes} bytes of ${ctx.format.toUpperCase()}`);
        return { bytes, fileName: result.fileName };
      } finally {
        result.body.destroy();
      }
    },
    {
      formats: DATA_VALUE_EXPORT_FORMATS,
      jobType: 'DATAVALUE_EXPORT',
      extension: (format) => (format === 'adx' ? 'adx.xml' : format),
      contentType: (format) =>
        format === 'json'
          ? 'application/json'
          : format === 'csv'
            ? 'application/csv'
            : format === 'adx'
              ? 'application/adx+xml'
              : 'application/xml',
      describe: describeDataValueExport,
      validate: (params, format, viewer) => {
        requireViewerAuthority(viewer, 'F_EXPORT_DATA');
        parseDataValueExportRequest(dataValueQuery(params), {
          format: format as DataValueExportFormat,
          compression: 'none',
        });
      },
    },
  );

  exports.registerExportProducer(
    'metadata',
    async (params, out, ctx) => {
      const principal = await requireRunAuthority(context, ctx.userUid, 'F_METADATA_EXPORT');
      const request = metadataExportRequest(context, params, ctx.format);
      const bytes = await copyTo(streamMetadataExport(context, request, principal), out, ctx.signal, (n) =>
        ctx.progress({ stage: 'Writing metadata (bytes)', processed: n }),
      );
      ctx.notify('INFO', `Exported ${request.collections.length} metadata types`);
      return { bytes, collections: request.collections.length };
    },
    {
      formats: METADATA_EXPORT_FORMATS,
      jobType: 'METADATA_EXPORT',
      contentType: (format) =>
        format === 'json' ? 'application/json' : format === 'csv' ? 'application/csv' : 'application/xml',
      describe: (params, format) => describeMetadataExport(context, params, format),
      validate: (params, format, viewer) => {
        requireViewerAuthority(viewer, 'F_METADATA_EXPORT');
        metadataExportRequest(context, params, format);
      },
    },
  );

  exports.registerExportProducer(
    'metadataDependencies',
    async (params, out, ctx) => {
      await requireRunAuthority(context, ctx.userUid, 'F_METADATA_EXPORT');
      const { collection, uid } = dependencyTarget(context, params);
      ctx.progress({ stage: 'Collecting dependencies', processed: 0 });
      const packaged = await collectDependencies(context, collection, uid);
      const request = buildExportRequest(
        context.registry,
        {},
        ctx.format as MetadataExportFormat,
        params.skipSharing === true || params.skipSharing === 'true',
      );
      request.collections = [...packaged.keys()];
      const objects = [...packaged.values()].reduce((n, list) => n + list.length, 0);
      const chunks = encodeMetadata(context, request, async function* (c) {
        yield packaged.get(c) ?? [];
      });
      const bytes = await copyTo(chunks, out, ctx.signal, (n) =>
        ctx.progress({ stage: 'Writing dependencies (bytes)', processed: n }),
      );
      ctx.notify('INFO', `Exported ${objects} objects that ${collection} ${uid} depends on`);
      return { bytes, objects };
    },
    {
      formats: ['json', 'xml'],
      jobType: 'METADATA_DEPENDENCY_EXPORT',
      contentType: (format) => (format === 'json' ? 'application/json' : 'application/xml'),
      describe: (params, format) =>
        `${String(params.type)} ${String(params.uid)} with everything it depends on (${format.toUpperCase()})`,
      validate: (params, _format, viewer) => {
        requireViewerAuthority(viewer, 'F_METADATA_EXPORT');
        dependencyTarget(context, params);
      },
    },
  );
}
