import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built browser app (`npm run build:web`: Vite writes web/dist from web/src). */
export const WEB_DIST = fileURLToPath(new URL('../../../../web/dist/', import.meta.url));

/**
 * The web app's Content Security Policy. Scripts come only from Ferry itself, so nothing an import
 * stored (a name, a comment) can run as script in the app. Styles also allow 'unsafe-inline':
 * @dhis2/ui styles its components with styled-jsx, which adds `<style>` elements at run time, and
 * React sets `style` attributes (the progress bars' widths). An injected style can change how a page
 * looks but cannot run code or read the session (the cookie is HttpOnly).
 */
export const WEB_CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/**
 * Serves the browser app from web/dist at `/`, with the `.br`/`.gz` files the build wrote beside
 * each asset (no compression per request). Hashed assets are cached for good; index.html is
 * revalidated so a new build is seen at once. Without a build, `/` says how to make one.
 */
export async function registerWebRoutes(app: FastifyInstance): Promise<void> {
  if (!existsSync(WEB_DIST)) {
    app.get('/', async (_request, reply) =>
      reply
        .status(503)
        .type('text/plain; charset=utf-8')
        .send('The web app is not built: run `npm run build:web` (npm install and npm start do it).\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: WEB_DIST,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
    preCompressed: true,
    cacheControl: false,
    setHeaders(response, path) {
      response.header('content-security-policy', WEB_CONTENT_SECURITY_POLICY);
      response.header('x-content-type-options', 'nosniff');
      response.header(
        'cache-control',
        /[\\/]assets[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
