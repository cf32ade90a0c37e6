import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage } from '../../src/services/ferry-context.ts';
import {
  importMetadata,
  importMetadataObjects,
} from '../../src/services/metadata/metadata-import-service.ts';
import { DEFAULT_IMPORT_PARAMS } from '../../src/domain/metadata-import/import-params.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { generateDemoDatabase } from '../../src/services/demo/demo-metadata.ts';
import { dependencyExportChunks } from '../../src/http/routes/metadata/metadata-routes.ts';

/**
 * Issue 3's acceptance: "dependency export of a demo data set imports into an empty database with
 * status OK", for every demo data set, as JSON and XML, on both databases. The demo is generated at
 * a small scale (10 facilities); the data sets, their elements and category model are the full
 * demo's.
 */
for (const kind of TEST_DATABASE_KINDS) {
  describe(`dependency export of the demo data sets on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('each demo data set package imports into an empty Ferry with status OK', async () => {
      const demo = generateDemoDatabase({ facilities: 10, seed: 'ferry-demo' });
      const source = await createTestDatabase(kind);
      try {
        const context = createFerryContextFromStorage(
          loadConfig({}, { dataDir: source.dataDir }),
          source.storage,
        );
        const seeded = await importMetadataObjects(context, Object.fromEntries(demo.metadata));
        assert.equal(seeded.status, 'OK', JSON.stringify(allErrorReports(seeded).slice(0, 5)));
        assert.ok(demo.dataSets.length >= 4);
        for (const dataSet of demo.dataSets) {
          for (const format of ['json', 'xml'] as const) {
            let body = '';
            for await (const chunk of dependencyExportChunks(context, 'dataSets', dataSet.uid, format, false))
              body += chunk;
            const target = await createTestDatabase(kind);
            try {
              const targetContext = createFerryContextFromStorage(
                loadConfig({}, { dataDir: target.dataDir }),
                target.storage,
              );
              const path = join(target.dataDir, `package.${format}`);
              writeFileSync(path, body);
              const report = await importMetadata(
                targetContext,
                { path, fileName: `package.${format}` },
                DEFAULT_IMPORT_PARAMS,
              );
              assert.equal(
                report.status,
                'OK',
                `${dataSet.uid} ${format}: ${JSON.stringify(allErrorReports(report).slice(0, 5))}`,
              );
              const copy = await targetContext.metadata.get('dataSets', dataSet.uid);
              const original = await context.metadata.get('dataSets', dataSet.uid);
              assert.deepEqual(
                (copy?.dataSetElements as unknown[]).length,
                (original?.dataSetElements as unknown[]).length,
              );
              assert.ok(report.stats.created > 5, `${dataSet.uid}: ${JSON.stringify(report.stats)}`);
            } finally {
              await target.dispose();
            }
          }
        }
      } finally {
        await source.dispose();
      }
    });
  });
}
