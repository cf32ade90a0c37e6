import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import { DedupeStore } from '../../src/storage/dedupe-store.ts';

/*
 * De-duplication pools over HTTP (issue 16): create, read, change and delete by authority and
 * sharing; entries listed newest first with keyset paging and prefix search; entity types as JSON
 * and CSV. On SQLite and PostgreSQL.
 */

const MANAGER = { id: 'dedupeMgr01', username: 'pool.manager', password: 'Manager-password-1' };
const CLERK = { id: 'dedupeClk01', username: 'pool.clerk', password: 'Clerk-password-1' };
const MANAGER_AUTH = basicAuth(MANAGER.username, MANAGER.password);
const CLERK_AUTH = basicAuth(CLERK.username, CLERK.password);

async function seedUsers(context: FerryContext): Promise<void> {
  await context.storage.transaction(async (tx) => {
    await context.metadata.withExecutor(tx).save('userRoles', [
      { id: 'dedupeRole1', name: 'Pool manager', authorities: ['F_DEDUPE_POOL_MANAGE'] },
      { id: 'dedupeRole2', name: 'Clerk', authorities: ['F_DATAVALUE_ADD'] },
    ]);
  });
  await context.users.createUser({ ...MANAGER, roles: ['dedupeRole1'] });
  await context.users.createUser({ ...CLERK, roles: ['dedupeRole2'] });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`De-duplication pools over HTTP (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase | undefined;
    let context: FerryContext | undefined;
    let app: FastifyInstance | undefined;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, { setup: (c) => seedUsers(c) }));
    });
    after(async () => {
      await stopTestApp({ db, context, app });
    });

    const call = async (
      method: 'GET' | 'POST' | 'PUT' | 'DELETE',
      url: string,
      auth: string,
      payload?: unknown,
    ) => {
      const response = await app!.inject({
        method,
        url,
        headers: { authorization: auth },
        payload: payload as object,
      });
      return {
        status: response.statusCode,
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test replies are read loosely
        body: response.body ? (JSON.parse(response.body) as Record<string, any>) : {},
      };
    };

    it('lists entity types with stable numeric ids, as JSON and CSV', async () => {
      const json = await call('GET', '/api/dedupe/entityTypes', CLERK_AUTH);
      assert.equal(json.status, 200);
      const types = json.body.entityTypes as Array<{ id: number; code: string }>;
      assert.deepEqual(
        types.map((t) => [t.id, t.code]),
        [
          [1, 'DATA_VALUE'],
          [2, 'EVENT'],
          [3, 'TRACKED_ENTITY'],
          [4, 'ENROLLMENT'],
          [5, 'ORGANISATION_UNIT'],
        ],
      );
      const csv = await app!.inject({
        method: 'GET',
        url: '/api/dedupe/entityTypes.csv',
        headers: { authorization: CLERK_AUTH },
      });
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /text\/csv/);
      const lines = csv.body.trim().split('\n');
      assert.equal(lines[0], 'id,code,name,key_fields');
      assert.equal(
        lines[1],
        '1,DATA_VALUE,Data value,dataElement/period/orgUnit/categoryOptionCombo/attributeOptionCombo',
      );
      assert.equal((await app!.inject({ method: 'GET', url: '/api/dedupe/entityTypes' })).statusCode, 401);
    });

    it('creates pools only with F_DEDUPE_POOL_MANAGE; the creator owns a pool others cannot see', async () => {
      const refused = await call('POST', '/api/dedupe/pools', CLERK_AUTH, { name: 'Clerk pool' });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.errorCode, 'F1102');

      const created = await call('POST', '/api/dedupe/pools', MANAGER_AUTH, {
        name: 'Facility files',
        description: 'USB keys',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const pool = created.body.response;
      assert.equal(pool.retentionDays, 90);
      assert.equal(pool.sharing.owner, MANAGER.id);
      assert.equal(pool.sharing.public, '--------');

      const bad = await call('POST', '/api/dedupe/pools', MANAGER_AUTH, { name: 'X', retentionDays: 0 });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errorCode, 'F1000');
      assert.match(bad.body.message, /retentionDays/);
      const twice = await call('POST', '/api/dedupe/pools', MANAGER_AUTH, { name: 'Facility files' });
      assert.equal(twice.status, 409);

      // The clerk neither lists nor reads it (404, not 403: its name does not leak).
      assert.deepEqual((await call('GET', '/api/dedupe/pools', CLERK_AUTH)).body.pools, []);
      assert.equal((await call('GET', `/api/dedupe/pools/${pool.id}`, CLERK_AUTH)).status, 404);
      // The administrator (ALL) sees every pool.
      const all = (await call('GET', '/api/dedupe/pools', ADMIN_AUTH)).body.pools as Array<{
        name: string;
        entryCount: number;
      }>;
      assert.deepEqual(
        all.map((p) => [p.name, p.entryCount]),
        [['Facility files', 0]],
      );

      // Shared read-only with the clerk: seen and searched, not changed.
      const shared = await call('PUT', `/api/dedupe/pools/${pool.id}`, MANAGER_AUTH, {
        name: 'Facility files',
        description: 'USB keys',
        retentionDays: 30,
        sharing: { public: '--------', users: { [CLERK.id]: { access: 'r-r-----' } } },
      });
      assert.equal(shared.status, 200, JSON.stringify(shared.body));
      assert.equal(shared.body.response.retentionDays, 30);
      assert.equal(shared.body.response.sharing.owner, MANAGER.id, 'the owner is kept');
      assert.equal((await call('GET', `/api/dedupe/pools/${pool.id}`, CLERK_AUTH)).status, 200);
      assert.equal((await call('GET', `/api/dedupe/pools/${pool.id}/entries`, CLERK_AUTH)).status, 200);
      const change = await call('PUT', `/api/dedupe/pools/${pool.id}`, CLERK_AUTH, { name: 'Mine now' });
      assert.equal(change.status, 403);
      assert.equal(change.body.errorCode, 'F1700');
      assert.equal((await call('DELETE', `/api/dedupe/pools/${pool.id}`, CLERK_AUTH)).status, 403);

      // Metadata read only: the pool is seen, its entries are not (data read is needed).
      await call('PUT', `/api/dedupe/pools/${pool.id}`, MANAGER_AUTH, {
        name: 'Facility files',
        sharing: { public: '--------', users: { [CLERK.id]: { access: 'r-------' } } },
      });
      assert.equal((await call('GET', `/api/dedupe/pools/${pool.id}`, CLERK_AUTH)).status, 200);
      const entries = await call('GET', `/api/dedupe/pools/${pool.id}/entries`, CLERK_AUTH);
      assert.equal(entries.status, 403);
      assert.match(entries.body.message, /data read access is required/);
      assert.equal((await call('POST', `/api/dedupe/pools/${pool.id}/export`, CLERK_AUTH)).status, 403);

      // Pools are found by name too.
      assert.equal(
        (await call('GET', `/api/dedupe/pools/${encodeURIComponent('Facility files')}`, MANAGER_AUTH)).body
          .id,
        pool.id,
      );

      const deleted = await call('DELETE', `/api/dedupe/pools/${pool.id}`, MANAGER_AUTH);
      assert.equal(deleted.status, 200);
      assert.equal((await call('GET', `/api/dedupe/pools/${pool.id}`, MANAGER_AUTH)).status, 404);
    });

    it('lists entries newest first, by keyset pages and key prefix', async () => {
      const pool = (await call('POST', '/api/dedupe/pools', ADMIN_AUTH, { name: 'Entries' })).body.response;
      const row = await new DedupeStore(context!.storage).poolByUid(pool.id);
      const keys = Array.from({ length: 25 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
      for (const key of keys) {
        await new DedupeStore(context!.storage).trackKeys(
          row!.poolId,
          1,
          [key],
          new Date().toISOString(),
          null,
        );
      }
      await new DedupeStore(context!.storage).trackKeys(
        row!.poolId,
        2,
        ['key_x%'],
        new Date().toISOString(),
        null,
      );
      const seen: string[] = [];
      let before: number | null | undefined;
      for (let page = 0; page < 10 && before !== null; page++) {
        const url = `/api/dedupe/pools/${pool.id}/entries?pageSize=10${before ? `&before=${before}` : ''}`;
        const result = await call('GET', url, ADMIN_AUTH);
        assert.equal(result.status, 200);
        seen.push(...(result.body.entries as Array<{ value: string }>).map((e) => e.value));
        before = result.body.pager.nextBefore;
      }
      assert.deepEqual(seen, ['key_x%', ...[...keys].reverse()]);
      // LIKE's wildcards in a prefix are literal.
      const wild = await call('GET', `/api/dedupe/pools/${pool.id}/entries?prefix=key_x%25`, ADMIN_AUTH);
      assert.deepEqual(
        wild.body.entries.map((e: { value: string }) => e.value),
        ['key_x%'],
      );
      assert.equal(wild.body.entries[0].entityType, 'EVENT');
      const prefixed = await call('GET', `/api/dedupe/pools/${pool.id}/entries?prefix=key-1`, ADMIN_AUTH);
      assert.equal(prefixed.body.entries.length, 10);
      const typed = await call('GET', `/api/dedupe/pools/${pool.id}/entries?entityType=2`, ADMIN_AUTH);
      assert.equal(typed.body.entries.length, 1);
      assert.equal(
        (await call('GET', `/api/dedupe/pools/${pool.id}/entries?pageSize=0`, ADMIN_AUTH)).status,
        400,
      );
    });
  });
}
