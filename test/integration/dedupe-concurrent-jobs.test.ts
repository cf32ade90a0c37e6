import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { buildApp } from '../../src/http/build-app.ts';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { createPostgresStorage } from '../../src/storage/dialects/postgres/postgres-dialect.ts';
import { DedupeStore } from '../../src/storage/dedupe-store.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH, contextFor } from '../support/access-fixtures.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { waitForJob } from '../support/wait-for-job.ts';

/*
 * Issue 16's acceptance: two concurrent imports of one file with FILTER_AND_TRACK let each record
 * through exactly once between them, run as jobs by workers. Both imports are sent with async=true
 * at the same moment; on SQLite one server runs them on its two workers, on PostgreSQL two servers
 * (two contexts over separate connection pools, as two `ferry worker` processes) with two workers
 * each claim them from the one job table. DHIS2's 03_dataValues_bulk.json (231 values).
 */

const BULK = readFileSync(join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'));
const VALUES = 231;

type Summary = {
  importCount: { imported: number; updated: number; ignored: number };
  dedupe: { tracked: number; filtered: number };
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(`two concurrent pool imports as jobs (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    let otherStorage: Storage | undefined;
    let other: FerryContext | undefined;
    let otherApp: FastifyInstance | undefined;

    before(async () => {
      started = await startTestApp(kind, { seed: (_c, d) => loadAggregateE2eMetadata(d.storage) });
      await started.context.jobs.start();
      if (kind === 'postgres') {
        otherStorage = await createPostgresStorage(started.db.databaseUrl!, 4);
        other = contextFor(otherStorage, started.db.dataDir);
        await other.jobs.start();
        otherApp = await buildApp(other);
      }
    });
    after(async () => {
      await otherApp?.close();
      await other?.jobs.stop();
      await otherStorage?.close();
      await stopTestApp(started);
    });

    /** Sent to `app`: on PostgreSQL the second goes to the other server, whose workers it wakes. */
    const submit = async (pool: string, app = started!.app): Promise<string> => {
      const response = await app.inject({
        method: 'POST',
        url: `/api/dataValueSets?async=true&dedupePool=${pool}&dedupeMode=FILTER_AND_TRACK`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: BULK,
      });
      assert.equal(response.statusCode, 200, response.body);
      return (JSON.parse(response.body) as { response: { id: string } }).response.id;
    };

    const newPool = async (name: string): Promise<{ uid: string; poolId: number }> => {
      const created = await started!.app.inject({
        method: 'POST',
        url: '/api/dedupe/pools',
        headers: { authorization: ADMIN_AUTH },
        payload: { name },
      });
      const uid = (JSON.parse(created.body) as { response: { id: string } }).response.id;
      return { uid, poolId: (await new DedupeStore(started!.context.storage).poolByUid(uid))!.poolId };
    };

    it('let each value through exactly once between them, with a new pool and with a full one', async () => {
      const store = new DedupeStore(started!.context.storage);
      const owners = new Set<string>();
      let overlapped = 0;
      // Three races on a new pool each (both imports want every key), then one on a full pool.
      const rounds = ['Race 1', 'Race 2', 'Race 3', 'Race 3'];
      let pool = { uid: '', poolId: 0 };
      for (const [round, name] of rounds.entries()) {
        const fresh = round === 0 || name !== rounds[round - 1];
        if (fresh) pool = await newPool(name);
        const ids = await Promise.all([submit(pool.uid), submit(pool.uid, otherApp ?? started!.app)]);
        const jobs: JobRecord[] = await Promise.all(ids.map((id) => waitForJob(started!.context, id)));
        for (const job of jobs) {
          assert.equal(job.status, 'COMPLETED', JSON.stringify(job.error));
          if (job.leaseOwner) owners.add(job.leaseOwner);
        }
        const [a, b] = jobs.map((job) => job.summary as Summary);
        // Through the pool: not dropped by it (then imported, updated, or unchanged as DHIS2 counts it).
        const passed = (s: Summary) => VALUES - s.dedupe.filtered;
        const overlap =
          Date.parse(jobs[0].started!) < Date.parse(jobs[1].finished!) &&
          Date.parse(jobs[1].started!) < Date.parse(jobs[0].finished!);
        if (overlap) overlapped++;
        console.log(
          `${kind} ${name}${fresh ? ' (new pool)' : ' (full pool)'}: through ${passed(a)}+${passed(b)}, ` +
            `filtered ${a.dedupe.filtered}+${b.dedupe.filtered}, tracked ${a.dedupe.tracked}+${b.dedupe.tracked}, ` +
            `runs overlapped: ${overlap}`,
        );
        if (fresh) {
          assert.equal(passed(a) + passed(b), VALUES, 'every value through once');
          assert.equal(a.dedupe.tracked + b.dedupe.tracked, VALUES);
          assert.equal(a.dedupe.filtered + b.dedupe.filtered, VALUES, 'and dropped by the other');
          if (round === 0) {
            const written = (s: Summary) => s.importCount.imported + s.importCount.updated;
            assert.equal(written(a) + written(b), VALUES, 'the first race writes every value once');
          }
        } else {
          assert.equal(passed(a) + passed(b), 0, 'every key is in the pool already');
          assert.equal(a.dedupe.filtered + b.dedupe.filtered, 2 * VALUES);
        }
        assert.equal(await store.countEntries(pool.poolId), VALUES, 'no key twice');
      }
      console.log(
        `${kind}: ${overlapped} of ${rounds.length} pairs ran at the same time; ` +
          `worker processes: ${[...owners].join(', ')}`,
      );
    });
  });
}
