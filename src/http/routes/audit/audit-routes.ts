import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { AUDIT_OUTCOMES, AUDIT_TYPES, type AuditFilter } from '../../../services/audit/audit-types.ts';
import { FerryError, parseEnumParameter } from '../../../errors.ts';
import { registerAuditHooks } from './audit-hooks.ts';

const MAX_PAGE_SIZE = 1000;

function positiveInt(name: string, value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new FerryError('F1000', [name, String(value), 'a positive integer']);
  return n;
}

/** An ISO-8601 date or date-time, normalised to the stored form (UTC, milliseconds). */
function instant(name: string, value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  const text = String(value);
  const time = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(text)
    ? Date.parse(text)
    : NaN;
  if (Number.isNaN(time)) throw new FerryError('F1000', [name, text, 'an ISO-8601 date or date-time']);
  return new Date(time).toISOString();
}

function single(value: unknown): unknown {
  return Array.isArray(value) ? value[value.length - 1] : value;
}

/**
 * The audit log (docs/api.md, "Audit log"): `GET /api/audits`, newest first, with DHIS2's pager,
 * for holders of F_AUDIT_VIEW (or ALL). Filters: user, type, outcome, since, until, job, request.
 * Also registers the hooks that write the log, so the log and its reader come together.
 */
export async function registerAuditRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  registerAuditHooks(app, context);

  app.get('/api/audits', { config: { authority: 'F_AUDIT_VIEW' } }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const page = positiveInt('page', single(query.page), 1);
    const pageSize = Math.min(positiveInt('pageSize', single(query.pageSize), 50), MAX_PAGE_SIZE);
    const text = (name: string) => {
      const value = single(query[name]);
      return value === undefined || value === '' ? undefined : String(value);
    };
    const filter: AuditFilter = {
      user: text('user'),
      type: text('type') ? parseEnumParameter('type', text('type'), AUDIT_TYPES, 'IMPORT') : undefined,
      outcome: text('outcome')
        ? parseEnumParameter('outcome', text('outcome'), AUDIT_OUTCOMES, 'SUCCESS')
        : undefined,
      since: instant('since', single(query.since)),
      until: instant('until', single(query.until)),
      jobId: text('job'),
      requestId: text('request'),
    };
    const result = await context.audit.list(filter, page, pageSize);
    const link = (target: number) => {
      const params = new URLSearchParams();
      for (const [name, value] of Object.entries(query)) {
        if (name !== 'page' && value !== undefined) params.set(name, String(single(value)));
      }
      params.set('page', String(target));
      return `/api/audits?${params.toString()}`;
    };
    const { pager } = result;
    return {
      pager: {
        ...pager,
        ...(pager.page < pager.pageCount ? { nextPage: link(pager.page + 1) } : {}),
        ...(pager.page > 1 ? { prevPage: link(pager.page - 1) } : {}),
      },
      audits: result.audits,
    };
  });
}
