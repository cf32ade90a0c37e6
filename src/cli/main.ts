import type { CliCommand } from './cli-command.ts';
import { UsageError } from './cli-command.ts';
import { serveCommand } from './commands/system/serve-command.ts';
import { demoCommand } from './commands/demo/demo-command.ts';
import { USER_COMMANDS } from './commands/access/user-command.ts';
import { importMetadataCommand } from './commands/metadata/import-metadata-command.ts';
import { exportMetadataCommand } from './commands/metadata/export-metadata-command.ts';
import { importDataCommand } from './commands/data-values/import-data-command.ts';
import { JOBS_COMMANDS } from './commands/jobs/jobs-command.ts';
import { EXPORTS_COMMANDS } from './commands/jobs/exports-command.ts';
import { DEDUPE_COMMANDS } from './commands/dedupe/dedupe-command.ts';
import { WIZARD_COMMANDS } from './commands/wizard/wizard-command.ts';
import { SYNC_COMMANDS } from './commands/sync/sync-command.ts';
import { workerCommand } from './commands/jobs/worker-command.ts';
import { importGeoJsonCommand, importGmlCommand } from './commands/geometry/import-geometry-command.ts';
import { exportDataCommand } from './commands/data-values/export-data-command.ts';
import { formPdfCommand } from './commands/data-values/form-pdf-command.ts';
import { importTrackerCommand } from './commands/tracker/import-tracker-command.ts';
import { exportEventsCommand } from './commands/tracker/export-events-command.ts';
import { importEventsCommand } from './commands/tracker/import-events-command.ts';
import { exportTrackedEntitiesCommand } from './commands/tracker/export-tracked-entities-command.ts';
import { exportAnalysisCommand } from './commands/analysis/export-analysis-command.ts';
import { FERRY_VERSION } from '../services/ferry-context.ts';

/** Every command; later features add theirs here. */
export const COMMANDS: CliCommand[] = [
  ...JOBS_COMMANDS,
  ...EXPORTS_COMMANDS,
  ...DEDUPE_COMMANDS,
  ...WIZARD_COMMANDS,
  ...SYNC_COMMANDS,
  workerCommand,
  serveCommand,
  demoCommand,
  ...USER_COMMANDS,
  importMetadataCommand,
  exportMetadataCommand,
  importDataCommand,
  exportDataCommand,
  exportAnalysisCommand,
  formPdfCommand,
  importGmlCommand,
  importGeoJsonCommand,
  importTrackerCommand,
  exportEventsCommand,
  importEventsCommand,
  exportTrackedEntitiesCommand,
];

function printHelp(): void {
  const order = ['serve', 'demo', 'import', 'export', 'form', 'jobs', 'exports', 'worker', 'user'];
  const rank = (c: CliCommand) => (order.indexOf(c.path[0]) + 1 || order.length + 1) * 100;
  const sorted = COMMANDS.map((c, i) => ({ c, key: rank(c) + i })).sort((a, b) => a.key - b.key);
  const lines = sorted.map(({ c }) => `  ferry ${c.path.join(' ').padEnd(24)} ${c.summary}`);
  console.log(`Ferry ${FERRY_VERSION}: health data import, export and exchange.

Usage: ferry <command> [options]

Commands:
${lines.join('\n')}

Run 'ferry <command> --help' for a command's options.
Configuration: PORT, FERRY_DATA_DIR, DATABASE_URL, FERRY_ADMIN_PASSWORD (see README.md).`);
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    printHelp();
    return 0;
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    console.log(FERRY_VERSION);
    return 0;
  }
  // The longest command path that matches wins: `import data` before `import`.
  const command = [...COMMANDS]
    .sort((a, b) => b.path.length - a.path.length)
    .find((c) => c.path.every((word, i) => argv[i] === word));
  if (!command) {
    const group = COMMANDS.filter((c) => c.path[0] === argv[0]);
    if (group.length > 0) {
      console.error(
        `Usage: ferry ${argv[0]} <${group.map((c) => c.path.slice(1).join(' ')).join('|')}> [options]`,
      );
    } else {
      console.error(`Unknown command '${argv.join(' ')}'. Run 'ferry --help'.`);
    }
    return 2;
  }
  const rest = argv.slice(command.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${command.usage}`);
      return 2;
    }
    throw error;
  }
}

/**
 * Runs main() and sets the exit status: the entry of both `node src/cli/main.ts` (npm run ferry) and
 * bin/ferry.mjs (npx ferry), which imports this module, so import.meta.main is false there.
 */
export function runMain(argv: string[]): Promise<void> {
  return main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}

if (import.meta.main) void runMain(process.argv.slice(2));
