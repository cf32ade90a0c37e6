import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import type { JobViewer } from '../../../services/jobs/job-service.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { parseBooleanParameter } from '../../../errors.ts';
import { isFinished } from '../../../jobs/job-types.ts';

/** The one place job routes learn who is asking (the auth plugin's principal). */
export function jobViewer(request: FastifyRequest): JobViewer {
  const principal = requirePrincipal(request);
  return { uid: principal.uid, authorities: principal.authorities };
}

function listOf(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => String(v).split(',')).filter((v) => v !== '');
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/**
 * Ferry's job overview: every job newest first, details, recreate, cancel and live progress over
 * Server-Sent Events. Only the owner and holders of F_VIEW_JOBS (or ALL) see a job.
 */
export async function registerJobRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  const jobs = context.jobs;

  app.get('/api/jobs', async (request) => {
    const query = request.query as Record<string, unknown>;
    const pageSize = Math.min(positiveInt(query.pageSize, 50), 500);
    const page = positiveInt(query.page, 1);
    const list = await jobs.list(jobViewer(request), {
      types: listOf(query.type),
      statuses: listOf(query.status),
      user: typeof query.user === 'string' ? query.user : undefined,
      limit: pageSize,
      offset: (page - 1) * pageSize,
    });
    return { pager: { page, pageSize }, jobs: list };
  });

  app.get('/api/jobs/:id', async (request) => {
    const { id } = request.params as { id: string };
    return jobs.details(jobViewer(request), id);
  });

  app.post('/api/jobs/:id/cancel', async (request) => {
    const { id } = request.params as { id: string };
    return jobs.cancel(jobViewer(request), id);
  });

  app.post('/api/jobs/:id/recreate', async (request, reply) => {
    const { id } = request.params as { id: string };
    const submit = parseBooleanParameter('submit', (request.query as Record<string, unknown>).submit);
    const result = await jobs.recreate(jobViewer(request), id, submit);
    if (result.job) reply.status(201);
    return result;
  });

  app.get('/api/jobs/:id/events', async (request, reply) => {
    const { id } = request.params as { id: string };
    const viewer = jobViewer(request);
    let job = await jobs.get(viewer, id);
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let closed = false;
    request.raw.once('close', () => (closed = true));
    const send = (event: string, data: unknown) =>
      raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const sentNotifications = new Set<string>();
    let lastState = '';
    let lastBeat = Date.now();
    // Polling the row works across processes (a worker on another node writes it); the live
    // overlay gives this process's own jobs fresher progress.
    for (;;) {
      const notifications = await jobs.notifications(job);
      for (const note of [...notifications].reverse()) {
        if (sentNotifications.has(note.uid)) continue;
        sentNotifications.add(note.uid);
        send('notification', note);
      }
      const state = JSON.stringify({ status: job.status, progress: job.progress });
      if (state !== lastState) {
        lastState = state;
        send('progress', { id: job.id, type: job.type, status: job.status, progress: job.progress });
      } else if (Date.now() - lastBeat > 15_000) {
        raw.write(': keep-alive\n\n');
        lastBeat = Date.now();
      }
      if (isFinished(job.status)) {
        send('done', { id: job.id, status: job.status, summary: job.summary, error: job.error });
        break;
      }
      if (closed) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
      if (closed) break;
      job = await jobs.get(viewer, id);
    }
    raw.end();
  });
}
