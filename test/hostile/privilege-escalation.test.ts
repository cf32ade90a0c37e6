import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

/**
 * Raising one's own rights through the metadata import: users, user roles and user groups are
 * metadata, so an importer could rewrite its own role or hand itself the superuser role. DHIS2's
 * rules (who may write these types, canIssueUserRole, "can manage") must hold on every path: JSON
 * and XML, sync and async, and /api/me must never show ALL afterwards.
 */

const ROLE = {
  importer: 'roleImpOnly',
  userAdmin: 'roleUsrAdm1',
  dataEntry: 'roleDataEn1',
  analyst: 'roleAnalys1',
} as const;

const USERS = {
  importer: { id: 'userImport1', username: 'meta.importer', password: 'importer-password' },
  userAdmin: { id: 'userAdmin01', username: 'user.admin', password: 'useradmin-password' },
  analyst: { id: 'userAnalys1', username: 'the.analyst', password: 'analyst-password' },
} as const;

const USER_ADMIN_AUTHORITIES = [
  'F_METADATA_IMPORT',
  'F_USER_ADD',
  'F_USER_DELETE',
  'F_USERROLE_PUBLIC_ADD',
  'F_USERROLE_DELETE',
  'F_USERGROUP_PUBLIC_ADD',
  'F_DATAVALUE_ADD',
  'F_EXPORT_DATA',
];

const auth = (user: { username: string; password: string }) => basicAuth(user.username, user.password);

async function seedUsers(context: FerryContext): Promise<void> {
  const now = '2024-01-01T00:00:00.000';
  await context.storage.transaction((tx) =>
    context.metadata.withExecutor(tx).save(
      'userRoles',
      [
        { id: ROLE.importer, name: 'Metadata importer', authorities: ['F_METADATA_IMPORT'] },
        { id: ROLE.userAdmin, name: 'User administrator', authorities: USER_ADMIN_AUTHORITIES },
        { id: ROLE.dataEntry, name: 'Data entry', authorities: ['F_DATAVALUE_ADD'] },
        // F_METADATA_EXPORT is what the user administrator lacks.
        { id: ROLE.analyst, name: 'Analyst', authorities: ['F_EXPORT_DATA', 'F_METADATA_EXPORT'] },
      ],
      now,
    ),
  );
  await context.users.createUser({ ...USERS.importer, roles: [ROLE.importer] });
  await context.users.createUser({ ...USERS.userAdmin, roles: [ROLE.userAdmin] });
  await context.users.createUser({ ...USERS.analyst, roles: [ROLE.analyst] });
}

interface ReportBody {
  status: string;
  response: {
    status: string;
    stats: { created: number; updated: number; ignored: number };
    typeReports: Array<{
      klass: string;
      objectReports: Array<{ errorReports: Array<{ errorCode: string; message: string; value?: string }> }>;
    }>;
  };
}

function errorCodes(report: ReportBody['response']): string[] {
  return report.typeReports.flatMap((t) =>
    t.objectReports.flatMap((o) => o.errorReports.map((e) => e.errorCode)),
  );
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `privilege escalation through the metadata import on ${kind}`,
    { skip: skipReasonFor(kind) },
    () => {
      let started: TestApp | undefined;
      let superuserRole = '';

      before(async () => {
        started = await startTestApp(kind, { setup: seedUsers });
        superuserRole = await started.context.users.ensureSuperuserRole();
      });
      after(() => stopTestApp(started));

      const importAs = (authorization: string, payload: unknown, query = '') =>
        started!.app.inject({
          method: 'POST',
          url: `/api/metadata${query}`,
          headers: { authorization, 'content-type': 'application/json' },
          payload: JSON.stringify(payload),
        });

      /** /api/me once the principal cache has expired (dropped here rather than waited for). */
      async function freshAuthorities(user: { username: string; password: string }): Promise<string[]> {
        started!.context.auth.forgetAll();
        const me = await started!.app.inject({ url: '/api/me', headers: { authorization: auth(user) } });
        assert.equal(me.statusCode, 200, me.body);
        return me.json<{ authorities: string[] }>().authorities;
      }

      async function storedRoleAuthorities(uid: string): Promise<unknown> {
        return (await started!.context.metadata.get('userRoles', uid))?.authorities;
      }

      async function storedUserRoles(uid: string): Promise<string[]> {
        const user = await started!.context.metadata.get('users', uid);
        return ((user?.userRoles as Array<{ id: string }> | undefined) ?? []).map((r) => r.id).sort();
      }

      function assertRefused(response: LightMyRequestResponse, code: string): ReportBody['response'] {
        assert.equal(response.statusCode, 409, response.body);
        const report = response.json<ReportBody>().response;
        assert.equal(report.status, 'ERROR');
        assert.ok(errorCodes(report).includes(code), `expected ${code} in ${response.body}`);
        return report;
      }

      it('an importer cannot add ALL to its own role (JSON, XML, async job)', async () => {
        const attack = {
          userRoles: [
            { id: ROLE.importer, name: 'Metadata importer', authorities: ['F_METADATA_IMPORT', 'ALL'] },
          ],
        };
        const refused = assertRefused(await importAs(auth(USERS.importer), attack), 'E3001');
        assert.equal(refused.stats.updated, 0);

        const xml = await started!.app.inject({
          method: 'POST',
          url: '/api/metadata',
          headers: { authorization: auth(USERS.importer), 'content-type': 'application/xml' },
          payload:
            '<metadata xmlns="http://dhis2.org/schema/dxf/2.0"><userRoles>' +
            `<userRole id="${ROLE.importer}" name="Metadata importer"><authorities>` +
            '<authority>F_METADATA_IMPORT</authority><authority>ALL</authority>' +
            '</authorities></userRole></userRoles></metadata>',
        });
        assertRefused(xml, 'E3001');

        const queued = await importAs(auth(USERS.importer), attack, '?async=true');
        assert.equal(queued.statusCode, 200, queued.body);
        const id = queued.json<{ response: { id: string } }>().response.id;
        await started!.context.jobs.start();
        const job = await waitForJob(started!.context, id);
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        const summary = await started!.app.inject({
          url: `/api/system/taskSummaries/METADATA_IMPORT/${id}`,
          headers: { authorization: auth(USERS.importer) },
        });
        assert.equal(summary.statusCode, 200, summary.body);
        const jobReport = summary.json<ReportBody['response']>();
        assert.equal(jobReport.status, 'ERROR');
        assert.ok(errorCodes(jobReport).includes('E3001'), summary.body);

        assert.deepEqual(await storedRoleAuthorities(ROLE.importer), ['F_METADATA_IMPORT']);
        assert.deepEqual(await freshAuthorities(USERS.importer), ['F_METADATA_IMPORT']);
      });

      it('an importer cannot give itself the superuser role', async () => {
        const attack = {
          users: [
            {
              id: USERS.importer.id,
              username: USERS.importer.username,
              firstName: USERS.importer.username,
              surname: USERS.importer.username,
              userRoles: [{ id: ROLE.importer }, { id: superuserRole }],
            },
          ],
        };
        assertRefused(await importAs(auth(USERS.importer), attack), 'E3001');
        // skipValidation does not skip the rights.
        assertRefused(await importAs(auth(USERS.importer), attack, '?skipValidation=true'), 'E3001');
        assert.deepEqual(await storedUserRoles(USERS.importer.id), [ROLE.importer]);
        assert.ok(!(await freshAuthorities(USERS.importer)).includes('ALL'));
      });

      it('a user administrator cannot raise its own rights: no ALL in its role, no superuser role', async () => {
        const ownRole = {
          userRoles: [
            {
              id: ROLE.userAdmin,
              name: 'User administrator',
              authorities: [...USER_ADMIN_AUTHORITIES, 'ALL'],
            },
          ],
        };
        const role = assertRefused(await importAs(auth(USERS.userAdmin), ownRole), 'E3032');
        assert.equal(role.typeReports[0].objectReports[0].errorReports[0].value, 'ALL');

        const self = {
          users: [
            {
              id: USERS.userAdmin.id,
              username: USERS.userAdmin.username,
              firstName: 'User',
              surname: 'Admin',
              userRoles: [{ id: ROLE.userAdmin }, { id: superuserRole }],
            },
          ],
        };
        const report = assertRefused(await importAs(auth(USERS.userAdmin), self), 'E3003');
        assert.match(report.typeReports[0].objectReports[0].errorReports[0].message, /user role `Superuser`/);

        assert.deepEqual(await storedRoleAuthorities(ROLE.userAdmin), USER_ADMIN_AUTHORITIES);
        assert.deepEqual(await storedUserRoles(USERS.userAdmin.id), [ROLE.userAdmin]);
        assert.ok(!(await freshAuthorities(USERS.userAdmin)).includes('ALL'));
      });

      it('a user administrator assigns a role whose authorities it holds, and no other; atomicMode ALL writes nothing', async () => {
        const allowed = await importAs(auth(USERS.userAdmin), {
          userRoles: [
            { id: 'roleClerk01', name: 'Clerk', authorities: ['F_DATAVALUE_ADD', 'F_EXPORT_DATA'] },
          ],
          users: [
            {
              id: 'userNewCl01',
              username: 'new.clerk',
              firstName: 'New',
              surname: 'Clerk',
              userRoles: [{ id: ROLE.dataEntry }, { id: 'roleClerk01' }],
            },
          ],
        });
        assert.equal(allowed.statusCode, 200, allowed.body);
        assert.equal(allowed.json<ReportBody>().response.stats.created, 2);
        assert.deepEqual(await storedUserRoles('userNewCl01'), [ROLE.dataEntry, 'roleClerk01'].sort());

        const payload = {
          users: [
            {
              id: 'userFine001',
              username: 'fine.user',
              firstName: 'Fine',
              surname: 'User',
              userRoles: [{ id: ROLE.dataEntry }],
            },
            {
              id: 'userNoWay01',
              username: 'no.way',
              firstName: 'No',
              surname: 'Way',
              // The analyst role has F_METADATA_EXPORT, which the user administrator lacks.
              userRoles: [{ id: ROLE.analyst }],
            },
          ],
        };
        const report = assertRefused(await importAs(auth(USERS.userAdmin), payload), 'E3003');
        assert.equal(report.stats.created, 0);
        assert.equal(await started!.context.metadata.get('users', 'userFine001'), undefined);
        assert.equal(await started!.context.metadata.get('users', 'userNoWay01'), undefined);
      });

      it('a user administrator cannot change a user with more rights than its own, or a superuser', async () => {
        const analyst = {
          users: [
            {
              id: USERS.analyst.id,
              username: USERS.analyst.username,
              firstName: 'Renamed',
              surname: 'Analyst',
              userRoles: [{ id: ROLE.dataEntry }],
            },
          ],
        };
        assertRefused(await importAs(auth(USERS.userAdmin), analyst), 'E3001');
        assert.deepEqual(await storedUserRoles(USERS.analyst.id), [ROLE.analyst]);
        const admin = await started!.context.users.findByUsername('admin');
        const superuser = {
          users: [{ ...admin, firstName: 'Taken', userRoles: [{ id: ROLE.dataEntry }] }],
        };
        assertRefused(await importAs(auth(USERS.userAdmin), superuser), 'E3041');
        assert.deepEqual(await storedUserRoles(admin!.id), [superuserRole]);
        const deletion = await importAs(auth(USERS.userAdmin), superuser, '?importStrategy=DELETE');
        assertRefused(deletion, 'E3041');
        assert.ok(await started!.context.metadata.get('users', admin!.id));
      });

      it("a superuser may do all of it, and a role's new authorities show in /api/me at once", async () => {
        const before = await started!.app.inject({
          url: '/api/me',
          headers: { authorization: auth(USERS.importer) },
        });
        assert.deepEqual(before.json<{ authorities: string[] }>().authorities, ['F_METADATA_IMPORT']);
        const response = await importAs(ADMIN_AUTH, {
          userRoles: [
            { id: 'roleAllToo1', name: 'Second superuser', authorities: ['ALL'] },
            {
              id: ROLE.importer,
              name: 'Metadata importer',
              authorities: ['F_METADATA_IMPORT', 'F_EXPORT_DATA'],
            },
          ],
          users: [
            {
              id: 'userSuper02',
              username: 'second.super',
              firstName: 'Second',
              surname: 'Super',
              userRoles: [{ id: superuserRole }, { id: 'roleAllToo1' }],
            },
            {
              id: USERS.analyst.id,
              username: USERS.analyst.username,
              firstName: 'Changed',
              surname: 'Analyst',
              userRoles: [{ id: ROLE.analyst }, { id: ROLE.dataEntry }],
            },
          ],
        });
        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(await storedUserRoles('userSuper02'), ['roleAllToo1', superuserRole].sort());
        assert.deepEqual(await storedUserRoles(USERS.analyst.id), [ROLE.analyst, ROLE.dataEntry].sort());
        // No cache expiry, no new sign-in: the very next request sees the change.
        const after = await started!.app.inject({
          url: '/api/me',
          headers: { authorization: auth(USERS.importer) },
        });
        assert.deepEqual(after.json<{ authorities: string[] }>().authorities, [
          'F_EXPORT_DATA',
          'F_METADATA_IMPORT',
        ]);
      });
    },
  );
}
