import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-value-import-service.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../../src/services/data-value-export-service.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';

const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
const EXPORT_QUERY = {
  dataSet: ['qNtxTrp56wV', 'VEM58nY22sO'],
  orgUnit: 'ImspTQPwCqd',
  children: 'true',
  startDate: '2018-01-01',
  endDate: '2019-12-31',
};
const HEADER =
  'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted';

function quoted(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

/** The CSV an export under `column` must write, read with plain joins: the oracle for the export. */
async function expectedCsv(db: TestDatabase, column: 'code' | 'name', limit?: number): Promise<string> {
  const id = (alias: string): string => `COALESCE(${alias}.${column}, ${alias}.uid)`;
  const rows = await db.storage.query<Record<string, unknown>>(
    `SELECT ${id('de')} AS de, p.iso AS pe, ${id('ou')} AS ou, ${id('coc')} AS coc, ${id('aoc')} AS aoc,
            dv.value AS value, dv.stored_by AS stored_by, dv.last_updated AS last_updated,
            dv.comment AS comment, dv.follow_up AS follow_up, dv.deleted AS deleted
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
  const lines = rows
    .slice(0, limit ?? rows.length)
    .map((r) =>
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
        .map((f) => quoted(String(f)))
        .join(','),
    );
  return `${[HEADER, ...lines].join('\n')}\n`;
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
        const summary = await importDataValues(
          context,
          { path: BULK, fileName: '03_dataValues_bulk.json', contentType: 'application/json' },
          {},
          undefined,
        );
        assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
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
