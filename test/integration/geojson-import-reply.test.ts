import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { seedAccessFixtures, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { GEOMETRY_ORG_UNITS } from './geometry-fixtures.ts';

/**
 * `POST /api/organisationUnits/geometry` as DHIS2's GeoJsonImportController answers it: HTTP 200,
 * a WebMessage with DHIS2's status and message, a GeoJsonImportReport with `importCount` and
 * `conflicts` under DHIS2's codes (E7702-E7711) and feature indexes; `attributeId` stores the
 * geometry in a GEOJSON org unit attribute; an unknown org unit is reported before its geometry.
 */

const admin = basicAuth('admin', 'district');
const SQUARE = {
  type: 'Polygon',
  coordinates: [
    [
      [-12, 8],
      [-11, 8],
      [-11, 9],
      [-12, 8],
    ],
  ],
};

interface Reply {
  httpStatusCode: number;
  status: string;
  message: string;
  response: {
    responseType: string;
    status: string;
    importCount: { imported: number; updated: number; ignored: number; deleted: number };
    conflicts: { errorCode: string; value: string; indexes?: number[] }[];
    totalConflictOccurrenceCount: number;
  };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`GeoJSON import reply (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: async (context, db) => {
          await seedAccessFixtures(db.storage, context.metadata);
          await context.metadata.save('organisationUnits', GEOMETRY_ORG_UNITS);
          await context.metadata.save('attributes', [
            { id: 'GeoAttr0001', name: 'Catchment', valueType: 'GEOJSON', organisationUnitAttribute: true },
            { id: 'TextAttr001', name: 'Note', valueType: 'TEXT', organisationUnitAttribute: true },
            { id: 'GeoAttrDe01', name: 'DE area', valueType: 'GEOJSON', dataElementAttribute: true },
          ]);
        },
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    const post = async (query: string, features: unknown[]): Promise<Reply> => {
      const response = await app.inject({
        method: 'POST',
        url: `/api/organisationUnits/geometry${query}`,
        payload: JSON.stringify({ type: 'FeatureCollection', features }),
        headers: { authorization: admin, 'content-type': 'application/geo+json' },
      });
      assert.equal(response.statusCode, 200, response.body);
      return response.json<Reply>();
    };

    it("answers in DHIS2's shape: 200, WARNING 'Import partially successful.', conflicts by E77xx code with feature indexes", async () => {
      const reply = await post('', [
        { type: 'Feature', id: 'O6uvpzGd5pu', geometry: SQUARE },
        { type: 'Feature', id: 'noSuchOU001', geometry: SQUARE },
        // Unknown org unit AND no geometry: the org unit is reported (E7708), as DHIS2 does.
        { type: 'Feature', id: 'noSuchOU002' },
        { type: 'Feature', id: 'TEQlaapDQoK' },
        { type: 'Feature', geometry: SQUARE },
        { type: 'Feature', id: 'ImspTQPwCqd', geometry: { type: 'Polygon', coordinates: 'nonsense' } },
      ]);
      assert.equal(reply.httpStatusCode, 200);
      assert.equal(reply.status, 'WARNING');
      assert.equal(reply.message, 'Import partially successful.');
      assert.equal(reply.response.responseType, 'GeoJsonImportReport');
      assert.deepEqual(reply.response.importCount, { imported: 1, updated: 0, ignored: 5, deleted: 0 });
      assert.equal(reply.response.totalConflictOccurrenceCount, 5);
      const byCode = Object.fromEntries(reply.response.conflicts.map((c) => [c.errorCode, c.indexes]));
      assert.deepEqual(byCode, { E7708: [1, 2], E7706: [3], E7705: [4], E7707: [5] });
      assert.equal(
        reply.response.conflicts.find((c) => c.errorCode === 'E7708')?.value,
        'GeoJSON target organisation unit does not exist',
      );
      assert.deepEqual((await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.geometry, SQUARE);

      const failed = await post('', [{ type: 'Feature', id: 'noSuchOU001', geometry: SQUARE }]);
      assert.deepEqual(
        [failed.status, failed.message, failed.response.status],
        ['ERROR', 'Import failed.', 'ERROR'],
      );
      const ok = await post('', [{ type: 'Feature', id: 'TEQlaapDQoK', geometry: SQUARE }]);
      assert.deepEqual([ok.status, ok.message, ok.response.status], ['OK', 'Import successful.', 'SUCCESS']);
      assert.equal(ok.response.importCount.imported, 1);
    });

    it('attributeId: the geometry goes to the GEOJSON attribute, the geometry field stays; E7702, E7703, E7704 refuse the import', async () => {
      const point = { type: 'Point', coordinates: [-11.5, 8.5] };
      const before = (await context.metadata.get('organisationUnits', 'TEQlaapDQoK'))?.geometry;
      const reply = await post('?attributeId=GeoAttr0001', [
        { type: 'Feature', id: 'TEQlaapDQoK', geometry: point },
      ]);
      assert.equal(reply.status, 'OK', JSON.stringify(reply));
      assert.equal(reply.response.importCount.imported, 1);
      const unit = await context.metadata.get('organisationUnits', 'TEQlaapDQoK');
      assert.deepEqual(unit?.geometry, before, 'geometry field untouched');
      const values = unit?.attributeValues as { attribute: { id: string }; value: string }[];
      const stored = values.find((v) => v.attribute.id === 'GeoAttr0001');
      assert.deepEqual(JSON.parse(stored!.value), point);

      for (const [attributeId, code] of [
        ['noSuchAttr1', 'E7702'],
        ['TextAttr001', 'E7703'],
        ['GeoAttrDe01', 'E7704'],
      ] as const) {
        const refused = await post(`?attributeId=${attributeId}`, [
          { type: 'Feature', id: 'O6uvpzGd5pu', geometry: point },
        ]);
        assert.equal(refused.status, 'ERROR', attributeId);
        assert.equal(refused.message, 'Import failed.');
        assert.deepEqual(
          refused.response.conflicts.map((c) => [c.errorCode, c.indexes]),
          [[code, undefined]],
        );
      }
      assert.deepEqual((await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.geometry, SQUARE);
    });
  });
}
