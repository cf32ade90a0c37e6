import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import yauzl from 'yauzl';
import { createSqliteStorage } from '../../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { AGGREGATE_E2E_DIR } from '../support/aggregate-metadata.ts';
import { runFerry, type FerryRun } from '../support/ferry-cli.ts';
import { fillPdfForm, pdfFormFields, PYPDF_SKIP } from '../support/pypdf.ts';

/**
 * The offline exchange of the issue, through the `ferry` command as a user runs it (a subprocess on
 * a data directory, no server): a facility exports to a file, a district imports it; every import
 * flag, the summary and exit status, and the PDF form checked by poppler and pypdf.
 */

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
const DATA_SETS = 'qNtxTrp56wV,VEM58nY22sO'; // TA Malaria annual data (Yearly), elimination (Monthly)
const COUNTRY = 'ImspTQPwCqd'; // Sierra Leone; the bulk file's values are all on Bo (O6uvpzGd5pu) below it
const BULK_RANGE = ['--start', '2018-01-01', '--end', '2019-12-31'];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs ferry and insists on exit status 0. */
async function ok(args: string[]): Promise<FerryRun> {
  const run = await runFerry(args);
  assert.equal(run.code, 0, `ferry ${args.join(' ')}\n${run.stdout}\n${run.stderr}`);
  return run;
}

/** A fresh data directory with DHIS2's aggregate end-to-end metadata imported by `ferry import metadata`. */
async function dataDirWithMetadata(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  for (const file of ['01_setup_metadata.json', '02_aggregate_metadata.json']) {
    await ok(['import', 'metadata', join(AGGREGATE_E2E_DIR, file), '--data-dir', dir]);
  }
  return dir;
}

/** A number read straight from the data directory's database (the command has exited). */
async function queryCount(dataDir: string, sql: string): Promise<number> {
  const storage = await createSqliteStorage(join(dataDir, 'ferry.db'));
  try {
    return Number((await storage.queryOne<{ n: number }>(sql))?.n);
  } finally {
    await storage.close();
  }
}

const liveValues = (dir: string) => queryCount(dir, 'SELECT COUNT(*) AS n FROM data_value WHERE deleted = 0');
const auditRows = (dir: string) => queryCount(dir, 'SELECT COUNT(*) AS n FROM data_value_audit');

interface JsonValue {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo: string;
  attributeOptionCombo: string;
  value: string;
  comment?: string;
  followup?: boolean;
}

/** What a value is, without when and by whom it was stored: one sortable line per value. */
function valueLines(values: readonly JsonValue[]): string[] {
  return values
    .map((v) =>
      [
        v.dataElement,
        v.period,
        v.orgUnit,
        v.categoryOptionCombo,
        v.attributeOptionCombo,
        v.value,
        v.comment ?? '',
        String(v.followup ?? false),
      ].join('|'),
    )
    .sort();
}

/** The bulk range of `dir` as JSON values, through `ferry export data`. */
async function exportedValues(dir: string, extra: string[] = []): Promise<JsonValue[]> {
  const file = join(dir, `check-${Date.now()}.json`);
  await ok(
    ['export', 'data', '--data-set', DATA_SETS, '--org-unit', COUNTRY, '--children', ...BULK_RANGE].concat(
      ['--format', 'json', '-o', file, '--data-dir', dir],
      extra,
    ),
  );
  return (JSON.parse(readFileSync(file, 'utf8')) as { dataValues: JsonValue[] }).dataValues;
}

/** Names and contents of a zip's entries, read with yauzl (not the code that wrote it). */
function readZip(path: string): Promise<Array<{ name: string; text: string }>> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const entries: Array<{ name: string; text: string }> = [];
      zip.on('error', reject);
      zip.on('end', () => resolve(entries));
      zip.on('entry', (entry: yauzl.Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            entries.push({ name: entry.fileName, text: Buffer.concat(chunks).toString('utf8') });
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

/** util-linux's script: runs a command on a pseudo-terminal, as a user at a terminal would. */
const SCRIPT = existsSync('/usr/bin/script') ? '/usr/bin/script' : undefined;

/** `ferry args` with stdout and stderr on a terminal (80 columns); everything it drew, as one string. */
function ferryOnTerminal(args: string[]): { code: number; output: string } {
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const command = [process.execPath, MAIN, ...args].map(quote).join(' ');
  const env: NodeJS.ProcessEnv = { ...process.env, COLUMNS: '80', LINES: '24' };
  delete env.DATABASE_URL;
  const run = spawnSync(SCRIPT!, ['-qec', command, '/dev/null'], { encoding: 'utf8', env });
  return { code: run.status ?? -1, output: run.stdout };
}

const PDFINFO = existsSync('/usr/bin/pdfinfo') ? '/usr/bin/pdfinfo' : undefined;

describe('ferry import data, export data and form pdf on a data directory (subprocess)', () => {
  let root: string;
  /** The facility's data directory: the bulk file is imported here. */
  let facility: string;
  /** The district's: it imports the facility's export. */
  let district: string;

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'ferry-aggregate-cli-'));
    facility = await dataDirWithMetadata(root, 'facility');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('--dry-run counts what the import would do and writes nothing', async () => {
    const run = await ok(['import', 'data', BULK, '--dry-run', '--data-dir', facility]);
    assert.match(run.stdout, /^Status +SUCCESS$/m);
    assert.match(run.stdout, /^Imported +231$/m);
    assert.match(run.stdout, /Dry run: nothing was written/);
    assert.equal(await liveValues(facility), 0);
    assert.equal(await auditRows(facility), 0);
  });

  it('imports the bulk file: a summary table with rows/s, no progress line when stderr is not a terminal', async () => {
    const run = await ok(['import', 'data', BULK, '--data-dir', facility]);
    assert.match(run.stdout, /^Status +SUCCESS$/m);
    assert.match(run.stdout, /^Imported +231$/m);
    assert.match(run.stdout, /^Conflicts +0$/m);
    assert.match(run.stdout, /^Rows read +231 in \d+\.\d s \([\d,]+ rows\/s\)$/m);
    assert.equal(run.stderr, '', 'a pipe gets no progress line');
    assert.equal(await liveValues(facility), 231);
    assert.equal(await auditRows(facility), 231, 'one CREATE audit row per value');
    const bulk = JSON.parse(readFileSync(BULK, 'utf8')) as { dataValues: JsonValue[] };
    assert.deepEqual(valueLines(await exportedValues(facility)), valueLines(bulk.dataValues));
  });

  it('exports CSV in a zip holding one DHIS2-named entry, which a fresh data directory imports to the same values', async () => {
    const zip = join(root, 'facility-export.csv.zip');
    const run = await ok([
      'export',
      'data',
      '--data-set',
      DATA_SETS,
      '--org-unit',
      COUNTRY,
      '--children',
      ...BULK_RANGE,
      '--format',
      'csv',
      '--compression',
      'zip',
      '-o',
      zip,
      '--data-dir',
      facility,
    ]);
    assert.match(
      run.stdout,
      new RegExp(
        `^Wrote ${escapeRegExp(zip)}: 231 values, \\d+\\.\\d kB \\(csv, zip\\) in \\d+\\.\\d s \\([\\d,]+ values/s\\)$`,
        'm',
      ),
    );
    assert.equal(run.stderr, '');
    const entries = await readZip(zip);
    assert.deepEqual(
      entries.map((e) => e.name),
      ['dataValues_2018-01-01_2019-12-31.csv'],
    );
    const lines = entries[0].text.trimEnd().split('\n');
    assert.equal(
      lines[0],
      'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted',
    );
    assert.equal(lines.length, 232);

    district = await dataDirWithMetadata(root, 'district');
    const imported = await ok(['import', 'data', zip, '--data-dir', district]);
    assert.match(imported.stdout, /^Imported +231$/m);
    assert.deepEqual(valueLines(await exportedValues(district)), valueLines(await exportedValues(facility)));
  });

  it('counts the values of every export format', async () => {
    for (const [format, compression] of [
      ['json', 'gzip'],
      ['xml', 'none'],
      ['adx', 'zip'],
    ]) {
      const file = join(root, `facility.${format}.${compression}`);
      const run = await ok(
        ['export', 'data', '--data-set', DATA_SETS, '--org-unit', COUNTRY, '--children'].concat(BULK_RANGE, [
          '--format',
          format,
          '--compression',
          compression,
          '-o',
          file,
          '--data-dir',
          facility,
        ]),
      );
      const kind = compression === 'none' ? format : `${format}, ${compression}`;
      assert.match(run.stdout, new RegExp(`: 231 values, [\\d.]+ kB \\(${kind}\\) in `), run.stdout);
      assert.ok(statSync(file).size > 0);
    }
  });

  it('export data exits 2 on bad arguments and 1 on an unknown data set, leaving an existing file alone', async () => {
    const file = join(root, 'keep.csv');
    writeFileSync(file, 'kept');
    const args = ['--org-unit', COUNTRY, ...BULK_RANGE, '-o', file, '--data-dir', facility];
    const badFormat = await runFerry([
      'export',
      'data',
      '--data-set',
      DATA_SETS,
      '--format',
      'yaml',
      ...args,
    ]);
    assert.equal(badFormat.code, 2);
    assert.match(badFormat.stderr, /F1000: .*`format`: `yaml`/);
    const noDataSet = await runFerry(['export', 'data', ...args]);
    assert.equal(noDataSet.code, 2);
    assert.match(noDataSet.stderr, /E2001: At least one data element, data set or data element group/);
    const unknown = await runFerry(['export', 'data', '--data-set', 'noSuchDs01', ...args]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /noSuchDs01/);
    assert.equal(readFileSync(file, 'utf8'), 'kept');
  });

  it('--strategy DELETE deletes the values of the file', async () => {
    const dir = await dataDirWithMetadata(root, 'delete');
    await ok(['import', 'data', BULK, '--data-dir', dir]);
    assert.equal(await liveValues(dir), 231);
    const run = await ok(['import', 'data', BULK, '--strategy', 'DELETE', '--data-dir', dir]);
    assert.match(run.stdout, /^Deleted +231$/m);
    assert.equal(await liveValues(dir), 0);
    assert.deepEqual(await exportedValues(dir), []);
    assert.equal(
      (await exportedValues(dir, ['--include-deleted'])).length,
      231,
      'soft-deleted, as DHIS2 does',
    );
  });

  it('--id-scheme CODE reads a file keyed by codes, which the default UID scheme does not', async () => {
    const file = join(root, 'codes.csv');
    writeFileSync(
      file,
      'dataelement,period,orgunit,value\nTA_GEN_FUND_NEED,2017,OU_264,111\nTA_GEN_EXT_FUND,2017,OU_264,222\n',
    );
    const byUid = await ok(['import', 'data', file, '--data-dir', facility]);
    assert.match(byUid.stdout, /^Imported +0$/m);
    assert.match(byUid.stdout, /E7610 Data element not found or not accessible: `TA_GEN_FUND_NEED`/);

    const byCode = await ok(['import', 'data', file, '--id-scheme', 'CODE', '--data-dir', facility]);
    assert.match(byCode.stdout, /^Imported +2$/m);
    const out = join(root, 'codes-2017.csv');
    await ok(
      ['export', 'data', '--data-set', 'qNtxTrp56wV', '--org-unit', 'O6uvpzGd5pu', '--period', '2017'].concat(
        ['--id-scheme', 'CODE', '-o', out, '--data-dir', facility],
      ),
    );
    const rows = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').slice(0, 6).join(','))
      .sort();
    assert.deepEqual(rows, [
      'TA_GEN_EXT_FUND,2017,OU_264,default,default,222',
      'TA_GEN_FUND_NEED,2017,OU_264,default,default,111',
    ]);
  });

  it('--skip-audit writes no audit rows, where the same update without it does', async () => {
    const file = join(root, 'update.csv');
    const update = (value: number) =>
      writeFileSync(file, `dataelement,period,orgunit,value\nFRbgzTZ74Hh,2018,O6uvpzGd5pu,${value}\n`);
    update(31000);
    const before = await auditRows(facility);
    const skipped = await ok(['import', 'data', file, '--skip-audit', '--data-dir', facility]);
    assert.match(skipped.stdout, /^Updated +1$/m);
    assert.equal(await auditRows(facility), before);
    update(32000);
    const audited = await ok(['import', 'data', file, '--data-dir', facility]);
    assert.match(audited.stdout, /^Updated +1$/m);
    assert.equal(await auditRows(facility), before + 1);
  });

  it('--format reads a file whose name says nothing, which is refused without it', async () => {
    const file = join(root, 'values.txt');
    writeFileSync(file, 'dataelement,period,orgunit,value\nFRbgzTZ74Hh,2016,O6uvpzGd5pu,5\n');
    const refused = await runFerry(['import', 'data', file, '--data-dir', facility]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /F1003: Unsupported content type `values\.txt`/);
    const run = await ok(['import', 'data', file, '--format', 'csv', '--data-dir', facility]);
    assert.match(run.stdout, /^Imported +1$/m);
  });

  it('exits 1 on ERROR with the first ten conflicts, and --json gives the full summary', async () => {
    const file = join(root, 'bad.csv');
    const unknown = Array.from({ length: 12 }, (_, i) => `noSuchDe${String(i).padStart(3, '0')}`);
    writeFileSync(
      file,
      `dataelement,period,orgunit,value\nFRbgzTZ74Hh,2015,O6uvpzGd5pu,1\n${unknown.map((de) => `${de},2015,O6uvpzGd5pu,1`).join('\n')}\n`,
    );
    const values = await liveValues(facility);
    const run = await runFerry(['import', 'data', file, '--atomic', '--data-dir', facility]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /^Status +ERROR$/m);
    assert.match(run.stdout, /^Conflicts +12$/m);
    const shown = run.stdout.split('\nFirst conflicts:\n')[1]?.trimEnd().split('\n') ?? [];
    assert.equal(shown.length, 11, run.stdout);
    assert.equal(shown[0], '  E7610 Data element not found or not accessible: `noSuchDe000` [rows 1]');
    assert.equal(shown[10], '  ... and 2 more (use --json)');
    assert.equal(await liveValues(facility), values, '--atomic: nothing written');

    const json = await runFerry(['import', 'data', file, '--atomic', '--json', '--data-dir', facility]);
    assert.equal(json.code, 1);
    assert.equal(json.stderr, '');
    const summary = JSON.parse(json.stdout) as {
      status: string;
      importCount: Record<string, number>;
      conflicts: Array<{ errorCode: string; value: string; indexes: number[] }>;
    };
    assert.equal(summary.status, 'ERROR');
    assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: 13, deleted: 0 });
    assert.deepEqual(
      summary.conflicts.map((c) => [c.errorCode, c.indexes]),
      unknown.map((_, i) => ['E7610', [i + 1]]),
    );
  });

  it(
    'form pdf writes a PDF that poppler reads, with fields named as DHIS2 names them, which imports once filled',
    {
      skip: PDFINFO ? PYPDF_SKIP : 'pdfinfo (poppler-utils) is not installed',
    },
    async () => {
      const form = join(root, 'form.pdf');
      const run = await ok(
        ['form', 'pdf', '--data-set', 'qNtxTrp56wV', '--org-unit', 'O6uvpzGd5pu'].concat([
          '--period',
          '2019',
          '-o',
          form,
          '--data-dir',
          facility,
        ]),
      );
      assert.match(run.stdout, new RegExp(`^Wrote ${escapeRegExp(form)} \\(\\d+ bytes\\)$`, 'm'));
      const info = spawnSync(PDFINFO!, [form], { encoding: 'utf8' });
      assert.equal(info.status, 0, info.stderr);
      assert.match(info.stdout, /^Title: +TA Malaria annual data$/m);
      assert.match(info.stdout, /^Form: +AcroForm$/m);
      assert.match(info.stdout, /^Pages: +1$/m);

      const fields = pdfFormFields(form);
      assert.equal(fields.TXFD_OrgID, 'O6uvpzGd5pu');
      assert.equal(fields.TXFD_PeriodID, '2019');
      const valueFields = Object.keys(fields).filter((name) => name.startsWith('TXFDDV_'));
      // 6 data elements with the default combo (HllvX50cXC0) and one by 3 age groups.
      assert.deepEqual(valueFields.sort(), [
        'TXFDDV_EpyvZBsqMmM_HllvX50cXC0',
        'TXFDDV_FRbgzTZ74Hh_HllvX50cXC0',
        'TXFDDV_NywGy6uMS5r_HllvX50cXC0',
        'TXFDDV_UH47dKFqTRK_HllvX50cXC0',
        'TXFDDV_cOVhTyW8zN6_HllvX50cXC0',
        'TXFDDV_dFaBg0HpoIL_hF0pQZIn6Ch',
        'TXFDDV_dFaBg0HpoIL_oPcWGgS2Liz',
        'TXFDDV_dFaBg0HpoIL_rtfSaMjPyq6',
        'TXFDDV_tpz77FcntKx_HllvX50cXC0',
      ]);

      const filled = join(root, 'filled.pdf');
      fillPdfForm(form, filled, { TXFDDV_dFaBg0HpoIL_oPcWGgS2Liz: '4321' });
      const imported = await ok(['import', 'data', filled, '--data-dir', facility]);
      assert.match(imported.stdout, /^Imported +1$/m);
      const out = join(root, 'form-values.csv');
      await ok(
        [
          'export',
          'data',
          '--data-set',
          'qNtxTrp56wV',
          '--org-unit',
          'O6uvpzGd5pu',
          '--period',
          '2019',
        ].concat(['-o', out, '--data-dir', facility]),
      );
      assert.match(readFileSync(out, 'utf8'), /^dFaBg0HpoIL,2019,O6uvpzGd5pu,oPcWGgS2Liz,HllvX50cXC0,4321,/m);
    },
  );

  it(
    'on a terminal, import data draws a bar from the bytes read with rows/s, and export data a running count',
    { skip: SCRIPT ? false : 'script (util-linux) is not installed' },
    () => {
      const imported = ferryOnTerminal(['import', 'data', BULK, '--dry-run', '--data-dir', facility]);
      assert.equal(imported.code, 0, imported.output);
      const frames = imported.output.split('\r');
      const kB = (statSync(BULK).size / 1000).toFixed(1);
      const last = frames.find((frame) => frame.includes('Done'));
      assert.ok(last, imported.output);
      assert.match(
        last,
        new RegExp(`^\\[#{10,30}\\] 100%  Done  231 rows  [\\d,]+ rows/s  ${kB}/${kB} kB\\x1b\\[K$`),
      );
      assert.ok(last.length - 3 < 80, 'narrower than the terminal');
      assert.match(imported.output, /Status +SUCCESS/);

      const file = join(root, 'terminal.csv');
      const exported = ferryOnTerminal(
        ['export', 'data', '--data-set', DATA_SETS, '--org-unit', COUNTRY].concat([
          '--children',
          ...BULK_RANGE,
          '-o',
          file,
          '--data-dir',
          facility,
        ]),
      );
      assert.equal(exported.code, 0, exported.output);
      assert.match(exported.output, /\rExporting  [\d,]+ values  [\d,]+ values\/s/);
      assert.match(exported.output, /Wrote .*terminal\.csv: 2\d\d values, /);
    },
  );
});
