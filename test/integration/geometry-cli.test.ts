import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { GEOMETRY_ORG_UNITS, GML2 } from './geometry-fixtures.ts';

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ferry import gml|geojson (${kind})`, { skip: skipReasonFor(kind) }, () => {
    it('works offline on the data dir, honours --dry-run and reports as a table or JSON', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        await context.metadata.save('organisationUnits', GEOMETRY_ORG_UNITS);
        const target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
        const gml = join(db.dataDir, 'districts.gml');
        writeFileSync(gml, GML2);

        const dry = await runFerry(['import', 'gml', gml, '--dry-run', ...target]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /Status: WARNING/);
        assert.match(dry.stdout, /E5001 .*Ole Johan Dahls Hus/);
        assert.equal((await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.geometry, undefined);

        const commit = await runFerry(['import', 'gml', gml, '--json', ...target]);
        assert.equal(commit.code, 0, commit.stderr);
        assert.equal((JSON.parse(commit.stdout) as { stats: { updated: number } }).stats.updated, 4);
        assert.equal(
          (await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.featureType,
          'POLYGON',
        );

        const geojson = join(db.dataDir, 'points.geojson');
        writeFileSync(
          geojson,
          JSON.stringify({
            type: 'FeatureCollection',
            features: [
              {
                type: 'Feature',
                properties: { ref: 'OU_2' },
                geometry: { type: 'Point', coordinates: [3, 4] },
              },
            ],
          }),
        );
        const byProperty = await runFerry([
          'import',
          'geojson',
          geojson,
          '--id-property',
          'ref',
          '--match',
          'code',
          ...target,
        ]);
        assert.equal(byProperty.code, 0, byProperty.stdout + byProperty.stderr);
        assert.deepEqual((await context.metadata.get('organisationUnits', 'jUb8gELQApl'))?.geometry, {
          type: 'Point',
          coordinates: [3, 4],
        });

        const refused = await runFerry(['import', 'geojson', gml, ...target]);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /F1001: .*districts\.gml \(line 1, column 1\)/);
        assert.equal(
          (await runFerry(['import', 'geojson', geojson, '--match', 'shortName', ...target])).code,
          2,
        );
      } finally {
        await db.dispose();
      }
    });
  });
}
