import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { clearSessionCookie, requirePrincipal, SESSION_COOKIE, setSessionCookie } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError } from '../../../errors.ts';
import { HTTP_LIMITS } from '../../../codecs/input/input-limits.ts';
import { parseAuthorizationHeader } from '../../../domain/access/authorization-header.ts';
import { parseApiTokenAttributes } from '../../../domain/access/api-token-limits.ts';

/** Longest API token name kept (the column is free text; the bound keeps listings readable). */
const MAX_TOKEN_NAME_LENGTH = 255;

/**
 * Sign-in for the web app (`/api/auth/login`, `/api/auth/logout`, as in DHIS2 2.41+) and personal
 * access tokens (`/api/apiToken`, DHIS2's path and reply shapes).
 */
export async function registerAuthRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  // A sign-in body is a username and a password: a small cap, so that an unauthenticated client
  // cannot make the server hold large bodies.
  app.post('/api/auth/login', { bodyLimit: HTTP_LIMITS.maxSmallBodyBytes }, async (request, reply) => {
    // CVE-2023-31139's class: a session cookie minted for a token's request would outlive the
    // token's limits (IP, method, referrer, scope, expiry, revocation). Refused before any check of
    // the password, whatever the token is worth.
    if (request.headers.authorization !== undefined) {
      if (parseAuthorizationHeader(request.headers.authorization)?.scheme === 'apiToken') {
        throw new FerryError('F1110');
      }
    }
    const body = request.body as { username?: unknown; password?: unknown } | null | undefined;
    if (!body || typeof body !== 'object')
      throw new FerryError('F1001', ['expected {"username", "password"}']);
    if (typeof body.username !== 'string' || body.username === '')
      throw new FerryError('F1004', ['username']);
    if (typeof body.password !== 'string' || body.password === '')
      throw new FerryError('F1004', ['password']);
    const session = await context.auth.createSession(body.username, body.password, request.ip);
    setSessionCookie(reply, request, session.token, session.expires);
    return { loginStatus: 'SUCCESS', redirectUrl: '/' };
  });

  app.post('/api/auth/logout', async (request, reply) => {
    requirePrincipal(request);
    const token = request.cookies[SESSION_COOKIE];
    if (token) await context.auth.endSession(token);
    clearSessionCookie(reply);
    return webMessage(200, 'OK', 'Signed out');
  });

  app.post('/api/apiToken', async (request, reply) => {
    const principal = requirePrincipal(request);
    if (request.authMethod === 'apiToken') throw new FerryError('F1108');
    const body = (request.body ?? {}) as {
      name?: unknown;
      expire?: unknown;
      expires?: unknown;
      attributes?: unknown;
    };
    if (typeof body !== 'object') throw new FerryError('F1001', ['expected a JSON object']);
    const name = body.name === undefined || body.name === null ? undefined : String(body.name);
    if (name !== undefined && name.length > MAX_TOKEN_NAME_LENGTH) {
      throw new FerryError('F1000', [
        'name',
        name.slice(0, 40) + '…',
        `at most ${MAX_TOKEN_NAME_LENGTH} characters`,
      ]);
    }
    const expires = parseExpiry(body.expire ?? body.expires);
    if (expires && expires.getTime() <= Date.now()) {
      throw new FerryError('F1000', ['expire', expires.toISOString(), 'a time in the future']);
    }
    const parsed = parseApiTokenAttributes(body.attributes);
    if ('issue' in parsed) {
      throw new FerryError('F1000', [parsed.issue.field, parsed.issue.value, parsed.issue.allowed]);
    }
    const token = await context.auth.createApiToken(principal.uid, {
      name,
      expires,
      attributes: parsed.attributes,
    });
    void reply.status(201);
    return webMessage(201, 'OK', undefined, {
      response: {
        responseType: 'ApiTokenCreationResponse',
        uid: token.id,
        key: token.token,
        name: token.name,
        created: token.created,
        expire: token.expires ? Date.parse(token.expires) : null,
        attributes: token.attributes,
      },
    });
  });

  app.get('/api/apiToken', async (request) => {
    const principal = requirePrincipal(request);
    const tokens = await context.auth.listApiTokens(principal.uid);
    return {
      apiToken: tokens.map((t) => ({
        id: t.id,
        name: t.name,
        created: t.created,
        expire: t.expires ? Date.parse(t.expires) : null,
        expired: t.expires !== null && Date.parse(t.expires) <= Date.now(),
        attributes: t.attributes,
      })),
    };
  });

  app.delete<{ Params: { id: string } }>('/api/apiToken/:id', async (request) => {
    const principal = requirePrincipal(request);
    if (request.authMethod === 'apiToken') throw new FerryError('F1108');
    if (!(await context.auth.revokeApiToken(principal.uid, request.params.id))) {
      throw new FerryError('F1200', ['API token', request.params.id]);
    }
    return webMessage(200, 'OK', `API token ${request.params.id} revoked`);
  });
}

/** DHIS2 sends `expire` as epoch milliseconds; an ISO date-time is accepted too. */
function parseExpiry(value: unknown): Date | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const time =
    typeof value === 'number'
      ? value
      : /^\d+$/.test(String(value))
        ? Number(value)
        : Date.parse(String(value));
  if (!Number.isFinite(time)) {
    throw new FerryError('F1000', ['expire', String(value), 'epoch milliseconds or an ISO-8601 date-time']);
  }
  return new Date(time);
}
