import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
  type DataValueExportFormat,
} from '../../src/services/data-value-export-service.ts';
import type { ExportCompression } from '../../src/services/export-compression.ts';
import { readCsvRecords } from '../../src/codecs/csv/csv-reader.ts';
import { readXmlEvents } from '../../src/codecs/xml/safe-xml-reader.ts';
import { uidFromSeed } from '../../src/domain/identifiers/uid.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';

/**
 * The export's progress callback counts the values its encoder writes: the last count must equal the
 * values in the file, read back with a parser, and the values the database holds for the request,
 * for every format and compression. The org units hold enough values for several chunks of rows, with
 * values and comments holding line breaks, quotes and commas (a CSV record spans lines; an ADX value
 * becomes an annotation), deleted values and values outside the range asked for. That each count is
 * given as the encoder hands out the text holding those values is tested on the encoders
 * (src/codecs/data-value-encoder-counts.test.ts).
 */
const ROOT_SID = 10;
/** Values per child org unit; 12 has none. */
const CHILD_VALUES: Readonly<Record<number, number>> = { 11: 7_300, 12: 0, 13: 3, 14: 2_600 };
const ELEMENTS = 40;
const COMBOS = 20;
const DATA_SET = uidFromSeed('export-progress-data-set');
const ou = (sid: number): string => uidFromSeed(`export-progress-ou-${sid}`);
const RANGE = { startDate: '2023-01-01', endDate: '2023-12-31' };

async function seed(db: TestDatabase): Promise<void> {
  const now = '2024-01-01T00:00:00.000Z';
  const object = async (sid: number, type: string, uid: string, path: string | null, body: object) => {
    await db.storage.execute(
      'INSERT INTO metadata_object (sid, type, uid, code, name, path, created, last_updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [sid, type, uid, `C_${sid}`, `Object ${sid}`, path, now, now, JSON.stringify({ id: uid, ...body })],
    );
  };
  const rootPath = `/${ou(ROOT_SID)}`;
  await object(ROOT_SID, 'organisationUnits', ou(ROOT_SID), rootPath, { path: rootPath });
  for (const sid of Object.keys(CHILD_VALUES).map(Number)) {
    const path = `${rootPath}/${ou(sid)}`;
    await object(sid, 'organisationUnits', ou(sid), path, { path });
  }
  const elements = Array.from({ length: ELEMENTS }, (_, i) => uidFromSeed(`export-progress-de-${i}`));
  for (const [i, uid] of elements.entries()) await object(1000 + i, 'dataElements', uid, null, {});
  for (let i = 0; i < COMBOS; i++) {
    await object(2000 + i, 'categoryOptionCombos', uidFromSeed(`export-progress-coc-${i}`), null, {});
  }
  await object(3, 'dataSets', DATA_SET, null, {
    periodType: 'Monthly',
    dataSetElements: elements.map((id) => ({ dataElement: { id } })),
  });
  // Periods 1-12 are 2023's months; period 13, December 2022, lies outside the range.
  for (let m = 1; m <= 13; m++) {
    const year = m === 13 ? 2022 : 2023;
    const month = String(m === 13 ? 12 : m).padStart(2, '0');
    await db.storage.execute(
      'INSERT INTO period (period_id, iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?, ?)',
      [m, `${year}${month}`, 'Monthly', `${year}-${month}-01`, `${year}-${month}-28`],
    );
  }
  for (const [sid, count] of Object.entries(CHILD_VALUES)) {
    if (count === 0) continue;
    await db.storage
      .execute(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${count - 1})
      INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id,
        attribute_option_combo_id, value, stored_by, created, last_updated, comment, follow_up, deleted)
      SELECT ${sid}, 1 + i % 13, 1000 + (i / 13) % ${ELEMENTS}, 2000 + i / ${13 * ELEMENTS}, 2000,
        CASE WHEN i % 89 = 5 THEN 'line
break, "quoted"' ELSE CAST(i AS TEXT) END,
        CASE WHEN i % 7 = 0 THEN NULL ELSE 'loader' END, '${now}', '${now}',
        CASE WHEN i % 97 = 3 THEN 'a, "quoted"
note' END,
        CASE WHEN i % 11 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 50 = 7 THEN 1 ELSE 0 END
      FROM n`);
  }
}

/** The values the database holds in the range: what an export of them must write. */
async function storedValues(db: TestDatabase, includeDeleted: boolean): Promise<number> {
  const [row] = await db.storage.query<{ n: number }>(
    `SELECT COUNT(*) AS n FROM data_value WHERE period_id <= 12${includeDeleted ? '' : ' AND deleted = 0'}`,
  );
  return Number(row.n);
}

function unzipOne(bytes: Buffer): Promise<{ name: string; data: Buffer }> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const entries: Array<{ name: string; data: Buffer }> = [];
      zip.on('error', reject);
      zip.on('end', () =>
        entries.length === 1 ? resolve(entries[0]) : reject(new Error(`${entries.length} entries`)),
      );
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no stream'));
          buffer(stream).then((data) => {
            entries.push({ name: entry.fileName, data });
            zip.readEntry();
          }, reject);
        });
      });
      zip.readEntry();
    });
  });
}

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

/** The values in an export's text, read back with a parser of its format. */
async function valuesIn(format: DataValueExportFormat, text: string): Promise<number> {
  let count = 0;
  switch (format) {
    case 'csv':
      for await (const _ of readCsvRecords(once(text), 'export.csv')) count++;
      return count - 1;
    case 'json':
      return (JSON.parse(text) as { dataValues: unknown[] }).dataValues.length;
    case 'xml':
    case 'adx':
      for await (const event of readXmlEvents(once(text), {
        fileName: `export.${format}`,
        // DXF2 values sit in <dataValueSet>, ADX values in <adx><group>.
        captureDepth: format === 'xml' ? 2 : 3,
      })) {
        if (event.kind === 'element' && event.element.localName === 'dataValue') count++;
      }
      return count;
  }
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value export progress count (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await seed(db);
    });
    after(async () => {
      await db?.dispose();
    });

    /** Exports with a progress callback: the reports, the file's text and its name in a zip. */
    const exportCounting = async (
      format: DataValueExportFormat,
      compression: ExportCompression,
      query: Record<string, unknown> = {},
    ) => {
      const request = parseDataValueExportRequest(
        { dataSet: DATA_SET, orgUnit: ou(ROOT_SID), children: 'true', ...RANGE, ...query },
        { format, compression },
      );
      const reports: number[] = [];
      const result = await exportDataValues(
        context,
        request,
        {},
        { onProgress: (written) => reports.push(written) },
      );
      const bytes = await buffer(result.body);
      let text: string;
      let entryName: string | undefined;
      if (compression === 'gzip') text = gunzipSync(bytes).toString('utf8');
      else if (compression === 'zip') {
        const entry = await unzipOne(bytes);
        entryName = entry.name;
        text = entry.data.toString('utf8');
      } else text = bytes.toString('utf8');
      return { reports, text, entryName, fileName: result.fileName };
    };

    const assertCounted = (
      reports: number[],
      written: number,
      expected: number,
      label: string,
      severalChunks = true,
    ) => {
      assert.equal(written, expected, `${label}: values in the file`);
      assert.equal(reports.at(-1), expected, `${label}: the last count`);
      for (let i = 1; i < reports.length; i++) {
        assert.ok(reports[i] > reports[i - 1], `${label}: counts rise (${reports.join(', ')})`);
      }
      // Counted per chunk of rows, as the values are written, not once at the end nor once per value.
      if (severalChunks) assert.ok(reports.length > 1, `${label}: ${reports.length} reports`);
      assert.ok(reports.length <= expected / 100, `${label}: ${reports.length} reports`);
    };

    for (const format of ['csv', 'json', 'xml', 'adx'] as const) {
      it(`counts exactly the values a ${format} export writes, as it writes them`, async () => {
        const expected = await storedValues(db, false);
        // More than one chunk of rows (5,000) is read.
        assert.ok(expected > 5_000, `${expected} values`);
        const { reports, text } = await exportCounting(format, 'none');
        assertCounted(reports, await valuesIn(format, text), expected, format);
      });
    }

    for (const [format, compression] of [
      ['csv', 'gzip'],
      ['csv', 'zip'],
      ['adx', 'gzip'],
      ['xml', 'zip'],
    ] as const) {
      it(`counts the values, not the bytes, of a ${format} export compressed with ${compression}`, async () => {
        const { reports, text, entryName, fileName } = await exportCounting(format, compression);
        assertCounted(reports, await valuesIn(format, text), await storedValues(db, false), compression);
        if (compression === 'zip') assert.equal(`${entryName}.zip`, fileName);
      });
    }

    it('counts deleted values when they are asked for, and stops at the limit', async () => {
      const withDeleted = await exportCounting('json', 'none', { includeDeleted: 'true' });
      const all = await storedValues(db, true);
      assert.ok(all > (await storedValues(db, false)));
      assertCounted(withDeleted.reports, await valuesIn('json', withDeleted.text), all, 'includeDeleted');

      // A limit inside a chunk of rows (SQLite may read the first 6,123 in one).
      const limited = await exportCounting('csv', 'none', { limit: '6123' });
      assertCounted(limited.reports, await valuesIn('csv', limited.text), 6123, 'limit', false);
    });

    it('reports nothing when no value is written', async () => {
      for (const format of ['csv', 'json', 'xml', 'adx'] as const) {
        const { reports, text } = await exportCounting(format, 'zip', { orgUnit: ou(12) });
        assert.deepEqual(reports, [], format);
        assert.equal(await valuesIn(format, text), 0, format);
      }
    });
  });
}
