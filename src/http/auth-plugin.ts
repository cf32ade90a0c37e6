import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import type { FerryContext } from '../services/ferry-context.ts';
import type { Principal } from '../domain/access/principal.ts';
import { principalHasAuthority } from '../domain/access/principal.ts';
import type { Authority } from '../domain/access/authorities.ts';
import { parseAuthorizationHeader } from '../domain/access/authorization-header.ts';
import { FerryError } from '../errors.ts';

/** How the request proved who it is. */
export type AuthMethod = 'basic' | 'apiToken' | 'session';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth hook on every `/api/*` request that is not public. */
    principal: Principal | null;
    authMethod: AuthMethod | null;
  }
  interface FastifyContextConfig {
    /** The authority a route needs; checked right after authentication (403 F1102 when missing). */
    authority?: Authority;
    /** Reachable without signing in. */
    public?: boolean;
  }
}

/** The web app's session cookie. */
export const SESSION_COOKIE = 'ferry_session';

/** Routes open without authentication (besides any with `config: { public: true }`). */
const PUBLIC_ROUTES = new Set(['GET /api/system/ping', 'HEAD /api/system/ping', 'POST /api/auth/login']);

/**
 * Authentication for every `/api/*` route: `Authorization: Basic`, `Authorization: ApiToken`, or
 * the session cookie, in that order. Registered on the root instance (not encapsulated), before
 * any route, so it covers routes added later by other modules too.
 */
export async function registerAuth(app: FastifyInstance, context: FerryContext): Promise<void> {
  if (!app.hasDecorator('parseCookie')) await app.register(fastifyCookie);
  app.decorateRequest('principal', null);
  app.decorateRequest('authMethod', null);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?', 1)[0];
    if (path !== '/api' && !path.startsWith('/api/')) return;
    const config = request.routeOptions.config;
    if (config?.public || PUBLIC_ROUTES.has(`${request.method} ${request.routeOptions.url}`)) return;
    await authenticate(request, reply, context);
    if (config?.authority) requireAuthority(request, config.authority);
  });
}

async function authenticate(
  request: FastifyRequest,
  reply: FastifyReply,
  context: FerryContext,
): Promise<void> {
  const header = request.headers.authorization;
  // An empty header is no credentials, as in DHIS2: @dhis2/app-runtime sends `Authorization: ''`
  // on every request of a signed-in app that has no API token, relying on the session cookie.
  if (header !== undefined && header !== '') {
    const credentials = parseAuthorizationHeader(header);
    if (!credentials) throw challenge(reply, request, new FerryError('F1101'));
    try {
      if (credentials.scheme === 'basic') {
        request.principal = await context.auth.authenticateBasic(
          credentials.username,
          credentials.password,
          request.ip,
        );
        request.authMethod = 'basic';
      } else {
        // The token's limits are checked against this request: its address, method and referrer.
        request.principal = await context.auth.authenticateApiToken(credentials.token, {
          address: request.ip,
          method: request.method,
          referrer: typeof request.headers.referer === 'string' ? request.headers.referer : undefined,
        });
        request.authMethod = 'apiToken';
      }
    } catch (error) {
      throw challenge(reply, request, error);
    }
    return;
  }
  const sessionToken = request.cookies[SESSION_COOKIE];
  if (sessionToken) {
    const principal = await context.auth.authenticateSession(sessionToken).catch((error: unknown) => {
      // A disabled user's session ends like an expired one.
      if (error instanceof FerryError && error.status === 401) return undefined;
      throw error;
    });
    if (principal) {
      request.principal = principal;
      request.authMethod = 'session';
      return;
    }
    clearSessionCookie(reply);
  }
  throw challenge(reply, request, new FerryError('F1100'));
}

/**
 * Adds `WWW-Authenticate: Basic` to a 401 so that curl and DHIS2 clients know what to send, except
 * for the web app's own calls (`X-Requested-With`), where it would pop up the browser's dialog.
 */
function challenge(reply: FastifyReply, request: FastifyRequest, error: unknown): unknown {
  if (error instanceof FerryError && error.status === 401 && !request.headers['x-requested-with']) {
    void reply.header('WWW-Authenticate', 'Basic realm="Ferry", charset="UTF-8"');
  }
  return error;
}

export function setSessionCookie(
  reply: FastifyReply,
  request: FastifyRequest,
  token: string,
  expires: Date,
): void {
  // A token never yields a session (CVE-2023-31139): the cookie would escape the token's limits.
  if (request.authMethod === 'apiToken') throw new FerryError('F1110');
  void reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'lax',
    secure: request.protocol === 'https',
    expires,
  });
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax' });
}

/** The signed-in principal; 401 when the route was public and nobody signed in. */
export function requirePrincipal(request: FastifyRequest): Principal {
  if (!request.principal) throw new FerryError('F1100');
  return request.principal;
}

/** The principal, when it holds `authority` (or ALL); 403 F1102 otherwise. */
export function requireAuthority(request: FastifyRequest, authority: Authority): Principal {
  const principal = requirePrincipal(request);
  if (!principalHasAuthority(principal, authority)) throw new FerryError('F1102', [authority]);
  return principal;
}
