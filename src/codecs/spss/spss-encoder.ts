/**
 * SPSS system files (.sav), written as a stream: the `$FL2` header, a variable record per 8-byte
 * slot, value labels, the machine records (7.3 integer info with code page 65001 = UTF-8, 7.4
 * floating point info, 7.13 long names, 7.14 very long strings, 7.16 the 64-bit case count, 7.20
 * the encoding name), then the cases, bytecode-compressed or not. Strings over 255 bytes are "very
 * long strings": ceil(width / 252) segments, each but the last a 255-byte variable holding 255
 * bytes of the text (the last is sized width - 252 * (segments - 1), pspp's rule). Reference:
 * docs/formats/analysis-exports.md.
 */

export type SpssFormat = 'F' | 'DATE' | 'DATETIME' | 'A';

export interface SpssVariable {
  /** A legal, unique long name of at most 64 bytes (record 7.13). */
  name: string;
  label: string;
  /** 0 for a number; the width in bytes (1..32767) for a string. */
  width: number;
  /** Display format; numbers: F with `decimals`, DATE (a day), DATETIME. */
  format: SpssFormat;
  decimals?: number;
  /** Discrete user-missing values (at most 3, numeric variables). */
  missing?: readonly number[];
  /** Value labels (numeric variables). */
  valueLabels?: readonly { value: number; label: string }[];
}

/** A cell: a number or null (system missing) in a numeric variable; text in a string one. */
export type SpssCell = number | string | null;

export interface SpssTable {
  label: string;
  created: Date;
  variables: readonly SpssVariable[];
  rowCount: number;
  rows: () => AsyncIterable<readonly SpssCell[]>;
  /** Bytecode compression (SPSS's default); uncompressed when false. */
  compress?: boolean;
}

export const SPSS_MAX_STRING = 32_767;
const SYSMIS = -Number.MAX_VALUE;
const BIAS = 100;
const FORMAT_CODES: Record<SpssFormat, number> = { A: 1, F: 5, DATE: 20, DATETIME: 22 };
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function utf8Cut(text: string, maxBytes: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return bytes;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

function spaced(text: string, width: number): Buffer {
  const slot = Buffer.alloc(width, 0x20);
  utf8Cut(text, width).copy(slot);
  return slot;
}

function ints(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeInt32LE(v, 4 * i));
  return b;
}

function f64(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(value);
  return b;
}

/** A string's segments: [first byte offset, stored width] (one segment up to 255 bytes). */
function segments(width: number): { offset: number; width: number }[] {
  if (width <= 255) return [{ offset: 0, width }];
  const count = Math.ceil(width / 252);
  return Array.from({ length: count }, (_, k) => ({
    offset: 255 * k,
    width: k < count - 1 ? 255 : width - 252 * (count - 1),
  }));
}

const slotsOf = (width: number) => (width === 0 ? 1 : Math.ceil(width / 8));

/** Unique uppercase short names (8 bytes, ASCII) for every segment, SPSS's internal names. */
function shortNames(variables: readonly SpssVariable[]): string[][] {
  const taken = new Set<string>();
  const unique = (stem: string): string => {
    let name = stem.slice(0, 8);
    for (let n = 1; taken.has(name); n++) {
      const suffix = String(n);
      name = `${stem.slice(0, 8 - suffix.length)}${suffix}`;
    }
    taken.add(name);
    return name;
  };
  return variables.map((variable, index) => {
    const ascii = variable.name
      .normalize('NFKD')
      .replace(/[^A-Za-z0-9_]/g, '')
      .toUpperCase();
    const stem = /^[A-Z]/.test(ascii) ? ascii : `V${index + 1}${ascii}`.replace(/^V(\d+)$/, 'V$1');
    const parts = segments(variable.width);
    return parts.map((_, k) => (k === 0 ? unique(stem) : unique(`${stem.slice(0, 5)}${k}`)));
  });
}

function formatCode(variable: SpssVariable, segmentWidth: number): number {
  if (variable.width > 0) return (FORMAT_CODES.A << 16) | (Math.min(segmentWidth, 255) << 8);
  const [width, decimals] =
    variable.format === 'DATE'
      ? [11, 0]
      : variable.format === 'DATETIME'
        ? [20, 0]
        : [variable.decimals ? 16 : 12, variable.decimals ?? 0];
  return (FORMAT_CODES[variable.format] << 16) | (width << 8) | decimals;
}

function timeText(date: Date): { day: string; time: string } {
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    day: `${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${pad(date.getUTCFullYear() % 100)}`,
    time: `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`,
  };
}

function checkTable(table: SpssTable): void {
  if (table.variables.length === 0) throw new Error('An SPSS file needs at least one variable');
  for (const variable of table.variables) {
    if (variable.width < 0 || variable.width > SPSS_MAX_STRING)
      throw new Error(`Variable ${variable.name}: width ${variable.width} is outside 0..${SPSS_MAX_STRING}`);
    if ((variable.missing?.length ?? 0) > 3)
      throw new Error(`Variable ${variable.name}: at most 3 missing values`);
    if (variable.width > 0 && (variable.missing?.length || variable.valueLabels?.length))
      throw new Error(`Variable ${variable.name}: missing values and value labels are for numeric variables`);
  }
}

/** The dictionary: header, variable records, value labels, machine records, up to record 999. */
function dictionary(table: SpssTable, names: string[][]): Buffer {
  const parts: Buffer[] = [];
  const slots = table.variables.reduce(
    (sum, v) =>
      sum +
      segments(v.width).reduce(
        (s, seg) => s + (v.width === 0 ? 1 : slotsOf(seg.width === 255 ? 256 : seg.width)),
        0,
      ),
    0,
  );
  const { day, time } = timeText(table.created);
  parts.push(
    Buffer.from('$FL2', 'latin1'),
    spaced('@(#) SPSS DATA FILE Ferry', 60),
    ints(2, slots, table.compress === false ? 0 : 1, 0, table.rowCount),
    f64(BIAS),
    Buffer.from(day, 'latin1'),
    Buffer.from(time, 'latin1'),
    spaced(table.label, 64),
    Buffer.alloc(3),
  );
  // Variable records; `index` counts 8-byte slots (1-based), which record 4 refers to.
  let index = 1;
  const labelled: { index: number; variable: SpssVariable }[] = [];
  table.variables.forEach((variable, v) => {
    segments(variable.width).forEach((segment, k) => {
      const label = k === 0 ? utf8Cut(variable.label, 255) : Buffer.alloc(0);
      const missing = k === 0 ? (variable.missing ?? []) : [];
      const format = formatCode(variable, segment.width);
      const name = Buffer.alloc(8, 0x20);
      name.write(names[v][k], 'latin1');
      parts.push(
        ints(
          2,
          variable.width === 0 ? 0 : segment.width,
          label.length > 0 ? 1 : 0,
          missing.length,
          format,
          format,
        ),
        name,
      );
      if (label.length > 0) {
        const padded = Buffer.alloc(Math.ceil(label.length / 4) * 4, 0x20);
        label.copy(padded);
        parts.push(ints(label.length), padded);
      }
      for (const value of missing) parts.push(f64(value));
      if (k === 0 && variable.valueLabels?.length) labelled.push({ index, variable });
      const stored = variable.width === 0 ? 1 : slotsOf(segment.width === 255 ? 256 : segment.width);
      // Continuation records for the rest of a string's slots.
      for (let c = 1; c < stored; c++) parts.push(ints(2, -1, 0, 0, 0, 0), Buffer.alloc(8, 0x20));
      index += stored;
    });
  });
  for (const { index: at, variable } of labelled) {
    const labels = variable.valueLabels ?? [];
    parts.push(ints(3, labels.length));
    for (const { value, label } of labels) {
      const text = utf8Cut(label, 120);
      const entry = Buffer.alloc(Math.ceil((1 + text.length) / 8) * 8, 0x20);
      entry.writeUInt8(text.length, 0);
      text.copy(entry, 1);
      parts.push(f64(value), entry);
    }
    parts.push(ints(4, 1, at));
  }
  // 7.3: version 20.0.0, IEEE floats, compression, little-endian, UTF-8 (code page 65001).
  parts.push(ints(7, 3, 4, 8, 20, 0, 0, -1, 1, table.compress === false ? 0 : 1, 2, 65001));
  // 7.4: system missing, highest and lowest.
  const lowest = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0xff]);
  parts.push(ints(7, 4, 8, 3), f64(SYSMIS), f64(Number.MAX_VALUE), lowest);
  // 7.13: SHORT=LongName pairs, tab-separated; the first segment of each variable only.
  const longNames = Buffer.from(table.variables.map((v, i) => `${names[i][0]}=${v.name}`).join('\t'), 'utf8');
  parts.push(ints(7, 13, 1, longNames.length), longNames);
  // 7.14: SHORT=width\0 then a tab, for each very long string.
  const veryLong = table.variables
    .map((v, i) => (v.width > 255 ? `${names[i][0]}=${String(v.width).padStart(5, '0')}\0\t` : ''))
    .join('');
  if (veryLong) {
    const bytes = Buffer.from(veryLong, 'latin1');
    parts.push(ints(7, 14, 1, bytes.length), bytes);
  }
  // 7.16: the case count as 64 bits.
  const count = Buffer.alloc(16);
  count.writeBigInt64LE(1n, 0);
  count.writeBigInt64LE(BigInt(table.rowCount), 8);
  parts.push(ints(7, 16, 8, 2), count);
  // 7.20: the character encoding by name.
  const encoding = Buffer.from('UTF-8', 'latin1');
  parts.push(ints(7, 20, 1, encoding.length), encoding);
  parts.push(ints(999, 0));
  return Buffer.concat(parts);
}

/** Where each variable's slots sit in a case, worked out once per file. */
interface CaseLayout {
  size: number;
  /** Per 8-byte slot: whether it holds string bytes (for compression). */
  strings: boolean[];
  /** Per variable: its width and where its parts go (one for a number, a segment each for a string). */
  variables: { width: number; parts: { at: number; offset: number; length: number }[] }[];
}

function caseLayout(table: SpssTable): CaseLayout {
  let at = 0;
  const strings: boolean[] = [];
  const variables = table.variables.map((variable) => {
    if (variable.width === 0) {
      strings.push(false);
      at += 8;
      return { width: 0, parts: [{ at: at - 8, offset: 0, length: 8 }] };
    }
    const parts = segments(variable.width).map((segment) => {
      const stored = slotsOf(segment.width === 255 ? 256 : segment.width) * 8;
      const part = { at, offset: segment.offset, length: Math.min(255, segment.width) };
      for (let s = 0; s < stored / 8; s++) strings.push(true);
      at += stored;
      return part;
    });
    return { width: variable.width, parts };
  });
  return { size: at, strings, variables };
}

/**
 * One case's 8-byte slots, written into `slots` (reused from case to case; the compressor copies
 * what it keeps): doubles for numbers, space-padded text for strings.
 */
function caseSlots(layout: CaseLayout, row: readonly SpssCell[], slots: Buffer): Buffer {
  slots.fill(0x20);
  layout.variables.forEach((variable, i) => {
    const cell = row[i] ?? null;
    if (variable.width === 0) {
      const value = typeof cell === 'number' && Number.isFinite(cell) ? cell : SYSMIS;
      slots.writeDoubleLE(value, variable.parts[0].at);
      return;
    }
    if (cell === null || cell === '') return;
    const text = utf8Cut(String(cell), variable.width);
    for (const part of variable.parts) {
      if (part.offset >= text.length) break;
      text.copy(slots, part.at, part.offset, Math.min(text.length, part.offset + part.length));
    }
  });
  return slots;
}

/** Output is gathered in buffers of this size; a block (8 codes and up to 64 literal bytes) never straddles two. */
const CHUNK_BYTES = 262_144;

/**
 * Bytecode compression: blocks of 8 command bytes, each followed by the literals they call for,
 * written straight into a chunk buffer (no object per slot: a file has millions of them).
 */
class Compressor {
  private buffer = Buffer.alloc(CHUNK_BYTES);
  private position = 0;
  /** Where the current block's command bytes are, and how many of them are used. */
  private commandsAt = 0;
  private used = 0;
  private readonly full: Buffer[] = [];

  /** Adds a case's slots (`isString[s]` says whether slot s holds text). */
  addCase(slots: Buffer, isString: readonly boolean[]): void {
    for (let s = 0; s < isString.length; s++) {
      const at = 8 * s;
      if (this.used === 0) this.startBlock();
      let code: number;
      if (isString[s]) {
        if (isEightSpaces(slots, at)) code = 254;
        else code = this.literal(slots, at);
      } else {
        const value = slots.readDoubleLE(at);
        if (value === SYSMIS) code = 255;
        else if (Number.isInteger(value) && value >= 1 - BIAS && value <= 251 - BIAS && !Object.is(value, -0))
          code = value + BIAS;
        else code = this.literal(slots, at);
      }
      this.buffer[this.commandsAt + this.used] = code;
      if (++this.used === 8) this.used = 0;
    }
  }

  private literal(slots: Buffer, at: number): number {
    slots.copy(this.buffer, this.position, at, at + 8);
    this.position += 8;
    return 253;
  }

  private startBlock(): void {
    if (this.position + 72 > this.buffer.length) {
      this.full.push(this.buffer.subarray(0, this.position));
      this.buffer = Buffer.alloc(CHUNK_BYTES);
      this.position = 0;
    }
    this.commandsAt = this.position;
    // Unused command bytes stay 0, no-ops.
    this.buffer.fill(0, this.position, this.position + 8);
    this.position += 8;
  }

  /** Chunks filled so far (the current one waits for more cases). */
  take(): Buffer[] {
    return this.full.splice(0, this.full.length);
  }

  /** Everything left, the last block padded with no-ops. */
  finish(): Buffer[] {
    const rest = this.take();
    if (this.position > 0) rest.push(this.buffer.subarray(0, this.position));
    this.buffer = Buffer.alloc(0);
    this.position = 0;
    this.used = 0;
    return rest;
  }
}

function isEightSpaces(slots: Buffer, at: number): boolean {
  for (let i = at; i < at + 8; i++) if (slots[i] !== 0x20) return false;
  return true;
}

/** The .sav file as a stream of chunks. Rows must hold one cell per variable. */
export async function* encodeSpss(table: SpssTable): AsyncIterable<Uint8Array> {
  checkTable(table);
  const names = shortNames(table.variables);
  yield dictionary(table, names);
  const compress = table.compress !== false;
  const compressor = new Compressor();
  const layout = caseLayout(table);
  const slots = Buffer.alloc(layout.size);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let written = 0;
  for await (const row of table.rows()) {
    if (written >= table.rowCount) throw new Error(`More rows than the ${table.rowCount} announced`);
    written++;
    caseSlots(layout, row, slots);
    if (compress) {
      compressor.addCase(slots, layout.strings);
      for (const chunk of compressor.take()) yield chunk;
      continue;
    }
    pending.push(Buffer.from(slots));
    pendingBytes += slots.length;
    if (pendingBytes > 262_144) {
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (written !== table.rowCount) throw new Error(`${written} rows written, ${table.rowCount} announced`);
  if (compress) for (const chunk of compressor.finish()) yield chunk;
  else if (pending.length > 0) yield Buffer.concat(pending);
}
