import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { seedAccessFixtures, basicAuth, BO_CLERK, createBoClerk } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { jobConfigurationReply } from '../../src/services/jobs/job-service.ts';

for (const kind of TEST_DATABASE_KINDS) {
  describe(`jobs, tasks and exports over HTTP on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;
    const admin = basicAuth('admin', 'district');
    const clerk = basicAuth(BO_CLERK.username, BO_CLERK.password);
    let release: () => void = () => {};

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (context, db) => seedAccessFixtures(db.storage, context.metadata),
        setup: async (context) => {
          await createBoClerk(context);
          let gate = Promise.resolve();
          context.jobs.registerHandler('TEST_UPLOAD', async (job, ctx) => {
            await gate;
            let bytes = 0;
            if (job.inputFile)
              for await (const chunk of await job.inputFile.open()) bytes += (chunk as Buffer).length;
            ctx.progress({ stage: 'Importing', processed: bytes, total: bytes });
            if (job.params.block) {
              // The cancel may land before this line (while the input is read): an 'abort' listener
              // added to an already aborted signal never fires.
              await new Promise<void>((resolve) => {
                if (ctx.signal.aborted) resolve();
                else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
              });
              ctx.signal.throwIfAborted();
            }
            return {
              status: 'SUCCESS',
              importCount: { imported: bytes, updated: 0, ignored: 0, deleted: 0 },
            };
          });
          gate = new Promise<void>((resolve) => (release = resolve));
        },
      }));
    });
    after(async () => {
      release();
      await stopTestApp({ db, context, app });
    });

    const adminUid = async () =>
      (await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: admin } })).json<{
        id: string;
      }>().id;

    it('runs an uploaded job and serves DHIS2 task notifications, summaries and the overview', async () => {
      const uid = await adminUid();
      const job = await context.jobs.submit({
        type: 'TEST_UPLOAD',
        params: { importStrategy: 'CREATE_AND_UPDATE' },
        viewer: { uid, authorities: new Set(['ALL']) },
        body: Readable.from([Buffer.from('a,b\n1,2\n')]),
        contentType: 'text/csv',
        originalName: 'värden.csv',
      });
      const reply = jobConfigurationReply(job);
      assert.equal(reply.message, 'Initiated TEST_UPLOAD');
      assert.equal(reply.response.relativeNotifierEndpoint, `/api/system/tasks/TEST_UPLOAD/${job.id}`);
      const pending = await app.inject({
        url: `/api/system/taskSummaries/TEST_UPLOAD/${job.id}`,
        headers: { authorization: admin },
      });
      assert.equal(pending.statusCode, 200);
      assert.equal(pending.body, '');
      await context.jobs.start();
      release();
      await waitForJob(context, job.id);
      const tasks = await app.inject({
        url: reply.response.relativeNotifierEndpoint,
        headers: { authorization: admin },
      });
      assert.equal(tasks.statusCode, 200, tasks.body);
      const notes = tasks.json<{ message: string; completed: boolean; category: string }[]>();
      assert.equal(notes[0].completed, true);
      assert.equal(notes[0].category, 'TEST_UPLOAD');
      assert.equal(
        notes[0].message,
        'Import complete with status SUCCESS, 8 created, 0 updated, 0 deleted, 0 ignored',
      );
      assert.equal(notes.at(-1)?.message, 'Process started');
      const summary = await app.inject({
        url: `/api/system/taskSummaries/TEST_UPLOAD/${job.id}`,
        headers: { authorization: admin },
      });
      assert.deepEqual(summary.json(), {
        status: 'SUCCESS',
        importCount: { imported: 8, updated: 0, ignored: 0, deleted: 0 },
      });
      const details = await app.inject({ url: `/api/jobs/${job.id}`, headers: { authorization: admin } });
      const body = details.json<{
        job: { params: unknown; status: string };
        inputFile: { name: string; size: number; sha256: string };
      }>();
      assert.equal(body.job.status, 'COMPLETED');
      assert.equal(body.inputFile.name, 'värden.csv');
      assert.equal(body.inputFile.size, 8);
      assert.equal(body.inputFile.sha256, createHash('sha256').update('a,b\n1,2\n').digest('hex'));
      const events = await app.inject({
        url: `/api/jobs/${job.id}/events`,
        headers: { authorization: admin },
      });
      assert.match(events.headers['content-type'] as string, /text\/event-stream/);
      assert.match(events.body, /event: progress/);
      assert.match(events.body, /event: done\ndata: \{"id":"\w+","status":"COMPLETED"/);
      // The clerk has no F_VIEW_JOBS: neither the list nor the job.
      const clerkList = await app.inject({ url: '/api/jobs', headers: { authorization: clerk } });
      assert.deepEqual(clerkList.json<{ jobs: unknown[] }>().jobs, []);
      const clerkJob = await app.inject({
        url: `/api/system/tasks/TEST_UPLOAD/${job.id}`,
        headers: { authorization: clerk },
      });
      assert.equal(clerkJob.statusCode, 404);
      const adminList = await app.inject({
        url: '/api/jobs?type=TEST_UPLOAD&status=COMPLETED',
        headers: { authorization: admin },
      });
      assert.deepEqual(
        adminList.json<{ jobs: { id: string }[] }>().jobs.map((j) => j.id),
        [job.id],
      );
      // Recreate: the parameters and input to pre-fill, or a new job.
      const prefill = await app.inject({
        method: 'POST',
        url: `/api/jobs/${job.id}/recreate`,
        headers: { authorization: admin },
      });
      assert.deepEqual(prefill.json<{ params: unknown }>().params, { importStrategy: 'CREATE_AND_UPDATE' });
      const again = await app.inject({
        method: 'POST',
        url: `/api/jobs/${job.id}/recreate?submit=true`,
        headers: { authorization: admin },
      });
      assert.equal(again.statusCode, 201);
      const newId = again.json<{ job: { id: string } }>().job.id;
      assert.notEqual(newId, job.id);
      assert.deepEqual(
        (await waitForJob(context, newId)).summary,
        body.job.status === 'COMPLETED' ? summary.json() : null,
      );
    });

    it('cancels a running job over HTTP', async () => {
      const uid = await adminUid();
      const job = await context.jobs.submit({
        type: 'TEST_UPLOAD',
        params: { block: true },
        viewer: { uid, authorities: new Set(['ALL']) },
      });
      for (let i = 0; i < 200 && (await context.jobs.get(null, job.id)).status !== 'RUNNING'; i++)
        await sleep(25);
      const cancelled = await app.inject({
        method: 'POST',
        url: `/api/jobs/${job.id}/cancel`,
        headers: { authorization: admin },
      });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.equal((await waitForJob(context, job.id)).status, 'CANCELLED');
      const twice = await app.inject({
        method: 'POST',
        url: `/api/jobs/${job.id}/cancel`,
        headers: { authorization: admin },
      });
      assert.equal(twice.statusCode, 409);
    });

    it('queues exports once per identical request, serves the file, regenerates it and answers 410 once expired', async () => {
      const request = {
        kind: 'metadata',
        params: { collections: ['dataElements', 'categoryCombos'] },
        format: 'json',
      };
      await context.jobs.stop();
      const first = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: admin },
        payload: request,
      });
      assert.equal(first.statusCode, 201, first.body);
      const second = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: admin },
        payload: request,
      });
      assert.equal(second.statusCode, 200);
      const card = first.json<{ id: string; status: string; description: string; jobNumber: number }>();
      assert.equal(second.json<{ id: string }>().id, card.id);
      assert.equal(card.status, 'QUEUED');
      assert.equal(card.description, 'Metadata: dataElements, categoryCombos (JSON)');
      await context.jobs.start();
      await waitForJob(context, card.id);
      const done = (
        await app.inject({ url: `/api/exports/${card.id}`, headers: { authorization: admin } })
      ).json<{
        status: string;
        file: { name: string; size: number; downloadUrl: string };
        timeInQueueSeconds: number;
      }>();
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.file.name, `metadata-${card.jobNumber}.json`);
      const download = await app.inject({ url: done.file.downloadUrl, headers: { authorization: admin } });
      assert.equal(download.statusCode, 200);
      assert.match(
        download.headers['content-disposition'] as string,
        /^attachment; filename="metadata-\d+\.json"; filename\*=UTF-8''metadata-\d+\.json$/,
      );
      const json = JSON.parse(download.body) as { dataElements: { id: string }[]; categoryCombos: unknown[] };
      assert.equal(json.dataElements.length, 60);
      assert.equal(json.categoryCombos.length, 1);
      assert.equal(Number(download.headers['content-length']), done.file.size);

      const regenerated = await app.inject({
        method: 'POST',
        url: `/api/exports/${card.id}/regenerate`,
        headers: { authorization: admin },
      });
      assert.equal(regenerated.statusCode, 201);
      const newId = regenerated.json<{ id: string }>().id;
      await waitForJob(context, newId);
      const old = (
        await app.inject({ url: `/api/exports/${card.id}`, headers: { authorization: admin } })
      ).json<{ replacedBy: string }>();
      assert.equal(old.replacedBy, newId);
      const oldFile = await app.inject({
        url: `/api/exports/${card.id}/file`,
        headers: { authorization: admin },
      });
      assert.equal(oldFile.statusCode, 410);

      await db.storage.execute('UPDATE export_job SET file_expires = ? WHERE job_id = ?', [
        '2000-01-01T00:00:00.000Z',
        newId,
      ]);
      const expired = await app.inject({
        url: `/api/exports/${newId}/file`,
        headers: { authorization: admin },
      });
      assert.equal(expired.statusCode, 410);
      const cards = (await app.inject({ url: '/api/exports', headers: { authorization: admin } })).json<{
        exports: { id: string; file: { expired: boolean } }[];
      }>();
      assert.equal(
        cards.exports.find((c) => c.id === newId)?.file.expired,
        true,
        'an expired card stays listed',
      );

      const gzip = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: admin },
        payload: { ...request, compression: 'gzip' },
      });
      await waitForJob(context, gzip.json<{ id: string }>().id);
      const gz = (
        await app.inject({
          url: `/api/exports/${gzip.json<{ id: string }>().id}`,
          headers: { authorization: admin },
        })
      ).json<{ file: { name: string } }>();
      assert.match(gz.file.name, /\.json\.gz$/);
    });

    it('refuses bad export requests: unknown kind, traversal out of the directory root, passwords', async () => {
      const unknown = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: admin },
        payload: { kind: 'nope' },
      });
      assert.equal(unknown.statusCode, 400);
      const directory = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: admin },
        payload: { kind: 'metadata', destination: { type: 'directory', path: '../../etc' } },
      });
      assert.ok([400, 409].includes(directory.statusCode), directory.body);
      const password = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: admin },
        payload: { kind: 'metadata', compression: 'zip', password: 'x' },
      });
      assert.equal(password.statusCode, 400);
    });
  });
}
