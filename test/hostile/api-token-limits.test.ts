import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';

/**
 * Personal access tokens with DHIS2's limits (allowed IPs, methods, referrers, an expiry) and
 * Ferry's read-only scope, checked on every request the token authenticates; expired and revoked
 * tokens stop at once; and a token never buys a session cookie (DHIS2's CVE-2023-31139 class).
 */

interface WebMessage {
  httpStatusCode: number;
  errorCode?: string;
  message?: string;
}

function refused(response: LightMyRequestResponse, status: number, code: string): string {
  assert.equal(response.statusCode, status, response.body);
  const body = response.json<WebMessage>();
  assert.equal(body.errorCode, code, response.body);
  return body.message ?? '';
}

const A_DATA_ELEMENT = {
  id: 'deTokenLim1',
  name: 'Token limits',
  shortName: 'Token limits',
  valueType: 'NUMBER',
  domainType: 'AGGREGATE',
  aggregationType: 'SUM',
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(`API token limits on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind);
    });
    after(() => stopTestApp(started));

    async function createToken(body: Record<string, unknown>): Promise<{ uid: string; key: string }> {
      const created = await started!.app.inject({
        method: 'POST',
        url: '/api/apiToken',
        headers: { authorization: ADMIN_AUTH },
        payload: body,
      });
      assert.equal(created.statusCode, 201, created.body);
      return created.json<{ response: { uid: string; key: string } }>().response;
    }

    const postDataElement = (key: string, extra: Record<string, string> = {}) =>
      started!.app.inject({
        method: 'POST',
        url: '/api/metadata',
        headers: { authorization: `ApiToken ${key}`, 'content-type': 'application/json', ...extra },
        payload: JSON.stringify({ dataElements: [A_DATA_ELEMENT] }),
      });

    it('an IP allow-list (addresses and CIDR ranges) admits only those clients', async () => {
      const { key } = await createToken({
        name: 'office',
        attributes: [{ type: 'IpAllowedList', allowedIps: ['10.1.0.0/16', '192.0.2.7'] }],
      });
      const me = (remoteAddress: string, headers: Record<string, string> = {}) =>
        started!.app.inject({
          url: '/api/me',
          remoteAddress,
          headers: { authorization: `ApiToken ${key}`, ...headers },
        });
      const message = refused(await me('127.0.0.1'), 403, 'F1109');
      assert.match(message, /IP address 127\.0\.0\.1 is not in the token's allowed IPs/);
      // A forwarded-for header is the client's word, not its address.
      refused(await me('127.0.0.1', { 'x-forwarded-for': '10.1.2.3' }), 403, 'F1109');
      refused(await me('10.2.0.1'), 403, 'F1109');
      assert.equal((await me('10.1.200.3')).statusCode, 200);
      assert.equal((await me('192.0.2.7')).statusCode, 200);
      assert.equal((await me('::ffff:10.1.0.9')).statusCode, 200);
    });

    it('a method allow-list refuses other methods and writes nothing', async () => {
      const { key } = await createToken({
        attributes: [{ type: 'MethodAllowedList', allowedMethods: ['GET'] }],
      });
      const read = await started!.app.inject({
        url: '/api/me',
        headers: { authorization: `ApiToken ${key}` },
      });
      assert.equal(read.statusCode, 200, read.body);
      const message = refused(await postDataElement(key), 403, 'F1109');
      assert.match(message, /HTTP method POST is not in the token's allowed methods \(GET\)/);
      assert.equal(await started!.context.metadata.get('dataElements', A_DATA_ELEMENT.id), undefined);
    });

    it('a referrer allow-list needs one of its referrers', async () => {
      const { key } = await createToken({
        attributes: [{ type: 'RefererAllowedList', allowedReferrers: ['https://dashboard.example.org/'] }],
      });
      const me = (headers: Record<string, string>) =>
        started!.app.inject({ url: '/api/me', headers: { authorization: `ApiToken ${key}`, ...headers } });
      assert.match(refused(await me({}), 403, 'F1109'), /no Referer header/);
      assert.match(
        refused(await me({ referer: 'https://evil.example.net/' }), 403, 'F1109'),
        /referrer https:\/\/evil\.example\.net\/ is not in the token's allowed referrers/,
      );
      assert.equal((await me({ referer: 'https://dashboard.example.org/' })).statusCode, 200);
    });

    it("Ferry's read scope lets a token read and never write", async () => {
      const { key, uid } = await createToken({
        attributes: [{ type: 'ScopeAllowedList', allowedScopes: ['read'] }],
      });
      const headers = { authorization: `ApiToken ${key}` };
      assert.equal((await started!.app.inject({ url: '/api/me', headers })).statusCode, 200);
      assert.equal((await started!.app.inject({ method: 'HEAD', url: '/api/me', headers })).statusCode, 200);
      assert.match(refused(await postDataElement(key), 403, 'F1109'), /read-only/);
      refused(
        await started!.app.inject({
          method: 'DELETE',
          url: `/api/dataElements/${A_DATA_ELEMENT.id}`,
          headers,
        }),
        403,
        'F1109',
      );
      assert.equal(await started!.context.metadata.get('dataElements', A_DATA_ELEMENT.id), undefined);
      // The limits are stored with the token and listed with it.
      const list = await started!.app.inject({
        url: '/api/apiToken',
        headers: { authorization: ADMIN_AUTH },
      });
      const listed = list
        .json<{ apiToken: Array<{ id: string; attributes: unknown }> }>()
        .apiToken.find((t) => t.id === uid);
      assert.deepEqual(listed?.attributes, [{ type: 'ScopeAllowedList', allowedScopes: ['read'] }]);
    });

    it('limits combine: every attribute must pass', async () => {
      const { key } = await createToken({
        attributes: [
          { type: 'IpAllowedList', allowedIps: ['127.0.0.1'] },
          { type: 'MethodAllowedList', allowedMethods: ['get', 'POST'] },
        ],
      });
      const created = await postDataElement(key);
      assert.equal(created.statusCode, 200, created.body);
      assert.ok(await started!.context.metadata.get('dataElements', A_DATA_ELEMENT.id));
      refused(
        await started!.app.inject({
          method: 'DELETE',
          url: `/api/dataElements/${A_DATA_ELEMENT.id}`,
          headers: { authorization: `ApiToken ${key}` },
        }),
        403,
        'F1109',
      );
      refused(
        await started!.app.inject({
          url: '/api/me',
          remoteAddress: '10.0.0.1',
          headers: { authorization: `ApiToken ${key}` },
        }),
        403,
        'F1109',
      );
    });

    it('malformed limits are refused and no token is made', async () => {
      const before = (
        await started!.app.inject({ url: '/api/apiToken', headers: { authorization: ADMIN_AUTH } })
      ).json<{ apiToken: unknown[] }>().apiToken.length;
      const bad: Array<[unknown, RegExp]> = [
        [[{ type: 'IpAllowedList', allowedIps: ['10.0.0.300'] }], /allowedIps/],
        [[{ type: 'IpAllowedList', allowedIps: ['10.0.0.0/33'] }], /allowedIps/],
        [[{ type: 'IpAllowedList', allowedIps: [] }], /allowedIps/],
        [[{ type: 'MethodAllowedList', allowedMethods: ['TRACE'] }], /allowedMethods/],
        [[{ type: 'ScopeAllowedList', allowedScopes: ['admin'] }], /allowedScopes/],
        [[{ type: 'RootAccess' }], /attributes\.type/],
        [{ type: 'IpAllowedList' }, /attributes/],
      ];
      for (const [attributes, field] of bad) {
        const response = await started!.app.inject({
          method: 'POST',
          url: '/api/apiToken',
          headers: { authorization: ADMIN_AUTH },
          payload: { attributes },
        });
        assert.match(refused(response, 400, 'F1000'), field);
      }
      const after = (
        await started!.app.inject({ url: '/api/apiToken', headers: { authorization: ADMIN_AUTH } })
      ).json<{ apiToken: unknown[] }>().apiToken.length;
      assert.equal(after, before);
    });

    it('an expired token and a revoked token are refused with 401', async () => {
      const expiring = await createToken({ expire: Date.now() + 1_000 });
      const headers = { authorization: `ApiToken ${expiring.key}` };
      assert.equal((await started!.app.inject({ url: '/api/me', headers })).statusCode, 200);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      assert.match(refused(await started!.app.inject({ url: '/api/me', headers }), 401, 'F1103'), /expired/);

      const revoking = await createToken({ name: 'to revoke' });
      const revokingHeaders = { authorization: `ApiToken ${revoking.key}` };
      assert.equal((await started!.app.inject({ url: '/api/me', headers: revokingHeaders })).statusCode, 200);
      const revoked = await started!.app.inject({
        method: 'DELETE',
        url: `/api/apiToken/${revoking.uid}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(revoked.statusCode, 200, revoked.body);
      refused(await started!.app.inject({ url: '/api/me', headers: revokingHeaders }), 401, 'F1101');
    });

    it('a request carrying a token never gets a session cookie', async () => {
      const { key } = await createToken({
        attributes: [{ type: 'MethodAllowedList', allowedMethods: ['GET'] }],
      });
      const login = await started!.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { authorization: `ApiToken ${key}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ username: 'admin', password: 'district' }),
      });
      refused(login, 403, 'F1110');
      assert.equal(login.headers['set-cookie'], undefined);
      // Without the token the same sign-in works, so it was the token that was refused.
      const plain = await started!.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ username: 'admin', password: 'district' }),
      });
      assert.equal(plain.statusCode, 200, plain.body);
      assert.ok(plain.headers['set-cookie']);
    });
  });
}
