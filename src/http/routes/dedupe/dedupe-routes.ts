import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { uploadFileName, requestInputName } from '../../async-import.ts';
import { spoolToFile } from '../../../services/jobs/upload-spool.ts';
import { jobConfigurationReply } from '../../../services/jobs/job-service.ts';
import { loadDedupeConfig } from '../../../services/dedupe/dedupe-config.ts';
import { importPoolCsv } from '../../../services/dedupe/dedupe-pool-csv.ts';
import { DEDUPE_POOL_IMPORT_JOB } from '../../../services/dedupe/dedupe-jobs.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError } from '../../../errors.ts';
import { DEDUPE_ENTITY_TYPES, entityTypesCsv } from '../../../domain/dedupe/dedupe-entity-types.ts';
import {
  createPool,
  deletePool,
  getPool,
  listEntries,
  listPools,
  MAX_ENTRIES_PAGE_SIZE,
  requirePool,
  updatePool,
} from '../../../services/dedupe/dedupe-pool-service.ts';

type PoolRequest = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>;

function single(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return value === undefined || value === '' ? undefined : String(value);
}

function positiveInt(query: Record<string, unknown>, name: string, max: number): number | undefined {
  const text = single(query, name);
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max)
    throw new FerryError('F1000', [name, text, `a whole number from 1 to ${max}`]);
  return value;
}

/**
 * De-duplication pools (issue 16; docs/formats/dedupe-pools.md): `/api/dedupe/pools` CRUD, a
 * pool's entries, and the entity types. Rights: signing in for entity types; creating a pool needs
 * F_DEDUPE_POOL_MANAGE; everything else is by the pool's sharing, checked in the service.
 */
export async function registerDedupeRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get('/api/dedupe/entityTypes', async (request) => {
    requirePrincipal(request);
    return { entityTypes: DEDUPE_ENTITY_TYPES };
  });
  app.get('/api/dedupe/entityTypes.csv', async (request, reply) => {
    requirePrincipal(request);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', 'attachment; filename="dedupe-entity-types.csv"')
      .send(entityTypesCsv());
  });

  app.get('/api/dedupe/pools', async (request) => ({
    pools: await listPools(context, requirePrincipal(request)),
  }));
  app.post('/api/dedupe/pools', async (request, reply) => {
    const pool = await createPool(context, requirePrincipal(request), request.body);
    return reply
      .status(201)
      .header('location', `/api/dedupe/pools/${pool.id}`)
      .send(webMessage(201, 'OK', `De-duplication pool '${pool.name}' created`, { response: pool }));
  });
  app.get('/api/dedupe/pools/:id', async (request: PoolRequest) =>
    getPool(context, requirePrincipal(request), request.params.id),
  );
  app.put('/api/dedupe/pools/:id', async (request: PoolRequest) => {
    const pool = await updatePool(context, requirePrincipal(request), request.params.id, request.body);
    return webMessage(200, 'OK', `De-duplication pool '${pool.name}' updated`, { response: pool });
  });
  app.delete('/api/dedupe/pools/:id', async (request: PoolRequest) => {
    const pool = await deletePool(context, requirePrincipal(request), request.params.id);
    return webMessage(200, 'OK', `De-duplication pool '${pool.name}' deleted with its entries`);
  });
  app.get('/api/dedupe/pools/:id/entries', async (request: PoolRequest) => {
    const query = request.query;
    const before = single(query, 'before');
    if (before !== undefined && !/^\d+$/.test(before))
      throw new FerryError('F1000', ['before', before, "the previous page's pager.nextBefore"]);
    const entityType = single(query, 'entityType');
    if (entityType !== undefined && !/^\d+$/.test(entityType))
      throw new FerryError('F1000', ['entityType', entityType, 'an entity type id']);
    return listEntries(context, requirePrincipal(request), request.params.id, {
      prefix: single(query, 'prefix'),
      entityTypeId: entityType === undefined ? undefined : Number(entityType),
      before: before === undefined ? undefined : Number(before),
      pageSize: positiveInt(query, 'pageSize', MAX_ENTRIES_PAGE_SIZE),
    });
  });

  // A pool's entries as CSV through the export queue: the card's download link works for
  // FERRY_DEDUPE_EXPORT_FILE_HOURS (default 1), then answers 410; asking again makes a fresh file.
  app.post('/api/dedupe/pools/:id/export', async (request: PoolRequest, reply) => {
    const principal = requirePrincipal(request);
    const row = await requirePool(context.storage, principal, request.params.id, 'filter');
    const { card, existing } = await context.exports.request(principal, {
      kind: 'dedupePool',
      // The name only describes the export (its card, the ready notice); the job reads the pool by UID.
      params: { pool: row.uid, poolName: row.name },
      format: 'csv',
    });
    reply.status(existing ? 200 : 201);
    return card;
  });

  // Import a pool CSV file (the body, streamed to disk up to FERRY_DEDUPE_IMPORT_MAX_BYTES):
  // at once, or as a DEDUPE_POOL_IMPORT job with async=true.
  await registerRawBodyRoutes(app, async (scope) => {
    scope.post('/api/dedupe/pools/:id/entries', async (request: PoolRequest, reply) => {
      const principal = requirePrincipal(request);
      const row = await requirePool(context.storage, principal, request.params.id, 'track');
      const { importMaxBytes } = loadDedupeConfig();
      if (single(request.query, 'async') === 'true') {
        const job = await context.jobs.submit({
          type: DEDUPE_POOL_IMPORT_JOB,
          params: { pool: row.uid },
          viewer: principal,
          body: request.body as Readable,
          contentType: request.headers['content-type'] ?? 'text/csv',
          originalName: uploadFileName(request.headers),
          maxBytes: importMaxBytes,
        });
        return reply.send(jobConfigurationReply(job));
      }
      const upload = await spoolToFile(
        request.body as Readable,
        join(context.config.dataDir, 'uploads'),
        importMaxBytes,
      );
      try {
        const result = await importPoolCsv(context, principal, row.uid, {
          path: upload.path,
          fileName: requestInputName(request),
        });
        return webMessage(
          200,
          'OK',
          `Imported ${result.rows} rows into de-duplication pool '${row.name}': ${result.added} added, ${result.alreadyInPool} already in the pool`,
          { response: result },
        );
      } finally {
        await upload.remove();
      }
    });
  });
}
