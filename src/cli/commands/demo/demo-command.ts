import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import {
  isDatabaseEmpty,
  prepareDemoDatabase,
  resetDatabase,
  seedDemoDatabase,
  type DemoSeedProgress,
  type DemoSeedSummary,
} from '../../../services/demo/demo-seeder.ts';
import {
  DEMO_SEED_JOB_TYPE,
  DEMO_TRACKER_STAGE,
  prepareDemoForServe,
  type DemoSeedReport,
  type DemoServePreparation,
} from '../../../services/demo/demo-jobs.ts';
import {
  DEMO_PASSWORD,
  DEMO_USERNAMES,
  FULL_DEMO_OPTIONS,
  type DemoOptions,
} from '../../../services/demo/demo-metadata.ts';

export const demoCommand: CliCommand = {
  path: ['demo'],
  summary: 'Create (or reset) the demo database',
  usage: `Usage: ferry demo [--data-dir DIR] [--database-url URL] [--reset] [--facilities N]

Creates the demo database offline: a fictional country with 1,200 facilities, four data sets,
two years of aggregate data (over a million values), programs, a dashboard and demo users
(${DEMO_USERNAMES.join(', ')}; password '${DEMO_PASSWORD}'). See docs/demo.md.
On an empty database it seeds; on the demo it does nothing; on other data it refuses.
${databaseUsage(23)}
  --reset              delete ALL data in the database first (every table), then seed
  --facilities N       a smaller demo with N facilities (default ${FULL_DEMO_OPTIONS.facilities})`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...DATABASE_OPTIONS,
        reset: { type: 'boolean', default: false },
        facilities: { type: 'string' },
      },
      strict: true,
    });
    const options = demoOptionsFrom(values.facilities);
    return withCliContext(values, async (context) => {
      if (values.reset) {
        const empty = await isDatabaseEmpty(context.storage);
        if (!empty) {
          console.log(`Deleting all data in ${context.storage.description} ...`);
          await resetDatabase(context.storage);
        }
        const summary = await seedDemoDatabase(context, options, printProgress);
        reportSeeded(summary);
        printUsers(summary);
        printLogin();
        return 0;
      }
      const preparation = await prepareDemoDatabase(context, options, printProgress);
      if (preparation.outcome === 'other-data') {
        console.error(
          `${context.storage.description} already holds data that is not the demo; nothing was changed.\n` +
            `Use 'ferry demo --reset' to delete everything in it and create the demo.`,
        );
        return 1;
      }
      if (preparation.outcome === 'present') {
        console.log(`${context.storage.description} already holds the demo database (--reset recreates it).`);
      } else {
        reportSeeded(preparation.summary);
        printUsers(preparation.summary);
      }
      printLogin();
      return 0;
    });
  },
};

function demoOptionsFrom(facilities: string | undefined): DemoOptions {
  if (facilities === undefined) return FULL_DEMO_OPTIONS;
  const count = Number(facilities);
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    throw new UsageError(`--facilities must be a whole number from 1 to 100000, not '${facilities}'`);
  }
  return { ...FULL_DEMO_OPTIONS, facilities: count };
}

function printProgress(progress: DemoSeedProgress): void {
  if (progress.stage === 'metadata') console.log('Creating the demo database: metadata and users ...');
  else if (progress.stage === 'tracker data') {
    const total = progress.totalEvents ? ` of ${progress.totalEvents.toLocaleString('en')}` : '';
    console.log(`  ${(progress.events ?? 0).toLocaleString('en')}${total} events ...`);
  } else if (progress.dataValues > 0) {
    const total = progress.totalDataValues ? ` of ${progress.totalDataValues.toLocaleString('en')}` : '';
    console.log(`  ${progress.dataValues.toLocaleString('en')}${total} data values ...`);
  }
}

function reportSeeded(summary: DemoSeedSummary): void {
  console.log(
    `Created the demo database: ${summary.metadataObjects.toLocaleString('en')} metadata objects, ` +
      `${summary.dataValues.toLocaleString('en')} data values, ` +
      `${summary.completeRegistrations.toLocaleString('en')} complete registrations, ` +
      `${summary.tracker.trackedEntities.toLocaleString('en')} tracked entities, ` +
      `${summary.tracker.events.toLocaleString('en')} events ` +
      `in ${(summary.milliseconds / 1000).toFixed(1)} s.`,
  );
}

/** The demo users with their roles and org unit scopes, for `ferry demo` to show after seeding. */
function printUsers(summary: DemoSeedSummary): void {
  const width = Math.max(...summary.demo.users.map((u) => u.username.length));
  console.log(`Demo users (password '${DEMO_PASSWORD}'):`);
  for (const user of summary.demo.users) {
    console.log(`  ${user.username.padEnd(width)}  ${user.role}; ${user.scope}`);
  }
}

function printLogin(): void {
  console.log(`${demoLoginHint()} See docs/demo.md.`);
}

/**
 * `serve --demo` before the server listens: the demo's metadata and users, with its data values
 * queued as a DEMO_SEED job that the server runs once it listens (see `watchDemoSeed`).
 */
export async function prepareServeDemo(context: FerryContext): Promise<DemoServePreparation> {
  const empty = await isDatabaseEmpty(context.storage);
  if (empty) console.log('First start: creating the demo database ...');
  const preparation = await prepareDemoForServe(context, FULL_DEMO_OPTIONS);
  if (preparation.outcome === 'other-data') {
    console.log('The database already holds data that is not the demo; starting without demo data.');
  } else if (preparation.outcome === 'seeding') {
    const what =
      preparation.metadataObjects !== undefined
        ? `Created the demo's metadata and users (${preparation.metadataObjects.toLocaleString('en')} objects); its data values and tracker data`
        : "The demo's data values or tracker data are not complete yet; they";
    console.log(
      `${what} are written in the background by job ${DEMO_SEED_JOB_TYPE} ${preparation.job.id} ` +
        `(progress below, in the web app's Jobs page and at /api/system/tasks/${DEMO_SEED_JOB_TYPE}).`,
    );
  }
  return preparation;
}

/** How often the server's log shows the seed's progress while it runs. */
const SEED_LOG_INTERVAL_MS = 5000;

/**
 * Follows the demo's seed job and prints its progress to the log, then one line when the data is
 * complete (or why it is not). It reads the job row (and this process's live progress), so it
 * shows the seed wherever it runs. Returns a function that stops following.
 */
export function watchDemoSeed(context: FerryContext, jobId: string): () => void {
  let stopped = false;
  let lastLine = '';
  let lastPrinted = 0;
  let lastStatus = '';
  const poll = async () => {
    const job = await context.jobs.get(null, jobId);
    if (stopped) return;
    if (job.status === 'COMPLETED') {
      const report = job.summary as Partial<DemoSeedReport> | null;
      console.log(`${report?.description ?? 'Demo data complete'}. The demo database is complete.`);
      return stop();
    }
    if (job.status === 'FAILED' || job.status === 'CANCELLED') {
      console.log(
        `The demo's data were not completed: job ${jobId} ${job.status.toLowerCase()}` +
          `${job.error ? ` (${job.error})` : ''}. The next start queues them again.`,
      );
      return stop();
    }
    if (job.status === 'QUEUED' && lastStatus === 'RUNNING') {
      console.log(
        `Demo data: attempt ${job.attempts} stopped (${job.error ?? 'interrupted'}); it will run again.`,
      );
    }
    lastStatus = job.status;
    const progress = job.progress;
    if (!progress || job.status !== 'RUNNING') return;
    const total = progress.total ? ` of ${progress.total.toLocaleString('en')}` : '';
    const share = progress.total ? ` (${Math.floor((100 * progress.processed) / progress.total)} %)` : '';
    const what = progress.stage === DEMO_TRACKER_STAGE ? 'events' : 'data values';
    const line = `Demo data: ${progress.processed.toLocaleString('en')}${total} ${what} written${share} ...`;
    if (line !== lastLine && Date.now() - lastPrinted >= SEED_LOG_INTERVAL_MS) {
      console.log(line);
      lastLine = line;
      lastPrinted = Date.now();
    }
  };
  const timer = setInterval(() => {
    // A failed read (the server is stopping and the database closing) is not worth a log line.
    poll().catch(() => {});
  }, 1000);
  const stop = () => {
    stopped = true;
    clearInterval(timer);
  };
  return stop;
}

/** The login hint `serve --demo` prints after the URL. */
export function demoLoginHint(): string {
  return (
    `Log in as admin / ${DEMO_PASSWORD}, like DHIS2's demo ` +
    `(other demo users: ${DEMO_USERNAMES.filter((u) => u !== 'admin').join(', ')}; same password).`
  );
}
