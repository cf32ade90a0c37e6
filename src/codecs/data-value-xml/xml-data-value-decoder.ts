import type {
  DataValueInput,
  DataValueItem,
  DataValueSetHeader,
} from '../../domain/data-values/data-value-input.ts';
import type {
  DataValueDecoder,
  DataValueDecodeInput,
  DataValueDecodeOptions,
} from '../data-value-decoders.ts';
import { decodeUtf8 } from '../input/utf8-text.ts';
import { readXmlEventBatches } from '../xml/safe-xml-reader.ts';
import {
  DATA_VALUE_SET_HEADER_PROPERTIES,
  readValueAndFlagAttributes,
} from '../data-value-set-properties.ts';

const VALUE_ATTRIBUTES = [
  'dataElement',
  'period',
  'orgUnit',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'storedBy',
  'created',
  'lastUpdated',
  'comment',
] as const;

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

function readValue(attributes: Record<string, string>): DataValueInput {
  const input: DataValueInput = {};
  for (const name of VALUE_ATTRIBUTES) {
    const value = attributes[name];
    if (value !== undefined && value !== '') input[name] = value;
  }
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
  const text = decodeUtf8(input.chunks, input.fileName);
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
