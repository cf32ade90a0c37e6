import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { POSTGRES_TEST_URL } from '../support/test-databases.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { seedDemoDatabase } from '../../src/services/demo/demo-seeder.ts';
import { generateUid } from '../../src/domain/identifiers/uid.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';

/*
 * Binary data of analysis exports (issue 15): a file uploaded to POST /api/fileResources, referenced
 * by an event's FILE_RESOURCE data value (a data element added to the demo's malaria event program
 * by a metadata import), comes out of an export with binary=true as
 * Binary/<event>/<code>-<file name> with the same SHA-256 (unzipped by 7z); a value naming no
 * stored file is listed in the readme; without binary=true there is no Binary folder.
 */

const KINDS = POSTGRES_TEST_URL ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function unzip(zip: Buffer): { dir: string; files: string[]; remove: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'ferry-binary-'));
  writeFileSync(join(root, 'export.zip'), zip);
  const out = join(root, 'out');
  const run = spawnSync('7z', ['x', `-o${out}`, '-y', join(root, 'export.zip')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else files.push(relative(out, join(d, entry.name)));
    }
  };
  walk(out);
  return { dir: out, files: files.sort(), remove: () => rmSync(root, { recursive: true, force: true }) };
}

function multipart(name: string, type: string, bytes: Buffer): { boundary: string; body: Buffer } {
  const boundary = `----ferry${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n`,
    ),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { boundary, body };
}

for (const kind of KINDS) {
  describe(`analysis export binary files on ${kind}`, () => {
    let h: TestApp;
    let malaria: MetadataObject;
    let tracker: MetadataObject;
    let trackerEvent: string;
    const photo = { id: generateUid(), code: 'MAL_PHOTO' };
    const bytes = randomBytes(300_000);
    let resourceUid: string;
    let withFile: string;
    let withMissing: string;
    const missingUid = generateUid();

    const exportZip = async (params: Record<string, string>) => {
      const reply = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: { kind: 'analysis', format: 'tab', params: { program: malaria.id, ...params } },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const card = reply.json<ExportCard>();
      const finished = await waitForJob(h.context, card.id);
      assert.equal(finished.status, 'COMPLETED', finished.error ?? '');
      const file = await h.app.inject({
        url: `/api/exports/${card.id}/file`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(file.statusCode, 200, file.body);
      return { card, zip: unzip(file.rawPayload) };
    };

    before(async () => {
      h = await startTestApp(kind, {
        seed: (context) => seedDemoDatabase(context, { facilities: 10, seed: 'ferry-demo' }),
      });
      await h.context.jobs.start();
      malaria = (await h.context.metadata.list('programs')).objects.find(
        (p) => p.programType === 'WITHOUT_REGISTRATION',
      )!;
      tracker = (await h.context.metadata.list('programs')).objects.find(
        (p) => p.programType === 'WITH_REGISTRATION',
      )!;
      const trackerStage = (await h.context.metadata.get(
        'programStages',
        (tracker.programStages as { id: string }[])[0].id,
      ))!;
      // A FILE_RESOURCE data element on the program's stage (and a tracker stage), through the metadata import.
      const stage = (await h.context.metadata.get(
        'programStages',
        (malaria.programStages as { id: string }[])[0].id,
      ))!;
      const imported = await h.app.inject({
        method: 'POST',
        url: '/api/metadata',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: {
          dataElements: [
            {
              id: photo.id,
              code: photo.code,
              name: 'Malaria case photo',
              shortName: 'Malaria photo',
              valueType: 'FILE_RESOURCE',
              domainType: 'TRACKER',
              aggregationType: 'NONE',
            },
          ],
          programStages: [
            {
              ...stage,
              programStageDataElements: [
                ...((stage.programStageDataElements as Record<string, unknown>[] | undefined) ?? []),
                { dataElement: { id: photo.id }, compulsory: false },
              ],
            },
            {
              ...trackerStage,
              programStageDataElements: [
                ...((trackerStage.programStageDataElements as Record<string, unknown>[] | undefined) ?? []),
                { dataElement: { id: photo.id }, compulsory: false },
              ],
            },
          ],
        },
      });
      assert.equal(imported.statusCode, 200, imported.body);
      assert.equal(imported.json<{ status: string }>().status, 'OK', imported.body);

      const form = multipart('chest x-ray.png', 'image/png', bytes);
      const upload = await h.app.inject({
        method: 'POST',
        url: '/api/fileResources?domain=DATA_VALUE',
        headers: {
          authorization: ADMIN_AUTH,
          'content-type': `multipart/form-data; boundary=${form.boundary}`,
        },
        payload: form.body,
      });
      assert.equal(upload.statusCode, 202, upload.body);
      const answer = upload.json<{
        httpStatus: string;
        status: string;
        response: { responseType: string; fileResource: Record<string, unknown> };
      }>();
      assert.equal(answer.httpStatus, 'Accepted');
      assert.equal(answer.status, 'OK');
      assert.equal(answer.response.responseType, 'FileResource');
      assert.equal(answer.response.fileResource.name, 'chest x-ray.png');
      assert.equal(answer.response.fileResource.contentType, 'image/png');
      assert.equal(answer.response.fileResource.contentLength, bytes.length);
      assert.equal(answer.response.fileResource.storageStatus, 'STORED');
      resourceUid = String(answer.response.fileResource.id);

      // Two events of the program: one gets the uploaded file, one a file resource that was never stored.
      const list = await h.app.inject({
        url: `/api/tracker/events?program=${malaria.id}&pageSize=2&fields=*`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(list.statusCode, 200, list.body);
      const body = list.json<{ events?: Record<string, unknown>[]; instances?: Record<string, unknown>[] }>();
      const events = body.events ?? body.instances ?? [];
      assert.equal(events.length, 2, list.body);
      withFile = String(events[0].event);
      withMissing = String(events[1].event);
      const trackerList = await h.app.inject({
        url: `/api/tracker/events?program=${tracker.id}&programStage=${trackerStage.id}&pageSize=1&fields=*`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(trackerList.statusCode, 200, trackerList.body);
      const trackerBody = trackerList.json<{
        events?: Record<string, unknown>[];
        instances?: Record<string, unknown>[];
      }>();
      const trackerEvents = trackerBody.events ?? trackerBody.instances ?? [];
      assert.equal(trackerEvents.length, 1, trackerList.body);
      trackerEvent = String(trackerEvents[0].event);
      const update = {
        events: [...events, ...trackerEvents].map((event, i) => ({
          ...event,
          dataValues: [
            ...(event.dataValues as Record<string, unknown>[]),
            { dataElement: photo.id, value: i === 1 ? missingUid : resourceUid },
          ],
        })),
      };
      const reply = await h.app.inject({
        method: 'POST',
        url: '/api/tracker?async=true&importStrategy=UPDATE',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: update,
      });
      assert.equal(reply.statusCode, 200, reply.body);
      const done = await waitForJob(h.context, reply.json<{ response: { id: string } }>().response.id);
      assert.equal(done.status, 'COMPLETED', done.error ?? '');
    });
    after(() => stopTestApp(h));

    it('file resources: 401 without a user, metadata and bytes back as uploaded, 404 unknown, 413 over the limit leaving nothing, 400 blocklisted', async () => {
      const form = multipart('a.png', 'image/png', Buffer.from('x'));
      const anonymous = await h.app.inject({
        method: 'POST',
        url: '/api/fileResources',
        headers: { 'content-type': `multipart/form-data; boundary=${form.boundary}` },
        payload: form.body,
      });
      assert.equal(anonymous.statusCode, 401, anonymous.body);
      const meta = await h.app.inject({
        url: `/api/fileResources/${resourceUid}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(meta.statusCode, 200, meta.body);
      assert.equal(meta.json<{ id: string }>().id, resourceUid);
      const data = await h.app.inject({
        url: `/api/fileResources/${resourceUid}/data`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(data.statusCode, 200);
      assert.equal(data.headers['content-type'], 'image/png');
      assert.equal(sha256(data.rawPayload), sha256(bytes));
      const unknown = await h.app.inject({
        url: `/api/fileResources/${missingUid}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(unknown.statusCode, 404, unknown.body);
      // Over the upload limit: 413, and nothing stays on disk or in the table.
      const stored = () =>
        h.context.storage.queryOne<{ n: number | string }>('SELECT COUNT(*) AS n FROM file_resource', []);
      const before = Number((await stored())!.n);
      const limit = h.context.config.bodyLimit;
      h.context.config.bodyLimit = 100_000;
      try {
        const big = multipart('big.png', 'image/png', bytes);
        const tooLarge = await h.app.inject({
          method: 'POST',
          url: '/api/fileResources',
          headers: {
            authorization: ADMIN_AUTH,
            'content-type': `multipart/form-data; boundary=${big.boundary}`,
          },
          payload: big.body,
        });
        assert.equal(tooLarge.statusCode, 413, tooLarge.body);
        assert.match(tooLarge.body, /F1002/);
      } finally {
        h.context.config.bodyLimit = limit;
      }
      assert.equal(Number((await stored())!.n), before);
      const leftovers = spawnSync(
        'find',
        [join(h.context.jobs.files.directory, 'file-resources'), '-type', 'f'],
        {
          encoding: 'utf8',
        },
      )
        .stdout.trim()
        .split('\n');
      assert.deepEqual(
        leftovers.map((f) => f.split('/').pop()),
        [resourceUid],
      );
      const blocked = multipart('run.sh', 'text/plain', Buffer.from('echo'));
      const refused = await h.app.inject({
        method: 'POST',
        url: '/api/fileResources',
        headers: {
          authorization: ADMIN_AUTH,
          'content-type': `multipart/form-data; boundary=${blocked.boundary}`,
        },
        payload: blocked.body,
      });
      assert.equal(refused.statusCode, 400, refused.body);
    });

    it('binary=true puts the file under Binary/<event>/ with the same bytes; a missing one is in the readme', async () => {
      const { card, zip } = await exportZip({ binary: 'true' });
      try {
        assert.match(card.description, /with binary files/);
        const binary = zip.files.filter((f) => f.startsWith('Binary/'));
        assert.deepEqual(binary, [`Binary/${withFile}/${photo.code}-chest x-ray.png`]);
        assert.equal(sha256(readFileSync(join(zip.dir, binary[0]))), sha256(bytes));
        const readme = readFileSync(join(zip.dir, 'export__readme.txt'), 'utf8');
        assert.match(readme, /Binary\/: 1 files \(300000 bytes\)/);
        assert.match(readme, /Missing files \(1\)/);
        assert.ok(
          readme.includes(`${withMissing}/${photo.code}: ${missingUid} (no such file resource)`),
          readme,
        );
        // The data file still holds the file resource's uid in the data element's column.
        const tab = zip.files.find((f) => f.endsWith('.tab'))!;
        assert.ok(readFileSync(join(zip.dir, tab), 'utf8').includes(resourceUid));
      } finally {
        zip.remove();
      }
    });

    it('a tracker program: the stage event file under Binary/<event>/, same bytes', async () => {
      const { zip } = await exportZip({ program: tracker.id, binary: 'true' });
      try {
        const binary = zip.files.filter((f) => f.startsWith('Binary/'));
        assert.deepEqual(binary, [`Binary/${trackerEvent}/${photo.code}-chest x-ray.png`]);
        assert.equal(sha256(readFileSync(join(zip.dir, binary[0]))), sha256(bytes));
      } finally {
        zip.remove();
      }
    });

    it('ferry export analysis --program PR --binary writes the same Binary/ entry', async () => {
      const work = mkdtempSync(join(tmpdir(), 'ferry-binary-cli-'));
      try {
        // The CLI reads file resources under its data directory, as the server does: the same one.
        const target = [
          '--data-dir',
          h.db.dataDir,
          ...(h.db.databaseUrl ? ['--database-url', h.db.databaseUrl] : []),
        ];
        const output = join(work, 'malaria.zip');
        const run = await runFerry([
          'export',
          'analysis',
          '--program',
          malaria.id,
          '--format',
          'csv',
          '--binary',
          ...target,
          '-o',
          output,
        ]);
        assert.equal(run.code, 0, run.stderr);
        const zip = unzip(readFileSync(output));
        try {
          const binary = zip.files.filter((f) => f.startsWith('Binary/'));
          assert.deepEqual(binary, [`Binary/${withFile}/${photo.code}-chest x-ray.png`]);
          assert.equal(sha256(readFileSync(join(zip.dir, binary[0]))), sha256(bytes));
        } finally {
          zip.remove();
        }
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    });

    it('without binary=true the archive has no Binary folder', async () => {
      const { zip } = await exportZip({});
      try {
        assert.deepEqual(
          zip.files.filter((f) => f.startsWith('Binary')),
          [],
        );
      } finally {
        zip.remove();
      }
    });
  });
}
