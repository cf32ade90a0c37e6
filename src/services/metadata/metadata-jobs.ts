import type { FerryContext } from '../ferry-context-types.ts';
import type { JobParams } from '../../jobs/job-types.ts';
import type { MetadataImportParams } from '../../domain/metadata-import/import-params.ts';
import type { ImportReport } from '../../domain/metadata-import/import-report.ts';
import { FerryError } from '../../errors.ts';
import { isValidUid } from '../../domain/identifiers/uid.ts';
import { importMetadata } from './metadata-import-service.ts';
import {
  buildExportRequest,
  encodeMetadata,
  streamMetadataExport,
  EXPORT_FORMATS as METADATA_EXPORT_FORMATS,
  type ExportFormat as MetadataExportFormat,
} from './metadata-export-service.ts';
import { collectDependencies } from './metadata-dependency-service.ts';
import {
  ASYNC_IMPORT_JOB_TYPES,
  copyTo,
  inputFileName,
  listed,
  requireInput,
  requireRunAuthority,
  requireViewerAuthority,
  runOptions,
  stringList,
} from '../jobs/job-helpers.ts';

/**
 * The ImportReport as the synchronous `POST /api/metadata` sends it in `response` (without the
 * internal `importParams`): what an async job stores as its summary, so both paths agree.
 */
export function metadataReportResponse(report: ImportReport): Record<string, unknown> {
  const { importParams: _params, ...response } = report;
  return { responseType: 'ImportReport', ...response };
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
  if (stringList(query.escapeFormulas)[0] === 'true') extras.push('formulas escaped for a spreadsheet');
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

/** The metadata import job and the metadata and dependency export producers. */
export function registerMetadataJobs(context: FerryContext): void {
  const jobs = context.jobs;
  const pathOf = (job: Parameters<typeof requireInput>[0]) => jobs.files.pathFor(requireInput(job).id);

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.metadata, async (job, ctx) => {
    const input = requireInput(job);
    // The submitter's rights now, not when the upload was queued (the route checked those).
    const principal = await requireRunAuthority(context, job.userUid, 'F_METADATA_IMPORT');
    ctx.notify('INFO', 'Metadata import started');
    const report = await importMetadata(
      context,
      { path: pathOf(job), fileName: inputFileName(job), contentType: input.contentType },
      job.params as unknown as MetadataImportParams,
      principal,
      runOptions(ctx),
    );
    return metadataReportResponse(report);
  });

  const exports = context.exports;

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
