import type { DataValueExportFormat } from '../services/data-value-export-service.ts';

/** Counts the data values in an export's text as it streams past, chunk by chunk. */
export interface ExportValueCounter {
  add(chunk: Uint8Array): void;
  readonly values: number;
}

/**
 * The text each value starts with in the JSON, XML and ADX exports. It can't occur inside a value:
 * JSON escapes the quotes of strings and XML the `<` of attributes and text.
 */
const VALUE_MARKS: Readonly<Record<Exclude<DataValueExportFormat, 'csv'>, string>> = {
  json: '{"dataElement":',
  xml: '<dataValue ',
  adx: '<dataValue ',
};

/**
 * A counter for the text of `format` as exportDataValues writes it (uncompressed). The count is
 * exact: CSV records are counted outside quotes (a comment may hold a line break), the others by
 * their mark, also where a chunk boundary cuts it. One native search per value, no text decoding.
 */
export function createExportValueCounter(format: DataValueExportFormat): ExportValueCounter {
  return format === 'csv' ? new CsvRecordCounter() : new MarkCounter(Buffer.from(VALUE_MARKS[format]));
}

const QUOTE = 0x22;
const NEWLINE = 0x0a;

class CsvRecordCounter implements ExportValueCounter {
  private records = 0;
  private inQuotes = false;

  get values(): number {
    // The first record is the header.
    return Math.max(0, this.records - 1);
  }

  add(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let pos = 0;
    // Quotes are rare (only fields with a comma, quote or line break), so the next one is looked up
    // again only once passed: one search per record, not one per record and quote.
    let quote = bytes.indexOf(QUOTE, pos);
    while (pos < bytes.length) {
      if (this.inQuotes) {
        // A doubled quote inside a field closes and reopens it: the toggling stays right.
        if (quote < 0) return;
        this.inQuotes = false;
        pos = quote + 1;
        quote = bytes.indexOf(QUOTE, pos);
        continue;
      }
      const newline = bytes.indexOf(NEWLINE, pos);
      if (quote >= 0 && (newline < 0 || quote < newline)) {
        this.inQuotes = true;
        pos = quote + 1;
        quote = bytes.indexOf(QUOTE, pos);
        continue;
      }
      if (newline < 0) return;
      this.records++;
      pos = newline + 1;
    }
  }
}

class MarkCounter implements ExportValueCounter {
  values = 0;
  private readonly mark: Buffer;
  /** The last `mark.length - 1` bytes seen: a mark may start there and end in the next chunk. */
  private tail: Buffer = Buffer.alloc(0);

  constructor(mark: Buffer) {
    this.mark = mark;
  }

  add(chunk: Uint8Array): void {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const keep = this.mark.length - 1;
    if (this.tail.length > 0) {
      // Neither side alone can hold a whole mark, so whatever is found here spans the boundary.
      this.values += this.occurrences(Buffer.concat([this.tail, bytes.subarray(0, keep)]));
    }
    this.values += this.occurrences(bytes);
    const joined = bytes.length >= keep ? bytes : Buffer.concat([this.tail, bytes]);
    this.tail = Buffer.from(joined.subarray(joined.length - Math.min(keep, joined.length)));
  }

  private occurrences(bytes: Buffer): number {
    let found = 0;
    for (let at = bytes.indexOf(this.mark); at >= 0; at = bytes.indexOf(this.mark, at + this.mark.length)) {
      found++;
    }
    return found;
  }
}
