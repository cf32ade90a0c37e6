import { setTimeout as sleep } from 'node:timers/promises';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { JobRecord } from '../../src/jobs/job-types.ts';

const FINISHED = ['COMPLETED', 'FAILED', 'CANCELLED'];

/**
 * The job once it has finished (completed, failed or cancelled), polled every 50 ms; an error
 * naming the job and its status if it is still open after `timeoutMs`.
 */
export async function waitForJob(context: FerryContext, id: string, timeoutMs = 60_000): Promise<JobRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await context.jobs.get(null, id);
    if (FINISHED.includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await sleep(50);
  }
}
