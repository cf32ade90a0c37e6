import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
  type DataValueExportFormat,
} from '../../src/services/data-values/data-value-export-service.ts';
import type { Storage } from '../../src/storage/storage.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importAggregateE2eValues } from '../support/data-value-imports.ts';

const EXPORT_QUERY = {
  dataSet: ['qNtxTrp56wV', 'VEM58nY22sO'],
  orgUnit: 'ImspTQPwCqd',
  children: 'true',
  startDate: '2018-01-01',
  endDate: '2019-12-31',
};

/** Every stored value by its identifiers, in a stable order: what "reproduces exactly" compares. */
async function snapshot(storage: Storage): Promise<string[]> {
  const rows = await storage.query<Record<string, unknown>>(
    `SELECT de.uid AS de, p.iso AS pe, ou.uid AS ou, coc.uid AS coc, aoc.uid AS aoc, dv.value AS value,
            dv.comment AS comment, dv.follow_up AS follow_up, dv.deleted AS deleted
       FROM data_value dv
       JOIN metadata_object de ON de.sid = dv.data_element_id
       JOIN period p ON p.period_id = dv.period_id
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
       JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id`,
  );
  return rows
    .map((r) =>
      [r.de, r.pe, r.ou, r.coc, r.aoc, r.value, r.comment ?? '', Number(r.follow_up), Number(r.deleted)].join(
        '|',
      ),
    )
    .sort();
}

function contextFor(db: TestDatabase): FerryContext {
  return createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value export round trip (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let source: TestDatabase;
    let context: FerryContext;
    let expected: string[];

    before(async () => {
      source = await createTestDatabase(kind);
      context = contextFor(source);
      await loadAggregateE2eMetadata(source.storage);
      await importAggregateE2eValues(context);
      expected = await snapshot(source.storage);
      assert.equal(expected.length, 231);
    });
    after(async () => {
      await source?.dispose();
    });

    const cases: Array<{
      format: DataValueExportFormat;
      compression?: 'gzip' | 'zip';
      extra?: Record<string, string>;
    }> = [
      { format: 'json' },
      { format: 'xml' },
      { format: 'csv' },
      { format: 'adx', extra: { idScheme: 'UID' } },
      // ADX's default scheme, CODE, both ways: objects without a code are written by UID and read back.
      { format: 'adx' },
      { format: 'csv', compression: 'gzip' },
      { format: 'json', compression: 'zip' },
    ];
    for (const c of cases) {
      const label = `${c.format}${c.compression ? ` (${c.compression})` : ''}`;
      it(`exports as ${label} and importing into a fresh database reproduces every value`, async () => {
        const request = parseDataValueExportRequest(
          { ...EXPORT_QUERY, ...c.extra },
          { format: c.format, compression: c.compression },
        );
        const result = await exportDataValues(context, request);
        const path = join(source.dataDir, result.fileName);
        await pipeline(result.body, createWriteStream(path));
        const target = await createTestDatabase(kind);
        try {
          await loadAggregateE2eMetadata(target.storage);
          const summary = await importDataValues(
            contextFor(target),
            { path, fileName: result.fileName, format: c.format },
            c.extra ?? {},
            undefined,
          );
          assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts).slice(0, 2000));
          assert.equal(summary.importCount.imported, 231);
          assert.deepEqual(await snapshot(target.storage), expected);
        } finally {
          await target.dispose();
        }
      });
    }

    it('writes text holding separators, quotes and line breaks intact (row-by-row fallback)', async () => {
      const awkward = 'unit\x1fsep \x1erecord, "quoted"\nnext line';
      const target = await source.storage.queryOne<{ de: number; comment: string | null }>(
        'SELECT MIN(data_element_id) AS de FROM data_value',
      );
      const before = await source.storage.query<Record<string, unknown>>(
        'SELECT org_unit_id, period_id, category_option_combo_id, comment FROM data_value WHERE data_element_id = ?',
        [Number(target!.de)],
      );
      await source.storage.execute('UPDATE data_value SET comment = ? WHERE data_element_id = ?', [
        awkward,
        Number(target!.de),
      ]);
      try {
        for (const format of ['csv', 'json'] as const) {
          const request = parseDataValueExportRequest(EXPORT_QUERY, { format });
          const body = await text((await exportDataValues(context, request)).body);
          if (format === 'json') {
            const parsed = JSON.parse(body) as { dataValues: Array<{ comment?: string }> };
            assert.equal(parsed.dataValues.length, 231);
            assert.ok(parsed.dataValues.some((v) => v.comment === awkward));
          } else {
            assert.ok(body.includes('"unit\x1fsep \x1erecord, ""quoted""\nnext line"'));
          }
        }
      } finally {
        for (const row of before) {
          await source.storage.execute(
            `UPDATE data_value SET comment = ? WHERE data_element_id = ? AND org_unit_id = ? AND period_id = ?
               AND category_option_combo_id = ?`,
            [
              row.comment as string | null,
              Number(target!.de),
              Number(row.org_unit_id),
              Number(row.period_id),
              Number(row.category_option_combo_id),
            ],
          );
        }
        assert.deepEqual(await snapshot(source.storage), expected);
      }
    });

    it('names files as DHIS2 does', async () => {
      const request = parseDataValueExportRequest(EXPORT_QUERY, { format: 'csv', compression: 'zip' });
      const result = await exportDataValues(context, request);
      result.body.resume();
      assert.equal(result.fileName, 'dataValues_2018-01-01_2019-12-31.csv.zip');
      assert.equal(result.attachment, true);
    });
  });
}
