import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { INPUT_LIMITS, XLSX_LIMITS } from '../../../codecs/input/input-limits.ts';
import { InputError } from '../../../codecs/input/input-error.ts';
import { decodeUtf8 } from '../../../codecs/input/utf8-text.ts';
import { readXmlEventBatches, type XmlElement, type XmlEvent } from '../../../codecs/xml/safe-xml-reader.ts';
import {
  DEFAULT_SAMPLE_SIZE,
  isRecordObject,
  SourceConfigError,
  uniqueColumnNames,
  type SourceDescription,
  type SourceFile,
  type SourceIssue,
  type SourceRecord,
  type WizardSource,
} from './wizard-source.ts';

/**
 * An Excel workbook (.xlsx), read as the zip of XML parts it is: yauzl opens the parts one at a
 * time and each streams through Ferry's safe XML reader (saxes; no DOCTYPE, depth and size limits),
 * with INPUT_LIMITS' expansion size and ratio per part, so a zip bomb stops after 64 MiB. The
 * sheet itself streams row by row; the shared strings (every distinct text) and the styles (which
 * cells are dates) are the only parts held in memory. Not the npm `xlsx` package: unfixed CVEs.
 *
 * Layouts:
 * - `table`: a line list or wide table: column names from `headerRow`, records from `firstDataRow`.
 * - `cells`: a fixed-layout form: one record per sheet whose columns are cell addresses (`C7`).
 *
 * Values: shared and inline strings; numbers as written (`12`, `0.5`); booleans `true`/`false`;
 * cells formatted as dates as ISO dates (serial numbers, 1900 or 1904 date system); a formula's
 * saved result. A formula saved without its result, and an error value (`#DIV/0!`), read as empty
 * with an issue naming the cell.
 */
export const XLSX_LAYOUTS = ['table', 'cells'] as const;
export type XlsxLayout = (typeof XLSX_LAYOUTS)[number];

export interface XlsxSourceConfig {
  file: SourceFile;
  /** A sheet's name, its 1-based position, or `*` for every sheet. */
  sheet: string | number;
  layout: XlsxLayout;
  /** `table`: 1-based row of the column names; 0 when there is none (columns are the letters A, B, ...). */
  headerRow: number;
  /** `table`: 1-based first row of records. */
  firstDataRow: number;
  /** `cells`: the addresses to read; empty reads every cell that has a value. */
  cells: string[];
}

const CELL_ADDRESS = /^([A-Z]{1,3})([1-9]\d{0,6})$/;

export function parseXlsxSourceConfig(raw: unknown): XlsxSourceConfig {
  if (!isRecordObject(raw)) throw new SourceConfigError('source', 'must be an object');
  const file = raw.file as SourceFile | undefined;
  if (!file || typeof file.path !== 'string')
    throw new SourceConfigError('file', 'an Excel source needs a file (--file, or an upload)');
  const sheet = raw.sheet ?? 1;
  if (
    !(typeof sheet === 'string' && sheet.trim() !== '') &&
    !(typeof sheet === 'number' && Number.isInteger(sheet) && sheet >= 1)
  )
    throw new SourceConfigError('sheet', 'a sheet name, its position from 1, or * for every sheet');
  const layout = (raw.layout ?? 'table') as XlsxLayout;
  if (!XLSX_LAYOUTS.includes(layout)) throw new SourceConfigError('layout', 'table or cells');
  const headerRow = raw.headerRow ?? 1;
  if (typeof headerRow !== 'number' || !Number.isInteger(headerRow) || headerRow < 0)
    throw new SourceConfigError('headerRow', 'a row number from 1, or 0 when there is no header');
  const firstDataRow = raw.firstDataRow ?? headerRow + 1;
  if (typeof firstDataRow !== 'number' || !Number.isInteger(firstDataRow) || firstDataRow <= headerRow)
    throw new SourceConfigError('firstDataRow', `a row number after the header row (${headerRow})`);
  const cellsRaw = raw.cells ?? [];
  if (!Array.isArray(cellsRaw)) throw new SourceConfigError('cells', 'a list of cell addresses such as C7');
  const cells = cellsRaw.map((c) => String(c).trim().toUpperCase().replace(/\$/g, ''));
  for (const cell of cells)
    if (!CELL_ADDRESS.test(cell))
      throw new SourceConfigError('cells', `\`${cell}\` is not a cell address such as C7`);
  return {
    file: { path: file.path, fileName: String(file.fileName ?? file.path) },
    sheet: typeof sheet === 'string' ? sheet.trim() : sheet,
    layout,
    headerRow,
    firstDataRow,
    cells,
  };
}

/** `A` → 1, `AA` → 27. */
export function columnNumber(letters: string): number {
  let n = 0;
  for (const c of letters) n = n * 26 + (c.charCodeAt(0) - 64);
  return n;
}

/** 1 → `A`, 27 → `AA`. */
export function columnLetters(n: number): string {
  let out = '';
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) out = String.fromCharCode(65 + ((x - 1) % 26)) + out;
  return out;
}

/**
 * An Excel serial date as ISO 8601: `2024-03-15`, or with the time when it has one. The 1900
 * system counts 1900-02-29, which never was (Lotus 1-2-3's bug, kept by Excel): serials before it
 * are a day off from a plain count.
 */
export function excelSerialToIso(serial: number, date1904 = false): string | undefined {
  if (!Number.isFinite(serial) || serial < 0 || serial > 2_958_465) return undefined;
  const base = date1904 ? Date.UTC(1904, 0, 1) : Date.UTC(1899, 11, 30);
  const days = !date1904 && serial < 60 ? serial + 1 : serial;
  const ms = base + Math.round((days * 86_400_000) / 1000) * 1000;
  const iso = new Date(ms).toISOString();
  return Number.isInteger(serial) ? iso.slice(0, 10) : iso.slice(0, 19);
}

/** Excel's built-in number formats that show dates or times (ECMA-376 18.8.30). */
const BUILT_IN_DATE_FORMATS = new Set([
  14, 15, 16, 17, 18, 19, 20, 21, 22, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 45, 46, 47, 50, 51, 52, 53, 54,
  55, 56, 57, 58,
]);

/** Whether a custom format code shows a date: d, m, y, h or s outside quotes, brackets and escapes. */
export function isDateFormatCode(code: string): boolean {
  const stripped = code
    .replace(/"[^"]*"/g, '')
    .replace(/\\./g, '')
    .replace(/\[(?!h\]|hh\]|m\]|mm\]|s\]|ss\])[^\]]*\]/gi, '')
    .split(';')[0];
  return /[dmyhs]/i.test(stripped) && !/^general$/i.test(stripped.trim());
}

// ---------------------------------------------------------------------------------------------
// The zip

interface Workbook {
  close(): void;
  names(): string[];
  /** The part's text, streamed; refuses a bomb. Undefined when the part is absent. */
  text(part: string): AsyncIterable<string> | undefined;
}

function openWorkbook(path: string, fileName: string): Promise<Workbook> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, strictFileNames: false }, (openError, zip) => {
      if (openError || !zip) {
        reject(
          new InputError(
            fileName,
            `is not an Excel .xlsx workbook (not a readable zip: ${openError?.message ?? 'unknown'})`,
          ),
        );
        return;
      }
      if (zip.entryCount > XLSX_LIMITS.maxEntries) {
        zip.close();
        reject(
          new InputError(
            fileName,
            `holds ${zip.entryCount} parts; a workbook has at most ${XLSX_LIMITS.maxEntries}; refused`,
          ),
        );
        return;
      }
      const entries = new Map<string, yauzl.Entry>();
      zip.on('error', (error: Error) =>
        reject(new InputError(fileName, `zip archive is corrupt: ${error.message}`)),
      );
      zip.on('entry', (entry: yauzl.Entry) => {
        entries.set(entry.fileName.replace(/^\/+/, ''), entry);
        zip.readEntry();
      });
      zip.on('end', () => {
        resolve({
          close: () => zip.close(),
          names: () => [...entries.keys()],
          text(part) {
            const entry = entries.get(part);
            if (!entry) return undefined;
            return decodeUtf8(inflatePart(zip, entry, fileName), `${fileName}: ${part}`);
          },
        });
      });
      zip.readEntry();
    });
  });
}

/** One part's bytes, with INPUT_LIMITS' size and ratio limits applied as it inflates. */
async function* inflatePart(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  fileName: string,
): AsyncIterable<Uint8Array> {
  const limits = INPUT_LIMITS;
  if (entry.uncompressedSize > limits.maxExpandedBytes)
    throw new InputError(
      fileName,
      `part ${entry.fileName} expands to more than ${limits.maxExpandedBytes} bytes; refused`,
    );
  const stream = await new Promise<Readable>((resolve, reject) =>
    zip.openReadStream(entry, (error, s) => {
      if (error || !s)
        reject(new InputError(fileName, `part ${entry.fileName} cannot be read: ${error?.message}`));
      else {
        s.on('error', () => {});
        resolve(s);
      }
    }),
  );
  let expanded = 0;
  try {
    for await (const chunk of stream) {
      expanded += (chunk as Uint8Array).length;
      if (expanded > limits.maxExpandedBytes)
        throw new InputError(
          fileName,
          `part ${entry.fileName} expands to more than ${limits.maxExpandedBytes} bytes; refused`,
        );
      if (
        expanded > limits.ratioCheckAfterBytes &&
        expanded / Math.max(1, entry.compressedSize) > limits.maxExpansionRatio
      )
        throw new InputError(
          fileName,
          `part ${entry.fileName} expands more than ${limits.maxExpansionRatio} times its compressed size; refused as a compression bomb`,
        );
      yield chunk as Uint8Array;
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(fileName, `part ${entry.fileName} is corrupt: ${(error as Error).message}`);
  } finally {
    stream.destroy();
  }
}

async function* xmlEvents(
  workbook: Workbook,
  part: string,
  fileName: string,
  captureDepth: number,
): AsyncIterable<XmlEvent[]> {
  const text = workbook.text(part);
  if (!text) return;
  yield* readXmlEventBatches(text, { fileName: `${fileName}: ${part}`, captureDepth });
}

function attribute(element: { attributes: Record<string, string> }, localName: string): string | undefined {
  const attrs = element.attributes;
  if (attrs[localName] !== undefined) return attrs[localName];
  for (const [name, value] of Object.entries(attrs)) if (name.endsWith(`:${localName}`)) return value;
  return undefined;
}

function child(element: XmlElement, localName: string): XmlElement | undefined {
  return element.children.find((c) => c.localName === localName);
}

/** The text of `<t>` runs under an element (a shared or inline string), leaving out phonetic runs. */
function runText(element: XmlElement): string {
  if (element.localName === 't') return element.text;
  if (element.localName === 'rPh') return '';
  let out = '';
  for (const c of element.children) out += runText(c);
  return out;
}

interface SheetRef {
  name: string;
  part: string;
}

interface WorkbookInfo {
  sheets: SheetRef[];
  date1904: boolean;
  sharedStrings: string[];
  /** Per cell style index: whether it shows a date. */
  dateStyles: boolean[];
}

function resolvePart(target: string): string {
  const path = target.startsWith('/') ? target.slice(1) : `xl/${target}`;
  const parts: string[] = [];
  for (const piece of path.split('/')) {
    if (piece === '..') parts.pop();
    else if (piece !== '.') parts.push(piece);
  }
  return parts.join('/');
}

async function readWorkbookInfo(workbook: Workbook, fileName: string): Promise<WorkbookInfo> {
  if (!workbook.names().includes('xl/workbook.xml'))
    throw new InputError(
      fileName,
      'is a zip but not an Excel .xlsx workbook (no xl/workbook.xml); an old .xls must be saved as .xlsx',
    );
  const rels = new Map<string, string>();
  for await (const batch of xmlEvents(workbook, 'xl/_rels/workbook.xml.rels', fileName, 2))
    for (const event of batch)
      if (event.kind === 'element' && event.element.localName === 'Relationship') {
        const id = attribute(event.element, 'Id');
        const target = attribute(event.element, 'Target');
        if (id && target) rels.set(id, resolvePart(target));
      }
  const sheets: SheetRef[] = [];
  let date1904 = false;
  for await (const batch of xmlEvents(workbook, 'xl/workbook.xml', fileName, 3)) {
    for (const event of batch) {
      if (event.kind === 'open' && event.element.localName === 'workbookPr') {
        const value = attribute(event.element, 'date1904');
        date1904 = value === '1' || value === 'true';
      } else if (event.kind === 'element' && event.element.localName === 'workbookPr') {
        const value = attribute(event.element, 'date1904');
        date1904 = value === '1' || value === 'true';
      } else if (event.kind === 'element' && event.element.localName === 'sheet') {
        const name = attribute(event.element, 'name') ?? `Sheet${sheets.length + 1}`;
        const rid = attribute(event.element, 'id');
        const part = (rid && rels.get(rid)) ?? `xl/worksheets/sheet${sheets.length + 1}.xml`;
        sheets.push({ name, part });
      }
    }
  }
  const sharedStrings: string[] = [];
  let chars = 0;
  for await (const batch of xmlEvents(workbook, 'xl/sharedStrings.xml', fileName, 2))
    for (const event of batch)
      if (event.kind === 'element' && event.element.localName === 'si') {
        const text = runText(event.element);
        chars += text.length;
        if (chars > XLSX_LIMITS.maxSharedStringChars)
          throw new InputError(
            fileName,
            `its shared strings are longer than ${XLSX_LIMITS.maxSharedStringChars} characters; refused`,
          );
        sharedStrings.push(text);
      }
  const customDateFormats = new Set<number>();
  const dateStyles: boolean[] = [];
  let section = '';
  for await (const batch of xmlEvents(workbook, 'xl/styles.xml', fileName, 3)) {
    for (const event of batch) {
      if (event.kind === 'open' && event.element.depth === 2) section = event.element.localName;
      else if (event.kind === 'element' && section === 'numFmts' && event.element.localName === 'numFmt') {
        const id = Number(attribute(event.element, 'numFmtId'));
        if (isDateFormatCode(attribute(event.element, 'formatCode') ?? '')) customDateFormats.add(id);
      } else if (event.kind === 'element' && section === 'cellXfs' && event.element.localName === 'xf') {
        const id = Number(attribute(event.element, 'numFmtId') ?? 0);
        dateStyles.push(BUILT_IN_DATE_FORMATS.has(id) || customDateFormats.has(id));
      }
    }
  }
  return { sheets, date1904, sharedStrings, dateStyles };
}

// ---------------------------------------------------------------------------------------------
// Cells and rows

interface Cell {
  address: string;
  column: number;
  value: string | null;
  issue?: string;
}

function readCell(c: XmlElement, column: number, row: number, info: WorkbookInfo): Cell {
  const address = `${columnLetters(column)}${row}`;
  const type = attribute(c, 't') ?? 'n';
  const v = child(c, 'v');
  const f = child(c, 'f');
  const raw = v?.text;
  if (type === 'inlineStr') {
    const is = child(c, 'is');
    return { address, column, value: is ? runText(is) : null };
  }
  if (raw === undefined || raw === '') {
    if (f)
      return {
        address,
        column,
        value: null,
        issue: `the formula =${f.text || '(shared)'} has no saved result; open the workbook in Excel or LibreOffice and save it, or type the value`,
      };
    return { address, column, value: null };
  }
  switch (type) {
    case 's': {
      const text = info.sharedStrings[Number(raw)];
      if (text === undefined)
        return {
          address,
          column,
          value: null,
          issue: `refers to shared string ${raw}, which the workbook does not have`,
        };
      return { address, column, value: text };
    }
    case 'b':
      return { address, column, value: raw === '1' ? 'true' : 'false' };
    case 'e':
      return {
        address,
        column,
        value: null,
        issue: `holds the error ${raw}${f ? ` (formula =${f.text})` : ''}`,
      };
    case 'str':
    case 'd':
      return { address, column, value: raw };
    default: {
      const style = Number(attribute(c, 's') ?? 0);
      if (info.dateStyles[style]) {
        const iso = excelSerialToIso(Number(raw), info.date1904);
        if (iso) return { address, column, value: iso };
      }
      return { address, column, value: raw };
    }
  }
}

interface SheetRow {
  row: number;
  cells: Cell[];
}

async function* sheetRows(
  workbook: Workbook,
  fileName: string,
  sheet: SheetRef,
  info: WorkbookInfo,
  signal?: AbortSignal,
): AsyncIterable<SheetRow[]> {
  if (!workbook.names().includes(sheet.part))
    throw new InputError(fileName, `sheet '${sheet.name}' has no part ${sheet.part}`);
  let lastRow = 0;
  for await (const batch of xmlEvents(workbook, sheet.part, fileName, 3)) {
    signal?.throwIfAborted();
    const rows: SheetRow[] = [];
    for (const event of batch) {
      if (event.kind !== 'element' || event.element.localName !== 'row') continue;
      const row = Number(attribute(event.element, 'r') ?? lastRow + 1);
      lastRow = row;
      const cells: Cell[] = [];
      let lastColumn = 0;
      for (const c of event.element.children) {
        if (c.localName !== 'c') continue;
        const ref = attribute(c, 'r');
        const match = ref ? /^([A-Z]+)/.exec(ref) : null;
        const column = match ? columnNumber(match[1]) : lastColumn + 1;
        lastColumn = column;
        cells.push(readCell(c, column, row, info));
      }
      rows.push({ row, cells });
    }
    if (rows.length > 0) yield rows;
  }
}

function selectSheets(info: WorkbookInfo, config: XlsxSourceConfig): SheetRef[] {
  if (config.sheet === '*') return info.sheets;
  if (typeof config.sheet === 'number') {
    const sheet = info.sheets[config.sheet - 1];
    if (!sheet)
      throw new SourceConfigError(
        'sheet',
        `the workbook has ${info.sheets.length} sheet(s); there is no sheet ${config.sheet}`,
      );
    return [sheet];
  }
  const sheet =
    info.sheets.find((s) => s.name === config.sheet) ??
    info.sheets.find((s) => s.name.toLowerCase() === String(config.sheet).toLowerCase());
  if (!sheet)
    throw new SourceConfigError(
      'sheet',
      `no sheet named '${config.sheet}'; the workbook has ${info.sheets.map((s) => `'${s.name}'`).join(', ')}`,
    );
  return [sheet];
}

async function* tableRecords(
  workbook: Workbook,
  config: XlsxSourceConfig,
  info: WorkbookInfo,
  sheet: SheetRef,
  onColumns: (columns: string[]) => void,
  signal?: AbortSignal,
): AsyncIterable<SourceRecord> {
  const { fileName } = config.file;
  // Column number → name; from the header row, or the letters when there is none.
  let names = new Map<number, string>();
  let announced = false;
  const announce = () => {
    if (!announced) onColumns([...names.values()]);
    announced = true;
  };
  for await (const rows of sheetRows(workbook, fileName, sheet, info, signal)) {
    for (const { row, cells } of rows) {
      if (config.headerRow > 0 && row === config.headerRow) {
        const present = cells.filter((c) => c.value !== null && c.value.trim() !== '');
        const unique = uniqueColumnNames(present.map((c) => c.value));
        names = new Map(present.map((c, i) => [c.column, unique[i]]));
        announce();
        continue;
      }
      if (row < config.firstDataRow) continue;
      if (config.headerRow === 0)
        for (const c of cells) if (!names.has(c.column)) names.set(c.column, columnLetters(c.column));
      if (config.headerRow > 0 && !announced)
        throw new InputError(
          fileName,
          `sheet '${sheet.name}' has nothing in its header row ${config.headerRow}`,
        );
      if (cells.every((c) => c.value === null && !c.issue)) continue;
      const values: Record<string, string | null> = {};
      const where: Record<string, string> = {};
      for (const name of names.values()) values[name] = null;
      const issues: SourceIssue[] = [];
      for (const cell of cells) {
        const name = names.get(cell.column);
        if (name === undefined) continue;
        values[name] = cell.value;
        where[name] = cell.address;
        if (cell.issue)
          issues.push({
            column: name,
            where: `${sheet.name}!${cell.address}`,
            message: `cell ${cell.address} ${cell.issue}`,
          });
      }
      const record: SourceRecord = { values, locator: { row, sheet: sheet.name, cells: where } };
      if (issues.length > 0) record.issues = issues;
      yield record;
    }
  }
  announce();
}

async function formRecord(
  workbook: Workbook,
  config: XlsxSourceConfig,
  info: WorkbookInfo,
  sheet: SheetRef,
  index: number,
  signal?: AbortSignal,
): Promise<SourceRecord> {
  const { fileName } = config.file;
  const wanted = config.cells.length > 0 ? new Set(config.cells) : undefined;
  const values: Record<string, string | null> = {};
  const cells: Record<string, string> = {};
  const issues: SourceIssue[] = [];
  if (wanted) for (const address of wanted) values[address] = null;
  let count = 0;
  for await (const rows of sheetRows(workbook, fileName, sheet, info, signal)) {
    for (const { cells: row } of rows) {
      for (const cell of row) {
        if (wanted ? !wanted.has(cell.address) : cell.value === null && !cell.issue) continue;
        if (!wanted && ++count > XLSX_LIMITS.maxFormCells)
          throw new InputError(
            fileName,
            `sheet '${sheet.name}' has more than ${XLSX_LIMITS.maxFormCells} cells with values; name the cells the form uses`,
          );
        values[cell.address] = cell.value;
        cells[cell.address] = cell.address;
        if (cell.issue)
          issues.push({
            column: cell.address,
            where: `${sheet.name}!${cell.address}`,
            message: `cell ${cell.address} ${cell.issue}`,
          });
      }
    }
  }
  const record: SourceRecord = { values, locator: { row: index + 1, sheet: sheet.name, cells } };
  if (issues.length > 0) record.issues = issues;
  return record;
}

async function* xlsxRecords(
  config: XlsxSourceConfig,
  signal: AbortSignal | undefined,
  found: (info: { sheets: string[]; columns: string[] }) => void,
): AsyncIterable<SourceRecord> {
  const { fileName } = config.file;
  const workbook = await openWorkbook(config.file.path, fileName);
  try {
    const info = await readWorkbookInfo(workbook, fileName);
    const sheets = selectSheets(info, config);
    const sheetNames = info.sheets.map((s) => s.name);
    if (config.layout === 'cells') {
      const columns = new Set<string>(config.cells);
      for (let i = 0; i < sheets.length; i++) {
        const record = await formRecord(workbook, config, info, sheets[i], i, signal);
        for (const key of Object.keys(record.values)) columns.add(key);
        if (i === sheets.length - 1 || config.cells.length > 0)
          found({ sheets: sheetNames, columns: [...columns] });
        yield record;
      }
      if (sheets.length === 0) found({ sheets: sheetNames, columns: [...columns] });
      return;
    }
    for (const sheet of sheets) {
      yield* tableRecords(
        workbook,
        config,
        info,
        sheet,
        (columns) => found({ sheets: sheetNames, columns }),
        signal,
      );
    }
  } finally {
    workbook.close();
  }
}

export const xlsxSource: WizardSource<XlsxSourceConfig> = {
  kind: 'xlsx',
  parseConfig: parseXlsxSourceConfig,
  async describe(config, signal, sampleSize = DEFAULT_SAMPLE_SIZE): Promise<SourceDescription> {
    let info: { sheets: string[]; columns: string[] } | undefined;
    const sample: SourceRecord[] = [];
    for await (const record of xlsxRecords(config, signal, (i) => (info = i))) {
      sample.push(record);
      if (sample.length >= sampleSize) break;
    }
    return {
      columns: info?.columns ?? [],
      sample,
      detected: {
        sheets: info?.sheets ?? [],
        sheet: config.sheet,
        layout: config.layout,
        headerRow: config.headerRow,
        firstDataRow: config.firstDataRow,
      },
    };
  },
  open(config, signal) {
    return xlsxRecords(config, signal, () => {});
  },
};
