/**
 * CSV formula injection (OWASP "CSV Injection"): a spreadsheet opening a CSV file runs a cell that
 * starts with `=`, `+`, `-` or `@` as a formula (`=HYPERLINK(...)`, `@SUM(A1)`, `-2+3+cmd|' /C calc'!A0`);
 * OWASP lists a leading tab and carriage return as well. A file a data manager opens in a
 * spreadsheet must therefore not hand such text over as it is.
 *
 * OWASP's remedy is a leading `'`, so that the cell is read as text. Real negative numbers are
 * left alone, so that `-5` stays a number a sheet can add up; only text that is a negative number
 * as a whole counts (`-5+A1` is a formula and gets its quote). A leading `+` always gets the quote, even
 * on a number (`+1` becomes `'+1`): numeric data values never have one (their value types refuse
 * it), so it marks text (a phone number such as `+232...` stays as written instead of becoming a
 * number).
 *
 * The exchange formats (data value and metadata CSV carried between sites) stay byte-exact by
 * default and use this only on request (`escapeFormulas=true`), because the quote becomes part of
 * the value when the file is imported again. Files only ever meant for a spreadsheet always use it.
 */

/** A negative decimal number: minus, digits with an optional fraction, an optional exponent. */
const NEGATIVE_NUMBER = String.raw`-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$`;

/**
 * Matches text a spreadsheet would run as a formula: it starts with one of OWASP's characters
 * (`=`, `+`, `-`, `@`, tab, carriage return) and is not a real negative number as a whole. No `g`
 * flag, so `test` keeps no state between calls.
 */
export const FORMULA_START = new RegExp(String.raw`^(?!${NEGATIVE_NUMBER})[=+\-@\t\r]`);

/** Whether a spreadsheet would read `text` as a formula (see `FORMULA_START`). */
export function isFormulaLike(text: string): boolean {
  return FORMULA_START.test(text);
}

/**
 * The text a spreadsheet shows as text: `'` before a cell that would start a formula, anything else
 * unchanged (`-5` and `-0.5` stay). Apply before CSV quoting; the quote does not need quoting itself.
 */
export function neutraliseFormula(text: string): string {
  return FORMULA_START.test(text) ? `'${text}` : text;
}
