import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requireAuthority, requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { HTTP_LIMITS } from '../../../codecs/input/input-limits.ts';
import { FerryError } from '../../../errors.ts';
import type { ImportSummary } from '../../../domain/data-values/import-summary.ts';
import {
  deleteSingleDataValue,
  parseDataValueCell,
  readSingleDataValue,
  saveSingleDataValue,
  type DataValueCell,
  type DataValueChange,
} from '../../../services/data-values/data-value-single-service.ts';

type Query = Record<string, unknown>;

const SMALL_BODY = { bodyLimit: HTTP_LIMITS.maxSmallBodyBytes };

/** The cell as a 404 names it: `de/pe/ou[/co][/cc:cp]`. */
function describeCell(cell: DataValueCell): string {
  const parts = [cell.dataElement, cell.period, cell.orgUnit];
  if (cell.categoryOptionCombo) parts.push(cell.categoryOptionCombo);
  if (cell.attributeCombo) parts.push(`${cell.attributeCombo}:${(cell.attributeOptions ?? []).join(';')}`);
  return parts.join('/');
}

const last = (raw: unknown): unknown => (Array.isArray(raw) ? raw.at(-1) : raw);

/**
 * The cell and change of a `POST /api/dataValues`: DHIS2's query parameters, or its JSON payload
 * (`dataElement`, `period`, `orgUnit`, `categoryOptionCombo`, `value`, `comment`, `followUp`).
 */
function requestOf(request: FastifyRequest<{ Querystring: Query }>): {
  query: Query;
  change: DataValueChange;
} {
  const body = request.body;
  const fromBody = body !== null && typeof body === 'object' && !Array.isArray(body);
  const query: Query = fromBody ? { ...(body as Query), ...request.query } : request.query;
  const change: DataValueChange = {};
  const value = last(query.value);
  if (value !== undefined) change.value = value === null ? null : String(value);
  const comment = last(query.comment);
  if (comment !== undefined && comment !== null) change.comment = String(comment);
  const followUp = last(query.followUp ?? query.followup);
  if (followUp !== undefined && followUp !== null) {
    if (!['true', 'false', true, false].includes(followUp as string | boolean))
      throw new FerryError('F1000', ['followUp', String(followUp), 'true, false']);
    change.followUp = followUp as string | boolean;
  }
  return { query, change };
}

/**
 * DHIS2's answer to a single-value write: 201 (POST) or 204 (DELETE) with no body when the import
 * went through, else 409 with the import summary and its conflicts. A DELETE of nothing is 404.
 */
function reply(
  replyTo: FastifyReply,
  summary: ImportSummary,
  cell: DataValueCell,
  success: 201 | 204,
): FastifyReply {
  const counts = summary.importCount;
  if (summary.status === 'ERROR' || summary.conflicts.length > 0) {
    return replyTo
      .status(409)
      .send(
        webMessage(409, 'ERROR', summary.conflicts[0]?.value ?? summary.description, { response: summary }),
      );
  }
  if (success === 204 && counts.deleted === 0) {
    throw new FerryError('F1200', ['Data value', describeCell(cell)]);
  }
  return replyTo.status(success).send();
}

/** DHIS2's `/api/dataValues`: one value read, written or deleted through the data value import. */
export async function registerDataValueSingleRoutes(
  app: FastifyInstance,
  context: FerryContext,
): Promise<void> {
  app.get<{ Querystring: Query }>('/api/dataValues', async (request) => {
    const principal = requirePrincipal(request);
    const cell = parseDataValueCell(request.query);
    const stored = await readSingleDataValue(context, cell, principal);
    if (stored?.value === undefined) throw new FerryError('F1200', ['Data value', describeCell(cell)]);
    // DHIS2 answers a list holding the value.
    return [stored.value];
  });

  // A value, a comment and identifiers: sign-in's small body limit, not the JSON APIs'.
  app.post<{ Querystring: Query }>('/api/dataValues', SMALL_BODY, async (request, replyTo) => {
    const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
    const { query, change } = requestOf(request);
    const cell = parseDataValueCell(query);
    return reply(replyTo, await saveSingleDataValue(context, cell, change, principal), cell, 201);
  });

  app.delete<{ Querystring: Query }>('/api/dataValues', async (request, replyTo) => {
    const principal = requireAuthority(request, 'F_DATAVALUE_ADD');
    const cell = parseDataValueCell(request.query);
    return reply(replyTo, await deleteSingleDataValue(context, cell, principal), cell, 204);
  });
}
