import type { FerryContext } from '../ferry-context-types.ts';
import type { JobParams } from '../../jobs/job-types.ts';
import { JobCancelledError } from '../../jobs/job-handlers.ts';
import { importDataValues, ImportCancelledError } from './data-value-import-service.ts';
import {
  dataValueExportScope,
  exportDataValues,
  parseDataValueExportRequest,
  DATA_VALUE_EXPORT_FORMATS,
  type DataValueExportFormat,
} from './data-value-export-service.ts';
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
  if (stringList(params.escapeFormulas)[0] === 'true') parts.push('formulas escaped for a spreadsheet');
  return `Data values of ${parts.join('; ') || 'nothing selected'} (${format.toUpperCase()})`;
}

/** The data value import job and the data value export producer. */
export function registerDataValueJobs(context: FerryContext): void {
  const jobs = context.jobs;
  const pathOf = (job: Parameters<typeof requireInput>[0]) => jobs.files.pathFor(requireInput(job).id);

  jobs.registerHandler(ASYNC_IMPORT_JOB_TYPES.dataValues, async (job, ctx) => {
    const input = requireInput(job);
    // The submitter's rights now, not when the upload was queued (the route checked those).
    const principal = await requireRunAuthority(context, job.userUid, 'F_DATAVALUE_ADD');
    ctx.notify('INFO', 'Importing data values');
    const summary = await importDataValues(
      context,
      { path: pathOf(job), fileName: inputFileName(job), contentType: input.contentType },
      job.params,
      principal,
      { ...runOptions(ctx), jobId: job.id },
    ).catch((error: unknown) => {
      // A non-atomic import keeps its finished batches: the job is CANCELLED with their summary.
      if (error instanceof ImportCancelledError) throw new JobCancelledError(job.id, error.summary);
      throw error;
    });
    ctx.notify('INFO', 'Import done');
    return summary;
  });

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
}
