import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedDemoDataValues, seedDemoMetadata } from '../../src/services/demo/demo-seeder.ts';
import { DEMO_PASSWORD } from '../../src/services/demo/demo-metadata.ts';
import type { DemoDatabase } from '../../src/services/demo/demo-types.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import type { WizardImportReport } from '../../src/services/wizard/wizard-report.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { writeXlsx } from '../support/xlsx-writer.ts';

/*
 * /api/wizard (issue 17) as the web app uses it, signed in as the demo's facility clerk: describe
 * an Excel file (sheets, columns, suggestions), save a mapping, run it as a dry-run job on an
 * upload, read the run list and the issues CSV, then import for real. Refusals answer as DHIS2's
 * WebMessage: 401 unsigned, 400 F1950 naming the field, 404 for a mapping not shared. On SQLite
 * and PostgreSQL.
 */

for (const kind of TEST_DATABASE_KINDS) {
  describe(`/api/wizard (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    let demo: DemoDatabase;
    const clerk = basicAuth('facility_clerk', DEMO_PASSWORD);
    const analyst = basicAuth('analyst', DEMO_PASSWORD);

    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          ({ demo } = await seedDemoMetadata(context, { facilities: 4, seed: 'wizard-http' }));
          await seedDemoDataValues(context, demo);
        },
      });
      await started.context.jobs.start();
    });
    after(() => stopTestApp(started));

    it('describes a file, saves a mapping, previews and imports as jobs, lists runs and issues', async () => {
      const { app, context, db } = started!;
      const objects = (c: string) => (demo.metadata.get(c) ?? []) as MetadataObject[];
      const clerkUser = demo.users.find((u) => u.username === 'facility_clerk')!;
      const clerkUnit = (await context.auth.currentPrincipal(clerkUser.uid))!.captureOrgUnits[0];
      const unit = objects('organisationUnits').find((o) => o.id === clerkUnit)!;
      const act = objects('dataElements').find((d) => d.code === 'ACT_STOCK')!;
      const month = new Date().toISOString().slice(0, 7);
      const path = join(db.dataDir, 'stock.xlsx');
      await writeXlsx(path, [
        {
          name: 'Stock',
          rows: [
            ['Facility', 'Month', 'ACT stock on hand'],
            [unit.code as string, month, 90],
            ['OU_NOWHERE', month, 5],
          ],
        },
      ]);
      const file = readFileSync(path);

      assert.equal((await app.inject({ method: 'GET', url: '/api/wizard/mappings' })).statusCode, 401);
      const described = await app.inject({
        method: 'POST',
        url: '/api/wizard/describe?kind=xlsx&sheet=Stock',
        headers: {
          authorization: clerk,
          'content-type': 'application/octet-stream',
          'x-file-name': 'stock.xlsx',
        },
        payload: file,
      });
      assert.equal(described.statusCode, 200, described.body);
      const description = described.json() as {
        columns: string[];
        detected: { sheets: string[] };
        suggestions: Array<{ column: string; value: Array<{ id: string; method: string }> }>;
      };
      assert.deepEqual(description.columns, ['Facility', 'Month', 'ACT stock on hand']);
      assert.deepEqual(description.detected.sheets, ['Stock']);
      assert.deepEqual(description.suggestions[2].value[0], {
        ...description.suggestions[2].value[0],
        id: `${act.id}.${String(objects('categoryOptionCombos').find((c) => c.name === 'default')?.id ?? '')}`,
        method: 'exact',
      });

      const mapping = {
        name: 'ACT stock',
        source: { kind: 'xlsx', options: { sheet: 'Stock' } },
        target: {
          kind: 'aggregate',
          layout: 'wide',
          orgUnit: { source: 'Facility', match: 'code' },
          period: { source: 'Month', fromDate: 'Monthly' },
          valueColumns: [{ column: 'ACT stock on hand', dataElement: act.id }],
        },
      };
      const bad = await app.inject({
        method: 'POST',
        url: '/api/wizard/mappings',
        headers: { authorization: clerk },
        payload: { ...mapping, target: { ...mapping.target, layout: 'tall' } },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().errorCode, 'F1950');
      assert.match(bad.json().message, /`target\.layout`: must be long or wide/);
      const created = await app.inject({
        method: 'POST',
        url: '/api/wizard/mappings',
        headers: { authorization: clerk },
        payload: mapping,
      });
      assert.equal(created.statusCode, 201, created.body);
      const id = (created.json() as { response: { id: string } }).response.id;
      const hidden = await app.inject({
        method: 'GET',
        url: `/api/wizard/mappings/${id}`,
        headers: { authorization: analyst },
      });
      assert.equal(hidden.statusCode, 404);

      const run = async (dryRun: boolean) => {
        const reply = await app.inject({
          method: 'POST',
          url: `/api/wizard/mappings/${id}/run?dryRun=${dryRun}`,
          headers: {
            authorization: clerk,
            'content-type': 'application/octet-stream',
            'x-file-name': 'stock.xlsx',
          },
          payload: file,
        });
        assert.equal(reply.statusCode, 200, reply.body);
        const jobId = (reply.json() as { response: { id: string } }).response.id;
        const job = await waitForJob(context, jobId);
        assert.equal(job.status, 'COMPLETED', String(job.error));
        return { jobId, report: job.summary as WizardImportReport };
      };
      const preview = await run(true);
      assert.deepEqual(
        [preview.report.dryRun, preview.report.counts.new, preview.report.counts.heldBack],
        [true, 1, 1],
      );
      const issues = await app.inject({
        method: 'GET',
        url: `/api/wizard/runs/${preview.jobId}/issues.csv`,
        headers: { authorization: clerk },
      });
      assert.equal(issues.statusCode, 200);
      assert.match(
        issues.body,
        /^kind,row,sheet,where,field,value,code,message\nerror,3,Stock,A3,orgUnit,OU_NOWHERE,,/,
      );
      const real = await run(false);
      assert.equal(real.report.counts.new, 1);
      const runs = await app.inject({
        method: 'GET',
        url: `/api/wizard/mappings/${id}/runs`,
        headers: { authorization: clerk },
      });
      const list = (
        runs.json() as { runs: Array<{ dryRun: boolean; status: string; counts: { new: number } }> }
      ).runs;
      assert.deepEqual(
        list.map((r) => [r.dryRun, r.status, r.counts.new]),
        [
          [false, 'COMPLETED', 1],
          [true, 'COMPLETED', 1],
        ],
      );
    });
  });
}
