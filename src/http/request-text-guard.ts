import type { FastifyInstance } from 'fastify';
import { FerryError } from '../errors.ts';

/**
 * Refuses a NUL character anywhere in a request's path parameters or query string (`%00`) with
 * 400 F1000 naming the parameter. PostgreSQL cannot store or compare NUL in text and fails the
 * query (a 500, or a 200 cut off mid-body when the query ran after the reply had begun), while
 * SQLite would quietly answer: refusing it up front makes both databases give the same answer.
 */
export function registerNulGuard(app: FastifyInstance): void {
  app.addHook('onRequest', async (request) => {
    if (!request.url.includes('%00') && !request.url.includes('\0')) return;
    const groups = [request.params, request.query] as unknown[];
    for (const group of groups) {
      if (!group || typeof group !== 'object') continue;
      for (const [name, value] of Object.entries(group)) {
        for (const text of Array.isArray(value) ? value : [value]) {
          if (typeof text === 'string' && text.includes('\0')) throw refusal(name, text);
        }
        if (name.includes('\0')) throw refusal(name, name);
      }
    }
    // In the path of a route that takes no parameter, or split across a name: still bad input.
    throw refusal('url', request.url);
  });
}

function refusal(name: string, value: string): FerryError {
  const shown = value.replaceAll('\0', '\\0').replaceAll('%00', '\\0').slice(0, 100);
  return new FerryError('F1000', [name.replaceAll('\0', '\\0'), shown, 'text without NUL characters']);
}
