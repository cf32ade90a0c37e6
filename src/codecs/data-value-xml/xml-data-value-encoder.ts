import type { ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';
import { escapeXmlAttribute as a } from '../xml/xml-escape.ts';

export const DXF2_NAMESPACE = 'http://dhis2.org/schema/dxf/2.0';

/**
 * Writes rows with the fields of `FULL_EXPORT_FIELDS` as DHIS2's DXF2 XML data value set. XML spells
 * the flag `followUp` (DHIS2's JSON says `followup`); empty optional attributes are left out and
 * `deleted` appears only when true. `onValues` is told how many values each piece of text holds, just
 * before it is yielded (once per chunk).
 */
export async function* encodeDataValuesXml(
  chunks: AsyncIterable<ExportRowChunk>,
  onValues?: (count: number) => void,
): AsyncIterable<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<dataValueSet xmlns="${DXF2_NAMESPACE}">\n`;
  for await (const chunk of chunks) {
    if (chunk.count === 0) continue;
    let out = '';
    let count = 0;
    for (const r of chunk.rows()) {
      out +=
        `<dataValue dataElement="${a(r[0])}" period="${a(r[1])}" orgUnit="${a(r[2])}"` +
        ` categoryOptionCombo="${a(r[3])}" attributeOptionCombo="${a(r[4])}" value="${a(r[5])}"` +
        (r[6] !== '' ? ` storedBy="${a(r[6])}"` : '') +
        ` created="${a(r[7])}" lastUpdated="${a(r[8])}"` +
        (r[9] !== '' ? ` comment="${a(r[9])}"` : '') +
        ` followUp="${r[10] === 'true' ? 'true' : 'false'}"` +
        (r[11] === 'true' ? ' deleted="true"' : '') +
        '/>\n';
      count++;
    }
    onValues?.(count);
    yield out;
  }
  yield '</dataValueSet>\n';
}
