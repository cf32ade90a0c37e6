import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importAggregateE2eValues, importJsonValues } from '../support/data-value-imports.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { runFerry } from '../support/ferry-cli.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';

/*
 * Analysis exports of aggregate data read back by readers Ferry doesn't ship: readstat, pspp, R's
 * haven and pandas must see the values, variable labels and value labels Ferry holds, dates as
 * dates, a 3,000-character value whole, and French, Portuguese and Amharic text intact. Data: DHIS2's
 * aggregate e2e fixtures (222 values of TA Malaria elimination, December 2019, Bo) and a data set of
 * ours (test/fixtures/analysis) covering every value type an analysis file maps.
 */

const FIXTURE = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/analysis/analysis-metadata.json'), 'utf8'),
) as Record<string, unknown>;
const BULK = JSON.parse(readFileSync(join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'), 'utf8')) as {
  dataValues: {
    dataElement: string;
    period: string;
    orgUnit: string;
    categoryOptionCombo: string;
    value: string;
  }[];
};
const SIERRA_LEONE = 'ImspTQPwCqd';
const BO = 'O6uvpzGd5pu';
const AMHARIC_UNIT = 'AnaOuAmh001';
const DEFAULT_COC = 'HllvX50cXC0';
const MAL_EL = 'VEM58nY22sO';
const OURS = 'AnaDataSet1';
/** 3,000 characters of Portuguese and Amharic, 5,000+ bytes: a strL in Stata, a very long string in SPSS. */
const NOTE = 'Observação – ሰላም ጤና '.repeat(200).slice(0, 2999) + '.';
const PASSWORD = 'Analyse-Zq7#pàsswörd';
const NO_EXPORT = { id: 'anaNoExport', username: 'no.export', password: 'No-export-pw-1' };
/** May export, but sees only the Amharic-named unit. */
const LOCAL = { id: 'anaLocalUsr', username: 'local.analyst', password: 'Local-analyst-pw-1' };

const OUR_VALUES: Record<string, string>[] = [
  ['AnaDeCases1', '202401', BO, '12'],
  ['AnaDeRate01', '202401', BO, '0.25'],
  ['AnaDeDate01', '202401', BO, '2024-01-17'],
  ['AnaDeStock1', '202401', BO, 'LOW'],
  ['AnaDeNote01', '202401', BO, NOTE],
  ['AnaDeBool01', '202401', BO, 'true'],
  ['AnaDeOld001', '202401', BO, 'n/d'],
  ['AnaDeCases1', '202401', AMHARIC_UNIT, '3'],
  ['AnaDeStock1', '202402', AMHARIC_UNIT, 'HIGH'],
].map(([dataElement, period, orgUnit, value]) => ({
  dataElement,
  period,
  orgUnit,
  categoryOptionCombo: DEFAULT_COC,
  attributeOptionCombo: DEFAULT_COC,
  value,
}));

function tool(command: string, args: string[], reason: string): string | false {
  const run = spawnSync(command, args, { encoding: 'utf8' });
  return run.error === undefined ? false : reason;
}
const NO_READSTAT = tool(
  'readstat',
  ['--version'],
  'readstat is not installed (Debian package readstat; .ci/run installs it)',
);
const NO_PSPP = tool(
  'pspp',
  ['--version'],
  'pspp is not installed (Debian package pspp; .ci/run installs it)',
);
const NO_HAVEN =
  spawnSync('Rscript', ['-e', 'library(haven)'], { encoding: 'utf8' }).status === 0
    ? false
    : 'R with haven is not installed (Debian packages r-base-core r-cran-haven; .ci/run installs them)';
const NO_PANDAS =
  spawnSync('/usr/bin/python3', ['-c', 'import pandas'], { encoding: 'utf8' }).status === 0
    ? false
    : 'pandas is not installed for /usr/bin/python3 (Debian package python3-pandas; .ci/run installs it)';
const NO_7Z = tool('7z', ['i'], '7z is not installed (Debian package p7zip-full; .ci/run installs it)');
const UTF8_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };

/** Unpacks a zip (7z, with a password or none) into a fresh directory: exit status and files. */
function unzip(zip: Buffer, password = ''): { status: number | null; dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-analysis-test-'));
  writeFileSync(join(dir, 'export.zip'), zip);
  const out = join(dir, 'out');
  const run = spawnSync('7z', ['x', `-p${password}`, `-o${out}`, '-y', join(dir, 'export.zip')], {
    encoding: 'utf8',
  });
  return { status: run.status, dir: out, files: existsSync(out) ? readdirSync(out).sort() : [] };
}

/** Runs R with haven on `script` (the file to read is `path`); its stdout, failing on an R error. */
function runR(script: string): string {
  const run = spawnSync('Rscript', ['-e', script], { encoding: 'utf8', env: UTF8_ENV });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

/** The checks both haven readers share: values, labels, dates, the long note, Amharic names. */
function havenChecks(read: string, invalid: string): string {
  return `
suppressMessages(library(haven))
d <- ${read}
bo <- d[d$orgunit_id == "${BO}" & d$period == "202401", ]
amh <- d[d$orgunit_id == "${AMHARIC_UNIT}" & d$period == "202402", ]
stopifnot(nrow(d) == 3, nrow(bo) == 1, nrow(amh) == 1)
stopifnot(bo$ANA_CASOS == 12, abs(bo$ANA_TAUX - 0.25) < 1e-12, bo$ANA_RAPPORT == 1, bo$ANA_STOCK == 1)
stopifnot(inherits(d$ANA_DATE_VISITE, "Date"), bo$ANA_DATE_VISITE == as.Date("2024-01-17"))
stopifnot(inherits(d$period_start, "Date"), amh$period_end == as.Date("2024-02-29"))
stopifnot(bo$ANA_NOTE == readLines("note.txt", encoding = "UTF-8"), nchar(bo$ANA_NOTE) == 3000)
stopifnot(amh$orgunit_name == "አዲስ ጤና ጣቢያ", amh$orgunit_level2 == "Bo", amh$ANA_STOCK == 3, is.na(amh$ANA_CASOS))
stopifnot(attr(d$ANA_CASOS, "label") == "Número de casos confirmados de malária (todas as idades)")
stopifnot(attr(d$orgunit_level3, "label") == "Chiefdom (organisation unit level 3)")
l <- attr(d$ANA_STOCK, "labels")
stopifnot(identical(unname(l), c(1, 2, 3)), identical(names(l), c("Rupture de stock", "Stock suffisant", "Excédent")))
stopifnot(identical(names(attr(d$ANA_RAPPORT, "labels")), c("No", "Yes")))
${invalid}
w <- ${read.replace('ANA_SUPERVISION', 'MAL_EL')}
cols <- setdiff(names(w), c("orgunit_id", "orgunit_code", "orgunit_name", "orgunit_level1", "orgunit_level2", "period", "period_start", "period_end", "aoc_id", "aoc_name"))
cat(sprintf("%.0f\\n", sum(sapply(cols, function(c) sum(as.numeric(zap_labels(w[[c]])), na.rm = TRUE)))))
`;
}

/** The sum of DHIS2's fixture values of TA Malaria elimination in December 2019 (booleans as 1/0). */
function fixtureSum(elements: ReadonlySet<string>): number {
  return BULK.dataValues
    .filter((v) => v.period === '201912' && elements.has(v.dataElement))
    .reduce((sum, v) => sum + (v.value === 'true' ? 1 : v.value === 'false' ? 0 : Number(v.value)), 0);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`analysis exports on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let h: TestApp;
    let malariaElements: Set<string>;

    before(async () => {
      h = await startTestApp(kind, {
        seed: (_context, db) => loadAggregateE2eMetadata(db.storage, [FIXTURE]),
        setup: async (context, db) => {
          await importAggregateE2eValues(context);
          await importJsonValues(context, join(db.dataDir, 'analysis-values.json'), OUR_VALUES);
          // A value type changed after data was captured: the stored "n/d" is no longer a number.
          const old = await context.metadata.get('dataElements', 'AnaDeOld001');
          await context.metadata.save('dataElements', [{ ...old!, valueType: 'NUMBER' }]);
          await context.metadata.save('userRoles', [
            { id: 'anaRoleImp1', name: 'Data entry only', authorities: ['F_DATAVALUE_ADD'] },
          ]);
          await context.metadata.save('userRoles', [
            { id: 'anaRoleExp1', name: 'Data export', authorities: ['F_EXPORT_DATA'] },
          ]);
          await context.users.createUser({
            ...LOCAL,
            firstName: 'Local',
            surname: 'Analyst',
            roles: ['anaRoleExp1'],
            orgUnits: [AMHARIC_UNIT],
          });
          await context.users.createUser({
            ...NO_EXPORT,
            firstName: 'No',
            surname: 'Export',
            roles: ['anaRoleImp1'],
            orgUnits: [SIERRA_LEONE],
          });
        },
      });
      const dataSet = await h.context.metadata.get('dataSets', MAL_EL);
      malariaElements = new Set(
        (dataSet!.dataSetElements as { dataElement: { id: string } }[]).map((d) => d.dataElement.id),
      );
      await h.context.jobs.start();
    });
    after(() => stopTestApp(h));

    const params = {
      dataSet: [OURS, MAL_EL],
      orgUnit: SIERRA_LEONE,
      startDate: '2019-01-01',
      endDate: '2024-12-31',
    };

    async function produce(
      format: string,
      extra: Record<string, unknown> = {},
      password?: string,
    ): Promise<{ card: ExportCard; bytes: Buffer }> {
      const reply = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: {
          kind: 'analysis',
          format,
          params: { ...params, ...extra },
          ...(password ? { password } : {}),
        },
      });
      assert.equal(reply.statusCode, 201, reply.body);
      const id = reply.json<ExportCard>().id;
      const job = await waitForJob(h.context, id);
      assert.equal(job.status, 'COMPLETED', job.error ?? '');
      const card = (
        await h.app.inject({ url: `/api/exports/${id}`, headers: { authorization: ADMIN_AUTH } })
      ).json<ExportCard>();
      const file = await h.app.inject({
        url: `/api/exports/${id}/file`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(file.statusCode, 200, file.body);
      return { card, bytes: file.rawPayload };
    }

    it('refuses a user without F_EXPORT_DATA and a bad layout, queuing nothing', async () => {
      const denied = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: basicAuth(NO_EXPORT.username, NO_EXPORT.password) },
        payload: { kind: 'analysis', format: 'stata', params },
      });
      assert.equal(denied.statusCode, 403, denied.body);
      assert.match(denied.body, /F_EXPORT_DATA/);
      const bad = await h.app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN_AUTH },
        payload: { kind: 'analysis', format: 'stata', params: { ...params, layout: 'diagonal' } },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.body, /layout/);
    });

    it(
      'a user sees only the data in their view scope and data sharing: E2012 above it, E2010 for a data set not shared with them, the rows of their own unit below',
      { skip: NO_7Z },
      async () => {
        const auth = basicAuth(LOCAL.username, LOCAL.password);
        const above = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: auth },
          payload: { kind: 'analysis', format: 'tab', params: { ...params, dataSet: OURS } },
        });
        assert.equal(above.statusCode, 201, above.body);
        const refused = await waitForJob(h.context, above.json<ExportCard>().id);
        assert.equal(refused.status, 'FAILED');
        assert.match(refused.error ?? '', /not allowed to read data for organisation unit: `ImspTQPwCqd`/);
        // TA Malaria elimination is shared with the malaria group only (data sharing): E2010.
        const unshared = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: auth },
          payload: {
            kind: 'analysis',
            format: 'tab',
            params: { ...params, dataSet: MAL_EL, orgUnit: AMHARIC_UNIT },
          },
        });
        assert.equal(unshared.statusCode, 201, unshared.body);
        const notShared = await waitForJob(h.context, unshared.json<ExportCard>().id);
        assert.equal(notShared.status, 'FAILED');
        assert.match(notShared.error ?? '', /not allowed to read data for data set: `VEM58nY22sO`/);
        const own = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: auth },
          payload: {
            kind: 'analysis',
            format: 'tab',
            params: { ...params, dataSet: OURS, orgUnit: AMHARIC_UNIT },
          },
        });
        assert.equal(own.statusCode, 201, own.body);
        const id = own.json<ExportCard>().id;
        assert.equal((await waitForJob(h.context, id)).status, 'COMPLETED');
        const file = await h.app.inject({ url: `/api/exports/${id}/file`, headers: { authorization: auth } });
        const { dir, files } = unzip(file.rawPayload);
        try {
          assert.deepEqual(files, ['ANA_SUPERVISION.tab', 'export__readme.txt']);
          const lines = readFileSync(join(dir, 'ANA_SUPERVISION.tab'), 'utf8').trimEnd().split('\n');
          assert.equal(lines.length, 1 + 2);
          assert.ok(lines.slice(1).every((line) => line.startsWith(`${AMHARIC_UNIT}\t`)));
          assert.match(
            readFileSync(join(dir, 'export__readme.txt'), 'utf8'),
            /Requested by: local\.analyst \(anaLocalUsr\)/,
          );
        } finally {
          rmSync(join(dir, '..'), { recursive: true, force: true });
        }
      },
    );

    it(
      'tab, wide: a row per org unit, period and attribute option combo; the readme says what, when and by whom',
      { skip: NO_7Z },
      async () => {
        const { card, bytes } = await produce('tab');
        assert.match(
          card.description,
          /Analysis file of data sets AnaDataSet1, VEM58nY22sO.*\(wide, tab-separated\)/,
        );
        assert.equal(card.file?.name, `analysis-${card.jobNumber}.tab.zip`);
        const { dir, files } = unzip(bytes);
        try {
          assert.deepEqual(files, ['ANA_SUPERVISION.tab', 'MAL_EL.tab', 'export__readme.txt']);
          const readme = readFileSync(join(dir, 'export__readme.txt'), 'utf8');
          assert.match(readme, /Requested by: admin \(/);
          assert.match(readme, /Generated by Ferry .* on \d{4}-\d{2}-\d{2}T/);
          assert.match(
            readme,
            /ANA_CASOS\tinteger\tNúmero de casos confirmados de malária \(todas as idades\)/,
          );
          const [header, ...lines] = readFileSync(join(dir, 'ANA_SUPERVISION.tab'), 'utf8')
            .trimEnd()
            .split('\n');
          const columns = header.split('\t');
          assert.deepEqual(columns.slice(0, 11), [
            'orgunit_id',
            'orgunit_code',
            'orgunit_name',
            'orgunit_level1',
            'orgunit_level2',
            'orgunit_level3',
            'period',
            'period_start',
            'period_end',
            'aoc_id',
            'aoc_name',
          ]);
          const rows = lines.map((line) =>
            Object.fromEntries(line.split('\t').map((cell, i) => [columns[i], cell])),
          );
          assert.equal(rows.length, 3);
          const bo = rows.find((r) => r.orgunit_id === BO && r.period === '202401')!;
          assert.deepEqual(
            [
              bo.ANA_CASOS,
              bo.ANA_TAUX,
              bo.ANA_DATE_VISITE,
              bo.ANA_STOCK,
              bo.ANA_NOTE,
              bo.ANA_RAPPORT,
              bo.ANA_ANCIEN,
            ],
            ['12', '0.25', '2024-01-17', 'LOW', NOTE, 'true', 'n/d'],
          );
          assert.equal(bo.orgunit_level1, 'Sierra Leone');
          // Every fixture value of the malaria data set is in the one wide row, and nothing else.
          const [malariaHeader, malariaRow, ...more] = readFileSync(join(dir, 'MAL_EL.tab'), 'utf8')
            .trimEnd()
            .split('\n');
          assert.equal(more.length, 0);
          const cells = malariaRow.split('\t').slice(10);
          assert.equal(malariaHeader.split('\t').length - 10, cells.length);
          const sum = cells.reduce((s, c) => s + (c === 'true' ? 1 : c === 'false' ? 0 : Number(c || 0)), 0);
          assert.equal(sum, fixtureSum(malariaElements));
          assert.equal(cells.filter((c) => c !== '').length, 222);
        } finally {
          rmSync(join(dir, '..'), { recursive: true, force: true });
        }
      },
    );

    it(
      'csv, long, password-protected: 7z opens it with the password and not without',
      { skip: NO_7Z },
      async () => {
        const { card, bytes } = await produce('csv', { layout: 'long' }, PASSWORD);
        assert.equal(card.passwordProtected, true);
        const wrong = unzip(bytes, 'not-the-password');
        try {
          assert.notEqual(wrong.status, 0);
        } finally {
          rmSync(join(wrong.dir, '..'), { recursive: true, force: true });
        }
        const { status, dir, files } = unzip(bytes, PASSWORD);
        try {
          assert.equal(status, 0);
          assert.deepEqual(files, ['ANA_SUPERVISION.csv', 'MAL_EL.csv', 'export__readme.txt']);
          const lines = readFileSync(join(dir, 'MAL_EL.csv'), 'utf8').trimEnd().split('\n');
          assert.equal(lines.length, 1 + 222);
          assert.match(readFileSync(join(dir, 'export__readme.txt'), 'utf8'), /\(long, CSV\)/);
        } finally {
          rmSync(join(dir, '..'), { recursive: true, force: true });
        }
      },
    );

    it(
      'ferry export analysis writes the same archive from the command line, protected with --password-file',
      { skip: NO_7Z },
      async () => {
        const target = h.db.databaseUrl ? ['--database-url', h.db.databaseUrl] : ['--data-dir', h.db.dataDir];
        const work = mkdtempSync(join(tmpdir(), 'ferry-analysis-cli-'));
        try {
          const passwordFile = join(work, 'password.txt');
          writeFileSync(passwordFile, `${PASSWORD}\n`);
          const output = join(work, 'supervision.zip');
          const run = await runFerry([
            'export',
            'analysis',
            '--data-set',
            OURS,
            '--org-unit',
            SIERRA_LEONE,
            '--period',
            '202401',
            '--period',
            '202402',
            '--format',
            'stata',
            '--long',
            '--password-file',
            passwordFile,
            '-o',
            output,
            ...target,
          ]);
          assert.equal(run.code, 0, run.stderr);
          assert.match(
            run.stdout,
            /Wrote .*supervision\.zip: 9 values in ANA_SUPERVISION\.dta \(9 rows, 20 variables\).*AES-256/,
          );
          const bytes = readFileSync(output);
          const refused = unzip(bytes, 'wrong-password-here');
          rmSync(join(refused.dir, '..'), { recursive: true, force: true });
          assert.notEqual(refused.status, 0);
          const { status, dir, files } = unzip(bytes, PASSWORD);
          try {
            assert.equal(status, 0);
            assert.deepEqual(files, ['ANA_SUPERVISION.dta', 'export__readme.txt']);
            assert.match(
              readFileSync(join(dir, 'export__readme.txt'), 'utf8'),
              /Requested by: the operator, on the command line/,
            );
            if (!NO_READSTAT) {
              const data = spawnSync('readstat', [join(dir, 'ANA_SUPERVISION.dta'), '-'], {
                encoding: 'utf8',
              });
              assert.equal(data.stderr.replace(/^Converted .*\n?/m, ''), '');
              assert.equal(data.stdout.trimEnd().split('\n').length, 1 + 9);
            }
          } finally {
            rmSync(join(dir, '..'), { recursive: true, force: true });
          }
          const bad = await runFerry([
            'export',
            'analysis',
            '--data-set',
            OURS,
            '--org-unit',
            SIERRA_LEONE,
            '--period',
            '202401',
            '--format',
            'sas',
            '-o',
            join(work, 'x.zip'),
            ...target,
          ]);
          assert.equal(bad.code, 2);
          assert.match(bad.stderr, /format/);
          assert.equal(existsSync(join(work, 'x.zip')), false);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      },
    );

    describe('Stata', () => {
      let dir: string;
      before(async () => {
        if (NO_7Z) return;
        dir = unzip((await produce('stata')).bytes).dir;
        writeFileSync(join(dir, 'note.txt'), `${NOTE}\n`);
      });
      after(() => dir && rmSync(join(dir, '..'), { recursive: true, force: true }));

      it('readstat reads each .dta with nothing on stderr', { skip: NO_READSTAT || NO_7Z }, () => {
        for (const file of ['ANA_SUPERVISION.dta', 'MAL_EL.dta']) {
          const meta = spawnSync('readstat', [join(dir, file)], { encoding: 'utf8' });
          assert.equal(meta.stderr, '');
          assert.match(meta.stdout, /Format version: 118/);
          const data = spawnSync('readstat', [join(dir, file), '-'], { encoding: 'utf8' });
          assert.equal(data.stderr.replace(/^Converted .*\n?/m, ''), '');
        }
      });

      it(
        'R haven reads the values, labels, dates and declared missing values Ferry holds',
        { skip: NO_HAVEN || NO_7Z },
        () => {
          const out = runR(
            `setwd("${dir}")\n` +
              havenChecks(
                'read_dta("ANA_SUPERVISION.dta")',
                `stopifnot(is_tagged_na(bo$ANA_ANCIEN, "a"), identical(names(attr(d$ANA_ANCIEN, "labels")), "not a valid value"))`,
              ),
          );
          assert.equal(Number(out.trim()), fixtureSum(malariaElements));
        },
      );

      it(
        'pandas reads the same values, variable labels and value labels, dates as dates',
        { skip: NO_PANDAS || NO_7Z },
        () => {
          const script = `
import json, sys, pandas as pd
r = pd.io.stata.StataReader(sys.argv[1])
d = r.read(convert_categoricals=False)
labels = r.variable_labels()
values = r.value_labels()
bo = d[(d.orgunit_id == "${BO}") & (d.period == "202401")].iloc[0]
print(json.dumps({
  "rows": len(d),
  "casos": float(bo.ANA_CASOS), "taux": float(bo.ANA_TAUX), "stock": float(bo.ANA_STOCK),
  "date": str(bo.ANA_DATE_VISITE.date()), "dateType": str(d.ANA_DATE_VISITE.dtype),
  "note": bo.ANA_NOTE, "label": labels["ANA_CASOS"], "stockLabels": {str(k): v for k, v in values["ANA_STOCK"].items()},
  "amharic": d[d.orgunit_id == "${AMHARIC_UNIT}"].iloc[0].orgunit_name,
}, ensure_ascii=False))
`;
          const run = spawnSync('/usr/bin/python3', ['-c', script, join(dir, 'ANA_SUPERVISION.dta')], {
            encoding: 'utf8',
            env: UTF8_ENV,
          });
          assert.equal(run.status, 0, run.stderr);
          const read = JSON.parse(run.stdout) as Record<string, unknown>;
          assert.deepEqual(read, {
            rows: 3,
            casos: 12,
            taux: 0.25,
            stock: 1,
            date: '2024-01-17',
            dateType: 'datetime64[ns]',
            note: NOTE,
            label: 'Número de casos confirmados de malária (todas as idades)',
            stockLabels: { '1': 'Rupture de stock', '2': 'Stock suffisant', '3': 'Excédent' },
            amharic: 'አዲስ ጤና ጣቢያ',
          });
        },
      );
    });

    describe('SPSS', () => {
      let dir: string;
      before(async () => {
        if (NO_7Z) return;
        dir = unzip((await produce('spss')).bytes).dir;
        writeFileSync(join(dir, 'note.txt'), `${NOTE}\n`);
      });
      after(() => dir && rmSync(join(dir, '..'), { recursive: true, force: true }));

      it('readstat reads each .sav with nothing on stderr', { skip: NO_READSTAT || NO_7Z }, () => {
        for (const file of ['ANA_SUPERVISION.sav', 'MAL_EL.sav']) {
          const meta = spawnSync('readstat', [join(dir, file)], { encoding: 'utf8' });
          assert.equal(meta.stderr, '');
          assert.match(meta.stdout, /Text encoding: UTF-8/i);
          const data = spawnSync('readstat', [join(dir, file), '-'], { encoding: 'utf8' });
          assert.equal(data.stderr.replace(/^Converted .*\n?/m, ''), '');
        }
      });

      it(
        'pspp reads each .sav without warnings: dictionary, labels, the long note',
        { skip: NO_PSPP || NO_7Z },
        () => {
          for (const file of ['ANA_SUPERVISION.sav', 'MAL_EL.sav']) {
            const syntax = join(dir, `${file}.sps`);
            writeFileSync(syntax, `GET FILE='${join(dir, file)}'.\nDISPLAY DICTIONARY.\nLIST.\n`);
            const out = join(dir, `${file}.csv`);
            const run = spawnSync('pspp', ['-O', 'format=csv', syntax, '-o', out], {
              encoding: 'utf8',
              env: UTF8_ENV,
            });
            const text = readFileSync(out, 'utf8');
            assert.equal(run.status, 0, run.stderr);
            assert.doesNotMatch(`${run.stdout}${run.stderr}${text}`, /warning|error/i);
            if (file === 'ANA_SUPERVISION.sav') {
              assert.ok(text.includes(NOTE), 'the 3,000-character note whole');
              assert.match(text, /ANA_STOCK,\d+,Niveau de stock d'ACT/);
              assert.match(
                text,
                /ANA_ANCIEN,\d+,"Ancien indicateur \(texte, devenu numérique\)",.*-999999999/,
              );
              assert.match(text, /,3,Excédent/);
              assert.match(text, /አዲስ ጤና ጣቢያ/);
              assert.match(text, /17-JAN-2024/);
            }
          }
        },
      );

      it(
        'R haven reads the values, labels, dates and declared user-missing values Ferry holds',
        { skip: NO_HAVEN || NO_7Z },
        () => {
          const out = runR(
            `setwd("${dir}")\n` +
              havenChecks(
                'read_sav("ANA_SUPERVISION.sav", user_na = TRUE)',
                `stopifnot(unclass(bo$ANA_ANCIEN) == -999999999, is.na(bo$ANA_ANCIEN), attr(d$ANA_ANCIEN, "na_values") == -999999999)`,
              ),
          );
          assert.equal(Number(out.trim()), fixtureSum(malariaElements));
        },
      );
    });
  });
}
