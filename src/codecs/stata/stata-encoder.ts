/**
 * Stata .dta format 118 (Stata 14+, UTF-8, little-endian), written as a stream. The layout is the
 * tagged one of 117+: a header, a `<map>` of section offsets that readers seek by, the dictionary
 * in fixed-width slots, the data as fixed-width records, strL contents (GSO blocks) and value
 * label tables. Every offset is computed before the first byte is written (string widths and strL
 * sizes come from a pass over the rows), so nothing is patched afterwards and no file is held in
 * memory. Reference: docs/formats/analysis-exports.md.
 */

/** How a variable is stored. `str` holds 1..2045 bytes; longer text is a `strL`. */
export type StataStorage =
  { type: 'str'; width: number } | { type: 'strL' } | { type: 'byte' | 'int' | 'long' | 'float' | 'double' };

export interface StataVariable {
  /** A legal, unique name of at most 32 characters. */
  name: string;
  /** Cut to 80 characters (321 bytes) on a character boundary. */
  label: string;
  storage: StataStorage;
  /** Display format: `%9.0g`, `%td`, `%tc`, `%9s`, … */
  format: string;
  /** The value label set of this variable, by name; empty for none. */
  valueLabels?: string;
}

export interface StataValueLabelSet {
  name: string;
  /** Integer values, or an extended missing letter (`a`..`z`). */
  entries: readonly { value: number | string; label: string }[];
}

/**
 * A cell: a number; null (system missing `.`); a single letter `a`..`z` for an extended missing
 * value in a numeric variable; text in a string variable (null is the empty string there).
 */
export type StataCell = number | string | null;

export interface StataTable {
  /** The data set label (80 characters at most). */
  label: string;
  timestamp: Date;
  variables: readonly StataVariable[];
  valueLabelSets: readonly StataValueLabelSet[];
  rowCount: number;
  /** The rows, in order; called once for the data and once more for strL contents, if any. */
  rows: () => AsyncIterable<readonly StataCell[]>;
}

export const STATA_MAX_STR = 2045;
export const STATA_MAX_VARIABLES = 32_767;

const TYPE_CODES = {
  double: 65526,
  float: 65527,
  long: 65528,
  int: 65529,
  byte: 65530,
  strL: 32768,
} as const;
const BYTES = { double: 8, float: 4, long: 4, int: 2, byte: 1, strL: 8 } as const;
/** System missing `.` per numeric type; `.a` is one more (byte/int/long) or the next step (float/double). */
const MISSING_BASE = { byte: 0x65, int: 0x7fe5, long: 0x7fffffe5 } as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const ascii = (text: string) => Buffer.from(text, 'latin1');

function utf8Cut(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  // Back off continuation bytes (10xxxxxx) so no character is split.
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function fixed(text: string, width: number, maxChars?: number): Buffer {
  const slot = Buffer.alloc(width);
  const chars = maxChars === undefined ? text : [...text].slice(0, maxChars).join('');
  // Slots are NUL-terminated: at most width-1 bytes of text.
  utf8Cut(chars, width - 1).copy(slot);
  return slot;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}
function i32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}
function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
}

function tag(name: string, body: Buffer | Buffer[]): Buffer {
  return Buffer.concat([ascii(`<${name}>`), ...(Array.isArray(body) ? body : [body]), ascii(`</${name}>`)]);
}

/** The int32 code of an extended missing letter in a value label table (`.a` = 0x7FFFFFE6). */
function labelKey(value: number | string): number {
  if (typeof value === 'number') return value;
  return MISSING_BASE.long + 1 + (value.charCodeAt(0) - 97);
}

function missingLetter(cell: string): number {
  const code = cell.charCodeAt(0) - 97;
  if (cell.length !== 1 || code < 0 || code > 25) throw new Error(`Not an extended missing value: ${cell}`);
  return code;
}

/** Writes one numeric cell into `record` at `offset`. */
function writeNumber(
  record: Buffer,
  offset: number,
  type: keyof typeof MISSING_BASE | 'float' | 'double',
  cell: StataCell,
): void {
  if (typeof cell === 'string') {
    const letter = missingLetter(cell) + 1;
    switch (type) {
      case 'byte':
        record.writeInt8(MISSING_BASE.byte + letter, offset);
        return;
      case 'int':
        record.writeInt16LE(MISSING_BASE.int + letter, offset);
        return;
      case 'long':
        record.writeInt32LE(MISSING_BASE.long + letter, offset);
        return;
      case 'float':
        record.writeUInt32LE(0x7f000000 + letter * 0x800, offset);
        return;
      case 'double':
        record.writeBigUInt64LE(0x7fe0000000000000n + BigInt(letter) * (1n << 40n), offset);
        return;
    }
  }
  if (cell === null || !Number.isFinite(cell)) {
    switch (type) {
      case 'byte':
        record.writeInt8(MISSING_BASE.byte, offset);
        return;
      case 'int':
        record.writeInt16LE(MISSING_BASE.int, offset);
        return;
      case 'long':
        record.writeInt32LE(MISSING_BASE.long, offset);
        return;
      case 'float':
        record.writeUInt32LE(0x7f000000, offset);
        return;
      case 'double':
        record.writeBigUInt64LE(0x7fe0000000000000n, offset);
        return;
    }
  }
  switch (type) {
    case 'byte':
      record.writeInt8(cell, offset);
      return;
    case 'int':
      record.writeInt16LE(cell, offset);
      return;
    case 'long':
      record.writeInt32LE(cell, offset);
      return;
    case 'float':
      record.writeFloatLE(cell, offset);
      return;
    case 'double':
      record.writeDoubleLE(cell, offset);
      return;
  }
}

function timestamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}`;
}

function valueLabelTable(set: StataValueLabelSet): Buffer {
  const entries = set.entries
    .map((e) => ({ key: labelKey(e.value), text: utf8Cut(e.label, 32_000) }))
    .sort((a, b) => a.key - b.key);
  const offsets: Buffer[] = [];
  const values: Buffer[] = [];
  const texts: Buffer[] = [];
  let textLength = 0;
  for (const entry of entries) {
    offsets.push(i32(textLength));
    values.push(i32(entry.key));
    texts.push(entry.text, Buffer.alloc(1));
    textLength += entry.text.length + 1;
  }
  const tableLength = 8 + 8 * entries.length + textLength;
  return tag('lbl', [
    i32(tableLength),
    fixed(set.name, 129),
    Buffer.alloc(3),
    i32(entries.length),
    i32(textLength),
    ...offsets,
    ...values,
    ...texts,
  ]);
}

function cellWidth(storage: StataStorage): number {
  return storage.type === 'str' ? storage.width : BYTES[storage.type];
}

/** Throws on a table Stata cannot hold, before any byte is written. */
function checkTable(table: StataTable): void {
  if (table.variables.length === 0) throw new Error('A Stata file needs at least one variable');
  if (table.variables.length > STATA_MAX_VARIABLES)
    throw new Error(
      `A Stata 118 file holds at most ${STATA_MAX_VARIABLES} variables, not ${table.variables.length}`,
    );
  for (const variable of table.variables) {
    if (
      variable.storage.type === 'str' &&
      (variable.storage.width < 1 || variable.storage.width > STATA_MAX_STR)
    )
      throw new Error(
        `Variable ${variable.name}: str width ${variable.storage.width} is outside 1..${STATA_MAX_STR}`,
      );
  }
}

/**
 * The .dta file as a stream of chunks. Rows must match `variables` (one cell per variable); text
 * longer than a `str` variable's width is cut on a character boundary (callers size the widths from
 * the data so that never happens).
 */
export async function* encodeStata(table: StataTable): AsyncIterable<Uint8Array> {
  checkTable(table);
  const variables = table.variables;
  const strLColumns = variables.flatMap((v, i) => (v.storage.type === 'strL' ? [i] : []));
  // strL contents go after the data; their total size is needed for the map.
  let strlBytes = 0;
  if (strLColumns.length > 0) {
    for await (const row of table.rows()) {
      for (const i of strLColumns) {
        const cell = row[i];
        if (typeof cell === 'string' && cell !== '')
          strlBytes += 3 + 4 + 8 + 1 + 4 + Buffer.byteLength(cell) + 1;
      }
    }
  }
  const widths = variables.map((v) => cellWidth(v.storage));
  const recordLength = widths.reduce((a, b) => a + b, 0);
  const label = utf8Cut([...table.label].slice(0, 80).join(''), 320);

  const header = tag('header', [
    tag('release', ascii('118')),
    tag('byteorder', ascii('LSF')),
    tag('K', u16(variables.length)),
    tag('N', u64(table.rowCount)),
    tag('label', [u16(label.length), label]),
    tag('timestamp', [Buffer.from([17]), ascii(timestamp(table.timestamp))]),
  ]);
  const start = ascii('<stata_dta>');
  const mapLength = ascii('<map>').length + 14 * 8 + ascii('</map>').length;
  const sections = [
    tag(
      'variable_types',
      variables.map((v) => u16(v.storage.type === 'str' ? v.storage.width : TYPE_CODES[v.storage.type])),
    ),
    tag(
      'varnames',
      variables.map((v) => fixed(v.name, 129, 32)),
    ),
    tag('sortlist', Buffer.alloc(2 * (variables.length + 1))),
    tag(
      'formats',
      variables.map((v) => fixed(v.format, 57)),
    ),
    tag(
      'value_label_names',
      variables.map((v) => fixed(v.valueLabels ?? '', 129)),
    ),
    tag(
      'variable_labels',
      variables.map((v) => fixed(v.label, 321, 80)),
    ),
    tag('characteristics', []),
  ];
  const offsets: number[] = [0];
  let position = start.length + header.length;
  offsets.push(position); // <map>
  position += mapLength;
  for (const section of sections) {
    offsets.push(position);
    position += section.length;
  }
  offsets.push(position); // <data>
  const dataLength = ascii('<data>').length + recordLength * table.rowCount + ascii('</data>').length;
  position += dataLength;
  offsets.push(position); // <strls>
  position += ascii('<strls>').length + strlBytes + ascii('</strls>').length;
  offsets.push(position); // <value_labels>
  const labelTables = table.valueLabelSets.map(valueLabelTable);
  position += tag('value_labels', labelTables).length;
  offsets.push(position); // </stata_dta>
  position += ascii('</stata_dta>').length;
  offsets.push(position); // end of file
  yield Buffer.concat([start, header, tag('map', offsets.map(u64)), ...sections, ascii('<data>')]);

  // Data: fixed-width records, written in blocks of about 256 KB.
  const rowsPerBlock = Math.max(1, Math.floor(262_144 / Math.max(1, recordLength)));
  let block = Buffer.alloc(recordLength * rowsPerBlock);
  let inBlock = 0;
  let written = 0;
  for await (const row of table.rows()) {
    if (written >= table.rowCount) throw new Error(`More rows than the ${table.rowCount} announced`);
    const record = block.subarray(inBlock * recordLength, (inBlock + 1) * recordLength);
    record.fill(0);
    let offset = 0;
    for (let i = 0; i < variables.length; i++) {
      const storage = variables[i].storage;
      const cell = row[i] ?? null;
      if (storage.type === 'str') {
        if (cell !== null) utf8Cut(String(cell), storage.width).copy(record, offset);
      } else if (storage.type === 'strL') {
        // (v, o) = (variable, observation), 1-based; (0, 0) is the empty string.
        if (typeof cell === 'string' && cell !== '') {
          record.writeUInt16LE(i + 1, offset);
          record.writeUIntLE(written + 1, offset + 2, 6);
        }
      } else {
        writeNumber(record, offset, storage.type, cell);
      }
      offset += widths[i];
    }
    written++;
    inBlock++;
    if (inBlock === rowsPerBlock) {
      yield block;
      block = Buffer.alloc(recordLength * rowsPerBlock);
      inBlock = 0;
    }
  }
  if (inBlock > 0) yield block.subarray(0, inBlock * recordLength);
  if (written !== table.rowCount) throw new Error(`${written} rows written, ${table.rowCount} announced`);
  yield ascii('</data><strls>');

  if (strLColumns.length > 0) {
    let observation = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for await (const row of table.rows()) {
      observation++;
      for (const i of strLColumns) {
        const cell = row[i];
        if (typeof cell !== 'string' || cell === '') continue;
        const text = Buffer.from(cell, 'utf8');
        const head = Buffer.alloc(3 + 4 + 8 + 1 + 4);
        head.write('GSO', 0, 'latin1');
        head.writeUInt32LE(i + 1, 3);
        head.writeBigUInt64LE(BigInt(observation), 7);
        // 0x82: ASCII (text, stored with its NUL terminator, as Stata does).
        head.writeUInt8(0x82, 15);
        head.writeUInt32LE(text.length + 1, 16);
        pending.push(head, text, Buffer.alloc(1));
        pendingBytes += head.length + text.length + 1;
        if (pendingBytes > 262_144) {
          yield Buffer.concat(pending);
          pending = [];
          pendingBytes = 0;
        }
      }
    }
    if (pending.length > 0) yield Buffer.concat(pending);
  }
  yield Buffer.concat([ascii('</strls>'), tag('value_labels', labelTables), ascii('</stata_dta>')]);
}
