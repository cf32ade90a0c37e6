import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH, ORG_UNITS, seedAccessFixtures } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';

// The requests of DHIS2's organisation unit tree (@dhis2/ui), as the Import/Export app hosted by
// Ferry sends them: `children::size` for whether a node opens, `children[id,path,displayName]`
// when it does. Both were 400 / empty before, and the tree could not be opened below its root.
for (const kind of TEST_DATABASE_KINDS) {
  describe(`org unit children and ::size in fields on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, {
        seed: (context, db) => seedAccessFixtures(db.storage, context.metadata),
      });
    });
    after(() => stopTestApp(started));
    const get = (url: string) => started!.app.inject({ url, headers: { authorization: ADMIN_AUTH } });

    it('answers the tree node request with the number of children', async () => {
      const root = await get(`/api/42/organisationUnits/${ORG_UNITS.sierraLeone}?fields=path,children::size`);
      assert.equal(root.statusCode, 200, root.body);
      assert.deepEqual(root.json(), { path: `/${ORG_UNITS.sierraLeone}`, children: 1 });
      const leaf = await get(`/api/42/organisationUnits/${ORG_UNITS.badjia}?fields=path,children::size`);
      assert.equal(leaf.json<{ children: number }>().children, 0);
    });

    it('expands children with their own selection, one level only', async () => {
      const response = await get(
        `/api/42/organisationUnits/${ORG_UNITS.sierraLeone}?fields=children[id,path,displayName]`,
      );
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), {
        children: [
          { id: ORG_UNITS.bo, path: `/${ORG_UNITS.sierraLeone}/${ORG_UNITS.bo}`, displayName: 'Bo' },
        ],
      });
      // A list: each unit its own children, nested as far as asked; plain `children` gives ids.
      const list = await get(
        '/api/organisationUnits?fields=id,children[id,children::size],parent&order=level&paging=false&filter=level:eq:1',
      );
      const byId = new Map(
        list
          .json<{ organisationUnits: { id: string; children: unknown[] }[] }>()
          .organisationUnits.map((u) => [u.id, u]),
      );
      assert.deepEqual(byId.get(ORG_UNITS.sierraLeone)?.children, [{ id: ORG_UNITS.bo, children: 1 }]);
      assert.deepEqual(byId.get(ORG_UNITS.otherRoot)?.children, []);
      const plain = await get(`/api/organisationUnits/${ORG_UNITS.bo}?fields=children`);
      assert.deepEqual(plain.json(), { children: [{ id: ORG_UNITS.badjia }] });
    });

    it('counts the children of a whole level (more parents than are looked up by path)', async () => {
      const units: MetadataObject[] = [];
      for (let i = 0; i < 120; i++) {
        const district = `Dst${String(i).padStart(8, '0')}`;
        const chiefdom = `Chf${String(i).padStart(8, '0')}`;
        const root = ORG_UNITS.otherRoot;
        units.push(
          {
            id: district,
            name: `District ${i}`,
            parent: { id: root },
            path: `/${root}/${district}`,
            level: 2,
          },
          {
            id: chiefdom,
            name: `Chiefdom ${i}`,
            parent: { id: district },
            path: `/${root}/${district}/${chiefdom}`,
            level: 3,
          },
        );
      }
      await started!.context.metadata.save('organisationUnits', units);
      const response = await get(
        '/api/organisationUnits?filter=level:eq:2&fields=id,children::size&paging=false',
      );
      assert.equal(response.statusCode, 200, response.body);
      const counts = response.json<{ organisationUnits: { id: string; children: number }[] }>()
        .organisationUnits;
      assert.equal(counts.length, 121);
      for (const unit of counts) assert.equal(unit.children, 1, unit.id);
      const root = await get(`/api/organisationUnits/${ORG_UNITS.otherRoot}?fields=children::size`);
      assert.deepEqual(root.json(), { children: 120 });
    });

    it('still refuses other transformers', async () => {
      const response = await get(`/api/organisationUnits/${ORG_UNITS.bo}?fields=name~rename(label)`);
      assert.equal(response.statusCode, 400);
      assert.equal(response.json<{ errorCode: string }>().errorCode, 'F1022');
    });
  });
}
