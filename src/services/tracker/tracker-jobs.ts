import type { FerryContext } from '../ferry-context-types.ts';
import { inputFileName, principalOf, requireInput, runOptions } from '../jobs/job-helpers.ts';
import { importTracker } from './tracker-import-service.ts';

/** DHIS2's job type for `POST /api/tracker?async=true`. */
export const TRACKER_IMPORT_JOB = 'TRACKER_IMPORT_JOB';

/**
 * The tracker import job: the stored upload imported with the request's parameters, as the user who
 * sent it, whose authority and capture scope are checked again now (they may have changed).
 */
export function registerTrackerJobs(context: FerryContext): void {
  const jobs = context.jobs;
  jobs.registerHandler(TRACKER_IMPORT_JOB, async (job, ctx) => {
    const input = requireInput(job);
    ctx.notify('INFO', 'Tracker import started');
    const report = await importTracker(
      context,
      { path: jobs.files.pathFor(input.id), fileName: inputFileName(job), contentType: input.contentType },
      job.params,
      await principalOf(context, job.userUid),
      { ...runOptions(ctx), jobId: job.id },
    );
    ctx.notify(
      report.status === 'ERROR' ? 'ERROR' : 'INFO',
      `Tracker import finished with status ${report.status}`,
    );
    return report;
  });
}
