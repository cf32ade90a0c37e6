import type { JobQueueOptions, WorkerPoolJobQueue } from './job-queue.ts';

// The driver registry: it imports the drivers (lazily, so SQLite installs never load pg-boss), and
// the drivers import the shared worker pool from job-queue.ts, never this file.

/**
 * Which driver a configuration gets: pg-boss on PostgreSQL, the in-process pool on SQLite, and on a
 * PostgreSQL storage given without its URL (pg-boss needs one), the in-process pool, which works there too.
 */
export async function createJobQueue(options: JobQueueOptions): Promise<WorkerPoolJobQueue> {
  if (options.storage.kind === 'postgres' && options.databaseUrl) {
    const { createPgBossJobQueue } = await import('./drivers/pg-boss/pg-boss-driver.ts');
    return createPgBossJobQueue(options);
  }
  const { createInProcessJobQueue } = await import('./drivers/in-process/in-process-driver.ts');
  return createInProcessJobQueue(options);
}
