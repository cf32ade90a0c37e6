import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { seedDemoDatabase } from '../../src/services/demo/demo-seeder.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';

/**
 * Expiry days (E7640) follow DHIS2's `DataSet.isLocked`: they bind a user without F_EDIT_EXPIRED,
 * not a superuser, a user with F_EDIT_EXPIRED (the demo's data manager) or the operator at the
 * command line. The issue's scenario: a demo export of past periods, imported again with
 * `--dry-run`, is all "ignored as unchanged", not all E7640.
 */

/** The demo's hierarchy and metadata with 10 facilities, so both dialects seed in seconds. */
const SMALL_DEMO = { facilities: 10, seed: 'ferry-demo' };

for (const kind of TEST_DATABASE_KINDS) {
  describe(`importing demo data of expired periods (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let target: string[];
    let users: Map<string, string>;
    let dataSets: string[];
    let clerkFacility: string;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({ FERRY_DATA_DIR: db.dataDir }), db.storage);
      const { demo } = await seedDemoDatabase(context, SMALL_DEMO);
      users = new Map(demo.users.map((u) => [u.username, u.uid]));
      dataSets = demo.dataSets.map((d) => d.uid);
      clerkFacility = (await context.auth.currentPrincipal(users.get('facility_clerk')!)).captureOrgUnits[0];
      target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
    });
    after(async () => {
      await db?.dispose();
    });

    const importAs = async (username: string, file: string): Promise<ImportSummary> =>
      importDataValues(
        context,
        { path: file, fileName: 'values.csv', format: 'csv' },
        { dryRun: 'true' },
        await context.auth.currentPrincipal(users.get(username)!),
      );

    it('exports a facility for a past quarter, and a dry-run import of it changes nothing and refuses nothing', async () => {
      // Every demo period of 2025 Q1 ended more than 30 days (the largest expiry days) ago.
      const file = join(db.dataDir, 'facility-2025Q1.csv');
      const exported = await runFerry([
        'export',
        'data',
        ...dataSets.flatMap((uid) => ['--data-set', uid]),
        '--org-unit',
        clerkFacility,
        '--start',
        '2025-01-01',
        '--end',
        '2025-03-31',
        '-o',
        file,
        ...target,
      ]);
      assert.equal(exported.code, 0, exported.stderr);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      const values = lines.length - 1;
      assert.ok(values > 50, `the facility's export has values (${values})`);

      const dryRun = await runFerry(['import', 'data', file, '--dry-run', '--json', ...target]);
      assert.equal(dryRun.code, 0, dryRun.stderr);
      const summary = JSON.parse(dryRun.stdout) as ImportSummary;
      assert.deepEqual(summary.conflicts, []);
      assert.equal(summary.status, 'SUCCESS');
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: values, deleted: 0 });

      // One value changed: that one would be updated, the rest ignored as unchanged.
      const header = lines[0].split(',');
      const first = lines[1].split(',');
      assert.equal(first.length, header.length, 'the first row has no quoted field');
      const valueColumn = header.indexOf('value');
      first[valueColumn] = String(Number(first[valueColumn]) + 1);
      const changed = join(db.dataDir, 'facility-2025Q1-changed.csv');
      writeFileSync(changed, [lines[0], first.join(','), ...lines.slice(2)].join('\n') + '\n');
      const changedRun = await runFerry(['import', 'data', changed, '--dry-run', '--json', ...target]);
      assert.equal(changedRun.code, 0, changedRun.stderr);
      const changedSummary = JSON.parse(changedRun.stdout) as ImportSummary;
      assert.deepEqual(changedSummary.conflicts, []);
      assert.deepEqual(changedSummary.importCount, {
        imported: 0,
        updated: 1,
        ignored: values - 1,
        deleted: 0,
      });

      // The demo's users: admin (ALL) and the data manager (F_EDIT_EXPIRED) as the command line;
      // the clerk, without F_EDIT_EXPIRED, has every value refused for its expired period.
      for (const username of ['admin', 'district_manager']) {
        const asUser = await importAs(username, changed);
        assert.deepEqual(asUser.conflicts, [], username);
        assert.deepEqual(asUser.importCount, { imported: 0, updated: 1, ignored: values - 1, deleted: 0 });
      }
      const clerk = await importAs('facility_clerk', changed);
      assert.deepEqual([...new Set(clerk.conflicts.map((c) => c.errorCode))], ['E7640']);
      assert.equal(clerk.rejectedIndexes.length, values);
      assert.deepEqual(clerk.importCount, { imported: 0, updated: 0, ignored: values, deleted: 0 });
    });
  });
}
