import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import type { ExportRequest } from '../../../services/jobs/export-queue-service.ts';
import { FerryError } from '../../../errors.ts';
import { jobViewer } from './job-routes.ts';

/** The export queue: request (deduplicated), cards, download (410 once expired), regenerate. */
export async function registerExportRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  const exports = context.exports;

  app.post('/api/exports', async (request, reply) => {
    const body = request.body as Partial<ExportRequest> | undefined;
    if (!body || typeof body !== 'object') throw new FerryError('F1001', ['expected a JSON object']);
    if (typeof body.kind !== 'string') throw new FerryError('F1004', ['kind']);
    if (
      body.params !== undefined &&
      (typeof body.params !== 'object' || body.params === null || Array.isArray(body.params))
    ) {
      throw new FerryError('F1000', ['params', JSON.stringify(body.params), 'a JSON object']);
    }
    const { card, existing } = await exports.request(jobViewer(request), body as ExportRequest);
    reply.status(existing ? 200 : 201);
    return card;
  });

  app.get('/api/exports', async (request) => {
    const query = request.query as Record<string, unknown>;
    const pageSize = Math.min(Math.max(Number(query.pageSize) || 50, 1), 500);
    return { exports: await exports.list(jobViewer(request), pageSize) };
  });

  // The web app's "your export is ready" notices: the caller's own finished exports not seen yet.
  app.get('/api/exports/notices', async (request) => {
    const viewer = jobViewer(request);
    return {
      emailConfigured: exports.notices?.emailConfigured ?? false,
      notices: (await exports.notices?.unseen(viewer)) ?? [],
    };
  });

  // Marks notices seen: `{"ids": [...]}`, or every one of the caller's without a body.
  app.post('/api/exports/notices/seen', async (request) => {
    const body = request.body as { ids?: unknown } | undefined | null;
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body)))
      throw new FerryError('F1001', ['expected a JSON object or no body']);
    const ids = body?.ids;
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')))
      throw new FerryError('F1000', ['ids', JSON.stringify(ids), 'a list of export ids']);
    const seen = (await exports.notices?.markSeen(jobViewer(request), ids as string[] | undefined)) ?? 0;
    return { seen };
  });

  app.get('/api/exports/:id', async (request) => {
    const { id } = request.params as { id: string };
    return exports.card(jobViewer(request), id);
  });

  app.get('/api/exports/:id/file', async (request, reply) => {
    const { id } = request.params as { id: string };
    const viewer = jobViewer(request);
    const { file, disposition } = await exports.file(viewer, id);
    // Downloading the file is seeing its notice.
    await exports.notices?.markSeen(viewer, [id]);
    reply
      .header('content-type', file.contentType)
      .header('content-length', String(file.size))
      .header('content-disposition', disposition)
      .header('x-content-sha256', file.sha256);
    return reply.send(await file.open());
  });

  // A password-protected export's password comes again in the body, `{"password": "..."}`: it was never stored.
  app.post('/api/exports/:id/regenerate', async (request, reply) => {
    const { id } = request.params as { id: string };
    const body = request.body as { password?: unknown } | undefined | null;
    if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
      throw new FerryError('F1001', ['expected a JSON object or no body']);
    }
    const password = body?.password;
    if (password !== undefined && password !== null && typeof password !== 'string') {
      throw new FerryError('F1000', ['password', '(hidden)', 'a string']);
    }
    const { card, existing } = await exports.regenerate(jobViewer(request), id, { password });
    reply.status(existing ? 200 : 201);
    return card;
  });
}
