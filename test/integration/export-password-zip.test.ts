import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { ADMIN_AUTH as ADMIN, contextFor } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';

/**
 * Password-protected exports checked by readers Ferry doesn't ship: Debian's 7-Zip extracts them
 * (and refuses a wrong password), Debian's Python lists them with `zipfile`.
 */

const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
const SEVEN_ZIP = '7z';
const DEBIAN_PYTHON = '/usr/bin/python3';
// Distinctive, so a search of the database or a reply can't match anything else by accident.
const PASSWORD = 'Bo-District-Zq7#export';
const OTHER_PASSWORD = 'Kenema-Other-Pw-991';

function commandWorks(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  return result.error === undefined && result.status === 0;
}

const sevenZipSkip = commandWorks(SEVEN_ZIP, ['i'])
  ? false
  : '7z is not installed (Debian package p7zip-full; .ci/run installs it)';
const pythonAvailable = existsSync(DEBIAN_PYTHON);
/** Extracts the archive's entries with 7z into a fresh directory; the exit status and the files. */
function sevenZipExtract(
  zip: Buffer,
  password: string,
): { status: number | null; files: Map<string, Buffer> } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-7z-'));
  try {
    const archive = join(dir, 'archive.zip');
    writeFileSync(archive, zip);
    const out = join(dir, 'out');
    const result = spawnSync(SEVEN_ZIP, ['x', `-p${password}`, `-o${out}`, '-y', archive], {
      encoding: 'utf8',
    });
    const files = new Map<string, Buffer>();
    if (existsSync(out)) for (const name of readdirSync(out)) files.set(name, readFileSync(join(out, name)));
    return { status: result.status, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function sevenZipTechnicalListing(zip: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-7z-'));
  try {
    writeFileSync(join(dir, 'a.zip'), zip);
    return spawnSync(SEVEN_ZIP, ['l', '-slt', join(dir, 'a.zip')], { encoding: 'utf8' }).stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Debian's Python lists the entries: name, whether the encrypted flag is set, the method (99 = AES). */
function pythonListing(zip: Buffer): { name: string; encrypted: boolean; method: number }[] {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-py-'));
  try {
    writeFileSync(join(dir, 'a.zip'), zip);
    const script =
      'import json, sys, zipfile\n' +
      'z = zipfile.ZipFile(sys.argv[1])\n' +
      'print(json.dumps([{"name": i.filename, "encrypted": bool(i.flag_bits & 1), "method": i.compress_type} for i in z.infolist()]))\n';
    const result = spawnSync(DEBIAN_PYTHON, ['-c', script, join(dir, 'a.zip')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    return JSON.parse(result.stdout) as { name: string; encrypted: boolean; method: number }[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`password-protected exports (AES-256 zip) on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let h: TestApp;

    before(async () => {
      h = await startTestApp(kind, { seed: (_context, db) => loadAggregateE2eMetadata(db.storage) });
      const imported = await h.app.inject({
        method: 'POST',
        url: '/api/dataValueSets?importStrategy=CREATE_AND_UPDATE',
        headers: { authorization: ADMIN, 'content-type': 'application/json' },
        payload: readFileSync(BULK),
      });
      assert.equal(imported.statusCode, 200, imported.body);
      await h.context.jobs.start();
    });
    after(() => stopTestApp(h));

    async function requestExport(payload: Record<string, unknown>) {
      return h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload,
      });
    }

    /** Queues, waits, downloads: the finished card and the file's bytes. */
    async function produce(payload: Record<string, unknown>): Promise<{ card: ExportCard; bytes: Buffer }> {
      const reply = await requestExport(payload);
      assert.equal(reply.statusCode, 201, reply.body);
      const id = reply.json<ExportCard>().id;
      const job = await waitForJob(h.context, id);
      assert.equal(job.status, 'COMPLETED', job.error ?? '');
      const card = (
        await h.app.inject({ url: `/api/exports/${id}`, headers: { authorization: ADMIN } })
      ).json<ExportCard>();
      const file = await h.app.inject({ url: `/api/exports/${id}/file`, headers: { authorization: ADMIN } });
      assert.equal(file.statusCode, 200, file.body);
      return { card, bytes: file.rawPayload };
    }

    const dataValueRequest = {
      kind: 'dataValues',
      format: 'csv',
      params: {
        dataSet: 'VEM58nY22sO',
        period: ['201911', '201912'],
        orgUnit: 'ImspTQPwCqd',
        children: 'true',
      },
    };
    // CSV: the JSON and XML metadata exports carry the export's time, so only CSV repeats byte for byte.
    const metadataRequest = { kind: 'metadata', format: 'csv', params: { dataElements: 'true' } };

    for (const [label, request] of [
      ['data values', dataValueRequest],
      ['metadata', metadataRequest],
    ] as const) {
      it(
        `a ${label} export with a password extracts with 7z to the same bytes as the unprotected export`,
        { skip: sevenZipSkip },
        async () => {
          const plain = await produce(request);
          assert.equal(plain.card.passwordProtected, false);
          assert.ok(plain.bytes.length > 200, 'the unprotected export holds data');

          const locked = await produce({ ...request, password: PASSWORD });
          assert.equal(locked.card.compression, 'zip', 'a password makes the export a zip');
          assert.equal(locked.card.passwordProtected, true);
          assert.equal(locked.card.encryption, 'AES-256');
          const entryName = `${request.kind}-${locked.card.jobNumber}.csv`;
          assert.equal(locked.card.file?.name, `${entryName}.zip`);
          assert.equal(
            locked.bytes.includes(plain.bytes.subarray(0, 64)),
            false,
            'no plaintext in the archive',
          );

          const extracted = sevenZipExtract(locked.bytes, PASSWORD);
          assert.equal(extracted.status, 0, '7z extracts it with the password');
          assert.deepEqual([...extracted.files.keys()], [entryName]);
          assert.ok(
            extracted.files.get(entryName)?.equals(plain.bytes),
            'the same bytes as the unprotected export',
          );
          assert.match(sevenZipTechnicalListing(locked.bytes), /Method = AES-256 Deflate/);
          assert.doesNotMatch(sevenZipTechnicalListing(locked.bytes), /ZipCrypto/);

          const wrong = sevenZipExtract(locked.bytes, `${PASSWORD}-wrong`);
          assert.notEqual(wrong.status, 0, 'a wrong password fails extraction');
          const partial = wrong.files.get(entryName);
          assert.ok(
            !partial || !partial.equals(plain.bytes),
            'nothing readable comes out with a wrong password',
          );

          if (pythonAvailable) {
            assert.deepEqual(pythonListing(locked.bytes), [{ name: entryName, encrypted: true, method: 99 }]);
          }
        },
      );
    }

    it('keeps the password out of the database and every reply; deduplicates only the same password', async () => {
      await h.context.jobs.stop();
      let ids: { first: string; same: string; other: string };
      try {
        const first = await requestExport({ ...metadataRequest, password: PASSWORD });
        const same = await requestExport({ ...metadataRequest, password: PASSWORD });
        const other = await requestExport({ ...metadataRequest, password: OTHER_PASSWORD });
        assert.equal(first.statusCode, 201, first.body);
        assert.equal(
          same.statusCode,
          200,
          'an identical request with the same password returns the queued job',
        );
        assert.equal(other.statusCode, 201, 'a different password is a different job');
        ids = {
          first: first.json<ExportCard>().id,
          same: same.json<ExportCard>().id,
          other: other.json<ExportCard>().id,
        };
        assert.equal(ids.same, ids.first);
        assert.notEqual(ids.other, ids.first);
        for (const reply of [first, same, other]) {
          assert.equal(reply.body.includes(PASSWORD) || reply.body.includes(OTHER_PASSWORD), false);
        }
      } finally {
        await h.context.jobs.start();
      }
      for (const id of [ids.first, ids.other]) {
        assert.equal((await waitForJob(h.context, id)).status, 'COMPLETED');
      }
      // Same requester, same parameters: the later file replaces the earlier, as regenerate does.
      const first = await h.app.inject({
        url: `/api/exports/${ids.first}/file`,
        headers: { authorization: ADMIN },
      });
      assert.equal(first.statusCode, 410);
      const other = await h.app.inject({
        url: `/api/exports/${ids.other}/file`,
        headers: { authorization: ADMIN },
      });
      assert.equal(other.statusCode, 200);
      if (!sevenZipSkip) {
        assert.equal(sevenZipExtract(other.rawPayload, OTHER_PASSWORD).status, 0);
        assert.notEqual(sevenZipExtract(other.rawPayload, PASSWORD).status, 0);
      }

      // Every reply that describes these jobs.
      const replies = [
        await h.app.inject({ url: '/api/exports', headers: { authorization: ADMIN } }),
        await h.app.inject({ url: `/api/exports/${ids.first}`, headers: { authorization: ADMIN } }),
        await h.app.inject({ url: `/api/jobs/${ids.first}`, headers: { authorization: ADMIN } }),
        await h.app.inject({ url: '/api/jobs', headers: { authorization: ADMIN } }),
        await h.app.inject({
          method: 'POST',
          url: `/api/jobs/${ids.first}/recreate`,
          headers: { authorization: ADMIN },
        }),
        await h.app.inject({
          url: `/api/system/tasks/METADATA_EXPORT/${ids.first}`,
          headers: { authorization: ADMIN },
        }),
        await h.app.inject({
          url: `/api/system/taskSummaries/METADATA_EXPORT/${ids.first}`,
          headers: { authorization: ADMIN },
        }),
      ];
      for (const reply of replies) {
        assert.equal(reply.statusCode, 200, reply.body);
        assert.equal(reply.body.includes(PASSWORD), false, `the password is in ${reply.body.slice(0, 200)}`);
        assert.equal(reply.body.includes(OTHER_PASSWORD), false);
      }
      const card = replies[1].json<ExportCard>();
      assert.equal(card.passwordProtected, true, 'the card says the file is password-protected');

      // Every column of every row of the job, export, file and notification tables, as text.
      for (const table of ['job', 'job_notification', 'export_job', 'stored_file']) {
        const rows = await h.db.storage.query(`SELECT * FROM ${table}`);
        assert.ok(rows.length > 0, `${table} has rows to search`);
        const text = JSON.stringify(rows, (_key, value: unknown) =>
          typeof value === 'bigint'
            ? String(value)
            : value instanceof Uint8Array
              ? Buffer.from(value).toString('latin1')
              : value,
        );
        assert.equal(text.includes(PASSWORD), false, `the password is stored in ${table}`);
        assert.equal(text.includes(OTHER_PASSWORD), false, `the other password is stored in ${table}`);
      }
      // Nor the password's plain SHA-256 (brute-forceable offline).
      const { createHash } = await import('node:crypto');
      const digest = createHash('sha256').update(PASSWORD).digest('hex');
      const jobs = JSON.stringify(await h.db.storage.query('SELECT * FROM job'));
      assert.equal(jobs.includes(digest), false);
    });

    it('refuses gzip or none with a password, and short passwords, without echoing the password', async () => {
      const gzip = await requestExport({ ...metadataRequest, compression: 'gzip', password: PASSWORD });
      assert.equal(gzip.statusCode, 400);
      assert.match(gzip.body, /compression/);
      assert.match(gzip.body, /gzip has no encryption/);
      const none = await requestExport({ ...metadataRequest, compression: 'none', password: PASSWORD });
      assert.equal(none.statusCode, 400);
      assert.match(none.body, /compression/);
      const short = await requestExport({ ...metadataRequest, password: 'Bo-2024' });
      assert.equal(short.statusCode, 400);
      assert.match(short.body, /password/);
      assert.match(short.body, /at least 8 characters/);
      const notText = await requestExport({ ...metadataRequest, password: 12345678 });
      assert.equal(notText.statusCode, 400);
      for (const reply of [gzip, none, short]) {
        assert.equal(reply.body.includes(PASSWORD) || reply.body.includes('Bo-2024'), false, reply.body);
      }
    });

    it('fails a protected export on a server that does not hold its password, saying how to regenerate it', async () => {
      await h.context.jobs.stop();
      // A second server on the same database: it never saw the request, so it has no password.
      const other = contextFor(h.db.storage, h.db.dataDir);
      try {
        const reply = await requestExport({ ...dataValueRequest, format: 'json', password: PASSWORD });
        assert.equal(reply.statusCode, 201, reply.body);
        const id = reply.json<ExportCard>().id;
        // The last attempt: earlier ones are retried with backoff in case the holder takes the job.
        await h.db.storage.execute('UPDATE job SET attempts = 2 WHERE id = ?', [id]);
        await other.jobs.start();
        const job = await waitForJob(other, id);
        assert.equal(job.status, 'FAILED');
        assert.match(job.error ?? '', /does not hold its password/);
        assert.match(job.error ?? '', new RegExp(`/api/exports/${id}/regenerate`));
        const card = (
          await h.app.inject({ url: `/api/exports/${id}`, headers: { authorization: ADMIN } })
        ).json<ExportCard>();
        assert.equal(card.file, null, 'no file was written');
      } finally {
        await other.jobs.stop();
        await h.context.jobs.start();
      }
    });

    it('regenerates a protected export only with its password, and the new file opens with the new one', async () => {
      const { card } = await produce({ ...dataValueRequest, password: PASSWORD });
      const missing = await h.app.inject({
        method: 'POST',
        url: `/api/exports/${card.id}/regenerate`,
        headers: { authorization: ADMIN },
      });
      assert.equal(missing.statusCode, 400);
      assert.match(missing.body, /password/);
      const again = await h.app.inject({
        method: 'POST',
        url: `/api/exports/${card.id}/regenerate`,
        headers: { authorization: ADMIN },
        payload: { password: OTHER_PASSWORD },
      });
      assert.equal(again.statusCode, 201, again.body);
      assert.equal(again.body.includes(OTHER_PASSWORD), false);
      const newId = again.json<ExportCard>().id;
      assert.equal((await waitForJob(h.context, newId)).status, 'COMPLETED');
      const old = (
        await h.app.inject({ url: `/api/exports/${card.id}`, headers: { authorization: ADMIN } })
      ).json<ExportCard>();
      assert.equal(old.replacedBy, newId, 'the regenerated file replaces the old one');
      const file = await h.app.inject({
        url: `/api/exports/${newId}/file`,
        headers: { authorization: ADMIN },
      });
      assert.equal(file.statusCode, 200);
      if (!sevenZipSkip) {
        assert.equal(sevenZipExtract(file.rawPayload, OTHER_PASSWORD).status, 0);
        assert.notEqual(sevenZipExtract(file.rawPayload, PASSWORD).status, 0);
      }
      // The CLI shows the protection and sends a protected regenerate to the server, not its own queue.
      const target = h.db.databaseUrl ? ['--database-url', h.db.databaseUrl] : ['--data-dir', h.db.dataDir];
      const listed = await runFerry(['exports', 'list', ...target]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /\[password-protected, AES-256\]/);
      const cliRegenerate = await runFerry(['exports', 'regenerate', newId, ...target]);
      assert.equal(cliRegenerate.code, 1);
      assert.match(cliRegenerate.stderr, /password-protected: regenerate it through the server/);

      const plainRegenerate = await h.app.inject({
        method: 'POST',
        url: `/api/exports/${newId}/regenerate`,
        headers: { authorization: ADMIN },
        payload: { password: 'short' },
      });
      assert.equal(plainRegenerate.statusCode, 400);
    });
  });
}
