import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../../src/services/data-values/data-value-export-service.ts';
import { expectedExportCsv } from '../support/export-csv-oracle.ts';
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
 * The SQLite export reads a few org units per statement, sized from the rows seen so far, and
 * streams a group holding more than 20,000 rows. This data set has org units without values, one
 * with ~20,000 in-range values, and others of uneven size, with values needing CSV quoting, deleted
 * values and periods outside the range; every export must equal a plain join read in key order.
 */
const CHILD_SIDS = Array.from({ length: 30 }, (_, i) => 11 + i);
const EMPTY_SIDS = new Set([11, 12, 13, 30]);
const BIG_SID = 15;
const ELEMENTS = 60;
const COMBOS = 30;

function valueCount(sid: number): number {
  if (EMPTY_SIDS.has(sid)) return 0;
  return sid === BIG_SID ? 13 * ELEMENTS * COMBOS : (sid * 37) % 700;
}

const TREE: ExportTree = {
  name: 'grouped-read',
  values: Object.fromEntries(CHILD_SIDS.map((sid) => [sid, valueCount(sid)])),
  elements: ELEMENTS,
  combos: COMBOS,
  awkwardValue: 'line\nbreak',
  awkwardComment: 'a, "quoted" note',
};
const DATA_SET = treeDataSet(TREE);
const ou = (sid: number): string => treeOrgUnit(TREE, sid);

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
      await seedExportTree(db.storage, TREE);
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
        orgUnit: ou(TREE_ROOT_SID),
        children: 'true',
        startDate: '2023-01-01',
        endDate: '2023-12-31',
      });
      const expected = await expectedCsv(db, [TREE_ROOT_SID, ...CHILD_SIDS], months);
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
        orgUnit: ou(TREE_ROOT_SID),
        children: 'true',
        startDate: '2023-01-01',
        endDate: '2023-12-31',
        limit: '21000',
      });
      assert.equal(csv, await expectedCsv(db, [TREE_ROOT_SID, ...CHILD_SIDS], months, 21_000));
    });
  });
}
