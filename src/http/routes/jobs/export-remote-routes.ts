import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { rcloneRemotes } from '../../../services/jobs/destinations/rclone-destination.ts';
import { FerryError } from '../../../errors.ts';
import { jobViewer } from './job-routes.ts';

/**
 * Cloud destinations of exports (rclone remotes): a signed-in user lists, adds and removes their
 * own; a superuser (`ALL`) also the server's (`scope: "server"`). Secrets go in, never out: a
 * listing names which secrets are set, not their values.
 */
export async function registerExportRemoteRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  const remotes = rcloneRemotes(context);

  app.get('/api/exportRemotes', async (request) => ({
    exportRemotes: await remotes.list(jobViewer(request)),
  }));

  // Body: { "name": "...", "type": "webdav" | "sftp" | "s3" | "dropbox" | "onedrive" | "drive",
  //         "scope": "user" | "server", "options": { rclone options of the type } }.
  app.post('/api/exportRemotes', async (request, reply) => {
    const body = request.body;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new FerryError('F1001', ['expected a JSON object']);
    }
    const created = await remotes.create(jobViewer(request), body as Record<string, unknown>);
    reply.status(201);
    return created;
  });

  app.delete('/api/exportRemotes/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    await remotes.remove(jobViewer(request), id);
    reply.status(204);
    return reply.send();
  });
}
