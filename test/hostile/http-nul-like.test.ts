import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH, basicAuth, CATEGORY_COMBO, seedAccessFixtures } from '../support/access-fixtures.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { bufferedStart } from '../../src/http/buffered-start.ts';

/** Names whose LIKE wildcards must match only themselves. */
const NAMES = {
  percent: '100% done',
  hundreds: '1000 done',
  underscore: 'a_b ward',
  anyChar: 'axb ward',
  backslash: 'back\\slash',
} as const;

function dataElement(id: string, name: string) {
  return {
    id,
    name,
    shortName: name,
    valueType: 'NUMBER',
    domainType: 'AGGREGATE',
    aggregationType: 'SUM',
    categoryCombo: { id: CATEGORY_COMBO },
  };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`NUL characters and LIKE wildcards over HTTP (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          await seedAccessFixtures(context.storage, context.metadata);
          await context.metadata.save(
            'dataElements',
            Object.values(NAMES).map((name, i) => dataElement(`likeDeUid0${i}`, name)),
          );
        },
      });
    });
    after(() => stopTestApp(started));

    const get = (url: string, authorization = ADMIN_AUTH) =>
      started!.app.inject({ method: 'GET', url, headers: { authorization } });

    it('refuses %00 in ids, filters and parameters with 400 naming the parameter, on every route tried', async () => {
      for (const [url, parameter] of [
        ['/api/dataElements/deUid%00000000', 'uid'],
        ['/api/dataElements/deUid000000?fields=id%00', 'fields'],
        ['/api/dataElements?filter=name:eq:a%00b', 'filter'],
        ['/api/dataElements?filter=name:like:%00', 'filter'],
        ['/api/dataElements?filter=id:in:[a,b%00]', 'filter'],
        ['/api/organisationUnits?level=1%00', 'level'],
        ['/api/metadata?dataElements=true&filter=name:eq:a%00b', 'filter'],
        ['/api/metadata.json.gz?filter=name:like:x%00', 'filter'],
        ['/api/dataElements/deUid000000/metadata?x=%00', 'x'],
        ['/api/dataValueSets?dataSet=pBOMPrpg1QX%00&period=202401&orgUnit=ImspTQPwCqd', 'dataSet'],
        ['/api/jobs/abc%00', 'id'],
        ['/api/exports/abc%00/file', 'id'],
        ['/api/system/tasks/DATAVALUE_IMPORT/x%00', 'id'],
      ] as const) {
        const response = await get(url);
        assert.equal(response.statusCode, 400, `${url}: ${response.body.slice(0, 300)}`);
        const body = response.json();
        assert.equal(body.errorCode, 'F1000', url);
        assert.match(body.message, new RegExp(`\`${parameter}\``), url);
      }
    });

    it('refuses NUL in a Basic username and in JSON bodies with 400, never 500', async () => {
      const basic = await get('/api/me', basicAuth('ad\0min', 'district'));
      assert.equal(basic.statusCode, 400, basic.body.slice(0, 300));
      const login = await started!.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: '{"username":"ad\\u0000min","password":"district"}',
      });
      assert.equal(login.statusCode, 400, login.body.slice(0, 300));
    });

    it('refuses NUL in a filter or id at the store too, below HTTP, as F1000 on both databases', async () => {
      const { context } = started!;
      await assert.rejects(
        context.metadataQuery.list('dataElements', { filters: ['name:eq:a\0b'] }),
        (error: { code?: string }) => error.code === 'F1000',
      );
      await assert.rejects(
        context.metadata.get('dataElements', 'deUid\0'),
        (error: { code?: string }) => error.code === 'F1000',
      );
    });

    it('matches % and _ in like, ilike and $like filters literally', async () => {
      const names = async (filter: string): Promise<string[]> => {
        const response = await get(
          `/api/dataElements?fields=name&paging=false&filter=${encodeURIComponent(filter)}`,
        );
        assert.equal(response.statusCode, 200, `${filter}: ${response.body.slice(0, 300)}`);
        return (response.json().dataElements as { name: string }[]).map((d) => d.name).sort();
      };
      assert.deepEqual(await names('name:like:0% d'), [NAMES.percent]);
      assert.deepEqual(await names('name:ilike:%'), [NAMES.percent]);
      assert.deepEqual(await names('name:like:a_b'), [NAMES.underscore]);
      assert.deepEqual(await names('name:ilike:_'), [NAMES.underscore]);
      assert.deepEqual(await names('name:$like:100%'), [NAMES.percent]);
      assert.deepEqual(await names('name:^like:a_'), [NAMES.underscore]);
      assert.deepEqual(await names('name:like:k\\s'), [NAMES.backslash]);
      // Plain text still matches as before.
      assert.deepEqual(await names('name:like: ward'), [NAMES.underscore, NAMES.anyChar].sort());
    });
  });
}

describe('bufferedStart', () => {
  it('throws an error raised before the first 64 KiB instead of returning a stream', async () => {
    async function* failing(): AsyncIterable<string> {
      yield '{"system":{}';
      throw new Error('the database refused the query');
    }
    await assert.rejects(bufferedStart(failing()), /refused the query/);
  });

  it('passes every chunk through, in order, and ends the source when the reader stops early', async () => {
    let ended = false;
    async function* source(): AsyncIterable<string> {
      try {
        for (let i = 0; i < 10; i++) yield 'x'.repeat(10_000) + i;
      } finally {
        ended = true;
      }
    }
    const all: string[] = [];
    for await (const chunk of await bufferedStart(source())) all.push(chunk.slice(-1));
    assert.deepEqual(all, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    ended = false;
    for await (const chunk of await bufferedStart(source())) {
      if (chunk.endsWith('8')) break;
    }
    assert.equal(ended, true);
  });
});
