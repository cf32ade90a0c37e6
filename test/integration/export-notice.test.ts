import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { referenceIds } from '../../src/domain/access/principal.ts';

/*
 * The notice when a queued export is ready (issue 16): a real SMTP server (Debian's
 * python3-aiosmtpd, its Mailbox handler writing each message it receives to a Maildir with the
 * envelope's recipients in X-RcptTo) gets one email per finished export, to the requester's
 * address, whose download link works over a real connection; the web app's notices list the
 * export until it is downloaded or marked seen. No address, a failed export and an SMTP server
 * that is gone are each told honestly, and the export itself never fails for the mail.
 * On SQLite and PostgreSQL.
 */

const PYTHON = '/usr/bin/python3';
const KEEPER = { username: 'pool.keeper', password: 'Keeper-password-1', email: 'keeper@example.org' };
const KEEPER_AUTH = basicAuth(KEEPER.username, KEEPER.password);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await sleep(100);
  }
}

interface Mail {
  headers: Map<string, string>;
  body: string;
}

/** A Maildir message: headers (unfolded, names lower-cased) and the body, quoted-printable decoded. */
function parseMail(text: string): Mail {
  const split = text.search(/\r?\n\r?\n/);
  const headers = new Map<string, string>();
  for (const line of text
    .slice(0, split)
    .replace(/\r?\n[ \t]+/g, ' ')
    .split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  let body = text.slice(split).replace(/^\r?\n\r?\n/, '');
  if (headers.get('content-transfer-encoding')?.toLowerCase() === 'quoted-printable') {
    body = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  }
  return { headers, body: body.replace(/\r\n/g, '\n') };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`the notice when a queued export is ready (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    let smtp: ChildProcess | undefined;
    let maildir: string;
    let baseUrl: string;
    const saved: Record<string, string | undefined> = {};

    before(async () => {
      maildir = join(mkdtempSync(join(tmpdir(), 'ferry-mail-')), 'maildir');
      const smtpPort = await freePort();
      smtp = spawn(
        PYTHON,
        ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${smtpPort}`, '-c', 'aiosmtpd.handlers.Mailbox', maildir],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      await waitForPort(smtpPort);
      const appPort = await freePort();
      baseUrl = `http://127.0.0.1:${appPort}`;
      const env = {
        FERRY_SMTP_HOST: '127.0.0.1',
        FERRY_SMTP_PORT: String(smtpPort),
        FERRY_SMTP_FROM: 'Ferry <ferry@example.org>',
        // aiosmtpd offers no STARTTLS: the default (starttls when offered) sends in plain text.
        FERRY_SMTP_TLS: undefined,
        FERRY_PUBLIC_URL: `${baseUrl}/`,
      };
      for (const [name, value] of Object.entries(env)) {
        saved[name] = process.env[name];
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      started = await startTestApp(kind, {
        setup: async (context) => {
          const admin = await context.users.findByUsername('admin');
          await context.users.createUser({
            ...KEEPER,
            roles: referenceIds(admin!.userRoles),
          });
        },
      });
      await started.context.jobs.start();
      await started.app.listen({ port: appPort, host: '127.0.0.1' });
    });

    after(async () => {
      smtp?.kill();
      await stopTestApp(started);
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      rmSync(join(maildir, '..'), { recursive: true, force: true });
    });

    const call = async (auth: string, method: 'GET' | 'POST', url: string, payload?: object) => {
      const response = await started!.app.inject({ method, url, headers: { authorization: auth }, payload });
      return { status: response.statusCode, body: JSON.parse(response.body) as Record<string, unknown> };
    };
    const mails = (): Mail[] => {
      const dir = join(maildir, 'new');
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .sort()
        .map((name) => parseMail(readFileSync(join(dir, name), 'utf8')));
    };
    const waitForMails = async (count: number): Promise<Mail[]> => {
      const deadline = Date.now() + 20_000;
      while (mails().length < count && Date.now() < deadline) await sleep(100);
      return mails();
    };
    /** The export's notice outcome, once the worker has recorded it. */
    const noticeOf = async (id: string): Promise<string> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const row = await started!.context.storage.queryOne<{ notice_email: string | null }>(
          'SELECT notice_email FROM export_job WHERE job_id = ?',
          [id],
        );
        if (row?.notice_email) return row.notice_email;
        if (Date.now() > deadline) throw new Error(`export ${id} has no notice yet`);
        await sleep(100);
      }
    };
    const poolWithEntries = async (auth: string, name: string): Promise<string> => {
      const created = await call(auth, 'POST', '/api/dedupe/pools', { name });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const id = (created.body.response as { id: string }).id;
      const upload = await started!.app.inject({
        method: 'POST',
        url: `/api/dedupe/pools/${id}/entries`,
        headers: { authorization: auth, 'content-type': 'text/csv', 'x-file-name': 'pool.csv' },
        payload: 'value,entity_type_id\nfacility-a/2024-01,1\nevent-b,2\n"with,comma",3\n',
      });
      assert.equal(upload.statusCode, 200, upload.body);
      return id;
    };
    const exportPool = async (auth: string, pool: string): Promise<string> => {
      const requested = await call(auth, 'POST', `/api/dedupe/pools/${pool}/export`);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      return requested.body.id as string;
    };

    it('emails the requester once with a working download link, and lists it in the web app until downloaded', async () => {
      const pool = await poolWithEntries(KEEPER_AUTH, 'Keeper pool');
      const id = await exportPool(KEEPER_AUTH, pool);
      assert.equal((await waitForJob(started!.context, id)).status, 'COMPLETED');

      const [mail] = await waitForMails(1);
      assert.ok(mail, 'one email arrived');
      assert.equal(mail.headers.get('x-rcptto'), KEEPER.email);
      assert.equal(mail.headers.get('to'), KEEPER.email);
      assert.match(mail.headers.get('from') ?? '', /ferry@example\.org/);
      assert.match(mail.headers.get('subject') ?? '', /^Ferry: export \d+ is ready$/);
      assert.match(mail.body, /"De-duplication pool 'Keeper pool' \(CSV\)" \(export \d+\) is ready/);
      const link = /^\s*(http\S+)$/m.exec(mail.body)?.[1];
      assert.equal(link, `${baseUrl}/api/exports/${id}/file`);
      assert.match(mail.body, /kept until \d{4}-\d\d-\d\dT/);
      assert.equal(await noticeOf(id), `sent to ${KEEPER.email}`);

      // The web app's notice: the keeper's, not the administrator's.
      const notices = await call(KEEPER_AUTH, 'GET', '/api/exports/notices');
      assert.equal(notices.status, 200);
      assert.equal(notices.body.emailConfigured, true);
      const [notice] = notices.body.notices as Array<Record<string, unknown>>;
      assert.deepEqual(
        [notice.id, notice.status, notice.downloadUrl, notice.email],
        [id, 'COMPLETED', `/api/exports/${id}/file`, `sent to ${KEEPER.email}`],
      );
      assert.deepEqual((await call(ADMIN_AUTH, 'GET', '/api/exports/notices')).body.notices, []);

      // The link, over a real connection, as the requester.
      const file = await fetch(link!, { headers: { authorization: KEEPER_AUTH } });
      assert.equal(file.status, 200);
      const lines = (await file.text()).split('\n');
      assert.equal(lines[0], 'value,entity_type_id');
      assert.deepEqual(lines.slice(1).sort(), ['', '"with,comma",3', 'event-b,2', 'facility-a/2024-01,1']);
      // Downloading it was seeing it.
      assert.deepEqual((await call(KEEPER_AUTH, 'GET', '/api/exports/notices')).body.notices, []);

      // Told once: the hook run again (a second worker, a retry) sends nothing more.
      await started!.context.exports.notices!.exportFinished({
        id,
        jobNumber: 0,
        description: 'again',
        status: 'COMPLETED',
        requestedBy: (await started!.context.users.findByUsername(KEEPER.username))!.id,
        fileName: null,
        downloadPath: null,
        expires: null,
        deliveredTo: null,
        error: null,
      });
      await sleep(500);
      assert.equal(mails().length, 1);
    });

    it('a failed export is told too; without an address only the web app tells; marked seen on request', async () => {
      const before = mails().length;
      const failed = await call(KEEPER_AUTH, 'POST', '/api/exports', {
        kind: 'dedupePool',
        params: { pool: 'No such pool' },
      });
      assert.equal(failed.status, 201, JSON.stringify(failed.body));
      const failedId = failed.body.id as string;
      assert.equal((await waitForJob(started!.context, failedId)).status, 'FAILED');
      const all = await waitForMails(before + 1);
      const mail = all[all.length - 1];
      assert.equal(mail.headers.get('x-rcptto'), KEEPER.email);
      assert.match(mail.headers.get('subject') ?? '', /^Ferry: export \d+ failed$/);
      assert.match(mail.body, /No such pool/);
      assert.match(mail.body, new RegExp(`${baseUrl}/#/exports`));

      // The administrator has no email address: the export completes, the web app tells.
      const adminPool = await poolWithEntries(ADMIN_AUTH, 'Admin pool');
      const adminExport = await exportPool(ADMIN_AUTH, adminPool);
      assert.equal((await waitForJob(started!.context, adminExport)).status, 'COMPLETED');
      assert.equal(await noticeOf(adminExport), 'not sent: the requester has no email address');
      assert.equal(mails().length, before + 1, 'no mail without an address');
      const adminNotices = (await call(ADMIN_AUTH, 'GET', '/api/exports/notices')).body.notices as Array<{
        id: string;
      }>;
      assert.deepEqual(
        adminNotices.map((n) => n.id),
        [adminExport],
      );
      const seen = await call(ADMIN_AUTH, 'POST', '/api/exports/notices/seen', { ids: [adminExport] });
      assert.deepEqual(seen.body, { seen: 1 });
      assert.deepEqual((await call(ADMIN_AUTH, 'GET', '/api/exports/notices')).body.notices, []);

      // The keeper's failed export is still unseen; marking all seen clears it.
      const keeperNotices = (await call(KEEPER_AUTH, 'GET', '/api/exports/notices')).body.notices as Array<{
        id: string;
        status: string;
        downloadUrl: string | null;
      }>;
      assert.deepEqual(
        keeperNotices.map((n) => [n.id, n.status, n.downloadUrl]),
        [[failedId, 'FAILED', null]],
      );
      assert.deepEqual((await call(KEEPER_AUTH, 'POST', '/api/exports/notices/seen')).body, { seen: 1 });
    });

    it('an export whose worker died on its last attempt is told as failed by the sweep that fails it', async () => {
      const context = started!.context;
      // No worker runs it: the job is queued, then made to look like a dead worker's last attempt.
      await context.jobs.stop();
      const pool = await poolWithEntries(KEEPER_AUTH, 'Dead worker');
      const id = await exportPool(KEEPER_AUTH, pool);
      await context.storage.execute(
        `UPDATE job SET status = 'RUNNING', attempts = max_attempts, lease_token = 'dead', lease_owner = 'gone',
           lease_expires = ?, started = ? WHERE id = ?`,
        [new Date(Date.now() - 60_000).toISOString(), new Date(Date.now() - 120_000).toISOString(), id],
      );
      try {
        await (await context.jobs.queue()).sweep();
        assert.equal((await context.jobs.get(null, id)).status, 'FAILED');
        assert.equal(await noticeOf(id), `sent to ${KEEPER.email}`);
        // An earlier test's mail can still be arriving: pick this export's mail by its reason.
        const deadline = Date.now() + 20_000;
        const ours = () => mails().filter((m) => /Worker stopped responding/.test(m.body));
        while (ours().length === 0 && Date.now() < deadline) await sleep(100);
        const found = ours();
        assert.equal(found.length, 1);
        const mail = found[0];
        assert.equal(mail.headers.get('x-rcptto'), KEEPER.email);
        assert.match(mail.headers.get('subject') ?? '', /^Ferry: export \d+ failed$/);
      } finally {
        await context.jobs.start();
      }
    });

    it('an SMTP server that is gone fails the mail, never the export', async () => {
      smtp!.kill();
      await new Promise((resolve) => smtp!.once('exit', resolve));
      const pool = await poolWithEntries(KEEPER_AUTH, 'After the mail server');
      const id = await exportPool(KEEPER_AUTH, pool);
      assert.equal((await waitForJob(started!.context, id)).status, 'COMPLETED');
      assert.match(await noticeOf(id), /^failed: .*ECONNREFUSED/);
      const file = await call(KEEPER_AUTH, 'GET', `/api/exports/${id}`);
      assert.equal((file.body.file as { downloadUrl: string }).downloadUrl, `/api/exports/${id}/file`);
      const notices = (await call(KEEPER_AUTH, 'GET', '/api/exports/notices')).body.notices as Array<{
        id: string;
        email: string;
      }>;
      assert.equal(notices[0].id, id);
      assert.match(notices[0].email, /^failed: /);
    });
  });
}
