import { readXmlEvents } from '../xml/safe-xml-reader.ts';
import { escapeXmlAttribute } from '../xml/xml-escape.ts';
import { InputError } from '../input/input-error.ts';

/**
 * DHIS2's XML for complete data set registrations (`StreamingXmlCompleteDataSetRegistration`): a
 * `<completeDataSetRegistrations>` root in the DXF2 namespace whose `<completeDataSetRegistration>`
 * children carry every field as an attribute (`dataSet`, `period`, `organisationUnit`,
 * `attributeOptionCombo`, `date`, `storedBy`, `lastUpdated`, `completed`), an absent field left out.
 */

const DXF2_NAMESPACE = 'http://dhis2.org/schema/dxf/2.0';

/** The attributes written, in DHIS2's order. */
export const COMPLETE_REGISTRATION_XML_FIELDS = [
  'dataSet',
  'period',
  'organisationUnit',
  'attributeOptionCombo',
  'date',
  'storedBy',
  'lastUpdated',
  'completed',
] as const;

export type CompleteRegistrationXmlRecord = Partial<
  Record<(typeof COMPLETE_REGISTRATION_XML_FIELDS)[number], string | boolean>
>;

/** The document for `registrations` (a list bounded by its query, written whole). */
export function encodeCompleteRegistrationsXml(
  registrations: readonly CompleteRegistrationXmlRecord[],
): string {
  const parts = [
    `<?xml version="1.0" encoding="UTF-8"?>\n<completeDataSetRegistrations xmlns="${DXF2_NAMESPACE}">`,
  ];
  for (const registration of registrations) {
    let element = '<completeDataSetRegistration';
    for (const field of COMPLETE_REGISTRATION_XML_FIELDS) {
      const value = registration[field];
      if (value === undefined) continue;
      element += ` ${field}="${escapeXmlAttribute(String(value))}"`;
    }
    parts.push(`${element}/>`);
  }
  parts.push('</completeDataSetRegistrations>\n');
  return parts.join('');
}

/**
 * The registrations of an XML body, each as its attributes (any of them; the service checks what a
 * registration needs). Another root or child element is refused naming file, line and column.
 */
export async function decodeCompleteRegistrationsXml(
  text: AsyncIterable<string>,
  fileName: string,
): Promise<Record<string, string>[]> {
  const out: Record<string, string>[] = [];
  let sawRoot = false;
  for await (const event of readXmlEvents(text, { fileName, captureDepth: 2 })) {
    if (event.kind === 'open') {
      if (event.element.localName !== 'completeDataSetRegistrations') {
        throw new InputError(
          fileName,
          `expected <completeDataSetRegistrations>, found <${event.element.name}>`,
          {
            line: event.element.line,
            column: event.element.column,
          },
        );
      }
      sawRoot = true;
    } else if (event.kind === 'element') {
      const element = event.element;
      if (element.localName !== 'completeDataSetRegistration') {
        throw new InputError(fileName, `expected <completeDataSetRegistration>, found <${element.name}>`, {
          line: element.line,
          column: element.column,
        });
      }
      const record: Record<string, string> = {};
      for (const [name, value] of Object.entries(element.attributes)) record[name] = value;
      out.push(record);
    }
  }
  if (!sawRoot) throw new InputError(fileName, 'no <completeDataSetRegistrations> root element');
  return out;
}
