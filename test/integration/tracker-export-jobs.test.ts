import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { TRACKER_FIXTURE_METADATA as METADATA, TRACKER_FIXTURES } from '../support/tracker-metadata.ts';

// Event and tracked entity exports through the export queue (kinds `events` and `trackedEntities`,
// src/services/tracker/tracker-export-jobs.ts): the queued file holds what the direct download
// (`GET /api/tracker/...` with paging=false) gives for the same parameters, bad parameters are
// refused when asked for, and a user whose scope holds none of the data gets an empty file.

const nested = readFileSync(join(TRACKER_FIXTURES, 'import_nested_payload.json'), 'utf8');
const FAR_AUTH = `Basic ${Buffer.from('far.away:Far-away-pass-1').toString('base64')}`;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker exports through the export queue on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          // A second, repeatable stage that allows assigning events to users (the fixtures' does not).
          const report = await importMetadataObjects(context, {
            ...METADATA,
            programStages: [
              ...METADATA.programStages,
              {
                id: 'asgStage001',
                name: 'Assigned stage',
                program: { id: 'XrZRFi7rU9e' },
                repeatable: true,
                enableUserAssignment: true,
                programStageDataElements: [{ dataElement: { id: 'trkDeNum001' } }],
              },
            ],
          });
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
      const imported = await started.app.inject({
        method: 'POST',
        url: '/api/tracker?validationMode=SKIP&async=false',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: nested,
      });
      assert.equal(imported.statusCode, 200, imported.body);
    });
    after(() => stopTestApp(started));

    const get = (url: string, auth = ADMIN_AUTH) =>
      started!.app.inject({ method: 'GET', url, headers: { authorization: auth } });

    /** Queues an export, waits for its job, and returns the card and the file's bytes. */
    async function queued(payload: Record<string, unknown>, auth = ADMIN_AUTH) {
      const reply = await started!.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: auth },
        payload,
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const id = reply.json<{ id: string }>().id;
      const job = await waitForJob(started!.context, id, 60_000);
      assert.equal(job.status, 'COMPLETED', JSON.stringify(job.error));
      const card = (await get(`/api/exports/${id}`, auth)).json<{
        description: string;
        file: { name: string; downloadUrl: string } | null;
      }>();
      assert.ok(card.file, 'the card has a file');
      const file = await get(card.file.downloadUrl, auth);
      assert.equal(file.statusCode, 200, file.body);
      return { card, bytes: file.rawPayload };
    }

    it('queues an event CSV export whose file is the direct download, gzipped', async () => {
      const params = { program: 'XrZRFi7rU9e', orgUnit: 'PSeMWi7rBgb', orgUnitMode: 'DESCENDANTS' };
      const direct = await get(`/api/tracker/events.csv?${new URLSearchParams(params)}&paging=false`);
      assert.equal(direct.statusCode, 200, direct.body);
      const lines = direct.body.trim().split('\n');
      assert.ok(lines.length >= 2, 'the fixtures give at least one event');
      const { card, bytes } = await queued({ kind: 'events', format: 'csv', compression: 'gzip', params });
      assert.match(card.file!.name, /\.csv\.gz$/);
      assert.match(card.description, /^Events of program XrZRFi7rU9e; org unit PSeMWi7rBgb and all below/);
      assert.equal(gunzipSync(bytes).toString('utf8'), direct.body);
    });

    it('queues a tracked entity JSON export with the direct download’s objects', async () => {
      const params = {
        program: 'XrZRFi7rU9e',
        orgUnits: 'PSeMWi7rBgb',
        orgUnitMode: 'SELECTED',
        fields: '*',
      };
      const direct = await get(
        `/api/tracker/trackedEntities.json?${new URLSearchParams(params)}&paging=false`,
      );
      assert.equal(direct.statusCode, 200, direct.body);
      const expected = direct.json<{ trackedEntities: { trackedEntity: string }[] }>().trackedEntities;
      assert.ok(expected.length > 0, 'the fixtures enroll tracked entities in the program');
      const { bytes } = await queued({ kind: 'trackedEntities', format: 'json', params });
      const got = JSON.parse(bytes.toString('utf8')) as { trackedEntities: unknown[] };
      assert.deepEqual(got.trackedEntities, expected);
    });

    it('refuses an unknown program, a bad date and a bad id scheme when asked, queuing nothing', async () => {
      const before = (await get('/api/exports')).json<{ exports: unknown[] }>().exports.length;
      for (const [params, pattern] of [
        [{ program: 'NoSuchProg1', orgUnit: 'PSeMWi7rBgb' }, /NoSuchProg1/],
        [{ program: 'XrZRFi7rU9e', orgUnit: 'PSeMWi7rBgb', occurredAfter: 'yesterday' }, /occurredAfter/],
        [{ program: 'XrZRFi7rU9e', orgUnit: 'PSeMWi7rBgb', idScheme: 'SHORTNAME' }, /idScheme/],
      ] as const) {
        const reply = await started!.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: ADMIN_AUTH },
          payload: { kind: 'events', format: 'json', params },
        });
        assert.ok(reply.statusCode >= 400 && reply.statusCode < 500, `${reply.statusCode} ${reply.body}`);
        assert.match(reply.json<{ message: string }>().message, pattern);
      }
      const afterCount = (await get('/api/exports')).json<{ exports: unknown[] }>().exports.length;
      assert.equal(afterCount, before);
    });

    it('filters queued events by their assigned user (PROVIDED, CURRENT, NONE)', async () => {
      const me = (await get('/api/me?fields=id')).json<{ id: string }>();
      const other = 'aaaaaaaaaa1';
      const events = [
        { event: 'asgEvent001', assignedUser: { uid: me.id } },
        { event: 'asgEvent002', assignedUser: { uid: other } },
      ].map((e) => ({
        ...e,
        program: 'XrZRFi7rU9e',
        programStage: 'asgStage001',
        enrollment: 'IybbQIQt6en',
        orgUnit: 'PSeMWi7rBgb',
        occurredAt: '2024-03-01',
        status: 'ACTIVE',
      }));
      const posted = await started!.app.inject({
        method: 'POST',
        url: '/api/tracker?validationMode=SKIP&async=false',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: { events },
      });
      assert.equal(posted.statusCode, 200, posted.body);
      const ids = async (params: Record<string, string>) => {
        const { bytes } = await queued({
          kind: 'events',
          format: 'json',
          params: { program: 'XrZRFi7rU9e', orgUnit: 'PSeMWi7rBgb', orgUnitMode: 'SELECTED', ...params },
        });
        return (JSON.parse(bytes.toString('utf8')) as { events: { event: string }[] }).events
          .map((e) => e.event)
          .sort();
      };
      assert.deepEqual(await ids({ assignedUserMode: 'PROVIDED', assignedUsers: other }), ['asgEvent002']);
      assert.deepEqual(await ids({ assignedUsers: `${me.id},${other}` }), ['asgEvent001', 'asgEvent002']);
      assert.deepEqual(await ids({ assignedUserMode: 'CURRENT' }), ['asgEvent001']);
      const unassigned = await ids({ assignedUserMode: 'NONE' });
      assert.ok(unassigned.length > 0 && !unassigned.some((id) => id.startsWith('asg')), unassigned.join());
      const refused = await started!.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: {
          kind: 'events',
          params: { program: 'XrZRFi7rU9e', orgUnit: 'PSeMWi7rBgb', assignedUserMode: 'PROVIDED' },
        },
      });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.match(refused.json<{ message: string }>().message, /assignedUsers/);
    });

    it('gives a user whose org units hold none of the data an empty file', async () => {
      const { bytes } = await queued(
        {
          kind: 'trackedEntities',
          format: 'json',
          params: { orgUnitMode: 'ACCESSIBLE', trackedEntityType: 'PrZMWi7rBga' },
        },
        FAR_AUTH,
      );
      assert.deepEqual(JSON.parse(bytes.toString('utf8')), { trackedEntities: [] });
      const all = await queued({
        kind: 'trackedEntities',
        format: 'json',
        params: { orgUnitMode: 'ACCESSIBLE', trackedEntityType: 'PrZMWi7rBga' },
      });
      assert.equal(JSON.parse(all.bytes.toString('utf8')).trackedEntities.length, 3);
    });
  });
}
