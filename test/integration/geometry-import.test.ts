import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importGeoJson, importGml } from '../../src/services/geometry/geometry-import-service.ts';
import type { ImportReport } from '../../src/domain/metadata-import/import-report.ts';
import { FerryError } from '../../src/errors.ts';
import { GEOMETRY_ORG_UNITS, GML2, GML3 } from './geometry-fixtures.ts';

async function withDatabase(
  kind: 'sqlite' | 'postgres',
  work: (context: FerryContext, db: TestDatabase) => Promise<void>,
) {
  const db = await createTestDatabase(kind);
  try {
    const context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
    await context.metadata.save('organisationUnits', GEOMETRY_ORG_UNITS);
    await work(context, db);
  } finally {
    await db.dispose();
  }
}

let fileCounter = 0;
function writeInput(db: TestDatabase, content: string | Buffer) {
  const path = join(db.dataDir, `input-${fileCounter++}`);
  writeFileSync(path, content);
  return { path, fileName: 'districts.gml' };
}

async function geometryOf(context: FerryContext, uid: string): Promise<unknown> {
  return (await context.metadata.get('organisationUnits', uid))?.geometry;
}

function errorCodes(report: ImportReport): string[] {
  return report.typeReports.flatMap((t) =>
    t.objectReports.flatMap((o) => o.errorReports.map((e) => `${o.index}:${e.errorCode}`)),
  );
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`geometry import (${kind})`, { skip: skipReasonFor(kind) }, () => {
    it('GML 2: polygon with a hole, multipolygon, point; uid before code before name; unmatched named', async () => {
      await withDatabase(kind, async (context, db) => {
        const report = await importGml(context, writeInput(db, GML2), { dryRun: false });
        assert.equal(report.status, 'WARNING');
        assert.deepEqual(report.stats, { created: 0, updated: 4, deleted: 0, ignored: 1, total: 5 });
        assert.deepEqual(errorCodes(report), ['3:E5001']);
        const messages = report.typeReports[0].objectReports.map((o) => o.errorReports[0].message);
        assert.match(messages[0], /feature 4 \(line \d+, name "Ole Johan Dahls Hus"\)/);
        // A uid that no org unit has falls through to the code, as in DHIS2.
        assert.deepEqual(await geometryOf(context, 'jUb8gELQApl'), {
          type: 'Point',
          coordinates: [10.7, 59.9],
        });
        assert.deepEqual(await geometryOf(context, 'O6uvpzGd5pu'), {
          type: 'Polygon',
          coordinates: [
            [
              [-11.8, 7.9],
              [-11.6, 7.9],
              [-11.6, 8.1],
              [-11.8, 8.1],
              [-11.8, 7.9],
            ],
            [
              [-11.75, 7.95],
              [-11.7, 7.95],
              [-11.7, 8.0],
              [-11.75, 7.95],
            ],
          ],
        });
        const bonthe = await context.metadata.get('organisationUnits', 'TEQlaapDQoK');
        assert.equal((bonthe?.geometry as { type: string }).type, 'MultiPolygon');
        assert.equal((bonthe?.geometry as { coordinates: unknown[] }).coordinates.length, 2);
        assert.equal(bonthe?.featureType, 'MULTI_POLYGON');
        assert.equal(bonthe?.name, 'Bonthe', 'only geometry changes');
        assert.deepEqual(await geometryOf(context, 'ImspTQPwCqd'), {
          type: 'Point',
          coordinates: [-13.2, 8.48],
        });
        assert.equal(await geometryOf(context, 'PMa2VCrupOd'), undefined, 'uid wins over code');
        assert.equal(
          await context.metadata.count('organisationUnits'),
          GEOMETRY_ORG_UNITS.length,
          'nothing created',
        );

        const again = await importGml(context, writeInput(db, GML2), { dryRun: false });
        assert.deepEqual(again.stats, { created: 0, updated: 0, deleted: 0, ignored: 5, total: 5 });
        assert.equal(again.status, 'WARNING');
      });
    });

    it('GML 3: posList, pos, exterior/interior, MultiSurface, featureMembers; gzip body', async () => {
      await withDatabase(kind, async (context, db) => {
        const report = await importGml(context, writeInput(db, gzipSync(GML3)), { dryRun: false });
        assert.equal(report.status, 'OK', JSON.stringify(report));
        assert.equal(report.stats.updated, 3);
        const bo = (await geometryOf(context, 'O6uvpzGd5pu')) as { coordinates: unknown[] };
        assert.equal(bo.coordinates.length, 2, 'inner ring kept');
        assert.deepEqual(await geometryOf(context, 'PMa2VCrupOd'), {
          type: 'Point',
          coordinates: [-11.1, 8.2],
        });
        assert.deepEqual(await geometryOf(context, 'TEQlaapDQoK'), {
          type: 'MultiPolygon',
          coordinates: [
            [
              [
                [-12.5, 7.3, 0],
                [-12.4, 7.3, 0],
                [-12.4, 7.4, 0],
                [-12.5, 7.3, 0],
              ],
            ],
          ],
        });
      });
    });

    it('dry run reports the same and writes nothing', async () => {
      await withDatabase(kind, async (context, db) => {
        const report = await importGml(context, writeInput(db, GML2), { dryRun: true });
        assert.equal(report.stats.updated, 4);
        assert.equal(await geometryOf(context, 'O6uvpzGd5pu'), undefined);
      });
    });

    it('malformed and malicious GML are refused with nothing written', async () => {
      await withDatabase(kind, async (context, db) => {
        const broken = GML2.replace(
          '</ogr:districts>\n  </gml:featureMember>\n  <gml:featureMember>\n    <ogr:districts fid="F3">',
          '</ogr:district>',
        );
        await assert.rejects(
          importGml(context, writeInput(db, broken), { dryRun: false }),
          (error: unknown) => {
            assert.ok(error instanceof FerryError);
            assert.equal(error.code, 'F1001');
            assert.match(error.message, /districts\.gml \(line \d+, column \d+\): malformed XML/);
            return true;
          },
        );
        assert.equal(
          await geometryOf(context, 'O6uvpzGd5pu'),
          undefined,
          'earlier features were not written',
        );
        const xxe = `<?xml version="1.0"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n<r><gml:featureMember xmlns:gml="g"><f><name>&xxe;</name></f></gml:featureMember></r>`;
        await assert.rejects(
          importGml(context, writeInput(db, xxe), { dryRun: false }),
          /DOCTYPE declaration is not allowed/,
        );
      });
    });

    it('invalid geometry is reported per feature', async () => {
      await withDatabase(kind, async (context, db) => {
        const open = GML3.replace(
          '-11.8 7.9 -11.6 7.9 -11.6 8.1 -11.8 7.9',
          '-11.8 7.9 -11.6 7.9 -11.6 8.1 -11.8 8.0',
        ).replace('-11.1 8.2', '-11.1 98.2');
        const report = await importGml(context, writeInput(db, open), { dryRun: false });
        assert.deepEqual(errorCodes(report), ['0:F1600', '1:F1600']);
        const messages = report.typeReports[0].objectReports.map((o) => o.errorReports[0].message);
        assert.match(messages[0], /outer ring is not closed/);
        assert.match(messages[1], /latitude 98.2 is outside/);
        assert.equal(report.stats.updated, 1);
      });
    });

    it('GeoJSON: geoJsonId, geoJsonProperty with orgUnitProperty=code, validation, dry run', async () => {
      await withDatabase(kind, async (context, db) => {
        const collection = {
          type: 'FeatureCollection',
          features: [
            {
              type: 'Feature',
              id: 'O6uvpzGd5pu',
              properties: { code: 'OU_1' },
              geometry: { type: 'Point', coordinates: [-11.7, 7.95] },
            },
            {
              type: 'Feature',
              id: 'TEQlaapDQoK',
              properties: { code: 'OU_2' },
              geometry: {
                type: 'Polygon',
                coordinates: [
                  [
                    [-12.5, 7.3],
                    [-12.4, 7.3],
                    [-12.4, 7.4],
                    [-12.5, 7.3],
                  ],
                ],
              },
            },
            {
              type: 'Feature',
              id: 'missingOrgU',
              properties: {},
              geometry: { type: 'Point', coordinates: [1, 2] },
            },
            {
              type: 'Feature',
              id: 'PMa2VCrupOd',
              properties: {},
              geometry: { type: 'Point', coordinates: ['1', 2] },
            },
            {
              type: 'Feature',
              id: 'jUb8gELQApl',
              properties: {},
              geometry: {
                type: 'LineString',
                coordinates: [
                  [1, 2],
                  [3, 4],
                ],
              },
            },
          ],
        };
        const text = JSON.stringify(collection, null, 1);
        const dry = await importGeoJson(context, writeInput(db, text), {
          dryRun: true,
          geoJsonId: true,
          orgUnitProperty: 'id',
        });
        assert.equal(dry.stats.updated, 2);
        assert.equal(await geometryOf(context, 'O6uvpzGd5pu'), undefined);
        const report = await importGeoJson(context, writeInput(db, text), {
          dryRun: false,
          geoJsonId: true,
          orgUnitProperty: 'id',
        });
        assert.deepEqual(errorCodes(report), ['2:E5001', '3:F1600', '4:F1600']);
        assert.deepEqual(await geometryOf(context, 'O6uvpzGd5pu'), {
          type: 'Point',
          coordinates: [-11.7, 7.95],
        });

        const byCode = await importGeoJson(context, writeInput(db, text), {
          dryRun: false,
          geoJsonId: false,
          geoJsonProperty: 'code',
          orgUnitProperty: 'code',
        });
        assert.equal(byCode.stats.updated, 2, JSON.stringify(byCode));
        assert.deepEqual(await geometryOf(context, 'PMa2VCrupOd'), {
          type: 'Point',
          coordinates: [-11.7, 7.95],
        });
        assert.deepEqual(errorCodes(byCode), ['2:F1600', '3:F1600', '4:F1600']);
      });
    });

    it('GeoJSON: duplicate keys and prototype keys refuse the file with line and column', async () => {
      await withDatabase(kind, async (context, db) => {
        const duplicate =
          '{"type": "FeatureCollection", "features": [\n{"type": "Feature", "id": "O6uvpzGd5pu", "id": "TEQlaapDQoK", "geometry": null}]}';
        await assert.rejects(
          importGeoJson(context, writeInput(db, duplicate), {
            dryRun: false,
            geoJsonId: true,
            orgUnitProperty: 'id',
          }),
          /line 2, column \d+\): duplicate key "id"/,
        );
        const proto = '{"type": "FeatureCollection", "features": [{"__proto__": {"admin": true}}]}';
        await assert.rejects(
          importGeoJson(context, writeInput(db, proto), {
            dryRun: false,
            geoJsonId: true,
            orgUnitProperty: 'id',
          }),
          /"__proto__" is not allowed/,
        );
      });
    });
  });
}
