import type { DataValueInput, DataValueItem } from '../../domain/data-values/data-value-input.ts';

// Decoded data value items in the compact form they cross from the decoding thread to the import's
// thread in (data-value-import-decode-thread.ts): one Int32Array of codes, the batch's distinct
// strings joined into one string, and the rare items that are not plain values (headers, issues)
// as they are. Posting a thousand value objects to another thread clones each object and each of
// its strings one by one; this form is a few flat copies, and an org unit or period repeated on
// every row of the batch crosses once.

/** The fields of DataValueInput whose values are strings (or null, or a JSON boolean). */
const TEXT_FIELDS = [
  'dataElement',
  'period',
  'orgUnit',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'value',
  'annotation',
  'storedBy',
  'created',
  'lastUpdated',
  'comment',
  'followUp',
  'deleted',
] as const satisfies ReadonlyArray<keyof DataValueInput>;
/**
 * Fields whose strings repeat from row to row (identifiers, periods, user names, timestamps): sent
 * once per batch. A value or comment is nearly always new, and looking it up costs more than
 * sending it again.
 */
const REPEATING_SLOTS: readonly boolean[] = TEXT_FIELDS.map(
  (field) => field !== 'value' && field !== 'comment' && field !== 'annotation',
);
/** The slots of a CSV decoder's value, in its order: read by one object literal (`csvValue`). */
const CSV_SLOTS = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12];
/** The `{category: option}` fields: a count of pairs follows the slot, then the pairs. */
const CATEGORY_OPTIONS_SLOT = TEXT_FIELDS.length;
const ATTRIBUTE_OPTIONS_SLOT = TEXT_FIELDS.length + 1;
const SLOT_OF: ReadonlyMap<string, number> = new Map<string, number>([
  ...TEXT_FIELDS.map((field, slot) => [field, slot] as [string, number]),
  ['categoryOptions', CATEGORY_OPTIONS_SLOT],
  ['attributeOptions', ATTRIBUTE_OPTIONS_SLOT],
]);

/** Codes of a value's field that are not an index into the batch's strings. */
const UNDEFINED = -1;
const NULL = -2;
const FALSE = -3;
const TRUE = -4;

/** Item tags: a value in codes, or the next item of `others`. */
const VALUE = 0;
const OTHER = 1;

/** What crosses between the threads; `codes` and `ends` are transferred, not copied. */
export interface DataValueItemBatch {
  codes: Int32Array;
  /** The batch's distinct strings, concatenated; `ends[i]` is where string i ends. */
  text: string;
  ends: Int32Array;
  /** Items not encoded in `codes` (headers, issues, values of an unexpected shape), in order. */
  others: DataValueItem[];
  /** How many value items the batch holds. */
  values: number;
}

/** Gathers items into a batch (the decoding thread's side). */
export class DataValueItemBatchWriter {
  private codes = new Int32Array(16_384);
  private length = 0;
  private strings = new Map<string, number>();
  private parts: string[] = [];
  private ends: number[] = [];
  private textLength = 0;
  private others: DataValueItem[] = [];
  /** Value items gathered since the last `take`. */
  values = 0;
  /** Items of every kind gathered since the last `take`. */
  items = 0;

  add(item: DataValueItem): void {
    this.items++;
    if (item.kind === 'value' && this.addValue(item)) {
      this.values++;
      return;
    }
    this.push(OTHER);
    this.others.push(item);
  }

  /** Whether nothing was added since the last `take`. */
  get isEmpty(): boolean {
    return this.length === 0;
  }

  /** The batch gathered so far; the writer starts a new one. */
  take(): DataValueItemBatch {
    const batch: DataValueItemBatch = {
      codes: this.codes.slice(0, this.length),
      text: this.parts.join(''),
      ends: Int32Array.from(this.ends),
      others: this.others,
      values: this.values,
    };
    this.length = 0;
    this.strings = new Map();
    this.parts = [];
    this.ends = [];
    this.textLength = 0;
    this.others = [];
    this.values = 0;
    this.items = 0;
    return batch;
  }

  /** Encodes a value item; false (nothing written) when it has a shape the codes don't carry. */
  private addValue(item: Extract<DataValueItem, { kind: 'value' }>): boolean {
    const { position, value } = item;
    if (!isPlainPosition(position)) return false;
    const start = this.length;
    const stringsBefore = this.ends.length;
    this.push(VALUE);
    this.push(position.index);
    this.push(position.line ?? -1);
    this.push(position.column ?? -1);
    const countAt = this.length;
    this.push(0);
    let keys = 0;
    for (const key in value) {
      const slot = SLOT_OF.get(key);
      const field = (value as Record<string, unknown>)[key];
      let ok: boolean;
      if (slot === undefined) ok = false;
      else if (slot >= CATEGORY_OPTIONS_SLOT) {
        this.push(slot);
        ok = this.pushPairs(field);
      } else {
        this.push(slot);
        ok = this.pushScalar(field, slot);
      }
      if (!ok) {
        this.undo(start, stringsBefore);
        return false;
      }
      keys++;
    }
    this.codes[countAt] = keys;
    return true;
  }

  private pushScalar(field: unknown, slot: number): boolean {
    if (typeof field === 'string')
      this.push(REPEATING_SLOTS[slot] ? this.stringRef(field) : this.newString(field));
    else if (field === undefined) this.push(UNDEFINED);
    else if (field === null) this.push(NULL);
    else if (field === true) this.push(TRUE);
    else if (field === false) this.push(FALSE);
    else return false;
    return true;
  }

  private pushPairs(field: unknown): boolean {
    if (field === undefined) {
      this.push(UNDEFINED);
      return true;
    }
    if (typeof field !== 'object' || field === null || Object.getPrototypeOf(field) !== Object.prototype) {
      return false;
    }
    const entries = Object.entries(field);
    this.push(entries.length);
    for (const [key, option] of entries) {
      // '__proto__' would set the rebuilt object's prototype instead of a key: sent as it is.
      if (typeof option !== 'string' || key === '__proto__') return false;
      this.push(this.stringRef(key));
      this.push(this.stringRef(option));
    }
    return true;
  }

  /** A string not looked up among the batch's (a value or comment, rarely repeated). */
  private newString(text: string): number {
    const ref = this.ends.length;
    this.parts.push(text);
    this.textLength += text.length;
    this.ends.push(this.textLength);
    return ref;
  }

  private stringRef(text: string): number {
    let ref = this.strings.get(text);
    if (ref === undefined) {
      ref = this.ends.length;
      this.strings.set(text, ref);
      this.parts.push(text);
      this.textLength += text.length;
      this.ends.push(this.textLength);
    }
    return ref;
  }

  /** Forgets a value half encoded (the strings it added too, so the text stays aligned). */
  private undo(start: number, stringsBefore: number): void {
    this.length = start;
    while (this.ends.length > stringsBefore) {
      const text = this.parts.pop()!;
      // Only if the entry is this one's: a value's own string may equal a looked-up one.
      if (this.strings.get(text) === this.ends.length - 1) this.strings.delete(text);
      this.ends.pop();
    }
    this.textLength = stringsBefore > 0 ? this.ends[stringsBefore - 1] : 0;
  }

  private push(code: number): void {
    if (this.length === this.codes.length) {
      const grown = new Int32Array(this.codes.length * 2);
      grown.set(this.codes);
      this.codes = grown;
    }
    this.codes[this.length++] = code;
  }
}

function isPlainPosition(position: unknown): position is { index: number; line?: number; column?: number } {
  if (typeof position !== 'object' || position === null) return false;
  let keys = 0;
  for (const key in position) {
    const field = (position as Record<string, unknown>)[key];
    if (key !== 'index' && key !== 'line' && key !== 'column') return false;
    if (!Number.isInteger(field) || (field as number) < 0 || (field as number) > 0x7fffffff) return false;
    keys++;
  }
  return keys > 0 && 'index' in position;
}

/** The items of a batch, in the order they were added (the import's thread's side). */
export function readDataValueItemBatch(batch: DataValueItemBatch): DataValueItem[] {
  const { codes, text, ends, others } = batch;
  const strings = new Array<string>(ends.length);
  let from = 0;
  for (let i = 0; i < ends.length; i++) {
    strings[i] = text.slice(from, ends[i]);
    from = ends[i];
  }
  const scalar = (code: number): string | boolean | null | undefined =>
    code >= 0
      ? strings[code]
      : code === NULL
        ? null
        : code === TRUE
          ? true
          : code === FALSE
            ? false
            : undefined;
  const items: DataValueItem[] = [];
  let other = 0;
  let i = 0;
  while (i < codes.length) {
    if (codes[i++] === OTHER) {
      items.push(others[other++]);
      continue;
    }
    const index = codes[i++];
    const line = codes[i++];
    const column = codes[i++];
    const position: { index: number; line?: number; column?: number } = { index };
    if (line >= 0) position.line = line;
    if (column >= 0) position.column = column;
    const keys = codes[i++];
    if (keys === CSV_SLOTS.length && isCsvShape(codes, i)) {
      items.push({ kind: 'value', position, value: csvValue(codes, i, scalar) });
      i += 2 * CSV_SLOTS.length;
      continue;
    }
    const value: Record<string, unknown> = {};
    for (let k = 0; k < keys; k++) {
      const slot = codes[i++];
      if (slot < CATEGORY_OPTIONS_SLOT) {
        value[TEXT_FIELDS[slot]] = scalar(codes[i++]);
        continue;
      }
      const name = slot === CATEGORY_OPTIONS_SLOT ? 'categoryOptions' : 'attributeOptions';
      const pairs = codes[i++];
      if (pairs === UNDEFINED) {
        value[name] = undefined;
        continue;
      }
      const options: Record<string, string> = {};
      for (let p = 0; p < pairs; p++) {
        options[strings[codes[i]]] = strings[codes[i + 1]];
        i += 2;
      }
      value[name] = options;
    }
    items.push({ kind: 'value', position, value: value as DataValueInput });
  }
  return items;
}

function isCsvShape(codes: Int32Array, at: number): boolean {
  for (let k = 0; k < CSV_SLOTS.length; k++) if (codes[at + 2 * k] !== CSV_SLOTS[k]) return false;
  return true;
}

/**
 * The CSV decoder's value (every field, in its order) as one object literal: a million values a
 * file, and setting twelve properties by computed name cost more than decoding the CSV had.
 */
function csvValue(
  codes: Int32Array,
  at: number,
  scalar: (code: number) => string | boolean | null | undefined,
): DataValueInput {
  return {
    dataElement: scalar(codes[at + 1]),
    period: scalar(codes[at + 3]),
    orgUnit: scalar(codes[at + 5]),
    categoryOptionCombo: scalar(codes[at + 7]),
    attributeOptionCombo: scalar(codes[at + 9]),
    value: scalar(codes[at + 11]),
    storedBy: scalar(codes[at + 13]),
    created: scalar(codes[at + 15]),
    lastUpdated: scalar(codes[at + 17]),
    comment: scalar(codes[at + 19]),
    followUp: scalar(codes[at + 21]),
    deleted: scalar(codes[at + 23]),
  } as DataValueInput;
}
