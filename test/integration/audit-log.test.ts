import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { AuditRecord } from '../../src/services/audit/audit-types.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';

/**
 * The audit log end to end over HTTP on both databases: each import (sync, async), export, failed
 * sign-in and denial leaves one record with who, how, what, the file's SHA-256 and size, the
 * format, options and counts, and how it ended; secrets and cell values never reach the table;
 * GET /api/audits is for F_AUDIT_VIEW (or ALL) with paging and filters; a 500 is logged to stderr
 * and to the table with its reference.
 */
const READER = { id: 'auditReader', username: 'audit.reader', password: 'Reader-Secret-pw-71' };
const READER_AUTH = basicAuth(READER.username, READER.password);
const AUDITOR = { id: 'auditViewer', username: 'audit.viewer', password: 'Auditor-Secret-pw-72' };
const WRONG_PASSWORD = 'Wrong-Secret-pw-73';
/** Cell values and a comment no audit row may contain. */
const CELL_VALUES = ['731911', '731922', '731933'];
const CELL_COMMENT = 'comment-kept-out-of-the-audit-Q7';

function valuesPayload(period: string): Buffer {
  const dataValues = [
    { dataElement: 'M91K9z70dl4', orgUnit: 'YuQRtpLP10I', value: CELL_VALUES[0], comment: CELL_COMMENT },
    { dataElement: 'l7gcisIvTBN', orgUnit: 'YuQRtpLP10I', value: CELL_VALUES[1] },
    { dataElement: 'M91K9z70dl4', orgUnit: 'g8upMTyEZGZ', value: CELL_VALUES[2] },
  ].map((v) => ({ ...v, period }));
  return Buffer.from(JSON.stringify({ dataSet: 'VEM58nY22sO', dataValues }));
}

async function audits(
  app: FastifyInstance,
  query = '',
): Promise<{ pager: Record<string, unknown>; audits: AuditRecord[] }> {
  const reply = await app.inject({ url: `/api/audits${query}`, headers: { authorization: ADMIN_AUTH } });
  assert.equal(reply.statusCode, 200, reply.body);
  return reply.json();
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The records written since `mark` (an audit id), oldest first, once pending writes are done. */
async function recordsSince(context: FerryContext, mark: number): Promise<AuditRecord[]> {
  await context.audit.flush();
  const page = await context.audit.list({}, 1, 1000);
  return page.audits.filter((r) => r.id > mark).reverse();
}

/**
 * The records of one job. The request's record is written by an onResponse hook, which Fastify
 * runs after the reply has been sent, so the test may ask before that hook has started; it asks
 * again for up to five seconds rather than racing it.
 */
async function auditsOfJob(context: FerryContext, jobId: string): Promise<AuditRecord[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    await context.audit.flush();
    const found = (await context.audit.list({ jobId }, 1, 10)).audits;
    if (found.length > 0 || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function lastAuditId(context: FerryContext): Promise<number> {
  await context.audit.flush();
  return (await context.audit.list({}, 1, 1)).audits[0]?.id ?? 0;
}

/** The fields a test compares, without ids and times. */
function fields(record: AuditRecord, names: readonly (keyof AuditRecord)[]): Partial<AuditRecord> {
  return Object.fromEntries(names.map((name) => [name, record[name]]));
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`audit log (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    let app: FastifyInstance;
    let context: FerryContext;
    let apiToken: string;

    before(async () => {
      started = await startTestApp(kind, {
        seed: (_context, db) => loadAggregateE2eMetadata(db.storage),
        setup: async (context) => {
          await context.metadata.save('userRoles', [
            { id: 'roleExport1', name: 'Data exporter', authorities: ['F_EXPORT_DATA'] },
            { id: 'roleAudit01', name: 'Auditor', authorities: ['F_AUDIT_VIEW'] },
          ]);
          await context.users.createUser({
            ...READER,
            firstName: 'Audit',
            surname: 'Reader',
            roles: ['roleExport1'],
            orgUnits: ['ImspTQPwCqd'],
          });
          // The fixture's data sets share data only with this group: the reader is a member.
          await context.metadata.save('userGroups', [
            { id: 'OPVIvvXzNTw', name: 'Malaria team', users: [{ id: READER.id }] },
          ]);
          await context.users.createUser({
            ...AUDITOR,
            firstName: 'Audit',
            surname: 'Viewer',
            roles: ['roleAudit01'],
            orgUnits: ['ImspTQPwCqd'],
          });
        },
      });
      ({ app, context } = started);
      // A forced 500: a route that fails the way a bug would (added before the app is ready).
      app.get('/api/auditTestFailure', async () => {
        throw new Error(`unexpected failure near ${CELL_VALUES[2]}`);
      });
      const token = await app.inject({
        method: 'POST',
        url: '/api/apiToken',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: { name: 'audit test token' },
      });
      assert.equal(token.statusCode, 201, token.body);
      apiToken = token.json<{ response: { key: string } }>().response.key;
    });
    after(() => stopTestApp(started));

    it('a synchronous import: one record with who, how, the file, its format, options and counts', async () => {
      const mark = await lastAuditId(context);
      const payload = valuesPayload('202001');
      const reply = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets?importStrategy=CREATE_AND_UPDATE&dryRun=false',
        headers: {
          authorization: ADMIN_AUTH,
          'content-type': 'application/json',
          'x-file-name': 'january.json',
        },
        payload,
      });
      assert.equal(reply.statusCode, 200, reply.body);
      const records = await recordsSince(context, mark);
      assert.equal(records.length, 1, JSON.stringify(records));
      const [record] = records;
      assert.deepEqual(
        fields(record, [
          'type',
          'outcome',
          'username',
          'userUid',
          'authKind',
          'method',
          'path',
          'status',
          'format',
          'fileName',
          'fileSize',
          'fileSha256',
          'jobId',
          'counts',
          'options',
          'message',
        ]),
        {
          type: 'IMPORT',
          outcome: 'SUCCESS',
          username: 'admin',
          userUid: (await context.users.findByUsername('admin'))?.id,
          authKind: 'basic',
          method: 'POST',
          path: '/api/dataValueSets',
          status: 200,
          format: 'json',
          fileName: 'january.json',
          fileSize: payload.length,
          fileSha256: sha256(payload),
          jobId: null,
          counts: { imported: 3, updated: 0, ignored: 0, deleted: 0 },
          options: { importStrategy: 'CREATE_AND_UPDATE', dryRun: 'false' },
          message: null,
        },
      );
      assert.match(record.requestId ?? '', /^[0-9a-f-]{36}$/);
      assert.ok(Date.parse(record.created) <= Date.now());
    });

    it('an async import (by API token): one record, completed by its job with the outcome and counts', async () => {
      const mark = await lastAuditId(context);
      const payload = valuesPayload('202002');
      const reply = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets?async=true',
        headers: { authorization: `ApiToken ${apiToken}`, 'content-type': 'application/json' },
        payload,
      });
      assert.equal(reply.statusCode, 200, reply.body);
      const id = reply.json<{ response: { id: string } }>().response.id;
      const queued = await auditsOfJob(context, id);
      assert.equal(queued.length, 1);
      assert.equal(queued[0].outcome, 'ACCEPTED');
      await context.jobs.start();
      const job = await waitForJob(context, id);
      assert.equal(job.status, 'COMPLETED', job.error ?? '');
      const records = await recordsSince(context, mark);
      assert.equal(records.length, 1, JSON.stringify(records));
      assert.deepEqual(
        fields(records[0], [
          'type',
          'outcome',
          'username',
          'authKind',
          'jobId',
          'path',
          'status',
          'format',
          'fileSize',
          'fileSha256',
          'counts',
          'options',
        ]),
        {
          type: 'IMPORT',
          outcome: 'SUCCESS',
          username: 'admin',
          authKind: 'apiToken',
          jobId: id,
          path: '/api/dataValueSets',
          status: 200,
          format: 'json',
          fileSize: payload.length,
          fileSha256: sha256(payload),
          counts: { imported: 3, updated: 0, ignored: 0, deleted: 0 },
          options: { async: 'true' },
        },
      );
    });

    it('an export: one record with its format and options', async () => {
      const mark = await lastAuditId(context);
      const reply = await app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&children=true&period=202001',
        headers: { authorization: READER_AUTH },
      });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.ok(reply.body.includes(CELL_VALUES[0]), 'the export carries the values the log must not');
      const records = await recordsSince(context, mark);
      assert.equal(records.length, 1, JSON.stringify(records));
      assert.deepEqual(
        fields(records[0], [
          'type',
          'outcome',
          'username',
          'authKind',
          'method',
          'path',
          'status',
          'format',
          'options',
        ]),
        {
          type: 'EXPORT',
          outcome: 'SUCCESS',
          username: READER.username,
          authKind: 'basic',
          method: 'GET',
          path: '/api/dataValueSets.csv',
          status: 200,
          format: 'csv',
          options: { dataSet: 'VEM58nY22sO', orgUnit: 'ImspTQPwCqd', children: 'true', period: '202001' },
        },
      );
      // The values it sent, counted from the file itself (one header line, one line a value).
      const valueLines = reply.body.trim().split('\n').length - 1;
      assert.ok(valueLines > 0);
      assert.deepEqual(records[0].counts, { exported: valueLines });
    });

    it('failed sign-ins (form and Basic) and a successful one: one LOGIN record each, no password', async () => {
      const mark = await lastAuditId(context);
      const form = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: { username: 'admin', password: WRONG_PASSWORD },
      });
      assert.equal(form.statusCode, 401, form.body);
      const basic = await app.inject({
        url: '/api/me',
        headers: { authorization: basicAuth(READER.username, WRONG_PASSWORD) },
      });
      assert.equal(basic.statusCode, 401, basic.body);
      const good = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: { username: AUDITOR.username, password: AUDITOR.password },
      });
      assert.equal(good.statusCode, 200, good.body);
      const records = await recordsSince(context, mark);
      assert.deepEqual(
        records.map((r) => fields(r, ['type', 'outcome', 'username', 'authKind', 'path', 'status'])),
        [
          {
            type: 'LOGIN',
            outcome: 'DENIED',
            username: 'admin',
            authKind: 'session',
            path: '/api/auth/login',
            status: 401,
          },
          {
            type: 'LOGIN',
            outcome: 'DENIED',
            username: READER.username,
            authKind: 'basic',
            path: '/api/me',
            status: 401,
          },
          {
            type: 'LOGIN',
            outcome: 'SUCCESS',
            username: AUDITOR.username,
            authKind: 'session',
            path: '/api/auth/login',
            status: 200,
          },
        ],
      );
    });

    it('a 403 denial: one DENIAL record with the user and the refusal code', async () => {
      const mark = await lastAuditId(context);
      const reply = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets',
        headers: { authorization: READER_AUTH, 'content-type': 'application/json' },
        payload: valuesPayload('202003'),
      });
      assert.equal(reply.statusCode, 403, reply.body);
      const records = await recordsSince(context, mark);
      assert.equal(records.length, 1, JSON.stringify(records));
      assert.deepEqual(
        fields(records[0], [
          'type',
          'outcome',
          'username',
          'authKind',
          'method',
          'path',
          'status',
          'message',
        ]),
        {
          type: 'DENIAL',
          outcome: 'DENIED',
          username: READER.username,
          authKind: 'basic',
          method: 'POST',
          path: '/api/dataValueSets',
          status: 403,
          message: 'F1102',
        },
      );
    });

    it('a 500 is written to stderr with its reference, and to the log', async () => {
      const mark = await lastAuditId(context);
      const written: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stderr.write;
      let reply;
      try {
        reply = await app.inject({ url: '/api/auditTestFailure', headers: { authorization: ADMIN_AUTH } });
        await context.audit.flush();
      } finally {
        process.stderr.write = write;
      }
      assert.equal(reply.statusCode, 500);
      const reference = /reference ([0-9a-f-]{36})/.exec(reply.json<{ message: string }>().message)?.[1];
      assert.ok(reference, reply.body);
      const line = written.find((text) => text.includes(`reference ${reference}`));
      assert.ok(line, `stderr names the reference: ${written.join('')}`);
      assert.match(line, /GET \/api\/auditTestFailure/);
      assert.match(line, /unexpected failure/, 'the server log has the error itself');
      const records = await recordsSince(context, mark);
      assert.equal(records.length, 1, JSON.stringify(records));
      assert.deepEqual(
        fields(records[0], ['type', 'outcome', 'requestId', 'status', 'message', 'username']),
        {
          type: 'ERROR',
          outcome: 'ERROR',
          requestId: reference,
          status: 500,
          message: `Internal error (reference ${reference})`,
          username: 'admin',
        },
      );
    });

    it('no password, token or cell value anywhere in the audit table', async () => {
      // An export queued with a password, and a token in a query parameter: both must be redacted.
      const queued = await app.inject({
        method: 'POST',
        url: `/api/exports?access_token=${apiToken}`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: {
          kind: 'dataValues',
          format: 'csv',
          password: 'Zip-Secret-pw-74',
          params: { dataSet: 'VEM58nY22sO', orgUnit: 'ImspTQPwCqd', period: '202001', children: true },
        },
      });
      assert.ok(queued.statusCode < 500, queued.body);
      await context.audit.flush();
      const rows = await context.storage.query('SELECT * FROM audit_log');
      assert.ok(rows.length >= 8, `${rows.length} rows`);
      const text = JSON.stringify(rows);
      for (const secret of [
        'district',
        READER.password,
        AUDITOR.password,
        WRONG_PASSWORD,
        'Zip-Secret-pw-74',
        apiToken,
        ...CELL_VALUES,
        CELL_COMMENT,
      ]) {
        assert.ok(!text.includes(secret), `the audit table contains ${secret}`);
      }
      // And the things it should hold are there: the redaction is not an empty table.
      assert.ok(text.includes('(redacted)'));
      assert.ok(text.includes(READER.username));
    });

    it('commands run straight on the database (ferry import data, ferry user create) leave records too', async () => {
      const db = started!.db;
      const target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
      const mark = await lastAuditId(context);
      const file = join(db.dataDir, 'cli-values.json');
      const payload = valuesPayload('202004');
      writeFileSync(file, payload);
      const imported = await runFerry(['import', 'data', file, '--strategy', 'CREATE_AND_UPDATE', ...target]);
      assert.equal(imported.code, 0, imported.stderr);
      const created = await runFerry([
        'user',
        'create',
        '--username',
        'cli.made',
        '--password',
        'Cli-Secret-pw-75',
        '--first-name',
        'Cli',
        '--surname',
        'Made',
        ...target,
      ]);
      assert.equal(created.code, 0, created.stderr);
      const listed = await runFerry(['jobs', 'list', ...target]);
      assert.equal(listed.code, 0, listed.stderr);
      const records = await recordsSince(context, mark);
      const operator = userInfo().username;
      assert.deepEqual(
        records.map((r) =>
          fields(r, ['type', 'outcome', 'username', 'authKind', 'path', 'status', 'options']),
        ),
        [
          {
            type: 'IMPORT',
            outcome: 'SUCCESS',
            username: operator,
            authKind: 'cli',
            path: 'ferry import data',
            status: 0,
            options: { strategy: 'CREATE_AND_UPDATE' },
          },
          {
            type: 'ADMIN',
            outcome: 'SUCCESS',
            username: operator,
            authKind: 'cli',
            path: 'ferry user create',
            status: 0,
            options: {
              username: 'cli.made',
              password: '(redacted)',
              'first-name': 'Cli',
              surname: 'Made',
            },
          },
        ],
      );
      assert.deepEqual(fields(records[0], ['fileName', 'fileSize', 'fileSha256', 'format']), {
        fileName: 'cli-values.json',
        fileSize: payload.length,
        fileSha256: sha256(payload),
        format: 'json',
      });
      const text = JSON.stringify(await context.storage.query('SELECT * FROM audit_log'));
      assert.ok(!text.includes('Cli-Secret-pw-75'));
      for (const value of CELL_VALUES) assert.ok(!text.includes(value));
    });

    it('GET /api/audits: 403 for users without F_AUDIT_VIEW; pager, paging and filters', async () => {
      const refused = await app.inject({ url: '/api/audits', headers: { authorization: READER_AUTH } });
      assert.equal(refused.statusCode, 403, refused.body);
      assert.equal(refused.json<{ errorCode: string }>().errorCode, 'F1102');
      const auditor = await app.inject({
        url: '/api/audits?type=LOGIN',
        headers: { authorization: basicAuth(AUDITOR.username, AUDITOR.password) },
      });
      assert.equal(auditor.statusCode, 200, auditor.body);

      const all = await audits(app, '?pageSize=1000');
      const total = all.audits.length;
      assert.equal(all.pager.total, total);
      const ids = all.audits.map((r) => r.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => b - a),
        'newest first',
      );

      const second = await audits(app, '?pageSize=2&page=2');
      assert.deepEqual(
        second.audits.map((r) => r.id),
        ids.slice(2, 4),
      );
      assert.deepEqual(second.pager, {
        page: 2,
        pageSize: 2,
        total,
        pageCount: Math.ceil(total / 2),
        nextPage: '/api/audits?pageSize=2&page=3',
        prevPage: '/api/audits?pageSize=2&page=1',
      });

      const logins = await audits(app, '?type=LOGIN');
      assert.ok(logins.audits.length >= 3);
      assert.ok(logins.audits.every((r) => r.type === 'LOGIN'));
      const failedAdmin = await audits(app, '?type=LOGIN&user=admin&outcome=DENIED');
      assert.equal(failedAdmin.audits.length, 1);
      assert.equal(failedAdmin.audits[0].path, '/api/auth/login');
      const byReader = await audits(app, `?user=${READER.username}`);
      assert.ok(byReader.audits.length >= 3);
      assert.ok(byReader.audits.every((r) => r.username === READER.username));

      const middle = all.audits[Math.floor(total / 2)];
      const since = await audits(app, `?since=${encodeURIComponent(middle.created)}&pageSize=1000`);
      assert.ok(since.audits.length > 0 && since.audits.every((r) => r.created >= middle.created));
      const until = await audits(app, `?until=${encodeURIComponent(middle.created)}&pageSize=1000`);
      assert.ok(until.audits.every((r) => r.created < middle.created));
      assert.equal(since.audits.length + until.audits.length, total);
      const future = await audits(app, '?since=2999-01-01');
      assert.deepEqual(future.audits, []);

      const bad = await app.inject({ url: '/api/audits?type=NOPE', headers: { authorization: ADMIN_AUTH } });
      assert.equal(bad.statusCode, 400);
      const badDate = await app.inject({
        url: '/api/audits?since=yesterday',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(badDate.statusCode, 400);
    });
  });
}
