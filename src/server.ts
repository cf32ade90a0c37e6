import type { FastifyInstance } from 'fastify';
import type { FerryConfig } from './config.ts';
import { createFerryContext, type FerryContext } from './services/ferry-context.ts';
import { buildApp } from './http/build-app.ts';
import { removeOrphanUploads } from './services/jobs/upload-spool.ts';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';

export interface RunningServer {
  app: FastifyInstance;
  context: FerryContext;
  url: string;
  stop(): Promise<void>;
}

/** Opens the database, builds the app and listens; stops cleanly on SIGINT/SIGTERM. */
export async function startServer(
  config: FerryConfig,
  prepare?: (context: FerryContext) => Promise<void>,
): Promise<RunningServer> {
  const context = await createFerryContext(config);
  // Spooled uploads of a server that was killed mid-import: nothing else would ever remove them.
  await removeOrphanUploads(join(config.dataDir, 'uploads'));
  if (prepare) await prepare(context);
  const https = config.tls
    ? { cert: await readFile(config.tls.certFile), key: await readFile(config.tls.keyFile) }
    : undefined;
  const app = await buildApp(context, { logger: process.env.FERRY_LOG === '1', https });
  await app.listen({ port: config.port, host: config.host });
  // Background jobs (imports, exports, retention) run in the server's own worker pool.
  await context.jobs.start();
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
  const url = `${https ? 'https' : 'http'}://${shownHost}:${config.port}`;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await app.close();
      await context.close();
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void stop().then(() => process.exit(0));
    });
  }
  return { app, context, url, stop };
}
