import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { TRACKER_FIXTURE_METADATA, TRACKER_FIXTURES } from '../support/tracker-metadata.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ferry import tracker / export events (${kind})`, { skip: skipReasonFor(kind) }, () => {
    it('imports the flat fixture, refuses a second CREATE, and exports the events as JSON and CSV', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        assert.equal((await importMetadataObjects(context, TRACKER_FIXTURE_METADATA)).status, 'OK');
        const target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
        const file = join(TRACKER_FIXTURES, 'import_flatten_payload.json');

        // DHIS2's fixture events have no dates: imported with validationMode=SKIP, as DHIS2's own test does.
        const skip = ['--validation-mode', 'skip'];
        const dry = await runFerry(['import', 'tracker', file, '--dry-run', ...skip, ...target]);
        assert.equal(dry.code, 0, dry.stderr + dry.stdout);
        const first = await runFerry(['import', 'tracker', file, '--json', ...skip, ...target]);
        assert.equal(first.code, 0, first.stderr + first.stdout);
        assert.equal(JSON.parse(first.stdout).stats.created, 9);
        const again = await runFerry(['import', 'tracker', file, '--strategy', 'create', ...skip, ...target]);
        assert.equal(again.code, 1);
        assert.match(again.stdout, /Status: ERROR/);
        assert.match(again.stdout, /E1002 TRACKED_ENTITY IybbQIQt6te/);

        const json = join(db.dataDir, 'events.json');
        const exported = await runFerry([
          'export',
          'events',
          '--org-unit',
          'PSeMWi7rBgb',
          '-o',
          json,
          ...target,
        ]);
        assert.equal(exported.code, 0, exported.stderr);
        const events = JSON.parse(readFileSync(json, 'utf8')).events as Array<{
          event: string;
          enrollment: string;
        }>;
        assert.deepEqual(events.map((e) => e.event).sort(), ['IybbQIQt6ev', 'daMwzsKN3ev']);
        const csv = join(db.dataDir, 'events.csv');
        const asCsv = await runFerry([
          'export',
          'events',
          '--program',
          'XrZRFi7rU9e',
          '--format',
          'csv',
          '-o',
          csv,
          ...target,
        ]);
        assert.equal(asCsv.code, 0, asCsv.stderr);
        assert.equal(readFileSync(csv, 'utf8').trim().split('\n').length, 3);
        // The CSV imports back through `ferry import tracker` (DHIS2's current event CSV): all updates.
        const back = await runFerry(['import', 'tracker', csv, '--json', ...skip, ...target]);
        assert.equal(back.code, 0, back.stderr + back.stdout);
        const backReport = JSON.parse(back.stdout);
        assert.equal(backReport.status, 'OK');
        assert.equal(backReport.stats.created, 0);
        assert.equal(backReport.stats.updated + backReport.stats.ignored, 2);
      } finally {
        await db.dispose();
      }
    });
  });
}
