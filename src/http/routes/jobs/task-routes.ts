import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { FerryError } from '../../../errors.ts';
import { jobViewer } from './job-routes.ts';

function maxAgeDays(value: unknown): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new FerryError('F1000', ['maxAge', String(value), 'a number of days ≥ 0']);
  return n;
}

/**
 * DHIS2's task API (`SystemController`), backed by Ferry's durable job rows instead of memory,
 * and the tracker job endpoints. Visibility is the job overview's: owner or F_VIEW_JOBS/ALL.
 */
export async function registerTaskRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  const jobs = context.jobs;

  app.get('/api/system/tasks', async (request) => {
    const viewer = jobViewer(request);
    const out: Record<string, Record<string, unknown>> = {};
    const types = [...new Set((await jobs.list(viewer, { limit: 500 })).map((job) => job.type))];
    for (const type of types) out[type] = await jobs.tasksOfType(viewer, type);
    return out;
  });

  app.get('/api/system/tasks/:type', async (request) => {
    const { type } = request.params as { type: string };
    return jobs.tasksOfType(jobViewer(request), type.toUpperCase());
  });

  app.get('/api/system/tasks/:type/:id', async (request) => {
    const { type, id } = request.params as { type: string; id: string };
    return jobs.taskNotifications(jobViewer(request), type, id);
  });

  app.get('/api/system/taskSummaries/:type', async (request) => {
    const { type } = request.params as { type: string };
    return jobs.taskSummariesOfType(jobViewer(request), type.toUpperCase());
  });

  app.get('/api/system/taskSummaries/:type/:id', async (request, reply) => {
    const { type, id } = request.params as { type: string; id: string };
    const summary = await jobs.taskSummary(jobViewer(request), type, id);
    // DHIS2 answers with an empty body while there is no summary yet.
    if (summary === undefined) return reply.status(200).type('application/json').send('');
    return summary;
  });

  const deleteTasks = async (request: FastifyRequest) => {
    const { type, id } = request.params as { type?: string; id?: string };
    const query = request.query as Record<string, unknown>;
    const deleted = await jobs.deleteTasks(jobViewer(request), {
      type,
      id,
      maxAgeDays: maxAgeDays(query.maxAge),
    });
    return {
      httpStatus: 'OK',
      httpStatusCode: 200,
      status: 'OK',
      message: `Deleted ${deleted} finished jobs`,
    };
  };
  app.delete('/api/system/tasks', deleteTasks);
  app.delete('/api/system/tasks/:type', deleteTasks);
  app.delete('/api/system/tasks/:type/:id', deleteTasks);

  app.get('/api/tracker/jobs/:id', async (request) => {
    const { id } = request.params as { id: string };
    return jobs.taskNotifications(jobViewer(request), 'TRACKER_IMPORT_JOB', id);
  });

  app.get('/api/tracker/jobs/:id/report', async (request) => {
    const { id } = request.params as { id: string };
    const summary = await jobs.taskSummary(jobViewer(request), 'TRACKER_IMPORT_JOB', id);
    if (summary === undefined) throw new FerryError('F1200', ['Tracker job report', id]);
    return summary;
  });
}
