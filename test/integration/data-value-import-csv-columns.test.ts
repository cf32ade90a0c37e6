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
  });
}
