import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

// A package shaped like DHIS2's published ones (issue 11), posted as a client posts it: an unknown
// creator, a default category option without a short name, visualizations sharing a name,
// predictors, and a collection Ferry does not know. Everything known is written.

const PACKAGE = {
  system: { id: 'eed3d451-4ff5-4193-b951-ffcc68954299', version: '2.41.1' },
  categoryOptions: [{ id: 'xYerKDKCefk', name: 'default', code: 'default' }],
  dataElements: [
    {
      id: 'dePackageA1',
      name: 'Package element',
      shortName: 'Package element',
      valueType: 'NUMBER',
      domainType: 'AGGREGATE',
      aggregationType: 'SUM',
      user: { id: 'xE7jOejl9FI' },
      createdBy: { id: 'xE7jOejl9FI' },
      lastUpdatedBy: { id: 'xE7jOejl9FI' },
    },
  ],
  predictors: [
    {
      id: 'prPackageA1',
      name: 'Package predictor',
      shortName: 'Package predictor',
      output: { id: 'dePackageA1' },
      generator: { expression: '#{dePackageA1}', missingValueStrategy: 'NEVER_SKIP' },
      periodType: 'Monthly',
      sequentialSampleCount: 1,
      annualSampleCount: 0,
      organisationUnitLevels: [],
      user: { id: 'xE7jOejl9FI' },
    },
  ],
  predictorGroups: [{ id: 'pgPackageA1', name: 'Package predictors', predictors: [{ id: 'prPackageA1' }] }],
  visualizations: [
    { id: 'vzPackageA1', name: 'Same name', type: 'COLUMN' },
    { id: 'vzPackageA2', name: 'Same name', type: 'LINE' },
  ],
  somethingFromAFutureRelease: [{ id: 'futureAAAA1' }, { id: 'futureAAAA2' }, { id: 'futureAAAA3' }],
};

interface Report {
  status: string;
  response: {
    status: string;
    stats: { created: number; updated: number; ignored: number };
    typeReports: Array<{
      klass: string;
      stats: { ignored: number };
      objectReports: Array<{ errorReports: Array<{ errorCode: string; message: string }> }>;
    }>;
  };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`a DHIS2 metadata package over HTTP on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind));
    });
    after(() => stopTestApp({ db, context, app }));

    it('writes every known object and warns about the unknown collection', async () => {
      const reply = await app.inject({
        method: 'POST',
        url: '/api/metadata?importReportMode=FULL',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
        payload: JSON.stringify(PACKAGE),
      });
      // DHIS2's WebMessage: any status but OK is a 409 with the report inside.
      assert.equal(reply.statusCode, 409, reply.body);
      const body = reply.json<Report>();
      assert.equal(body.response.status, 'WARNING');
      // The default option exists in every Ferry (virtually before the first commit): an update.
      assert.equal(body.response.stats.created, 5);
      assert.equal(body.response.stats.updated, 1);
      assert.equal(body.response.stats.ignored, 3);
      const errors = body.response.typeReports.flatMap((t) =>
        t.objectReports.flatMap((o) => o.errorReports.map((e) => `${t.klass} ${e.errorCode} ${e.message}`)),
      );
      assert.deepEqual(errors, [
        'somethingFromAFutureRelease E6002 Class name somethingFromAFutureRelease is not supported; 3 objects skipped.',
      ]);
      assert.equal(await context.metadata.count('visualizations'), 2);
      assert.ok(await context.metadata.get('predictorGroups', 'pgPackageA1'));
      const predictor = await context.metadata.get('predictors', 'prPackageA1');
      assert.notDeepEqual(predictor?.user, { id: 'xE7jOejl9FI' }, 'the importer owns it');
    });

    it('lists the added types in /api/schemas as the Import/Export app asks for them', async () => {
      const reply = await app.inject({
        method: 'GET',
        url: '/api/schemas?fields=metadata,collectionName,displayName,klass',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(reply.statusCode, 200, reply.body);
      const schemas = reply.json<{
        schemas: Array<{ collectionName: string; displayName: string; metadata: boolean }>;
      }>().schemas;
      const byName = new Map(schemas.map((s) => [s.collectionName, s]));
      for (const collection of [
        'predictors',
        'predictorGroups',
        'aggregateDataExchanges',
        'trackedEntityInstanceFilters',
      ]) {
        assert.equal(byName.get(collection)?.metadata, true, `${collection} listed`);
      }
      assert.equal(byName.get('predictorGroups')?.displayName, 'Predictor Group');
    });
  });
}
