import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { createSqliteStorage } from '../../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { loadAggregateE2eMetadata, AGGREGATE_E2E_DIR } from '../support/aggregate-metadata.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage } from '../../src/services/ferry-context.ts';
import { buildApp } from '../../src/http/build-app.ts';

describe('ferry import data (subprocess) and POST /api/dataValueSets', () => {
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-dv-cli-'));
    const storage = await createSqliteStorage(join(dir, 'data', 'ferry.db'));
    await storage.migrate();
    await loadAggregateE2eMetadata(storage);
    await storage.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports the bulk file, prints a summary table, then ignores it on a second run', async () => {
    const file = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
    const first = await runFerry(['import', 'data', file, '--data-dir', join(dir, 'data')]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /Status\s+SUCCESS/);
    assert.match(first.stdout, /Imported\s+231/);
    const second = await runFerry(['import', 'data', file, '--data-dir', join(dir, 'data'), '--json']);
    assert.equal(second.code, 0);
    const summary = JSON.parse(second.stdout) as { importCount: { ignored: number } };
    assert.equal(summary.importCount.ignored, 231);
  });

  it('exits non-zero on ERROR and shows the first conflicts', async () => {
    const csv = join(dir, 'bad.csv');
    writeFileSync(
      csv,
      'dataelement,period,orgunit,value\nnosuchDE001,2020,DiszpKrYNg8,1\nFRbgzTZ74Hh,2020,DiszpKrYNg8,1\n',
    );
    const atomic = await runFerry(['import', 'data', csv, '--data-dir', join(dir, 'data'), '--atomic']);
    assert.equal(atomic.code, 1);
    assert.match(atomic.stdout, /Status\s+ERROR/);
    assert.match(atomic.stdout, /E7610 Data element not found or not accessible: `nosuchDE001` \[rows 0\]/);
    const badStrategy = await runFerry([
      'import',
      'data',
      csv,
      '--data-dir',
      join(dir, 'data'),
      '--strategy',
      'MERGE',
    ]);
    assert.equal(badStrategy.code, 2);
    assert.match(badStrategy.stderr, /importStrategy/);
  });

  it('answers POST /api/dataValueSets with DHIS2 WebMessage + ImportSummary, 401 when anonymous, 415 for unknown types, 400 for bad parameters', async () => {
    const storage = await createSqliteStorage(join(dir, 'data', 'ferry.db'));
    const context = createFerryContextFromStorage(loadConfig({}, { dataDir: join(dir, 'data') }), storage);
    const app = await buildApp(context);
    try {
      const users = (
        context as unknown as { users?: { ensureAdmin(o: { password: string }): Promise<unknown> } }
      ).users;
      assert.ok(users, 'the context has a user service');
      await users.ensureAdmin({ password: 'district' });
      const admin = `Basic ${Buffer.from('admin:district').toString('base64')}`;
      const response = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets?dryRun=true',
        headers: { authorization: admin, 'content-type': 'application/json' },
        payload: readFileSync(join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json')),
      });
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json<{
        status: string;
        response: { responseType: string; importCount: { ignored: number } };
      }>();
      assert.equal(body.status, 'OK');
      assert.equal(body.response.responseType, 'ImportSummary');
      assert.equal(body.response.importCount.ignored, 231);

      const unknownType = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets',
        headers: { authorization: admin, 'content-type': 'application/x-yaml' },
        payload: 'x: 1',
      });
      assert.equal(unknownType.statusCode, 415);

      const anonymous = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets',
        headers: { 'content-type': 'application/json' },
        payload: '{}',
      });
      assert.equal(anonymous.statusCode, 401);

      const badParameter = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets?importStrategy=MERGE',
        headers: { authorization: admin, 'content-type': 'application/csv' },
        payload: 'dataelement\n',
      });
      assert.equal(badParameter.statusCode, 400);
      assert.match(badParameter.body, /importStrategy/);
    } finally {
      await app.close();
      await storage.close();
    }
  });
});
