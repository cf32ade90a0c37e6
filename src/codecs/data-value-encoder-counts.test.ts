import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExportRowChunk } from '../domain/data-values/exported-data-values.ts';
import { encodeDataValuesCsv } from './data-value-csv/csv-data-value-encoder.ts';
import { encodeDataValuesJson } from './data-value-json/json-data-value-encoder.ts';
import { encodeDataValuesXml } from './data-value-xml/xml-data-value-encoder.ts';
import { encodeAdx, type AdxExportValue } from './adx/adx-encoder.ts';
import { readCsvRecords } from './csv/csv-reader.ts';
import { readXmlEvents } from './xml/safe-xml-reader.ts';

/**
 * Each encoder tells `onValues` how many values a piece of text holds before yielding it: whenever a
 * piece has been handed out, the count so far must equal the values in the text so far. Awkward
 * text makes the values hard to count in the text (line breaks and quotes in CSV fields, markup-like
 * text), so the text is read back with the CSV and XML readers.
 */
const AWKWARD = 'a "quoted", <dataValue dataElement="x"/> {"dataElement":"y"}\nsecond line';

/** A full export row (`FULL_EXPORT_FIELDS`); CSV drops `created` (index 7). */
function fullRow(i: number): string[] {
  const awkward = i % 3 === 1;
  return [
    `de${i}`,
    '202401',
    'ou',
    'coc',
    'aoc',
    awkward ? AWKWARD : String(i),
    'admin',
    '2024-01-01',
    '2024-02-01',
    i % 4 === 2 ? AWKWARD : '',
    i % 2 === 0 ? 'true' : 'false',
    i % 5 === 0 ? 'true' : 'false',
  ];
}

/** Chunks of 3, 0, 1 and 4 rows; `joinable` offers `joined` as SQLite's rows do (refused when unsafe). */
async function* chunksOf(csv: boolean, joinable: boolean): AsyncIterable<ExportRowChunk> {
  let i = 0;
  for (const size of [3, 0, 1, 4]) {
    const rows = Array.from({ length: size }, () => {
      const row = fullRow(i++);
      return csv ? row.filter((_, f) => f !== 7) : row;
    });
    yield {
      count: rows.length,
      rows: () => rows,
      joined: joinable
        ? (field, line, unsafe) =>
            rows.some((r) => r.some((f) => unsafe.test(f)))
              ? undefined
              : rows.map((r) => r.join(field) + line).join('')
        : undefined,
    };
  }
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

/** The values in a prefix of an export ending where a piece of text ended. */
async function valuesIn(format: 'csv' | 'json' | 'xml' | 'adx', text: string): Promise<number> {
  let count = 0;
  if (format === 'csv') {
    for await (const _ of readCsvRecords(once(text), 'export.csv')) count++;
    return count - 1;
  }
  if (format === 'json') {
    // Unclosed until the last piece: close it to parse.
    const whole = text.endsWith('\n]}\n') ? text : `${text}]}`;
    return (JSON.parse(whole) as { dataValues: unknown[] }).dataValues.length;
  }
  // A prefix of the document: the elements still open are closed to read it.
  const root = format === 'xml' ? '</dataValueSet>' : '</adx>';
  const openGroup = text.lastIndexOf('<group ') > text.lastIndexOf('</group>');
  const whole = text.trimEnd().endsWith(root) ? text : `${text}${openGroup ? '</group>' : ''}${root}`;
  for await (const event of readXmlEvents(once(whole), {
    fileName: `export.${format}`,
    captureDepth: format === 'xml' ? 2 : 3,
  })) {
    if (event.kind === 'element' && event.element.localName === 'dataValue') count++;
  }
  return count;
}

async function assertCountsAsItWrites(
  format: 'csv' | 'json' | 'xml' | 'adx',
  encode: (onValues: (count: number) => void) => AsyncIterable<string>,
  total: number,
): Promise<void> {
  let counted = 0;
  const reports: number[] = [];
  let text = '';
  for await (const piece of encode((count) => {
    counted += count;
    reports.push(count);
  })) {
    text += piece;
    assert.equal(counted, await valuesIn(format, text), `${format} after ${JSON.stringify(text)}`);
  }
  assert.equal(counted, total);
  // Once per chunk or batch that holds values, never for an empty one.
  assert.ok(reports.every((count) => count > 0) && reports.length <= 3, `${format}: ${reports.join(', ')}`);
}

describe('data value encoders count the values they write', () => {
  for (const joinable of [true, false]) {
    it(`CSV${joinable ? ', rows joined by their source where safe' : ''}`, async () => {
      await assertCountsAsItWrites(
        'csv',
        (onValues) => encodeDataValuesCsv(chunksOf(true, joinable), onValues),
        8,
      );
    });
  }

  it('JSON', async () => {
    await assertCountsAsItWrites(
      'json',
      (onValues) => encodeDataValuesJson(chunksOf(false, false), onValues),
      8,
    );
  });

  it('DXF2 XML', async () => {
    await assertCountsAsItWrites(
      'xml',
      (onValues) => encodeDataValuesXml(chunksOf(false, false), onValues),
      8,
    );
  });

  it('ADX, a group spanning batches', async () => {
    const value = (i: number, orgUnit: string): AdxExportValue => ({
      dataSet: 'ds',
      orgUnit,
      period: '2024-01-01/P1M',
      attribute: { kind: 'options', pairs: [] },
      dataElement: `de${i}`,
      disaggregation: { kind: 'combo', id: 'coc' },
      // Not a decimal: written as an annotation.
      value: i % 2 === 0 ? AWKWARD : String(i),
      comment: i === 1 ? AWKWARD : '',
      followUp: false,
      deleted: false,
    });
    async function* batches(): AsyncIterable<AdxExportValue[]> {
      yield [value(0, 'a'), value(1, 'a')];
      yield [];
      yield [value(2, 'a'), value(3, 'b'), value(4, 'b')];
    }
    await assertCountsAsItWrites(
      'adx',
      (onValues) => encodeAdx(batches(), '2024-01-01T00:00:00Z', onValues),
      5,
    );
  });
});
