import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import {
  importDataValues,
  type DataValueImportPrincipal,
} from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadAggregateE2eMetadata, loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { valueFiles, type ValueFiles } from '../support/data-value-imports.ts';

const DEFAULT = 'HllvX50cXC0';
const OU = 'DiszpKrYNg8'; // Ngelehun CHC, under ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I
const DE_INT = 'FRbgzTZ74Hh'; // INTEGER_ZERO_OR_POSITIVE, default combo, in data set qNtxTrp56wV (Yearly)
const DE_AGE = 'dFaBg0HpoIL'; // combo BwnnrV1AkNj
const COC_AGE = 'oPcWGgS2Liz';
const DE_NO_ZERO = 'nwzSeTAxCGV'; // zero not significant
const DE_OPTIONS = 'vbZ5LGNfGyy'; // TEXT with option set TA_YES/TA_NO
const DE_BOOLEAN = 'vbZ5LGNfGET';
const DATA_SET = 'qNtxTrp56wV';
const TIMELY_DATA_SET = 'TimelyDSet1';
const TIMELY_DE = 'TimelyDElm1';
const NOW = new Date('2024-06-15T12:00:00Z');

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value import validation and semantics (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let files: ValueFiles;

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      files = valueFiles(context, db.dataDir, 'input', { now: NOW });
      await loadAggregateE2eMetadata(db.storage);
      await loadMetadataPayloads(db.storage, [
        {
          dataElements: [
            {
              id: TIMELY_DE,
              name: 'Timely element',
              shortName: 'Timely',
              valueType: 'NUMBER',
              domainType: 'AGGREGATE',
              aggregationType: 'SUM',
              categoryCombo: { id: 'bjDvmb4bfuf' },
            },
          ],
          dataSets: [
            {
              id: TIMELY_DATA_SET,
              name: 'Timely monthly',
              shortName: 'Timely',
              periodType: 'Monthly',
              expiryDays: 10,
              openFuturePeriods: 1,
              categoryCombo: { id: 'bjDvmb4bfuf' },
              dataSetElements: [{ dataElement: { id: TIMELY_DE } }],
            },
          ],
        },
      ]);
    });
    after(async () => {
      await db?.dispose();
    });

    const importCsv = (
      csv: string,
      params: Record<string, string> = {},
      principal?: DataValueImportPrincipal,
    ): Promise<ImportSummary> => files.importText(csv, 'csv', params, principal);
    const importJson = (json: unknown, params: Record<string, string> = {}): Promise<ImportSummary> =>
      files.importText(JSON.stringify(json), 'json', params);
    const row = (de: string, pe: string, value: string, coc = DEFAULT, ou = OU, aoc = DEFAULT): string =>
      `${de},${pe},${ou},${coc},${aoc},${value}`;
    const HEADER = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';
    /** A user capturing the whole country (Sierra Leone) with the given authorities. */
    const countryClerk = (authorities: string[]): DataValueImportPrincipal => ({
      uid: 'countryClk1',
      username: 'country_clerk',
      authorities: new Set(authorities),
      captureOrgUnits: ['ImspTQPwCqd'],
      userGroupUids: [],
    });
    const codes = (summary: ImportSummary): string[] => summary.conflicts.map((c) => c.errorCode).sort();
    const count = async (): Promise<number> =>
      Number((await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value'))?.n);

    it('reports each validation failure with DHIS2 codes, grouped with row indexes', async () => {
      const csv =
        HEADER +
        [
          row('nosuchDE001', '2020', '1'),
          row(DE_INT, '2020Q9', '1'),
          row(DE_INT, '2020', '1', DEFAULT, 'noSuchOU01'),
          row(DE_INT, '2020', '1', 'noSuchCoc01'),
          row(DE_INT, '2020', '1', DEFAULT, OU, 'noSuchAoc01'),
          row(DE_INT, '2020', '12abc'),
          row(DE_INT, '2020', '0x1A'),
          row(DE_INT, '2020', '1e400'),
          row(DE_INT, '2020', '-3'),
          row(DE_OPTIONS, '2020', 'MAYBE'),
          row(DE_AGE, '2020', '5', DEFAULT),
          row(DE_BOOLEAN, '2020', 'yes'),
          row('nosuchDE001', '2021', '1'),
        ].join('\n');
      const summary = await importCsv(csv);
      assert.equal(summary.status, 'WARNING');
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: 13, deleted: 0 });
      assert.deepEqual(codes(summary), [
        'E7610',
        'E7611',
        'E7612',
        'E7613',
        'E7615',
        'E7619',
        'E7619',
        'E7621',
        'E7634',
      ]);
      const missing = summary.conflicts.find((c) => c.errorCode === 'E7610');
      assert.deepEqual(missing?.indexes, [0, 12]);
      assert.deepEqual(missing?.objects, { dataElement: 'nosuchDE001' });
      const badNumbers = summary.conflicts.find((c) => c.errorCode === 'E7619' && c.object === DE_INT);
      assert.deepEqual(badNumbers?.indexes, [5, 6, 7, 8]);
      assert.deepEqual(summary.rejectedIndexes, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.equal(await count(), 0);
    });

    it('checks capture scope (E7617), data set membership (E7633), expiry (E7640) and future periods (E7641)', async () => {
      const outsider: DataValueImportPrincipal = {
        uid: 'someUser001',
        username: 'clerk',
        authorities: new Set(['F_DATAVALUE_ADD']),
        captureOrgUnits: ['g8upMTyEZGZ'],
        userGroupUids: [],
      };
      const scoped = await importCsv(HEADER + row(DE_INT, '2020', '1'), {}, outsider);
      assert.deepEqual(codes(scoped), ['E7617']);

      const notInSet = await importCsv(HEADER + row(DE_NO_ZERO, '2020', '1'), { dataSet: DATA_SET });
      assert.deepEqual(codes(notInSet), ['E7633']);

      const timely = await importCsv(
        HEADER +
          [row(TIMELY_DE, '202001', '1'), row(TIMELY_DE, '202409', '1'), row(TIMELY_DE, '202406', '1')].join(
            '\n',
          ),
        {},
        countryClerk(['F_DATAVALUE_ADD']),
      );
      assert.deepEqual(codes(timely), ['E7640', 'E7641']);
      assert.equal(timely.importCount.imported, 1);
    });

    it('lets F_EDIT_EXPIRED, ALL and the command line write past the expiry days (not past open future periods)', async () => {
      // 202002 ended 2020-02-29, far more than 10 expiry days before NOW; 202409 is not open yet.
      const csv = HEADER + [row(TIMELY_DE, '202002', '4'), row(TIMELY_DE, '202409', '4')].join('\n');
      const clerk = await importCsv(csv, {}, countryClerk(['F_DATAVALUE_ADD']));
      assert.deepEqual(codes(clerk), ['E7640', 'E7641']);
      assert.deepEqual(clerk.rejectedIndexes, [0, 1]);

      const editor = await importCsv(csv, {}, countryClerk(['F_DATAVALUE_ADD', 'F_EDIT_EXPIRED']));
      assert.deepEqual(codes(editor), ['E7641']);
      assert.deepEqual(editor.importCount, { imported: 1, updated: 0, ignored: 1, deleted: 0 });

      const superuser = await importCsv(csv.replace(',4\n', ',5\n'), {}, countryClerk(['ALL']));
      assert.deepEqual(codes(superuser), ['E7641']);
      assert.deepEqual(superuser.importCount, { imported: 0, updated: 1, ignored: 1, deleted: 0 });

      const operator = await importCsv(csv.replace(',4\n', ',6\n'));
      assert.deepEqual(codes(operator), ['E7641']);
      assert.deepEqual(operator.importCount, { imported: 0, updated: 1, ignored: 1, deleted: 0 });
      const stored = await db.storage.queryOne<{ value: string }>(
        `SELECT dv.value FROM data_value dv
           JOIN metadata_object de ON de.sid = dv.data_element_id
           JOIN period p ON p.period_id = dv.period_id
          WHERE de.uid = ? AND p.iso = ?`,
        [TIMELY_DE, '202002'],
      );
      assert.equal(stored?.value, '6');
    });

    it('counts imported, updated, ignored and deleted as DHIS2 does, reviving soft-deleted values', async () => {
      const first = await importCsv(
        HEADER +
          [row(DE_INT, '2019', '5'), row(DE_NO_ZERO, '2019', '0'), row(DE_NO_ZERO, '2018', '4')].join('\n'),
      );
      // An insignificant zero for a new value is not stored.
      assert.deepEqual(first.importCount, { imported: 2, updated: 0, ignored: 1, deleted: 0 });
      const second = await importCsv(
        HEADER +
          [row(DE_INT, '2019', '6'), row(DE_NO_ZERO, '2018', '0'), row(DE_BOOLEAN, '2019', 'TRUE')].join(
            '\n',
          ),
      );
      assert.deepEqual(second.importCount, { imported: 1, updated: 1, ignored: 0, deleted: 1 });
      const stored = await db.storage.queryOne<{ value: string }>(
        `SELECT dv.value FROM data_value dv JOIN metadata_object de ON de.sid = dv.data_element_id WHERE de.uid = ?`,
        [DE_BOOLEAN],
      );
      assert.equal(stored?.value, 'true');
      const deleteByEmpty = await importCsv(HEADER + row(DE_INT, '2019', ''));
      assert.deepEqual(deleteByEmpty.importCount, { imported: 0, updated: 0, ignored: 0, deleted: 1 });
      const revived = await importCsv(HEADER + row(DE_INT, '2019', '7'));
      assert.deepEqual(revived.importCount, { imported: 1, updated: 0, ignored: 0, deleted: 0 });
      const audits = await db.storage.query<{ audit_type: string }>(
        `SELECT a.audit_type FROM data_value_audit a JOIN metadata_object de ON de.sid = a.data_element_id
          WHERE de.uid = ? ORDER BY a.audit_id`,
        [DE_INT],
      );
      assert.deepEqual(
        audits.map((a) => a.audit_type),
        ['CREATE', 'UPDATE', 'DELETE', 'CREATE'],
      );
    });

    it('applies CREATE, UPDATE and DELETE strategies (and DHIS2 aliases)', async () => {
      const create = await importCsv(
        HEADER + [row(DE_INT, '2019', '8'), row(DE_INT, '2017', '1')].join('\n'),
        {
          importStrategy: 'NEW',
        },
      );
      assert.deepEqual(codes(create), ['E7650']);
      assert.deepEqual(create.importCount, { imported: 1, updated: 0, ignored: 1, deleted: 0 });
      const update = await importCsv(
        HEADER + [row(DE_INT, '2019', '9'), row(DE_INT, '2016', '1')].join('\n'),
        {
          strategy: 'UPDATES',
        },
      );
      assert.deepEqual(codes(update), ['E7651']);
      assert.deepEqual(update.importCount, { imported: 0, updated: 1, ignored: 1, deleted: 0 });
      const remove = await importCsv(HEADER + row(DE_INT, '2017', '1'), { importStrategy: 'DELETE' });
      assert.deepEqual(remove.importCount, { imported: 0, updated: 0, ignored: 0, deleted: 1 });
      await assert.rejects(importCsv(HEADER, { importStrategy: 'MERGE' }), /importStrategy/);
    });

    it('refuses the same value twice in one file (E8128)', async () => {
      const summary = await importCsv(
        HEADER + [row(DE_INT, '2015', '1'), row(DE_INT, '2015', '2')].join('\n'),
      );
      assert.deepEqual(codes(summary), ['E8128']);
      assert.deepEqual(summary.rejectedIndexes, [1]);
      assert.equal(summary.importCount.imported, 1);
    });

    it('atomic: one bad row writes nothing; dry run writes nothing and counts the same', async () => {
      const before = await count();
      const day = (i: number): string =>
        new Date(Date.UTC(2000, 0, 1 + i)).toISOString().slice(0, 10).replaceAll('-', '');
      const rows = Array.from({ length: 2000 }, (_, i) => row(DE_INT, day(i), String(i)));
      rows.splice(1500, 0, row(DE_INT, '2014', 'bad'));
      const atomic = await importCsv(HEADER + rows.join('\n'), { atomic: 'true' });
      assert.equal(atomic.status, 'ERROR');
      assert.deepEqual(atomic.importCount, { imported: 0, updated: 0, ignored: 2001, deleted: 0 });
      assert.equal(await count(), before);
      const dry = await importCsv(HEADER + rows.join('\n'), { dryRun: 'true' });
      assert.deepEqual(dry.importCount, { imported: 2000, updated: 0, ignored: 1, deleted: 0 });
      assert.equal(await count(), before);
    });

    it('makes malformed CSV rows conflicts with line and column; positional CSV; gzip body', async () => {
      const csv = `${HEADER}${DE_INT},"2013"x,${OU}\n${row(DE_INT, '2013', '1')}\n`;
      const summary = await importCsv(csv);
      assert.equal(summary.importCount.imported, 1);
      assert.equal(summary.status, 'WARNING');
      assert.match(
        summary.conflicts[0].value,
        /line 2, field 2: unexpected character 'x' after a closing quote/,
      );
      assert.deepEqual(summary.rejectedIndexes, [0]);

      const unterminated = await importCsv(`${HEADER}${row(DE_INT, '2012', '1')}\n${DE_INT},"2012,${OU}\n`);
      assert.equal(unterminated.status, 'ERROR');
      assert.match(unterminated.description, /line 3, field 2: a quoted field is not closed/);

      const stray = await importCsv(`${HEADER}${DE_INT},20"12,${OU},${DEFAULT},${DEFAULT},1\n`);
      assert.equal(stray.conflicts[0].errorCode, 'F7100');
      assert.match(stray.conflicts[0].value, /line 2, field 2: a quote inside an unquoted field/);

      const positional = await importCsv(row(DE_INT, '2011', '3') + '\n', { firstRowIsHeader: 'false' });
      assert.deepEqual(positional.importCount, { imported: 1, updated: 0, ignored: 0, deleted: 0 });

      const gz = await importDataValues(
        context,
        {
          path: files.write(gzipSync(HEADER + row(DE_INT, '2010', '3')), 'csv.gz'),
          fileName: 'x.csv.gz',
          contentType: 'application/csv',
        },
        {},
        undefined,
        { now: NOW },
      );
      assert.equal(gz.importCount.imported, 1);
    });

    it('refuses invalid UTF-8 naming the byte offset, and writes nothing', async () => {
      const before = await count();
      const bytes = Buffer.concat([
        Buffer.from(HEADER + row(DE_INT, '2009', '1') + '\n' + DE_INT + ',2009,'),
        Buffer.from([0xc3, 0x28]),
      ]);
      const summary = await importDataValues(
        context,
        { path: files.write(bytes, 'csv'), fileName: 'bad.csv', contentType: 'text/csv' },
        {},
        undefined,
      );
      assert.equal(summary.status, 'ERROR');
      assert.match(summary.description, new RegExp(`byte ${bytes.length - 2}`));
      assert.equal(await count(), before);
    });

    it('imports JSON with header defaults, followUp spellings and CODE id scheme in the file', async () => {
      const summary = await importJson({
        period: '2008',
        orgUnit: 'OU_559',
        orgUnitIdScheme: 'CODE',
        dataValues: [
          { dataElement: DE_INT, value: 12, followUp: true },
          { dataElement: DE_AGE, categoryOptionCombo: COC_AGE, value: '4', followup: false },
          { dataElement: DE_INT, value: { nested: true } },
        ],
      });
      assert.deepEqual(summary.importCount, { imported: 2, updated: 0, ignored: 1, deleted: 0 });
      assert.deepEqual(codes(summary), ['F7100']);
      const followUp = await db.storage.queryOne<{ follow_up: number }>(
        `SELECT dv.follow_up FROM data_value dv JOIN period p ON p.period_id = dv.period_id
          JOIN metadata_object de ON de.sid = dv.data_element_id WHERE de.uid = ? AND p.iso = '2008'`,
        [DE_INT],
      );
      assert.equal(Number(followUp?.follow_up), 1);
    });

    it('aborts on an unknown data set (query or file) with DHIS2 E7600 as the summary conflict, writing nothing', async () => {
      const before = await count();
      const e7600 = (id: string) => [
        {
          object: id,
          objects: { dataSet: id },
          value: `Data set not found or not accessible: \`${id}\``,
          errorCode: 'E7600',
          property: 'dataSet',
          indexes: [],
        },
      ];
      const byQuery = await importCsv(HEADER + row(DE_INT, '2019', '3'), { dataSet: 'noSuchDS001' });
      assert.equal(byQuery.status, 'ERROR');
      assert.equal(byQuery.description, 'Import process was aborted');
      assert.deepEqual(byQuery.importCount, { imported: 0, updated: 0, ignored: 0, deleted: 0 });
      assert.deepEqual(byQuery.conflicts, e7600('noSuchDS001'));

      // A file whose header names an unknown data set is aborted even when it has no values.
      const byFile = await importJson({
        dataSet: 'noSuchDS002',
        period: '2019',
        orgUnit: OU,
        dataValues: [],
      });
      assert.equal(byFile.status, 'ERROR');
      assert.deepEqual(byFile.conflicts, e7600('noSuchDS002'));
      assert.equal(await count(), before);
    });

    it('tells run.onBytesRead the bytes read against the file size, plain and gzip (the CLI bar)', async () => {
      const csv =
        HEADER +
        Array.from({ length: 3000 }, (_, i) => row(DE_INT, String(1900 + (i % 100)), String(i))).join('\n');
      for (const [content, extension] of [
        [csv, 'csv'],
        [gzipSync(csv), 'csv.gz'],
      ] as const) {
        const path = files.write(content, extension);
        const size = statSync(path).size;
        const reports: Array<[number, number]> = [];
        const summary = await importDataValues(
          context,
          { path, fileName: `values.${extension}`, format: 'csv' },
          { dryRun: 'true' },
          undefined,
          { now: NOW, onBytesRead: (read, total) => reports.push([read, total]) },
        );
        // Read to the end: every row was counted (repeated keys are ignored, this is about the bytes).
        assert.equal(summary.importCount.imported + summary.importCount.ignored, 3000, extension);
        assert.ok(reports.length > 0, extension);
        assert.ok(
          reports.every(([read, total], i) => total === size && (i === 0 || read >= reports[i - 1][0])),
          `${extension}: ${JSON.stringify(reports)}`,
        );
        assert.deepEqual(reports.at(-1), [size, size], extension);
      }
    });

    it('registers completeDate for the header data set, org unit and period', async () => {
      const summary = await importJson({
        dataSet: DATA_SET,
        period: '2007',
        orgUnit: OU,
        completeDate: '2008-01-10',
        dataValues: [{ dataElement: DE_INT, value: '1' }],
      });
      assert.equal(summary.dataSetComplete, '2008-01-10');
      const registration = await db.storage.queryOne<{ completed_date: string }>(
        'SELECT completed_date FROM complete_registration',
      );
      assert.equal(registration?.completed_date, '2008-01-10');
    });
  });
}
