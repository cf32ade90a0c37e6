import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';

/**
 * The one CSV tokenizer of Ferry (data value CSV and metadata CSV).
 *
 * An RFC 4180 record reader over text chunks: comma separated, double quotes around fields that
 * hold commas, quotes (doubled) or line breaks, CRLF or LF line ends. Most data value rows have no
 * quotes, so a line without one is split with `String.split`, which is several times faster than
 * walking characters; quoted lines take the careful path. Malformed records are reported with line
 * and column and skipped; a record beyond the line limit is skipped; an unterminated quote that
 * runs past the limit ends the file (nothing after it can be trusted).
 */
export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

export interface CsvProblem {
  problem: string;
  line: number;
  /** 1-based character column in the line, where known. */
  column?: number;
  /** 1-based field number, where known. */
  field?: number;
  /** Nothing after this can be read. */
  fatal?: boolean;
}

export type CsvEntry = CsvRecord | CsvProblem;

export function isCsvProblem(entry: CsvEntry): entry is CsvProblem {
  return (entry as CsvProblem).problem !== undefined;
}

export interface CsvLimits {
  maxLineChars: number;
  maxFieldChars: number;
}

/** The limits of INPUT_LIMITS: one line (record) and one field. */
export const DEFAULT_CSV_LIMITS: CsvLimits = {
  maxLineChars: INPUT_LIMITS.maxLineBytes,
  maxFieldChars: INPUT_LIMITS.maxFieldChars,
};

/** `readCsvRecordBatches` one record at a time. */
export async function* readCsvRecords(
  text: AsyncIterable<string>,
  fileName: string,
  limits: CsvLimits = DEFAULT_CSV_LIMITS,
): AsyncIterable<CsvRecord> {
  for await (const batch of readCsvRecordBatches(text, fileName, limits)) yield* batch;
}

/**
 * The records of a CSV text stream, for readers where one malformed record refuses the whole file
 * (metadata CSV, an atomic import): the first problem is thrown as an InputError naming the file,
 * line and column. Blank lines are skipped. Records come in one array per input chunk.
 */
export async function* readCsvRecordBatches(
  text: AsyncIterable<string>,
  fileName: string,
  limits: CsvLimits = DEFAULT_CSV_LIMITS,
): AsyncIterable<CsvRecord[]> {
  const reader = new CsvRecordReader(limits);
  const entries: CsvEntry[] = [];
  const records = (): CsvRecord[] => {
    const out: CsvRecord[] = [];
    for (const entry of entries) {
      if (isCsvProblem(entry)) {
        const field =
          entry.field !== undefined && !entry.problem.startsWith('field ') ? `field ${entry.field}: ` : '';
        throw new InputError(fileName, `${field}${entry.problem}`, {
          line: entry.line,
          column: entry.column,
        });
      }
      out.push(entry);
    }
    entries.length = 0;
    return out;
  };
  for await (const chunk of text) {
    reader.push(chunk, entries);
    if (entries.length > 0) yield records();
  }
  reader.end(entries);
  if (entries.length > 0) yield records();
}

export class CsvRecordReader {
  private rest = '';
  private line = 1;
  private skippingLongLine = false;
  private failed = false;
  private readonly limits: CsvLimits;

  constructor(limits: CsvLimits) {
    this.limits = limits;
  }

  /** Reads the complete records in `text` (plus what was left over) into `out`. */
  push(text: string, out: CsvEntry[]): void {
    this.read(this.rest.length > 0 ? this.rest + text : text, false, out);
  }

  /** Reads what is left at the end of the input. */
  end(out: CsvEntry[]): void {
    this.read(this.rest, true, out);
    this.rest = '';
  }

  private read(buffer: string, final: boolean, out: CsvEntry[]): void {
    if (this.failed) return;
    const length = buffer.length;
    const { maxLineChars, maxFieldChars } = this.limits;
    let pos = 0;
    let nextQuote = buffer.indexOf('"');
    while (pos < length) {
      let newline = buffer.indexOf('\n', pos);
      if (this.skippingLongLine) {
        if (newline === -1) {
          pos = length;
          break;
        }
        pos = newline + 1;
        this.line++;
        this.skippingLongLine = false;
        continue;
      }
      if (newline === -1) {
        if (!final) {
          if (length - pos > maxLineChars) {
            const quote = buffer.indexOf('"', pos);
            if (quote !== -1) {
              out.push({
                problem: `a quoted field is not closed within ${maxLineChars} characters`,
                line: this.line,
                column: quote - pos + 1,
                fatal: true,
              });
              this.failed = true;
              this.rest = '';
              return;
            }
            out.push({ problem: `line longer than ${maxLineChars} characters`, line: this.line });
            this.skippingLongLine = true;
            pos = length;
          }
          break;
        }
        newline = length;
      }
      // Search for the next quote once, not once per line: most files have none at all.
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = buffer.indexOf('"', pos);
      const quote = nextQuote;
      if (quote === -1 || quote > newline) {
        let end = newline;
        if (end > pos && buffer.charCodeAt(end - 1) === 13) end--;
        if (end - pos > maxLineChars) {
          out.push({ problem: `line longer than ${maxLineChars} characters`, line: this.line });
        } else if (end > pos) {
          const fields = buffer.slice(pos, end).split(',');
          const tooLong = longField(fields, maxFieldChars);
          if (tooLong >= 0) {
            out.push({
              problem: `field ${tooLong + 1} is longer than ${maxFieldChars} characters`,
              line: this.line,
              field: tooLong + 1,
            });
          } else {
            out.push({ fields, line: this.line });
          }
        }
        pos = newline + 1;
        this.line++;
        continue;
      }
      const result = this.readQuoted(buffer, pos, final, out);
      if (result === -1) break;
      if (this.failed) return;
      pos = result;
    }
    this.rest = pos < length ? buffer.slice(pos) : '';
  }

  /**
   * Reads one record containing quotes starting at `start`. Returns the position after it, or -1
   * when the record continues past the buffer and more text is needed.
   */
  private readQuoted(buffer: string, start: number, final: boolean, out: CsvEntry[]): number {
    const length = buffer.length;
    const fields: string[] = [];
    const startLine = this.line;
    let lines = 0;
    const lineStart = start;
    let i = start;
    let problem: CsvProblem | undefined;
    for (;;) {
      let field: string;
      if (i < length && buffer.charCodeAt(i) === 34) {
        field = '';
        let j = i + 1;
        for (;;) {
          const close = buffer.indexOf('"', j);
          if (close === -1 || close + 1 >= length) {
            if (!final) {
              if (length - start > this.limits.maxLineChars) {
                out.push({
                  problem: `a quoted field is not closed within ${this.limits.maxLineChars} characters`,
                  line: startLine,
                  column: i - start + 1,
                  field: fields.length + 1,
                  fatal: true,
                });
                this.failed = true;
                return length;
              }
              return -1;
            }
            if (close === -1) {
              out.push({
                problem: 'a quoted field is not closed before the end of the file',
                line: startLine,
                column: i - start + 1,
                field: fields.length + 1,
                fatal: true,
              });
              this.failed = true;
              return length;
            }
          }
          const segment = buffer.slice(j, close);
          lines += countNewlines(segment);
          field += segment;
          if (buffer.charCodeAt(close + 1) === 34) {
            field += '"';
            j = close + 2;
            continue;
          }
          i = close + 1;
          break;
        }
        const next = i < length ? buffer.charCodeAt(i) : -1;
        if (next !== 44 && next !== 10 && next !== 13 && next !== -1 && !problem) {
          problem = {
            problem: `unexpected character '${buffer[i]}' after a closing quote`,
            line: startLine + lines,
            column: i - lineStart + 1,
            field: fields.length + 1,
          };
        }
        // Skip to the field's end whatever follows, to resynchronise.
        if (next !== 44 && next !== 10 && next !== 13 && next !== -1) {
          while (i < length && buffer.charCodeAt(i) !== 44 && buffer.charCodeAt(i) !== 10) i++;
        }
      } else {
        let end = i;
        while (end < length) {
          const c = buffer.charCodeAt(end);
          if (c === 44 || c === 10) break;
          if (c === 34 && !problem) {
            problem = {
              problem: 'a quote inside an unquoted field',
              line: startLine + lines,
              column: end - lineStart + 1,
              field: fields.length + 1,
            };
          }
          end++;
        }
        if (end >= length && !final) return -1;
        field = buffer.slice(i, end);
        if (field.charCodeAt(field.length - 1) === 13) field = field.slice(0, -1);
        i = end;
      }
      if (field.length > this.limits.maxFieldChars && !problem) {
        problem = {
          problem: `field ${fields.length + 1} is longer than ${this.limits.maxFieldChars} characters`,
          line: startLine,
          field: fields.length + 1,
        };
      }
      fields.push(field);
      if (i < length && buffer.charCodeAt(i) === 13) i++;
      if (i >= length) {
        if (!final) return -1;
        break;
      }
      const c = buffer.charCodeAt(i);
      i++;
      if (c === 10) break;
      // c is a comma: another field follows.
    }
    this.line += lines + 1;
    if (i - start > this.limits.maxLineChars && !problem) {
      problem = { problem: `record longer than ${this.limits.maxLineChars} characters`, line: startLine };
    }
    out.push(problem ?? { fields, line: startLine });
    return i;
  }
}

function longField(fields: string[], max: number): number {
  for (let i = 0; i < fields.length; i++) if (fields[i].length > max) return i;
  return -1;
}

function countNewlines(text: string): number {
  let n = 0;
  let at = text.indexOf('\n');
  while (at !== -1) {
    n++;
    at = text.indexOf('\n', at + 1);
  }
  return n;
}
