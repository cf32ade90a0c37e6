import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH, seedAccessFixtures } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

// A district's shared drive, or a USB key mounted on the server: the allow-listed export root.
const exportRoot = mkdtempSync(join(tmpdir(), 'ferry-export-root-'));
process.env.FERRY_EXPORT_DIRECTORY_ROOT = exportRoot;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`exports to a server directory on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (context, db) => seedAccessFixtures(db.storage, context.metadata),
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    it('writes the export file under the root, in the requested sub-directory', async () => {
      const folder = `${kind}/district-share`;
      const reply = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: {
          kind: 'metadata',
          params: { collections: ['organisationUnits'] },
          format: 'json',
          destination: { type: 'directory', path: folder },
        },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const id = reply.json<{ id: string }>().id;
      await context.jobs.start();
      let card: { status: string; file?: { name: string; downloadUrl: string | null } | null } | undefined;
      for (let i = 0; i < 400; i++) {
        const response = await app.inject({
          url: `/api/exports/${id}`,
          headers: { authorization: ADMIN_AUTH },
        });
        card = response.json();
        if (card?.status === 'COMPLETED' || card?.status === 'FAILED') break;
        await sleep(25);
      }
      assert.equal(card?.status, 'COMPLETED', JSON.stringify(card));
      const written = join(exportRoot, folder, card!.file!.name);
      assert.ok(existsSync(written), `${written} exists`);
      const document = JSON.parse(readFileSync(written, 'utf8')) as {
        organisationUnits: Array<{ id: string }>;
      };
      const stored = await context.metadata.count('organisationUnits');
      assert.ok(stored > 0);
      assert.equal(document.organisationUnits.length, stored);
      assert.equal(card!.file!.downloadUrl, null, 'a directory export is not offered for download');
    });

    it('refuses paths that leave the root or are absolute', async () => {
      for (const path of ['../../etc', '/etc', 'a/../../outside']) {
        const reply = await app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: ADMIN_AUTH },
          payload: { kind: 'metadata', destination: { type: 'directory', path } },
        });
        assert.equal(reply.statusCode, 400, `${path}: ${reply.body}`);
        assert.match(reply.body, /destination\.path/);
      }
    });
  });
}

process.on('exit', () => rmSync(exportRoot, { recursive: true, force: true }));
