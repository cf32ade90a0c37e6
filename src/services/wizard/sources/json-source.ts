import { openInput } from '../../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../../codecs/input/utf8-text.ts';
import { InputError } from '../../../codecs/input/input-error.ts';
import {
  readJsonCollectionBatches,
  readJsonDocument,
  type JsonValue,
} from '../../../codecs/json/safe-json-reader.ts';
import {
  DEFAULT_SAMPLE_SIZE,
  isRecordObject,
  SourceConfigError,
  type SourceDescription,
  type SourceFile,
  type SourceRecord,
  type WizardSource,
} from './wizard-source.ts';

/**
 * A JSON file: an array of records at the root, or at a path inside the document (`$.cases`,
 * `$.data.items[*]`). A root array or an array one property down is streamed record by record with
 * Ferry's strict JSON reader; a deeper path reads the document whole (within the reader's value
 * limit), because the records can only be found once the path's parents are known. Nested objects
 * are flattened to dotted columns (`person.firstName`); lists stay in `raw` for targets that take
 * them (a case's visits as events) and show as their JSON text.
 */
export interface JsonSourceConfig {
  file: SourceFile;
  /** `$` (the root is the array) or a path of property names and `[*]`/`[n]`. */
  recordPath: string;
}

type PathStep = { property: string } | { index: number } | { all: true };

/** `$.data.items[*]` → steps; refuses anything else (filters, wildcards on objects, recursion). */
export function parseRecordPath(path: string): PathStep[] {
  const text = path.trim();
  if (!text.startsWith('$')) throw new SourceConfigError('recordPath', 'must start with `$`');
  const steps: PathStep[] = [];
  const pattern = /\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\*\]|\['([^']+)'\]|\["([^"]+)"\]/y;
  let pos = 1;
  while (pos < text.length) {
    pattern.lastIndex = pos;
    const match = pattern.exec(text);
    if (!match)
      throw new SourceConfigError(
        'recordPath',
        `cannot read \`${text}\` from character ${pos + 1}; use property names and [*] or [n], e.g. $.data.cases[*]`,
      );
    if (match[1] !== undefined) steps.push({ property: match[1] });
    else if (match[2] !== undefined) steps.push({ index: Number(match[2]) });
    else if (match[3] !== undefined || match[4] !== undefined)
      steps.push({ property: (match[3] ?? match[4])! });
    else steps.push({ all: true });
    pos = pattern.lastIndex;
  }
  // A trailing [*] says the same as none: the records are the array's items.
  if (steps.length > 0 && 'all' in steps[steps.length - 1]) steps.pop();
  return steps;
}

export function parseJsonSourceConfig(raw: unknown): JsonSourceConfig {
  if (!isRecordObject(raw)) throw new SourceConfigError('source', 'must be an object');
  const file = raw.file as SourceFile | undefined;
  if (!file || typeof file.path !== 'string')
    throw new SourceConfigError('file', 'a JSON source needs a file (--file, or an upload)');
  const recordPath = raw.recordPath ?? '$';
  if (typeof recordPath !== 'string')
    throw new SourceConfigError('recordPath', 'must be a text such as $.cases');
  parseRecordPath(recordPath);
  return { file: { path: file.path, fileName: String(file.fileName ?? file.path) }, recordPath };
}

/** A JSON record's scalar fields by dotted name; lists as their JSON text. */
export function flattenRecord(
  value: JsonValue,
  prefix = '',
  out: Record<string, string | null> = {},
): Record<string, string | null> {
  if (value === null) {
    if (prefix) out[prefix] = null;
  } else if (Array.isArray(value)) {
    out[prefix || 'value'] = JSON.stringify(value);
  } else if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value))
      flattenRecord(child, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out[prefix || 'value'] = String(value);
  }
  return out;
}

function pathText(steps: readonly PathStep[]): string {
  return (
    '$' +
    steps.map((s) => ('property' in s ? `.${s.property}` : 'index' in s ? `[${s.index}]` : '[*]')).join('')
  );
}

async function* jsonRecords(config: JsonSourceConfig, signal?: AbortSignal): AsyncIterable<SourceRecord> {
  const { fileName } = config.file;
  const steps = parseRecordPath(config.recordPath);
  const input = await openInput(config.file.path, fileName);
  const text = decodeUtf8(input.chunks, fileName);
  const toRecord = (value: JsonValue, index: number, base: string): SourceRecord => {
    if (!isRecordObject(value))
      throw new InputError(fileName, `the record at ${base}[${index}] is not an object`);
    return {
      values: flattenRecord(value),
      locator: { row: index + 1, path: `${base}[${index}]` },
      raw: value,
    };
  };
  if (steps.length <= 1 && steps.every((s) => 'property' in s)) {
    // Streamed: the root array, or one top-level property's array.
    const collection = steps.length === 0 ? '' : (steps[0] as { property: string }).property;
    const base = pathText(steps);
    let found = false;
    for await (const batch of readJsonCollectionBatches(text, { fileName, numbers: 'text' })) {
      signal?.throwIfAborted();
      for (const event of batch) {
        if (event.kind === 'item' && event.collection === collection) {
          found = true;
          yield toRecord(event.value, event.index, base);
        } else if (event.kind === 'property' && event.property === collection) {
          throw new InputError(fileName, `${base} is not a list of records`, { line: event.line });
        }
      }
    }
    if (!found && collection !== '') {
      // Either the list is empty or the property is missing; a missing one is a mistake in the path.
      return;
    }
    return;
  }
  const document = await readJsonDocument(text, { fileName, numbers: 'text' });
  let node: JsonValue | undefined = document;
  const walked: PathStep[] = [];
  for (const step of steps) {
    walked.push(step);
    if ('property' in step)
      node = isRecordObject(node) ? (node as Record<string, JsonValue>)[step.property] : undefined;
    else if ('index' in step) node = Array.isArray(node) ? node[step.index] : undefined;
    else throw new SourceConfigError('recordPath', '[*] may only end the path');
    if (node === undefined)
      throw new InputError(fileName, `has nothing at ${pathText(walked)} (recordPath ${config.recordPath})`);
  }
  if (!Array.isArray(node)) throw new InputError(fileName, `${config.recordPath} is not a list of records`);
  const base = pathText(steps);
  for (let i = 0; i < node.length; i++) {
    signal?.throwIfAborted();
    yield toRecord(node[i], i, base);
  }
}

export const jsonSource: WizardSource<JsonSourceConfig> = {
  kind: 'json',
  parseConfig: parseJsonSourceConfig,
  async describe(config, signal, sampleSize = DEFAULT_SAMPLE_SIZE): Promise<SourceDescription> {
    const sample: SourceRecord[] = [];
    const columns = new Set<string>();
    for await (const record of jsonRecords(config, signal)) {
      if (sample.length >= sampleSize) break;
      sample.push(record);
      for (const key of Object.keys(record.values)) columns.add(key);
    }
    return { columns: [...columns], sample, detected: { recordPath: config.recordPath } };
  },
  open: jsonRecords,
};
