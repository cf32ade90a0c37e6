import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ORG_UNITS, ROLES, seedAccessFixtures, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { GEOMETRY_ORG_UNITS, GML2 } from './geometry-fixtures.ts';

const run = promisify(execFile);
const MALICIOUS_GML = join(import.meta.dirname, '../fixtures/dhis2/gml/testMaliciousGmlPayload.gml');
const admin = basicAuth('admin', 'district');
const reader = basicAuth('geo.reader', 'reader-password-1');

async function ogrinfoAvailable(): Promise<boolean> {
  try {
    await run('ogrinfo', ['--version']);
    return true;
  } catch {
    return false;
  }
}
const ogrinfoSkip = (await ogrinfoAvailable()) ? false : 'ogrinfo (Debian gdal-bin) is not installed';

for (const kind of TEST_DATABASE_KINDS) {
  describe(`geometry over HTTP (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: async (context, db) => {
          await seedAccessFixtures(db.storage, context.metadata);
          await context.metadata.save('organisationUnits', GEOMETRY_ORG_UNITS);
        },
        setup: (context) =>
          context.users.createUser({
            id: 'geoReader01',
            username: 'geo.reader',
            password: 'reader-password-1',
            firstName: 'Geo',
            surname: 'Reader',
            roles: [ROLES.reader],
            orgUnits: [ORG_UNITS.bo],
          }),
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    it('POST /api/metadata/gml needs F_METADATA_IMPORT', async () => {
      const anonymous = await app.inject({
        method: 'POST',
        url: '/api/metadata/gml',
        payload: GML2,
        headers: { 'content-type': 'application/xml' },
      });
      assert.equal(anonymous.statusCode, 401);
      const denied = await app.inject({
        method: 'POST',
        url: '/api/metadata/gml',
        payload: GML2,
        headers: { authorization: reader, 'content-type': 'application/xml' },
      });
      assert.equal(denied.statusCode, 403);
      assert.equal((await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.geometry, undefined);
    });

    it('POST /api/metadata/gml.json?dryRun=true then a gzip commit: an ImportReport in a WebMessage', async () => {
      const dry = await app.inject({
        method: 'POST',
        url: '/api/metadata/gml.json?dryRun=true',
        payload: GML2,
        headers: { authorization: admin, 'content-type': 'application/xml' },
      });
      assert.equal(dry.statusCode, 409, dry.body);
      const body = dry.json<{
        status: string;
        response: { responseType: string; stats: { updated: number } };
      }>();
      assert.equal(body.status, 'WARNING');
      assert.equal(body.response.responseType, 'ImportReport');
      assert.equal(body.response.stats.updated, 4);
      assert.equal((await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.geometry, undefined);

      const commit = await app.inject({
        method: 'POST',
        url: '/api/metadata/gml',
        payload: gzipSync(GML2),
        headers: { authorization: admin, 'content-type': 'application/octet-stream' },
      });
      assert.equal(commit.json<{ response: { stats: { updated: number } } }>().response.stats.updated, 4);
      assert.equal((await context.metadata.get('organisationUnits', 'O6uvpzGd5pu'))?.featureType, 'POLYGON');
    });

    it("DHIS2's malicious GML is a 400 and nothing of /etc/passwd appears", async () => {
      const response = await app.inject({
        method: 'POST',
        url: '/api/metadata/gml',
        payload: readFileSync(MALICIOUS_GML),
        headers: { authorization: admin, 'content-type': 'application/xml' },
      });
      assert.equal(response.statusCode, 400);
      assert.match(response.body, /DOCTYPE declaration is not allowed/);
      assert.doesNotMatch(response.body, /root:|passwd|daemon/);
    });

    it('POST /api/organisationUnits/geometry: parameters checked, features imported', async () => {
      const bad = await app.inject({
        method: 'POST',
        url: '/api/organisationUnits/geometry?orgUnitProperty=shortName',
        payload: '{}',
        headers: { authorization: admin, 'content-type': 'application/json' },
      });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.body, /orgUnitProperty/);
      const collection = {
        type: 'FeatureCollection',
        features: [
          {
            type: 'Feature',
            properties: { code: 'OU_1' },
            geometry: { type: 'Point', coordinates: [-12.1, 9.1] },
          },
        ],
      };
      const ok = await app.inject({
        method: 'POST',
        url: '/api/organisationUnits/geometry?geoJsonId=false&geoJsonProperty=code&orgUnitProperty=code',
        payload: JSON.stringify(collection),
        headers: { authorization: admin, 'content-type': 'application/geo+json' },
      });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual((await context.metadata.get('organisationUnits', 'PMa2VCrupOd'))?.geometry, {
        type: 'Point',
        coordinates: [-12.1, 9.1],
      });
    });

    it('GET /api/organisationUnits.geojson selects by level, parent and ou', async () => {
      const all = await app.inject({
        url: '/api/organisationUnits.geojson',
        headers: { authorization: admin },
      });
      assert.equal(all.statusCode, 200, all.body);
      assert.match(all.headers['content-type'] as string, /application\/geo\+json/);
      const collection = all.json<{
        type: string;
        features: { id: string; properties: Record<string, unknown> }[];
      }>();
      assert.equal(collection.type, 'FeatureCollection');
      const ids = collection.features.map((f) => f.id).sort();
      assert.ok(ids.includes('O6uvpzGd5pu') && ids.includes('ImspTQPwCqd'), ids.join());
      const bo = collection.features.find((f) => f.id === 'O6uvpzGd5pu')!;
      assert.deepEqual(bo.properties, { name: 'Bo', code: 'OU_264', level: 2, parent: 'ImspTQPwCqd' });

      const level2 = await app.inject({
        url: '/api/organisationUnits.geojson?level=2&parent=ImspTQPwCqd',
        headers: { authorization: admin },
      });
      const level2Ids = level2.json<{ features: { id: string }[] }>().features.map((f) => f.id);
      assert.ok(!level2Ids.includes('ImspTQPwCqd') && level2Ids.includes('O6uvpzGd5pu'), level2Ids.join());
      const one = await app.inject({
        url: '/api/organisationUnits.geojson?ou=TEQlaapDQoK',
        headers: { authorization: admin },
      });
      assert.deepEqual(
        one.json<{ features: { id: string }[] }>().features.map((f) => f.id),
        ['TEQlaapDQoK'],
      );
      const bad = await app.inject({
        url: '/api/organisationUnits.geojson?ou=x%27%20OR%201=1',
        headers: { authorization: admin },
      });
      assert.equal(bad.statusCode, 400);
    });

    it('GET /api/organisationUnits.geojson gives a user only the org units of their view scope', async () => {
      // geo.reader is assigned Bo: Bo and what lies below it, never its parent or its siblings.
      const featureIds = async (url: string) => {
        const response = await app.inject({ url, headers: { authorization: reader } });
        assert.equal(response.statusCode, 200, response.body);
        return response
          .json<{ features: { id: string }[] }>()
          .features.map((f) => f.id)
          .sort();
      };
      const all = await featureIds('/api/organisationUnits.geojson');
      assert.ok(all.includes('O6uvpzGd5pu'), all.join());
      assert.ok(!all.includes('ImspTQPwCqd') && !all.includes('TEQlaapDQoK'), all.join());
      assert.deepEqual(await featureIds('/api/organisationUnits.geojson?ou=TEQlaapDQoK'), []);
      assert.deepEqual(await featureIds('/api/organisationUnits.geojson?ou=ImspTQPwCqd,O6uvpzGd5pu'), [
        'O6uvpzGd5pu',
      ]);
      const level2 = await featureIds('/api/organisationUnits.geojson?level=2&parent=ImspTQPwCqd');
      assert.deepEqual(level2, ['O6uvpzGd5pu']);
    });

    it('the GeoJSON export is readable by ogrinfo', { skip: ogrinfoSkip }, async () => {
      const response = await app.inject({
        url: '/api/organisationUnits.geojson',
        headers: { authorization: admin },
      });
      const path = join(db.dataDir, 'export.geojson');
      writeFileSync(path, response.rawPayload);
      const { stdout } = await run('ogrinfo', ['-so', '-al', path]);
      const expected = response.json<{ features: unknown[] }>().features.length;
      assert.match(stdout, new RegExp(`Feature Count: ${expected}`));
      assert.match(stdout, /name: String/);
      assert.match(stdout, /level: Integer/);
    });
  });
}
