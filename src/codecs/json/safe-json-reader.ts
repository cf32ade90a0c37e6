import { INPUT_LIMITS, type InputLimits } from '../input/input-limits.ts';
import { InputError } from '../input/input-error.ts';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * One piece of a top-level JSON object: an item of one of its arrays (`dataElements[5]`,
 * `dataValues[1000]`) or a property whose value is not an array (`"dataSet": "pBOMPrpg1QX"`).
 * A root that is an array yields its items with the collection `''`.
 */
export type JsonCollectionEvent =
  | { kind: 'item'; collection: string; index: number; line: number; value: JsonValue }
  | { kind: 'property'; property: string; line: number; value: JsonValue };

/**
 * How numeric literals come back:
 * - `exact` (default): as JS numbers when the number survives the conversion; a literal that a
 *   double would round or overflow (`12345678901234567890`, `1e400`) is refused with its position.
 * - `text`: as the literal's source text, a string (`"value": 12` gives `'12'`, `1e400` gives
 *   `'1e400'`). For data values, which DHIS2 keeps as text and validates per value type.
 * - `double`: as the nearest double, as `JSON.parse` and DHIS2's own Jackson reader round them
 *   (`12345678901234567890` gives `12345678901234567000`); only out-of-range literals (`1e400`) are
 *   refused. For metadata, whose numbers DHIS2 stores as Java doubles and ints.
 */
export type JsonNumberMode = 'exact' | 'text' | 'double';

export interface JsonReadOptions {
  fileName: string;
  numbers?: JsonNumberMode;
  /**
   * `object` refuses a root array (formats keyed by collection name, like DHIS2 metadata);
   * by default the root may be an object or an array.
   */
  root?: 'object' | 'objectOrArray';
  /** The line number of the text's first line, when it is embedded in a larger file (XML text). */
  firstLine?: number;
  limits?: Partial<InputLimits>;
}

/**
 * Keys that could reach an object's prototype when ordinary code copies parsed objects with
 * `Object.assign` or a naive deep merge. They are refused, not dropped or kept: no DHIS2 payload
 * uses them, and refusing keeps every parsed object a plain, usable `{}`.
 */
export const FORBIDDEN_JSON_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Thrown inside the parser when the buffered text ends mid-value and more may follow. */
const NEED_MORE = Symbol('need more input');

/**
 * Streams a JSON document whose root is an object (or array), yielding each item of each
 * top-level array and each other top-level property as soon as it is complete. Memory holds one
 * item at a time, never the document. Strict JSON: duplicate keys, prototype keys, nesting deeper
 * than the limit, over-long strings, NUL characters, lone surrogates and inexact numbers are refused
 * with the file name, line and column.
 */
export async function* readJsonCollections(
  text: AsyncIterable<string>,
  options: JsonReadOptions,
): AsyncIterable<JsonCollectionEvent> {
  for await (const batch of readJsonCollectionBatches(text, options)) {
    for (const event of batch) yield event;
  }
}

/**
 * Like `readJsonCollections`, but yields the events of each input chunk as one array: a million
 * items cost a few hundred async steps instead of a million, which is what bulk imports want.
 */
export async function* readJsonCollectionBatches(
  text: AsyncIterable<string>,
  options: JsonReadOptions,
): AsyncIterable<JsonCollectionEvent[]> {
  const parser = new JsonCollectionParser(options);
  for await (const chunk of text) {
    const events = parser.push(chunk, false);
    if (events.length > 0) yield events;
  }
  const last = parser.push('', true);
  if (last.length > 0) yield last;
}

/** Reads a whole (small) JSON document with the same rules; for request bodies like one feature. */
export async function readJsonDocument(
  text: AsyncIterable<string>,
  options: JsonReadOptions,
): Promise<JsonValue> {
  let buffered = '';
  const maxChars = options.limits?.maxJsonValueChars ?? INPUT_LIMITS.maxJsonValueChars;
  for await (const chunk of text) {
    buffered += chunk;
    if (buffered.length > maxChars) {
      throw new InputError(options.fileName, `document is longer than ${maxChars} characters; refused`);
    }
  }
  return parseJsonText(buffered, options);
}

/** Parses one complete JSON text with the reader's rules (strict, no duplicates, exact numbers). */
export function parseJsonText(text: string, options: JsonReadOptions): JsonValue {
  const parser = new JsonCollectionParser(options);
  return parser.parseWhole(text);
}

type TopState =
  | 'beforeRoot'
  | 'rootKeyOrEnd'
  | 'rootKey'
  | 'rootColon'
  | 'rootValue'
  | 'rootCommaOrEnd'
  | 'itemOrEnd'
  | 'item'
  | 'itemCommaOrEnd'
  | 'afterRoot';

const QUOTE = 34;
const BACKSLASH = 92;

class JsonCollectionParser {
  private readonly fileName: string;
  private readonly numbersAsText: boolean;
  private readonly numbersRounded: boolean;
  private readonly rootMustBeObject: boolean;
  private readonly maxDepth: number;
  private readonly maxStringChars: number;
  private readonly maxValueChars: number;

  private buffer = '';
  private pos = 0;
  private final = false;
  /** Absolute character offset of buffer[0], for columns across discarded text. */
  private bufferStart = 0;
  /** Lines are counted lazily up to `countedUpTo` (a buffer index). */
  private countedUpTo = 0;
  private line: number;
  private lineStart = 0;
  /**
   * After a NEED_MORE, wait until this many characters are pending (at least double what was
   * there) before retrying, so a huge item is re-scanned O(log n) times, not once per chunk.
   */
  private retryWhenPending = 0;

  private state: TopState = 'beforeRoot';
  private rootIsArray = false;
  private readonly rootKeys = new Set<string>();
  /** Per nesting depth, the keys of the last object read there (see parseObject). */
  private readonly keyCaches: (string | null)[][] = [];
  private currentKey = '';
  private index = 0;

  constructor(options: JsonReadOptions) {
    const limits = { ...INPUT_LIMITS, ...options.limits };
    this.fileName = options.fileName;
    this.numbersAsText = options.numbers === 'text';
    this.numbersRounded = options.numbers === 'double';
    this.rootMustBeObject = options.root === 'object';
    this.line = options.firstLine ?? 1;
    this.maxDepth = limits.maxNestingDepth;
    this.maxStringChars = limits.maxJsonStringChars;
    this.maxValueChars = limits.maxJsonValueChars;
  }

  parseWhole(text: string): JsonValue {
    this.buffer = text;
    this.final = true;
    this.pos = 0;
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos < this.buffer.length) throw this.error('unexpected text after the JSON value', this.pos);
    return value;
  }

  push(chunk: string, final: boolean): JsonCollectionEvent[] {
    this.final = final;
    if (this.pos > 0) this.discardConsumed();
    this.buffer += chunk;
    const events: JsonCollectionEvent[] = [];
    if (this.buffer.length - this.pos > this.maxValueChars + 64) {
      // Whatever is pending (one item, key or property) is already longer than any value may be.
      this.skipWhitespace();
      throw this.error(`one value is longer than ${this.maxValueChars} characters; refused`, this.pos);
    }
    if (!final && this.buffer.length - this.pos < this.retryWhenPending) return events;
    this.retryWhenPending = 0;
    for (;;) {
      const stepStart = this.pos;
      try {
        if (!this.step(events)) break;
      } catch (error) {
        if (error !== NEED_MORE) throw error;
        this.pos = stepStart;
        const pending = this.buffer.length - stepStart;
        if (pending > this.maxValueChars) {
          throw this.error(`one value is longer than ${this.maxValueChars} characters; refused`, stepStart);
        }
        this.retryWhenPending = pending + Math.max(pending, 4096);
        break;
      }
    }
    if (final && this.state !== 'afterRoot') {
      throw this.error(
        this.state === 'beforeRoot'
          ? 'is empty; expected a JSON document'
          : 'ends before the JSON document is complete',
        this.buffer.length,
      );
    }
    return events;
  }

  /** Performs one top-level step; false when the buffer is exhausted (or the document ended). */
  private step(events: JsonCollectionEvent[]): boolean {
    this.skipWhitespace();
    if (this.pos >= this.buffer.length) return false;
    const c = this.buffer.charCodeAt(this.pos);
    switch (this.state) {
      case 'beforeRoot':
        if (c === 123) {
          this.state = 'rootKeyOrEnd';
        } else if (c === 91 && !this.rootMustBeObject) {
          this.rootIsArray = true;
          this.currentKey = '';
          this.state = 'itemOrEnd';
        } else {
          throw this.error(
            this.rootMustBeObject
              ? 'the document must be a JSON object'
              : 'expected a JSON object or array at the start of the document',
            this.pos,
          );
        }
        this.pos++;
        return true;
      case 'rootKeyOrEnd':
      case 'rootKey': {
        if (c === 125 && this.state === 'rootKeyOrEnd') {
          this.pos++;
          this.state = 'afterRoot';
          return true;
        }
        if (c !== QUOTE) throw this.error('expected a property name in double quotes', this.pos);
        const at = this.pos;
        const key = this.parseString();
        this.checkKey(key, at);
        if (this.rootKeys.has(key)) throw this.error(`duplicate key "${key}"`, at);
        this.rootKeys.add(key);
        this.currentKey = key;
        this.state = 'rootColon';
        return true;
      }
      case 'rootColon':
        if (c !== 58) throw this.error(`expected ':' after "${this.currentKey}"`, this.pos);
        this.pos++;
        this.state = 'rootValue';
        return true;
      case 'rootValue': {
        if (c === 91) {
          this.pos++;
          this.index = 0;
          this.state = 'itemOrEnd';
          return true;
        }
        const at = this.pos;
        const value = this.parseValue(1);
        events.push({ kind: 'property', property: this.currentKey, line: this.lineAt(at), value });
        this.state = 'rootCommaOrEnd';
        return true;
      }
      case 'rootCommaOrEnd':
        if (c === 44) {
          this.pos++;
          this.state = 'rootKey';
        } else if (c === 125) {
          this.pos++;
          this.state = 'afterRoot';
        } else {
          throw this.error("expected ',' or '}' after a property", this.pos);
        }
        return true;
      case 'itemOrEnd':
      case 'item': {
        if (c === 93 && this.state === 'itemOrEnd') {
          this.pos++;
          this.endCollection();
          return true;
        }
        const at = this.pos;
        const value = this.parseValue(this.rootIsArray ? 1 : 2);
        events.push({
          kind: 'item',
          collection: this.currentKey,
          index: this.index++,
          line: this.lineAt(at),
          value,
        });
        this.state = 'itemCommaOrEnd';
        return true;
      }
      case 'itemCommaOrEnd':
        if (c === 44) {
          this.pos++;
          this.state = 'item';
        } else if (c === 93) {
          this.pos++;
          this.endCollection();
        } else {
          throw this.error(
            `expected ',' or ']' after item ${this.index - 1} of "${this.currentKey}"`,
            this.pos,
          );
        }
        return true;
      case 'afterRoot':
        throw this.error('unexpected text after the end of the JSON document', this.pos);
    }
  }

  private endCollection(): void {
    this.state = this.rootIsArray ? 'afterRoot' : 'rootCommaOrEnd';
  }

  private parseValue(depth: number): JsonValue {
    const buffer = this.buffer;
    if (this.pos >= buffer.length) return this.endOfInput();
    const c = buffer.charCodeAt(this.pos);
    if (c === QUOTE) return this.parseString();
    if (c === 123) return this.parseObject(depth + 1);
    if (c === 91) return this.parseArray(depth + 1);
    if (c === 45 || (c >= 48 && c <= 57)) return this.parseNumber();
    if (c === 116) return this.parseLiteral('true', true);
    if (c === 102) return this.parseLiteral('false', false);
    if (c === 110) return this.parseLiteral('null', null);
    throw this.error(`unexpected character ${describeChar(c)}; expected a JSON value`, this.pos);
  }

  private parseObject(depth: number): JsonObject {
    if (depth > this.maxDepth)
      throw this.error(`nesting is deeper than ${this.maxDepth} levels; refused`, this.pos);
    this.pos++;
    const object: JsonObject = {};
    this.skipWhitespace();
    if (this.peek() === 125) {
      this.pos++;
      return object;
    }
    // Objects at one depth usually repeat the same keys in the same order. Matching the text
    // against the previous object's keys reuses those strings (no slice, no hashing) and, while
    // every key so far matched, proves there is no duplicate without a lookup.
    let cache = this.keyCaches[depth];
    if (cache === undefined) cache = this.keyCaches[depth] = [];
    let ordinal = 0;
    let allMatched = true;
    for (;;) {
      if (this.peek() !== QUOTE) throw this.error('expected a property name in double quotes', this.pos);
      const at = this.pos;
      let key: string;
      const cached = allMatched ? cache[ordinal] : null;
      if (
        cached != null &&
        this.buffer.charCodeAt(at + 1 + cached.length) === QUOTE &&
        this.buffer.startsWith(cached, at + 1)
      ) {
        key = cached;
        this.pos = at + 2 + cached.length;
      } else {
        key = this.parseString();
        this.checkKey(key, at);
        if (Object.hasOwn(object, key)) throw this.error(`duplicate key "${key}"`, at);
        if (allMatched) {
          allMatched = false;
          cache.length = ordinal;
        }
        // A key holding a quote or backslash was escaped in the text; never match it literally.
        cache.push(key.includes('"') || key.includes('\\') ? null : key);
      }
      ordinal++;
      this.skipWhitespace();
      if (this.peek() !== 58) throw this.error(`expected ':' after "${key}"`, this.pos);
      this.pos++;
      this.skipWhitespace();
      object[key] = this.parseValue(depth);
      this.skipWhitespace();
      const next = this.peek();
      this.pos++;
      if (next === 44) {
        this.skipWhitespace();
        continue;
      }
      if (next === 125) return object;
      throw this.error("expected ',' or '}' in an object", this.pos - 1);
    }
  }

  private parseArray(depth: number): JsonValue[] {
    if (depth > this.maxDepth)
      throw this.error(`nesting is deeper than ${this.maxDepth} levels; refused`, this.pos);
    this.pos++;
    const array: JsonValue[] = [];
    this.skipWhitespace();
    if (this.peek() === 93) {
      this.pos++;
      return array;
    }
    for (;;) {
      array.push(this.parseValue(depth));
      this.skipWhitespace();
      const next = this.peek();
      this.pos++;
      if (next === 44) {
        this.skipWhitespace();
        continue;
      }
      if (next === 93) return array;
      throw this.error("expected ',' or ']' in an array", this.pos - 1);
    }
  }

  /** The next character, or NEED_MORE / an end-of-input error when there is none. */
  private peek(): number {
    if (this.pos < this.buffer.length) return this.buffer.charCodeAt(this.pos);
    return this.endOfInput();
  }

  private endOfInput(): never {
    if (!this.final) throw NEED_MORE;
    throw this.error('ends in the middle of a value', this.pos);
  }

  private parseString(): string {
    const buffer = this.buffer;
    const start = this.pos + 1;
    let i = start;
    const length = buffer.length;
    // Fast path: no escapes, a single slice.
    while (i < length) {
      const c = buffer.charCodeAt(i);
      if (c === QUOTE) {
        if (i - start > this.maxStringChars) this.stringTooLong(start);
        this.pos = i + 1;
        return buffer.slice(start, i);
      }
      if (c === BACKSLASH) break;
      if (c < 0x20) throw this.error(controlCharacterMessage(c), i);
      if (c >= 0xd800 && c <= 0xdfff) i = this.checkSurrogatePair(i);
      i++;
    }
    if (i >= length) {
      if (i - start > this.maxStringChars) this.stringTooLong(start);
      return this.endOfInput();
    }
    return this.parseEscapedString(start, i);
  }

  private parseEscapedString(start: number, firstEscape: number): string {
    const buffer = this.buffer;
    const length = buffer.length;
    let out = buffer.slice(start, firstEscape);
    let i = firstEscape;
    let runStart = i;
    while (i < length) {
      const c = buffer.charCodeAt(i);
      if (c === QUOTE) {
        out += buffer.slice(runStart, i);
        if (out.length > this.maxStringChars) this.stringTooLong(start);
        this.pos = i + 1;
        return out;
      }
      if (c === BACKSLASH) {
        out += buffer.slice(runStart, i);
        if (i + 1 >= length) return this.endOfInput();
        const e = buffer.charCodeAt(i + 1);
        switch (e) {
          case 34:
            out += '"';
            break;
          case 92:
            out += '\\';
            break;
          case 47:
            out += '/';
            break;
          case 98:
            out += '\b';
            break;
          case 102:
            out += '\f';
            break;
          case 110:
            out += '\n';
            break;
          case 114:
            out += '\r';
            break;
          case 116:
            out += '\t';
            break;
          case 117: {
            const code = this.hexEscape(i);
            if (code === 0) throw this.error('the NUL character (\\u0000) is not allowed in text', i);
            if (code >= 0xd800 && code <= 0xdbff) {
              if (i + 12 > length && !this.final) throw NEED_MORE;
              const low =
                i + 12 <= length && buffer.charCodeAt(i + 6) === BACKSLASH && buffer.charCodeAt(i + 7) === 117
                  ? this.hexEscape(i + 6)
                  : -1;
              if (low < 0xdc00 || low > 0xdfff) throw this.error('unpaired surrogate in a \\u escape', i);
              out += String.fromCharCode(code, low);
              i += 12;
              runStart = i;
              continue;
            }
            if (code >= 0xdc00 && code <= 0xdfff) throw this.error('unpaired surrogate in a \\u escape', i);
            out += String.fromCharCode(code);
            i += 6;
            runStart = i;
            continue;
          }
          default:
            throw this.error(`invalid escape \\${String.fromCharCode(e)} in a string`, i);
        }
        i += 2;
        runStart = i;
        if (out.length > this.maxStringChars) this.stringTooLong(start);
        continue;
      }
      if (c < 0x20) throw this.error(controlCharacterMessage(c), i);
      if (c >= 0xd800 && c <= 0xdfff) i = this.checkSurrogatePair(i);
      i++;
      if (i - runStart > this.maxStringChars) this.stringTooLong(start);
    }
    return this.endOfInput();
  }

  /** The decoder already refuses invalid UTF-8, so a raw surrogate here is paired; checked anyway. */
  private checkSurrogatePair(i: number): number {
    const c = this.buffer.charCodeAt(i);
    if (c <= 0xdbff) {
      if (i + 1 >= this.buffer.length) return this.endOfInput();
      const low = this.buffer.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) return i + 1;
    }
    throw this.error('unpaired surrogate in text', i);
  }

  private hexEscape(i: number): number {
    if (i + 6 > this.buffer.length) return this.endOfInput();
    let code = 0;
    for (let k = i + 2; k < i + 6; k++) {
      const h = this.buffer.charCodeAt(k);
      const digit =
        h >= 48 && h <= 57 ? h - 48 : h >= 97 && h <= 102 ? h - 87 : h >= 65 && h <= 70 ? h - 55 : -1;
      if (digit < 0) throw this.error('invalid \\u escape; expected four hex digits', i);
      code = code * 16 + digit;
    }
    return code;
  }

  private stringTooLong(start: number): never {
    throw this.error(`a string is longer than ${this.maxStringChars} characters; refused`, start - 1);
  }

  private parseNumber(): number | string {
    const buffer = this.buffer;
    const start = this.pos;
    let i = start;
    const length = buffer.length;
    let c = buffer.charCodeAt(i);
    if (c === 45) c = buffer.charCodeAt(++i);
    if (c === 48) {
      c = buffer.charCodeAt(++i);
    } else if (c >= 49 && c <= 57) {
      do c = buffer.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    } else {
      if (i >= length) return this.endOfInput();
      throw this.error('invalid number', start);
    }
    let integer = true;
    if (c === 46) {
      integer = false;
      c = buffer.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) {
        if (i >= length) return this.endOfInput();
        throw this.error('invalid number: expected a digit after the decimal point', start);
      }
      do c = buffer.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    }
    if (c === 101 || c === 69) {
      integer = false;
      c = buffer.charCodeAt(++i);
      if (c === 43 || c === 45) c = buffer.charCodeAt(++i);
      if (!(c >= 48 && c <= 57)) {
        if (i >= length) return this.endOfInput();
        throw this.error('invalid number: expected a digit in the exponent', start);
      }
      do c = buffer.charCodeAt(++i);
      while (c >= 48 && c <= 57);
    }
    if (i >= length && !this.final) throw NEED_MORE;
    const raw = buffer.slice(start, i);
    this.pos = i;
    if (this.numbersAsText) return raw;
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      throw this.error(`number ${raw} is out of range; send it as a string`, start);
    }
    if (this.numbersRounded) return value;
    if (integer ? !Number.isSafeInteger(value) : significantDigits(raw) > 15 && String(value) !== raw) {
      throw this.error(`number ${raw} cannot be represented exactly; send it as a string`, start);
    }
    return value;
  }

  private parseLiteral<T extends boolean | null>(word: string, value: T): T {
    const end = this.pos + word.length;
    if (end > this.buffer.length) {
      if (word.startsWith(this.buffer.slice(this.pos))) return this.endOfInput();
    } else if (this.buffer.startsWith(word, this.pos)) {
      this.pos = end;
      return value;
    }
    throw this.error(`unexpected text; expected ${word}`, this.pos);
  }

  private checkKey(key: string, at: number): void {
    if (FORBIDDEN_JSON_KEYS.has(key)) {
      throw this.error(`the key "${key}" is not allowed (it could alter object prototypes)`, at);
    }
  }

  private skipWhitespace(): void {
    const buffer = this.buffer;
    let i = this.pos;
    for (;;) {
      const c = buffer.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.pos = i;
  }

  private discardConsumed(): void {
    this.countLinesTo(this.pos);
    this.bufferStart += this.pos;
    this.countedUpTo -= this.pos;
    // A copy, not a slice: a sliced string would keep the whole previous chunk alive.
    const rest = this.buffer.slice(this.pos);
    this.buffer = rest.length < 65536 ? copyString(rest) : rest;
    this.pos = 0;
  }

  private countLinesTo(position: number): void {
    if (position <= this.countedUpTo) return;
    let i = this.buffer.indexOf('\n', this.countedUpTo);
    while (i !== -1 && i < position) {
      this.line++;
      this.lineStart = this.bufferStart + i + 1;
      i = this.buffer.indexOf('\n', i + 1);
    }
    this.countedUpTo = position;
  }

  private lineAt(position: number): number {
    this.countLinesTo(position);
    return this.line;
  }

  private error(reason: string, position: number): InputError {
    this.countLinesTo(Math.min(position, this.buffer.length));
    const column = this.bufferStart + position - this.lineStart + 1;
    return new InputError(this.fileName, reason, { line: this.line, column });
  }
}

function significantDigits(raw: string): number {
  let count = 0;
  let leading = true;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 101 || c === 69) break;
    if (c < 48 || c > 57) continue;
    if (leading && c === 48) continue;
    leading = false;
    count++;
  }
  return count;
}

function describeChar(c: number): string {
  return c >= 0x20 && c < 0x7f
    ? `'${String.fromCharCode(c)}'`
    : `U+${c.toString(16).padStart(4, '0').toUpperCase()}`;
}

function controlCharacterMessage(c: number): string {
  return c === 0
    ? 'the NUL character is not allowed in text'
    : `control character ${describeChar(c)} must be escaped in a JSON string`;
}

/** A flat copy of a string that shares no memory with its source. */
function copyString(text: string): string {
  return text.length === 0 ? '' : Buffer.from(text, 'utf16le').toString('utf16le');
}
