import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../services/ferry-context.ts';

export async function registerSystemRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get('/api/system/info', async () => ({
    version: context.version,
    databaseKind: context.storage.kind,
    serverDate: new Date().toISOString(),
    systemName: 'Ferry',
  }));
  app.get('/api/system/ping', async () => 'pong');
}
