import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import {
  ORG_UNITS,
  ROLES,
  seedAccessFixtures,
  basicAuth,
  BO_CLERK,
  createBoClerk,
} from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import { requireAuthority } from '../../src/http/auth-plugin.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

function assertWebMessage(response: LightMyRequestResponse, status: number, errorCode: string): void {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json<{ httpStatusCode: number; status: string; errorCode: string }>();
  assert.equal(body.httpStatusCode, status);
  assert.equal(body.status, 'ERROR');
  assert.equal(body.errorCode, errorCode, response.body);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`authentication and metadata reads over HTTP on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;
    const admin = basicAuth('admin', 'district');
    const clerk = basicAuth(BO_CLERK.username, BO_CLERK.password);

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (context, db) => seedAccessFixtures(db.storage, context.metadata),
        setup: async (context) => {
          await createBoClerk(context);
          // A user as a DHIS2 metadata file might carry it, password included.
          await context.metadata.save('users', [
            {
              id: 'importedUs1',
              username: 'imported',
              firstName: 'Im',
              surname: 'Ported',
              name: 'Im Ported',
              password: 'Secret-from-file1',
              userCredentials: { username: 'imported', password: 'Secret-from-file1' },
            },
          ]);
        },
      }));
      app.get('/api/test/needsImport', { config: { authority: 'F_METADATA_IMPORT' } }, async () => ({
        ok: 1,
      }));
      app.get('/api/test/needsUserAdd', async (request) => {
        requireAuthority(request, 'F_USER_ADD');
        return { ok: 2 };
      });
      await app.ready();
    });
    after(() => stopTestApp({ db, context, app }));

    it('leaves only ping, the login config and login open, and challenges with Basic', async () => {
      assert.equal((await app.inject({ url: '/api/system/ping' })).statusCode, 200);
      assert.equal((await app.inject({ url: '/api/loginConfig' })).statusCode, 200);
      // As in DHIS2: its apps read this 401 as "show the sign-in dialog".
      assertWebMessage(await app.inject({ url: '/api/system/info' }), 401, 'F1100');
      const info = await app.inject({ url: '/api/system/info', headers: { authorization: admin } });
      assert.equal(info.json<{ systemName: string }>().systemName, 'Ferry');
      const schemas = await app.inject({ url: '/api/schemas' });
      assertWebMessage(schemas, 401, 'F1100');
      assert.match(String(schemas.headers['www-authenticate']), /^Basic realm="Ferry"/);
      const xhr = await app.inject({ url: '/api/me', headers: { 'x-requested-with': 'XMLHttpRequest' } });
      assertWebMessage(xhr, 401, 'F1100');
      assert.equal(xhr.headers['www-authenticate'], undefined, 'no browser dialog for the web app');
      assertWebMessage(await app.inject({ url: '/api/dataElements' }), 401, 'F1100');
      assertWebMessage(
        await app.inject({ url: '/api/me', headers: { authorization: 'Bearer x' } }),
        401,
        'F1101',
      );
    });

    it('authenticates Basic and shows /api/me in DHIS2 shape', async () => {
      const me = await app.inject({ url: '/api/me', headers: { authorization: clerk } });
      assert.equal(me.statusCode, 200, me.body);
      assert.deepEqual(me.json(), {
        ...me.json(),
        id: 'clerkUser01',
        username: 'bo.clerk',
        firstName: 'Bo',
        surname: 'Clerk',
        name: 'Bo Clerk',
        displayName: 'Bo Clerk',
        authorities: ['F_EXPORT_DATA'],
        userRoles: [{ id: ROLES.reader }],
        organisationUnits: [{ id: ORG_UNITS.bo }],
        dataViewOrganisationUnits: [{ id: ORG_UNITS.bo }],
      });
      const adminMe = await app.inject({ url: '/api/me', headers: { authorization: admin } });
      assert.deepEqual(adminMe.json<{ authorities: string[] }>().authorities, ['ALL']);
      const check = await app.inject({
        url: '/api/me/authorization/F_USER_ADD',
        headers: { authorization: admin },
      });
      assert.equal(check.body, 'true');
    });

    it('refuses wrong passwords and unknown users alike', async () => {
      const wrong = await app.inject({
        url: '/api/me',
        headers: { authorization: basicAuth('bo.clerk', 'nope-nope') },
      });
      const unknown = await app.inject({
        url: '/api/me',
        headers: { authorization: basicAuth('ghost', 'nope-nope') },
      });
      assertWebMessage(wrong, 401, 'F1101');
      assertWebMessage(unknown, 401, 'F1101');
      assert.equal(wrong.json<{ message: string }>().message, unknown.json<{ message: string }>().message);
    });

    it('refuses a route to a user without its authority; ALL passes', async () => {
      assertWebMessage(
        await app.inject({ url: '/api/test/needsImport', headers: { authorization: clerk } }),
        403,
        'F1102',
      );
      const refused = await app.inject({ url: '/api/test/needsUserAdd', headers: { authorization: clerk } });
      assertWebMessage(refused, 403, 'F1102');
      assert.match(refused.json<{ message: string }>().message, /F_USER_ADD/);
      assert.equal(
        (await app.inject({ url: '/api/test/needsImport', headers: { authorization: admin } })).statusCode,
        200,
      );
      assert.equal(
        (await app.inject({ url: '/api/test/needsUserAdd', headers: { authorization: admin } })).statusCode,
        200,
      );
    });

    it('signs in with a session cookie and signs out', async () => {
      const bad = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'admin', password: 'x' },
      });
      assertWebMessage(bad, 401, 'F1101');
      assert.equal(bad.headers['set-cookie'], undefined);
      const login = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'admin', password: 'district' },
      });
      assert.equal(login.statusCode, 200, login.body);
      assert.deepEqual(login.json(), { loginStatus: 'SUCCESS', redirectUrl: '/' });
      const setCookie = String(login.headers['set-cookie']);
      assert.match(setCookie, /^ferry_session=[A-Za-z0-9_-]{43};/);
      assert.match(setCookie, /HttpOnly/);
      assert.match(setCookie, /SameSite=Lax/);
      const cookie = setCookie.split(';')[0];
      const me = await app.inject({ url: '/api/me', headers: { cookie } });
      assert.equal(me.json<{ username: string }>().username, 'admin');
      const logout = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } });
      assert.equal(logout.statusCode, 200);
      assertWebMessage(await app.inject({ url: '/api/me', headers: { cookie } }), 401, 'F1100');
    });

    it('creates, uses, lists and revokes API tokens; expired tokens are refused', async () => {
      const created = await app.inject({
        method: 'POST',
        url: '/api/apiToken',
        headers: { authorization: clerk },
        payload: { name: 'laptop' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const { uid, key } = created.json<{ response: { uid: string; key: string } }>().response;
      assert.match(key, /^fry_/);
      const tokenAuth = { authorization: `ApiToken ${key}` };
      const me = await app.inject({ url: '/api/me', headers: tokenAuth });
      assert.equal(me.json<{ username: string }>().username, 'bo.clerk');
      assertWebMessage(
        await app.inject({ method: 'POST', url: '/api/apiToken', headers: tokenAuth, payload: {} }),
        403,
        'F1108',
      );
      const list = await app.inject({ url: '/api/apiToken', headers: { authorization: clerk } });
      assert.deepEqual(
        list.json<{ apiToken: Array<{ id: string; name: string }> }>().apiToken.map((t) => [t.id, t.name]),
        [[uid, 'laptop']],
      );
      assert.equal(list.body.includes(key), false, 'the key is never listed');
      assert.equal(
        (await app.inject({ url: '/api/apiToken', headers: { authorization: admin } })).json<{
          apiToken: [];
        }>().apiToken.length,
        0,
      );
      assertWebMessage(
        await app.inject({
          method: 'DELETE',
          url: `/api/apiToken/${uid}`,
          headers: { authorization: admin },
        }),
        404,
        'F1200',
      );
      const revoked = await app.inject({
        method: 'DELETE',
        url: `/api/apiToken/${uid}`,
        headers: { authorization: clerk },
      });
      assert.equal(revoked.statusCode, 200);
      assertWebMessage(await app.inject({ url: '/api/me', headers: tokenAuth }), 401, 'F1101');

      assertWebMessage(
        await app.inject({
          method: 'POST',
          url: '/api/apiToken',
          headers: { authorization: clerk },
          payload: { expire: Date.now() - 1000 },
        }),
        400,
        'F1000',
      );
      const expiring = await context.auth.createApiToken('clerkUser01', {
        expires: new Date(Date.now() - 1),
      });
      assertWebMessage(
        await app.inject({ url: '/api/me', headers: { authorization: `ApiToken ${expiring.token}` } }),
        401,
        'F1103',
      );
    });

    it('reads metadata with DHIS2 fields, filters and paging', async () => {
      const auth = { authorization: clerk };
      const list = await app.inject({ url: '/api/dataElements.json?pageSize=5&page=3', headers: auth });
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual(list.json(), {
        pager: { page: 3, pageCount: 12, total: 60, pageSize: 5 },
        dataElements: [10, 11, 12, 13, 14].map((i) => ({
          id: `deUid0000${i}`,
          displayName: `Data element ${i}`,
        })),
      });
      const filtered = await app.inject({
        url: '/api/dataElements?fields=id,name,code,categoryCombo[id,name]&filter=code:in:[DE_1,DE_2]&filter=valueType:eq:TEXT&paging=false',
        headers: auth,
      });
      assert.deepEqual(filtered.json(), {
        dataElements: [
          {
            id: 'deUid000001',
            name: 'Data element 01',
            code: 'DE_1',
            categoryCombo: { id: 'bjDvmb4bfuf', name: 'default' },
          },
        ],
      });
      const one = await app.inject({ url: '/api/dataElements/deUid000002.json', headers: auth });
      assert.equal(one.json<{ valueType: string }>().valueType, 'NUMBER');
      assert.equal(one.json<{ displayName: string }>().displayName, 'Data element 02');
      const owner = await app.inject({
        url: '/api/dataElements/deUid000002?fields=:owner,!shortName',
        headers: auth,
      });
      assert.equal(owner.json<{ shortName?: string }>().shortName, undefined);
      assert.deepEqual(owner.json<{ categoryCombo: unknown }>().categoryCombo, { id: 'bjDvmb4bfuf' });

      const unknownProperty = await app.inject({
        url: '/api/dataElements?filter=colour:eq:red',
        headers: auth,
      });
      assertWebMessage(unknownProperty, 400, 'F1020');
      assert.match(unknownProperty.json<{ message: string }>().message, /colour/);
      const unknownOperator = await app.inject({
        url: '/api/dataElements?filter=name:near:x',
        headers: auth,
      });
      assertWebMessage(unknownOperator, 400, 'F1021');
      assert.match(unknownOperator.json<{ message: string }>().message, /near/);
      assertWebMessage(
        await app.inject({ url: '/api/dataElements?pageSize=10001', headers: auth }),
        400,
        'F1000',
      );
      assertWebMessage(
        await app.inject({ url: '/api/dataElements?paging=maybe', headers: auth }),
        400,
        'F1000',
      );
      assertWebMessage(
        await app.inject({ url: '/api/dataElements/nosuchuid01', headers: auth }),
        404,
        'F1200',
      );
      assertWebMessage(await app.inject({ url: '/api/noSuchThings', headers: auth }), 404, 'F1201');
      assertWebMessage(await app.inject({ url: '/api/dataSetElements', headers: auth }), 404, 'F1201');
    });

    it('never sends user secrets', async () => {
      const auth = { authorization: clerk };
      for (const url of [
        '/api/users?fields=*&paging=false',
        '/api/users/importedUs1',
        '/api/users/importedUs1?fields=password,userCredentials[password,username]',
        '/api/dataElements?fields=createdBy[*]',
      ]) {
        const response = await app.inject({ url, headers: auth });
        assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
        assert.equal(response.body.includes('Secret-from-file1'), false, url);
        assert.equal(response.body.includes('scrypt'), false, url);
      }
      const imported = await app.inject({ url: '/api/users/importedUs1', headers: auth });
      assert.deepEqual(imported.json<{ userCredentials: unknown }>().userCredentials, {
        username: 'imported',
      });
    });

    it('refuses a disabled user at once', async () => {
      await context.users.createUser({
        username: 'leaver',
        password: 'leaver-password',
        roles: [ROLES.reader],
      });
      const leaver = basicAuth('leaver', 'leaver-password');
      assert.equal(
        (await app.inject({ url: '/api/me', headers: { authorization: leaver } })).statusCode,
        200,
      );
      await context.users.setDisabled('leaver', true);
      assertWebMessage(
        await app.inject({ url: '/api/me', headers: { authorization: leaver } }),
        401,
        'F1105',
      );
    });
  });
}
