import { neutraliseFormula } from '../csv/spreadsheet-safe.ts';

/**
 * Delimited text for analysis files: tab-separated (`.tab`) and CSV, UTF-8 without a byte order
 * mark, `\n` line ends. A tab file has no quoting, so a tab, CR or LF inside a cell becomes a space
 * (as Survey Solutions' tab files do); CSV quotes a cell holding a comma, quote, CR or LF (RFC 4180)
 * and keeps it whole. A null cell is empty in both. Analysis files are made to be opened by people,
 * in spreadsheets too, so a cell that would run as a formula always gets OWASP's leading `'`
 * (`neutraliseFormula`; real negative numbers such as -5 stay as they are). Unlike the exchange
 * formats, nothing needs these files to come back byte for byte.
 */

export type DelimitedCell = string | null;

export const DELIMITED_SEPARATORS = { tab: '\t', csv: ',' } as const;
export type DelimitedKind = keyof typeof DELIMITED_SEPARATORS;

function tabCell(cell: DelimitedCell): string {
  return cell === null ? '' : neutraliseFormula(cell).replace(/[\t\r\n]/g, ' ');
}

function csvCell(cell: DelimitedCell): string {
  if (cell === null) return '';
  const text = neutraliseFormula(cell);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One line per row, the header first; text chunks of about 64 KB. */
export async function* encodeDelimited(
  kind: DelimitedKind,
  header: readonly string[],
  rows: AsyncIterable<readonly DelimitedCell[]>,
): AsyncIterable<string> {
  const cell = kind === 'tab' ? tabCell : csvCell;
  const separator = DELIMITED_SEPARATORS[kind];
  let buffer = `${header.map(cell).join(separator)}\n`;
  for await (const row of rows) {
    buffer += `${row.map(cell).join(separator)}\n`;
    if (buffer.length > 65_536) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer) yield buffer;
}
