import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { waitForJob } from '../support/wait-for-job.ts';

/*
 * The pool parameters through DHIS2's endpoint: POST /api/dataValueSets?dedupePool=... at once and
 * with async=true (the DATAVALUE_IMPORT job), the summary's dedupe entry in both. SQLite and PostgreSQL.
 */

const BULK = readFileSync(join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'));

for (const kind of TEST_DATABASE_KINDS) {
  describe(`Pools in POST /api/dataValueSets (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase | undefined;
    let context: FerryContext | undefined;
    let app: FastifyInstance | undefined;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (_c, d) => loadAggregateE2eMetadata(d.storage),
      }));
      await context.jobs.start();
    });
    after(async () => {
      await stopTestApp({ db, context, app });
    });

    const post = async (query: string) => {
      const response = await app!.inject({
        method: 'POST',
        url: `/api/dataValueSets?${query}`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: BULK,
      });
      return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
    };

    it('filters and tracks through the endpoint, at once and as a job', async () => {
      const created = await app!.inject({
        method: 'POST',
        url: '/api/dedupe/pools',
        headers: { authorization: ADMIN_AUTH },
        payload: { name: 'HTTP pool' },
      });
      const pool = (JSON.parse(created.body) as { response: { id: string } }).response.id;

      const first = await post(`dedupePool=${pool}`);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const summary = (first.body.response ?? first.body) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.equal(summary.importCount.imported, 231);
      assert.equal(summary.dedupe.tracked, 231);

      const queued = await post(`dedupePool=${encodeURIComponent('HTTP pool')}&dedupeMode=FILTER&async=true`);
      assert.equal(queued.status, 200, JSON.stringify(queued.body));
      const jobId = (queued.body.response as { id: string }).id;
      const job = await waitForJob(context!, jobId);
      assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
      const jobSummary = job.summary as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      assert.equal(jobSummary.importCount.ignored, 231);
      assert.equal(jobSummary.dedupe.filtered, 231);
      assert.equal(jobSummary.dedupe.mode, 'FILTER');

      const bad = await post(`dedupePool=${pool}&dedupeMode=SOMETIMES`);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errorCode, 'F1000');
    });
  });
}
