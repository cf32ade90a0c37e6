import type { FastifyInstance } from 'fastify';
import { INPUT_LIMITS } from '../codecs/input/input-limits.ts';
import { FerryError } from '../errors.ts';

/** Keys refused in request bodies: an object holding them could pollute a prototype when merged. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Parses the JSON body of a route that is not an upload (imports stream their bodies through
 * their own readers). Before `JSON.parse`, the nesting depth is counted in one pass over the text:
 * deeper than `INPUT_LIMITS.maxNestingDepth` is refused, so no later recursive walk (hashing,
 * cloning, serialising) can overflow the stack. Afterwards NUL characters, which PostgreSQL cannot
 * store, and the keys `__proto__`, `constructor` and `prototype` are refused. Every refusal is
 * 400 F1001 naming the rule.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new FerryError('F1001', ['the JSON body is empty']);
  checkNesting(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FerryError('F1001', [`not valid JSON: ${(error as Error).message}`]);
  }
  checkValue(value, '$');
  return value;
}

function checkNesting(text: string): void {
  const limit = INPUT_LIMITS.maxNestingDepth;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) {
        throw new FerryError('F1001', [
          `JSON nested deeper than ${limit} levels (the limit) at character ${i + 1}`,
        ]);
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
}

function checkValue(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new FerryError('F1001', [`NUL character (\\u0000) in ${path}`]);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => checkValue(item, `${path}[${index}]`));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new FerryError('F1001', [`the key \`${key}\` at ${path}`]);
      if (key.includes('\0')) throw new FerryError('F1001', [`NUL character (\\u0000) in a key at ${path}`]);
      checkValue(item, `${path}.${key}`);
    }
  }
}

/**
 * Replaces Fastify's JSON parser for every route registered after it (upload routes remove it
 * again in their own scope, raw-body-plugin.ts). Bodies are limited by the app's `bodyLimit`.
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
