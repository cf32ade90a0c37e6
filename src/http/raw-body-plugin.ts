import type { FastifyInstance } from 'fastify';

/**
 * Registers routes whose request bodies arrive as the raw stream (`request.body` is a Readable):
 * imports spool uploads to disk themselves and must never have Fastify parse a 500 MB JSON body
 * into memory. Scoped to the routes registered inside, other routes keep Fastify's parsers.
 */
export async function registerRawBodyRoutes(
  app: FastifyInstance,
  register: (scope: FastifyInstance) => Promise<void>,
): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    await register(scope);
  });
}
