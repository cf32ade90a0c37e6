import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';

export async function registerSystemRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  // Open without login, unlike DHIS2: monitoring and install checks ask it before anyone has an
  // account. It tells only what a login page would (name, version, database kind, clock).
  app.get('/api/system/info', { config: { public: true } }, async () => ({
    systemName: 'Ferry',
    version: context.version,
    databaseKind: context.storage.kind,
    serverDate: new Date().toISOString(),
  }));
  app.get('/api/system/ping', async () => 'pong');
}
