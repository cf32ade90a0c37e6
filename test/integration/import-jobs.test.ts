import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH as ADMIN } from '../support/access-fixtures.ts';
import {
  GENERATED_DATA_SET,
  loadGeneratedMetadata,
  writeGeneratedCsv,
} from '../support/generated-data-values.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { GEOMETRY_ORG_UNITS, GML2 } from './geometry-fixtures.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
const SETUP_METADATA = join(AGGREGATE_E2E_DIR, '01_setup_metadata.json');

/** Every column of every data value row, in key order: the database state an import leaves. */
async function dataValueSnapshot(context: FerryContext): Promise<string> {
  const rows = await context.storage.query(
    `SELECT org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id,
            value, stored_by, created, last_updated, comment, follow_up, deleted
       FROM data_value ORDER BY 1, 2, 3, 4, 5`,
  );
  const audits = await context.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value_audit');
  return createHash('sha256')
    .update(JSON.stringify(rows.map((r) => Object.values(r).map(String))))
    .update(String(audits?.n))
    .digest('hex');
}

async function countValues(context: FerryContext): Promise<number> {
  return Number((await context.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value'))?.n);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`async imports and export producers on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let main: TestApp | undefined;
    let twin: TestApp | undefined;

    before(async () => {
      main = await startTestApp(kind, { seed: (_context, db) => loadAggregateE2eMetadata(db.storage) });
      twin = await startTestApp(kind, { seed: (_context, db) => loadAggregateE2eMetadata(db.storage) });
    });
    after(async () => {
      await stopTestApp(main);
      await stopTestApp(twin);
    });

    it('runs POST /api/dataValueSets?async=true as a DATAVALUE_IMPORT job whose summary matches the synchronous import', async () => {
      const { app, context } = main!;
      const reply = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets?async=true&importStrategy=CREATE_AND_UPDATE',
        headers: {
          authorization: ADMIN,
          'content-type': 'application/json',
          'x-file-name': encodeURIComponent('bulk values — district.json'),
        },
        payload: readFileSync(BULK),
      });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.headers.location, '/api/system/tasks/DATAVALUE_IMPORT');
      const body = reply.json<{
        status: string;
        message: string;
        response: { id: string; jobType: string; relativeNotifierEndpoint: string; jobParameters: unknown };
      }>();
      assert.equal(body.status, 'OK');
      assert.equal(body.message, 'Initiated DATAVALUE_IMPORT');
      assert.equal(body.response.jobType, 'DATAVALUE_IMPORT');
      const id = body.response.id;
      assert.equal(body.response.relativeNotifierEndpoint, `/api/system/tasks/DATAVALUE_IMPORT/${id}`);
      assert.deepEqual(body.response.jobParameters, {
        async: 'true',
        importStrategy: 'CREATE_AND_UPDATE',
      });

      // The upload was stored before the reply: name, type, size and hash.
      const details = (await app.inject({ url: `/api/jobs/${id}`, headers: { authorization: ADMIN } })).json<{
        inputFile: { name: string; contentType: string; size: number; sha256: string };
      }>();
      const bytes = readFileSync(BULK);
      assert.deepEqual(
        { ...details.inputFile, id: undefined },
        {
          id: undefined,
          name: 'bulk values — district.json',
          contentType: 'application/json',
          size: bytes.length,
          sha256: createHash('sha256').update(bytes).digest('hex'),
        },
      );

      await context.jobs.start();
      const job = await waitForJob(context, id);
      assert.equal(job.status, 'COMPLETED', job.error ?? '');
      const summary = (
        await app.inject({
          url: `/api/system/taskSummaries/DATAVALUE_IMPORT/${id}`,
          headers: { authorization: ADMIN },
        })
      ).json<{ status: string; importCount: { imported: number } }>();

      const sync = await twin!.app.inject({
        method: 'POST',
        url: '/api/dataValueSets?importStrategy=CREATE_AND_UPDATE',
        headers: {
          authorization: ADMIN,
          'content-type': 'application/json',
          'x-file-name': encodeURIComponent('bulk values — district.json'),
        },
        payload: bytes,
      });
      assert.equal(sync.statusCode, 200, sync.body);
      // The same summary; only `importOptions.async` tells which way it ran, as in DHIS2.
      const syncSummary = sync.json<{ response: { importOptions: Record<string, unknown> } }>().response;
      assert.equal(syncSummary.importOptions.async, false);
      assert.deepEqual(summary, {
        ...syncSummary,
        importOptions: { ...syncSummary.importOptions, async: true },
      });
      assert.equal(summary.importCount.imported, 231);

      const tasks = (
        await app.inject({ url: body.response.relativeNotifierEndpoint, headers: { authorization: ADMIN } })
      ).json<{ message: string; completed: boolean; level: string }[]>();
      assert.equal(tasks[0].completed, true);
      assert.equal(
        tasks[0].message,
        'Import complete with status SUCCESS, 231 created, 0 updated, 0 deleted, 0 ignored',
      );
      assert.deepEqual(tasks.map((t) => t.message).slice(-3), [
        'Import done',
        'Importing data values',
        'Process started',
      ]);
    });

    it('running the same import job again (at-least-once redelivery) leaves the same database state', async () => {
      const { app, context } = main!;
      const [first] = await context.jobs.list(
        { uid: 'x', authorities: new Set(['ALL']) },
        { types: ['DATAVALUE_IMPORT'] },
      );
      const before = await dataValueSnapshot(context);
      const again = await app.inject({
        method: 'POST',
        url: `/api/jobs/${first.id}/recreate?submit=true`,
        headers: { authorization: ADMIN },
      });
      assert.equal(again.statusCode, 201, again.body);
      const rerun = await waitForJob(context, again.json<{ job: { id: string } }>().job.id);
      assert.equal(rerun.status, 'COMPLETED', rerun.error ?? '');
      assert.equal(await dataValueSnapshot(context), before);
      assert.equal((rerun.summary as { importCount: { ignored: number } }).importCount.ignored, 231);
    });

    it('refuses bad parameters before storing anything, and an anonymous caller', async () => {
      const { app } = main!;
      const bad = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets?async=true&importStrategy=MERGE',
        headers: { authorization: ADMIN, 'content-type': 'application/json' },
        payload: '{"dataValues":[]}',
      });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /importStrategy/);
      const csvWithoutClass = await app.inject({
        method: 'POST',
        url: '/api/metadata?async=true',
        headers: { authorization: ADMIN, 'content-type': 'application/csv' },
        payload: 'a,b\n',
      });
      assert.equal(csvWithoutClass.statusCode, 400);
      assert.match(csvWithoutClass.body, /classKey/);
      const anonymous = await app.inject({
        method: 'POST',
        url: '/api/metadata?async=true',
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      assert.equal(anonymous.statusCode, 401);
    });

    it('runs POST /api/metadata?async=true as METADATA_IMPORT with the synchronous ImportReport', async () => {
      const fresh = await startTestApp(kind);
      const freshTwin = await startTestApp(kind);
      try {
        const payload = readFileSync(SETUP_METADATA);
        const reply = await fresh.app.inject({
          method: 'POST',
          url: '/api/metadata?async=true&atomicMode=ALL',
          headers: {
            authorization: ADMIN,
            'content-type': 'application/json',
            'content-disposition': `attachment; filename*=UTF-8''setup%20metadata.json`,
          },
          payload,
        });
        assert.equal(reply.statusCode, 200, reply.body);
        const id = reply.json<{ response: { id: string; jobType: string } }>().response.id;
        await fresh.context.jobs.start();
        const job = await waitForJob(fresh.context, id);
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        const details = await fresh.context.jobs.details(null, id);
        assert.equal(details.inputFile?.name, 'setup metadata.json');
        assert.equal(details.job.params.atomicMode, 'ALL');
        const sync = await freshTwin.app.inject({
          method: 'POST',
          url: '/api/metadata?atomicMode=ALL',
          headers: { authorization: ADMIN, 'content-type': 'application/json' },
          payload,
        });
        const report = sync.json<{ response: { status: string; stats: Record<string, number> } }>().response;
        assert.equal(report.status, 'OK');
        assert.deepEqual(job.summary, report);
        const notes = await fresh.context.jobs.notifications(job);
        assert.equal(
          notes[0].message,
          `Import complete with status OK, ${report.stats.created} created, ${report.stats.updated} updated, 0 deleted, 0 ignored`,
        );
        const count = (c: FerryContext) =>
          c.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM metadata_object');
        assert.equal(Number((await count(fresh.context))?.n), Number((await count(freshTwin.context))?.n));
      } finally {
        await stopTestApp(fresh);
        await stopTestApp(freshTwin);
      }
    });

    it('runs GML and GeoJSON imports as GML_IMPORT and GEOJSON_IMPORT jobs', async () => {
      const geo = await startTestApp(kind, {
        seed: (context) => context.metadata.save('organisationUnits', GEOMETRY_ORG_UNITS),
      });
      try {
        await geo.context.jobs.start();
        const gml = await geo.app.inject({
          method: 'POST',
          url: '/api/metadata/gml?async=true',
          headers: {
            authorization: ADMIN,
            'content-type': 'application/xml',
            'x-file-name': 'districts.gml',
          },
          payload: GML2,
        });
        assert.equal(gml.statusCode, 200, gml.body);
        const gmlReply = gml.json<{ response: { id: string; jobType: string } }>().response;
        assert.equal(gmlReply.jobType, 'GML_IMPORT');
        const gmlJob = await waitForJob(geo.context, gmlReply.id);
        assert.equal(gmlJob.status, 'COMPLETED', gmlJob.error ?? '');
        const gmlSummary = gmlJob.summary as {
          responseType: string;
          status: string;
          stats: { updated: number };
        };
        assert.equal(gmlSummary.responseType, 'ImportReport');
        assert.ok(gmlSummary.stats.updated > 0, JSON.stringify(gmlSummary));
        const bo = await geo.context.metadata.get('organisationUnits', 'O6uvpzGd5pu');
        assert.ok(bo?.geometry, 'GML geometry written');

        const geoJson = {
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              id: 'TEQlaapDQoK',
              geometry: { type: 'Point', coordinates: [-12.5, 7.5] },
              properties: {},
            },
            {
              type: 'Feature',
              id: 'nosuchunit1',
              geometry: { type: 'Point', coordinates: [-12, 7] },
              properties: {},
            },
          ],
        };
        const reply = await geo.app.inject({
          method: 'POST',
          url: '/api/organisationUnits/geometry?async=true',
          headers: { authorization: ADMIN, 'content-type': 'application/geo+json' },
          payload: JSON.stringify(geoJson),
        });
        assert.equal(reply.statusCode, 200, reply.body);
        const id = reply.json<{ response: { id: string; jobType: string } }>().response.id;
        const job = await waitForJob(geo.context, id);
        assert.equal(job.type, 'GEOJSON_IMPORT');
        assert.deepEqual(job.params, {
          dryRun: false,
          geoJsonId: true,
          orgUnitProperty: 'id',
        });
        // DHIS2's GeoJsonImportReport, as the synchronous reply's `response`, not an ImportReport.
        assert.deepEqual(job.summary, {
          responseType: 'GeoJsonImportReport',
          status: 'WARNING',
          importCount: { imported: 1, updated: 0, ignored: 1, deleted: 0 },
          conflicts: [
            {
              value: 'GeoJSON target organisation unit does not exist',
              errorCode: 'E7708',
              property: 'id',
              indexes: [1],
            },
          ],
          totalConflictOccurrenceCount: 1,
        });
        const summaryReply = await geo.app.inject({
          url: `/api/system/taskSummaries/GEOJSON_IMPORT/${id}`,
          headers: { authorization: ADMIN },
        });
        assert.equal(summaryReply.statusCode, 200, summaryReply.body);
        assert.deepEqual(summaryReply.json(), job.summary);
        const notes = await geo.context.jobs.notifications(job);
        assert.equal(
          notes[0].message,
          'Import complete with status WARNING, 1 created, 0 updated, 0 deleted, 1 ignored',
        );
        assert.equal(notes[0].level, 'WARN');
      } finally {
        await stopTestApp(geo);
      }
    });

    for (const atomic of [true, false]) {
      const outcome = atomic
        ? 'leaves the database as it was'
        : 'keeps the finished batches, counted in its summary';
      it(`cancels a running ${atomic ? 'atomic' : 'non-atomic'} data value import and ${outcome}`, async () => {
        // Big enough to still be running after the first progress flush (1 s) at ~250,000 values/s.
        const big = await startTestApp(kind, {
          seed: (_context, db) => loadGeneratedMetadata(db.storage, 1_000_000),
        });
        try {
          const file = join(big.db.dataDir, 'values.csv');
          await writeGeneratedCsv(file, 1_000_000);
          const reply = await big.app.inject({
            method: 'POST',
            url: `/api/dataValueSets?async=true&atomic=${atomic}`,
            headers: { authorization: ADMIN, 'content-type': 'application/csv', 'x-file-name': 'values.csv' },
            payload: createReadStream(file),
          });
          assert.equal(reply.statusCode, 200, reply.body);
          const id = reply.json<{ response: { id: string } }>().response.id;
          await big.context.jobs.start();
          for (let i = 0; ; i++) {
            const job = await big.context.jobs.get(null, id);
            if (job.status === 'RUNNING' && (job.progress?.processed ?? 0) > 0) break;
            assert.ok(i < 1200 && job.status !== 'COMPLETED', `job never seen running: ${job.status}`);
            await sleep(25);
          }
          const cancel = await big.app.inject({
            method: 'POST',
            url: `/api/jobs/${id}/cancel`,
            headers: { authorization: ADMIN },
          });
          assert.equal(cancel.statusCode, 200, cancel.body);
          const job = await waitForJob(big.context, id);
          assert.equal(job.status, 'CANCELLED');
          const stored = await countValues(big.context);
          if (atomic) {
            assert.equal(stored, 0, 'nothing of a cancelled atomic import stays');
            return;
          }
          const summary = job.summary as {
            status: string;
            description: string;
            importCount: { imported: number };
          };
          assert.ok(stored > 0 && stored < 1_000_000, `some but not all values stay: ${stored}`);
          assert.equal(summary.importCount.imported, stored, 'the summary counts exactly what was written');
          assert.equal(summary.status, 'WARNING');
          assert.match(summary.description, /cancelled/);
          const audits = await big.context.storage.queryOne<{ n: number }>(
            'SELECT COUNT(*) AS n FROM data_value_audit',
          );
          assert.equal(Number(audits?.n), stored, 'every kept value has its audit row');
        } finally {
          await stopTestApp(big);
        }
      });
    }

    it('produces data value exports in the queue: one job per identical request, the same bytes as GET, regenerate, 410 once expired', async () => {
      const { app, context } = main!;
      await context.jobs.stop();
      const params = {
        dataSet: 'VEM58nY22sO',
        period: ['201911', '201912'],
        orgUnit: 'ImspTQPwCqd',
        children: 'true',
      };
      const request = { kind: 'dataValues', format: 'csv', params };
      const first = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: request,
      });
      assert.equal(first.statusCode, 201, first.body);
      const second = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: request,
      });
      assert.equal(second.statusCode, 200);
      const card = first.json<{ id: string; description: string; jobNumber: number; status: string }>();
      assert.equal(second.json<{ id: string }>().id, card.id);
      assert.equal(
        card.description,
        'Data values of data set VEM58nY22sO; periods 201911, 201912; org unit ImspTQPwCqd with children (CSV)',
      );
      await context.jobs.start();
      const done = await waitForJob(context, card.id);
      assert.equal(done.status, 'COMPLETED', done.error ?? '');
      const file = await app.inject({
        url: `/api/exports/${card.id}/file`,
        headers: { authorization: ADMIN },
      });
      assert.equal(file.statusCode, 200);
      assert.equal(file.headers['content-type'], 'application/csv');
      const direct = await app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&period=201911,201912&orgUnit=ImspTQPwCqd&children=true',
        headers: { authorization: ADMIN },
      });
      assert.equal(direct.statusCode, 200, direct.body);
      assert.equal(file.body, direct.body);
      assert.ok(file.body.split('\n').length > 10, 'the export holds values');

      const regenerated = await app.inject({
        method: 'POST',
        url: `/api/exports/${card.id}/regenerate`,
        headers: { authorization: ADMIN },
      });
      assert.equal(regenerated.statusCode, 201);
      const newId = regenerated.json<{ id: string }>().id;
      assert.equal((await waitForJob(context, newId)).status, 'COMPLETED');
      const old = (
        await app.inject({ url: `/api/exports/${card.id}`, headers: { authorization: ADMIN } })
      ).json<{ replacedBy: string }>();
      assert.equal(old.replacedBy, newId);
      assert.equal(
        (await app.inject({ url: `/api/exports/${card.id}/file`, headers: { authorization: ADMIN } }))
          .statusCode,
        410,
      );
      const renewed = await app.inject({
        url: `/api/exports/${newId}/file`,
        headers: { authorization: ADMIN },
      });
      assert.equal(renewed.body, direct.body);

      await context.storage.execute('UPDATE export_job SET file_expires = ? WHERE job_id = ?', [
        '2000-01-01T00:00:00.000Z',
        newId,
      ]);
      assert.equal(
        (await app.inject({ url: `/api/exports/${newId}/file`, headers: { authorization: ADMIN } }))
          .statusCode,
        410,
      );
      const cards = (await app.inject({ url: '/api/exports', headers: { authorization: ADMIN } })).json<{
        exports: { id: string; file: { expired: boolean } }[];
      }>();
      assert.equal(cards.exports.find((c) => c.id === newId)?.file.expired, true, 'the expired card stays');

      const refused = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: { kind: 'dataValues', format: 'csv', params: { dataSet: 'VEM58nY22sO' } },
      });
      assert.equal(refused.statusCode, 409, refused.body);
      assert.match(refused.body, /E2002/);
    });

    it('produces metadata (XML, fields, filter) and dependency exports', async () => {
      const { app, context } = main!;
      const xml = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: {
          kind: 'metadata',
          format: 'xml',
          params: { dataSets: 'true', fields: 'id,name', filter: 'id:eq:VEM58nY22sO' },
        },
      });
      assert.equal(xml.statusCode, 201, xml.body);
      const xmlCard = xml.json<{ id: string; description: string }>();
      assert.equal(xmlCard.description, 'Metadata: dataSets; fields id,name; filter id:eq:VEM58nY22sO (XML)');
      assert.equal((await waitForJob(context, xmlCard.id)).status, 'COMPLETED');
      const xmlFile = await app.inject({
        url: `/api/exports/${xmlCard.id}/file`,
        headers: { authorization: ADMIN },
      });
      assert.match(xmlFile.body, /<dataSets><dataSet[^>]*>/);
      assert.equal(xmlFile.body.match(/<dataSet[ >]/g)?.length, 1);
      assert.doesNotMatch(xmlFile.body, /<periodType>/, 'only the selected fields');

      const deps = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: { kind: 'metadataDependencies', params: { type: 'dataSets', uid: 'VEM58nY22sO' } },
      });
      assert.equal(deps.statusCode, 201, deps.body);
      const depsCard = deps.json<{ id: string; description: string; format: string }>();
      assert.equal(depsCard.format, 'json');
      assert.equal(depsCard.description, 'dataSets VEM58nY22sO with everything it depends on (JSON)');
      const depsJob = await waitForJob(context, depsCard.id);
      assert.equal(depsJob.status, 'COMPLETED', depsJob.error ?? '');
      const packaged = JSON.parse(
        (await app.inject({ url: `/api/exports/${depsCard.id}/file`, headers: { authorization: ADMIN } }))
          .body,
      ) as { dataSets: { id: string }[]; dataElements: unknown[] };
      assert.deepEqual(
        packaged.dataSets.map((d) => d.id),
        ['VEM58nY22sO'],
      );
      assert.ok(packaged.dataElements.length > 0);

      const unknown = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: { kind: 'metadataDependencies', params: { type: 'periods', uid: 'VEM58nY22sO' } },
      });
      assert.equal(unknown.statusCode, 400);
    });

    it('generated data value files import in full (fixture check)', async () => {
      const small = await startTestApp(kind, {
        seed: (_context, db) => loadGeneratedMetadata(db.storage, 5_000),
      });
      try {
        const file = join(small.db.dataDir, 'small.csv');
        await writeGeneratedCsv(file, 5_000);
        const reply = await small.app.inject({
          method: 'POST',
          url: `/api/dataValueSets?dataSet=${GENERATED_DATA_SET}`,
          headers: { authorization: ADMIN, 'content-type': 'application/csv' },
          payload: createReadStream(file),
        });
        assert.equal(reply.statusCode, 200, reply.body);
        assert.equal(await countValues(small.context), 5_000);
      } finally {
        await stopTestApp(small);
      }
    });
  });
}
