import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';

export interface CsvRow {
  /** 1-based line where the row starts. */
  line: number;
  fields: string[];
}

/**
 * RFC 4180 rows from a stream of text: quoted fields may hold commas, quotes ("") and line breaks;
 * CRLF and LF both end rows. Field and row sizes are limited (INPUT_LIMITS) so one endless quoted
 * field cannot fill memory. Blank lines are skipped.
 */
export async function* readCsvRows(text: AsyncIterable<string>, fileName: string): AsyncIterable<CsvRow> {
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let rowLine = 1;
  let pendingCr = false;
  const pending: CsvRow[] = [];
  const endField = () => {
    fields.push(field);
    field = '';
    afterQuote = false;
  };
  const endRow = () => {
    endField();
    if (!(fields.length === 1 && fields[0] === '')) pending.push({ line: rowLine, fields });
    fields = [];
  };
  for await (const chunk of text) {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (pendingCr) {
        pendingCr = false;
        if (c === '\n') continue;
      }
      if (quoted) {
        if (c === '"') {
          if (chunk[i + 1] === '"') {
            field += '"';
            i++;
          } else if (i + 1 === chunk.length) {
            // The next chunk decides whether this quote is doubled; look ahead by deferring.
            quoted = false;
            afterQuote = true;
          } else {
            quoted = false;
            afterQuote = true;
          }
        } else {
          if (c === '\n') line++;
          field += c;
        }
        if (field.length > INPUT_LIMITS.maxFieldChars) {
          throw new InputError(fileName, `a field is longer than ${INPUT_LIMITS.maxFieldChars} characters`, {
            line: rowLine,
          });
        }
        continue;
      }
      if (c === '"') {
        if (afterQuote) {
          // A doubled quote split across chunks: `"ab"` + `"c"`.
          field += '"';
          quoted = true;
          afterQuote = false;
        } else if (field === '') quoted = true;
        else
          throw new InputError(fileName, 'a quote inside an unquoted field', {
            line,
            column: fields.length + 1,
          });
        continue;
      }
      if (c === ',') {
        endField();
        continue;
      }
      if (c === '\n' || c === '\r') {
        endRow();
        line++;
        rowLine = line;
        pendingCr = c === '\r';
        continue;
      }
      if (afterQuote)
        throw new InputError(fileName, 'text after a closing quote', { line, column: fields.length + 1 });
      field += c;
      if (field.length > INPUT_LIMITS.maxFieldChars) {
        throw new InputError(fileName, `a field is longer than ${INPUT_LIMITS.maxFieldChars} characters`, {
          line,
        });
      }
    }
    yield* pending.splice(0);
  }
  if (quoted)
    throw new InputError(fileName, 'a quoted field is not closed before the end of the file', {
      line: rowLine,
    });
  if (field !== '' || fields.length > 0 || afterQuote) endRow();
  yield* pending.splice(0);
}
