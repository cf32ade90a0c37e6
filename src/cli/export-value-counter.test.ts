import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createExportValueCounter } from './export-value-counter.ts';
import type { DataValueExportFormat } from '../services/data-value-export-service.ts';

/** The count after feeding `text` in slices of `size` bytes (every boundary position gets tried). */
function countIn(format: DataValueExportFormat, text: string, size: number): number {
  const counter = createExportValueCounter(format);
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += size) counter.add(bytes.subarray(at, at + size));
  return counter.values;
}

function assertCount(format: DataValueExportFormat, text: string, expected: number): void {
  for (const size of [1, 2, 3, 5, 7, 11, 64, text.length]) {
    assert.equal(countIn(format, text, size), expected, `${format} in slices of ${size}`);
  }
}

describe('export value counter', () => {
  it('counts CSV records after the header, not line breaks or quotes inside quoted fields', () => {
    const csv =
      'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted\n' +
      'a,202401,o,c,c,1,admin,2024-02-01,,false,\n' +
      'a,202402,o,c,c,2,admin,2024-02-01,"two\nlines, and ""quotes""\n",false,\n' +
      'a,202403,o,c,c,"3,5",admin,2024-02-01,"""",false,\n';
    assertCount('csv', csv, 3);
    assertCount('csv', 'dataelement,period\n', 0);
  });

  it('counts JSON values by their opening, not by text inside a comment', () => {
    const json =
      '{"dataValues":[\n{"dataElement":"a","value":"1","comment":"{\\"dataElement\\":"}' +
      ',\n{"dataElement":"b","value":"2"}\n]}\n';
    assertCount('json', json, 2);
    assertCount('json', '{"dataValues":[\n]}\n', 0);
  });

  it('counts XML and ADX dataValue elements, not their closing tags', () => {
    const xml =
      '<?xml version="1.0" encoding="UTF-8"?>\n<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0">\n' +
      '<dataValue dataElement="a" value="1" comment="&lt;dataValue "/>\n<dataValue dataElement="b" value="2"/>\n' +
      '</dataValueSet>\n';
    assertCount('xml', xml, 2);
    const adx =
      '<adx>\n  <group dataSet="d" orgUnit="o" period="2024-01-01/P1M">\n' +
      '    <dataValue dataElement="a" value="0">\n      <annotation>text</annotation>\n    </dataValue>\n' +
      '    <dataValue dataElement="b" value="1"/>\n  </group>\n</adx>\n';
    assertCount('adx', adx, 2);
  });
});
