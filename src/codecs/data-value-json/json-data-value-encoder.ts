import type { ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';

/**
 * Writes rows with the fields of `FULL_EXPORT_FIELDS` as DHIS2's JSON data value set:
 * `{"dataValues":[{...}]}`. As DHIS2's writers do, the flag is spelled `followup` (its XML says
 * `followUp`); empty optional fields are left out, and `deleted` appears only when true. `onValues` is
 * told how many values each piece of text holds, just before it is yielded (once per chunk).
 */
export async function* encodeDataValuesJson(
  chunks: AsyncIterable<ExportRowChunk>,
  onValues?: (count: number) => void,
): AsyncIterable<string> {
  yield '{"dataValues":[';
  let first = true;
  for await (const chunk of chunks) {
    if (chunk.count === 0) continue;
    let out = '';
    let count = 0;
    for (const r of chunk.rows()) {
      let item =
        `{"dataElement":${JSON.stringify(r[0])},"period":${JSON.stringify(r[1])},` +
        `"orgUnit":${JSON.stringify(r[2])},"categoryOptionCombo":${JSON.stringify(r[3])},` +
        `"attributeOptionCombo":${JSON.stringify(r[4])},"value":${JSON.stringify(r[5])}`;
      if (r[6] !== '') item += `,"storedBy":${JSON.stringify(r[6])}`;
      item += `,"created":${JSON.stringify(r[7])},"lastUpdated":${JSON.stringify(r[8])}`;
      if (r[9] !== '') item += `,"comment":${JSON.stringify(r[9])}`;
      item += `,"followup":${r[10] === 'true' ? 'true' : 'false'}`;
      if (r[11] === 'true') item += ',"deleted":true';
      out += first ? `\n${item}}` : `,\n${item}}`;
      first = false;
      count++;
    }
    onValues?.(count);
    yield out;
  }
  yield '\n]}\n';
}
