import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { DHIS2_VERSION } from '../../../domain/system/dhis2-version.ts';
import { registerSettingsRoutes } from './settings-routes.ts';

/** When this process started: DHIS2 reports its build time; Ferry has no build, so its start. */
const STARTED = new Date();

/** DHIS2's date-times in system info: the server's local time (UTC for Ferry) without a zone. */
function dhis2DateTime(date: Date): string {
  return date.toISOString().replace(/Z$/, '');
}

/** Where the client reached this server, as DHIS2's `contextPath` (no trailing slash). */
function baseUrlOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export async function registerSystemRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  await registerSettingsRoutes(app, context);

  // Public: monitoring and install checks ask it before anyone has an account.
  app.get('/api/system/ping', async () => 'pong');

  // DHIS2's shape, with the fields DHIS2's apps read: `version` is the DHIS2 release Ferry follows
  // (apps take the API version `/api/<minor>/` from it), Ferry's own is `ferryVersion`.
  app.get('/api/system/info', { config: { public: true } }, async (request) => {
    const baseUrl = baseUrlOf(request);
    return {
      contextPath: baseUrl,
      instanceBaseUrl: baseUrl,
      userAgent: request.headers['user-agent'] ?? '',
      calendar: 'iso8601',
      dateFormat: 'yyyy-mm-dd',
      serverDate: dhis2DateTime(new Date()),
      serverTimeZoneId: 'Etc/UTC',
      serverTimeZoneDisplayName: 'Coordinated Universal Time',
      version: DHIS2_VERSION,
      revision: `ferry-${context.version}`,
      buildTime: dhis2DateTime(STARTED),
      systemName: 'Ferry',
      systemId: 'ferry',
      emailConfigured: false,
      redisEnabled: false,
      readOnlyMode: false,
      isMetadataVersionEnabled: false,
      ferryVersion: context.version,
      databaseKind: context.storage.kind,
    };
  });
}
