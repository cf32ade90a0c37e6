import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../../src/services/data-value-export-service.ts';
import { uidFromSeed } from '../../src/domain/identifiers/uid.ts';
import { expectedExportCsv } from '../support/export-csv-oracle.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';

/**
 * The SQLite export reads a few org units per statement, sized from the rows seen so far, and
 * streams a group holding more than 20,000 rows. This data set has org units without values, one
 * with ~20,000 in-range values, and others of uneven size, with values needing CSV quoting, deleted
 * values and periods outside the range; every export must equal a plain join read in key order.
 */
const ROOT_SID = 10;
const CHILD_SIDS = Array.from({ length: 30 }, (_, i) => 11 + i);
const EMPTY_SIDS = new Set([11, 12, 13, 30]);
const BIG_SID = 15;
const ELEMENTS = 60;
const COMBOS = 30;
const DATA_SET = uidFromSeed('grouped-read-data-set');
const ou = (sid: number): string => uidFromSeed(`grouped-read-ou-${sid}`);

function valueCount(sid: number): number {
  if (EMPTY_SIDS.has(sid)) return 0;
  return sid === BIG_SID ? 13 * ELEMENTS * COMBOS : (sid * 37) % 700;
}

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
  for (const sid of CHILD_SIDS) {
    const path = `${rootPath}/${ou(sid)}`;
    await object(sid, 'organisationUnits', ou(sid), path, { path });
  }
  const elements = Array.from({ length: ELEMENTS }, (_, i) => uidFromSeed(`grouped-read-de-${i}`));
  for (const [i, uid] of elements.entries()) await object(1000 + i, 'dataElements', uid, null, {});
  for (let i = 0; i < COMBOS; i++) {
    await object(2000 + i, 'categoryOptionCombos', uidFromSeed(`grouped-read-coc-${i}`), null, {});
  }
  await object(3, 'dataSets', DATA_SET, null, {
    periodType: 'Monthly',
    dataSetElements: elements.map((id) => ({ dataElement: { id } })),
  });
  // Periods 1-12 are 2023's months; period 13, December 2022, lies outside every range asked for.
  for (let m = 1; m <= 13; m++) {
    const year = m === 13 ? 2022 : 2023;
    const month = String(m === 13 ? 12 : m).padStart(2, '0');
    await db.storage.execute(
      'INSERT INTO period (period_id, iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?, ?)',
      [m, `${year}${month}`, 'Monthly', `${year}-${month}-01`, `${year}-${month}-28`],
    );
  }
  for (const sid of CHILD_SIDS) {
    const count = valueCount(sid);
    if (count === 0) continue;
    await db.storage
      .execute(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${count - 1})
      INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id,
        attribute_option_combo_id, value, stored_by, created, last_updated, comment, follow_up, deleted)
      SELECT ${sid}, 1 + i % 13, 1000 + (i / 13) % ${ELEMENTS}, 2000 + i / ${13 * ELEMENTS}, 2000,
        CASE WHEN i % 89 = 5 THEN 'line
break' ELSE CAST(i AS TEXT) END,
        CASE WHEN i % 7 = 0 THEN NULL ELSE 'loader' END, '${now}', '${now}',
        CASE WHEN i % 97 = 3 THEN 'a, "quoted" note' END,
        CASE WHEN i % 11 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 50 = 7 THEN 1 ELSE 0 END
      FROM n`);
  }
}

/** The expected CSV, read with plain joins over the given org units and periods. */
function expectedCsv(
  db: TestDatabase,
  orgUnitSids: number[],
  periodIds: number[],
  limit?: number,
): Promise<string> {
  return expectedExportCsv(db.storage, {
    where: `dv.org_unit_id IN (${orgUnitSids.join(', ')}) AND dv.period_id IN (${periodIds.join(', ')})`,
    limit,
  });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value CSV export read in org unit groups (${kind})`, { skip: skipReasonFor(kind) }, () => {
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

    const exportCsv = async (query: Record<string, unknown>): Promise<string> => {
      const request = parseDataValueExportRequest(
        { dataSet: DATA_SET, ...query },
        { format: 'csv', compression: 'none' },
      );
      return text((await exportDataValues(context, request)).body);
    };
    const months = Array.from({ length: 12 }, (_, i) => i + 1);

    it('writes a subtree over a date range as the join does, across empty, small and over-cap org units', async () => {
      const csv = await exportCsv({
        orgUnit: ou(ROOT_SID),
        children: 'true',
        startDate: '2023-01-01',
        endDate: '2023-12-31',
      });
      const expected = await expectedCsv(db, [ROOT_SID, ...CHILD_SIDS], months);
      // The data set is what the test says it is: one org unit past the 20,000-row group cap.
      const bigRows = expected.split('\n').filter((line) => line.includes(`,${ou(BIG_SID)},`)).length;
      assert.ok(bigRows > 20_000, `${bigRows} rows for the big org unit`);
      assert.ok(expected.includes('"a, ""quoted"" note"') && expected.includes('"line\nbreak"'));
      assert.equal(csv.length, expected.length);
      assert.equal(csv, expected);
    });

    it('writes listed org units and periods, in key order whatever order they are asked in', async () => {
      const csv = await exportCsv({
        orgUnit: [ou(33), ou(BIG_SID), ou(12), ou(14)],
        period: ['202304', '202303'],
      });
      assert.equal(csv, await expectedCsv(db, [12, 14, BIG_SID, 33], [3, 4]));
    });

    it('stops at the limit inside the over-cap org unit', async () => {
      const csv = await exportCsv({
        orgUnit: ou(ROOT_SID),
        children: 'true',
        startDate: '2023-01-01',
        endDate: '2023-12-31',
        limit: '21000',
      });
      assert.equal(csv, await expectedCsv(db, [ROOT_SID, ...CHILD_SIDS], months, 21_000));
    });
  });
}
