import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { createPool, listEntries } from '../../src/services/dedupe/dedupe-pool-service.ts';
import { DedupeStore } from '../../src/storage/dedupe-store.ts';
import { TRACKER_FIXTURE_METADATA as METADATA, TRACKER_FIXTURES } from '../support/tracker-metadata.ts';

/**
 * A de-duplication pool used by the tracker import (POST /api/tracker with dedupePool, dedupeKey,
 * dedupeMode). The events file is the events of DHIS2's flat tracker fixture, with an occurrence
 * date and a weight; its tracked entities and enrollments are imported first, without a pool.
 */
const flat = JSON.parse(readFileSync(join(TRACKER_FIXTURES, 'import_flatten_payload.json'), 'utf8'));
const parents = JSON.stringify({ trackedEntities: flat.trackedEntities, enrollments: flat.enrollments });
const EVENTS: Array<Record<string, unknown>> = flat.events.map((e: Record<string, unknown>, i: number) => ({
  ...e,
  occurredAt: `2024-03-0${i + 1}T00:00:00.000`,
  dataValues: [{ dataElement: 'trkDeNum001', value: String(60 + i) }],
}));
const eventsFile = JSON.stringify({ events: EVENTS });
const EVENT_UIDS = EVENTS.map((e) => e.event as string).sort();

interface Drop {
  trackerType: string;
  uid: string;
  reason: string;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker import with a de-duplication pool on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          // A repeatable stage, so that the same event under a new UID is valid (dedupeKey test).
          const programStages = METADATA.programStages.map((stage) => ({ ...stage, repeatable: true }));
          const report = await importMetadataObjects(context, { ...METADATA, programStages });
          assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        },
      });
      const res = await post(parents, 'async=false');
      assert.equal(res.statusCode, 200, res.body);
    });
    after(() => stopTestApp(started));

    const post = (payload: string, query: string) =>
      started!.app.inject({
        method: 'POST',
        url: `/api/tracker?${query}`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload,
      });
    const pool = async (name: string) => (await createPool(started!.context, undefined, { name })).id;
    const count = async (uid: string) => {
      const store = new DedupeStore(started!.context.storage);
      return store.countEntries((await store.poolByUid(uid))!.poolId);
    };
    const keys = async (uid: string) =>
      (await listEntries(started!.context, undefined, uid, { pageSize: 100 })).entries
        .map((e) => `${e.entityType}:${e.value}`)
        .sort();

    it('FILTER_AND_TRACK: the same events file twice imports every event, then ignores every one with its reason', async () => {
      const uid = await pool('Tracker USB files');
      const first = await post(eventsFile, `async=false&dedupePool=${uid}&dedupeMode=FILTER_AND_TRACK`);
      assert.equal(first.statusCode, 200, first.body);
      const one = first.json();
      assert.equal(one.status, 'OK', JSON.stringify(one.validationReport));
      assert.deepEqual(one.stats, { created: 2, updated: 0, deleted: 0, ignored: 0, total: 2 });
      assert.equal(one.dedupe.tracked, 2);
      assert.equal(one.dedupe.filtered, 0);
      assert.deepEqual(one.dedupe.key, { EVENT: 'event', TRACKED_ENTITY: 'trackedEntity' });
      assert.deepEqual(
        await keys(uid),
        EVENT_UIDS.map((e) => `EVENT:${e}`),
      );

      const second = await post(eventsFile, 'async=false&dedupePool=Tracker%20USB%20files');
      assert.equal(second.statusCode, 200, second.body);
      const two = second.json();
      assert.equal(two.dedupe.mode, 'FILTER_AND_TRACK', 'the default mode');
      assert.deepEqual(two.stats, { created: 0, updated: 0, deleted: 0, ignored: 2, total: 2 });
      assert.equal(two.bundleReport.typeReportMap.EVENT.stats.ignored, 2);
      assert.equal(two.dedupe.filtered, 2);
      assert.equal(two.dedupe.tracked, 0);
      const dropped = two.dedupe.dropped as Drop[];
      assert.deepEqual(
        dropped.map((d) => `${d.trackerType}:${d.uid}`).sort(),
        EVENT_UIDS.map((e) => `EVENT:${e}`),
      );
      for (const d of dropped)
        assert.equal(
          d.reason,
          `Already in de-duplication pool 'Tracker USB files' (key event = ${d.uid}): counted as ignored, not written`,
        );
      assert.equal(await count(uid), 2, 'nothing added the second time');
    });

    it('TRACK: the second import updates as usual and the pool gains nothing', async () => {
      const uid = await pool('Tracker tracked only');
      const first = (await post(eventsFile, `async=false&dedupePool=${uid}&dedupeMode=TRACK`)).json();
      assert.equal(first.status, 'OK', JSON.stringify(first.validationReport));
      assert.equal(first.dedupe.tracked, 2);
      // The events exist from the test above: a TRACK import writes them as usual.
      assert.deepEqual(first.stats, { created: 0, updated: 2, deleted: 0, ignored: 0, total: 2 });
      const changed = JSON.stringify({
        events: EVENTS.map((e) => ({ ...e, dataValues: [{ dataElement: 'trkDeNum001', value: '99' }] })),
      });
      const second = (await post(changed, `async=false&dedupePool=${uid}&dedupeMode=TRACK`)).json();
      assert.deepEqual(second.stats, { created: 0, updated: 2, deleted: 0, ignored: 0, total: 2 });
      assert.equal(second.dedupe.tracked, 0);
      assert.deepEqual(second.dedupe.dropped, []);
      assert.equal(await count(uid), 2);
      const exported = await started!.app.inject({
        method: 'GET',
        url: `/api/tracker/events/${EVENTS[0].event}?fields=dataValues`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(exported.statusCode, 200, exported.body);
      assert.equal(exported.json().dataValues[0].value, '99', 'the update was written');
    });

    it('a dry run leaves the pool unchanged and reports what it would drop', async () => {
      const uid = await pool('Tracker dry runs');
      const dry = (await post(eventsFile, `async=false&dedupePool=${uid}&importMode=VALIDATE`)).json();
      assert.equal(dry.status, 'OK', JSON.stringify(dry.validationReport));
      assert.equal(dry.dedupe.tracked, 2, 'what a commit would add');
      assert.equal(await count(uid), 0, 'a dry run adds no key');
      await post(eventsFile, `async=false&dedupePool=${uid}`);
      assert.equal(await count(uid), 2);
      const before = await keys(uid);
      const again = (await post(eventsFile, `async=false&dedupePool=${uid}&dryRun=true`)).json();
      assert.deepEqual(again.stats, { created: 0, updated: 0, deleted: 0, ignored: 2, total: 2 });
      assert.equal(again.dedupe.filtered, 2);
      assert.deepEqual(await keys(uid), before);
    });

    it('dedupeKey=dataElement:<uid>,occurredAt recognises events sent again under new UIDs', async () => {
      const uid = await pool('Tracker by weight and date');
      const key = 'dedupeKey=dataElement:trkDeNum001,occurredAt';
      const renamed = (suffix: string) =>
        JSON.stringify({
          events: EVENTS.map((e) => ({ ...e, event: `${(e.event as string).slice(0, 8)}${suffix}` })),
        });
      const first = (await post(renamed('Ax1'), `async=false&dedupePool=${uid}&${key}`)).json();
      assert.equal(first.status, 'OK', JSON.stringify(first.validationReport));
      assert.equal(first.stats.created, 2);
      assert.deepEqual(first.dedupe.key, { EVENT: 'dataElement:trkDeNum001/occurredAt' });
      assert.deepEqual(await keys(uid), [
        'EVENT:60/2024-03-01T00:00:00.000',
        'EVENT:61/2024-03-02T00:00:00.000',
      ]);
      const second = (await post(renamed('Bx2'), `async=false&dedupePool=${uid}&${key}`)).json();
      assert.deepEqual(second.stats, { created: 0, updated: 0, deleted: 0, ignored: 2, total: 2 });
      assert.match(
        (second.dedupe.dropped as Drop[])[0].reason,
        /key dataElement:trkDeNum001\/occurredAt = 6\d\//,
      );
    });

    it('a tracked entity key (trackedEntityType,orgUnit) drops one sent again under a new UID, with its enrollment', async () => {
      const uid = await pool('Tracker people');
      const payload = (te: string, en: string) =>
        JSON.stringify({
          trackedEntities: [
            {
              trackedEntity: te,
              trackedEntityType: 'PrZMWi7rBga',
              orgUnit: 'PSeMWi7rBgb',
              enrollments: [
                { enrollment: en, orgUnit: 'PSeMWi7rBgb', program: 'XrZRFi7rU9e', enrolledAt: '2024-01-01' },
              ],
            },
          ],
        });
      // The fixture metadata has no attribute, so type and org unit stand for a person's key here.
      const query = `async=false&dedupePool=${uid}&dedupeKey=trackedEntityType,orgUnit`;
      const first = (await post(payload('dupPerson01', 'dupEnrol001'), query)).json();
      assert.equal(first.status, 'OK', JSON.stringify(first.validationReport));
      assert.deepEqual(first.stats, { created: 2, updated: 0, deleted: 0, ignored: 0, total: 2 });
      assert.deepEqual(await keys(uid), ['TRACKED_ENTITY:PrZMWi7rBga/PSeMWi7rBgb']);
      const second = (await post(payload('dupPerson02', 'dupEnrol002'), query)).json();
      assert.deepEqual(second.stats, { created: 0, updated: 0, deleted: 0, ignored: 2, total: 2 });
      assert.deepEqual(
        (second.dedupe.dropped as Drop[]).map((d) => [d.trackerType, d.uid]),
        [
          ['TRACKED_ENTITY', 'dupPerson02'],
          ['ENROLLMENT', 'dupEnrol002'],
        ],
      );
      assert.match((second.dedupe.dropped as Drop[])[1].reason, /dupPerson02/);
      const stored = await started!.app.inject({
        method: 'GET',
        url: '/api/tracker/trackedEntities/dupPerson02',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(stored.statusCode, 404, 'the dropped tracked entity was not written');
    });

    it('legacy POST /api/events counts the dropped events as ignored', async () => {
      const uid = await pool('Legacy events');
      const legacy = JSON.stringify({
        events: EVENTS.map((e) => ({
          event: e.event,
          enrollment: e.enrollment,
          orgUnit: e.orgUnit,
          programStage: e.programStage,
          eventDate: e.occurredAt,
          dataValues: e.dataValues,
        })),
      });
      const send = () =>
        started!.app.inject({
          method: 'POST',
          url: `/api/events?dedupePool=${uid}`,
          headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
          payload: legacy,
        });
      const first = await send();
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.json().response.updated, 2);
      assert.equal(await count(uid), 2);
      const second = (await send()).json().response;
      assert.equal(second.ignored, 2, JSON.stringify(second));
      assert.equal(second.updated, 0);
      assert.match(second.importSummaries[0].description, /Already in de-duplication pool 'Legacy events'/);
    });

    it('refuses a dedupeKey that mixes kinds or names no field, and a pool that does not exist', async () => {
      const mixed = await post(eventsFile, 'async=false&dedupePool=x&dedupeKey=event,attribute:trkDeNum001');
      assert.equal(mixed.statusCode, 400, mixed.body);
      assert.match(mixed.json().message, /dedupeKey/);
      const alone = await post(eventsFile, 'async=false&dedupeKey=event');
      assert.equal(alone.statusCode, 400);
      const missing = await post(eventsFile, 'async=false&dedupePool=No%20such%20pool');
      assert.equal(missing.statusCode, 404, missing.body);
    });
  });
}
