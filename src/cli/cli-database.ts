import { loadConfig, type FerryConfig } from '../config.ts';
import { createFerryContext, type FerryContext } from '../services/ferry-context.ts';
import { isFerryError, type FerryError } from '../errors.ts';
import { auditCliCommand } from './cli-audit.ts';

/** The parseArgs options of every command that opens the database. */
export const DATABASE_OPTIONS = {
  'data-dir': { type: 'string' },
  'database-url': { type: 'string' },
} as const;

export interface DatabaseArgs {
  'data-dir'?: string;
  'database-url'?: string;
}

/**
 * The help lines of DATABASE_OPTIONS, descriptions starting at `column` (counting the two-space
 * indent) so they line up with the command's other options.
 */
export function databaseUsage(column: number): string {
  return [
    `${'  --data-dir DIR'.padEnd(column)}the SQLite data directory (env FERRY_DATA_DIR, default ./data)`,
    `${'  --database-url URL'.padEnd(column)}PostgreSQL instead of SQLite (env DATABASE_URL)`,
  ].join('\n');
}

/** The configuration from the environment, with --data-dir and --database-url taking precedence. */
export function configFromArgs(
  values: DatabaseArgs,
  flags: { port?: string; host?: string } = {},
  defaults: { host?: string } = {},
): FerryConfig {
  return loadConfig(
    process.env,
    {
      ...flags,
      dataDir: values['data-dir'],
      databaseUrl: values['database-url'],
    },
    defaults,
  );
}

/**
 * Opens a context on the configured database, runs `work` and always closes the context. A coded
 * FerryError from `work` is printed as `CODE: message` on stderr and gives exit code 1 (or what
 * `exitCodeFor` says); other errors propagate to main.
 */
export async function withCliContext(
  values: DatabaseArgs,
  work: (context: FerryContext) => Promise<number>,
  exitCodeFor: (error: FerryError) => number = () => 1,
): Promise<number> {
  const context = await createFerryContext(configFromArgs(values));
  try {
    // Every command that opens the database leaves its audit record (reads excepted).
    return await auditCliCommand(context, process.argv.slice(2), () => work(context));
  } catch (error) {
    if (isFerryError(error)) {
      console.error(`${error.code}: ${error.message}`);
      return exitCodeFor(error);
    }
    throw error;
  } finally {
    await context.close();
  }
}
