import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { DHIS2_VERSION } from '../../../domain/system/dhis2-version.ts';
import { registerSettingsRoutes } from './settings-routes.ts';
import { registerAppMenuRoutes } from './app-menu-routes.ts';
import { SettingsService } from '../../../services/settings/settings-service.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from '../../../domain/access/password-policy.ts';

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
  await registerAppMenuRoutes(app);

  // Public: monitoring and install checks ask it before anyone has an account.
  app.get('/api/system/ping', async () => 'pong');

  // DHIS2's shape, with the fields DHIS2's apps read: `version` is the DHIS2 release Ferry follows
  // (apps take the API version `/api/<minor>/` from it), Ferry's own is `ferryVersion`. Signed in
  // only, as in DHIS2: DHIS2's apps take its 401 as "show the sign-in dialog".
  app.get('/api/system/info', async (request) => {
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

  // Public: what DHIS2's sign-in page (and an app platform app's own sign-in dialog) shows before
  // anyone is signed in, in DHIS2's shape, from the system settings. Nothing here is secret.
  app.get('/api/loginConfig', { config: { public: true } }, async () => {
    const settings = await new SettingsService(context.storage).systemSettings();
    const text = (key: string): string => String(settings[key] ?? '');
    return {
      applicationTitle: text('applicationTitle'),
      applicationDescription: text('keyApplicationIntro'),
      applicationNotification: text('keyApplicationNotification'),
      applicationLeftSideFooter: text('keyApplicationFooter'),
      applicationRightSideFooter: text('keyApplicationRightFooter'),
      countryFlag: '',
      uiLocale: text('keyUiLocale'),
      loginPageLogo: '',
      loginPopup: '',
      selfRegistrationEnabled: false,
      selfRegistrationNoRecaptcha: false,
      emailConfigured: false,
      allowAccountRecovery: false,
      useCustomLogoFront: false,
      minPasswordLength: String(MIN_PASSWORD_LENGTH),
      maxPasswordLength: String(MAX_PASSWORD_LENGTH),
      oidcProviders: [],
      loginPageLayout: 'DEFAULT',
      apiVersion: DHIS2_VERSION,
    };
  });
}
