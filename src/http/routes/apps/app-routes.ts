import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { multipartBoundary, multipartFilePart, type MultipartFileInfo } from '../../multipart-file.ts';
import { withoutUnsafeNameCharacters } from '../../../domain/system/file-name.ts';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { uploadFileName } from '../../async-import.ts';
import { noteAudit } from '../audit/audit-hooks.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError } from '../../../errors.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import {
  appListItem,
  appsDir,
  installApp,
  isAppKey,
  listApps,
  readInstalledManifest,
  uninstallApp,
} from '../../../services/apps/app-install-service.ts';

/**
 * The Content Security Policy of an app's files. A DHIS2 app-platform app loads its scripts and
 * workers from its own folder ('self'); its UI library (styled-jsx) adds `<style>` elements at run
 * time and React sets `style` attributes, so styles allow 'unsafe-inline'; icons come as data: and
 * blob: URLs. It talks only to Ferry (connect-src 'self'). It may be framed by Ferry's own pages
 * (DHIS2's global shell frames apps), never by another site.
 */
export const APP_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; " +
  "manifest-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

/** Content types of the files an app is made of; anything else is served as bytes (and nosniff). */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webapp': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.eot': 'application/vnd.ms-fontobject',
  '.wasm': 'application/wasm',
};

/** The app platform's placeholder for the server's address in an app's HTML. */
const BASE_URL_PLACEHOLDER = '__DHIS2_BASE_URL__';
/** HTML pages are read whole to fill in the placeholder; an app's pages are a few KiB. */
const MAX_HTML_REWRITE_BYTES = 1024 ** 2;

function escapeHtmlAttribute(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Ferry's own address as the client reached it: DHIS2's context path, absolute. */
function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/**
 * The file under the app's folder a URL path names, or undefined. Each segment is decoded once and
 * must be a plain name (no `..`, `.`, separators or NUL), so a request can never leave the folder.
 */
function appFilePath(root: string, key: string, rest: string): string | undefined {
  if (!isAppKey(key)) return undefined;
  const segments: string[] = [];
  for (const raw of rest.split('/')) {
    if (raw === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (segment === '.' || segment === '..' || /[\\/\0]/.test(segment)) return undefined;
    segments.push(segment);
  }
  return join(root, key, ...segments);
}

async function serveAppFile(
  context: FerryContext,
  request: FastifyRequest,
  reply: FastifyReply,
  key: string,
  rest: string,
): Promise<FastifyReply> {
  const notFound = () => {
    throw new FerryError('F1201', [request.url.split('?', 1)[0]]);
  };
  const manifest = await readInstalledManifest(context, key);
  if (!manifest) return notFound();
  let path = appFilePath(appsDir(context), key, rest);
  if (path === undefined) return notFound();
  let info = await stat(path).catch(() => undefined);
  if (info?.isDirectory()) {
    path = join(
      path,
      rest.replace(/\/+$/, '') === '' ? (manifest.launch_path ?? 'index.html') : 'index.html',
    );
    info = await stat(path).catch(() => undefined);
  }
  if (!info?.isFile()) return notFound();
  void reply
    .header('content-security-policy', APP_CONTENT_SECURITY_POLICY)
    .header('cache-control', 'no-cache')
    .header('x-frame-options', 'SAMEORIGIN');
  // DHIS2 rewrites the manifest's activities.dhis.href to the server's address, which is how an
  // app-platform app finds the API it was installed on.
  if (path === join(appsDir(context), key, 'manifest.webapp')) {
    const dhis = { ...(manifest.activities?.dhis ?? {}), href: baseUrlOf(request) };
    return reply
      .type(CONTENT_TYPES['.webapp'])
      .send(JSON.stringify({ ...manifest, activities: { ...(manifest.activities ?? {}), dhis } }));
  }
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
  // DHIS2 (2.41+) writes its address into an app's HTML where the app platform left the
  // placeholder (`<meta name="dhis2-base-url" content="__DHIS2_BASE_URL__">`): the app's API base.
  if (type.startsWith('text/html') && info.size <= MAX_HTML_REWRITE_BYTES) {
    const html = await readFile(path, 'utf8');
    return reply
      .type(type)
      .send(html.replaceAll(BASE_URL_PLACEHOLDER, escapeHtmlAttribute(baseUrlOf(request))));
  }
  return reply.type(type).header('content-length', info.size).send(createReadStream(path));
}

type AppFileRequest = FastifyRequest<{ Params: { key: string; '*'?: string } }>;

/**
 * Apps hosted by Ferry (docs/apps.md): `POST /api/apps` installs a DHIS2 app zip, `GET /api/apps`
 * lists them as DHIS2 does, `DELETE /api/apps/{key}` uninstalls one, and each app's files are
 * served at `/api/apps/{key}/` and DHIS2's `/dhis-web-{key}/`. Installing and uninstalling need
 * `M_dhis-web-app-management` (or ALL); the list needs a signed-in user; the files are public, as
 * they hold only the app's code and an app-platform app shows its own sign-in dialog.
 */
export async function registerAppRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get('/api/apps', async (request) => {
    requirePrincipal(request);
    return listApps(context, baseUrlOf(request));
  });

  await registerRawBodyRoutes(app, async (scope) => {
    scope.post(
      '/api/apps',
      { config: { authority: 'M_dhis-web-app-management' } },
      async (request, reply) => {
        const type = (request.headers['content-type'] ?? '').split(';', 1)[0].trim().toLowerCase();
        const boundary = multipartBoundary(request.headers['content-type']);
        const headerName = uploadFileName(request.headers);
        let installed: Awaited<ReturnType<typeof installApp>>;
        if (boundary !== undefined) {
          // DHIS2's App Management app and `d2 app scripts deploy` send the zip as the form field `file`.
          const part: MultipartFileInfo = { found: false };
          const body = Readable.from(multipartFilePart(request.body as Readable, boundary, 'file', part));
          const name = () => {
            const clean = withoutUnsafeNameCharacters(part.fileName?.split(/[\\/]/).pop() ?? '').trim();
            return clean !== '' ? clean.slice(0, 255) : (headerName ?? 'request body');
          };
          installed = await installApp(context, body, name);
          noteAudit(request, { fileName: name() });
        } else {
          const zipTypes = [
            'application/zip',
            'application/x-zip-compressed',
            'application/octet-stream',
            '',
          ];
          if (!zipTypes.includes(type)) throw new FerryError('F1003', [type]);
          noteAudit(request, { fileName: headerName });
          installed = await installApp(context, request.body as Readable, headerName ?? 'request body');
        }
        const item = appListItem(installed.key, installed.manifest, baseUrlOf(request));
        return reply
          .status(installed.replaced ? 200 : 201)
          .header('location', `/api/apps/${installed.key}`)
          .send(
            webMessage(
              installed.replaced ? 200 : 201,
              'OK',
              `App '${item.name}' ${installed.replaced ? 'replaced' : 'installed'} at ${item.basePath}/`,
              { response: item },
            ),
          );
      },
    );
  });

  app.delete(
    '/api/apps/:key',
    { config: { authority: 'M_dhis-web-app-management' } },
    async (request: FastifyRequest<{ Params: { key: string } }>, reply) => {
      await uninstallApp(context, request.params.key);
      return reply.status(204).send();
    },
  );

  // `/api/apps/{key}` without the slash: the app's relative URLs need it, so redirect (DHIS2 does).
  const serveRoot = async (request: AppFileRequest, reply: FastifyReply) => {
    const path = request.url.split('?', 1)[0];
    if (!(await readInstalledManifest(context, request.params.key))) throw new FerryError('F1201', [path]);
    if (!path.endsWith('/')) {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      return reply.redirect(`${path}/${query}`, 302);
    }
    return serveAppFile(context, request, reply, request.params.key, '');
  };
  const serveRest = async (request: AppFileRequest, reply: FastifyReply) =>
    serveAppFile(context, request, reply, request.params.key, request.params['*'] ?? '');
  for (const prefix of ['/api/apps/:key', '/dhis-web-:key']) {
    app.get(prefix, { config: { public: true } }, serveRoot);
    app.get(`${prefix}/*`, { config: { public: true } }, serveRest);
  }
}
