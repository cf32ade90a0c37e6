import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { fileURLToPath } from 'node:url';

const WEB_ROOT = fileURLToPath(new URL('../../../../web/', import.meta.url));

/**
 * Serves the browser app from `web/` (plain ES modules, no build step). A strict Content Security
 * Policy means nothing an import stored (a name, a comment) can run as script in the app.
 */
export async function registerWebRoutes(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
    setHeaders(response) {
      response.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'",
      );
      response.header('x-content-type-options', 'nosniff');
    },
  });
}
