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
  type DemoPreparation,
  type DemoSeedProgress,
  type DemoSeedSummary,
} from '../../../services/demo/demo-seeder.ts';
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
  if (progress.stage === 'metadata') console.log('Creating the demo database: metadata ...');
  else if (progress.stage === 'data values')
    console.log(`  ${progress.dataValues.toLocaleString('en')} data values ...`);
  else console.log('  setting demo passwords ...');
}

function reportSeeded(summary: DemoSeedSummary): void {
  console.log(
    `Created the demo database: ${summary.metadataObjects.toLocaleString('en')} metadata objects, ` +
      `${summary.dataValues.toLocaleString('en')} data values, ` +
      `${summary.completeRegistrations.toLocaleString('en')} complete registrations ` +
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
 * `serve --demo`: makes sure the demo is there before the server listens. Returns what happened,
 * for the caller to print the login hint only when the database is the demo.
 */
export async function prepareDemoForServe(context: FerryContext): Promise<DemoPreparation> {
  const preparation = await prepareDemoDatabase(context, FULL_DEMO_OPTIONS, (progress) => {
    if (progress.stage === 'metadata')
      console.log('First start: creating the demo database (a few seconds) ...');
  });
  if (preparation.outcome === 'seeded') reportSeeded(preparation.summary);
  if (preparation.outcome === 'other-data') {
    console.log('The database already holds data that is not the demo; starting without demo data.');
  }
  return preparation;
}

/** The login hint `serve --demo` prints after the URL. */
export function demoLoginHint(): string {
  return (
    `Log in as admin / ${DEMO_PASSWORD}, like DHIS2's demo ` +
    `(other demo users: ${DEMO_USERNAMES.filter((u) => u !== 'admin').join(', ')}; same password).`
  );
}
