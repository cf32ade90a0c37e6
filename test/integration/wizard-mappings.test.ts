import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { Principal } from '../../src/domain/access/principal.ts';
import { seedDemoDataValues, seedDemoMetadata } from '../../src/services/demo/demo-seeder.ts';
import type { DemoDatabase } from '../../src/services/demo/demo-types.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import {
  copyMapping,
  createMapping,
  deleteMapping,
  getMapping,
  listMappings,
  mappingVersions,
  suggestColumns,
  updateMapping,
} from '../../src/services/wizard/wizard-mapping-service.ts';
import { submitWizardRun } from '../../src/services/wizard/wizard-jobs.ts';
import type { WizardImportReport } from '../../src/services/wizard/wizard-report.ts';
import { WizardStore } from '../../src/storage/wizard-store.ts';
import { FerryError } from '../../src/errors.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';

/*
 * Saved import wizard mappings (issue 17): versions, copies, deletes and bad bodies; sharing (who
 * sees, who changes); column suggestions, remembered from saved mappings; and runs as jobs, whose
 * rights are checked when the job acts: the importer's capture scope per value, and a mapping
 * unshared between queueing and running stops the job. On SQLite and PostgreSQL.
 */

const code = (error: unknown) => (error instanceof FerryError ? error.code : String(error));

for (const kind of TEST_DATABASE_KINDS) {
  describe(`Import wizard mappings and jobs (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let demo: DemoDatabase;
    let manager: Principal;
    let clerk: Principal;
    let analyst: Principal;
    const objects = (collection: string) => (demo.metadata.get(collection) ?? []) as MetadataObject[];
    const byCode = (collection: string, c: string) => objects(collection).find((o) => o.code === c)!;
    const user = async (username: string) =>
      (await context.auth.currentPrincipal(demo.users.find((u) => u.username === username)!.uid))!;

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      ({ demo } = await seedDemoMetadata(context, { facilities: 6, seed: 'wizard-mappings' }));
      await seedDemoDataValues(context, demo);
      manager = await user('district_manager');
      clerk = await user('facility_clerk');
      analyst = await user('analyst');
    });
    after(async () => {
      await context?.jobs.stop();
      await db?.dispose();
    });

    const lineList = (name: string) => ({
      name,
      source: { kind: 'csv', options: {} },
      target: {
        kind: 'aggregate',
        layout: 'long',
        orgUnit: { source: 'Facility', match: 'code' },
        dataElement: 'Indicator',
        period: { source: 'Date', fromDate: 'Monthly' },
        value: 'Count',
      },
    });

    it('saves versions, copies, deletes, and refuses bad bodies and names taken', async () => {
      const saved = await createMapping(context, manager, lineList('Line list v'));
      assert.equal(saved.version, 1);
      assert.equal(saved.sharing.owner, manager.uid);
      const changed = await updateMapping(context, manager, saved.id, {
        ...lineList('Line list v'),
        description: 'second',
      });
      assert.deepEqual([changed.version, changed.description], [2, 'second']);
      assert.deepEqual(
        (await mappingVersions(context, manager, saved.id)).map((v) => v.version),
        [2, 1],
      );
      assert.equal((await getMapping(context, manager, saved.id, 1)).description, '');
      assert.equal((await getMapping(context, manager, 'Line list v')).id, saved.id, 'by name too');
      const copy = await copyMapping(context, manager, saved.id, undefined);
      assert.deepEqual([copy.name, copy.version, copy.description], ['Line list v (copy)', 1, 'second']);
      assert.notEqual(copy.id, saved.id);
      await deleteMapping(context, manager, copy.id);
      await assert.rejects(getMapping(context, manager, copy.id), (e) => code(e) === 'F1200');
      await assert.rejects(
        createMapping(context, manager, lineList('Line list v')),
        (e) => code(e) === 'F1300',
      );
      await assert.rejects(
        createMapping(context, manager, {
          ...lineList('Bad'),
          target: { ...lineList('Bad').target, period: { source: 'Date', fromDate: 'Fortnightly' } },
        }),
        (e: unknown) =>
          code(e) === 'F1950' &&
          /`target\.period\.fromDate`: must be a DHIS2 period type/.test((e as Error).message),
      );
      await assert.rejects(createMapping(context, analyst, lineList('Analyst')), (e) => code(e) === 'F1102');
      // An exported mapping (its JSON) imports as a new one, keeping its id when free.
      const exported = await getMapping(context, manager, saved.id);
      await deleteMapping(context, manager, saved.id);
      const imported = await createMapping(context, manager, { ...exported, name: 'Line list again' });
      assert.equal(imported.id, saved.id);
    });

    it('sharing: unshared mappings are invisible; read access sees and runs, not changes', async () => {
      const m = await createMapping(context, manager, lineList('Shared line list'));
      await assert.rejects(getMapping(context, clerk, m.id), (e) => code(e) === 'F1200');
      assert.ok(!(await listMappings(context, clerk)).some((x) => x.id === m.id));
      await updateMapping(context, manager, m.id, {
        ...lineList('Shared line list'),
        sharing: { public: '--------', users: { [clerk.uid]: { id: clerk.uid, access: 'r-------' } } },
      });
      assert.ok((await listMappings(context, clerk)).some((x) => x.id === m.id));
      await assert.rejects(
        updateMapping(context, clerk, m.id, lineList('Mine now')),
        (e) => code(e) === 'F1952',
      );
      await assert.rejects(deleteMapping(context, clerk, m.id), (e) => code(e) === 'F1952');
    });

    it('suggests data elements with their combos and fields for columns, and remembers saved choices', async () => {
      const confirmed = byCode('dataElements', 'MAL_CONFIRMED');
      const coc = objects('categoryOptionCombos').find(
        (c) => (c.categoryCombo as { id: string }).id === (confirmed.categoryCombo as { id: string }).id,
      )!;
      const [facility, exact, fuzzy, odd] = await suggestColumns(context, [
        'Health facility',
        `${String(confirmed.name).toUpperCase()} ${coc.name}`,
        'Malaria tested by RTD',
        'Conf U5 M',
      ]);
      assert.deepEqual([facility.field[0].id, facility.field[0].method], ['orgUnit', 'normalised']);
      assert.deepEqual(
        [exact.value[0].id, exact.value[0].method],
        [`${confirmed.id}.${coc.id}`, 'normalised'],
      );
      assert.equal(fuzzy.value[0].label, 'Malaria tested by RDT');
      assert.equal(fuzzy.value[0].method, 'fuzzy');
      assert.ok(!odd.value.some((s) => s.method === 'remembered'));
      await createMapping(context, manager, {
        name: 'Remember me',
        source: { kind: 'xlsx', options: {} },
        target: {
          kind: 'aggregate',
          layout: 'wide',
          orgUnit: 'Site',
          period: 'Month',
          valueColumns: [{ column: 'Conf U5 M', dataElement: confirmed.id, categoryOptionCombo: coc.id }],
        },
      });
      const [remembered] = await suggestColumns(context, ['conf u5 m']);
      assert.deepEqual(
        [remembered.value[0].id, remembered.value[0].method, remembered.value[0].confidence],
        [`${confirmed.id}.${coc.id}`, 'remembered', 1],
      );
    });

    it('runs as a job: the importer checks the runner scope per value; an unshared mapping stops the job', async () => {
      const tested = byCode('dataElements', 'MAL_RDT_TESTED');
      const units = objects('organisationUnits').filter((o) => String(o.code ?? '').startsWith('OU_F'));
      const clerkUnit = units.find((u) => u.id === clerk.captureOrgUnits[0])!;
      const other = units.find((u) => u.id !== clerkUnit.id)!;
      // This month: the clerk may not write past the data set's 10 expiry days (E7640).
      const day = `${new Date().toISOString().slice(0, 7)}-01`;
      const path = join(db.dataDir, 'clerk.csv');
      writeFileSync(
        path,
        `Facility,Indicator,Date,Count\n${clerkUnit.code},${tested.code},${day},5\n${other.code},${tested.code},${day},6\n`,
      );
      const m = await createMapping(context, manager, {
        ...lineList('Clerk runs'),
        sharing: { public: 'r-------' },
      });
      await context.jobs.start();
      const submit = (dryRun: boolean) =>
        submitWizardRun(context, clerk, {
          mapping: m.id,
          dryRun,
          body: createReadStream(path),
          fileName: 'clerk.csv',
          contentType: 'text/csv',
        });
      const preview = await waitForJob(context, (await submit(true)).id);
      assert.equal(preview.status, 'COMPLETED', JSON.stringify(preview.error));
      const report = preview.summary as WizardImportReport;
      assert.deepEqual([report.dryRun, report.counts.new, report.counts.dropped], [true, 1, 1]);
      const scope = report.issues.find((i) => i.code === 'E7617')!;
      assert.equal(scope.row, 3, 'the out-of-scope value is traced to its CSV line');
      const real = await waitForJob(context, (await submit(false)).id);
      assert.equal((real.summary as WizardImportReport).counts.new, 1);
      const runs = await new WizardStore(context.storage).runs(m.id);
      assert.deepEqual(
        runs.map((r) => r.dryRun),
        [false, true],
      );

      // Queued while shared; unshared before it runs: the job acts with the rights of that moment.
      await context.jobs.stop();
      const queued = await submit(false);
      await updateMapping(context, manager, m.id, {
        ...lineList('Clerk runs'),
        sharing: { public: '--------' },
      });
      await context.jobs.start();
      const refused = await waitForJob(context, queued.id);
      assert.equal(refused.status, 'FAILED');
      assert.match(String(refused.error), /Import mapping with id `.+` could not be found/);
    });
  });
}
