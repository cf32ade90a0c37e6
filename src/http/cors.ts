import type { FastifyInstance } from 'fastify';
import { webMessage } from './web-message.ts';

/** Methods and request headers a listed origin may use; the DHIS2 clients' set. */
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const ALLOWED_HEADERS =
  'Authorization, Content-Type, Accept, X-Requested-With, X-File-Name, Content-Disposition';
/** Response headers a listed origin's script may read: where a job or file went, its name. */
const EXPOSED_HEADERS = 'Location, Content-Disposition, WWW-Authenticate';
/** How long a browser may keep a preflight answer, seconds. */
const PREFLIGHT_MAX_AGE = 600;

/**
 * CORS for the origins in `allowlist` (FERRY_CORS_ALLOWLIST; DHIS2's CORS whitelist): a page served
 * by one of them may call Ferry with credentials (Basic or an API token; the session cookie is
 * SameSite=Lax and not sent cross-site). Any other origin gets no CORS headers, so the browser keeps
 * its page from reading the answer, and its preflight is refused with 403. Registered before
 * authentication: a preflight carries no credentials.
 */
export function registerCors(app: FastifyInstance, allowlist: readonly string[]): void {
  const allowed = new Set(allowlist);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string') return;
    const listed = allowed.has(origin);
    const preflight =
      request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
    if (listed) {
      void reply
        .header('access-control-allow-origin', origin)
        .header('access-control-allow-credentials', 'true')
        .header('access-control-expose-headers', EXPOSED_HEADERS)
        .header('vary', 'Origin');
    }
    if (!preflight) return;
    if (!listed) {
      return reply
        .status(403)
        .send(
          webMessage(403, 'ERROR', `Origin \`${origin.slice(0, 200)}\` is not in Ferry's CORS allow-list`),
        );
    }
    return reply
      .status(204)
      .header('access-control-allow-methods', ALLOWED_METHODS)
      .header('access-control-allow-headers', ALLOWED_HEADERS)
      .header('access-control-max-age', String(PREFLIGHT_MAX_AGE))
      .send();
  });
}
