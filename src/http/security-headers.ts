import type { FastifyInstance } from 'fastify';

/**
 * API responses are data, never a page: nothing in them may run as script or be framed, even when
 * a browser is sent straight to one (an exported XML or CSV holding text that an import stored).
 * `sandbox` also gives any document a unique origin with no access to the app's cookies.
 */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox";

/**
 * `X-Content-Type-Options: nosniff` on every response (a CSV or JSON body is never sniffed into
 * HTML), and the API's Content Security Policy on every `/api` response; the web app's own files
 * keep their policy (web-routes.ts).
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    const path = request.url.split('?', 1)[0];
    if ((path === '/api' || path.startsWith('/api/')) && !reply.hasHeader('content-security-policy')) {
      void reply.header('content-security-policy', API_CONTENT_SECURITY_POLICY);
    }
    return payload;
  });
}
