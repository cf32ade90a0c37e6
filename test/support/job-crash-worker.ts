import { loadConfig } from '../../src/config.ts';
import { createFerryContext } from '../../src/services/ferry-context.ts';
import { registerJobs } from './job-test-handlers.ts';

/** A worker process for the crash test: runs jobs until killed (or until the queue is empty with --drain). */
const [dataDir, mode] = process.argv.slice(2);
const context = await createFerryContext(loadConfig({ ...process.env, FERRY_DATA_DIR: dataDir }));
await registerJobs(context);
await context.jobs.start();
console.log('WORKER_READY');
if (mode === '--drain') {
  for (;;) {
    const open = await context.storage.queryOne<{ n: number }>(
      `SELECT COUNT(*) AS n FROM job WHERE status IN ('QUEUED', 'RUNNING', 'COMPRESSING')`,
    );
    if (Number(open?.n) === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await context.close();
  console.log('DRAINED');
}
