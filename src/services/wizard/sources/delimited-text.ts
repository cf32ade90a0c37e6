import { INPUT_LIMITS } from '../../../codecs/input/input-limits.ts';

/**
 * A CSV tokenizer with a chosen delimiter, for the wizard's files (semicolons from a European Excel,
 * tabs, pipes). Ferry's own CSV reader (codecs/csv) reads DHIS2's comma-only formats at full speed;
 * a partner's file needs the delimiter changeable and a quote anywhere in a field tolerated, so this
 * walks characters. Records come with the line they start on; limits as INPUT_LIMITS.
 */
export interface DelimitedRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
}

export class DelimitedTextError extends Error {
  readonly line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

export class DelimitedTextReader {
  private readonly delimiter: string;
  private field = '';
  private fields: string[] = [];
  private inQuotes = false;
  /** The character after a closing quote decides: "" is an escaped quote. */
  private quoteSeen = false;
  private line = 1;
  private recordLine = 1;
  private recordChars = 0;
  private pendingCr = false;

  constructor(delimiter: string) {
    this.delimiter = delimiter;
  }

  push(text: string, out: DelimitedRecord[]): void {
    const delimiter = this.delimiter;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (this.pendingCr) {
        this.pendingCr = false;
        if (c === '\n') continue;
      }
      if (++this.recordChars > INPUT_LIMITS.maxLineBytes)
        throw new DelimitedTextError(
          this.recordLine,
          `a record is longer than ${INPUT_LIMITS.maxLineBytes} characters${this.inQuotes ? ' (a quote that is never closed?)' : ''}`,
        );
      if (this.inQuotes) {
        if (this.quoteSeen) {
          this.quoteSeen = false;
          if (c === '"') {
            this.add('"');
            continue;
          }
          this.inQuotes = false;
          // fall through: the character after the closing quote is read as outside quotes
        } else if (c === '"') {
          this.quoteSeen = true;
          continue;
        } else {
          if (c === '\n') this.line++;
          this.add(c);
          continue;
        }
      }
      if (c === delimiter) {
        this.fields.push(this.field);
        this.field = '';
      } else if (c === '\n' || c === '\r') {
        if (c === '\r') this.pendingCr = true;
        this.endRecord(out);
        this.line++;
        this.recordLine = this.line;
      } else if (c === '"' && this.field.length === 0) {
        this.inQuotes = true;
      } else {
        this.add(c);
      }
    }
  }

  end(out: DelimitedRecord[]): void {
    if (this.inQuotes && !this.quoteSeen)
      throw new DelimitedTextError(
        this.recordLine,
        'a quoted field is not closed before the end of the file',
      );
    this.inQuotes = false;
    this.quoteSeen = false;
    this.endRecord(out);
  }

  private add(c: string): void {
    if (this.field.length >= INPUT_LIMITS.maxFieldChars)
      throw new DelimitedTextError(
        this.recordLine,
        `field ${this.fields.length + 1} is longer than ${INPUT_LIMITS.maxFieldChars} characters`,
      );
    this.field += c;
  }

  private endRecord(out: DelimitedRecord[]): void {
    this.fields.push(this.field);
    const fields = this.fields;
    this.fields = [];
    this.field = '';
    this.recordChars = 0;
    // A blank line is no record.
    if (!(fields.length === 1 && fields[0] === '')) out.push({ fields, line: this.recordLine });
  }
}

export const DELIMITER_CANDIDATES = [',', ';', '\t', '|'] as const;

/**
 * The delimiter of a CSV text's first lines: the candidate found the same (non-zero) number of
 * times, outside quotes, in most lines, preferring more columns; a comma when nothing fits.
 */
export function detectDelimiter(head: string): string {
  const lines = head.split(/\r?\n/).slice(0, 20);
  // The last line may be cut by the sample's end.
  if (lines.length > 1) lines.pop();
  let best = ',';
  let bestScore = 0;
  for (const candidate of DELIMITER_CANDIDATES) {
    const counts = lines.filter((l) => l.trim() !== '').map((l) => countOutsideQuotes(l, candidate));
    if (counts.length === 0) continue;
    const tally = new Map<number, number>();
    for (const n of counts) if (n > 0) tally.set(n, (tally.get(n) ?? 0) + 1);
    for (const [n, lineCount] of tally) {
      const score = lineCount * 1000 + n;
      if (score > bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
  }
  return best;
}

function countOutsideQuotes(line: string, delimiter: string): number {
  let inQuotes = false;
  let count = 0;
  for (const c of line) {
    if (c === '"') inQuotes = !inQuotes;
    else if (c === delimiter && !inQuotes) count++;
  }
  return count;
}
