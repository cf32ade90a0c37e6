import type { FerryContext } from '../ferry-context-types.ts';
import type { JobParams, JobRecord } from '../../jobs/job-types.ts';
import type { CompletionMessage } from '../../jobs/job-handlers.ts';
import { JobFailedError } from '../../jobs/job-handlers.ts';
import { requireRunAuthority } from '../jobs/job-helpers.ts';
import { FULL_DEMO_OPTIONS, generateDemoDatabase, type DemoOptions } from './demo-metadata.ts';
import { hasDemoTrackerData, seedDemoTrackerData, type DemoTrackerSummary } from './demo-tracker-seeder.ts';
import {
  DatabaseNotEmptyError,
  hasDemoDatabase,
  hasDemoDataValues,
  isDatabaseEmpty,
  restoreMissingDemoPasswords,
  seedDemoDataValues,
  seedDemoMetadata,
  type DemoDataSummary,
} from './demo-seeder.ts';

/** The job that writes the demo's data values after the server has started listening. */
export const DEMO_SEED_JOB_TYPE = 'DEMO_SEED';
/** One demo seed queued or running at a time: a second start finds it instead of queueing another. */
const DEMO_SEED_DEDUPE_KEY = 'demo-seed';
/** Advisory lock key while deciding whether to queue the seed on PostgreSQL (the seed holds 4712). */
const DEMO_QUEUE_LOCK = 4713;
/**
 * A stopped server hands the running seed back to the queue (a retry), so a newcomer who stops
 * and starts a few times during the first minute must not use the attempts up.
 */
const DEMO_SEED_MAX_ATTEMPTS = 10;
/** The stage names in the job's progress (and DHIS2's LOOP notifications built from them). */
export const DEMO_SEED_STAGE = 'Writing demo data values';
export const DEMO_TRACKER_STAGE = 'Writing demo tracker data';

export type DemoServePreparation =
  /** The data are being written by `job` (queued now, or still running from a start before). */
  | { outcome: 'seeding'; job: JobRecord; metadataObjects?: number }
  | { outcome: 'present' }
  | { outcome: 'other-data' };

/** What a DEMO_SEED job stores as its summary; the web app shows `status`, `description` and `stats`. */
export interface DemoSeedReport {
  responseType: 'DemoSeedSummary';
  status: 'OK';
  description: string;
  stats: DemoDataSummary & { tracker: DemoTrackerSummary };
}

/**
 * `serve --demo` before it listens. On an empty database: the demo's metadata and users (well under
 * a second of writing) and, in the same transaction, a DEMO_SEED job for the data values, which the
 * server's workers run once it listens. On the demo: nothing, or a seed job again if the data values
 * are not complete and none is queued or running (a seed that failed for good). On other data:
 * nothing. Two starts racing on one empty database queue one seed.
 */
export async function prepareDemoForServe(
  context: FerryContext,
  options: DemoOptions = FULL_DEMO_OPTIONS,
): Promise<DemoServePreparation> {
  if (await isDatabaseEmpty(context.storage)) {
    try {
      let job: JobRecord | undefined;
      const { metadataObjects } = await seedDemoMetadata(context, options, {
        alsoInTransaction: async (tx) => {
          job = await context.jobs.enqueue(tx, seedRequest(options));
        },
      });
      context.jobs.wake();
      return { outcome: 'seeding', job: job!, metadataObjects };
    } catch (error) {
      // Another process seeded (or wrote) first; decide again from what is there now.
      if (!(error instanceof DatabaseNotEmptyError)) throw error;
    }
  }
  if (!(await hasDemoDatabase(context.metadata))) return { outcome: 'other-data' };
  await restoreMissingDemoPasswords(context, options);
  const queue = await context.jobs.queue();
  const running = await queue.store.findActiveByDedupeKey(context.storage, DEMO_SEED_DEDUPE_KEY);
  if (running) return { outcome: 'seeding', job: running };
  if (await hasDemoDataComplete(context, options)) return { outcome: 'present' };
  const job = await context.storage.transaction(async (tx) => {
    // Checked again inside the transaction (under a lock on PostgreSQL), so that two starts queue one.
    if (tx.kind === 'postgres') await tx.execute('SELECT pg_advisory_xact_lock(?)', [DEMO_QUEUE_LOCK]);
    return (
      (await queue.store.findActiveByDedupeKey(tx, DEMO_SEED_DEDUPE_KEY)) ??
      (await context.jobs.enqueue(tx, seedRequest(options)))
    );
  });
  context.jobs.wake();
  return { outcome: 'seeding', job };
}

/** Whether both parts of the data stage finished: the data values and the tracker data. */
async function hasDemoDataComplete(context: FerryContext, options: DemoOptions): Promise<boolean> {
  return (
    (await hasDemoDataValues(context, options)) &&
    (await hasDemoTrackerData(context, generateDemoDatabase(options)))
  );
}

function seedRequest(options: DemoOptions) {
  return {
    type: DEMO_SEED_JOB_TYPE,
    params: { facilities: options.facilities, seed: options.seed },
    dedupeKey: DEMO_SEED_DEDUPE_KEY,
    maxAttempts: DEMO_SEED_MAX_ATTEMPTS,
  };
}

function demoOptionsOf(params: JobParams): DemoOptions {
  const { facilities, seed } = params;
  if (!Number.isInteger(facilities) || (facilities as number) < 1 || typeof seed !== 'string') {
    throw new JobFailedError(
      `DEMO_SEED needs params {facilities: a whole number >= 1, seed: text}, not ${JSON.stringify(params)}`,
    );
  }
  return { facilities: facilities as number, seed };
}

/**
 * "Demo data complete: 1,220,970 data values, 76,535 complete registrations, 21,480 tracked
 * entities and 229,370 events in 24.2 s" (counts of what this run wrote).
 */
export function describeDemoSeed(summary: DemoDataSummary, tracker: DemoTrackerSummary): string {
  const n = (x: number) => x.toLocaleString('en');
  return (
    `Demo data complete: ${n(summary.dataValues)} data values, ` +
    `${n(summary.completeRegistrations)} complete registrations, ` +
    `${n(tracker.trackedEntities)} tracked entities and ${n(tracker.events)} events ` +
    `in ${((summary.milliseconds + tracker.milliseconds) / 1000).toFixed(1)} s`
  );
}

function completionMessage(summary: unknown): CompletionMessage {
  const report = summary as Partial<DemoSeedReport> | null;
  return report?.description
    ? { level: 'INFO', message: report.description }
    : { level: 'INFO', message: 'Job complete' };
}

/** The DEMO_SEED job: the demo's data stage, with progress on the job and fenced commits. */
export function registerDemoJobs(context: FerryContext): void {
  context.jobs.registerHandler(
    DEMO_SEED_JOB_TYPE,
    async (job, ctx): Promise<DemoSeedReport> => {
      // Queued by the server itself (no user), or run again from the job overview by a user, who
      // must be a superuser: the seed writes data for every facility of the demo.
      await requireRunAuthority(context, job.userUid, 'ALL');
      const options = demoOptionsOf(job.params);
      const demo = generateDemoDatabase(options);
      // A seed stopped in the tracker stage does not write its data values again on the next run.
      const summary = (await hasDemoDataValues(context, options))
        ? { dataValues: 0, completeRegistrations: 0, milliseconds: 0 }
        : await seedDemoDataValues(context, demo, {
            signal: ctx.signal,
            beforeCommit: (tx) => ctx.assertLeaseHeld(tx),
            onProgress: (progress) =>
              ctx.progress({
                stage: DEMO_SEED_STAGE,
                processed: progress.dataValues,
                total: progress.totalDataValues,
              }),
          });
      const tracker = await seedDemoTrackerData(context, demo, {
        signal: ctx.signal,
        beforeCommit: (tx) => ctx.assertLeaseHeld(tx),
        onProgress: (progress) =>
          ctx.progress({
            stage: DEMO_TRACKER_STAGE,
            processed: progress.events,
            total: progress.totalEvents,
          }),
      });
      return {
        responseType: 'DemoSeedSummary',
        status: 'OK',
        description: describeDemoSeed(summary, tracker),
        stats: { ...summary, tracker },
      };
    },
    { maxAttempts: DEMO_SEED_MAX_ATTEMPTS, completionMessage },
  );
}
