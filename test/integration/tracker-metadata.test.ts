import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage } from '../../src/services/ferry-context.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';

const FIXTURES = join(import.meta.dirname, '../fixtures/dhis2');
const read = (path: string) =>
  JSON.parse(readFileSync(join(FIXTURES, path), 'utf8')) as Record<string, Record<string, unknown>[]>;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker metadata import on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it("imports DHIS2's tracker e2e metadata (after the aggregate setup) with status OK", async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
        const setup = await importMetadataObjects(context, read('aggregate-e2e/01_setup_metadata.json'));
        assert.equal(setup.status, 'OK', JSON.stringify(allErrorReports(setup)));
        const tracker = read('tracker/e2e_tracker_metadata.json');
        const report = await importMetadataObjects(context, tracker);
        assert.deepEqual(allErrorReports(report), []);
        assert.equal(report.status, 'OK');
        // Program tracked entity attributes and stage data elements are listed both inside their
        // program/stage and at the top level with the same UIDs: one object each, not a clash.
        const programs = await context.metadata.findBy('programs', 'uid', ['f1AyMswryyQ']);
        const ptea = (programs[0].object.programTrackedEntityAttributes as { id: string }[]).map((a) => a.id);
        assert.ok(ptea.includes('k45TmK2PnUx'));
        const stages = await context.metadata.findBy('programStages', 'uid', ['nlXNK4b7LVr']);
        assert.equal((stages[0].object.programStageDataElements as unknown[]).length, 7);
        for (const type of [
          'programs',
          'programStages',
          'trackedEntityTypes',
          'trackedEntityAttributes',
          'relationshipTypes',
          'programRules',
        ]) {
          const stored = await context.metadata.findBy(
            type,
            'uid',
            tracker[type].map((o) => String(o.id)),
          );
          assert.equal(stored.length, tracker[type].length, type);
        }
        // A second import is all updates.
        const again = await importMetadataObjects(context, tracker);
        assert.equal(again.status, 'OK', JSON.stringify(allErrorReports(again)));
        assert.equal(again.stats.created, 0);
      } finally {
        await db.dispose();
      }
    });

    it('still refuses two different program attributes for one program and attribute (E5005)', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
        const report = await importMetadataObjects(context, {
          trackedEntityAttributes: [
            { id: 'teaAAAAAAA1', name: 'A1', shortName: 'A1', valueType: 'TEXT', aggregationType: 'NONE' },
          ],
          trackedEntityTypes: [{ id: 'tetAAAAAAA1', name: 'Person' }],
          programs: [
            {
              id: 'prgAAAAAAA1',
              name: 'P1',
              shortName: 'P1',
              programType: 'WITH_REGISTRATION',
              trackedEntityType: { id: 'tetAAAAAAA1' },
              programTrackedEntityAttributes: [
                { id: 'pteAAAAAAA1', trackedEntityAttribute: { id: 'teaAAAAAAA1' } },
                { id: 'pteAAAAAAA2', trackedEntityAttribute: { id: 'teaAAAAAAA1' } },
              ],
            },
          ],
        });
        assert.equal(report.status, 'ERROR');
        assert.ok(allErrorReports(report).some((e) => e.errorCode === 'E5005'));
      } finally {
        await db.dispose();
      }
    });
  });
}
