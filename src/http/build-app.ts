import Fastify, { type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { FerryContext } from '../services/ferry-context.ts';
import { FerryError, isFerryError } from '../errors.ts';
import { webMessage } from './web-message.ts';
import { HTTP_LIMITS, HTTP_TIMEOUTS, type HttpTimeouts } from '../codecs/input/input-limits.ts';
import { registerSlowBodyGuard } from './slow-client-guard.ts';
import { registerJsonBodyParser } from './json-body-parser.ts';
import { registerNulGuard } from './request-text-guard.ts';
import { registerSecurityHeaders } from './security-headers.ts';
import { registerCors } from './cors.ts';
import { stripApiVersion } from '../domain/system/dhis2-version.ts';
import { registerSystemRoutes } from './routes/system/system-routes.ts';
import { registerSchemaRoutes } from './routes/metadata/schema-routes.ts';
import { registerAuth } from './auth-plugin.ts';
import { registerAuthRoutes } from './routes/access/auth-routes.ts';
import { registerMeRoutes } from './routes/access/me-routes.ts';
import { registerMetadataReadRoutes } from './routes/metadata/metadata-read-routes.ts';
import { registerMetadataRoutes } from './routes/metadata/metadata-routes.ts';
import { registerWebRoutes } from './routes/system/web-routes.ts';
import { registerJobRoutes } from './routes/jobs/job-routes.ts';
import { registerTaskRoutes } from './routes/jobs/task-routes.ts';
import { registerExportRoutes } from './routes/jobs/export-routes.ts';
import { registerExportRemoteRoutes } from './routes/jobs/export-remote-routes.ts';
import { registerGeometryRoutes } from './routes/geometry/geometry-routes.ts';
import { registerDataValueImportRoutes } from './routes/data-values/data-value-import-routes.ts';
import { registerDataValueExportRoutes } from './routes/data-values/data-value-export-routes.ts';
import { registerDataValueSingleRoutes } from './routes/data-values/data-value-single-routes.ts';
import { registerCompleteRegistrationRoutes } from './routes/data-values/complete-registration-routes.ts';
import { registerTrackerRoutes } from './routes/tracker/tracker-routes.ts';
import { registerDedupeRoutes } from './routes/dedupe/dedupe-routes.ts';
import { registerWizardRoutes } from './routes/wizard/wizard-routes.ts';
import { registerLegacyTrackerRoutes } from './routes/tracker/legacy-tracker-routes.ts';
import { registerAppRoutes } from './routes/apps/app-routes.ts';
import { registerAuditRoutes } from './routes/audit/audit-routes.ts';
import { registerFileResourceRoutes } from './routes/file-resources/file-resource-routes.ts';
import { registerSyncRoutes } from './routes/sync/sync-routes.ts';

export interface BuildAppOptions {
  logger?: boolean;
  /** Serve HTTPS with this PEM key and certificate (FERRY_TLS_KEY, FERRY_TLS_CERT; docs/sync.md). */
  https?: { key: Buffer; cert: Buffer };
}

/** Builds the HTTP app over a Ferry context. It never listens: `server.ts` does, tests inject. */
export async function buildApp(
  context: FerryContext,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const timeouts: HttpTimeouts = { ...HTTP_TIMEOUTS, ...context.config.httpTimeouts };
  const app = Fastify({
    logger: options.logger ?? false,
    // Bodies Fastify parses (JSON of routes that are not uploads) are held in memory: a small cap.
    // Imports stream their bodies to disk under `maxUploadBytes` instead (raw-body-plugin.ts).
    bodyLimit: HTTP_LIMITS.maxJsonBodyBytes,
    // Slow clients (HTTP_TIMEOUTS has the reasons): headers within 20 s, the whole request within
    // 10 minutes, and a body at least 1 KiB/s (registerSlowBodyGuard). Node checks the first two
    // only every `connectionsCheckingInterval` (30 s by default, so slow headers lived 56 s):
    // check a few times per header timeout instead.
    requestTimeout: timeouts.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs || Infinity),
      connectionsCheckingInterval: Math.min(Math.max(timeouts.headersTimeoutMs / 4, 100), 2000),
    },
    connectionTimeout: 0,
    keepAliveTimeout: 10_000,
    // Parameters are parsed by Ferry (DHIS2's repeated `filter=`): keep repeats as arrays.
    routerOptions: { ignoreTrailingSlash: true },
    genReqId: () => randomUUID(),
    // DHIS2's versioned paths (`/api/41/dataValueSets`) as `/api/...`, before routing and before
    // any hook: authentication, public routes and audit see the one unversioned path.
    rewriteUrl: (request) => stripApiVersion(request.url ?? '/'),
    // The routes see the same request and reply either way; only the server differs.
    ...((options.https ? { https: options.https } : {}) as object),
  });
  app.server.headersTimeout = Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs || Infinity);
  // First, so that even a request refused by authentication cannot trickle its body.
  registerSlowBodyGuard(app, timeouts);
  // Before authentication: a NUL in a parameter is bad input whoever sends it.
  registerNulGuard(app);
  registerSecurityHeaders(app);
  // Before authentication: a CORS preflight carries no credentials.
  registerCors(app, context.config.corsAllowlist ?? []);

  app.setErrorHandler((error, request, reply) => {
    if (isFerryError(error)) {
      return reply.status(error.status).send(
        webMessage(error.status, 'ERROR', error.message, {
          errorCode: error.code,
          response: error.details,
        }),
      );
    }
    const fastifyError = error as { statusCode?: number; code?: string; message?: string };
    if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      // Ferry's code for it, naming the route's own limit (sign-in, settings and JSON differ).
      const limit = request.routeOptions.bodyLimit ?? HTTP_LIMITS.maxJsonBodyBytes;
      return reply
        .status(413)
        .send(webMessage(413, 'ERROR', new FerryError('F1002', [limit]).message, { errorCode: 'F1002' }));
    }
    if (fastifyError.statusCode && fastifyError.statusCode < 500) {
      return reply.status(fastifyError.statusCode).send(
        webMessage(fastifyError.statusCode, 'ERROR', fastifyError.message, {
          errorCode: fastifyError.code,
        }),
      );
    }
    request.log.error(error);
    return reply.status(500).send(
      webMessage(500, 'ERROR', `Internal error; see the server log (reference ${request.id})`, {
        errorCode: 'F1500',
      }),
    );
  });
  // Depth, NUL and prototype keys checked on every JSON body before any route sees it.
  registerJsonBodyParser(app);
  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .send(webMessage(404, 'ERROR', `No such resource: \`${request.url}\``, { errorCode: 'F1201' }));
  });

  // Authentication first: its hook must cover every route registered after it.
  await registerAuth(app, context);
  // The audit log's hooks, next to authentication so they cover every route too.
  await registerAuditRoutes(app, context);
  await registerAuthRoutes(app, context);
  await registerMeRoutes(app, context);
  await registerMetadataReadRoutes(app, context);
  await registerMetadataRoutes(app, context);
  await registerSystemRoutes(app, context);
  await registerSchemaRoutes(app, context);
  await registerJobRoutes(app, context);
  await registerTaskRoutes(app, context);
  await registerExportRoutes(app, context);
  await registerExportRemoteRoutes(app, context);
  await registerDataValueImportRoutes(app, context);
  await registerDataValueExportRoutes(app, context);
  await registerDataValueSingleRoutes(app, context);
  await registerFileResourceRoutes(app, context);
  await registerCompleteRegistrationRoutes(app, context);
  await registerGeometryRoutes(app, context);
  await registerTrackerRoutes(app, context);
  await registerDedupeRoutes(app, context);
  await registerWizardRoutes(app, context);
  await registerSyncRoutes(app, context);
  await registerLegacyTrackerRoutes(app, context);
  await registerAppRoutes(app, context);
  await registerWebRoutes(app);
  return app;
}
