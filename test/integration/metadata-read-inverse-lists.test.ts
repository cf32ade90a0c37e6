import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

/*
 * DHIS2 keeps a program's stages on the stages (each names its `program`) and a data set's sections
 * on the sections. A package that lists them only there, not on the program or data set, must still
 * show them in `/api/programs?fields=programStages[...]`, as the Import/Export app's event pages ask.
 */
const PACKAGE = {
  trackedEntityTypes: [{ id: 'tetInverse1', name: 'Inverse person', shortName: 'Inverse person' }],
  programs: [
    {
      id: 'prInverse01',
      name: 'Inverse program',
      shortName: 'Inverse program',
      programType: 'WITHOUT_REGISTRATION',
    },
  ],
  programStages: [
    { id: 'psInverse02', name: 'Second stage', program: { id: 'prInverse01' }, sortOrder: 2 },
    { id: 'psInverse01', name: 'First stage', program: { id: 'prInverse01' }, sortOrder: 1 },
  ],
  dataSets: [{ id: 'dsInverse01', name: 'Inverse set', shortName: 'Inverse set', periodType: 'Monthly' }],
  sections: [{ id: 'seInverse01', name: 'Only section', dataSet: { id: 'dsInverse01' } }],
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(`inverse lists in metadata reads (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind));
      const imported = await app.inject({
        method: 'POST',
        url: '/api/metadata',
        payload: PACKAGE,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
      });
      assert.equal(imported.statusCode, 200, imported.body);
    });
    after(() => stopTestApp({ db, context, app }));

    it('a program lists the stages that name it, in sortOrder, with nested fields', async () => {
      const response = await app.inject({
        url: '/api/programs?fields=id,programStages[id,name]&filter=id:eq:prInverse01',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json<{ programs: unknown[] }>().programs, [
        {
          id: 'prInverse01',
          programStages: [
            { id: 'psInverse01', name: 'First stage' },
            { id: 'psInverse02', name: 'Second stage' },
          ],
        },
      ]);
      const one = await app.inject({
        url: '/api/programs/prInverse01?fields=programStages::size,programStages',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(one.statusCode, 200, one.body);
      assert.deepEqual(one.json(), { programStages: 2 });
      const all = await app.inject({
        url: '/api/programs/prInverse01',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.deepEqual(all.json<{ programStages: unknown }>().programStages, [
        { id: 'psInverse01' },
        { id: 'psInverse02' },
      ]);
    });

    it('a data set lists the sections that name it; :owner exports leave the inverse side out', async () => {
      const response = await app.inject({
        url: '/api/dataSets/dsInverse01?fields=sections[id,displayName]',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.deepEqual(response.json(), { sections: [{ id: 'seInverse01', displayName: 'Only section' }] });
      const owner = await app.inject({
        url: '/api/dataSets/dsInverse01?fields=:owner',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(owner.json<{ sections?: unknown }>().sections, undefined);
    });
  });
}
