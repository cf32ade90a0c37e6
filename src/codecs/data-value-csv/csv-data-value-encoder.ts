import type { ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';
import { FORMULA_START, neutraliseFormula } from '../csv/spreadsheet-safe.ts';

/** DHIS2's CSV export header (`CsvDataValueSetWriter.HEADER_ROW`, `DataExportOutput.CSV_HEADER_ROW`). */
export const CSV_EXPORT_HEADER =
  'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted';

const NEEDS_QUOTES = /[",\r\n]/;
/** With `escapeFormulas`, a field that starts a formula cannot be joined as it is either. */
const NEEDS_QUOTES_OR_FORMULA = new RegExp(`${NEEDS_QUOTES.source}|${FORMULA_START.source}`);

/** RFC 4180 quoting: only fields with a comma, quote or line break are quoted. */
export function csvField(text: string): string {
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export interface DataValueCsvOptions {
  /**
   * For a file meant for a spreadsheet: every field that a spreadsheet would run as a formula gets
   * a leading `'` (`neutraliseFormula`; real numbers such as `-5` stay). Off by default, so that an
   * export re-imports exactly as it was stored.
   */
  escapeFormulas?: boolean;
}

/**
 * Writes rows with the fields of `CSV_EXPORT_FIELDS` as DHIS2's CSV. A chunk with nothing to quote
 * (the usual case: UIDs, numbers, timestamps) is joined straight into CSV text by its source, with
 * no array per row. `onValues` is told how many values each piece of text holds, just before it is
 * yielded (once per chunk).
 */
export async function* encodeDataValuesCsv(
  chunks: AsyncIterable<ExportRowChunk>,
  onValues?: (count: number) => void,
  options: DataValueCsvOptions = {},
): AsyncIterable<string> {
  const escape = options.escapeFormulas === true;
  const unsafe = escape ? NEEDS_QUOTES_OR_FORMULA : NEEDS_QUOTES;
  const field = escape ? (text: string) => csvField(neutraliseFormula(text)) : csvField;
  yield `${CSV_EXPORT_HEADER}\n`;
  for await (const chunk of chunks) {
    if (chunk.count === 0) continue;
    const joined = chunk.joined?.(',', '\n', unsafe);
    if (joined !== undefined) {
      // `joined` writes one line per row, `count` of them.
      onValues?.(chunk.count);
      yield joined;
      continue;
    }
    let out = '';
    let count = 0;
    for (const row of chunk.rows()) {
      out += `${row.map(field).join(',')}\n`;
      count++;
    }
    onValues?.(count);
    yield out;
  }
}
