import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataValueItem } from '../../domain/data-values/data-value-input.ts';
import type { ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { encodeDataValuesXml } from './xml-data-value-encoder.ts';
import { decodeDataValueXml } from './xml-data-value-decoder.ts';
import { encodeDataValuesCsv } from '../data-value-csv/csv-data-value-encoder.ts';

async function* bytes(text: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(text);
}

async function decode(text: string): Promise<DataValueItem[]> {
  const out: DataValueItem[] = [];
  for await (const chunk of decodeDataValueXml(
    { path: '', fileName: 'test.xml', chunks: bytes(text) },
    { firstRowIsHeader: true, limits: { ...INPUT_LIMITS } },
  )) {
    out.push(...chunk);
  }
  return out;
}

async function collect(strings: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const s of strings) out += s;
  return out;
}

async function* chunks(rows: string[][]): AsyncIterable<ExportRowChunk> {
  yield { count: rows.length, rows: () => rows };
}

const AWKWARD = 'a "quoted", <tagged> & multi\nline\ttext';

describe('DXF2 XML data values', () => {
  it('round-trips awkward text through the encoder and decoder', async () => {
    const row = [
      'de',
      '202401',
      'ou',
      'coc',
      'aoc',
      AWKWARD,
      'admin',
      '2024-01-01',
      '2024-01-02',
      AWKWARD,
      'true',
      'false',
    ];
    const xml = await collect(encodeDataValuesXml(chunks([row])));
    const items = await decode(xml);
    assert.equal(items[0].kind, 'header');
    const value = items.find((i) => i.kind === 'value');
    assert.ok(value && value.kind === 'value');
    assert.equal(value.value.value, AWKWARD);
    assert.equal(value.value.comment, AWKWARD);
    assert.equal(value.value.followUp, 'true');
    assert.equal(value.value.dataElement, 'de');
  });

  it('reads header defaults and both spellings of followUp', async () => {
    const items = await decode(
      '<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" dataSet="ds" period="202401" orgUnit="ou" idScheme="CODE">' +
        '<dataValue dataElement="a" value="1" followup="true"/><dataValue dataElement="b" value=""/></dataValueSet>',
    );
    assert.deepEqual(items[0], {
      kind: 'header',
      header: { dataSet: 'ds', period: '202401', orgUnit: 'ou', idScheme: 'CODE' },
    });
    const values = items.filter((i) => i.kind === 'value');
    assert.equal(values.length, 2);
    assert.equal(values[0].kind === 'value' && values[0].value.followUp, 'true');
    assert.equal(values[1].kind === 'value' && values[1].value.value, null);
  });

  it('refuses a DOCTYPE (no entity expansion, no external fetch)', async () => {
    await assert.rejects(
      decode(
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><dataValueSet>&e;</dataValueSet>',
      ),
      /DOCTYPE/i,
    );
  });

  it('refuses a root that is not a data value set', async () => {
    const items = await decode('<metadata/>');
    assert.ok(items.some((i) => i.kind === 'issue' && i.fatal));
  });
});

describe('CSV data value encoder', () => {
  it('quotes only what needs quoting', async () => {
    const row = [
      'de',
      '202401',
      'ou',
      'coc',
      'aoc',
      '1,5',
      'admin',
      '2024-01-02',
      'say "hi"',
      'false',
      'false',
    ];
    const csv = await collect(encodeDataValuesCsv(chunks([row])));
    assert.equal(csv.split('\n')[1], 'de,202401,ou,coc,aoc,"1,5",admin,2024-01-02,"say ""hi""",false,false');
  });
  it('reads a file longer than one 64 KB slice: no value lost or split at a slice edge', async () => {
    const lines = ['<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0">'];
    for (let n = 0; n < 3000; n++) {
      lines.push(
        `<dataValue dataElement="de${n}" period="202401" orgUnit="ou${n % 7}" value="${n}" comment="c${n}"/>`,
      );
    }
    lines.push('</dataValueSet>');
    const text = lines.join('\n');
    assert.ok(text.length > 3 * 64 * 1024);
    const values = (await decode(text)).filter((item) => item.kind === 'value');
    assert.equal(values.length, 3000);
    values.forEach((item, n) => {
      assert.deepEqual(item.value, {
        dataElement: `de${n}`,
        period: '202401',
        orgUnit: `ou${n % 7}`,
        comment: `c${n}`,
        value: String(n),
      });
      assert.equal(item.position.line, n + 2);
      assert.equal(item.position.column, 1);
    });
  });
});
