import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import type {
  AuditAuthKind,
  AuditEntry,
  AuditOutcome,
  AuditType,
} from '../../../services/audit/audit-types.ts';
import { formatOf, redactOptions, summaryCounts } from '../../../services/audit/audit-redaction.ts';
import { parseAuthorizationHeader } from '../../../domain/access/authorization-header.ts';
import { SESSION_COOKIE } from '../../auth-plugin.ts';

/** Details a route learns while it works (the spooled upload's size and SHA-256, ...). */
export interface AuditNote {
  fileName?: string | null;
  fileSize?: number;
  fileSha256?: string;
  format?: string | null;
  /** What a streamed reply held (an export's values), known only once it has been sent. */
  counts?: Record<string, number>;
}

const notes = new WeakMap<FastifyRequest, AuditNote>();
const errors = new WeakMap<FastifyRequest, unknown>();
const replies = new WeakMap<FastifyRequest, ReplyFacts>();

interface ReplyFacts {
  counts: Record<string, number> | null;
  status?: string;
  jobId?: string;
}

/** Adds details to the audit record of `request` (written when the response has been sent). */
export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  notes.set(request, { ...notes.get(request), ...note });
}

/** The JSON replies worth reading for counts (import summaries, job replies) stay well under this. */
const MAX_SUMMARY_CHARS = 4 * 1024 * 1024;
const MAX_USERNAME_CHARS = 100;

const IMPORT_ROUTE =
  /^\/api\/(?:dataValueSets|dataValues|metadata|tracker|organisationUnits\/geometry)(?:[./]|$)/;
const EXPORT_GET_ROUTE =
  /^\/api\/(?:dataValueSets(?:\.[\w.]+)?|(?:[^/]+\/:uid\/)?metadata(?:\.[\w.]+)?|organisationUnits\.geojson|dataSets\/:uid\/form\.pdf|exports\/:id\/file)$/;
const EXPORT_POST_ROUTE = /^\/api\/exports(?:\/:id\/regenerate)?$/;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The audit log's HTTP side: after every response, one record for each import, export, sign-in,
 * sign-out, denial (401/403), other change and internal error (500). Routes add what only they
 * know through `noteAudit`; import summaries and job replies are read for counts and job ids on
 * the way out. Every 500 also goes to stderr with its reference, whether or not FERRY_LOG is set.
 * Registered on the root instance right after authentication, so it covers every route.
 */
export function registerAuditHooks(app: FastifyInstance, context: FerryContext): void {
  app.addHook('onError', async (request, _reply, error) => {
    errors.set(request, error);
  });

  app.addHook('onSend', async (request, reply, payload) => {
    if (typeof payload !== 'string' || payload.length > MAX_SUMMARY_CHARS) return payload;
    // Only import summaries and job or export-card replies are read: a metadata export's JSON
    // body is data, not a summary, and is never parsed here.
    const type = classify(request, reply.statusCode);
    if (type !== 'IMPORT' && !(type === 'EXPORT' && request.method === 'POST')) return payload;
    if (!String(reply.getHeader('content-type') ?? '').includes('json')) return payload;
    try {
      const body = JSON.parse(payload) as Record<string, unknown>;
      const { counts, status } = summaryCounts(body);
      const response = (body.response ?? {}) as { responseType?: unknown; id?: unknown };
      let jobId: string | undefined;
      if (response.responseType === 'JobConfiguration' && typeof response.id === 'string')
        jobId = response.id;
      // A new export card is its job; a deduplicated one (200) belongs to an earlier request.
      else if (
        type === 'EXPORT' &&
        request.method === 'POST' &&
        reply.statusCode === 201 &&
        typeof body.id === 'string'
      )
        jobId = body.id;
      replies.set(request, { counts, status, jobId });
    } catch {
      // Not JSON after all: nothing to read.
    }
    return payload;
  });

  app.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    if (status >= 500) {
      context.audit.logInternalError(request.id, `${request.method} ${pathOf(request)}`, errors.get(request));
    }
    const type = classify(request, status);
    if (!type) return;
    await context.audit.record(await entryFor(context, request, reply, type));
  });
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?', 1)[0].slice(0, 500);
}

function classify(request: FastifyRequest, status: number): AuditType | null {
  const path = pathOf(request);
  if (path !== '/api' && !path.startsWith('/api/')) return status >= 500 ? 'ERROR' : null;
  const route = request.routeOptions.url ?? '';
  const method = request.method;
  if (route === '/api/auth/login') return 'LOGIN';
  if (route === '/api/auth/logout') return 'LOGOUT';
  if (status === 401 && credentialsPresented(request)) return 'LOGIN';
  if (status === 401 || status === 403) return 'DENIAL';
  if ((method === 'POST' || method === 'PUT') && IMPORT_ROUTE.test(route)) return 'IMPORT';
  if (
    READ_METHODS.has(method)
      ? EXPORT_GET_ROUTE.test(route)
      : method === 'POST' && EXPORT_POST_ROUTE.test(route)
  )
    return 'EXPORT';
  if (status >= 500) return 'ERROR';
  if (!READ_METHODS.has(method) && route !== '') return 'ADMIN';
  return null;
}

function credentialsPresented(request: FastifyRequest): boolean {
  return (
    request.headers.authorization !== undefined ||
    request.headers.cookie?.includes(`${SESSION_COOKIE}=`) === true
  );
}

function outcomeOf(
  status: number,
  summaryStatus: string | undefined,
  jobId: string | undefined,
): AuditOutcome {
  if (status >= 500) return 'ERROR';
  if (status === 401 || status === 403 || status === 429) return 'DENIED';
  if (status >= 400 || summaryStatus === 'ERROR') return 'FAILURE';
  return jobId ? 'ACCEPTED' : 'SUCCESS';
}

/** Who: the signed-in principal, or the name a refused sign-in gave (never its password). */
function actorOf(request: FastifyRequest): {
  username: string | null;
  userUid: string | null;
  authKind: AuditAuthKind | null;
} {
  if (request.principal) {
    return {
      username: request.principal.username,
      userUid: request.principal.uid,
      authKind: request.authMethod,
    };
  }
  const credentials = parseAuthorizationHeader(request.headers.authorization);
  if (credentials?.scheme === 'basic') {
    return { username: credentials.username.slice(0, MAX_USERNAME_CHARS), userUid: null, authKind: 'basic' };
  }
  if (credentials?.scheme === 'apiToken') return { username: null, userUid: null, authKind: 'apiToken' };
  const body = request.body as { username?: unknown } | null | undefined;
  if (request.routeOptions.url === '/api/auth/login' && body && typeof body.username === 'string') {
    return { username: body.username.slice(0, MAX_USERNAME_CHARS), userUid: null, authKind: 'session' };
  }
  if (request.headers.cookie?.includes(`${SESSION_COOKIE}=`))
    return { username: null, userUid: null, authKind: 'session' };
  return { username: null, userUid: null, authKind: null };
}

async function entryFor(
  context: FerryContext,
  request: FastifyRequest,
  reply: FastifyReply,
  type: AuditType,
): Promise<AuditEntry> {
  const status = reply.statusCode;
  const note = notes.get(request) ?? {};
  const facts = replies.get(request);
  const query = request.query as Record<string, unknown> | undefined;
  const body = request.body as Record<string, unknown> | undefined;
  // An export queued by POST /api/exports says what it exports in its body.
  const bodyOptions =
    type === 'EXPORT' && body && typeof body === 'object' && !isStream(body) ? redactOptions(body) : null;
  const options = redactOptions({ ...(query ?? {}), ...(bodyOptions ?? {}) });
  let file: Pick<AuditEntry, 'fileName' | 'fileSize' | 'fileSha256' | 'format'> = {
    fileName: note.fileName ?? null,
    fileSize: note.fileSize ?? null,
    fileSha256: note.fileSha256 ?? null,
    format: note.format ?? null,
  };
  if (facts?.jobId && type === 'IMPORT') {
    // The upload is in the file store with its size and SHA-256 (computed as it was stored).
    const details = await context.jobs.details(null, facts.jobId).catch(() => undefined);
    const input = details?.inputFile;
    if (input) {
      file = {
        fileName: input.name ?? null,
        fileSize: input.size,
        fileSha256: input.sha256,
        format: formatOf(input.contentType, input.name),
      };
    }
  }
  if (type === 'IMPORT') file.format ??= formatOf(request.headers['content-type'], file.fileName);
  if (type === 'EXPORT') file.format ??= exportFormat(request, reply);
  const error = errors.get(request);
  return {
    type,
    outcome: outcomeOf(status, facts?.status, facts?.jobId),
    ...actorOf(request),
    clientIp: request.ip,
    requestId: request.id,
    jobId: facts?.jobId ?? null,
    method: request.method,
    path: pathOf(request),
    status,
    ...file,
    options,
    counts: facts?.counts ?? note.counts ?? null,
    message:
      status >= 500 ? `Internal error (reference ${request.id})` : status >= 400 ? errorCodeOf(error) : null,
  };
}

function isStream(value: object): boolean {
  return typeof (value as { pipe?: unknown }).pipe === 'function';
}

/** The error code a refusal carried (F1102, E7610, ...): the code, never its message. */
function errorCodeOf(error: unknown): string | null {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : null;
}

function exportFormat(request: FastifyRequest, reply: FastifyReply): string | null {
  const path = pathOf(request).toLowerCase();
  const extension = /\.(adx\.xml|json|csv|xml|pdf|geojson|gml)(?:\.(?:zip|gz))?$/.exec(path)?.[1];
  if (extension) return extension === 'adx.xml' ? 'adx' : extension;
  const format = (request.query as Record<string, unknown> | undefined)?.format;
  if (typeof format === 'string' && /^[\w.+-]{1,20}$/.test(format)) return format.toLowerCase();
  const contentType = reply.getHeader('content-type');
  return formatOf(typeof contentType === 'string' ? contentType : null);
}
