import type { FerryContext } from '../ferry-context-types.ts';
import type { ImportReport } from '../../domain/metadata-import/import-report.ts';
import { importGeoJson, importGml, type GeoJsonImportOptions } from './geometry-import-service.ts';
import { geoJsonImportReply } from './geojson-import-report.ts';
import {
  ASYNC_IMPORT_JOB_TYPES,
  inputFileName,
  requireInput,
  requireRunAuthority,
  runOptions,
} from '../jobs/job-helpers.ts';

/** The geometry endpoints' `response`. */
export function geometryReportResponse(report: ImportReport): Record<string, unknown> {
  return { responseType: 'ImportReport', ...report };
}

/** The GML (an ImportReport) and GeoJSON (a GeoJsonImportReport) import jobs. */
export function registerGeometryJobs(context: FerryContext): void {
  const jobs = context.jobs;
  const pathOf = (job: Parameters<typeof requireInput>[0]) => jobs.files.pathFor(requireInput(job).id);

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.gml, async (job, ctx) => {
    requireInput(job);
    // The submitter's rights now, not when the upload was queued (the route checked those).
    const principal = await requireRunAuthority(context, job.userUid, 'F_METADATA_IMPORT');
    const report = await importGml(
      context,
      { path: pathOf(job), fileName: inputFileName(job) },
      { dryRun: job.params.dryRun === true },
      principal,
      runOptions(ctx),
    );
    return geometryReportResponse(report);
  });

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.geoJson, async (job, ctx) => {
    requireInput(job);
    const principal = await requireRunAuthority(context, job.userUid, 'F_METADATA_IMPORT');
    const report = await importGeoJson(
      context,
      { path: pathOf(job), fileName: inputFileName(job) },
      job.params as unknown as GeoJsonImportOptions,
      principal,
      runOptions(ctx),
    );
    // DHIS2's GEOJSON_IMPORT job keeps its GeoJsonImportReport as the summary, as the synchronous
    // reply's `response`; the closing notification counts from its importCount.
    return geoJsonImportReply(report).response;
  });
}
