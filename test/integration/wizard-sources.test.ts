import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import yazl from 'yazl';
import { csvSource, detectEncoding } from '../../src/services/wizard/sources/csv-source.ts';
import { jsonSource } from '../../src/services/wizard/sources/json-source.ts';
import {
  excelSerialToIso,
  isDateFormatCode,
  xlsxSource,
} from '../../src/services/wizard/sources/xlsx-source.ts';
import { InputError } from '../../src/codecs/input/input-error.ts';
import { writeXlsx } from '../support/xlsx-writer.ts';

/*
 * The import wizard's file sources (issue 17): CSV in its encodings and delimiters, JSON at a
 * record path, Excel tables and fixed-layout forms with dates, formulas and errors, and the hostile
 * cases (mixed encodings, a zip bomb, a file that is no workbook). No database: sources only read.
 * The 1,000,000-row sheet is a load test: test/load/wizard-xlsx-million.load.ts.
 */

async function all<T>(records: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of records) out.push(r);
  return out;
}

describe('Import wizard sources', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-wizard-sources-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, content: string | Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return { path, fileName: name };
  };

  describe('CSV', () => {
    it('reads a UTF-8 comma file with quotes, a line break in a field and a blank line', async () => {
      const f = file(
        'a.csv',
        'District,Facility,Cases\n"Bo, East","Ngalu\nCHC",12\n\nKenema,Bandama MCHP,\n',
      );
      const config = csvSource.parseConfig({ file: f });
      const records = await all(csvSource.open(config));
      assert.deepEqual(
        records.map((r) => [r.values, r.locator.row]),
        [
          [{ District: 'Bo, East', Facility: 'Ngalu\nCHC', Cases: '12' }, 2],
          [{ District: 'Kenema', Facility: 'Bandama MCHP', Cases: null }, 5],
        ],
      );
      const described = await csvSource.describe(config);
      assert.deepEqual(described.columns, ['District', 'Facility', 'Cases']);
      assert.equal(described.detected.encoding, 'utf-8');
      assert.equal(described.detected.delimiter, ',');
    });

    it('detects a UTF-8 BOM with semicolons, UTF-16 LE with tabs and Windows-1252 with pipes', async () => {
      const bom = file(
        'bom.csv',
        Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Région;Cas\nKénéma;3,5\n')]),
      );
      const d1 = await csvSource.describe(csvSource.parseConfig({ file: bom }));
      assert.deepEqual([d1.detected.encoding, d1.detected.bom, d1.detected.delimiter], ['utf-8', true, ';']);
      assert.deepEqual(d1.sample[0].values, { Région: 'Kénéma', Cas: '3,5' });

      const utf16 = file(
        'u16.csv',
        Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Name\tValue\nBô\t7\n', 'utf16le')]),
      );
      const d2 = await csvSource.describe(csvSource.parseConfig({ file: utf16 }));
      assert.deepEqual([d2.detected.encoding, d2.detected.delimiter], ['utf-16le', '\t']);
      assert.deepEqual(d2.sample[0].values, { Name: 'Bô', Value: '7' });

      const noBom16 = file('u16nobom.csv', Buffer.from('Name,Value\nBo,7\n', 'utf16le'));
      assert.equal(detectEncoding(Buffer.from('Name,Value\nBo,7\n', 'utf16le')).encoding, 'utf-16le');
      assert.deepEqual((await all(csvSource.open(csvSource.parseConfig({ file: noBom16 }))))[0].values, {
        Name: 'Bo',
        Value: '7',
      });

      const cp1252 = file('w.csv', Buffer.from('Name|Value\nK\xe9n\xe9ma \x80|4\n', 'latin1'));
      const d3 = await csvSource.describe(csvSource.parseConfig({ file: cp1252 }));
      assert.deepEqual([d3.detected.encoding, d3.detected.delimiter], ['windows-1252', '|']);
      assert.deepEqual(d3.sample[0].values, { Name: 'Kénéma €', Value: '4' });
    });

    it('mixed encodings: a Latin-1 byte after 64 KiB of UTF-8 stops with the line and the encoding to choose', async () => {
      const good = 'Name,Value\n' + 'Bô,1\n'.repeat(20_000);
      const f = file(
        'mixed.csv',
        Buffer.concat([Buffer.from(good), Buffer.from('K\xe9n\xe9ma,2\n', 'latin1')]),
      );
      await assert.rejects(all(csvSource.open(csvSource.parseConfig({ file: f }))), (error: unknown) => {
        assert.ok(error instanceof InputError);
        assert.match(error.message, /mixed\.csv: is not valid UTF-8 at line 20002 \(byte 120012\)/);
        assert.match(error.message, /windows-1252/);
        return true;
      });
      // Chosen as Windows-1252, it reads (the UTF-8 'ô' becomes two characters, as the user chose).
      const records = await all(csvSource.open(csvSource.parseConfig({ file: f, encoding: 'windows-1252' })));
      assert.equal(records.length, 20_001);
      assert.equal(records[20_000].values.Name, 'Kénéma');
    });

    it('takes a chosen delimiter and header row, and refuses an unclosed quote with its line', async () => {
      const f = file('h.csv', 'Report of March\nA;B\n1;2\n');
      const records = await all(
        csvSource.open(csvSource.parseConfig({ file: f, delimiter: ';', headerRow: 2 })),
      );
      assert.deepEqual(records[0].values, { A: '1', B: '2' });
      const bad = file('bad.csv', 'A,B\n1,"open\n');
      await assert.rejects(
        all(csvSource.open(csvSource.parseConfig({ file: bad }))),
        /bad\.csv \(line 2\): a quoted field is not closed/,
      );
      assert.throws(() => csvSource.parseConfig({ file: f, encoding: 'ebcdic' }), /encoding/);
    });
  });

  describe('JSON', () => {
    it('reads a root array, a top-level list and a deeper path, flattening nested objects', async () => {
      const root = file(
        'r.json',
        '[{"id":"C1","person":{"name":"Awa","age":31},"visits":[{"date":"2024-01-02"}]}]',
      );
      const [record] = await all(jsonSource.open(jsonSource.parseConfig({ file: root })));
      assert.deepEqual(record.values, {
        id: 'C1',
        'person.name': 'Awa',
        'person.age': '31',
        visits: '[{"date":"2024-01-02"}]',
      });
      assert.deepEqual(record.locator, { row: 1, path: '$[0]' });
      assert.deepEqual((record.raw as { visits: unknown[] }).visits, [{ date: '2024-01-02' }]);

      const top = file('t.json', '{"meta":{"n":2},"cases":[{"id":"A"},{"id":"B"}]}');
      const cases = await all(
        jsonSource.open(jsonSource.parseConfig({ file: top, recordPath: '$.cases[*]' })),
      );
      assert.deepEqual(
        cases.map((c) => [c.values.id, c.locator.path]),
        [
          ['A', '$.cases[0]'],
          ['B', '$.cases[1]'],
        ],
      );

      const deep = file('d.json', '{"data":{"items":[{"x":1}]}}');
      const items = await all(
        jsonSource.open(jsonSource.parseConfig({ file: deep, recordPath: "$.data['items']" })),
      );
      assert.deepEqual(items[0].values, { x: '1' });
      await assert.rejects(
        all(jsonSource.open(jsonSource.parseConfig({ file: deep, recordPath: '$.data.cases' }))),
        /has nothing at \$\.data\.cases/,
      );
      assert.throws(() => jsonSource.parseConfig({ file: deep, recordPath: '$..items' }), /recordPath/);
      const notList = file('n.json', '{"cases":{"id":"A"}}');
      await assert.rejects(
        all(jsonSource.open(jsonSource.parseConfig({ file: notList, recordPath: '$.cases' }))),
        /is not a list of records/,
      );
    });
  });

  describe('Excel .xlsx', () => {
    it('reads dates stored as serial numbers (1900 and 1904 systems) and knows date formats', () => {
      assert.equal(excelSerialToIso(45366), '2024-03-15');
      assert.equal(excelSerialToIso(1), '1900-01-01');
      assert.equal(excelSerialToIso(61), '1900-03-01');
      assert.equal(excelSerialToIso(45366.5), '2024-03-15T12:00:00');
      assert.equal(excelSerialToIso(43904, true), '2024-03-15');
      assert.ok(isDateFormatCode('dd/mm/yyyy'));
      assert.ok(isDateFormatCode('[$-409]mmm d, yyyy'));
      assert.ok(!isDateFormatCode('0.00'));
      assert.ok(!isDateFormatCode('"days"0'));
      assert.ok(!isDateFormatCode('[Red]#,##0'));
    });

    it('a line list: header row, first data row, shared and inline strings, dates, booleans, formulas and errors', async () => {
      const path = join(dir, 'list.xlsx');
      await writeXlsx(path, [
        { name: 'Notes', rows: [['ignore me']] },
        {
          name: 'Line list',
          rows: [
            ['Lab results, March'],
            ['Facility', 'Date', 'Tested', 'Positive', 'Share', 'Checked'],
            [
              { inline: 'Ngalu CHC' },
              { date: 45366 },
              10,
              { formula: 'B9', cached: 4 },
              { formula: 'D3/C3' },
              true,
            ],
            [null, null, null, null, null, null],
            ['Bandama MCHP', { date: 45367 }, 0, 0, { error: '#DIV/0!' }, false],
          ],
        },
      ]);
      const config = xlsxSource.parseConfig({
        file: { path, fileName: 'list.xlsx' },
        sheet: 'line list',
        headerRow: 2,
      });
      const described = await xlsxSource.describe(config);
      assert.deepEqual(described.detected.sheets, ['Notes', 'Line list']);
      assert.deepEqual(described.columns, ['Facility', 'Date', 'Tested', 'Positive', 'Share', 'Checked']);
      const records = await all(xlsxSource.open(config));
      assert.equal(records.length, 2, 'the empty row 4 is skipped');
      assert.deepEqual(records[0].values, {
        Facility: 'Ngalu CHC',
        Date: '2024-03-15',
        Tested: '10',
        Positive: '4',
        Share: null,
        Checked: 'true',
      });
      assert.deepEqual(records[0].locator, {
        row: 3,
        sheet: 'Line list',
        cells: { Facility: 'A3', Date: 'B3', Tested: 'C3', Positive: 'D3', Share: 'E3', Checked: 'F3' },
      });
      assert.equal(records[0].issues?.length, 1);
      assert.match(
        records[0].issues![0].message,
        /^cell E3 the formula =D3\/C3 has no saved result; open the workbook in Excel/,
      );
      assert.equal(records[0].issues![0].where, 'Line list!E3');
      assert.match(records[1].issues![0].message, /cell E5 holds the error #DIV\/0!/);
      assert.equal(records[1].values.Checked, 'false');
      // By position, and without a header (columns are the letters).
      const byPosition = await all(
        xlsxSource.open(
          xlsxSource.parseConfig({
            file: { path, fileName: 'list.xlsx' },
            sheet: 2,
            headerRow: 0,
            firstDataRow: 3,
          }),
        ),
      );
      assert.equal(byPosition[0].values.A, 'Ngalu CHC');
      assert.throws(
        () => xlsxSource.parseConfig({ file: { path, fileName: 'x' }, headerRow: 3, firstDataRow: 2 }),
        /firstDataRow/,
      );
      await assert.rejects(
        all(
          xlsxSource.open(xlsxSource.parseConfig({ file: { path, fileName: 'list.xlsx' }, sheet: 'Data' })),
        ),
        /no sheet named 'Data'; the workbook has 'Notes', 'Line list'/,
      );
    });

    it('a fixed-layout form: one record per sheet, keyed by cell address', async () => {
      const path = join(dir, 'form.xlsx');
      const form = (facility: string, month: number, a: number, b: number) => ({
        name: facility,
        rows: [
          ['Monthly report', null, null],
          ['Facility', facility, null],
          ['Month', { date: month }, null],
          [null, 'Under 5', '5 and over'],
          ['Malaria cases', a, b],
        ],
      });
      await writeXlsx(path, [form('Ngalu CHC', 45352, 3, 9), form('Bandama MCHP', 45352, 1, 2)]);
      const config = xlsxSource.parseConfig({
        file: { path, fileName: 'form.xlsx' },
        sheet: '*',
        layout: 'cells',
        cells: ['B2', 'B3', 'b5', '$C$5', 'D9'],
      });
      const records = await all(xlsxSource.open(config));
      assert.deepEqual(
        records.map((r) => [r.locator.sheet, r.values]),
        [
          ['Ngalu CHC', { B2: 'Ngalu CHC', B3: '2024-03-01', B5: '3', C5: '9', D9: null }],
          ['Bandama MCHP', { B2: 'Bandama MCHP', B3: '2024-03-01', B5: '1', C5: '2', D9: null }],
        ],
      );
      // Without addresses, every cell with a value is read (what the wizard shows to pick from).
      const described = await xlsxSource.describe(
        xlsxSource.parseConfig({ file: { path, fileName: 'form.xlsx' }, layout: 'cells' }),
      );
      assert.deepEqual(described.columns, ['A1', 'A2', 'B2', 'A3', 'B3', 'B4', 'C4', 'A5', 'B5', 'C5']);
    });

    it('refuses a zip bomb (a 100 MiB sheet of about 100 KiB) after 64 MiB, and a zip that is no workbook', async () => {
      const bomb = join(dir, 'bomb.xlsx');
      const zip = new yazl.ZipFile();
      zip.addBuffer(
        Buffer.from('<workbook><sheets><sheet name="S" r:id="rId1"/></sheets></workbook>'),
        'xl/workbook.xml',
      );
      const chunk = Buffer.from('<x/>'.repeat(256 * 1024));
      let sent = 0;
      zip.addReadStream(
        Readable.from(
          (function* () {
            yield Buffer.from('<worksheet><sheetData>');
            for (; sent < 100; sent++) yield chunk;
            yield Buffer.from('</sheetData></worksheet>');
          })(),
        ),
        'xl/worksheets/sheet1.xml',
      );
      zip.end();
      const out = createWriteStream(bomb);
      zip.outputStream.pipe(out);
      await once(out, 'close');
      const before = process.memoryUsage().rss;
      await assert.rejects(
        all(xlsxSource.open(xlsxSource.parseConfig({ file: { path: bomb, fileName: 'bomb.xlsx' } }))),
        /bomb\.xlsx: part xl\/worksheets\/sheet1\.xml expands more than 200 times its compressed size; refused as a compression bomb/,
      );
      assert.ok(process.memoryUsage().rss - before < 200 * 1024 ** 2, 'the bomb is not held in memory');

      const notWorkbook = join(dir, 'other.xlsx');
      const z2 = new yazl.ZipFile();
      z2.addBuffer(Buffer.from('hello'), 'readme.txt');
      z2.end();
      const o2 = createWriteStream(notWorkbook);
      z2.outputStream.pipe(o2);
      await once(o2, 'close');
      await assert.rejects(
        all(xlsxSource.open(xlsxSource.parseConfig({ file: { path: notWorkbook, fileName: 'other.xlsx' } }))),
        /other\.xlsx: is a zip but not an Excel \.xlsx workbook/,
      );
      const text = file('plain.xlsx', 'Name,Value\n');
      await assert.rejects(
        all(xlsxSource.open(xlsxSource.parseConfig({ file: text }))),
        /plain\.xlsx: is not an Excel \.xlsx workbook/,
      );
    });
  });
});
