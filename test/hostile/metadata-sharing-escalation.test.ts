import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

/**
 * Raising one's own data rights by rewriting sharing through the metadata import: a user with only
 * F_METADATA_IMPORT must not give itself data write on a data set or category option whose sharing
 * does not let it edit them (E3001), nor delete them (E3002); changing sharing needs the type's
 * public authority (E3008); a user with a user group authority must not add itself to a group it
 * may not edit, unless it holds F_USERGROUP_MANAGING_RELATIONSHIPS_ADD. Superusers keep every right.
 */

const ROLE = {
  importer: 'roleShImp01',
  groupAdmin: 'roleShGrp01',
  relations: 'roleShRel01',
  dataSetAdmin: 'roleShDsA01',
} as const;

const USERS = {
  importer: { id: 'userShImp01', username: 'share.importer', password: 'importer-password' },
  groupAdmin: { id: 'userShGrp01', username: 'share.groupadmin', password: 'groupadmin-password' },
  relations: { id: 'userShRel01', username: 'share.relations', password: 'relations-password' },
  editor: { id: 'userShEdt01', username: 'share.editor', password: 'editor-password' },
  dataSetAdmin: { id: 'userShDsA01', username: 'share.dsadmin', password: 'dsadmin-password' },
} as const;

const GROUP_EDITORS = 'grpShEdit01';
const GROUP_OPEN = 'grpShOpen01';

/** A data set only its editors' group may write data of; the editor user may edit its metadata. */
const DATA_SET = {
  id: 'dsShLock001',
  name: 'Locked data set',
  shortName: 'Locked data set',
  periodType: 'Monthly',
  sharing: {
    public: 'r-r-----',
    users: {
      [USERS.editor.id]: { id: USERS.editor.id, access: 'rw------' },
      [USERS.dataSetAdmin.id]: { id: USERS.dataSetAdmin.id, access: 'rw------' },
    },
    userGroups: { [GROUP_EDITORS]: { id: GROUP_EDITORS, access: 'rwrw----' } },
  },
};

const CATEGORY_OPTION = {
  id: 'coShLock001',
  name: 'Locked option',
  shortName: 'Locked option',
  publicAccess: 'r-r-----',
  userGroupAccesses: [{ id: GROUP_EDITORS, access: 'rwrw----' }],
};

const EDITORS = { id: GROUP_EDITORS, name: 'Data set editors', users: [], sharing: { public: 'r-------' } };
const OPEN = { id: GROUP_OPEN, name: 'Open group', users: [] };

const auth = (user: { username: string; password: string }) => basicAuth(user.username, user.password);

async function seed(context: FerryContext): Promise<void> {
  const now = '2024-01-01T00:00:00.000';
  await context.storage.transaction(async (tx) => {
    const store = context.metadata.withExecutor(tx);
    await store.save(
      'userRoles',
      [
        {
          id: ROLE.importer,
          name: 'Sharing importer',
          authorities: ['F_METADATA_IMPORT', 'F_DATAVALUE_ADD'],
        },
        {
          id: ROLE.groupAdmin,
          name: 'Group admin',
          authorities: ['F_METADATA_IMPORT', 'F_USERGROUP_PUBLIC_ADD'],
        },
        {
          id: ROLE.relations,
          name: 'Group relations',
          authorities: [
            'F_METADATA_IMPORT',
            'F_USERGROUP_PUBLIC_ADD',
            'F_USERGROUP_MANAGING_RELATIONSHIPS_ADD',
          ],
        },
        {
          id: ROLE.dataSetAdmin,
          name: 'Data set admin',
          authorities: ['F_METADATA_IMPORT', 'F_DATASET_PUBLIC_ADD'],
        },
      ],
      now,
    );
    await store.save('userGroups', [EDITORS, OPEN], now);
    await store.save('dataSets', [DATA_SET], now);
    await store.save('categoryOptions', [CATEGORY_OPTION], now);
  });
  await context.users.createUser({ ...USERS.importer, roles: [ROLE.importer] });
  await context.users.createUser({ ...USERS.groupAdmin, roles: [ROLE.groupAdmin] });
  await context.users.createUser({ ...USERS.relations, roles: [ROLE.relations] });
  await context.users.createUser({ ...USERS.editor, roles: [ROLE.importer] });
  await context.users.createUser({ ...USERS.dataSetAdmin, roles: [ROLE.dataSetAdmin] });
}

interface ImportBody {
  response: {
    status: string;
    stats: { created: number; updated: number; deleted: number; ignored: number };
    typeReports: Array<{
      klass: string;
      objectReports: Array<{ errorReports: Array<{ errorCode: string; message: string; mainId?: string }> }>;
    }>;
  };
}

function errorCodes(response: LightMyRequestResponse): string[] {
  return response
    .json<ImportBody>()
    .response.typeReports.flatMap((t) =>
      t.objectReports.flatMap((o) => o.errorReports.map((e) => e.errorCode)),
    );
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`metadata sharing escalation on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, { setup: seed });
    });
    after(() => stopTestApp(started));

    const importAs = (authorization: string, payload: unknown, query = '') =>
      started!.app.inject({
        method: 'POST',
        url: `/api/metadata${query}`,
        headers: { authorization, 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });

    const stored = (collection: string, uid: string) => started!.context.metadata.get(collection, uid);

    function refusedWith(response: LightMyRequestResponse, code: string): void {
      assert.equal(response.statusCode, 409, response.body);
      assert.equal(response.json<ImportBody>().response.status, 'ERROR');
      assert.ok(errorCodes(response).includes(code), `expected ${code} in ${response.body}`);
    }

    it("an importer cannot rewrite a data set's sharing to give itself data write (E3001)", async () => {
      const selfGrant = {
        ...DATA_SET,
        sharing: {
          ...DATA_SET.sharing,
          users: { [USERS.importer.id]: { id: USERS.importer.id, access: 'rwrw----' } },
        },
      };
      refusedWith(await importAs(auth(USERS.importer), { dataSets: [selfGrant] }), 'E3001');
      // The older sharing shape, and merge mode, and skipValidation: the same refusal.
      const legacy = { ...DATA_SET, sharing: undefined, publicAccess: 'rwrw----' };
      refusedWith(await importAs(auth(USERS.importer), { dataSets: [legacy] }), 'E3001');
      refusedWith(
        await importAs(
          auth(USERS.importer),
          { dataSets: [{ id: DATA_SET.id, sharing: { public: 'rwrw----' } }] },
          '?mergeMode=MERGE&skipValidation=true',
        ),
        'E3001',
      );
      // Dropping the sharing would make it public (an object without sharing grants rwrw----).
      const { sharing: _dropped, ...withoutSharing } = DATA_SET;
      refusedWith(await importAs(auth(USERS.importer), { dataSets: [withoutSharing] }), 'E3001');
      assert.deepEqual((await stored('dataSets', DATA_SET.id))?.sharing, DATA_SET.sharing);
    });

    it("an importer cannot open a category option's sharing (E3001) nor delete it (E3002)", async () => {
      refusedWith(
        await importAs(auth(USERS.importer), {
          categoryOptions: [{ ...CATEGORY_OPTION, publicAccess: 'rwrw----' }],
        }),
        'E3001',
      );
      refusedWith(
        await importAs(
          auth(USERS.importer),
          { categoryOptions: [{ id: CATEGORY_OPTION.id }] },
          '?importStrategy=DELETE',
        ),
        'E3002',
      );
      const option = await stored('categoryOptions', CATEGORY_OPTION.id);
      assert.equal(option?.publicAccess, 'r-r-----');
    });

    it('atomicMode NONE writes the allowed objects only; atomicMode ALL writes nothing', async () => {
      const attack = {
        dataElements: [
          {
            id: 'deShAllowed',
            name: 'Allowed element',
            shortName: 'Allowed element',
            valueType: 'NUMBER',
            domainType: 'AGGREGATE',
            aggregationType: 'SUM',
          },
        ],
        dataSets: [{ ...DATA_SET, sharing: { public: 'rwrw----' } }],
      };
      refusedWith(await importAs(auth(USERS.importer), attack), 'E3001');
      assert.equal(await stored('dataElements', 'deShAllowed'), undefined);
      const partial = await importAs(auth(USERS.importer), attack, '?atomicMode=NONE');
      assert.equal(partial.statusCode, 409, partial.body);
      const body = partial.json<ImportBody>().response;
      assert.equal(body.status, 'WARNING');
      assert.equal(body.stats.created, 1);
      assert.ok(await stored('dataElements', 'deShAllowed'));
      assert.deepEqual((await stored('dataSets', DATA_SET.id))?.sharing, DATA_SET.sharing);
    });

    it("a user who may edit the data set still needs the type's public authority to change its sharing (E3008)", async () => {
      // The editor may edit the metadata: a rename goes through.
      const renamed = await importAs(auth(USERS.editor), {
        dataSets: [{ ...DATA_SET, name: 'Locked data set (renamed)' }],
      });
      assert.equal(renamed.statusCode, 200, renamed.body);
      const selfGrant = {
        ...DATA_SET,
        sharing: {
          ...DATA_SET.sharing,
          users: {
            ...DATA_SET.sharing.users,
            [USERS.editor.id]: { id: USERS.editor.id, access: 'rwrw----' },
          },
        },
      };
      const refused = await importAs(auth(USERS.editor), { dataSets: [selfGrant] });
      refusedWith(refused, 'E3008');
      assert.match(
        refused.body,
        /is not allowed to make public objects of type `org\.hisp\.dhis\.dataset\.DataSet`/,
      );
      assert.deepEqual((await stored('dataSets', DATA_SET.id))?.sharing, DATA_SET.sharing);

      // With F_DATASET_PUBLIC_ADD and write sharing, DHIS2 lets the sharing change.
      const granted = await importAs(auth(USERS.dataSetAdmin), { dataSets: [selfGrant] });
      assert.equal(granted.statusCode, 200, granted.body);
      const sharing = (await stored('dataSets', DATA_SET.id))?.sharing as {
        users: Record<string, { access: string }>;
      };
      assert.equal(sharing.users[USERS.editor.id].access, 'rwrw----');
    });

    it('a user group authority does not let a user join a group it may not edit', async () => {
      const join = (user: { id: string }) => ({ userGroups: [{ ...EDITORS, users: [{ id: user.id }] }] });
      refusedWith(await importAs(auth(USERS.groupAdmin), join(USERS.groupAdmin)), 'E3001');
      // Merge mode, naming only the members: the same refusal.
      refusedWith(
        await importAs(
          auth(USERS.groupAdmin),
          { userGroups: [{ id: GROUP_EDITORS, users: [{ id: USERS.groupAdmin.id }] }] },
          '?mergeMode=MERGE',
        ),
        'E3001',
      );
      assert.deepEqual((await stored('userGroups', GROUP_EDITORS))?.users, []);

      // A group without sharing is open to edit, as any object without sharing (public rw).
      const open = await importAs(auth(USERS.groupAdmin), {
        userGroups: [{ ...OPEN, users: [{ id: USERS.groupAdmin.id }] }],
      });
      assert.equal(open.statusCode, 200, open.body);

      // DHIS2's managing-relationships authority adds members without write access to the group...
      const before = await started!.app.inject({
        url: '/api/me?fields=userGroups[id]',
        headers: { authorization: auth(USERS.relations) },
      });
      assert.deepEqual(before.json<{ userGroups: unknown[] }>().userGroups, []);
      const added = await importAs(auth(USERS.relations), join(USERS.relations));
      assert.equal(added.statusCode, 200, added.body);
      // ...and the new membership counts at once (cached principals are dropped).
      const me = await started!.app.inject({
        url: '/api/me?fields=userGroups[id]',
        headers: { authorization: auth(USERS.relations) },
      });
      assert.deepEqual(
        me.json<{ userGroups: Array<{ id: string }> }>().userGroups.map((g) => g.id),
        [GROUP_EDITORS],
      );
      // ...but not other edits of the group.
      refusedWith(
        await importAs(auth(USERS.relations), {
          userGroups: [{ ...EDITORS, name: 'Renamed editors', users: [{ id: USERS.relations.id }] }],
        }),
        'E3001',
      );
    });

    it('a superuser keeps every right', async () => {
      const opened = await importAs(ADMIN_AUTH, {
        categoryOptions: [{ ...CATEGORY_OPTION, publicAccess: 'rwrw----' }],
      });
      assert.equal(opened.statusCode, 200, opened.body);
      assert.equal((await stored('categoryOptions', CATEGORY_OPTION.id))?.publicAccess, 'rwrw----');
    });
  });
}
