import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { TRACKER_FIXTURE_METADATA as METADATA, TRACKER_FIXTURES } from '../support/tracker-metadata.ts';

const LEGACY = join(import.meta.dirname, '../fixtures/tracker-legacy');
const legacy = (name: string) => readFileSync(join(LEGACY, name));

/** The flat fixture's tracked entities and enrollments, which the legacy events belong to. */
const flat = JSON.parse(readFileSync(join(TRACKER_FIXTURES, 'import_flatten_payload.json'), 'utf8'));
const parents = JSON.stringify({ trackedEntities: flat.trackedEntities, enrollments: flat.enrollments });

/** Fields the server sets when it writes (times, who): they differ between two imports. */
const SERVER_SET = new Set(['createdAt', 'updatedAt', 'createdBy', 'updatedBy', 'storedBy']);
function withoutServerFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutServerFields);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !SERVER_SET.has(k))
      .map(([k, v]) => [k, withoutServerFields(v)]),
  );
}

/**
 * A repeatable stage beside the fixture's (which is not repeatable: one event per enrollment, E1039),
 * for the tests that add several events to one enrollment.
 */
const REPEATABLE_STAGE = 'LgcyStage01';
const WITH_REPEATABLE_STAGE = {
  ...METADATA,
  userRoles: [{ id: 'roleLgcy001', name: 'Legacy tracker clerk', authorities: ['F_TRACKER_IMPORT'] }],
  programStages: [
    ...METADATA.programStages,
    {
      id: REPEATABLE_STAGE,
      name: 'Legacy repeatable stage',
      program: { id: 'XrZRFi7rU9e' },
      repeatable: true,
      programStageDataElements: [{ dataElement: { id: 'trkDeNum001' } }],
    },
  ],
};

async function newApp(kind: 'sqlite' | 'postgres'): Promise<TestApp> {
  const started = await startTestApp(kind, {
    seed: async (context) => {
      const report = await importMetadataObjects(context, WITH_REPEATABLE_STAGE);
      assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
    },
  });
  const res = await started.app.inject({
    method: 'POST',
    url: '/api/tracker?async=false',
    headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
    payload: parents,
  });
  assert.equal(res.statusCode, 200, res.body);
  return started;
}

const post = (started: TestApp, url: string, contentType: string, payload: Buffer | string) =>
  started.app.inject({
    method: 'POST',
    url,
    headers: { authorization: ADMIN_AUTH, 'content-type': contentType },
    payload,
  });
const get = (started: TestApp, url: string) =>
  started.app.inject({ method: 'GET', url, headers: { authorization: ADMIN_AUTH } });

async function exportedEvents(started: TestApp): Promise<unknown> {
  const res = await get(started, '/api/tracker/events?orgUnit=PSeMWi7rBgb&paging=false');
  assert.equal(res.statusCode, 200, res.body);
  const events = res.json().events as Array<{ event: string }>;
  return withoutServerFields(events.sort((a, b) => a.event.localeCompare(b.event)));
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`DHIS2's older tracker endpoints on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('legacy {"events"} JSON, 2.40 event CSV and legacy XML import into the same events as /api/tracker', async () => {
      const exports: Record<string, unknown> = {};
      const runs: Array<[string, string, string, Buffer]> = [
        ['tracker', '/api/tracker?async=false', 'application/json', legacy('events-current.json')],
        ['json', '/api/events', 'application/json', legacy('events.json')],
        ['csv', '/api/events?skipFirst=true', 'application/csv', legacy('events-2.40.csv')],
        ['xml', '/api/events', 'application/xml', legacy('events.xml')],
        ['json.gz', '/api/events', 'application/gzip', gzipSync(legacy('events.json'))],
      ];
      for (const [name, url, type, body] of runs) {
        const started = await newApp(kind);
        try {
          const res = await post(started, url, type, body);
          assert.equal(res.statusCode, 200, `${name}: ${res.body}`);
          if (name !== 'tracker') {
            const message = res.json();
            assert.equal(message.status, 'OK', name);
            assert.equal(message.response.responseType, 'ImportSummaries');
            assert.equal(message.response.status, 'SUCCESS');
            assert.equal(message.response.imported, 2, name);
            assert.deepEqual(
              message.response.importSummaries.map((s: { reference: string }) => s.reference),
              ['LgcyEvnt001', 'LgcyEvnt002'],
            );
          }
          exports[name] = await exportedEvents(started);
        } finally {
          await stopTestApp(started);
        }
      }
      const expected = exports.tracker as Array<Record<string, unknown>>;
      assert.equal(expected.length, 2);
      assert.equal(expected[0].occurredAt !== undefined, true, 'the dates are in the export');
      assert.deepEqual(expected[0].geometry, { type: 'Point', coordinates: [-11.5, 8.5] });
      for (const name of ['json', 'csv', 'xml', 'json.gz']) assert.deepEqual(exports[name], expected, name);
    });

    describe('on one database', () => {
      let started: TestApp | undefined;
      before(async () => {
        started = await newApp(kind);
        // A clerk with the authority but capture scope elsewhere, and a user without the authority.
        await started.context.users.createUser({
          username: 'legacy.clerk',
          password: 'Legacy-clerk-1',
          roles: ['roleLgcy001'],
          orgUnits: ['trkOtherOu1'],
        });
        await started.context.users.createUser({
          username: 'legacy.norole',
          password: 'Legacy-norole-1',
          roles: [],
          orgUnits: ['PSeMWi7rBgb'],
        });
        await started.context.jobs.start();
      });

      const as = (user: string, password: string) => ({
        authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
      });

      it("checks the authority and the caller's capture scope", async () => {
        const file = JSON.parse(legacy('events.json').toString('utf8'));
        file.events[0].event = 'LgcyEvnt071';
        file.events[1].event = 'LgcyEvnt072';
        for (const event of file.events) event.programStage = REPEATABLE_STAGE;
        const body = JSON.stringify(file);
        const denied = await started!.app.inject({
          method: 'POST',
          url: '/api/events',
          headers: { ...as('legacy.norole', 'Legacy-norole-1'), 'content-type': 'application/json' },
          payload: body,
        });
        assert.equal(denied.statusCode, 403, denied.body);
        const outside = await started!.app.inject({
          method: 'POST',
          url: '/api/events',
          headers: { ...as('legacy.clerk', 'Legacy-clerk-1'), 'content-type': 'application/json' },
          payload: body,
        });
        assert.equal(outside.statusCode, 409, outside.body);
        const codes = outside
          .json()
          .response.importSummaries.flatMap((s: { conflicts: Array<{ errorCode: string }> }) =>
            s.conflicts.map((c) => c.errorCode),
          );
        assert.deepEqual(codes, ['E1000', 'E1000']);
        assert.equal((await get(started!, '/api/tracker/events/LgcyEvnt071')).statusCode, 404);
      });
      after(() => stopTestApp(started));

      it('imports legacy tracked entity instances with enrollments, events and a relationship; again as updates', async () => {
        const res = await post(
          started!,
          '/api/trackedEntityInstances',
          'application/json',
          legacy('tracked-entity-instances.json'),
        );
        assert.equal(res.statusCode, 200, res.body);
        const summaries = res.json().response;
        assert.equal(summaries.status, 'SUCCESS');
        assert.deepEqual([summaries.imported, summaries.updated, summaries.total], [2, 0, 2]);
        const first = summaries.importSummaries[0];
        assert.equal(first.reference, 'LgcyTei0001');
        assert.equal(first.enrollments.importSummaries[0].reference, 'LgcyEnr0001');
        assert.equal(first.enrollments.importSummaries[0].events.importSummaries[0].reference, 'LgcyEvnt101');

        const te = await get(started!, '/api/tracker/trackedEntities/LgcyTei0001?fields=*');
        assert.equal(te.statusCode, 200, te.body);
        const entity = te.json();
        assert.deepEqual(entity.geometry, { type: 'Point', coordinates: [-11.2, 8.1] });
        assert.equal(entity.enrollments[0].enrolledAt.slice(0, 10), '2019-01-01');
        assert.equal(entity.enrollments[0].occurredAt.slice(0, 10), '2018-12-30');
        assert.equal(entity.enrollments[0].events[0].event, 'LgcyEvnt101');
        assert.equal(entity.enrollments[0].events[0].dataValues[0].value, '3.2');
        const rel = await get(started!, '/api/tracker/relationships?trackedEntity=LgcyTei0002');
        assert.equal(rel.json().relationships[0].relationship, 'LgcyRel0001');

        const again = await post(
          started!,
          '/api/trackedEntityInstances?strategy=NEW_AND_UPDATES',
          'application/json',
          legacy('tracked-entity-instances.json'),
        );
        assert.equal(again.statusCode, 200, again.body);
        assert.deepEqual([again.json().response.imported, again.json().response.updated], [0, 2]);
      });

      it('imports tracked entity instances as XML', async () => {
        const res = await post(
          started!,
          '/api/trackedEntityInstances',
          'application/xml',
          legacy('tracked-entity-instances.xml'),
        );
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().response.imported, 1);
        const ev = await get(started!, '/api/tracker/events/LgcyEvnt301');
        assert.equal(ev.json().enrollment, 'LgcyEnr0003');
        assert.equal(ev.json().trackedEntity, 'LgcyTei0003');
      });

      it('answers 409 with a conflict for a bad event and imports the good one (each object on its own, as 2.40)', async () => {
        const file = JSON.parse(legacy('events.json').toString('utf8'));
        file.events[0].event = 'LgcyEvnt011';
        file.events[1].event = 'LgcyEvnt012';
        file.events[1].dataValues[0].value = 'heavy';
        for (const event of file.events) event.programStage = REPEATABLE_STAGE;
        const res = await post(started!, '/api/events', 'application/json', JSON.stringify(file));
        assert.equal(res.statusCode, 409, res.body);
        const message = res.json();
        assert.equal(message.httpStatus, 'Conflict');
        assert.equal(message.response.status, 'ERROR');
        assert.deepEqual([message.response.imported, message.response.ignored], [1, 1]);
        const bad = message.response.importSummaries[1];
        assert.equal(bad.status, 'ERROR');
        assert.equal(bad.conflicts[0].errorCode, 'E1302');
        assert.equal(bad.conflicts[0].object, 'LgcyEvnt012');
        assert.equal((await get(started!, '/api/tracker/events/LgcyEvnt011')).statusCode, 200);
        assert.equal((await get(started!, '/api/tracker/events/LgcyEvnt012')).statusCode, 404);

        // atomicMode=ALL: nothing written.
        file.events[0].event = 'LgcyEvnt021';
        const all = await post(
          started!,
          '/api/events?atomicMode=ALL',
          'application/json',
          JSON.stringify(file),
        );
        assert.equal(all.statusCode, 409);
        assert.equal(all.json().response.importSummaries[0].status, 'WARNING');
        assert.equal((await get(started!, '/api/tracker/events/LgcyEvnt021')).statusCode, 404);
      });

      it("takes an event's enrollment from its instance's active enrollment, and 2.40 CSV without a header", async () => {
        const file = {
          events: [
            {
              event: 'LgcyEvnt041',
              program: 'XrZRFi7rU9e',
              programStage: REPEATABLE_STAGE,
              trackedEntityInstance: 'IybbQIQt6te',
              orgUnit: 'PSeMWi7rBgb',
              eventDate: '2019-04-01',
              status: 'ACTIVE',
            },
          ],
        };
        const res = await post(started!, '/api/events', 'application/json', JSON.stringify(file));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(
          (await get(started!, '/api/tracker/events/LgcyEvnt041')).json().enrollment,
          'IybbQIQt6en',
        );
        // One event alone, without its list, as 2.40 took it.
        const alone = await post(
          started!,
          '/api/events',
          'application/json',
          JSON.stringify({ ...file.events[0], event: 'LgcyEvnt043' }),
        );
        assert.equal(alone.statusCode, 200, alone.body);
        assert.equal(alone.json().response.importSummaries[0].reference, 'LgcyEvnt043');
        assert.equal(
          (await get(started!, '/api/tracker/events/LgcyEvnt043')).json().enrollment,
          'IybbQIQt6en',
        );

        const rows = legacy('events-2.40.csv')
          .toString('utf8')
          .split('\n')
          .slice(1)
          .join('\n')
          .replace(/LgcyEvnt00/g, 'LgcyEvnt05')
          .replace(/I8RRFi7rUps/g, REPEATABLE_STAGE);
        const csv = await post(started!, '/api/events', 'application/csv', rows);
        assert.equal(csv.statusCode, 200, csv.body);
        assert.equal(csv.json().response.imported, 2);
        const second = (await get(started!, '/api/tracker/events/LgcyEvnt052')).json();
        assert.equal(second.enrollment, 'daMwzsKN3en');
        assert.equal(second.dataValues[0].value, '64');
      });

      it('refuses bad files naming file, line and field, and wrong lists per endpoint', async () => {
        const csv =
          'event,status,program,programStage,enrollment,orgUnit,eventDate,dueDate,latitude,longitude,dataElement,value,storedBy,providedElsewhere,completedDate,completedBy,geometry\nLgcyEvnt031,ACTIVE,XrZRFi7rU9e\n';
        const short = await post(started!, '/api/events', 'application/csv', csv);
        assert.equal(short.statusCode, 400);
        assert.match(short.json().message, /request body \(line 2\): 3 columns/);
        const unknown = await post(
          started!,
          '/api/events',
          'application/csv',
          'event,colour,dataElement\nx,y,z\n',
        );
        assert.equal(unknown.statusCode, 400);
        assert.match(unknown.json().message, /line 1.*unknown column `colour` \(column 2\)/);
        const geometry = await post(
          started!,
          '/api/events',
          'application/json',
          '{"events":[\n{"event":"LgcyEvnt032","geometry":"{not json"}]}',
        );
        assert.equal(geometry.statusCode, 400);
        assert.match(geometry.json().message, /line 2.*geometry/);
        const proto = await post(
          started!,
          '/api/events',
          'application/xml',
          '<events><event><__proto__>x</__proto__></event></events>',
        );
        assert.equal(proto.statusCode, 400);
        const doctype = await post(
          started!,
          '/api/events',
          'application/xml',
          '<?xml version="1.0"?><!DOCTYPE events [<!ENTITY x "LgcyEvnt033">]><events><event event="&x;"/></events>',
        );
        assert.equal(doctype.statusCode, 400, 'no DOCTYPE, so no entity is ever expanded');
        const wrong = await post(
          started!,
          '/api/events',
          'application/json',
          legacy('tracked-entity-instances.json'),
        );
        assert.equal(wrong.statusCode, 400);
        assert.match(wrong.json().message, /trackedEntityInstances/);
        const csvTei = await post(started!, '/api/trackedEntityInstances', 'application/csv', csv);
        assert.equal(csvTei.statusCode, 415);
        assert.equal((await get(started!, '/api/tracker/events/LgcyEvnt031')).statusCode, 404);
      });

      it('async=true queues EVENT_IMPORT, whose summary is the ImportSummaries', async () => {
        const file = {
          events: [
            {
              event: 'LgcyEvnt061',
              program: 'XrZRFi7rU9e',
              programStage: REPEATABLE_STAGE,
              enrollment: 'daMwzsKN3en',
              orgUnit: 'PSeMWi7rBgb',
              eventDate: '2019-05-01',
              status: 'ACTIVE',
            },
          ],
        };
        const bad = await post(
          started!,
          '/api/events?async=true&strategy=SOMETIMES',
          'application/json',
          '{}',
        );
        assert.equal(bad.statusCode, 400, 'parameters are checked before a job is queued');
        const res = await post(started!, '/api/events?async=true', 'application/json', JSON.stringify(file));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers.location, '/api/system/tasks/EVENT_IMPORT');
        const id = res.json().response.id as string;
        const job = await waitForJob(started!.context, id);
        assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
        const summary = await get(started!, `/api/system/taskSummaries/EVENT_IMPORT/${id}`);
        assert.equal(summary.json().responseType, 'ImportSummaries');
        assert.equal(summary.json().imported, 1);
        const tasks = await get(started!, `/api/system/tasks/EVENT_IMPORT/${id}`);
        const messages = (tasks.json() as Array<{ message: string }>).map((n) => n.message);
        assert.ok(
          messages.some((m) => /^Import complete with status SUCCESS, 1 created/.test(m)),
          messages.join(' | '),
        );
        assert.equal((await get(started!, '/api/tracker/events/LgcyEvnt061')).statusCode, 200);
      });

      it('GET /api/events answers in the older shape', async () => {
        const res = await get(
          started!,
          '/api/events?orgUnit=PSeMWi7rBgb&program=XrZRFi7rU9e&startDate=2019-01-01&endDate=2019-01-31&skipPaging=true',
        );
        assert.equal(res.statusCode, 200, res.body);
        const body = res.json();
        assert.equal(body.pager, undefined);
        const byUid = new Map(body.events.map((e: { event: string }) => [e.event, e]));
        const event = byUid.get('LgcyEvnt101') as Record<string, unknown>;
        assert.ok(event, JSON.stringify(body.events.map((e: { event: string }) => e.event)));
        assert.equal(String(event.eventDate).slice(0, 10), '2019-01-05');
        assert.equal(event.trackedEntityInstance, 'LgcyTei0001');
        assert.equal(event.occurredAt, undefined);
        assert.ok(event.created && event.lastUpdated);
        assert.equal((event.dataValues as Array<{ value: string }>)[0].value, '3.2');
        // The date filter left February out.
        assert.equal(byUid.has('LgcyEvnt301'), false);
        const paged = await get(started!, '/api/events?orgUnit=PSeMWi7rBgb&pageSize=1&totalPages=true');
        assert.equal(paged.json().pager.pageSize, 1);
        assert.ok(paged.json().pager.total >= 3);
        assert.equal(paged.json().events.length, 1);
        // A user whose scope is elsewhere sees none of them.
        const seen = await started!.app.inject({
          method: 'GET',
          url: '/api/events?skipPaging=true',
          headers: as('legacy.clerk', 'Legacy-clerk-1'),
        });
        assert.equal(seen.statusCode, 200, seen.body);
        assert.deepEqual(seen.json().events, []);
      });

      it('GET /api/trackedEntityInstances answers in the older shape; its XML imports back unchanged', async () => {
        const one = await get(
          started!,
          '/api/trackedEntityInstances?trackedEntityInstance=LgcyTei0001&fields=*',
        );
        assert.equal(one.statusCode, 200, one.body);
        const [tei] = one.json().trackedEntityInstances;
        assert.equal(tei.trackedEntityInstance, 'LgcyTei0001');
        assert.equal(tei.trackedEntity, undefined);
        assert.equal(tei.enrollments[0].enrollment, 'LgcyEnr0001');
        assert.equal(tei.enrollments[0].enrollmentDate.slice(0, 10), '2019-01-01');
        assert.equal(tei.enrollments[0].incidentDate.slice(0, 10), '2018-12-30');
        assert.equal(tei.enrollments[0].events[0].eventDate.slice(0, 10), '2019-01-05');
        assert.deepEqual(tei.relationships[0].to, {
          trackedEntityInstance: { trackedEntityInstance: 'LgcyTei0002' },
        });

        const current = async () => {
          const res = await get(
            started!,
            '/api/tracker/trackedEntities?trackedEntityType=PrZMWi7rBga&orgUnits=PSeMWi7rBgb&fields=*&paging=false',
          );
          const list = res.json().trackedEntities as Array<{ trackedEntity: string }>;
          return withoutServerFields(list.sort((a, b) => a.trackedEntity.localeCompare(b.trackedEntity)));
        };
        const before = await current();
        const xml = await get(
          started!,
          '/api/trackedEntityInstances.xml?ou=PSeMWi7rBgb&trackedEntityType=PrZMWi7rBga&fields=*&skipPaging=true',
        );
        assert.equal(xml.statusCode, 200, xml.body);
        assert.match(xml.body, /<trackedEntityInstances><trackedEntityInstance trackedEntityInstance="/);
        const again = await post(started!, '/api/trackedEntityInstances', 'application/xml', xml.body);
        assert.equal(again.statusCode, 200, again.body);
        const response = again.json().response;
        assert.deepEqual([response.imported, response.updated], [0, (before as unknown[]).length]);
        assert.deepEqual(await current(), before);
        const paged = await get(
          started!,
          '/api/trackedEntityInstances.xml?trackedEntityType=PrZMWi7rBga&pageSize=2',
        );
        assert.match(paged.body, /<pager page="1" pageSize="2"\/>/);
        const fromPaged = await post(started!, '/api/trackedEntityInstances', 'application/xml', paged.body);
        assert.equal(fromPaged.json().response.total, 2, 'the pager is not an item');
      });

      it('GET /api/events.xml and .csv.gz write the older XML and 2.40 CSV, which import back unchanged', async () => {
        const before = await exportedEvents(started!);
        const count = (before as unknown[]).length;
        assert.ok(count >= 5);

        const xml = await get(started!, '/api/events.xml?orgUnit=PSeMWi7rBgb&skipPaging=true');
        assert.equal(xml.statusCode, 200, xml.body);
        assert.match(xml.headers['content-type'] as string, /application\/xml/);
        assert.match(xml.body, /^<\?xml[^>]*><events><event event="/);
        assert.match(xml.body, /eventDate="2019-01-05[^"]*"/);
        const again = await post(started!, '/api/events', 'application/xml', xml.body);
        assert.equal(again.statusCode, 200, again.body);
        assert.deepEqual([again.json().response.updated, again.json().response.imported], [count, 0]);

        const csv = await started!.app.inject({
          method: 'GET',
          url: '/api/events.csv.gz?orgUnit=PSeMWi7rBgb&skipPaging=true',
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(csv.statusCode, 200);
        assert.equal(csv.headers['content-type'], 'application/csv+gzip');
        const text = gunzipSync(csv.rawPayload).toString('utf8');
        assert.equal(
          text.split('\n')[0],
          'event,status,program,programStage,enrollment,orgUnit,eventDate,dueDate,latitude,longitude,dataElement,value,storedBy,providedElsewhere,completedDate,completedBy,geometry',
        );
        const fromCsv = await post(started!, '/api/events', 'application/gzip', csv.rawPayload);
        assert.equal(fromCsv.statusCode, 200, fromCsv.body);
        assert.equal(fromCsv.json().response.updated, count);

        const strip = (events: unknown) =>
          (events as Array<Record<string, unknown>>).map(({ updatedAtClient, ...rest }) => {
            void updatedAtClient;
            return rest;
          });
        assert.deepEqual(strip(await exportedEvents(started!)), strip(before));
      });
    });
  });
}
