import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
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
import { loadGeneratedMetadata, writeGeneratedCsv } from '../support/generated-data-values.ts';
import type { Storage } from '../../src/storage/storage.ts';

/**
 * The bulk-load path: several batches into an empty table (secondary indexes dropped during the
 * load and rebuilt), duplicates across batches, a re-import, and an atomic failure that must leave
 * the schema as it was.
 */
const VALUES = 25_000;

async function dataValueIndexes(storage: Storage): Promise<string[]> {
  const rows =
    storage.kind === 'sqlite'
      ? await storage.query<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'data_value' AND sql IS NOT NULL",
        )
      : await storage.query<{ name: string }>(
          "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'data_value' AND indexname <> 'data_value_pkey' AND schemaname = current_schema()",
        );
  return rows.map((r) => r.name).sort();
}

async function count(storage: Storage, table: string): Promise<number> {
  const row = await storage.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`);
  return Number(row?.n);
}

/**
 * Makes the database refuse to store one row (a trigger, on either dialect): the import's write
 * fails on the server partway through the file, as a full disk or a constraint would.
 */
async function refuseRow(storage: Storage, orgUnitUid: string, value: string): Promise<() => Promise<void>> {
  const orgUnit = await storage.queryOne<{ sid: number }>(
    "SELECT sid FROM metadata_object WHERE type = 'organisationUnits' AND uid = ?",
    [orgUnitUid],
  );
  const sid = Number(orgUnit?.sid);
  assert.ok(sid > 0);
  if (storage.kind === 'sqlite') {
    await storage.executeScript(
      `CREATE TRIGGER refuse_row BEFORE INSERT ON data_value
         WHEN NEW.org_unit_id = ${sid} AND NEW.value = '${value}'
       BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`,
    );
    return () => storage.executeScript('DROP TRIGGER refuse_row');
  }
  await storage.executeScript(
    `CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'refused by test trigger'; END $$;
     CREATE TRIGGER refuse_row BEFORE INSERT ON data_value FOR EACH ROW
       WHEN (NEW.org_unit_id = ${sid} AND NEW.value = '${value}') EXECUTE FUNCTION refuse_row()`,
  );
  return () => storage.executeScript('DROP TRIGGER refuse_row ON data_value; DROP FUNCTION refuse_row()');
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value bulk load (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let file: string;
    let indexesBefore: string[];

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadGeneratedMetadata(db.storage, VALUES);
      file = join(db.dataDir, 'bulk.csv');
      await writeGeneratedCsv(file, VALUES);
      // The first value again (two batches later) and one from the middle again.
      const lines = readFileSync(file, 'utf8').split('\n');
      appendFileSync(file, `${lines[1]}\n${lines[12_345]}\n`);
      indexesBefore = await dataValueIndexes(db.storage);
      assert.deepEqual(indexesBefore, ['data_value_data_element']);
    });
    after(async () => {
      await db?.dispose();
    });

    const source = () => ({ path: file, fileName: 'bulk.csv', format: 'csv' });

    it('an atomic import that fails writes nothing and keeps the indexes', async () => {
      const summary = await importDataValues(context, source(), { atomic: 'true' }, undefined);
      assert.equal(summary.status, 'ERROR');
      assert.equal(await count(db.storage, 'data_value'), 0);
      assert.equal(await count(db.storage, 'data_value_audit'), 0);
      assert.deepEqual(await dataValueIndexes(db.storage), indexesBefore);
    });

    it('a write the database refuses late in the file ends the import with nothing written', async () => {
      // Row 15,000 lies in the second PostgreSQL write (10,000 rows each; its failure surfaces when
      // the third starts, after more batches were validated) and in the eighth SQLite batch.
      const [, , orgUnit, , , value] = readFileSync(file, 'utf8').split('\n')[15_001].split(',');
      const allow = await refuseRow(db.storage, orgUnit, value);
      try {
        await assert.rejects(importDataValues(context, source(), {}, undefined), /refused by test trigger/);
      } finally {
        await allow();
      }
      assert.equal(await count(db.storage, 'data_value'), 0);
      assert.equal(await count(db.storage, 'data_value_audit'), 0);
      assert.deepEqual(await dataValueIndexes(db.storage), indexesBefore);
    });

    it('imports every batch, flags duplicates across batches, rebuilds the indexes', async () => {
      const summary = await importDataValues(context, source(), {}, undefined);
      assert.equal(summary.status, 'WARNING');
      assert.deepEqual(summary.importCount, { imported: VALUES, updated: 0, ignored: 2, deleted: 0 });
      assert.deepEqual(
        summary.conflicts.map((c) => [c.errorCode, c.indexes]),
        [
          ['E8128', [VALUES]],
          ['E8128', [VALUES + 1]],
        ],
      );
      assert.deepEqual(summary.rejectedIndexes, [VALUES, VALUES + 1]);
      assert.equal(await count(db.storage, 'data_value'), VALUES);
      assert.equal(await count(db.storage, 'data_value_audit'), VALUES);
      const audited = await db.storage.queryOne<{ n: number }>(
        `SELECT COUNT(*) AS n FROM data_value_audit a JOIN data_value d
            ON d.org_unit_id = a.org_unit_id AND d.period_id = a.period_id
           AND d.data_element_id = a.data_element_id
           AND d.category_option_combo_id = a.category_option_combo_id
           AND d.attribute_option_combo_id = a.attribute_option_combo_id
         WHERE a.audit_type = 'CREATE' AND a.previous_value IS NULL AND a.new_value = d.value
           AND a.modified_by = 'ferry-cli' AND a.created = d.last_updated AND a.job_id IS NULL`,
      );
      assert.equal(Number(audited?.n), VALUES);
      assert.deepEqual(await dataValueIndexes(db.storage), indexesBefore);
      if (kind === 'sqlite') {
        // The import's smaller page cache is undone on the writer connection.
        const cache = await db.storage.transaction((tx) =>
          tx.queryOne<{ cache_size: number }>('PRAGMA cache_size'),
        );
        assert.equal(Number(cache?.cache_size), -65536);
      }
    });

    it('skipExistingCheck into an empty table audits each value once', async () => {
      const fresh = await createTestDatabase(kind);
      try {
        const freshContext = createFerryContextFromStorage(
          loadConfig({}, { dataDir: fresh.dataDir }),
          fresh.storage,
        );
        await loadGeneratedMetadata(fresh.storage, VALUES);
        const summary = await importDataValues(
          freshContext,
          source(),
          { skipExistingCheck: 'true' },
          undefined,
        );
        assert.equal(summary.importCount.imported, VALUES);
        assert.equal(await count(fresh.storage, 'data_value_audit'), VALUES);
      } finally {
        await fresh.dispose();
      }
    });

    it('re-importing ignores every value and still flags the duplicates', async () => {
      const summary = await importDataValues(context, source(), {}, undefined);
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: VALUES + 2, deleted: 0 });
      assert.deepEqual(summary.rejectedIndexes, [VALUES, VALUES + 1]);
      assert.equal(await count(db.storage, 'data_value_audit'), VALUES);
    });
  });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value bulk load, text that needs escaping (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadGeneratedMetadata(db.storage, 10);
    });
    after(async () => {
      await db?.dispose();
    });

    it('stores tabs, line breaks, backslashes and a literal \\N exactly (COPY on PostgreSQL)', async () => {
      const comment = 'tab\there\nnew line\r\nback\\slash \\N end';
      const storedBy = 'who\\N';
      const file = join(db.dataDir, 'escapes.csv');
      writeFileSync(
        file,
        'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment\n' +
          `GenDe000000,202301,GenOu000000,GenCoc0000A,HllvX50cXC0,7,"${storedBy}",,"${comment}"\n`,
      );
      const summary = await importDataValues(
        context,
        { path: file, fileName: 'escapes.csv', format: 'csv' },
        {},
        undefined,
      );
      assert.deepEqual(summary.importCount, { imported: 1, updated: 0, ignored: 0, deleted: 0 });
      const row = await db.storage.queryOne<{ comment: string; stored_by: string; value: string }>(
        'SELECT comment, stored_by, value FROM data_value',
      );
      assert.deepEqual({ ...row }, { comment, stored_by: storedBy, value: '7' });
      const audit = await db.storage.queryOne<{ new_value: string; audit_type: string }>(
        'SELECT new_value, audit_type FROM data_value_audit',
      );
      assert.deepEqual({ ...audit }, { new_value: '7', audit_type: 'CREATE' });
    });
  });
}
