import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../../src/services/data-values/data-value-export-service.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importAggregateE2eValues } from '../support/data-value-imports.ts';
import { expectedExportCsv } from '../support/export-csv-oracle.ts';

const EXPORT_QUERY = {
  dataSet: ['qNtxTrp56wV', 'VEM58nY22sO'],
  orgUnit: 'ImspTQPwCqd',
  children: 'true',
  startDate: '2018-01-01',
  endDate: '2019-12-31',
};

/** The CSV an export under `column` must write, read with plain joins: the oracle for the export. */
function expectedCsv(db: TestDatabase, column: 'code' | 'name', limit?: number): Promise<string> {
  return expectedExportCsv(db.storage, {
    identifier: (alias) => `COALESCE(${alias}.${column}, ${alias}.uid)`,
    limit,
  });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `data value CSV export under CODE and NAME schemes (${kind})`,
    { skip: skipReasonFor(kind) },
    () => {
      let db: TestDatabase;
      let context: FerryContext;

      before(async () => {
        db = await createTestDatabase(kind);
        context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
        await loadAggregateE2eMetadata(db.storage);
        await importAggregateE2eValues(context);
        // One org unit with no code (written by its UID) and a name that needs CSV quoting.
        const orgUnit = await db.storage.queryOne<{ org_unit_id: number }>(
          'SELECT org_unit_id FROM data_value ORDER BY org_unit_id LIMIT 1',
        );
        assert.ok(orgUnit);
        await db.storage.execute('UPDATE metadata_object SET code = NULL, name = ? WHERE sid = ?', [
          'Bo, "central" unit',
          Number(orgUnit.org_unit_id),
        ]);
      });
      after(async () => {
        await db?.dispose();
      });

      for (const scheme of ['CODE', 'NAME'] as const) {
        it(`writes every identifier under ${scheme}, falling back to the UID, quoted where needed`, async () => {
          const request = parseDataValueExportRequest(
            { ...EXPORT_QUERY, idScheme: scheme },
            { format: 'csv' },
          );
          const body = await text((await exportDataValues(context, request)).body);
          const expected = await expectedCsv(db, scheme === 'CODE' ? 'code' : 'name');
          assert.equal(expected.split('\n').length, 231 + 2);
          assert.equal(body, expected);
          if (scheme === 'NAME') assert.ok(body.includes('"Bo, ""central"" unit"'));
        });
      }

      it('stops after `limit` values', async () => {
        const request = parseDataValueExportRequest(
          { ...EXPORT_QUERY, idScheme: 'CODE', limit: '7' },
          { format: 'csv' },
        );
        const body = await text((await exportDataValues(context, request)).body);
        assert.equal(body, await expectedCsv(db, 'code', 7));
      });
    },
  );
}
