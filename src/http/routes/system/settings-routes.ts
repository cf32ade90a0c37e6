import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { SettingsService, type Settings } from '../../../services/settings/settings-service.ts';
import type { SettingValue } from '../../../domain/settings/setting-catalog.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError } from '../../../errors.ts';
import { HTTP_LIMITS } from '../../../codecs/input/input-limits.ts';

/** Settings are short values: sign-in's small body limit, not the JSON APIs' (HTTP_LIMITS). */
const SMALL_BODY = { bodyLimit: HTTP_LIMITS.maxSmallBodyBytes };

type KeyRequest = FastifyRequest<{ Params: { key: string }; Querystring: Record<string, unknown> }>;

/** `?key=a&key=b` (DHIS2's filter on the settings lists), or undefined for all. */
function requestedKeys(query: Record<string, unknown>): string[] | undefined {
  const key = query.key;
  if (key === undefined) return undefined;
  return (Array.isArray(key) ? key : [key]).map(String);
}

/**
 * The value to set, as DHIS2 takes it: `?value=`, else the body (a text/plain body, or a JSON
 * scalar). DHIS2's clients use both.
 */
function valueOf(request: KeyRequest): unknown {
  const fromQuery = request.query.value;
  if (fromQuery !== undefined) return Array.isArray(fromQuery) ? fromQuery.at(-1) : fromQuery;
  const body = request.body;
  if (body === undefined || (typeof body === 'string' && body === ''))
    throw new FerryError('F1004', ['value']);
  if (body !== null && typeof body === 'object')
    throw new FerryError('F1001', ['the value must be a text or a JSON scalar']);
  return body;
}

/** DHIS2 answers a single setting as text unless JSON is asked for explicitly. */
function wantsText(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return /\btext\/plain\b/.test(accept) && !/\bapplication\/json\b/.test(accept);
}

function sendText(reply: FastifyReply, value: SettingValue): FastifyReply {
  return reply.type('text/plain; charset=utf-8').send(value === null ? '' : String(value));
}

/** A JSON object body of several settings (`POST /api/userSettings`), applied one key at a time. */
function settingsBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new FerryError('F1001', ['expected a JSON object of settings, such as {"keyUiLocale":"fr"}']);
  return body as Record<string, unknown>;
}

/**
 * DHIS2's `/api/userSettings` (the signed-in user's own) and `/api/systemSettings` (anyone signed in
 * reads; only a superuser, `ALL`, writes: DHIS2's F_SYSTEM_SETTING has no Ferry counterpart yet).
 */
export async function registerSettingsRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  const settings = new SettingsService(context.storage);

  app.get<{ Querystring: Record<string, unknown> }>('/api/userSettings', async (request) =>
    settings.userSettings(requirePrincipal(request).uid, requestedKeys(request.query)),
  );
  app.get('/api/userSettings/:key', async (request: KeyRequest, reply) =>
    sendText(reply, await settings.userSetting(requirePrincipal(request).uid, request.params.key)),
  );
  app.post('/api/userSettings/:key', SMALL_BODY, async (request: KeyRequest) => {
    const principal = requirePrincipal(request);
    await settings.setUserSetting(principal.uid, request.params.key, valueOf(request));
    return webMessage(200, 'OK', `User setting saved for key: ${request.params.key}`);
  });
  app.post('/api/userSettings', SMALL_BODY, async (request) => {
    const principal = requirePrincipal(request);
    const body = settingsBody(request);
    // Checked first, so a bad key or value leaves every setting as it was.
    await context.storage.transaction(async (tx) => {
      const inTransaction = new SettingsService(tx);
      for (const [key, value] of Object.entries(body))
        await inTransaction.setUserSetting(principal.uid, key, value);
    });
    return webMessage(200, 'OK', 'User settings saved');
  });
  app.delete('/api/userSettings/:key', async (request: KeyRequest) => {
    await settings.resetUserSetting(requirePrincipal(request).uid, request.params.key);
    return webMessage(200, 'OK', `User setting removed for key: ${request.params.key}`);
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/systemSettings', async (request) =>
    settings.systemSettings(requestedKeys(request.query)),
  );
  app.get('/api/systemSettings/:key', async (request: KeyRequest, reply) => {
    const value = await settings.systemSetting(request.params.key);
    // The header bar reads `{"applicationTitle": "..."}`: JSON unless text is asked for.
    if (wantsText(request)) return sendText(reply, value);
    const out: Settings = {};
    out[request.params.key] = value;
    return out;
  });
  app.post('/api/systemSettings/:key', SMALL_BODY, async (request: KeyRequest) => {
    const principal = requireAuthority(request, 'ALL');
    const value = await settings.setSystemSetting(request.params.key, valueOf(request), principal.username);
    return webMessage(200, 'OK', `System setting '${request.params.key}' set to value '${String(value)}'.`);
  });
  app.post('/api/systemSettings', SMALL_BODY, async (request) => {
    const principal = requireAuthority(request, 'ALL');
    const body = settingsBody(request);
    await context.storage.transaction(async (tx) => {
      const inTransaction = new SettingsService(tx);
      for (const [key, value] of Object.entries(body))
        await inTransaction.setSystemSetting(key, value, principal.username);
    });
    return webMessage(200, 'OK', 'System settings imported');
  });
  app.delete('/api/systemSettings/:key', async (request: KeyRequest) => {
    requireAuthority(request, 'ALL');
    await settings.resetSystemSetting(request.params.key);
    return webMessage(200, 'OK', `System setting removed for key: ${request.params.key}`);
  });
}
