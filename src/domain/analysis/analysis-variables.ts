import type { ValueType } from '../value-types/value-types.ts';

/**
 * Analysis files (Stata, SPSS, tab): what a column is, how its name is made legal and unique in
 * each format, and how DHIS2's value types map onto numeric, string and date storage.
 */

/** How a column is stored in Stata and SPSS; tab and CSV write the text Ferry holds either way. */
export const ANALYSIS_KINDS = ['string', 'integer', 'number', 'date', 'datetime'] as const;
export type AnalysisKind = (typeof ANALYSIS_KINDS)[number];

export interface AnalysisValueLabel {
  value: number;
  label: string;
}

export interface AnalysisVariable {
  /** The stable base name (from the code, else the name); made legal per format by the encoders' callers. */
  name: string;
  /** The full label (the data element's form name or name, with the option combo's name). */
  label: string;
  kind: AnalysisKind;
  /**
   * Option sets: the text Ferry holds (option code) → the number written to Stata and SPSS, with
   * the option's name as its value label.
   */
  codes?: ReadonlyMap<string, number>;
  valueLabels?: readonly AnalysisValueLabel[];
  /** The data element's (or attribute's) description, for the DDI codebook. */
  description?: string;
}

/**
 * Missing values, the same in every file: no value is system missing (`.` in Stata, SYSMIS in SPSS,
 * empty in tab/CSV); a stored value that is not valid for the column's type (text in a number
 * column, a code not in the option set) is declared as "not a valid value": Stata `.a`, SPSS
 * user-missing -999999999, both labelled. Tab and CSV keep the text as stored.
 */
export const INVALID_VALUE_LABEL = 'not a valid value';
export const SPSS_INVALID_CODE = -999_999_999;

/** Stata/SPSS storage of a DHIS2 value type. */
export function analysisKindOf(valueType: string | undefined): AnalysisKind {
  switch (valueType as ValueType | undefined) {
    case 'INTEGER':
    case 'INTEGER_POSITIVE':
    case 'INTEGER_NEGATIVE':
    case 'INTEGER_ZERO_OR_POSITIVE':
      return 'integer';
    case 'NUMBER':
    case 'UNIT_INTERVAL':
    case 'PERCENTAGE':
      return 'number';
    case 'BOOLEAN':
    case 'TRUE_ONLY':
      // 1 = true, 0 = false, labelled (see booleanCodes).
      return 'integer';
    case 'DATE':
    case 'AGE':
      return 'date';
    case 'DATETIME':
      return 'datetime';
    default:
      return 'string';
  }
}

/** DHIS2's boolean texts as 1/0 with labels, so a boolean is a labelled number in Stata and SPSS. */
export function booleanCodes(): { codes: Map<string, number>; valueLabels: AnalysisValueLabel[] } {
  return {
    codes: new Map([
      ['true', 1],
      ['false', 0],
    ]),
    valueLabels: [
      { value: 0, label: 'No' },
      { value: 1, label: 'Yes' },
    ],
  };
}

/** A parsed cell for Stata/SPSS: a number, system missing (null), or declared invalid. */
export type NumericCell = number | null | 'invalid';

const MS_PER_DAY = 86_400_000;
/** 1960-01-01, Stata's day 0, in Unix milliseconds. */
const STATA_EPOCH_MS = Date.UTC(1960, 0, 1);
/** 1582-10-14, SPSS's second 0 (the start of the Gregorian calendar), in Unix milliseconds. */
const SPSS_EPOCH_MS = Date.UTC(1582, 9, 14);

const DATE = /^(\d{4})-(\d{2})-(\d{2})/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?/;

const digit = (text: string, at: number): number => {
  const d = text.charCodeAt(at) - 48;
  return d >= 0 && d <= 9 ? d : NaN;
};
const two = (text: string, at: number) => digit(text, at) * 10 + digit(text, at + 1);
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The shapes DHIS2 stores (`YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.fff][Z]`) read digit by digit: an
 * export parses millions of them, and this is several times faster than the regular expressions.
 * Anything else is undefined here and goes the general way.
 */
function fastTime(text: string, withTime: boolean): number | undefined {
  const n = text.length;
  if (n < 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const y = two(text, 0) * 100 + two(text, 2);
  const mo = two(text, 5);
  const d = two(text, 8);
  // Years before 100 take the general way (Date.UTC reads them as 19xx).
  if (!(y >= 100) || !(mo >= 1 && mo <= 12) || !(d >= 1)) return undefined;
  const leap = mo === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS_IN_MONTH[mo - 1] + (leap ? 1 : 0)) return undefined;
  const day = Date.UTC(y, mo - 1, d);
  // A date takes the day of whatever follows it (as the general way does).
  if (!withTime || n === 10) return day;
  const sep = text.charCodeAt(10);
  if ((sep !== 84 && sep !== 32) || n < 19 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58)
    return undefined;
  const h = two(text, 11);
  const mi = two(text, 14);
  const sec = two(text, 17);
  if (!(h <= 23 && mi <= 59 && sec <= 59)) return undefined;
  let at = 19;
  let ms = 0;
  if (at < n && text.charCodeAt(at) === 46) {
    at++;
    let scale = 100;
    while (at < n && !Number.isNaN(digit(text, at))) {
      if (scale >= 1) ms += digit(text, at) * scale;
      scale /= 10;
      at++;
    }
  }
  if (at < n && !(at === n - 1 && text.charCodeAt(at) === 90)) return undefined;
  return day + ((h * 60 + mi) * 60 + sec) * 1000 + ms;
}

/** Unix milliseconds of a DHIS2 date or date-time (taken as UTC, as DHIS2 stores them), or undefined. */
export function parseAnalysisTime(text: string, withTime: boolean): number | undefined {
  const fast = fastTime(text, withTime);
  if (fast !== undefined) return fast;
  const match = (withTime ? DATETIME : DATE).exec(text.trim());
  if (!match) return undefined;
  const [y, mo, d] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const [h, mi, s, ms] = withTime
    ? [
        Number(match[4] ?? 0),
        Number(match[5] ?? 0),
        Number(match[6] ?? 0),
        Number((match[7] ?? '0').padEnd(3, '0')),
      ]
    : [0, 0, 0, 0];
  const time = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(time);
  // Date.UTC rolls 2024-02-31 over to March: such a date is invalid, not another day.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d)
    return undefined;
  if (h > 23 || mi > 59 || s > 59) return undefined;
  return time;
}

/**
 * The number a cell is written as for Stata (`to: 'stata'`: %td days or %tc milliseconds since
 * 1960) or SPSS (`to: 'spss'`: seconds since 1582-10-14), or missing.
 */
export function numericCell(
  variable: AnalysisVariable,
  text: string | null,
  to: 'stata' | 'spss',
): NumericCell {
  if (text === null || text === '') return null;
  if (variable.codes) {
    const code = variable.codes.get(text);
    return code === undefined ? 'invalid' : code;
  }
  switch (variable.kind) {
    case 'integer':
    case 'number': {
      const trimmed = text.trim();
      // Number('') is 0 and Number('0x10') is 16: only decimal notation counts.
      if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(trimmed)) return 'invalid';
      const value = Number(trimmed);
      if (!Number.isFinite(value)) return 'invalid';
      if (variable.kind === 'integer' && !Number.isInteger(value)) return 'invalid';
      return value;
    }
    case 'date':
    case 'datetime': {
      const time = parseAnalysisTime(text, variable.kind === 'datetime');
      if (time === undefined) return 'invalid';
      if (to === 'stata') {
        return variable.kind === 'date'
          ? Math.round((time - STATA_EPOCH_MS) / MS_PER_DAY)
          : time - STATA_EPOCH_MS;
      }
      return (time - SPSS_EPOCH_MS) / 1000;
    }
    default:
      return 'invalid';
  }
}

/** Stata's reserved words (`dta_validate_name_unreserved`); `str#` is checked apart. */
const STATA_RESERVED = new Set([
  '_all',
  '_b',
  'byte',
  '_coef',
  '_cons',
  'double',
  'float',
  'if',
  'in',
  'int',
  'long',
  '_n',
  '_N',
  '_pi',
  '_pred',
  '_rc',
  '_skip',
  'strL',
  'using',
  'with',
]);
/** SPSS's reserved words, compared case-insensitively. */
const SPSS_RESERVED = new Set([
  'ALL',
  'AND',
  'BY',
  'EQ',
  'GE',
  'GT',
  'LE',
  'LT',
  'NE',
  'NOT',
  'OR',
  'TO',
  'WITH',
]);

/** Cuts `text` to at most `maxBytes` of UTF-8 without splitting a character. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let out = '';
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += char;
  }
  return out;
}

/**
 * A name legal in the format, unique among `taken` (compared case-insensitively: Stata is case
 * sensitive but SPSS is not, and one name per column in both is easier to read), added to it.
 * Letters of any script are kept (Stata 118 and SPSS with the UTF-8 record take Unicode names);
 * anything else becomes `_`. A clash gets `_2`, `_3`, … cut to fit, so names are stable for the
 * same columns in the same order.
 */
export function legalVariableName(base: string, format: 'stata' | 'spss', taken: Set<string>): string {
  // Stata: 32 characters (129-byte slot); SPSS: 64 bytes.
  const fit = (text: string) =>
    format === 'stata' ? [...text].slice(0, 32).join('') : truncateUtf8(text, 64);
  let name = base
    .normalize('NFC')
    .replace(/[^\p{L}\p{N}_]+/gu, '_')
    .replace(/^_(?=.)/, '')
    .replace(/(?<=.)_$/, '');
  if (name === '' || name === '_') name = 'v';
  if (/^\p{N}/u.test(name)) name = `${format === 'stata' ? '_' : 'v'}${name}`;
  if (format === 'spss' && name.startsWith('_')) name = `v${name}`;
  name = fit(name);
  const reserved = (candidate: string) =>
    format === 'stata'
      ? STATA_RESERVED.has(candidate) || /^str\d+$/.test(candidate)
      : SPSS_RESERVED.has(candidate.toUpperCase());
  if (reserved(name)) name = fit(`${name}_`);
  let candidate = name;
  for (let n = 2; taken.has(candidate.toLowerCase()); n++) {
    const suffix = `_${n}`;
    candidate =
      format === 'stata'
        ? `${[...name].slice(0, 32 - suffix.length).join('')}${suffix}`
        : `${truncateUtf8(name, 64 - suffix.length)}${suffix}`;
  }
  taken.add(candidate.toLowerCase());
  return candidate;
}
