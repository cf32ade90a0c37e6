import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

const FIXTURES = new URL('../fixtures/dhis2/', import.meta.url).pathname;
const admin = ADMIN_AUTH;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`metadata import and export over HTTP on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind));
    });
    after(() => stopTestApp({ db, context, app }));

    const post = (file: string, query = '', contentType = 'application/json') =>
      app.inject({
        method: 'POST',
        url: `/api/metadata${query}`,
        headers: { authorization: admin, 'content-type': contentType },
        payload: readFileSync(file),
      });

    it('imports 01 and 02 with 200 and DHIS2 WebMessage, and refuses bad input with 409/400', async () => {
      const first = await post(`${FIXTURES}aggregate-e2e/01_setup_metadata.json`);
      assert.equal(first.statusCode, 200, first.body);
      const body = first.json<{
        status: string;
        response: { responseType: string; status: string; stats: { total: number } };
      }>();
      assert.equal(body.status, 'OK');
      assert.equal(body.response.responseType, 'ImportReport');
      assert.equal(body.response.stats.total, 22);
      assert.equal((await post(`${FIXTURES}aggregate-e2e/02_aggregate_metadata.json`)).statusCode, 200);

      const invalid = await post(`${FIXTURES}metadata/de_validate1.json`, '?importReportMode=FULL');
      assert.equal(invalid.statusCode, 409);
      const report = invalid.json<{
        response: {
          status: string;
          typeReports: Array<{ objectReports: Array<{ errorReports: Array<{ errorCode: string }> }> }>;
        };
      }>();
      assert.equal(report.response.status, 'ERROR');
      assert.ok(
        report.response.typeReports[0].objectReports[0].errorReports.some((e) => e.errorCode === 'E5002'),
      );

      const unknown = await post(`${FIXTURES}metadata/de_validate1.json`, '?atomicMode=SOME');
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.json<{ message: string }>().message, /atomicMode.*SOME.*ALL, NONE/);

      const malformed = await app.inject({
        method: 'POST',
        url: '/api/metadata',
        headers: { authorization: admin, 'content-type': 'application/json' },
        payload: '{"dataElements": [ {"id": } ]}',
      });
      assert.equal(malformed.statusCode, 400);
      assert.match(malformed.json<{ message: string }>().message, /line 1, column 27/);

      const csv = await app.inject({
        method: 'POST',
        url: '/api/metadata?classKey=ORGANISATION_UNIT',
        headers: { authorization: admin, 'content-type': 'application/csv' },
        payload: readFileSync(`${FIXTURES}metadata-csv/organisationUnits.csv`),
      });
      assert.equal(csv.statusCode, 200, csv.body);
      const anonymous = await app.inject({ method: 'POST', url: '/api/metadata', payload: '{}' });
      assert.equal(anonymous.statusCode, 401);
    });

    it('exports as JSON, gzip and zip, XML and CSV, and dependency packages', async () => {
      const json = await app.inject({
        url: '/api/metadata.json?dataElements=true&download=true',
        headers: { authorization: admin },
      });
      assert.equal(json.statusCode, 200);
      assert.match(String(json.headers['content-disposition']), /attachment; filename=metadata.json/);
      assert.equal(json.json<{ dataElements: unknown[] }>().dataElements.length, 77);

      const gz = await app.inject({
        url: '/api/metadata.json.gz?organisationUnits=true',
        headers: { authorization: admin },
      });
      assert.equal(gz.statusCode, 200);
      const units = JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')) as {
        organisationUnits: unknown[];
      };
      assert.equal(units.organisationUnits.length, 11);

      const zip = await app.inject({
        url: '/api/metadata.json.zip?indicators=true',
        headers: { authorization: admin },
      });
      assert.equal(zip.statusCode, 200);
      assert.equal(zip.rawPayload.subarray(0, 4).toString('hex'), '504b0304');
      assert.ok(zip.rawPayload.includes(Buffer.from('metadata.json')));

      const xml = await app.inject({
        url: '/api/metadata.xml?categoryCombos=true',
        headers: { authorization: admin },
      });
      assert.match(xml.body, /^<\?xml[^>]*>\n<metadata xmlns="http:\/\/dhis2.org\/schema\/dxf\/2.0">/);
      const csv = await app.inject({
        url: '/api/metadata.csv?organisationUnits=true',
        headers: { authorization: admin },
      });
      assert.match(csv.body, /^name,uid,code,parent/);
      const twoTypesCsv = await app.inject({ url: '/api/metadata.csv', headers: { authorization: admin } });
      assert.equal(twoTypesCsv.statusCode, 400);

      const dependencies = await app.inject({
        url: '/api/dataSets/qNtxTrp56wV/metadata.json',
        headers: { authorization: admin },
      });
      assert.equal(dependencies.statusCode, 200);
      const payload = dependencies.json<Record<string, unknown[]>>();
      assert.equal(payload.dataSets.length, 1);
      assert.ok(payload.dataElements.length >= 7);
      const missing = await app.inject({
        url: '/api/dataSets/AAAAAAAAAAA/metadata.xml',
        headers: { authorization: admin },
      });
      assert.equal(missing.statusCode, 404);
      const noExport = await app.inject({ url: '/api/metadata.json' });
      assert.equal(noExport.statusCode, 401);
    });
  });
}

describe('ferry import/export metadata CLI', { skip: skipReasonFor('sqlite') }, () => {
  it('imports with a summary table, exits 1 on ERROR, exports a dependency package', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ferry-cli-'));
    const cli = (...args: string[]) => runFerry([...args, '--data-dir', dataDir]);
    try {
      const ok = await cli('import', 'metadata', `${FIXTURES}aggregate-e2e/01_setup_metadata.json`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /Status: OK/);
      assert.match(ok.stdout, /OrganisationUnit\s+5\s+0\s+0\s+0\s+5/);
      const dry = await cli(
        'import',
        'metadata',
        `${FIXTURES}aggregate-e2e/02_aggregate_metadata.json`,
        '--dry-run',
      );
      assert.equal(dry.code, 0);
      assert.match(dry.stdout, /Total\s+0\s+0\s+0\s+147\s+147/);
      const failed = await cli('import', 'metadata', `${FIXTURES}metadata/de_validate1.json`, '--json');
      assert.equal(failed.code, 1);
      assert.equal(JSON.parse(failed.stdout).status, 'ERROR');
      const usage = await cli('import', 'metadata', 'x.json', '--atomic', 'MAYBE');
      assert.equal(usage.code, 2);

      await cli('import', 'metadata', `${FIXTURES}aggregate-e2e/02_aggregate_metadata.json`);
      const out = join(dataDir, 'package.json.gz');
      const exported = await cli(
        'export',
        'metadata',
        '--dependencies',
        'dataSets/qNtxTrp56wV',
        '--compression',
        'gzip',
        '-o',
        out,
      );
      assert.equal(exported.code, 0, exported.stderr);
      const pkg = JSON.parse(gunzipSync(readFileSync(out)).toString('utf8')) as Record<string, unknown[]>;
      assert.equal(pkg.dataSets.length, 1);
      const csvOut = join(dataDir, 'ou.csv');
      assert.equal(
        (await cli('export', 'metadata', '--types', 'organisationUnits', '--format', 'csv', '-o', csvOut))
          .code,
        0,
      );
      writeFileSync(join(dataDir, 'noop'), '');
      assert.match(readFileSync(csvOut, 'utf8'), /Ngelehun CHC/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
