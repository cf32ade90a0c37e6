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
import { readXmlEventBatches } from '../xml/safe-xml-reader.ts';
import {
  DATA_VALUE_SET_HEADER_PROPERTIES,
  readValueAndFlagAttributes,
} from '../data-value-set-properties.ts';

function readHeader(attributes: Record<string, string>): DataValueSetHeader {
  const header: DataValueSetHeader = {};
  for (const name of DATA_VALUE_SET_HEADER_PROPERTIES) {
    const value = attributes[name];
    if (value !== undefined && value !== '') header[name] = value;
  }
  if (attributes.dryRun === 'true') header.dryRun = true;
  else if (attributes.dryRun === 'false') header.dryRun = false;
  return header;
}

/**
 * One `<dataValue>`'s attributes as an input; an absent or empty attribute is left out. Read one
 * by one rather than through a list of names: this runs once per value, and every input then gets
 * its properties in the same order (one object shape for the importer).
 */
function readValue(attributes: Record<string, string>): DataValueInput {
  const input: DataValueInput = {};
  let text = attributes.dataElement;
  if (text !== undefined && text !== '') input.dataElement = text;
  text = attributes.period;
  if (text !== undefined && text !== '') input.period = text;
  text = attributes.orgUnit;
  if (text !== undefined && text !== '') input.orgUnit = text;
  text = attributes.categoryOptionCombo;
  if (text !== undefined && text !== '') input.categoryOptionCombo = text;
  text = attributes.attributeOptionCombo;
  if (text !== undefined && text !== '') input.attributeOptionCombo = text;
  text = attributes.storedBy;
  if (text !== undefined && text !== '') input.storedBy = text;
  text = attributes.created;
  if (text !== undefined && text !== '') input.created = text;
  text = attributes.lastUpdated;
  if (text !== undefined && text !== '') input.lastUpdated = text;
  text = attributes.comment;
  if (text !== undefined && text !== '') input.comment = text;
  readValueAndFlagAttributes(attributes, attributes.value, input);
  return input;
}

/**
 * Reads DHIS2's DXF2 XML data value set (`<dataValueSet dataSet period orgUnit ...><dataValue .../>`)
 * as a stream. Root attributes are the header (defaults and id schemes); each `<dataValue>` is a
 * value, positioned by its index, line and column. A DOCTYPE or any malformed XML stops the file.
 */
export async function* decodeDataValueXml(
  input: DataValueDecodeInput,
  options: DataValueDecodeOptions,
): AsyncIterable<readonly DataValueItem[]> {
  // Fed 64 KB at a time, like the CSV and JSON decoders: a whole read's worth of element and input
  // objects would otherwise be alive at once and outlive young-generation collections.
  const text = sliceText(decodeUtf8(input.chunks, input.fileName));
  let index = 0;
  let sawRoot = false;
  for await (const events of readXmlEventBatches(text, {
    fileName: input.fileName,
    captureDepth: 2,
    limits: options.limits,
  })) {
    const items: DataValueItem[] = [];
    for (const event of events) {
      if (event.kind === 'open' && event.element.depth === 1) {
        if (event.element.localName !== 'dataValueSet') {
          items.push({
            kind: 'issue',
            fatal: true,
            message: `${input.fileName}: the root element is <${event.element.name}>, not <dataValueSet>`,
          });
          yield items;
          return;
        }
        sawRoot = true;
        items.push({ kind: 'header', header: readHeader(event.element.attributes) });
      } else if (event.kind === 'element' && event.depth === 2) {
        const element = event.element;
        if (element.localName !== 'dataValue') continue;
        items.push({
          kind: 'value',
          position: { index: index++, line: element.line, column: element.column },
          value: readValue(element.attributes),
        });
      }
    }
    if (items.length > 0) yield items;
  }
  if (!sawRoot) {
    yield [{ kind: 'issue', fatal: true, message: `${input.fileName}: no <dataValueSet> element found` }];
  }
}

export const xmlDataValueDecoder: DataValueDecoder = {
  format: 'xml',
  contentTypes: ['application/xml', 'text/xml', 'application/dxf+xml'],
  fileExtensions: ['.xml'],
  decode: decodeDataValueXml,
};
