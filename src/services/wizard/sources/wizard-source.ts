/**
 * What the import wizard reads from: a file (CSV, Excel, JSON) today, an API, another instance or
 * Go.Data later. Every source yields flat records (column name → text) one at a time, each with a
 * locator that says where it came from, so an error in the preview or the import names the row,
 * sheet, cell or JSON path a data manager can find in the original. Sources stream: a record is
 * handed on before the next is read, and nothing holds the whole input.
 */

/** Where a record (or one of its values) came from, for messages. */
export interface SourceLocator {
  /** 1-based: the CSV line, the sheet row, the JSON array index + 1, the API record number. */
  row: number;
  /** Excel: the sheet's name. */
  sheet?: string;
  /** JSON/API: the path of the record (`$.cases[12]`). */
  path?: string;
  /** Excel: the cell address of each column (`{"Malaria cases": "C7"}`), for cell-level messages. */
  cells?: Record<string, string>;
}

/** A problem with one value or record found while reading (a formula without a result, a cell error). */
export interface SourceIssue {
  column: string;
  /** A cell address or JSON path, where there is one. */
  where?: string;
  message: string;
}

export interface SourceRecord {
  /** Column (or cell address, or flattened JSON key) → text; null for an empty cell or JSON null. */
  values: Record<string, string | null>;
  locator: SourceLocator;
  /** Values the source could not read; the mapping reports them against the fields that use them. */
  issues?: SourceIssue[];
  /** JSON/API: the record as read, for targets that take nested lists (a case's visits as events). */
  raw?: unknown;
}

/** What the wizard's first step shows: the columns found, a few records, and how the file was read. */
export interface SourceDescription {
  columns: string[];
  sample: SourceRecord[];
  /** What was detected or chosen (encoding, delimiter, sheet names, record path), to show and change. */
  detected: Record<string, unknown>;
}

/** Records at most shown by `describe` (and its default). */
export const DEFAULT_SAMPLE_SIZE = 20;

export interface WizardSource<Config> {
  readonly kind: string;
  /** Checks and completes a configuration (defaults filled in); throws SourceConfigError. */
  parseConfig(raw: unknown): Config;
  /** Columns and a sample; reads only as much of the input as the sample needs. */
  describe(config: Config, signal?: AbortSignal, sampleSize?: number): Promise<SourceDescription>;
  /** Every record in order. Stops (throws the signal's reason) when `signal` aborts. */
  open(config: Config, signal?: AbortSignal): AsyncIterable<SourceRecord>;
}

/** A file a source reads: already on disk (an upload spooled, or a path given at the command line). */
export interface SourceFile {
  path: string;
  /** The name shown in messages (the upload's own name). */
  fileName: string;
}

/** A source configuration that cannot be used: names the option and what is allowed. */
export class SourceConfigError extends Error {
  readonly option: string;
  constructor(option: string, message: string) {
    super(`Source option \`${option}\`: ${message}`);
    this.option = option;
  }
}

export function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Header names made unique and never empty: a blank header is "Column N", a repeat gets " (2)". */
export function uniqueColumnNames(raw: readonly (string | null | undefined)[]): string[] {
  const seen = new Map<string, number>();
  return raw.map((name, i) => {
    let base = (name ?? '').trim();
    if (base === '') base = `Column ${i + 1}`;
    const count = (seen.get(base) ?? 0) + 1;
    seen.set(base, count);
    return count === 1 ? base : `${base} (${count})`;
  });
}
