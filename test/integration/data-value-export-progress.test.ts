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
} from '../../src/services/data-values/data-value-export-service.ts';
import type { ExportCompression } from '../../src/services/jobs/export-compression.ts';
import { readCsvRecords } from '../../src/codecs/csv/csv-reader.ts';
import { readXmlEvents } from '../../src/codecs/xml/safe-xml-reader.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import {
  seedExportTree,
  treeDataSet,
  treeOrgUnit,
  TREE_ROOT_SID,
  type ExportTree,
} from '../support/export-tree-fixture.ts';

/**
 * The export's progress callback counts the values its encoder writes: the last count must equal the
 * values in the file, read back with a parser, and the values the database holds for the request,
 * for every format and compression. The org units hold enough values for several chunks of rows, with
 * values and comments holding line breaks, quotes and commas (a CSV record spans lines; an ADX value
 * becomes an annotation), deleted values and values outside the range asked for. That each count is
 * given as the encoder hands out the text holding those values is tested on the encoders
 * (src/codecs/data-value-encoder-counts.test.ts).
 */
const TREE: ExportTree = {
  name: 'export-progress',
  values: { 11: 7_300, 12: 0, 13: 3, 14: 2_600 }, // 12 holds none
  elements: 40,
  combos: 20,
  awkwardValue: 'line\nbreak, "quoted"',
  awkwardComment: 'a, "quoted"\nnote',
};
const DATA_SET = treeDataSet(TREE);
const ou = (sid: number): string => treeOrgUnit(TREE, sid);
const RANGE = { startDate: '2023-01-01', endDate: '2023-12-31' };

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
      await seedExportTree(db.storage, TREE);
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
        { dataSet: DATA_SET, orgUnit: ou(TREE_ROOT_SID), children: 'true', ...RANGE, ...query },
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
