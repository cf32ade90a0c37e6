import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH, seedAccessFixtures } from '../support/access-fixtures.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { INPUT_LIMITS } from '../../src/codecs/input/input-limits.ts';

const PROTOTYPE_NAMES = ['__proto__', 'constructor', 'toString', 'prototype', 'hasOwnProperty', 'valueOf'];

function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`JSON depth and prototype keys over HTTP (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: (context) => seedAccessFixtures(context.storage, context.metadata),
      });
    });
    after(() => stopTestApp(started));

    const post = (url: string, payload: string, auth = true) =>
      started!.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: ADMIN_AUTH } : {}) },
        payload,
      });

    it('refuses JSON nested 5,000 deep with 400 naming the limit, on every JSON route', async () => {
      const deep = nested(5000);
      for (const [url, body, auth] of [
        ['/api/exports', `{"kind":"metadata","params":{"x":${deep}}}`, true],
        ['/api/exports/abc/regenerate', `{"password":${deep}}`, true],
        ['/api/apiToken', `{"name":${deep}}`, true],
        ['/api/auth/login', `{"username":${deep},"password":"x"}`, false],
      ] as const) {
        const response = await post(url, body, auth);
        assert.equal(response.statusCode, 400, `${url}: ${response.body.slice(0, 300)}`);
        assert.equal(response.json().errorCode, 'F1001');
        assert.match(
          response.json().message,
          new RegExp(`deeper than ${INPUT_LIMITS.maxNestingDepth} levels`),
        );
      }
    });

    it('accepts nesting up to the limit and refuses one level more', async () => {
      const limit = INPUT_LIMITS.maxNestingDepth;
      // The object is one level; params another.
      const ok = await post('/api/exports', `{"kind":"nonsense","params":{"x":${nested(limit - 2)}}}`);
      assert.notEqual(ok.json().message?.includes('deeper than'), true, ok.body.slice(0, 300));
      const over = await post('/api/exports', `{"kind":"nonsense","params":{"x":${nested(limit - 1)}}}`);
      assert.equal(over.statusCode, 400);
      assert.match(over.json().message, /deeper than/);
    });

    it('refuses prototype keys and NUL characters in JSON bodies with 400', async () => {
      for (const body of [
        '{"kind":"metadata","params":{"__proto__":{"polluted":true}}}',
        '{"kind":"metadata","constructor":{"prototype":{"polluted":true}}}',
        '{"kind":"meta\\u0000data"}',
      ]) {
        const response = await post('/api/exports', body);
        assert.equal(response.statusCode, 400, `${body}: ${response.body.slice(0, 300)}`);
      }
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
    });

    it('never answers 500 to prototype names in fields, filter, collections or ids', async () => {
      const { app } = started!;
      const urls = PROTOTYPE_NAMES.flatMap((name) => [
        `/api/dataElements?fields=${name}`,
        `/api/dataElements?fields=id,categoryCombo[${name}]`,
        `/api/dataElements?fields=:${name}`,
        `/api/dataElements?filter=${name}:eq:x`,
        `/api/dataElements?filter=name:${name}:x`,
        `/api/dataElements/${name}?fields=id`,
        `/api/${name}`,
        `/api/${name}/deUid000000`,
        `/api/metadata?fields=${name}&dataElements=true`,
        `/api/metadata?${name}=true`,
        `/api/schemas/${name}`,
      ]);
      for (const url of urls) {
        const response = await app.inject({ method: 'GET', url, headers: { authorization: ADMIN_AUTH } });
        assert.ok(response.statusCode < 500, `${url}: ${response.statusCode} ${response.body.slice(0, 300)}`);
      }
    });

    it('selects no inherited property: fields=constructor,toString gives objects without them', async () => {
      const { app } = started!;
      const response = await app.inject({
        method: 'GET',
        url: '/api/dataElements?fields=id,constructor,toString,valueOf&pageSize=2',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(response.statusCode, 200, response.body.slice(0, 300));
      for (const object of response.json().dataElements as Record<string, unknown>[]) {
        assert.deepEqual(Object.keys(object), ['id']);
      }
    });
  });
}
