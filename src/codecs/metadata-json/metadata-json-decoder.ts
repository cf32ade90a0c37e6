import { InputError } from '../input/input-error.ts';
import { parseStrictJson } from './strict-json-parser.ts';

/** One object of a DXF2 payload: the collection it was listed under and its index there. */
export interface MetadataItem {
  collection: string;
  index: number;
  object: Record<string, unknown>;
  /** Where the object starts in the file, for error messages. */
  line: number;
}

type State = 'start' | 'key' | 'colon' | 'value' | 'afterValue' | 'item' | 'afterItem' | 'end';

/**
 * Reads DHIS2's JSON metadata payload (`{"dataElements": [...], "system": {...}}`) from a stream
 * of text, yielding one object per collection array item as soon as it is complete. Only the item
 * being read is held in memory; each item is parsed strictly (duplicate and prototype keys refused,
 * nesting limited). Top-level values that are not arrays (`system`, `date`) are read and skipped.
 */
export async function* decodeMetadataJson(
  text: AsyncIterable<string>,
  fileName: string,
): AsyncIterable<MetadataItem> {
  let state: State = 'start';
  let line = 1;
  let column = 1;
  // The value being captured: its text so far and where it started.
  let capture: string | undefined;
  let captureLine = 0;
  let captureColumn = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let scalar = false;
  let key = '';
  let index = 0;
  const fail = (reason: string): never => {
    throw new InputError(fileName, reason, { line, column });
  };

  for await (const chunk of text) {
    let captureStart = capture === undefined ? -1 : 0;
    const out: MetadataItem[] = [];
    const finishCapture = (end: number): string => {
      const value = (capture ?? '') + chunk.slice(captureStart, end);
      capture = undefined;
      captureStart = -1;
      return value;
    };
    const completeValue = (end: number): void => {
      const raw = finishCapture(end);
      const origin = { line: captureLine, column: captureColumn };
      if (state === 'key') {
        key = parseStrictJson(raw, fileName, origin) as string;
        state = 'colon';
      } else if (state === 'item') {
        const value = parseStrictJson(raw, fileName, origin);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          throw new InputError(fileName, `items of \`${key}\` must be objects`, origin);
        }
        out.push({
          collection: key,
          index: index++,
          object: value as Record<string, unknown>,
          line: captureLine,
        });
        state = 'afterItem';
      } else {
        parseStrictJson(raw, fileName, origin);
        state = 'afterValue';
      }
    };
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (captureStart >= 0) {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92) escaped = true;
          else if (c === 34) {
            inString = false;
            if (depth === 0) {
              completeValue(i + 1);
              advance(c);
              continue;
            }
          }
        } else if (scalar) {
          if (c === 44 || c === 125 || c === 93 || c === 32 || c === 10 || c === 13 || c === 9) {
            scalar = false;
            completeValue(i);
            // The delimiter is handled by the state machine below.
          } else {
            advance(c);
            continue;
          }
        } else if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          depth--;
          if (depth === 0) {
            completeValue(i + 1);
            advance(c);
            continue;
          }
        }
        if (captureStart >= 0) {
          advance(c);
          continue;
        }
      }
      if (c === 32 || c === 10 || c === 13 || c === 9) {
        advance(c);
        continue;
      }
      switch (state as State) {
        case 'start':
          if (c !== 123) fail('a metadata payload must be a JSON object whose keys are collection names');
          state = 'key';
          break;
        case 'key':
          if (c === 125 && key === '') state = 'end';
          else if (c === 34) beginCapture(i, true);
          else fail('expected a collection name in double quotes');
          break;
        case 'colon':
          if (c !== 58) fail("expected ':' after a collection name");
          state = 'value';
          break;
        case 'value':
          if (c === 91) {
            state = 'item';
            index = 0;
          } else beginCapture(i, false);
          break;
        case 'afterValue':
        case 'afterItem':
          if ((state as State) === 'afterItem' && c === 93) state = 'afterValue';
          else if ((state as State) === 'afterItem' && c === 44) state = 'item';
          else if (state === 'afterValue' && c === 44) state = 'key';
          else if (state === 'afterValue' && c === 125) state = 'end';
          else fail((state as State) === 'afterItem' ? "expected ',' or ']'" : "expected ',' or '}'");
          break;
        case 'item':
          if (c === 93 && index === 0) state = 'afterValue';
          else beginCapture(i, false);
          break;
        case 'end':
          fail('unexpected content after the end of the payload');
      }
      advance(c);
    }
    if (captureStart >= 0) capture = (capture ?? '') + chunk.slice(captureStart);
    yield* out;

    function beginCapture(at: number, isKey: boolean): void {
      captureStart = at;
      capture = '';
      captureLine = line;
      captureColumn = column;
      depth = 0;
      escaped = false;
      const c = chunk.charCodeAt(at);
      inString = c === 34;
      scalar = !isKey && c !== 34 && c !== 123 && c !== 91;
      if (c === 123 || c === 91) depth = 1;
    }
  }
  if (capture !== undefined && scalar && state === 'value') {
    fail('unexpected end of input');
  }
  if (state !== 'end') fail(state === 'start' ? 'the payload is empty' : 'unexpected end of input');

  function advance(c: number): void {
    if (c === 10) {
      line++;
      column = 1;
    } else column++;
  }
}
