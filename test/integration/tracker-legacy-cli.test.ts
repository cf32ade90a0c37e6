import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { TRACKER_FIXTURE_METADATA, TRACKER_FIXTURES } from '../support/tracker-metadata.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';

const LEGACY = join(import.meta.dirname, '../fixtures/tracker-legacy');

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ferry import events / export tracked-entities (${kind})`, { skip: skipReasonFor(kind) }, () => {
    it('imports 2.40 CSV, legacy JSON and XML with a summary and exit codes, and exports tracked entities', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        assert.equal((await importMetadataObjects(context, TRACKER_FIXTURE_METADATA)).status, 'OK');
        const target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
        // The flat fixture's tracked entities and enrollments, without its events: the fixture's
        // stage is not repeatable, and the legacy files add the enrollments' one event each.
        const flat = JSON.parse(readFileSync(join(TRACKER_FIXTURES, 'import_flatten_payload.json'), 'utf8'));
        const parentsFile = join(db.dataDir, 'parents.json');
        writeFileSync(
          parentsFile,
          JSON.stringify({ trackedEntities: flat.trackedEntities, enrollments: flat.enrollments }),
        );
        const parents = await runFerry(['import', 'tracker', parentsFile, ...target]);
        assert.equal(parents.code, 0, parents.stderr + parents.stdout);

        const dry = await runFerry([
          'import',
          'events',
          join(LEGACY, 'events-2.40.csv'),
          '--dry-run',
          ...target,
        ]);
        assert.equal(dry.code, 0, dry.stderr + dry.stdout);
        const csv = await runFerry(['import', 'events', join(LEGACY, 'events-2.40.csv'), ...target]);
        assert.equal(csv.code, 0, csv.stderr + csv.stdout);
        assert.match(csv.stdout, /Status: SUCCESS/);
        assert.match(csv.stdout, /imported 2, updated 0, deleted 0, ignored 0 of 2/);
        const json = await runFerry(['import', 'events', join(LEGACY, 'events.json'), '--json', ...target]);
        assert.equal(json.code, 0, json.stderr + json.stdout);
        assert.equal(JSON.parse(json.stdout).updated, 2, 'the same events again: updates');

        const teis = await runFerry([
          'import',
          'events',
          join(LEGACY, 'tracked-entity-instances.xml'),
          ...target,
        ]);
        assert.equal(teis.code, 0, teis.stderr + teis.stdout);
        assert.match(teis.stdout, /imported 1/);

        const bad = join(db.dataDir, 'bad-events.json');
        const file = JSON.parse(readFileSync(join(LEGACY, 'events.json'), 'utf8'));
        file.events[1].dataValues[0].value = 'heavy';
        writeFileSync(bad, JSON.stringify(file));
        const refused = await runFerry(['import', 'events', bad, ...target]);
        assert.equal(refused.code, 1);
        assert.match(refused.stdout, /Status: ERROR/);
        assert.match(refused.stdout, /E1302 LgcyEvnt002: /);
        const malformed = join(db.dataDir, 'short.csv');
        writeFileSync(malformed, 'LgcyEvnt009,ACTIVE,XrZRFi7rU9e\n');
        const short = await runFerry(['import', 'events', malformed, ...target]);
        assert.equal(short.code, 1);
        assert.match(short.stderr, /F1001: .*short\.csv \(line 1\): 3 columns/);
        const args = await runFerry(['import', 'events', bad, '--atomic-mode', 'SOME', ...target]);
        assert.equal(args.code, 2, args.stderr);

        const out = join(db.dataDir, 'tes.json');
        const exported = await runFerry([
          'export',
          'tracked-entities',
          '--tracked-entity-type',
          'PrZMWi7rBga',
          '-o',
          out,
          ...target,
        ]);
        assert.equal(exported.code, 0, exported.stderr + exported.stdout);
        assert.match(exported.stdout, /4 tracked entities/);
        const list = JSON.parse(readFileSync(out, 'utf8')).trackedEntities as Array<{
          trackedEntity: string;
          enrollments?: Array<{ events?: Array<{ event: string }> }>;
        }>;
        const tei = list.find((t) => t.trackedEntity === 'LgcyTei0003');
        assert.equal(tei?.enrollments?.[0].events?.[0].event, 'LgcyEvnt301');
        const noType = await runFerry(['export', 'tracked-entities', '-o', out, ...target]);
        assert.equal(noType.code, 2);
      } finally {
        await db.dispose();
      }
    });
  });
}
