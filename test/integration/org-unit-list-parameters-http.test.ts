import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';

/**
 * Two roots, four levels deep under the first:
 * Aland > Bravo > Charlie > Delta, Aland > Bravo > Cobalt, Aland > Beta > Cedar; Zulu > Yankee.
 */
const OU = {
  aland: 'OuRootA0001',
  bravo: 'OuLevel2B01',
  charlie: 'OuLevel3C01',
  delta: 'OuLevel4D01',
  cobalt: 'OuLevel3C02',
  beta: 'OuLevel2B02',
  cedar: 'OuLevel3C03',
  zulu: 'OuRootZ0001',
  yankee: 'OuLevel2Y01',
} as const;

const TREE: ReadonlyArray<[name: string, uid: string, parent?: string]> = [
  ['Aland', OU.aland],
  ['Bravo', OU.bravo, OU.aland],
  ['Charlie', OU.charlie, OU.bravo],
  ['Delta', OU.delta, OU.charlie],
  ['Cobalt', OU.cobalt, OU.bravo],
  ['Beta', OU.beta, OU.aland],
  ['Cedar', OU.cedar, OU.beta],
  ['Zulu', OU.zulu],
  ['Yankee', OU.yankee, OU.zulu],
];
const ALL_NAMES = TREE.map(([name]) => name).sort();

function treeOrgUnits(): MetadataObject[] {
  const paths = new Map<string, string>();
  return TREE.map(([name, id, parent]) => {
    const path = parent ? `${paths.get(parent)}/${id}` : `/${id}`;
    paths.set(id, path);
    return {
      id,
      name,
      shortName: name,
      openingDate: '2024-01-01T00:00:00.000',
      path,
      level: path.split('/').length - 1,
      ...(parent ? { parent: { id: parent } } : {}),
    };
  });
}

/** Captures in Bravo, views Beta, searches Zulu: three scopes that do not overlap. */
const CLERK = { id: 'ouClerk0001', username: 'ou.clerk', password: 'clerk-password-1' } as const;
const CLERK_AUTH = basicAuth(CLERK.username, CLERK.password);

for (const kind of TEST_DATABASE_KINDS) {
  describe(`org unit list parameters over HTTP on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (context) => context.metadata.save('organisationUnits', treeOrgUnits()),
        setup: async (context) => {
          const clerk = await context.users.createUser({
            ...CLERK,
            orgUnits: [OU.bravo],
            viewOrgUnits: [OU.beta],
          });
          // No service sets the search scope yet; store it as a metadata import of the user would.
          await context.metadata.save('users', [{ ...clerk, teiSearchOrganisationUnits: [{ id: OU.zulu }] }]);
        },
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    async function get(url: string, auth = ADMIN_AUTH): Promise<Record<string, unknown>> {
      const response = await app.inject({ url, headers: { authorization: auth } });
      assert.equal(response.statusCode, 200, `${url}: ${response.body}`);
      return response.json<Record<string, unknown>>();
    }

    /** Names of the org units a list returns, unpaged, in the endpoint's order (by name). */
    async function names(query: string, auth = ADMIN_AUTH): Promise<string[]> {
      const sep = query ? '&' : '';
      const body = await get(`/api/organisationUnits?paging=false&fields=name${sep}${query}`, auth);
      return (body.organisationUnits as Array<{ name: string }>).map((o) => o.name);
    }

    async function refused(url: string, parameter: string, value: string): Promise<void> {
      const response = await app.inject({ url, headers: { authorization: ADMIN_AUTH } });
      assert.equal(response.statusCode, 400, `${url}: ${response.body}`);
      const body = response.json<{ errorCode: string; message: string }>();
      assert.equal(body.errorCode, 'F1000', response.body);
      assert.ok(body.message.includes(`\`${parameter}\``), body.message);
      assert.ok(body.message.includes(`\`${value}\``), body.message);
    }

    it('lists the whole tree without the parameters (the control for every case below)', async () => {
      assert.deepEqual(await names(''), ALL_NAMES);
      assert.deepEqual(await names('', CLERK_AUTH), ALL_NAMES);
    });

    it('level keeps only the org units at that level, like filter=level:eq', async () => {
      assert.deepEqual(await names('level=2'), ['Beta', 'Bravo', 'Yankee']);
      assert.deepEqual(await names('level=4'), ['Delta']);
      assert.deepEqual(await names('level=9'), []);
      assert.deepEqual(await names('level=3'), await names('filter=level:eq:3'));
      const suffixed = await get('/api/organisationUnits.json?level=1&paging=false&fields=name');
      assert.deepEqual(suffixed.organisationUnits, [{ name: 'Aland' }, { name: 'Zulu' }]);
    });

    it('maxLevel keeps the org units at that level or above, compared as numbers', async () => {
      assert.deepEqual(await names('maxLevel=1'), ['Aland', 'Zulu']);
      assert.deepEqual(await names('maxLevel=2'), ['Aland', 'Beta', 'Bravo', 'Yankee', 'Zulu']);
      assert.deepEqual(
        await names('maxLevel=3'),
        ALL_NAMES.filter((n) => n !== 'Delta'),
      );
      // As text, "10" would sort before "4" and leave Delta out.
      assert.deepEqual(await names('maxLevel=10'), ALL_NAMES);
      assert.deepEqual(await names('maxLevel=3&level=2'), ['Beta', 'Bravo', 'Yankee']);
      assert.deepEqual(await names('maxLevel=1&level=2'), []);
    });

    it("userOnly and userDataViewOnly keep the user's own capture and data view org units", async () => {
      assert.deepEqual(await names('userOnly=true', CLERK_AUTH), ['Bravo']);
      assert.deepEqual(await names('userDataViewOnly=true', CLERK_AUTH), ['Beta']);
      assert.deepEqual(await names('userOnly=false', CLERK_AUTH), ALL_NAMES);
      // The administrator created over a stored tree captures at its roots and has no data view
      // org units of its own: DHIS2 does not fall back to the capture ones here.
      assert.deepEqual(await names('userOnly=true'), ['Aland', 'Zulu']);
      assert.deepEqual(await names('userDataViewOnly=true'), []);
    });

    it('withinUserHierarchy keeps the capture org units and everything below them', async () => {
      assert.deepEqual(await names('withinUserHierarchy=true', CLERK_AUTH), [
        'Bravo',
        'Charlie',
        'Cobalt',
        'Delta',
      ]);
      assert.deepEqual(await names('withinUserHierarchy=true'), ALL_NAMES);
      assert.deepEqual(await names('withinUserHierarchy=false', CLERK_AUTH), ALL_NAMES);
    });

    it('withinUserSearchHierarchy uses the search org units, and yields to withinUserHierarchy', async () => {
      assert.deepEqual(await names('withinUserSearchHierarchy=true', CLERK_AUTH), ['Yankee', 'Zulu']);
      assert.deepEqual(await names('withinUserSearchHierarchy=true&withinUserHierarchy=true', CLERK_AUTH), [
        'Bravo',
        'Charlie',
        'Cobalt',
        'Delta',
      ]);
      // Without search org units DHIS2 falls back to the capture ones: the administrator's roots.
      assert.deepEqual(await names('withinUserSearchHierarchy=true'), ALL_NAMES);
    });

    it('combines with filter, fields and paging', async () => {
      assert.deepEqual(await names('withinUserHierarchy=true&level=3', CLERK_AUTH), ['Charlie', 'Cobalt']);
      assert.deepEqual(await names('withinUserHierarchy=true&filter=name:ilike:co', CLERK_AUTH), ['Cobalt']);
      const page = await get(
        '/api/organisationUnits?withinUserHierarchy=true&pageSize=3&page=2&fields=id,level',
        CLERK_AUTH,
      );
      assert.deepEqual(page.pager, { page: 2, pageCount: 2, total: 4, pageSize: 3 });
      assert.deepEqual(page.organisationUnits, [{ id: OU.delta, level: 4 }]);
    });

    it('refuses a level, maxLevel or flag that is not one with 400 F1000 naming the parameter', async () => {
      await refused('/api/organisationUnits?level=abc', 'level', 'abc');
      await refused('/api/organisationUnits?level=0', 'level', '0');
      await refused('/api/organisationUnits?level=-1', 'level', '-1');
      await refused('/api/organisationUnits?maxLevel=2.5', 'maxLevel', '2.5');
      await refused('/api/organisationUnits?userOnly=yes', 'userOnly', 'yes');
      await refused('/api/organisationUnits?userDataViewOnly=1', 'userDataViewOnly', '1');
      await refused('/api/organisationUnits?withinUserHierarchy=on', 'withinUserHierarchy', 'on');
      await refused('/api/organisationUnits?withinUserSearchHierarchy=x', 'withinUserSearchHierarchy', 'x');
    });

    it('ignores the parameters on other collections, as DHIS2 does', async () => {
      const plain = await get('/api/users?paging=false&fields=username');
      assert.ok((plain.users as unknown[]).length >= 2, JSON.stringify(plain));
      for (const query of [
        'level=abc',
        'level=2',
        'maxLevel=0',
        'userOnly=true',
        'withinUserHierarchy=true',
      ]) {
        assert.deepEqual(await get(`/api/users?paging=false&fields=username&${query}`), plain, query);
      }
    });
  });
}
