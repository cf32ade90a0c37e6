import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FerryError } from '../../../errors.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { applyAcknowledgement } from '../../../services/sync/sync-acknowledgements.ts';
import { listConflicts } from '../../../services/sync/sync-conflicts.ts';
import {
  MAX_PUSH_BYTES,
  outboxFile,
  preparePull,
  receiveUploadChunk,
  uploadStatus,
} from '../../../services/sync/sync-exchange.ts';
import { importPackage } from '../../../services/sync/sync-package-importer.ts';
import { addSite, initSite, ownCard, syncStatus } from '../../../services/sync/sync-site-registry.ts';
import { spoolToFile } from '../../../services/jobs/upload-spool.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { webMessage } from '../../web-message.ts';

type Query = Record<string, unknown>;
type UploadRequest = FastifyRequest<{ Params: { site: string; sequence: string }; Querystring: Query }>;

function single(query: Query, name: string): string | undefined {
  const raw = query[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return value === undefined || value === '' ? undefined : String(value);
}

function wholeNumber(name: string, text: string | undefined, required = true): number {
  if (text === undefined) {
    if (required) throw new FerryError('F1004', [name]);
    return 0;
  }
  if (!/^\d{1,15}$/.test(text)) throw new FerryError('F1000', [name, text, 'a whole number']);
  return Number(text);
}

/**
 * Sync between sites (issue 18, docs/sync.md): this site's card and registry, the status of each
 * site (last package, acknowledgement, pending changes, conflicts), the conflict report, package and
 * acknowledgement uploads, and the parent's side of push (chunked, resumable uploads by sequence)
 * and pull (a package offer and a ranged download). Rights are checked in the services.
 */
export async function registerSyncRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get('/api/sync/site', async (request) => {
    requirePrincipal(request);
    return ownCard(context);
  });
  app.post('/api/sync/site', async (request, reply) => {
    const body = (request.body ?? {}) as { site?: unknown; name?: unknown };
    if (typeof body.site !== 'string') throw new FerryError('F1004', ['site']);
    const { card, created } = await initSite(context, requirePrincipal(request), {
      siteId: body.site,
      name: typeof body.name === 'string' ? body.name : undefined,
    });
    return reply.status(created ? 201 : 200).send(card);
  });
  app.get('/api/sync/status', async (request) => syncStatus(context, requirePrincipal(request)));
  app.post('/api/sync/sites', async (request, reply) => {
    const body = (request.body ?? {}) as { card?: unknown; role?: unknown; url?: unknown; encrypt?: unknown };
    const site = await addSite(context, requirePrincipal(request), {
      card: body.card,
      role: String(body.role ?? ''),
      url: typeof body.url === 'string' && body.url !== '' ? body.url : undefined,
      encrypt: body.encrypt === true,
    });
    return reply.status(201).send(
      webMessage(201, 'OK', `Sync site '${site.siteId}' registered as ${site.role}`, {
        response: { site: site.siteId },
      }),
    );
  });
  app.get('/api/sync/conflicts', async (request: FastifyRequest<{ Querystring: Query }>) => ({
    conflicts: await listConflicts(context, requirePrincipal(request), {
      site: single(request.query, 'site'),
      limit:
        single(request.query, 'limit') === undefined
          ? undefined
          : wholeNumber('limit', single(request.query, 'limit')),
    }),
  }));
  app.post('/api/sync/acks', async (request) => {
    const result = await applyAcknowledgement(
      context,
      requirePrincipal(request),
      request.body,
      'acknowledgement',
    );
    return webMessage(
      200,
      'OK',
      result.advanced
        ? `Package ${result.sequence} acknowledged by '${result.site}'`
        : `Package ${result.sequence} was acknowledged by '${result.site}' already`,
      { response: result },
    );
  });
  app.get('/api/sync/uploads/:site/:sequence', async (request: UploadRequest) => ({
    response: await uploadStatus(
      context,
      requirePrincipal(request),
      request.params.site,
      wholeNumber('sequence', request.params.sequence),
    ),
  }));
  app.post('/api/sync/pull', async (request) => {
    const body = (request.body ?? {}) as { site?: unknown; have?: unknown };
    if (typeof body.site !== 'string') throw new FerryError('F1004', ['site']);
    const have =
      typeof body.have === 'number' && Number.isInteger(body.have) && body.have >= 0 ? body.have : 0;
    return { response: await preparePull(context, requirePrincipal(request), body.site, have) };
  });
  app.get('/api/sync/outbox/:site/:sequence', async (request: UploadRequest, reply) => {
    const { path, bytes } = await outboxFile(
      context,
      requirePrincipal(request),
      request.params.site,
      wholeNumber('sequence', request.params.sequence),
    );
    // A resumed download asks for the rest: `Range: bytes=N-`.
    const range = /^bytes=(\d+)-$/.exec(String(request.headers.range ?? ''));
    const start = range ? Number(range[1]) : 0;
    if (start > bytes)
      throw new FerryError('F1000', ['Range', String(request.headers.range), `bytes=0- to bytes=${bytes}-`]);
    reply.header('accept-ranges', 'bytes').header('content-type', 'application/zip');
    if (range) reply.status(206).header('content-range', `bytes ${start}-${bytes - 1}/${bytes}`);
    reply.header('content-length', String(bytes - start));
    return reply.send(createReadStream(path, { start }));
  });

  await registerRawBodyRoutes(app, async (scope) => {
    // One chunk of a pushed package at `offset` of `total` bytes; the last one imports it.
    scope.put('/api/sync/uploads/:site/:sequence', async (request: UploadRequest) => ({
      response: await receiveUploadChunk(context, requirePrincipal(request), {
        site: request.params.site,
        sequence: wholeNumber('sequence', request.params.sequence),
        offset: wholeNumber('offset', single(request.query, 'offset')),
        total: wholeNumber('total', single(request.query, 'total')),
        body: request.body as Readable,
      }),
    }));
    // A whole package file (the web app's upload, a script): imported at once; the reply carries the acknowledgement.
    scope.post('/api/sync/packages', async (request) => {
      const principal = requirePrincipal(request);
      const upload = await spoolToFile(
        request.body as Readable,
        join(context.config.dataDir, 'uploads'),
        MAX_PUSH_BYTES,
      );
      try {
        const result = await importPackage(context, principal, upload.path);
        return webMessage(
          200,
          'OK',
          result.status === 'ALREADY_IMPORTED'
            ? `Package ${result.sequence} from '${result.source}' was already imported; nothing changed`
            : `Package ${result.sequence} from '${result.source}' imported`,
          { response: result },
        );
      } finally {
        await upload.remove();
      }
    });
  });
}
