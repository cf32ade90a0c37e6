import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { contextFor } from '../support/access-fixtures.ts';

/**
 * A large file is decoded on a thread of its own while the import's thread validates and writes
 * (issue 14). Each file here is imported both ways into the same state, and the two imports must
 * agree on everything: the summary (counts, conflicts with their row indexes, status, description),
 * the rows stored, the audit rows, and the bytes-read progress.
 */

const DEFAULT = 'HllvX50cXC0';
const OU = 'DiszpKrYNg8';
const DE_INT = 'FRbgzTZ74Hh'; // INTEGER_ZERO_OR_POSITIVE, default combo, in the Yearly data set qNtxTrp56wV
const DE_NO_ZERO = 'nwzSeTAxCGV'; // zero not significant
const DE_AGE = 'dFaBg0HpoIL'; // combo BwnnrV1AkNj
const COC_AGE = 'oPcWGgS2Liz';
const DATA_SET = 'qNtxTrp56wV';
const NOW = new Date('2024-06-15T12:00:00Z');

const CSV_HEADER =
  'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,comment,followup\n';

/** A CSV file with every kind of item a decoder yields: values, conflicts, issues, repeats. */
function csvFile(rows: number): string {
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const year = 2000 + (i % 20);
    switch (i % 10) {
      case 0:
        lines.push(`${DE_INT},${year},${OU},${DEFAULT},${DEFAULT},${i},"a, quoted ""comment""",true`);
        break;
      case 1:
        lines.push(`${DE_NO_ZERO},${year},${OU},${DEFAULT},${DEFAULT},0,,`);
        break;
      case 2:
        lines.push(`${DE_AGE},${year},${OU},${COC_AGE},${DEFAULT},${i},,false`);
        break;
      case 3:
        lines.push(`NoSuchDElm,${year},${OU},${DEFAULT},${DEFAULT},1,,`);
        break;
      case 4:
        lines.push(`${DE_INT},${year},${OU},${DEFAULT}`); // too short: an issue naming its line
        break;
      case 5:
        lines.push(`${DE_INT},${year},${OU},${DEFAULT},${DEFAULT},-3,,`); // E7619
        break;
      case 6:
        lines.push(`${DE_AGE},${year},${OU},${COC_AGE},${DEFAULT},${i},,`); // E8128 (repeats case 2)
        break;
      case 7:
        lines.push(`${DE_INT},${year},${OU},${DEFAULT},${DEFAULT},,,`); // a delete request
        break;
      case 8:
        lines.push(`${DE_INT},${year}"x,${OU},${DEFAULT},${DEFAULT},1,,`); // malformed quote
        break;
      default:
        lines.push(`${DE_NO_ZERO},${year},${OU},${DEFAULT},${DEFAULT},${i},é ✓,1`);
    }
  }
  return CSV_HEADER + lines.join('\n') + '\n';
}

function jsonFile(rows: number): string {
  const values = [];
  for (let i = 0; i < rows; i++) {
    const year = String(2000 + (i % 20));
    values.push(
      i % 7 === 3
        ? { dataElement: 'NoSuchDElm', period: year, value: '1' }
        : i % 5 === 1
          ? { dataElement: DE_INT, period: year, value: String(i), followUp: true, deleted: i % 2 === 0 }
          : { dataElement: DE_NO_ZERO, period: year, value: String(i % 3), comment: i % 4 ? null : 'c' },
    );
  }
  return JSON.stringify({ dataSet: DATA_SET, orgUnit: OU, idScheme: 'UID', dataValues: values });
}

function xmlFile(rows: number): string {
  const values = [];
  for (let i = 0; i < rows; i++) {
    const year = 2000 + (i % 20);
    values.push(
      i % 6 === 2
        ? `<dataValue dataElement="${DE_AGE}" period="${year}" categoryOptionCombo="NoSuchCoc1" value="1"/>`
        : `<dataValue dataElement="${DE_INT}" period="${year}" value="${i % 9}" comment="&lt;${i}&gt;"/>`,
    );
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" orgUnit="${OU}" attributeOptionCombo="${DEFAULT}">
${values.join('\n')}
</dataValueSet>`;
}

/** ADX by UID: groups with their own period, values disaggregated by the age category. */
function adxFile(groups: number): string {
  const out = ['<adx xmlns="urn:ihe:qrph:adx:2015">'];
  for (let g = 0; g < groups; g++) {
    const year = 2000 + (g % 20);
    out.push(`<group orgUnit="${OU}" period="${year}-01-01/P1Y" dataSet="${DATA_SET}">`);
    out.push(`<dataValue dataElement="${DE_INT}" value="${g}"/>`);
    out.push(`<dataValue dataElement="${DE_INT}" value="x${g}"/>`);
    out.push(`<dataValue dataElement="NoSuchDElm" value="1"/>`);
    out.push('</group>');
  }
  out.push('</adx>');
  return out.join('\n');
}

interface Outcome {
  summary: ImportSummary;
  rows: unknown[];
  audits: unknown[];
  lastBytesRead: [number, number] | undefined;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `data value import decoded on a thread of its own (${kind})`,
    { skip: skipReasonFor(kind) },
    () => {
      let db: TestDatabase;
      let context: FerryContext;
      let count = 0;

      before(async () => {
        db = await createTestDatabase(kind);
        context = contextFor(db.storage, db.dataDir);
        await loadAggregateE2eMetadata(db.storage);
      });
      after(async () => {
        await db?.dispose();
      });

      async function importOnce(
        content: string | Uint8Array,
        fileName: string,
        params: Record<string, string>,
        thread: 'always' | 'never',
      ): Promise<Outcome> {
        await db.storage.execute('DELETE FROM data_value_audit');
        await db.storage.execute('DELETE FROM data_value');
        const path = join(db.dataDir, `thread-${++count}-${fileName}`);
        writeFileSync(path, content);
        let lastBytesRead: [number, number] | undefined;
        const summary = await importDataValues(context, { path, fileName }, params, undefined, {
          now: NOW,
          decodeThread: thread,
          onBytesRead: (read, size) => (lastBytesRead = [read, size]),
        });
        assert.equal(lastBytesRead?.[1], statSync(path).size);
        const rows = await db.storage.query(
          `SELECT org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id,
                value, comment, follow_up, deleted, stored_by
           FROM data_value ORDER BY 1, 2, 3, 4, 5`,
        );
        const audits = await db.storage.query(
          `SELECT org_unit_id, period_id, data_element_id, category_option_combo_id, audit_type, previous_value, new_value
           FROM data_value_audit ORDER BY 1, 2, 3, 4, 5, 6`,
        );
        return {
          summary,
          rows: rows.map((r) => ({ ...r })),
          audits: audits.map((r) => ({ ...r })),
          lastBytesRead,
        };
      }

      async function bothWays(
        content: string | Uint8Array,
        fileName: string,
        params: Record<string, string> = {},
      ): Promise<Outcome> {
        const inline = await importOnce(content, fileName, params, 'never');
        const threaded = await importOnce(content, fileName, params, 'always');
        assert.deepStrictEqual(threaded.summary, inline.summary);
        assert.deepStrictEqual(threaded.rows, inline.rows);
        assert.deepStrictEqual(threaded.audits, inline.audits);
        assert.deepStrictEqual(threaded.lastBytesRead, inline.lastBytesRead);
        return threaded;
      }

      it('CSV: values, conflicts, malformed rows and repeats come out the same, over many batches', async () => {
        const outcome = await bothWays(csvFile(12_000), 'values.csv');
        const s = outcome.summary;
        assert.equal(s.status, 'WARNING');
        assert.ok(s.importCount.imported > 0 && s.importCount.ignored > 0);
        const codes = new Set(s.conflicts.map((c) => c.errorCode));
        for (const code of ['E7610', 'E7619', 'E8128', 'F7100']) assert.ok(codes.has(code), code);
        assert.ok(outcome.rows.length > 0 && outcome.audits.length > 0);
      });

      it('CSV, gzipped, as an atomic import that fails: nothing written either way', async () => {
        const outcome = await bothWays(gzipSync(csvFile(3_000)), 'values.csv.gz', { atomic: 'true' });
        assert.equal(outcome.rows.length, 0);
      });

      it('JSON with root properties, booleans and nulls; dry run', async () => {
        await bothWays(jsonFile(5_000), 'values.json');
        const dry = await bothWays(jsonFile(500), 'values.json', { dryRun: 'true' });
        assert.equal(dry.rows.length, 0);
      });

      it('DXF2 XML with root defaults and entities', async () => {
        const outcome = await bothWays(xmlFile(5_000), 'values.xml');
        assert.ok(outcome.summary.conflicts.some((c) => c.errorCode === 'E7613'));
      });

      it('ADX groups with their periods and data set', async () => {
        const outcome = await bothWays(adxFile(1_000), 'values.adx.xml', { idScheme: 'UID' });
        assert.ok(outcome.summary.importCount.imported > 0);
      });

      it('a file that turns out not to be UTF-8 half-way fails with the same message and place', async () => {
        const good = Buffer.from(csvFile(5_000));
        const bad = Buffer.concat([good, Buffer.from([0xff, 0xfe, 0x0a])]);
        const outcome = await bothWays(bad, 'values.csv');
        assert.equal(outcome.summary.status, 'ERROR');
        assert.match(outcome.summary.description ?? '', /not valid UTF-8/);
        assert.equal(outcome.rows.length, 0);
      });

      it('a header naming a column twice aborts with the same conflict', async () => {
        const outcome = await bothWays(
          `dataelement,period,orgunit,value,value\n${DE_INT},2020,${OU},1,2\n`,
          'x.csv',
        );
        assert.equal(outcome.summary.status, 'ERROR');
        assert.equal(outcome.summary.conflicts.length, 1);
      });

      it('a truncated gzip file fails the same way', async () => {
        const zipped = gzipSync(csvFile(2_000));
        await bothWays(zipped.subarray(0, zipped.length - 100), 'values.csv.gz');
      });

      it('a cancelled import stops its thread and keeps the batches written before the cancel', async () => {
        const path = join(db.dataDir, 'thread-cancel.csv');
        writeFileSync(path, csvFile(40_000));
        const controller = new AbortController();
        let batches = 0;
        await assert.rejects(
          importDataValues(context, { path, fileName: 'values.csv' }, {}, undefined, {
            now: NOW,
            decodeThread: 'always',
            signal: controller.signal,
            progress: () => {
              if (++batches === 3) controller.abort(new Error('stop'));
            },
          }),
          (error: unknown) => {
            const summary = (error as { summary?: ImportSummary }).summary;
            assert.ok(summary, String(error));
            assert.ok(summary.importCount.imported + summary.importCount.ignored < 40_000);
            return true;
          },
        );
      });
    },
  );
}
