import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { TRACKER_FIXTURE_METADATA as METADATA, TRACKER_FIXTURES } from '../support/tracker-metadata.ts';

const TRACKER = TRACKER_FIXTURES;
const nested = readFileSync(join(TRACKER, 'import_nested_payload.json'), 'utf8');
const flat = readFileSync(join(TRACKER, 'import_flatten_payload.json'), 'utf8');

/** Every field the payload gave is in the export with the same value (server-set fields aside). */
function assertCovers(exported: unknown, given: unknown, path: string): void {
  if (given === null || typeof given !== 'object') return assert.deepEqual(exported, given, path);
  if (Array.isArray(given)) {
    assert.ok(Array.isArray(exported), `${path} is a list`);
    const key = (o: Record<string, unknown>) =>
      String(o.relationship ?? o.event ?? o.enrollment ?? o.trackedEntity ?? JSON.stringify(o));
    const byKey = new Map((exported as Record<string, unknown>[]).map((o) => [key(o), o]));
    for (const item of given as Record<string, unknown>[])
      assertCovers(byKey.get(key(item)), item, `${path}[${key(item)}]`);
    return;
  }
  assert.ok(exported && typeof exported === 'object', `${path} exported`);
  for (const [k, v] of Object.entries(given))
    assertCovers((exported as Record<string, unknown>)[k], v, `${path}.${k}`);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`POST /api/tracker and tracker exports on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          const report = await importMetadataObjects(context, METADATA);
          assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        },
      });
      await started.context.users.createUser({
        username: 'far.away',
        password: 'Far-away-pass-1',
        roles: [],
        orgUnits: ['trkOtherOu1'],
      });
      await started.context.jobs.start();
    });
    after(() => stopTestApp(started));

    // DHIS2's fixtures' events carry no dates, which DHIS2 refuses (E1031) under full validation: its
    // own test of them (TrackerImportControllerTest) posts them with validationMode=SKIP, as here.
    const post = (payload: string, query: string) =>
      started!.app.inject({
        method: 'POST',
        url: `/api/tracker?validationMode=SKIP&${query}`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload,
      });
    const get = (url: string) =>
      started!.app.inject({ method: 'GET', url, headers: { authorization: ADMIN_AUTH } });

    it('refuses unknown parameter values with 400 and accepts lowercase and DHIS2 synonyms', async () => {
      const bad = await post(nested, 'async=false&atomicMode=SOME');
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().message, /atomicMode/);
      const dry = await post(
        nested,
        'async=false&importMode=validate&strategy=create&identifier=UID&skipRuleEngine=true',
      );
      assert.equal(dry.statusCode, 200, dry.body);
      assert.equal(dry.json().status, 'OK');
      const count = await get('/api/tracker/trackedEntities?trackedEntityType=PrZMWi7rBga');
      assert.deepEqual(count.json().trackedEntities, [], 'a dry run writes nothing');
    });

    it('without validationMode=SKIP the fixture events, which have no dates, get E1031 as in DHIS2', async () => {
      const res = await post(nested, 'async=false&validationMode=full');
      assert.equal(res.statusCode, 409);
      assert.deepEqual(
        res
          .json()
          .validationReport.errorReports.map((e: { errorCode: string; uid: string }) => [e.errorCode, e.uid]),
        [
          ['E1031', 'IybbQIQt6ev'],
          ['E1031', 'daMwzsKN3ev'],
        ],
      );
    });

    it('atomicMode ALL with one bad event writes nothing and names the event', async () => {
      const payload = JSON.parse(nested);
      payload.trackedEntities[0].enrollments[0].events[0].dataValues = [
        { dataElement: 'trkDeNum001', value: 'heavy' },
      ];
      const res = await post(JSON.stringify(payload), 'async=false');
      assert.equal(res.statusCode, 409);
      const report = res.json();
      assert.equal(report.status, 'ERROR');
      assert.deepEqual(
        report.validationReport.errorReports.map(
          (e: { errorCode: string; trackerType: string; uid: string }) => [e.errorCode, e.trackerType, e.uid],
        ),
        [['E1302', 'EVENT', 'IybbQIQt6ev']],
      );
      assert.equal(report.stats.ignored, report.stats.total);
      const count = await get('/api/tracker/trackedEntities?trackedEntity=IybbQIQt6te');
      assert.deepEqual(count.json().trackedEntities, []);
    });

    it('imports the nested fixture with status OK (sync) and exports it back field by field', async () => {
      const res = await post(nested, 'async=false');
      assert.equal(res.statusCode, 200, res.body);
      const report = res.json();
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
      assert.deepEqual(report.stats, { created: 9, updated: 0, deleted: 0, ignored: 0, total: 9 });
      assert.equal(report.bundleReport.typeReportMap.EVENT.stats.created, 2);

      const exported = await get(
        '/api/tracker/trackedEntities?trackedEntityType=PrZMWi7rBga&orgUnits=PSeMWi7rBgb&fields=*&paging=false',
      );
      assert.equal(exported.statusCode, 200, exported.body);
      const given = JSON.parse(nested).trackedEntities;
      // The nested fixture lists relationships under their `from` end only; the export lists each under both ends.
      const list = exported.json().trackedEntities;
      assert.equal(list.length, 3);
      assertCovers(
        list,
        given
          .map((t: Record<string, unknown>) => ({ ...t, relationships: undefined }))
          .map((t: Record<string, unknown>) => {
            delete t.relationships;
            return t;
          }),
        'trackedEntities',
      );
      const first = list.find((t: { trackedEntity: string }) => t.trackedEntity === 'IybbQIQt6te');
      assertCovers(first.relationships, given[0].relationships, 'relationships');

      const events = await get('/api/tracker/events?orgUnit=PSeMWi7rBgb&program=XrZRFi7rU9e');
      assert.deepEqual(
        events
          .json()
          .events.map((e: { event: string }) => e.event)
          .sort(),
        ['IybbQIQt6ev', 'daMwzsKN3ev'],
      );
      const one = await get('/api/tracker/events/IybbQIQt6ev');
      assert.equal(one.json().enrollment, 'IybbQIQt6en');
      assert.equal(one.json().trackedEntity, 'IybbQIQt6te');
      const csv = await get('/api/tracker/events.csv?orgUnit=PSeMWi7rBgb&orgUnitMode=DESCENDANTS');
      assert.match(
        csv.body.split('\n')[0],
        /^event,status,program,programStage,enrollment,orgUnit,occurredAt/,
      );
      assert.equal(csv.body.trim().split('\n').length, 3);
      const gz = await started!.app.inject({
        method: 'GET',
        url: '/api/tracker/events.json.gz?orgUnit=PSeMWi7rBgb',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(gz.headers['content-type'], 'application/json+gzip');
      assert.deepEqual(JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')).events, events.json().events);
      const zip = await started!.app.inject({
        method: 'GET',
        url: '/api/tracker/events?orgUnit=PSeMWi7rBgb',
        headers: { authorization: ADMIN_AUTH, accept: 'application/csv+zip' },
      });
      assert.equal(zip.headers['content-type'], 'application/csv+zip');
      assert.match(String(zip.headers['content-disposition']), /events\.csv\.zip/);
      assert.equal(zip.rawPayload.subarray(0, 2).toString('latin1'), 'PK');
      const relationships = await get('/api/tracker/relationships?trackedEntity=IybbQIQt6te');
      assert.equal(relationships.json().relationships.length, 2);
    });

    it('keeps exports inside the view scope and counts pages with totalPages', async () => {
      const far = { authorization: `Basic ${Buffer.from('far.away:Far-away-pass-1').toString('base64')}` };
      const as = (url: string) => started!.app.inject({ method: 'GET', url, headers: far });
      const tes = await as('/api/tracker/trackedEntities?trackedEntityType=PrZMWi7rBga');
      assert.deepEqual(tes.json().trackedEntities, []);
      assert.deepEqual((await as('/api/tracker/events')).json().events, []);
      assert.deepEqual(
        (await as('/api/tracker/relationships?trackedEntity=IybbQIQt6te')).json().relationships,
        [],
      );
      assert.equal((await as('/api/tracker/events/IybbQIQt6ev')).statusCode, 404);
      const paged = await get(
        '/api/tracker/trackedEntities?trackedEntityType=PrZMWi7rBga&pageSize=2&page=2&totalPages=true',
      );
      assert.deepEqual(paged.json().pager, { page: 2, pageSize: 2, total: 3, pageCount: 2 });
      assert.equal(paged.json().trackedEntities.length, 1);
    });

    it('a second import of the flat fixture (the same objects) is all updates or ignores, through a job', async () => {
      const res = await post(flat, 'async=true');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.message, 'Tracker job added');
      assert.match(body.response.location, new RegExp(`/api/tracker/jobs/${body.response.id}$`));
      const job = await waitForJob(started!.context, body.response.id);
      assert.equal(job.status, 'COMPLETED', job.error ?? '');
      const report = (await get(`/api/tracker/jobs/${body.response.id}/report`)).json();
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
      assert.equal(report.stats.created, 0);
      assert.equal(report.stats.updated + report.stats.ignored, report.stats.total);
      assert.equal(report.stats.total, 9);
      const notes = (await get(`/api/tracker/jobs/${body.response.id}`)).json();
      assert.ok(Array.isArray(notes) && notes.length > 0);
      // Nothing changed: no audit rows. A change, through another job, is audited with that job.
      const audited = () =>
        started!.context.storage.query<{ job_id: string; previous: unknown; current: unknown }>(
          "SELECT job_id, previous, current FROM tracker_audit WHERE tracker_type = 'EVENT' AND uid = 'IybbQIQt6ev'",
        );
      assert.deepEqual(await audited(), []);
      const changedPayload = JSON.parse(flat);
      changedPayload.events[0].occurredAt = '2024-05-01T00:00:00.000';
      const second = (await post(JSON.stringify(changedPayload), '')).json();
      assert.equal((await waitForJob(started!.context, second.response.id)).status, 'COMPLETED');
      const rows = await audited();
      assert.equal(rows.length, 1);
      assert.equal(rows[0].job_id, second.response.id);
      const json = (v: unknown) => (typeof v === 'string' ? JSON.parse(v) : v) as Record<string, unknown>;
      assert.equal(json(rows[0].previous).occurred_at, null);
      assert.equal(json(rows[0].current).occurred_at, '2024-05-01T00:00:00.000');
    });

    it('reports DHIS2 codes for existence under CREATE, UPDATE and DELETE', async () => {
      const create = (await post(nested, 'async=false&importStrategy=CREATE&atomicMode=OBJECT')).json();
      const codes = new Set(
        create.validationReport.errorReports.map((e: { errorCode: string }) => e.errorCode),
      );
      for (const code of ['E1002', 'E1080', 'E1030', 'E4015']) assert.ok(codes.has(code), code);
      const update = (
        await post(
          JSON.stringify({
            events: [{ event: 'NoSuchEv001', programStage: 'I8RRFi7rUps', orgUnit: 'PSeMWi7rBgb' }],
            trackedEntities: [
              { trackedEntity: 'NoSuchTe001', trackedEntityType: 'PrZMWi7rBga', orgUnit: 'PSeMWi7rBgb' },
            ],
          }),
          'async=false&importStrategy=UPDATE',
        )
      ).json();
      assert.deepEqual(
        update.validationReport.errorReports.map((e: { errorCode: string }) => e.errorCode).sort(),
        ['E1032', 'E1063'],
      );
      const unknownType = (
        await post(
          JSON.stringify({
            trackedEntities: [
              { trackedEntity: 'NewTe000001', trackedEntityType: 'NoSuchType1', orgUnit: 'PSeMWi7rBgb' },
            ],
          }),
          'async=false',
        )
      ).json();
      assert.equal(unknownType.validationReport.errorReports[0].errorCode, 'E1005');
      const del = (
        await post(
          JSON.stringify({ events: [{ event: 'daMwzsKN3ev' }] }),
          'async=false&importStrategy=DELETE',
        )
      ).json();
      assert.equal(del.status, 'OK', JSON.stringify(del.validationReport));
      assert.equal(del.stats.deleted, 1);
      const gone = await get('/api/tracker/events?orgUnit=PSeMWi7rBgb');
      assert.deepEqual(
        gone.json().events.map((e: { event: string }) => e.event),
        ['IybbQIQt6ev'],
      );
      const withDeleted = await get('/api/tracker/events?orgUnit=PSeMWi7rBgb&includeDeleted=true');
      assert.equal(withDeleted.json().events.length, 2);
    });
  });
}
