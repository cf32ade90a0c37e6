import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { DATABASE_OPTIONS, configFromArgs } from '../../cli-database.ts';
import { createFerryContext, type FerryContext } from '../../../services/ferry-context.ts';

/**
 * Loads the modules named in FERRY_JOB_MODULES (comma-separated paths): each may register handlers
 * process-wide at import, or export `registerJobs(context)`. Tests use it for test-only job types.
 */
export async function loadJobModules(
  context: FerryContext,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  for (const path of (env.FERRY_JOB_MODULES ?? '').split(',').filter((p) => p.trim() !== '')) {
    const module = (await import(pathToFileURL(resolve(path.trim())).href)) as {
      registerJobs?: (context: FerryContext) => void | Promise<void>;
    };
    await module.registerJobs?.(context);
  }
}

export const workerCommand: CliCommand = {
  path: ['worker'],
  summary: 'Run background jobs without HTTP (several may share one PostgreSQL queue)',
  usage: `Usage: ferry worker [--concurrency N] [--data-dir DIR] [--database-url URL]

Claims and runs queued jobs (imports, exports) until stopped with SIGINT/SIGTERM; a job it was
running when killed is retried by another worker once its lease expires.
  --concurrency N       jobs at once in this process (env FERRY_JOB_WORKERS, default 2)
  --data-dir DIR        the SQLite data directory (env FERRY_DATA_DIR, default ./data)
  --database-url URL    PostgreSQL (env DATABASE_URL); workers on several machines need a shared FERRY_FILES_DIR`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        concurrency: { type: 'string' },
        ...DATABASE_OPTIONS,
      },
      strict: true,
    });
    if (values.concurrency) process.env.FERRY_JOB_WORKERS = values.concurrency;
    const context = await createFerryContext(configFromArgs(values));
    await loadJobModules(context);
    await context.jobs.start();
    const queue = await context.jobs.queue();
    if (context.storage.kind === 'postgres' && !process.env.FERRY_FILES_DIR) {
      console.error(
        'ferry worker: FERRY_FILES_DIR is not set; uploads are read from the local data directory',
      );
    }
    console.log(
      `Ferry worker ${queue.workerId} running ${context.jobs.config.workers} at a time (${queue.driver}, ${context.storage.description})`,
    );
    await new Promise<void>((resolveStop) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => resolveStop());
    });
    await context.close();
    return 0;
  },
};
