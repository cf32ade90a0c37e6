import type { ValueType } from '../value-types/value-types.ts';
import { parseDay } from '../periods/calendar-days.ts';

/**
 * Whether a data value's text is valid for its data element's value type, DHIS2's
 * `ValidationUtils.dataValueIsValid` rules, and the text to store. Numbers are checked by pattern
 * before `Number()` ever sees them, so `Number()`'s quirks (`""` → 0, `0x1A` → 26, `1e400` →
 * Infinity, `12abc` → NaN, ` 5 ` → 5) can never become stored numbers.
 */
export type ValueCheck = { ok: true; value: string } | { ok: false; reason: string };

/** DHIS2's `DataValue.VALUE_MAX_LENGTH`: a longer value is refused whatever its type. */
export const MAX_VALUE_LENGTH = 50_000;
/** DHIS2 limits comments to 50,000 characters too (E7620). */
export const MAX_COMMENT_LENGTH = 50_000;

// DHIS2's MathUtils patterns: no leading zeros, no leading '+', no bare '.5', exponent 'E' or 'e'.
const NUMERIC = /^(-?0|-?[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/;
const INTEGER = /^(0|-?[1-9]\d*)$/;
const POSITIVE_INTEGER = /^[1-9]\d*$/;
const NEGATIVE_INTEGER = /^-[1-9]\d*$/;
const ZERO_OR_POSITIVE_INTEGER = /^(0|[1-9]\d*)$/;
const LETTER = /^\p{L}$/u;
const PHONE_NUMBER = /^[0-9+()#.\s/ext-]{6,50}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const URL_PATTERN = /^(https?|ftp):\/\/[^\s/$.?#][^\s]*$/i;
// DHIS2's TIME_OF_DAY_PATTERN: the hour may have one digit (`9:05`), the minutes always two.
const TIME = /^([01]?\d|2[0-3]):[0-5]\d$/;
const DATETIME =
  /^(\d{4}-\d{2}-\d{2})[T ]([01]\d|2[0-3]):([0-5]\d)(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;
const UID_LIKE = /^[A-Za-z][A-Za-z0-9]{10}$/;
const COORDINATE = /^\[\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*\]$/;

const NUMERIC_TYPES = new Set<ValueType>([
  'NUMBER',
  'UNIT_INTERVAL',
  'PERCENTAGE',
  'INTEGER',
  'INTEGER_POSITIVE',
  'INTEGER_NEGATIVE',
  'INTEGER_ZERO_OR_POSITIVE',
]);

export function isNumericValueType(valueType: ValueType): boolean {
  return NUMERIC_TYPES.has(valueType);
}

/** A finite number from text matching DHIS2's numeric pattern, or undefined (`1e400` is not finite). */
export function parseStrictNumber(text: string): number | undefined {
  if (!NUMERIC.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) ? n : undefined;
}

function integerCheck(text: string, pattern: RegExp, what: string): ValueCheck {
  if (!pattern.test(text)) return { ok: false, reason: `not ${what}` };
  // Beyond 2^53 an integer can't be stored exactly as DHIS2's double; refuse rather than round.
  if (!Number.isSafeInteger(Number(text))) return { ok: false, reason: 'integer out of range' };
  return { ok: true, value: text };
}

/**
 * Checks one non-empty value against a value type. `text` is the file's text, untrimmed (DHIS2
 * does not trim; a padded number is refused, a padded text kept).
 */
export function checkValue(valueType: ValueType, text: string): ValueCheck {
  if (text.length > MAX_VALUE_LENGTH) {
    return { ok: false, reason: `longer than ${MAX_VALUE_LENGTH} characters` };
  }
  switch (valueType) {
    case 'NUMBER':
      return parseStrictNumber(text) === undefined
        ? { ok: false, reason: 'not a number' }
        : { ok: true, value: text };
    case 'UNIT_INTERVAL': {
      const n = parseStrictNumber(text);
      return n === undefined || n < 0 || n > 1
        ? { ok: false, reason: 'not a unit interval (a number from 0 to 1)' }
        : { ok: true, value: text };
    }
    case 'PERCENTAGE': {
      const n = parseStrictNumber(text);
      return n === undefined || n < 0 || n > 100
        ? { ok: false, reason: 'not a percentage (a number from 0 to 100)' }
        : { ok: true, value: text };
    }
    case 'INTEGER':
      return integerCheck(text, INTEGER, 'an integer');
    case 'INTEGER_POSITIVE':
      return integerCheck(text, POSITIVE_INTEGER, 'a positive integer');
    case 'INTEGER_NEGATIVE':
      return integerCheck(text, NEGATIVE_INTEGER, 'a negative integer');
    case 'INTEGER_ZERO_OR_POSITIVE':
      return integerCheck(text, ZERO_OR_POSITIVE_INTEGER, 'a zero or positive integer');
    case 'BOOLEAN': {
      const lower = text.toLowerCase();
      // DHIS2 normalises 1/0 and any-case true/false to true/false before storing.
      if (lower === 'true' || text === '1') return { ok: true, value: 'true' };
      if (lower === 'false' || text === '0') return { ok: true, value: 'false' };
      return { ok: false, reason: 'not a boolean (true or false)' };
    }
    case 'TRUE_ONLY':
      return text.toLowerCase() === 'true' || text === '1'
        ? { ok: true, value: 'true' }
        : { ok: false, reason: 'not true (a true-only value is true or empty)' };
    case 'DATE':
    case 'AGE':
      return parseDay(text) === undefined
        ? { ok: false, reason: 'not a date (YYYY-MM-DD)' }
        : { ok: true, value: text };
    case 'DATETIME': {
      const m = DATETIME.exec(text);
      return m && parseDay(m[1]) !== undefined
        ? { ok: true, value: text }
        : { ok: false, reason: 'not a date and time (YYYY-MM-DDTHH:MM[:SS])' };
    }
    case 'TIME':
      return TIME.test(text)
        ? { ok: true, value: text }
        : { ok: false, reason: 'not a time (H:MM or HH:MM)' };
    case 'LETTER':
      return LETTER.test(text) ? { ok: true, value: text } : { ok: false, reason: 'not a single letter' };
    case 'PHONE_NUMBER':
      return PHONE_NUMBER.test(text)
        ? { ok: true, value: text }
        : { ok: false, reason: 'not a phone number' };
    case 'EMAIL':
      return EMAIL.test(text) ? { ok: true, value: text } : { ok: false, reason: 'not an email address' };
    case 'URL':
      return URL_PATTERN.test(text) ? { ok: true, value: text } : { ok: false, reason: 'not a URL' };
    case 'COORDINATE': {
      const m = COORDINATE.exec(text);
      if (!m) return { ok: false, reason: 'not a coordinate ([longitude,latitude])' };
      const longitude = Number(m[1]);
      const latitude = Number(m[2]);
      return Math.abs(longitude) <= 180 && Math.abs(latitude) <= 90
        ? { ok: true, value: text }
        : { ok: false, reason: 'coordinate out of range' };
    }
    case 'ORGANISATION_UNIT':
    case 'FILE_RESOURCE':
    case 'IMAGE':
    case 'TRACKER_ASSOCIATE':
    case 'REFERENCE':
      return UID_LIKE.test(text) ? { ok: true, value: text } : { ok: false, reason: 'not a UID' };
    case 'GEOJSON':
      try {
        const parsed: unknown = JSON.parse(text);
        return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
          ? { ok: true, value: text }
          : { ok: false, reason: 'not a GeoJSON object' };
      } catch {
        return { ok: false, reason: 'not valid GeoJSON' };
      }
    case 'TEXT':
    case 'LONG_TEXT':
    case 'MULTI_TEXT':
    case 'USERNAME':
      return { ok: true, value: text };
  }
}

/**
 * Whether a valid value is a zero that DHIS2 does not store for data elements whose zero is not
 * significant (`zeroIsSignificant=false`). Only numeric types have an insignificant zero.
 */
export function isInsignificantZero(
  valueType: ValueType,
  value: string,
  zeroIsSignificant: boolean,
): boolean {
  if (zeroIsSignificant || !NUMERIC_TYPES.has(valueType)) return false;
  return parseStrictNumber(value) === 0;
}
