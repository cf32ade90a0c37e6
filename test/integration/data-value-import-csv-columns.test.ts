import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';

interface FixtureValue {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo: string;
  attributeOptionCombo?: string;
  value: string;
}

const FIXTURE = JSON.parse(readFileSync(join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'), 'utf8')) as {
  dataValues: FixtureValue[];
};
const SAMPLE = FIXTURE.dataValues.slice(0, 25);

/** DHIS2's positional order: dataelement, period, orgunit, coc, aoc, value, storedby, lastupdated, comment, followup, deleted. */
function positionalRow(v: FixtureValue): string {
  return [
    v.dataElement,
    v.period,
    v.orgUnit,
    v.categoryOptionCombo,
    v.attributeOptionCombo ?? '',
    v.value,
  ].join(',');
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value CSV columns (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadAggregateE2eMetadata(db.storage);
    });
    after(async () => {
      await db?.dispose();
    });

    it('reads DHIS2 positional columns when firstRowIsHeader=false', async () => {
      const path = join(db.dataDir, 'positional.csv');
      writeFileSync(path, SAMPLE.map(positionalRow).join('\n') + '\n');
      const summary = await importDataValues(
        context,
        { path, fileName: 'positional.csv', contentType: 'application/csv' },
        { firstRowIsHeader: 'false', dryRun: 'true' },
        undefined,
      );
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(summary.importCount.imported, SAMPLE.length);
    });

    it('reads columns by header name in any order, and the same file with a header row is not data', async () => {
      const path = join(db.dataDir, 'named.csv');
      const header = 'value,orgUnit,period,dataElement,categoryOptionCombo';
      const rows = SAMPLE.map((v) =>
        [v.value, v.orgUnit, v.period, v.dataElement, v.categoryOptionCombo].join(','),
      );
      writeFileSync(path, [header, ...rows].join('\n') + '\n');
      const summary = await importDataValues(
        context,
        { path, fileName: 'named.csv', contentType: 'application/csv' },
        {},
        undefined,
      );
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(summary.importCount.imported, SAMPLE.length);
      const stored = await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
      assert.equal(Number(stored?.n), SAMPLE.length);
    });

    const importCsv = async (name: string, csv: string, params: Record<string, string> = {}) => {
      const path = join(db.dataDir, name);
      writeFileSync(path, csv);
      return importDataValues(
        context,
        { path, fileName: name, contentType: 'application/csv' },
        params,
        undefined,
      );
    };
    /** The stored value of a fixture value's key, undefined when there is none or it is deleted. */
    const storedValue = async (v: FixtureValue): Promise<string | undefined> => {
      const row = await db.storage.queryOne<{ value: string; deleted: unknown }>(
        `SELECT dv.value, dv.deleted FROM data_value dv
           JOIN metadata_object de ON de.sid = dv.data_element_id
           JOIN metadata_object ou ON ou.sid = dv.org_unit_id
           JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
           JOIN period p ON p.period_id = dv.period_id
          WHERE de.uid = ? AND p.iso = ? AND ou.uid = ? AND coc.uid = ?`,
        [v.dataElement, v.period, v.orgUnit, v.categoryOptionCombo],
      );
      return row && !row.deleted ? row.value : undefined;
    };
    const namedRow = (v: FixtureValue, value = v.value): string =>
      [v.dataElement, v.period, v.orgUnit, v.categoryOptionCombo, value].join(',');
    const NAMED = 'dataelement,period,orgunit,categoryoptioncombo,value';

    it('refuses a header that names a column twice: aborted with a conflict naming the line, nothing written', async () => {
      const rows = SAMPLE.slice(0, 3).map((v) => `${namedRow(v, '901')},902`);
      for (const [header, property, columns] of [
        [`${NAMED},value`, 'value', 'columns 5 and 6'],
        [`${NAMED},de`, 'dataElement', 'columns 1 and 6'],
      ] as const) {
        const summary = await importCsv('repeated.csv', [header, ...rows].join('\n') + '\n');
        assert.equal(summary.status, 'ERROR');
        assert.equal(summary.description, 'Import process was aborted');
        assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: 0, deleted: 0 });
        assert.equal(summary.conflicts.length, 1, JSON.stringify(summary.conflicts));
        const [conflict] = summary.conflicts;
        assert.equal(conflict.errorCode, 'F7100');
        assert.equal(conflict.property, property);
        assert.match(
          conflict.value,
          new RegExp(`^Malformed row: line 1: the header names ${property} twice \\(${columns}\\)`),
        );
      }
      for (const v of SAMPLE.slice(0, 3)) assert.equal(await storedValue(v), v.value);
    });

    it('reports short rows and rows with extra fields as conflicts naming their line, and writes neither', async () => {
      const [a, b, c, d, e] = SAMPLE;
      const csv = [
        NAMED,
        namedRow(a, '701'),
        // Short: no value column. Read as before it would have deleted the stored value.
        [b.dataElement, b.period, b.orgUnit, b.categoryOptionCombo].join(','),
        // An extra field with content: which column was meant can't be known.
        `${namedRow(c, '703')},oops`,
        // Extra fields that are empty drop nothing: read.
        `${namedRow(d, '704')},,`,
        namedRow(e, '705'),
      ].join('\n');
      const summary = await importCsv('widths.csv', csv + '\n');
      assert.equal(summary.status, 'WARNING');
      assert.deepEqual(summary.importCount, { imported: 0, updated: 3, ignored: 2, deleted: 0 });
      assert.deepEqual(
        summary.conflicts.map((conflict) => [conflict.errorCode, conflict.value, conflict.indexes]),
        [
          ['F7100', 'Malformed row: line 3: 4 fields where the header has 5; the row is not read', [1]],
          [
            'F7100',
            'Malformed row: line 4: 6 fields where the header has 5; field 6 (`oops`) has no column, the row is not read',
            [2],
          ],
        ],
      );
      assert.deepEqual(summary.rejectedIndexes, [1, 2]);
      assert.equal(await storedValue(a), '701');
      assert.equal(await storedValue(b), b.value, 'the short row deleted nothing');
      assert.equal(await storedValue(c), c.value);
      assert.equal(await storedValue(d), '704');

      const atomic = await importCsv('widths-atomic.csv', csv.replace(',701', ',801') + '\n', {
        atomic: 'true',
      });
      assert.equal(atomic.status, 'ERROR');
      assert.equal(await storedValue(a), '701');
    });

    it("without a header, a row must reach the value column and may not run past DHIS2's eleven columns", async () => {
      const [a, b, c] = SAMPLE;
      const csv = [
        positionalRow({ ...a, value: '601' }),
        [b.dataElement, b.period, b.orgUnit, b.categoryOptionCombo, ''].join(','),
        [positionalRow(c), 'admin', '', '', 'false', 'false', 'extra'].join(','),
      ].join('\n');
      const summary = await importCsv('positional-widths.csv', csv + '\n', { firstRowIsHeader: 'false' });
      assert.deepEqual(
        summary.conflicts.map((conflict) => [conflict.value, conflict.indexes]),
        [
          [
            "Malformed row: line 2: 5 fields where DHIS2's column order (no header) takes 6; the row is not read",
            [1],
          ],
          [
            "Malformed row: line 3: 12 fields where DHIS2's column order (no header) takes 11; field 12 (`extra`) has no column, the row is not read",
            [2],
          ],
        ],
      );
      assert.deepEqual(summary.importCount, { imported: 0, updated: 1, ignored: 2, deleted: 0 });
      assert.equal(await storedValue(b), b.value);
    });
  });
}
