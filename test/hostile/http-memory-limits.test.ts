import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { HTTP_LIMITS } from '../../src/codecs/input/input-limits.ts';
import { LoginThrottle, throttleAddress } from '../../src/services/access/login-throttle.ts';

const ATTACKER = '203.0.113.7';
const ADMIN_DESK = '198.51.100.20';

function login(app: TestApp['app'], username: string, password: string, remoteAddress: string) {
  return app.inject({
    method: 'POST',
    url: '/api/auth/login',
    remoteAddress,
    payload: { username, password },
  });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`HTTP memory limits (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind);
    });
    after(() => stopTestApp(started));

    it('refuses a sign-in body above the small-body limit with 413, unauthenticated', async () => {
      const { app } = started!;
      const response = await login(app, 'admin', 'x'.repeat(HTTP_LIMITS.maxSmallBodyBytes + 1), ATTACKER);
      assert.equal(response.statusCode, 413, response.body.slice(0, 300));
      assert.equal(response.json().errorCode, 'F1002');
      assert.match(response.json().message, new RegExp(`limit of ${HTTP_LIMITS.maxSmallBodyBytes} bytes`));
    });

    it('refuses a JSON body above the JSON limit with 413 on a route that is not an upload', async () => {
      const { app } = started!;
      const response = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify({
          kind: 'metadata',
          params: { padding: 'x'.repeat(HTTP_LIMITS.maxJsonBodyBytes) },
        }),
      });
      assert.equal(response.statusCode, 413, response.body.slice(0, 300));
      assert.match(response.json().message, new RegExp(`limit of ${HTTP_LIMITS.maxJsonBodyBytes} bytes`));
    });

    it('refuses a settings body above the small-body limit with 413', async () => {
      const { app } = started!;
      const big = 'x'.repeat(HTTP_LIMITS.maxSmallBodyBytes + 1);
      for (const [url, payload, type] of [
        ['/api/userSettings/keyUiLocale', big, 'text/plain'],
        ['/api/userSettings', JSON.stringify({ keyUiLocale: big }), 'application/json'],
        ['/api/systemSettings/applicationTitle', big, 'text/plain'],
        ['/api/systemSettings', JSON.stringify({ applicationTitle: big }), 'application/json'],
      ] as const) {
        const response = await app.inject({
          method: 'POST',
          url,
          headers: { authorization: ADMIN_AUTH, 'content-type': type },
          payload,
        });
        assert.equal(response.statusCode, 413, `${url}: ${response.body.slice(0, 300)}`);
      }
    });

    it('refuses an over-long username with 400 and keeps nothing of it', async () => {
      const { app, context } = started!;
      const before = context.auth.throttledKeys;
      const response = await login(
        app,
        'u'.repeat(HTTP_LIMITS.maxUsernameChars + 1),
        'wrong-password',
        ATTACKER,
      );
      assert.equal(response.statusCode, 400, response.body.slice(0, 300));
      assert.match(response.json().message, /username/);
      assert.equal(context.auth.throttledKeys, before);
    });

    it('slows the attacking address down but lets admin sign in from another address', async () => {
      const { app } = started!;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        statuses.push((await login(app, 'admin', `guess-${i}`, ATTACKER)).statusCode);
      }
      // Free failures are 401s; after them the attacker waits (429), even with the right password.
      assert.deepEqual(
        statuses.slice(0, HTTP_LIMITS.loginFreeFailures),
        Array(HTTP_LIMITS.loginFreeFailures).fill(401),
      );
      assert.equal(statuses.at(-1), 429);
      assert.equal((await login(app, 'admin', 'district', ATTACKER)).statusCode, 429);
      const admin = await login(app, 'admin', 'district', ADMIN_DESK);
      assert.equal(admin.statusCode, 200, admin.body.slice(0, 300));
    });
  });
}

describe('Login throttle', () => {
  it('stays bounded at its key cap over twice that many failing usernames, and forgets keys', () => {
    let clock = 0;
    const throttle = new LoginThrottle({
      freeFailures: 5,
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      forgetAfterMs: 3_600_000,
      maxKeys: HTTP_LIMITS.loginMaxKeys,
      now: () => clock,
    });
    for (let i = 0; i < 2 * HTTP_LIMITS.loginMaxKeys; i++) {
      throttle.fail(`203.0.113.7\0user-${i}`);
      clock += 1;
    }
    assert.equal(throttle.size, HTTP_LIMITS.loginMaxKeys);
    const newest = `203.0.113.7\0user-${2 * HTTP_LIMITS.loginMaxKeys - 1}`;
    for (let i = 0; i < 6; i++) throttle.fail(newest);
    assert.throws(() => throttle.check(newest), /try again/);
    clock += 3_600_000;
    throttle.check(newest);
    assert.equal(throttle.size, HTTP_LIMITS.loginMaxKeys - 1, 'an expired key is dropped when next seen');
  });

  it('backs off exponentially and up to the maximum, then lets the key through', () => {
    let clock = 0;
    const throttle = new LoginThrottle({
      freeFailures: 2,
      baseDelayMs: 1000,
      maxDelayMs: 4000,
      forgetAfterMs: 3_600_000,
      maxKeys: 10,
      now: () => clock,
    });
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      throttle.fail('k');
      let waited = 0;
      for (;;) {
        try {
          throttle.check('k');
          break;
        } catch {
          clock += 500;
          waited += 500;
        }
      }
      waits.push(waited);
    }
    assert.deepEqual(waits, [0, 1000, 2000, 4000, 4000, 4000]);
    throttle.succeed('k');
    assert.equal(throttle.size, 0);
  });

  it('counts IPv6 clients by /64 and IPv4-mapped addresses as IPv4', () => {
    assert.equal(throttleAddress('203.0.113.7'), '203.0.113.7');
    assert.equal(throttleAddress('::ffff:203.0.113.7'), '203.0.113.7');
    const block = throttleAddress('2001:db8:1:2::1');
    assert.equal(block, '2001:db8:1:2::/64');
    for (const other of [
      '2001:db8:1:2:ffff::9',
      '2001:0db8:0001:0002:aaaa:bbbb:cccc:dddd',
      '2001:db8:1:2::1%eth0',
    ]) {
      assert.equal(throttleAddress(other), block, other);
    }
    assert.notEqual(throttleAddress('2001:db8:1:3::1'), block);
    assert.equal(throttleAddress('::1'), '0:0:0:0::/64');
  });
});
