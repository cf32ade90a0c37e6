import type { FerryContext } from '../ferry-context-types.ts';
import { inputFileName, principalOf, requireInput, runOptions } from '../jobs/job-helpers.ts';
import { importLegacyTracker, type LegacyTrackerEndpoint } from './legacy-tracker-import-service.ts';

/** DHIS2 2.40's job types for `POST /api/events?async=true` and `/api/trackedEntityInstances?async=true`. */
export const EVENT_IMPORT_JOB = 'EVENT_IMPORT';
export const TEI_IMPORT_JOB = 'TEI_IMPORT';

export const LEGACY_TRACKER_JOB_TYPES: Record<Exclude<LegacyTrackerEndpoint, 'any'>, string> = {
  events: EVENT_IMPORT_JOB,
  trackedEntities: TEI_IMPORT_JOB,
};

/**
 * The older tracker imports as jobs: the stored upload read and imported with the request's
 * parameters as the user who sent it, whose authority and capture scope are checked again now; the
 * job's summary is the ImportSummaries the synchronous call answers with.
 */
export function registerLegacyTrackerJobs(context: FerryContext): void {
  const jobs = context.jobs;
  for (const [endpoint, type] of Object.entries(LEGACY_TRACKER_JOB_TYPES)) {
    jobs.registerHandler(type, async (job, ctx) => {
      const input = requireInput(job);
      ctx.notify('INFO', 'Import started');
      const format = typeof job.params.format === 'string' ? job.params.format : undefined;
      const { summaries } = await importLegacyTracker(
        context,
        {
          path: jobs.files.pathFor(input.id),
          fileName: inputFileName(job),
          contentType: input.contentType,
          format,
        },
        endpoint as LegacyTrackerEndpoint,
        job.params,
        await principalOf(context, job.userUid),
        { ...runOptions(ctx), jobId: job.id },
      );
      // DHIS2's end-of-import line, as its other imports write it.
      ctx.notify(
        summaries.status === 'ERROR' ? 'ERROR' : 'INFO',
        `Import complete with status ${summaries.status}, ${summaries.imported} created, ${summaries.updated} updated, ${summaries.deleted} deleted, ${summaries.ignored} ignored`,
      );
      return summaries;
    });
  }
}
