import type { SqlExecutor } from '../../../storage/storage.ts';
import {
  WorkerPoolJobQueue,
  type Delivery,
  type JobDelivery,
  type JobQueueOptions,
} from '../../job-queue.ts';
import type { JobStore } from '../../job-store.ts';

/**
 * The embedded driver (SQLite by default, PostgreSQL works too): the job table is the queue.
 * Workers poll it with a cheap read and claim with an atomic UPDATE; an enqueue is just the row, so
 * it is transactional by construction.
 */
export class InProcessDelivery implements JobDelivery {
  readonly name = 'in-process' as const;
  private store: JobStore | undefined;

  attach(store: JobStore): void {
    this.store = store;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async announce(_db: SqlExecutor, _job: { id: string; type: string; runAfter: string }): Promise<void> {
    // The row is the announcement; the poll finds it once the transaction commits.
  }

  async receive(types: readonly string[], max: number): Promise<Delivery[]> {
    if (!this.store) throw new Error('in-process delivery is not attached to a job store');
    if (max <= 0) return [];
    const found = await this.store.storage.queryOne(
      `SELECT 1 AS found FROM job WHERE status = 'QUEUED' AND run_after <= ? AND type IN (${types.map(() => '?').join(', ')}) LIMIT 1`,
      [new Date().toISOString(), ...types],
    );
    if (!found) return [];
    return Array.from({ length: max }, () => ({ ack: async () => {}, retryLater: async () => {} }));
  }
}

export function createInProcessJobQueue(options: JobQueueOptions): WorkerPoolJobQueue {
  const delivery = new InProcessDelivery();
  const queue = new WorkerPoolJobQueue(delivery, options);
  delivery.attach(queue.store);
  if (options.files) queue.useFileStore(options.files);
  return queue;
}
