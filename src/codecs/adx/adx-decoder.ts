import type {
  DataValueInput,
  DataValueItem,
  DataValueSetHeader,
} from '../../domain/data-values/data-value-input.ts';
import { fromAdxPeriod } from '../../domain/periods/adx-period.ts';
import { CODE_SCHEME } from '../../domain/identifiers/id-scheme.ts';
import type {
  DataValueDecoder,
  DataValueDecodeInput,
  DataValueDecodeOptions,
} from '../data-value-decoder-types.ts';
import { decodeUtf8 } from '../input/utf8-text.ts';
import { childByLocalName, readXmlEventBatches, type XmlElement } from '../xml/safe-xml-reader.ts';
import { readValueAndFlagAttributes } from '../data-value-set-properties.ts';
import { ADX_GROUP_ATTRIBUTES, ADX_VALUE_ATTRIBUTES } from './adx-attributes.ts';

/** Namespace declarations and prefixed attributes (`xsi:schemaLocation`) are not categories. */
function isCategoryAttribute(name: string): boolean {
  return !name.includes(':') && name !== 'xmlns';
}

interface GroupState {
  header: DataValueSetHeader;
  attributeOptions?: Record<string, string>;
  /** Why the group can't be read (a bad period); each of its values becomes an issue. */
  problem?: string;
}

function readGroup(attributes: Record<string, string>): GroupState {
  const header: DataValueSetHeader = {};
  const state: GroupState = { header };
  if (attributes.dataSet !== undefined) header.dataSet = attributes.dataSet;
  if (attributes.orgUnit !== undefined) header.orgUnit = attributes.orgUnit;
  if (attributes.completeDate !== undefined) header.completeDate = attributes.completeDate;
  if (attributes.attributeOptionCombo !== undefined) {
    header.attributeOptionCombo = attributes.attributeOptionCombo;
  }
  const periodText = attributes.period;
  if (periodText === undefined) {
    state.problem = 'the group has no `period`';
  } else {
    const period = fromAdxPeriod(periodText);
    if (period) header.period = period.iso;
    else
      state.problem = `period \`${periodText}\` is not an ADX period (start/duration, e.g. 2024-01-01/P1M)`;
  }
  if (attributes.orgUnit === undefined) state.problem ??= 'the group has no `orgUnit`';
  // An explicit attributeOptionCombo wins over category attributes, as in DHIS2.
  if (header.attributeOptionCombo === undefined) {
    const options: Record<string, string> = {};
    let any = false;
    for (const [name, value] of Object.entries(attributes)) {
      if (ADX_GROUP_ATTRIBUTES.has(name) || !isCategoryAttribute(name)) continue;
      options[name] = value;
      any = true;
    }
    if (any) {
      state.attributeOptions = options;
      header.attributeOptions = options;
    }
  }
  return state;
}

function readValue(element: XmlElement, group: GroupState): DataValueInput {
  const at = element.attributes;
  const input: DataValueInput = { orgUnit: group.header.orgUnit, period: group.header.period };
  if (at.dataElement !== undefined) input.dataElement = at.dataElement;
  // The annotation carries the value of non-numeric data elements (their `value` attribute is a
  // placeholder); which ones are is known only once the data element is resolved (validation).
  const annotation = childByLocalName(element, 'annotation');
  readValueAndFlagAttributes(at, at.value, input);
  if (annotation !== undefined) input.annotation = annotation.text;
  if (at.comment !== undefined && at.comment !== '') input.comment = at.comment;
  if (at.storedBy !== undefined) input.storedBy = at.storedBy;
  if (at.created !== undefined) input.created = at.created;
  if (at.lastUpdated !== undefined) input.lastUpdated = at.lastUpdated;
  if (at.categoryOptionCombo !== undefined) {
    input.categoryOptionCombo = at.categoryOptionCombo;
  } else {
    const options: Record<string, string> = {};
    let any = false;
    for (const [name, optionValue] of Object.entries(at)) {
      if (ADX_VALUE_ATTRIBUTES.has(name) || !isCategoryAttribute(name)) continue;
      options[name] = optionValue;
      any = true;
    }
    if (any) input.categoryOptions = options;
  }
  if (group.attributeOptions) input.attributeOptions = group.attributeOptions;
  return input;
}

/**
 * Reads ADX (`<adx><group dataSet orgUnit period="start/duration" ...><dataValue .../></group></adx>`)
 * as a stream. Each group becomes a header (its data set, org unit, ISO period, attribute option
 * combo), each data value a value whose category attributes become `categoryOptions`. The period is
 * converted to DHIS2's ISO form here; an unreadable one makes every value of its group an issue.
 */
export async function* decodeAdx(
  input: DataValueDecodeInput,
  options: DataValueDecodeOptions,
): AsyncIterable<readonly DataValueItem[]> {
  const text = decodeUtf8(input.chunks, input.fileName);
  let group: GroupState | undefined;
  let index = 0;
  let sawRoot = false;
  for await (const events of readXmlEventBatches(text, {
    fileName: input.fileName,
    captureDepth: 3,
    limits: options.limits,
  })) {
    const items: DataValueItem[] = [];
    for (const event of events) {
      if (event.kind === 'open') {
        const element = event.element;
        if (event.element.depth === 1) {
          if (element.localName !== 'adx') {
            items.push({
              kind: 'issue',
              fatal: true,
              message: `${input.fileName}: the root element is <${element.name}>, not <adx>`,
            });
            yield items;
            return;
          }
          sawRoot = true;
        } else if (element.depth === 2 && element.localName === 'group') {
          group = readGroup(element.attributes);
          items.push({ kind: 'header', header: group.header, group: true });
        }
      } else if (event.kind === 'close') {
        if (event.depth === 2) group = undefined;
      } else if (event.depth === 3 && event.element.localName === 'dataValue') {
        const element = event.element;
        const position = { index: index++, line: element.line, column: element.column };
        if (!group) {
          items.push({
            kind: 'issue',
            position,
            message: `line ${element.line}: <dataValue> outside a <group>`,
          });
        } else if (group.problem) {
          items.push({
            kind: 'issue',
            position,
            property: 'period',
            message: `line ${element.line}: ${group.problem}`,
          });
        } else {
          items.push({ kind: 'value', position, value: readValue(element, group) });
        }
      }
    }
    if (items.length > 0) yield items;
  }
  if (!sawRoot) yield [{ kind: 'issue', fatal: true, message: `${input.fileName}: no <adx> element found` }];
}

export const adxDataValueDecoder: DataValueDecoder = {
  format: 'adx',
  contentTypes: ['application/adx+xml', 'application/xml+adx'],
  fileExtensions: ['.adx.xml', '.adx'],
  defaultIdScheme: CODE_SCHEME,
  decode: decodeAdx,
};
