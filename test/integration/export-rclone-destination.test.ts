import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import {
  ADMIN_AUTH,
  BO_CLERK,
  basicAuth,
  createBoClerk,
  seedAccessFixtures,
} from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';
import { NO_RCLONE, rcloneServe, type Served } from '../support/rclone-serve.ts';

/*
 * Exports delivered through rclone to a WebDAV and an SFTP server that the test starts on loopback
 * with `rclone serve webdav` and `rclone serve sftp` (user and password): the file must arrive whole
 * (the same SHA-256 as the file the queue made), the remote's password must never come back from the
 * API nor sit in the database in plain text, and a wrong password must fail the job with rclone's
 * reason and without the password.
 */

const USER = 'ferry-dav';
const PASSWORD = 'Rclone-pässwörd-42';
// The app and any command line run share this key (as nodes of one server must).
process.env.FERRY_SECRET_KEY ??= 'a1'.repeat(32);

const serve = (protocol: 'webdav' | 'sftp', work: string) => rcloneServe(protocol, work, USER, PASSWORD);

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`exports delivered through rclone on ${kind}`, { skip: skipReasonFor(kind) || NO_RCLONE }, () => {
    let h: TestApp;
    let work: string;
    let dav: Served;
    let sftp: Served;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'ferry-rclone-test-'));
      dav = await serve('webdav', work);
      sftp = await serve('sftp', work);
      h = await startTestApp(kind, {
        seed: (context, db) => seedAccessFixtures(db.storage, context.metadata),
        setup: (context) => createBoClerk(context),
      });
      await h.context.jobs.start();
    });
    after(async () => {
      dav?.child.kill();
      sftp?.child.kill();
      await stopTestApp(h);
      rmSync(work, { recursive: true, force: true });
    });

    async function addRemote(body: Record<string, unknown>, auth = ADMIN_AUTH) {
      return h.app.inject({
        method: 'POST',
        url: '/api/exportRemotes',
        headers: { authorization: auth },
        payload: body,
      });
    }

    async function exportTo(
      remote: string,
      path: string,
    ): Promise<{ card: ExportCard; bytes: Buffer; sha: string }> {
      const reply = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: {
          kind: 'metadata',
          params: { collections: ['organisationUnits', 'dataElements'] },
          format: 'json',
          compression: 'zip',
          destination: { type: 'remote', remote, path },
        },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const id = reply.json<ExportCard>().id;
      const job = await waitForJob(h.context, id);
      assert.equal(job.status, 'COMPLETED', job.error ?? '');
      const card = (
        await h.app.inject({ url: `/api/exports/${id}`, headers: { authorization: ADMIN_AUTH } })
      ).json<ExportCard>();
      const stored = await h.context.exports.file(null, id).catch(() => undefined);
      // A remote export is not offered for download; the queue's own copy is what was delivered.
      assert.equal(card.file?.downloadUrl, null);
      const file = stored ? readFileSync(h.context.jobs.files.pathFor(stored.file.id)) : Buffer.alloc(0);
      return { card, bytes: file, sha: stored?.file.sha256 ?? '' };
    }

    it('keeps the password sealed: never returned, not in the database in plain text', async () => {
      const reply = await addRemote({
        name: 'district-dav',
        type: 'webdav',
        options: { url: `http://127.0.0.1:${dav.port}`, vendor: 'other', user: USER, pass: PASSWORD },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      assert.ok(!reply.body.includes(PASSWORD));
      const remote = reply.json<{ secrets: string[]; options: Record<string, string>; scope: string }>();
      assert.deepEqual(remote.secrets, ['pass']);
      assert.equal(remote.options.pass, undefined);
      assert.equal(remote.scope, 'user');
      const list = await h.app.inject({ url: '/api/exportRemotes', headers: { authorization: ADMIN_AUTH } });
      assert.equal(list.statusCode, 200);
      assert.ok(!list.body.includes(PASSWORD));
      assert.match(list.body, /district-dav/);
      const rows = await h.context.storage.query<{ secrets: string; options: string }>(
        'SELECT secrets, options FROM export_remote',
      );
      assert.equal(rows.length, 1);
      assert.ok(!JSON.stringify(rows).includes(PASSWORD), 'no plain password in the database');
      assert.ok(!JSON.stringify(rows).includes(Buffer.from(PASSWORD).toString('base64')));
      // Another user sees none of it.
      const other = await h.app.inject({
        url: '/api/exportRemotes',
        headers: { authorization: basicAuth(BO_CLERK.username, BO_CLERK.password) },
      });
      assert.equal(other.statusCode, 200, other.body);
      assert.doesNotMatch(other.body, /district-dav/);
    });

    it('refuses options that would run programs or read server files, and server remotes for non-superusers', async () => {
      const ssh = await addRemote({
        name: 'bad',
        type: 'sftp',
        options: { host: '127.0.0.1', ssh: 'touch /tmp/pwned' },
      });
      assert.equal(ssh.statusCode, 400, ssh.body);
      assert.match(ssh.body, /options\.ssh/);
      const keyFile = await addRemote({
        name: 'bad',
        type: 'sftp',
        options: { host: '127.0.0.1', key_file: '/root/.ssh/id_rsa' },
      });
      assert.equal(keyFile.statusCode, 400, keyFile.body);
      const knownHosts = await addRemote({
        name: 'bad',
        type: 'sftp',
        options: { host: '127.0.0.1', known_hosts_file: '/etc/shadow' },
      });
      assert.equal(knownHosts.statusCode, 400, knownHosts.body);
      assert.match(knownHosts.body, /server remote/);
      const server = await addRemote(
        { name: 'shared', type: 'webdav', scope: 'server', options: { url: 'http://127.0.0.1:1' } },
        basicAuth(BO_CLERK.username, BO_CLERK.password),
      );
      assert.equal(server.statusCode, 403, server.body);
      const unknown = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: { kind: 'metadata', destination: { type: 'remote', remote: 'nowhere', path: 'x' } },
      });
      assert.equal(unknown.statusCode, 409, unknown.body);
      assert.match(unknown.body, /nowhere/);
      const escape = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: { kind: 'metadata', destination: { type: 'remote', remote: 'district-dav', path: '../up' } },
      });
      assert.equal(escape.statusCode, 400, escape.body);
    });

    it('delivers to the WebDAV server: the file arrives whole', async () => {
      const { card, sha } = await exportTo('district-dav', `${kind}/2024`);
      const arrived = join(dav.dir, kind, '2024', card.file!.name);
      assert.ok(existsSync(arrived), `${arrived} exists (${readdirSync(dav.dir).join(', ')})`);
      assert.equal(card.file?.deliveredTo, `district-dav:${kind}/2024/${card.file!.name}`);
      assert.equal(sha256(readFileSync(arrived)), sha);
      assert.match(sha, /^[0-9a-f]{64}$/);
    });

    it('delivers to the SFTP server, a server-wide remote: the file arrives whole', async () => {
      const reply = await addRemote({
        name: 'national-sftp',
        type: 'sftp',
        scope: 'server',
        options: { host: '127.0.0.1', port: String(sftp.port), user: USER, pass: PASSWORD },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const { card, sha } = await exportTo('national-sftp', 'incoming');
      const arrived = join(sftp.dir, 'incoming', card.file!.name);
      assert.ok(existsSync(arrived), `${arrived} exists`);
      assert.equal(sha256(readFileSync(arrived)), sha);
      // The clerk sees the server's remote (name and options, no secrets).
      const list = await h.app.inject({
        url: '/api/exportRemotes',
        headers: { authorization: basicAuth(BO_CLERK.username, BO_CLERK.password) },
      });
      assert.match(list.body, /national-sftp/);
      assert.ok(!list.body.includes(PASSWORD));
    });

    it('a wrong password fails the job with the remote named and the password nowhere', async () => {
      const wrong = 'Not-the-password-7';
      const reply = await addRemote({
        name: 'wrong-dav',
        type: 'webdav',
        options: { url: `http://127.0.0.1:${dav.port}`, user: USER, pass: wrong },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const request = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: {
          kind: 'metadata',
          params: { collections: ['organisationUnits'] },
          destination: { type: 'remote', remote: 'wrong-dav', path: 'x' },
        },
      });
      assert.equal(request.statusCode, 201, request.body);
      const job = await waitForJob(h.context, request.json<ExportCard>().id, 120_000);
      assert.equal(job.status, 'FAILED');
      assert.match(job.error ?? '', /export remote wrong-dav failed/);
      assert.ok(!(job.error ?? '').includes(wrong));
    });
  });
}
