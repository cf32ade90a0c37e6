import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';

/** Keys that would reach an object's prototype chain or shadow it; refused wherever they appear. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

export interface TextPosition {
  line: number;
  column: number;
}

/**
 * Parses one complete JSON value (one item of a metadata collection, never a whole file) strictly:
 * duplicate keys and prototype keys are refused instead of last-wins, nesting is limited, and every
 * error names the line and column in the file, counted from `origin` (where the value starts).
 */
export function parseStrictJson(
  text: string,
  fileName: string,
  origin: TextPosition = { line: 1, column: 1 },
  maxDepth: number = INPUT_LIMITS.maxNestingDepth,
): unknown {
  let i = 0;
  const fail = (reason: string, at = i): never => {
    let line = origin.line;
    let column = origin.column;
    for (let k = 0; k < at && k < text.length; k++) {
      if (text.charCodeAt(k) === 10) {
        line++;
        column = 1;
      } else {
        column++;
      }
    }
    throw new InputError(fileName, reason, { line, column });
  };
  const skipWhitespace = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else return;
    }
  };
  const parseString = (): string => {
    // i is at the opening quote
    const start = ++i;
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return text.slice(start, i - 1);
      }
      if (c === 92) break;
      if (c < 32 || Number.isNaN(c))
        fail(Number.isNaN(c) ? 'unterminated string' : 'control character in string');
      i++;
    }
    let out = text.slice(start, i);
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return out;
      }
      if (Number.isNaN(c)) fail('unterminated string');
      if (c < 32) fail('control character in string');
      if (c !== 92) {
        out += text[i++];
        continue;
      }
      const e = text[i + 1];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          fail(`invalid escape \\${e ?? ''}`);
      }
      i += 2;
    }
  };
  const parseValue = (depth: number): unknown => {
    if (depth > maxDepth) fail(`nesting deeper than ${maxDepth} levels`);
    skipWhitespace();
    const c = text.charCodeAt(i);
    if (c === 123) {
      i++;
      const object: Record<string, unknown> = {};
      skipWhitespace();
      if (text.charCodeAt(i) === 125) {
        i++;
        return object;
      }
      for (;;) {
        skipWhitespace();
        if (text.charCodeAt(i) !== 34) fail('expected a property name in double quotes');
        const keyAt = i;
        const key = parseString();
        if (FORBIDDEN_KEYS.has(key)) fail(`property name \`${key}\` is not allowed`, keyAt);
        if (Object.hasOwn(object, key)) fail(`duplicate property \`${key}\``, keyAt);
        skipWhitespace();
        if (text.charCodeAt(i) !== 58) fail("expected ':' after a property name");
        i++;
        object[key] = parseValue(depth + 1);
        skipWhitespace();
        const next = text.charCodeAt(i);
        if (next === 44) {
          i++;
          continue;
        }
        if (next === 125) {
          i++;
          return object;
        }
        fail("expected ',' or '}' in an object");
      }
    }
    if (c === 91) {
      i++;
      const array: unknown[] = [];
      skipWhitespace();
      if (text.charCodeAt(i) === 93) {
        i++;
        return array;
      }
      for (;;) {
        array.push(parseValue(depth + 1));
        skipWhitespace();
        const next = text.charCodeAt(i);
        if (next === 44) {
          i++;
          continue;
        }
        if (next === 93) {
          i++;
          return array;
        }
        fail("expected ',' or ']' in an array");
      }
    }
    if (c === 34) return parseString();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const match = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!match) fail(Number.isNaN(c) ? 'unexpected end of input' : `unexpected character '${text[i]}'`);
    i += match![0].length;
    return Number(match![0]);
  };
  const value = parseValue(0);
  skipWhitespace();
  if (i < text.length) fail(`unexpected character '${text[i]}' after the value`);
  return value;
}
