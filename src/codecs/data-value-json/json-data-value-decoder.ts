import type {
  DataValueInput,
  DataValueItem,
  DataValueSetHeader,
} from '../../domain/data-values/data-value-input.ts';
import type {
  DataValueDecoder,
  DataValueDecodeInput,
  DataValueDecodeOptions,
} from '../data-value-decoder-types.ts';
import { decodeUtf8 } from '../input/utf8-text.ts';
import { sliceText } from '../data-value-text-slices.ts';
import { readJsonCollectionBatches, type JsonValue } from '../json/safe-json-reader.ts';
import { DATA_VALUE_SET_HEADER_PROPERTIES } from '../data-value-set-properties.ts';

const VALUE_STRING_PROPERTIES = [
  'dataElement',
  'period',
  'orgUnit',
  'storedBy',
  'created',
  'lastUpdated',
  'comment',
] as const;

/** A scalar as the text DHIS2 would see (numbers arrive as their literal text). */
function scalarText(value: JsonValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function isObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** DHIS2 2.43's `{categoryUidOrCode: optionId}` form of an option combo. */
function optionMap(value: Record<string, JsonValue>): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [category, option] of Object.entries(value)) {
    if (typeof option !== 'string') return `option of category \`${category}\` is not a string`;
    out[category] = option;
  }
  return out;
}

/** A `dataValues` item as a DataValueInput, or the reason it is not one. */
export function jsonDataValue(item: JsonValue): DataValueInput | string {
  if (!isObject(item)) return 'a data value must be a JSON object';
  const input: DataValueInput = {};
  for (const property of VALUE_STRING_PROPERTIES) {
    const raw = item[property];
    if (raw !== undefined && raw !== null && typeof raw === 'object')
      return `\`${property}\` must be a string`;
    const text = scalarText(raw);
    if (text !== undefined) input[property] = text;
  }
  for (const property of ['categoryOptionCombo', 'attributeOptionCombo'] as const) {
    const raw = item[property];
    if (isObject(raw)) {
      const options = optionMap(raw);
      if (typeof options === 'string') return options;
      input[property === 'categoryOptionCombo' ? 'categoryOptions' : 'attributeOptions'] = options;
    } else if (Array.isArray(raw)) {
      return `\`${property}\` must be a string or an object`;
    } else {
      const text = scalarText(raw);
      if (text !== undefined) input[property] = text;
    }
  }
  const value = item.value;
  if (value !== undefined && value !== null && typeof value === 'object') return '`value` must be a scalar';
  input.value = value === undefined || value === null || value === '' ? null : String(value);
  // DHIS2 2.42 reads `followup`, 2.43 `followUp`; both are accepted.
  const followUp = item.followUp ?? item.followup;
  if (typeof followUp === 'boolean' || typeof followUp === 'string') input.followUp = followUp;
  const deleted = item.deleted;
  if (typeof deleted === 'boolean' || typeof deleted === 'string') input.deleted = deleted;
  return input;
}

/**
 * Reads DHIS2's JSON data value set (`{dataSet, period, orgUnit, ..., dataValues: [...]}`) as a
 * stream: each root property becomes part of the header, each `dataValues` item a value. Numbers are
 * kept as their source text so `1e400` or `0.1000` reach validation as written. Root properties that
 * come after `dataValues` apply only to what follows them (a streaming reader can't look ahead);
 * DHIS2's own writers put them first.
 */
export async function* decodeDataValueJson(
  input: DataValueDecodeInput,
  options: DataValueDecodeOptions,
): AsyncIterable<readonly DataValueItem[]> {
  const header: DataValueSetHeader = {};
  const text = sliceText(decodeUtf8(input.chunks, input.fileName));
  for await (const events of readJsonCollectionBatches(text, {
    fileName: input.fileName,
    numbers: 'text',
    limits: options.limits,
  })) {
    const items: DataValueItem[] = [];
    for (const event of events) {
      if (event.kind === 'property') {
        const name = event.property;
        if (name === 'dryRun') {
          if (event.value === true || event.value === 'true') header.dryRun = true;
          else if (event.value === false || event.value === 'false') header.dryRun = false;
          items.push({ kind: 'header', header: { ...header } });
        } else if ((DATA_VALUE_SET_HEADER_PROPERTIES as readonly string[]).includes(name)) {
          const value = scalarText(event.value);
          if (value !== undefined) (header as Record<string, string>)[name] = value;
          items.push({ kind: 'header', header: { ...header } });
        }
        continue;
      }
      if (event.collection !== 'dataValues') continue;
      const value = jsonDataValue(event.value);
      if (typeof value === 'string') {
        items.push({
          kind: 'issue',
          position: { index: event.index, line: event.line },
          message: `line ${event.line}: ${value}`,
        });
      } else {
        items.push({ kind: 'value', position: { index: event.index, line: event.line }, value });
      }
    }
    if (items.length > 0) yield items;
  }
}

export const jsonDataValueDecoder: DataValueDecoder = {
  format: 'json',
  contentTypes: ['application/json', 'text/json'],
  fileExtensions: ['.json'],
  decode: decodeDataValueJson,
};
