import { openInput } from '../../../codecs/input/open-input.ts';
import { InputError } from '../../../codecs/input/input-error.ts';
import { firstInvalidUtf8 } from '../../../codecs/input/utf8-text.ts';
import {
  DelimitedTextError,
  DelimitedTextReader,
  detectDelimiter,
  type DelimitedRecord,
} from './delimited-text.ts';
import {
  DEFAULT_SAMPLE_SIZE,
  isRecordObject,
  SourceConfigError,
  uniqueColumnNames,
  type SourceDescription,
  type SourceFile,
  type SourceRecord,
  type WizardSource,
} from './wizard-source.ts';

/**
 * A CSV (or other delimited) file: delimiter and encoding detected from the first 64 KiB and
 * changeable. Encodings: UTF-8 with or without a BOM, UTF-16 (LE/BE, by BOM or by its NUL bytes),
 * Windows-1252 (what Excel on Windows saves as "CSV"; Latin-1 files read the same for every
 * printable character). Invalid UTF-8 later in a file detected as UTF-8 (a file pasted together from
 * two encodings) stops with the line and the encoding to choose instead: guessing would corrupt
 * names without a word. A gzip or zip-wrapped file is opened with Ferry's bomb limits.
 */
export const CSV_ENCODINGS = ['auto', 'utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'latin1'] as const;
export type CsvEncoding = (typeof CSV_ENCODINGS)[number];

export interface CsvSourceConfig {
  file: SourceFile;
  encoding: CsvEncoding;
  /** `auto`, or the delimiter itself (`,` `;` `\t` `|`). */
  delimiter: string;
  /** 1-based record holding the column names; 0 when the file has none (columns are "Column N"). */
  headerRow: number;
}

const HEAD_BYTES = 64 * 1024;

export function parseCsvSourceConfig(raw: unknown): CsvSourceConfig {
  if (!isRecordObject(raw)) throw new SourceConfigError('source', 'must be an object');
  const file = raw.file as SourceFile | undefined;
  if (!file || typeof file.path !== 'string')
    throw new SourceConfigError('file', 'a CSV source needs a file (--file, or an upload)');
  const encoding = (raw.encoding ?? 'auto') as CsvEncoding;
  if (!CSV_ENCODINGS.includes(encoding))
    throw new SourceConfigError(
      'encoding',
      `\`${String(encoding)}\` is not one of ${CSV_ENCODINGS.join(', ')}`,
    );
  let delimiter = raw.delimiter ?? 'auto';
  if (delimiter === 'tab' || delimiter === '\\t') delimiter = '\t';
  if (
    typeof delimiter !== 'string' ||
    (delimiter !== 'auto' && [...delimiter].length !== 1) ||
    delimiter === '"'
  )
    throw new SourceConfigError('delimiter', 'must be auto or one character other than a quote');
  const headerRow = raw.headerRow ?? 1;
  if (typeof headerRow !== 'number' || !Number.isInteger(headerRow) || headerRow < 0 || headerRow > 1000)
    throw new SourceConfigError('headerRow', 'must be a whole number from 0 (no header) to 1000');
  return {
    file: { path: file.path, fileName: String(file.fileName ?? file.path) },
    encoding,
    delimiter,
    headerRow,
  };
}

/** The encoding of a file's first bytes: a BOM, UTF-16's NUL bytes, valid UTF-8, else Windows-1252. */
export function detectEncoding(head: Uint8Array): {
  encoding: Exclude<CsvEncoding, 'auto' | 'latin1'>;
  bom: boolean;
} {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bom: true };
  if (head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bom: true };
  if (head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bom: true };
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < Math.min(head.length, 4096); i++) {
    if (head[i] === 0) {
      if (i % 2 === 0) evenNul++;
      else oddNul++;
    }
  }
  const pairs = Math.min(head.length, 4096) / 2;
  if (pairs > 0 && oddNul > pairs / 4 && evenNul < oddNul / 8) return { encoding: 'utf-16le', bom: false };
  if (pairs > 0 && evenNul > pairs / 4 && oddNul < evenNul / 8) return { encoding: 'utf-16be', bom: false };
  try {
    // stream: a multi-byte character cut at the sample's end is not an error.
    new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return { encoding: 'utf-8', bom: false };
  } catch {
    return { encoding: 'windows-1252', bom: false };
  }
}

interface OpenedText {
  encoding: string;
  bom: boolean;
  text: AsyncIterable<string>;
}

async function openText(config: CsvSourceConfig, signal?: AbortSignal): Promise<OpenedText> {
  const { fileName } = config.file;
  const input = await openInput(config.file.path, fileName);
  const iterator = input.chunks[Symbol.asyncIterator]();
  // The head: enough bytes to detect the encoding, kept and decoded first.
  const held: Uint8Array[] = [];
  let heldBytes = 0;
  let done = false;
  while (heldBytes < HEAD_BYTES) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    held.push(next.value);
    heldBytes += next.value.length;
  }
  const head = Buffer.concat(held);
  const detected = detectEncoding(head);
  const encoding =
    config.encoding === 'auto'
      ? detected.encoding
      : config.encoding === 'latin1'
        ? 'windows-1252'
        : config.encoding;
  const fatal = encoding === 'utf-8';
  const decoder = new TextDecoder(encoding, { fatal });
  async function* text(): AsyncIterable<string> {
    let lines = 1;
    let bytes = 0;
    const decode = (chunk: Uint8Array, stream: boolean): string => {
      try {
        const out = decoder.decode(chunk, { stream });
        return out;
      } catch {
        // The first bad byte and its line: the chunk's bytes before it, counted from the lines
        // already passed.
        const bad = Math.max(0, firstInvalidUtf8(chunk));
        let line = lines;
        for (let i = 0; i < bad; i++) if (chunk[i] === 0x0a) line++;
        throw new InputError(
          fileName,
          `is not valid UTF-8 at line ${line} (byte ${bytes + bad}): the file mixes encodings. ` +
            'Choose the encoding windows-1252 (Excel on Windows) or save the file as UTF-8',
        );
      }
    };
    const emit = (chunk: Uint8Array, stream: boolean): string => {
      const out = decode(chunk, stream);
      bytes += chunk.length;
      for (let i = out.indexOf('\n'); i !== -1; i = out.indexOf('\n', i + 1)) lines++;
      return out;
    };
    try {
      if (head.length > 0) {
        signal?.throwIfAborted();
        const out = emit(head, true);
        if (out.length > 0) yield out;
      }
      while (!done) {
        signal?.throwIfAborted();
        const next = await iterator.next();
        if (next.done) break;
        const out = emit(next.value, true);
        if (out.length > 0) yield out;
      }
      const rest = emit(new Uint8Array(0), false);
      if (rest.length > 0) yield rest;
    } finally {
      await iterator.return?.();
    }
  }
  return { encoding, bom: detected.bom && config.encoding === 'auto', text: text() };
}

async function* records(
  config: CsvSourceConfig,
  opened: OpenedText,
  delimiter: string,
): AsyncIterable<DelimitedRecord[]> {
  const reader = new DelimitedTextReader(delimiter);
  const out: DelimitedRecord[] = [];
  const fail = (error: unknown): never => {
    if (error instanceof DelimitedTextError)
      throw new InputError(config.file.fileName, error.message, { line: error.line });
    throw error;
  };
  for await (const chunk of opened.text) {
    try {
      reader.push(chunk, out);
    } catch (error) {
      fail(error);
    }
    if (out.length > 0) yield out.splice(0);
  }
  try {
    reader.end(out);
  } catch (error) {
    fail(error);
  }
  if (out.length > 0) yield out.splice(0);
}

async function delimiterOf(config: CsvSourceConfig, signal?: AbortSignal): Promise<string> {
  if (config.delimiter !== 'auto') return config.delimiter;
  const opened = await openText(config, signal);
  let head = '';
  for await (const chunk of opened.text) {
    head += chunk;
    if (head.length >= 16 * 1024) break;
  }
  return detectDelimiter(head);
}

async function* csvRecords(
  config: CsvSourceConfig,
  signal: AbortSignal | undefined,
  found: (info: { encoding: string; bom: boolean; delimiter: string; columns: string[] }) => void,
): AsyncIterable<SourceRecord> {
  const delimiter = await delimiterOf(config, signal);
  const opened = await openText(config, signal);
  let columns: string[] | undefined;
  let recordNumber = 0;
  if (config.headerRow === 0) columns = [];
  let announced = false;
  for await (const batch of records(config, opened, delimiter)) {
    for (const record of batch) {
      recordNumber++;
      if (config.headerRow > 0 && recordNumber < config.headerRow) continue;
      if (config.headerRow > 0 && recordNumber === config.headerRow) {
        columns = uniqueColumnNames(record.fields);
        found({ encoding: opened.encoding, bom: opened.bom, delimiter, columns });
        announced = true;
        continue;
      }
      const names = columns!;
      // Without a header row, columns are numbered; a longer row adds columns.
      if (config.headerRow === 0)
        while (names.length < record.fields.length) names.push(`Column ${names.length + 1}`);
      if (!announced) {
        found({ encoding: opened.encoding, bom: opened.bom, delimiter, columns: names });
        announced = true;
      }
      const values: Record<string, string | null> = {};
      for (let i = 0; i < names.length; i++) {
        const value = record.fields[i];
        values[names[i]] = value === undefined || value === '' ? null : value;
      }
      const issues =
        record.fields.length > names.length
          ? [
              {
                column: names[names.length - 1] ?? '',
                message: `the row has ${record.fields.length} fields and the header ${names.length}; the extra fields are not read`,
              },
            ]
          : undefined;
      yield issues
        ? { values, locator: { row: record.line }, issues }
        : { values, locator: { row: record.line } };
    }
  }
  if (!announced) found({ encoding: opened.encoding, bom: opened.bom, delimiter, columns: columns ?? [] });
}

export const csvSource: WizardSource<CsvSourceConfig> = {
  kind: 'csv',
  parseConfig: parseCsvSourceConfig,
  async describe(config, signal, sampleSize = DEFAULT_SAMPLE_SIZE): Promise<SourceDescription> {
    let info: { encoding: string; bom: boolean; delimiter: string; columns: string[] } | undefined;
    const sample: SourceRecord[] = [];
    for await (const record of csvRecords(config, signal, (i) => (info = i))) {
      if (sample.length >= sampleSize) break;
      sample.push(record);
    }
    return {
      columns: info?.columns ?? [],
      sample,
      detected: {
        encoding: info?.encoding,
        bom: info?.bom ?? false,
        delimiter: info?.delimiter,
        headerRow: config.headerRow,
      },
    };
  },
  open(config, signal) {
    return csvRecords(config, signal, () => {});
  },
};
