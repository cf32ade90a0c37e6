import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../../src/services/data-values/data-value-export-service.ts';
import { CSV_EXPORT_HEADER, csvField } from '../../src/codecs/data-value-csv/csv-data-value-encoder.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importAggregateE2eValues } from '../support/data-value-imports.ts';

/**
 * Stored text that the export's fast paths must not change: on PostgreSQL the rows arrive as COPY
 * text, where backslash, tab, carriage return, line feed and the delimiter come escaped, and a
 * chunk without escapes is handed to the CSV encoder as it is. The CSV must equal the stored rows
 * quoted field by field, across chunks (long comments make the export several chunks and lines
 * straddle network reads), and JSON must carry each text unchanged.
 */

const EXPORT_QUERY = {
  dataSet: ['qNtxTrp56wV', 'VEM58nY22sO'],
  orgUnit: 'ImspTQPwCqd',
  children: 'true',
  startDate: '2018-01-01',
  endDate: '2019-12-31',
};

/** Texts that COPY escapes or that need CSV quoting, one per row, in value, comment and stored_by. */
const AWKWARD = [
  'back\\slash and a literal \\N',
  'tab\there',
  'carriage\rreturn',
  'line\nfeed',
  'comma, here',
  'say "hi"',
  'naïve – ünïcödé 😀',
  '=1+1',
  '\\',
];

interface StoredRow {
  de: string;
  pe: string;
  ou: string;
  coc: string;
  aoc: string;
  value: string | null;
  stored_by: string | null;
  last_updated: string;
  comment: string | null;
  follow_up: number;
  deleted: number;
}

/** The stored rows the export selects, in primary-key order. */
async function storedRows(db: TestDatabase): Promise<StoredRow[]> {
  return db.storage.query<StoredRow>(
    `SELECT de.uid AS de, p.iso AS pe, ou.uid AS ou, coc.uid AS coc, aoc.uid AS aoc, dv.value, dv.stored_by,
            dv.last_updated, dv.comment, dv.follow_up, dv.deleted
       FROM data_value dv
       JOIN metadata_object de ON de.sid = dv.data_element_id
       JOIN period p ON p.period_id = dv.period_id
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
       JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id
      WHERE dv.deleted = 0
      ORDER BY dv.org_unit_id, dv.period_id, dv.data_element_id, dv.category_option_combo_id,
               dv.attribute_option_combo_id`,
  );
}

function expectedCsv(rows: readonly StoredRow[]): string {
  const lines = rows.map((r) =>
    [
      r.de,
      r.pe,
      r.ou,
      r.coc,
      r.aoc,
      r.value ?? '',
      r.stored_by ?? '',
      r.last_updated,
      r.comment ?? '',
      Number(r.follow_up) === 0 ? 'false' : 'true',
      Number(r.deleted) === 0 ? 'false' : 'true',
    ]
      .map(csvField)
      .join(','),
  );
  return `${CSV_EXPORT_HEADER}\n${lines.map((l) => `${l}\n`).join('')}`;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value export of text that needs escaping (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadAggregateE2eMetadata(db.storage);
      await importAggregateE2eValues(context);
      // 2,000-character comments: about 460 KB of CSV, more than one chunk on every path.
      await db.storage.execute('UPDATE data_value SET comment = ?', ['long comment '.repeat(154)]);
      const keys = await db.storage.query<{ ou: number; pe: number; de: number; coc: number }>(
        `SELECT org_unit_id AS ou, period_id AS pe, data_element_id AS de, category_option_combo_id AS coc
           FROM data_value ORDER BY 1, 2, 3, 4`,
      );
      assert.ok(keys.length > AWKWARD.length * 3);
      // Spread over the export: rows near the start, the middle and the end carry the texts.
      for (const [i, awkward] of AWKWARD.entries()) {
        const at = (n: number) => keys[Math.floor(((i * 3 + n) * (keys.length - 1)) / (AWKWARD.length * 3))];
        const set = async (column: string, key: (typeof keys)[number]): Promise<void> => {
          await db.storage.execute(
            `UPDATE data_value SET ${column} = ? WHERE org_unit_id = ? AND period_id = ? AND data_element_id = ?
               AND category_option_combo_id = ?`,
            [awkward, key.ou, key.pe, key.de, key.coc],
          );
        };
        await set('value', at(0));
        await set('comment', at(1));
        await set('stored_by', at(2));
      }
    });
    after(async () => {
      await db?.dispose();
    });

    it('writes CSV equal to the stored rows quoted field by field', async () => {
      const rows = await storedRows(db);
      assert.equal(rows.length, 231);
      const body = await text(
        (await exportDataValues(context, parseDataValueExportRequest(EXPORT_QUERY, { format: 'csv' }))).body,
      );
      assert.ok(body.length > 400_000);
      assert.equal(body, expectedCsv(rows));
    });

    it('quotes a formula with escapeFormulas and keeps every other field as stored', async () => {
      const body = await text(
        (
          await exportDataValues(
            context,
            parseDataValueExportRequest({ ...EXPORT_QUERY, escapeFormulas: 'true' }, { format: 'csv' }),
          )
        ).body,
      );
      assert.ok(body.includes(`"'=1+1"`) || body.includes(`'=1+1`));
      assert.ok(!/(^|,)=1\+1(,|$)/m.test(body));
      assert.equal(body.split('\n').length, expectedCsv(await storedRows(db)).split('\n').length);
    });

    it('writes JSON carrying each text unchanged', async () => {
      const rows = await storedRows(db);
      const body = await text(
        (await exportDataValues(context, parseDataValueExportRequest(EXPORT_QUERY, { format: 'json' }))).body,
      );
      const values = (
        JSON.parse(body) as { dataValues: Array<{ value?: string; storedBy?: string; comment?: string }> }
      ).dataValues;
      assert.equal(values.length, rows.length);
      const texts = (
        pick: (v: { value?: string; storedBy?: string; comment?: string }) => string | undefined,
      ) =>
        values
          .map(pick)
          .filter((t): t is string => t !== undefined && AWKWARD.includes(t))
          .sort();
      const sorted = [...AWKWARD].sort();
      assert.deepEqual(
        texts((v) => v.value),
        sorted,
      );
      assert.deepEqual(
        texts((v) => v.comment),
        sorted,
      );
      assert.deepEqual(
        texts((v) => v.storedBy),
        sorted,
      );
    });
  });
}
