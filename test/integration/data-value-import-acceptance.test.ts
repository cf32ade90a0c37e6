import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
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

const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value import acceptance (${kind})`, { skip: skipReasonFor(kind) }, () => {
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

    const source = { path: BULK, fileName: '03_dataValues_bulk.json', contentType: 'application/json' };

    it('dry run reports 231 imported and writes nothing', async () => {
      const summary = await importDataValues(context, source, { dryRun: 'true' }, undefined);
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.deepEqual(summary.importCount, { imported: 231, updated: 0, ignored: 0, deleted: 0 });
      const row = await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
      assert.equal(Number(row?.n), 0);
    });

    it('imports 03_dataValues_bulk.json: SUCCESS, 231 imported, no conflicts', async () => {
      const summary = await importDataValues(context, source, {}, undefined);
      assert.equal(summary.responseType, 'ImportSummary');
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.deepEqual(summary.importCount, { imported: 231, updated: 0, ignored: 0, deleted: 0 });
      assert.deepEqual(summary.conflicts, []);
      const row = await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
      assert.equal(Number(row?.n), 231);
      const audits = await db.storage.queryOne<{ n: number }>(
        "SELECT COUNT(*) AS n FROM data_value_audit WHERE audit_type = 'CREATE'",
      );
      assert.equal(Number(audits?.n), 231);
    });

    it('importing it again ignores all 231', async () => {
      const summary = await importDataValues(context, source, {}, undefined);
      assert.equal(summary.status, 'SUCCESS');
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: 231, deleted: 0 });
      const audits = await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value_audit');
      assert.equal(Number(audits?.n), 231);
    });
  });
}
