import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { createPool, listEntries } from '../../src/services/dedupe/dedupe-pool-service.ts';
import { TRACKER_FIXTURE_METADATA as METADATA } from '../support/tracker-metadata.ts';

/**
 * `dedupeKey=attribute:<uid>` (issue 16): a tracked entity attribute as the key of tracked
 * entities, end to end through POST /api/tracker with FILTER_AND_TRACK. Two imports of a person
 * under different UIDs with the same national id: the second is ignored with its reason and not
 * written; another id passes; a person sent without the attribute has no key and is neither
 * dropped nor tracked. On SQLite and PostgreSQL.
 */

const NATIONAL_ID = 'keyNatId001';
const TYPE = 'PrZMWi7rBga';
const OU = 'PSeMWi7rBgb';

interface Drop {
  trackerType: string;
  uid: string;
  reason: string;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`dedupeKey=attribute:<uid> in the tracker import (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          const report = await importMetadataObjects(context, {
            ...METADATA,
            trackedEntityAttributes: [
              {
                id: NATIONAL_ID,
                name: 'Key national id',
                shortName: 'Key national id',
                valueType: 'TEXT',
                aggregationType: 'NONE',
              },
            ],
            trackedEntityTypes: [
              {
                id: TYPE,
                name: 'Tracker person',
                trackedEntityTypeAttributes: [{ trackedEntityAttribute: { id: NATIONAL_ID } }],
              },
            ],
          });
          assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        },
      });
    });
    after(() => stopTestApp(started));

    const post = async (trackedEntities: object[], query: string) => {
      const response = await started!.app.inject({
        method: 'POST',
        url: `/api/tracker?async=false&${query}`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify({ trackedEntities }),
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as {
        status: string;
        stats: Record<string, number>;
        validationReport: unknown;
        dedupe: { key: Record<string, string>; tracked: number; filtered: number; dropped: Drop[] };
      };
    };
    const person = (uid: string, nationalId?: string) => ({
      trackedEntity: uid,
      trackedEntityType: TYPE,
      orgUnit: OU,
      attributes: nationalId === undefined ? [] : [{ attribute: NATIONAL_ID, value: nationalId }],
    });
    const stored = async (uid: string) =>
      (
        await started!.app.inject({
          method: 'GET',
          url: `/api/tracker/trackedEntities/${uid}`,
          headers: { authorization: ADMIN_AUTH },
        })
      ).statusCode;

    it('the second import of a person under a new UID with the same attribute value is ignored with its reason', async () => {
      const pool = (await createPool(started!.context, undefined, { name: 'People by national id' })).id;
      const query = `dedupePool=${pool}&dedupeMode=FILTER_AND_TRACK&dedupeKey=attribute:${NATIONAL_ID}`;

      const first = await post([person('keyPerson01', 'NID-1001')], query);
      assert.equal(first.status, 'OK', JSON.stringify(first.validationReport));
      assert.deepEqual(first.stats, { created: 1, updated: 0, deleted: 0, ignored: 0, total: 1 });
      assert.deepEqual(first.dedupe.key, { TRACKED_ENTITY: `attribute:${NATIONAL_ID}` });
      assert.equal(first.dedupe.tracked, 1);
      const entries = (await listEntries(started!.context, undefined, pool, {})).entries;
      assert.deepEqual(
        entries.map((e) => [e.entityType, e.value]),
        [['TRACKED_ENTITY', 'NID-1001']],
      );

      // The same person again from another system: a new UID, the same national id.
      const second = await post([person('keyPerson02', 'NID-1001')], query);
      assert.equal(second.status, 'OK', JSON.stringify(second.validationReport));
      assert.deepEqual(second.stats, { created: 0, updated: 0, deleted: 0, ignored: 1, total: 1 });
      assert.equal(second.dedupe.filtered, 1);
      assert.equal(second.dedupe.tracked, 0);
      assert.deepEqual(second.dedupe.dropped, [
        {
          trackerType: 'TRACKED_ENTITY',
          uid: 'keyPerson02',
          reason: `Already in de-duplication pool 'People by national id' (key attribute:${NATIONAL_ID} = NID-1001): counted as ignored, not written`,
        },
      ]);
      assert.equal(await stored('keyPerson01'), 200);
      assert.equal(await stored('keyPerson02'), 404, 'the dropped person was not written');

      // Another national id passes; people without the attribute have no key: both written, none tracked.
      const third = await post(
        [person('keyPerson03', 'NID-2002'), person('keyPerson04'), person('keyPerson05')],
        query,
      );
      assert.equal(third.status, 'OK', JSON.stringify(third.validationReport));
      assert.deepEqual(third.stats, { created: 3, updated: 0, deleted: 0, ignored: 0, total: 3 });
      assert.equal(third.dedupe.tracked, 1);
      assert.deepEqual(third.dedupe.dropped, []);
      for (const uid of ['keyPerson03', 'keyPerson04', 'keyPerson05']) assert.equal(await stored(uid), 200);
      const after = (await listEntries(started!.context, undefined, pool, {})).entries;
      assert.deepEqual(after.map((e) => e.value).sort(), ['NID-1001', 'NID-2002']);
    });
  });
}
