import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { GEOMETRY_ORG_UNITS, GML2 } from './geometry-fixtures.ts';

const admin = ADMIN_AUTH;

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `hostile geometry uploads are refused with nothing written (${kind})`,
    { skip: skipReasonFor(kind) },
    () => {
      let db: TestDatabase;
      let context: FerryContext;
      let app: FastifyInstance;
      before(async () => {
        ({ db, context, app } = await startTestApp(kind, {
          seed: (context) => context.metadata.save('organisationUnits', GEOMETRY_ORG_UNITS),
        }));
      });
      after(() => stopTestApp({ db, context, app }));

      const post = (url: string, payload: Buffer | string) =>
        app.inject({
          method: 'POST',
          url,
          payload,
          headers: { authorization: admin, 'content-type': 'application/octet-stream' },
        });

      async function assertNothingWritten() {
        for (const orgUnit of GEOMETRY_ORG_UNITS) {
          assert.equal((await context.metadata.get('organisationUnits', orgUnit.id))?.geometry, undefined);
        }
      }

      it('a gzip bomb (200 MiB of spaces in 200 KiB) is a 400, stopped early', async () => {
        const bomb = gzipSync(
          Buffer.concat([Buffer.from(GML2.slice(0, 400)), Buffer.alloc(200 * 1024 * 1024, 0x20)]),
          { level: 9 },
        );
        const response = await post('/api/metadata/gml', bomb);
        assert.equal(response.statusCode, 400);
        // Whichever limit fires first (the XML text-node cap at 1 MiB, or the ratio cap) stops it early.
        assert.match(response.body, /compression bomb|a text node or tag is longer than/);
        await assertNothingWritten();
      });

      it('invalid UTF-8 halfway through is a 400 with the byte offset, and earlier features are not written', async () => {
        const bytes = Buffer.from(GML2.replace('Ole Johan Dahls Hus', 'Ole Johan Dahls Hus \u0001'));
        const at = bytes.indexOf(0x01);
        bytes[at] = 0xff;
        const response = await post('/api/metadata/gml', bytes);
        assert.equal(response.statusCode, 400);
        assert.match(response.body, new RegExp(`byte ${at}\\): is not valid UTF-8`));
        await assertNothingWritten();
      });

      it('billion laughs, deep nesting and prototype keys are 400s', async () => {
        const laughs = `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`;
        assert.equal((await post('/api/metadata/gml', laughs)).statusCode, 400);
        const deep = '<a>'.repeat(10_000) + '</a>'.repeat(10_000);
        const deepResponse = await post('/api/metadata/gml', deep);
        assert.equal(deepResponse.statusCode, 400);
        assert.match(deepResponse.body, /nesting is deeper than 64/);
        const deepJson = `{"type":"FeatureCollection","features":[${'['.repeat(100_000)}`;
        assert.match(
          (await post('/api/organisationUnits/geometry', deepJson)).body,
          /nesting is deeper than 64/,
        );
        const proto =
          '{"type":"FeatureCollection","features":[{"type":"Feature","id":"O6uvpzGd5pu","constructor":{"prototype":{"x":1}}}]}';
        assert.match(
          (await post('/api/organisationUnits/geometry', proto)).body,
          /the key \\"constructor\\" is not allowed/,
        );
        assert.equal(({} as Record<string, unknown>).x, undefined);
        await assertNothingWritten();
      });
    },
  );
}
