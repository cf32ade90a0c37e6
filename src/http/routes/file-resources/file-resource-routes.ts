import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { multipartBoundary, multipartFilePart, type MultipartFileInfo } from '../../multipart-file.ts';
import { maxUploadBytes } from '../../async-import.ts';
import { webMessage } from '../../web-message.ts';
import { noteAudit } from '../audit/audit-hooks.ts';
import { FerryError } from '../../../errors.ts';
import { principalHasAuthority } from '../../../domain/access/principal.ts';
import {
  canReadFileResource,
  createFileResource,
  fileResourceJson,
  getFileResource,
  openFileResourceContent,
} from '../../../services/file-resources/file-resource-service.ts';

type Query = Record<string, unknown>;
const last = (raw: unknown): unknown => (Array.isArray(raw) ? raw.at(-1) : raw);

/**
 * DHIS2's file resources (docs/api.md, "File resources"): `POST /api/fileResources` takes the
 * multipart form field `file` (optional `?domain=DATA_VALUE`, `?uid=`) and answers 202 with the
 * FileResource; `GET /api/fileResources/{uid}` is its metadata and `/data` its bytes. Uploading
 * needs a data writer (F_DATAVALUE_ADD, as POST /api/dataValues, or F_TRACKER_IMPORT, whose events
 * carry FILE_RESOURCE values); reading, the uploader, F_EXPORT_DATA or ALL.
 */
export async function registerFileResourceRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  await registerRawBodyRoutes(app, async (scope) => {
    scope.post('/api/fileResources', async (request: FastifyRequest<{ Querystring: Query }>, reply) => {
      const principal = requirePrincipal(request);
      if (!principalHasAuthority(principal, 'F_TRACKER_IMPORT')) requireAuthority(request, 'F_DATAVALUE_ADD');
      const boundary = multipartBoundary(request.headers['content-type']);
      if (boundary === undefined)
        throw new FerryError('F1003', [
          request.headers['content-type'] ?? '(none); expected multipart/form-data',
        ]);
      const part: MultipartFileInfo = { found: false };
      const parts = multipartFilePart(request.body as Readable, boundary, 'file', part)[
        Symbol.asyncIterator
      ]();
      // Read up to the part's first bytes so its file name and content type are known before storing.
      const first = await parts.next();
      const source = (async function* () {
        if (!first.done) yield first.value;
        for (;;) {
          const next = await parts.next();
          if (next.done) return;
          yield next.value;
        }
      })();
      const resource = await createFileResource(
        context,
        {
          source,
          name: part.fileName,
          contentType: part.contentType,
          domain: last(request.query.domain),
          uid: last(request.query.uid),
          maxBytes: maxUploadBytes(context),
        },
        principal,
      );
      noteAudit(request, {
        fileName: resource.name,
        fileSize: resource.contentLength,
        fileSha256: resource.sha256,
      });
      return reply.status(202).send(
        webMessage(202, 'OK', undefined, {
          response: { responseType: 'FileResource', fileResource: fileResourceJson(resource) },
        }),
      );
    });
  });

  const readable = async (request: FastifyRequest<{ Params: { uid: string } }>) => {
    const principal = requirePrincipal(request);
    const resource = await getFileResource(context, request.params.uid);
    if (!resource || !canReadFileResource(resource, principal))
      throw new FerryError('F1200', ['File resource', request.params.uid]);
    return resource;
  };

  app.get('/api/fileResources/:uid', async (request: FastifyRequest<{ Params: { uid: string } }>) =>
    fileResourceJson(await readable(request)),
  );

  app.get(
    '/api/fileResources/:uid/data',
    async (request: FastifyRequest<{ Params: { uid: string } }>, reply) => {
      const resource = await readable(request);
      const content = await openFileResourceContent(context, resource);
      if (!content) throw new FerryError('F1200', ['File resource content', resource.uid]);
      const ascii = resource.name.replace(/[^\x20-\x7e]|["\\]/g, '_');
      return reply
        .header('content-type', resource.contentType)
        .header('content-length', String(resource.contentLength))
        .header(
          'content-disposition',
          `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(resource.name)}`,
        )
        .header('x-content-type-options', 'nosniff')
        .send(content);
    },
  );
}
