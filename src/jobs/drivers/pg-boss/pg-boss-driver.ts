import { PgBoss } from 'pg-boss';
import type { SqlExecutor, SqlValue } from '../../../storage/storage.ts';
import {
  WorkerPoolJobQueue,
  type Delivery,
  type JobDelivery,
  type JobQueueOptions,
} from '../../job-queue.ts';

/** One pg-boss queue per Ferry job type, so a worker fetches only what it has handlers for. */
export function pgBossQueueName(type: string): string {
  return `ferry-job-${type.toLowerCase()}`;
}

/**
 * PostgreSQL delivery through pg-boss. Ferry's job row stays the truth (status, lease, progress);
 * a pg-boss job is only the message "job X is ready", inserted through the enqueueing transaction
 * (pg-boss's `db` option), so it commits or rolls back with the row. Messages are at-least-once:
 * a duplicate finds the row already claimed and is simply acknowledged. pg-boss does not retry
 * (Ferry does, with its own backoff), and a message whose worker died is re-sent by Ferry's lease
 * sweep, not by pg-boss's expiry.
 */
export class PgBossDelivery implements JobDelivery {
  readonly name = 'pg-boss' as const;
  private readonly boss: PgBoss;
  private readonly knownQueues = new Set<string>();
  private started: Promise<void> | undefined;

  constructor(connectionString: string, schema: string) {
    this.boss = new PgBoss({
      connectionString,
      schema,
      max: 4,
      // Ferry's own sweeps own retries and retention of its rows; pg-boss keeps its housekeeping.
      schedule: false,
      supervise: true,
    });
    // A lost connection surfaces here; pg-boss reconnects, the sweep covers what was missed.
    this.boss.on('error', () => {});
  }

  start(): Promise<void> {
    this.started ??= this.boss.start().then(() => undefined);
    return this.started;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.started;
    await this.boss.stop({ graceful: false, close: true });
    this.started = undefined;
  }

  private async ensureQueue(type: string): Promise<string> {
    const name = pgBossQueueName(type);
    if (!this.knownQueues.has(name)) {
      await this.start();
      // retryLimit 0: a failed or expired message is not re-sent by pg-boss; Ferry's sweep does it.
      await this.boss.createQueue(name, {
        retryLimit: 0,
        expireInSeconds: 24 * 3600,
        retentionSeconds: 3600,
      });
      this.knownQueues.add(name);
    }
    return name;
  }

  async announce(db: SqlExecutor, job: { id: string; type: string; runAfter: string }): Promise<void> {
    const name = await this.ensureQueue(job.type);
    await this.boss.send(
      name,
      { jobId: job.id },
      { startAfter: new Date(job.runAfter), db: transactionAdapter(db) },
    );
  }

  async receive(types: readonly string[], max: number): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (const type of types) {
      if (out.length >= max) break;
      const name = await this.ensureQueue(type);
      const messages = await this.boss.fetch<{ jobId: string }>(name, { batchSize: max - out.length });
      for (const message of messages) {
        out.push({
          jobId: message.data.jobId,
          ack: async () => {
            await this.boss.complete(name, message.id);
          },
          retryLater: async (ms) => {
            await this.boss.send(
              name,
              { jobId: message.data.jobId },
              { startAfter: Math.max(1, Math.ceil(ms / 1000)) },
            );
            await this.boss.complete(name, message.id);
          },
        });
      }
    }
    return out;
  }
}

/** pg-boss's `IDatabase` over Ferry's executor: pg-boss SQL has `$n` placeholders and no `?`. */
function transactionAdapter(db: SqlExecutor) {
  return {
    executeSql: async (text: string, values?: unknown[]) => ({
      rows: await db.query(text, (values ?? []) as SqlValue[]),
    }),
  };
}

export function createPgBossJobQueue(options: JobQueueOptions): WorkerPoolJobQueue {
  if (!options.databaseUrl) throw new Error('The pg-boss job driver needs the PostgreSQL URL (databaseUrl)');
  const delivery = new PgBossDelivery(options.databaseUrl, options.pgBossSchema ?? 'pgboss');
  const queue = new WorkerPoolJobQueue(delivery, options);
  if (options.files) queue.useFileStore(options.files);
  return queue;
}
