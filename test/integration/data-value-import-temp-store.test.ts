import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import { createTestDatabase, skipReasonFor, type TestDatabase } from '../support/test-databases.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';

/**
 * A first load into an empty data_value table rebuilds its indexes with temp_store FILE. SQLite
 * refuses that PRAGMA inside a transaction once the connection has opened its temporary database
 * (here a temp table; in a server, a migration's ALTER TABLE ... RENAME or a spilled sort did it),
 * and the whole import failed with "temporary storage cannot be changed from within a transaction".
 */
describe(
  'first data value load after the connection used temporary storage (sqlite)',
  { skip: skipReasonFor('sqlite') },
  () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase('sqlite');
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadAggregateE2eMetadata(db.storage);
      await db.storage.executeScript(
        'CREATE TEMP TABLE opened_temp_storage (n INTEGER); INSERT INTO opened_temp_storage VALUES (1)',
      );
    });
    after(async () => {
      await db?.dispose();
    });

    it('imports and rebuilds the indexes it dropped', async () => {
      const source = {
        path: join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'),
        fileName: '03_dataValues_bulk.json',
        contentType: 'application/json',
      };
      const summary = await importDataValues(context, source, {}, undefined);
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary));
      assert.deepEqual(summary.importCount, { imported: 231, updated: 0, ignored: 0, deleted: 0 });
      const indexes = await db.storage.query<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'data_value' AND sql IS NOT NULL",
      );
      assert.ok(indexes.length > 0, 'the secondary indexes are back');
    });
  },
);
