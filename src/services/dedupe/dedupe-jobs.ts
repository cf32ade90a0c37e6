import type { FerryContext } from '../ferry-context-types.ts';
import type { JobParams } from '../../jobs/job-types.ts';
import { FerryError } from '../../errors.ts';
import { copyTo, inputFileName, principalOf, requireInput } from '../jobs/job-helpers.ts';
import { loadDedupeConfig } from './dedupe-config.ts';
import { importPoolCsv, poolCsvChunks } from './dedupe-pool-csv.ts';
import { pruneExpiredEntries, requirePool } from './dedupe-pool-service.ts';

/** The job type of a pool CSV import sent with `async=true`. */
export const DEDUPE_POOL_IMPORT_JOB = 'DEDUPE_POOL_IMPORT';

function poolParam(params: JobParams): string {
  const pool = params.pool;
  if (typeof pool !== 'string' || pool === '') throw new FerryError('F1004', ['params.pool']);
  return pool;
}

/**
 * The pool export producer (`kind: dedupePool`, CSV, through the export queue; the download is kept
 * FERRY_DEDUPE_EXPORT_FILE_HOURS, default one hour, then 410) and the pool CSV import job. Both
 * check the submitter's sharing on the pool afresh when they run.
 */
export function registerDedupeJobs(context: FerryContext): void {
  const config = loadDedupeConfig();
  context.exports.registerExportProducer(
    'dedupePool',
    async (params, out, ctx) => {
      const principal = await principalOf(context, ctx.userUid);
      const row = await requirePool(context.storage, principal, poolParam(params), 'filter');
      await context.storage.transaction((tx) => pruneExpiredEntries(tx, row));
      let entries = 0;
      const bytes = await copyTo(
        poolCsvChunks(context, row.poolId, ctx.signal, (n) => {
          entries = n;
          ctx.progress({ stage: 'Writing pool entries', processed: n });
        }),
        out,
        ctx.signal,
        () => undefined,
      );
      ctx.notify('INFO', `Exported ${entries} entries of de-duplication pool ${row.name}`);
      return { bytes, entries };
    },
    {
      formats: ['csv'],
      jobType: 'DEDUPE_POOL_EXPORT',
      contentType: () => 'text/csv',
      describe: (params) =>
        typeof params.poolName === 'string'
          ? `De-duplication pool '${params.poolName}' (CSV)`
          : `De-duplication pool ${String(params.pool)} (CSV)`,
      validate: (params) => void poolParam(params),
      fileLifetimeMs: config.exportFileMs,
    },
  );

  context.jobs.registerHandler(DEDUPE_POOL_IMPORT_JOB, async (job, ctx) => {
    requireInput(job);
    const principal = await principalOf(context, job.userUid);
    ctx.notify('INFO', 'Importing de-duplication pool entries');
    return importPoolCsv(
      context,
      principal,
      poolParam(job.params),
      { path: context.jobs.files.pathFor(requireInput(job).id), fileName: inputFileName(job) },
      {
        jobId: job.id,
        signal: ctx.signal,
        progress: (rows) => ctx.progress({ stage: 'Importing pool entries', processed: rows }),
      },
    );
  });
}
