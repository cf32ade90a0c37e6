import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { seedDemoDatabase } from '../../src/services/demo/demo-seeder.ts';
import {
  parseAnalysisExportRequest,
  writeAnalysisExport,
  type AnalysisExportSummary,
} from '../../src/services/analysis/analysis-export-service.ts';

/*
 * Every demo data set (a small demo: the full metadata, 10 facilities) exported to Stata and SPSS,
 * wide and long, read by readstat (nothing on stderr), pspp (no warnings), R haven and pandas (the
 * row counts Ferry wrote; the long files hold every value).
 */

const UTF8_ENV = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
const works = (command: string, args: string[]) =>
  spawnSync(command, args, { encoding: 'utf8' }).status === 0;
const MISSING = [
  !works('7z', ['i']) && '7z is not installed (Debian package p7zip-full; .ci/run installs it)',
  !works('readstat', ['--version']) &&
    'readstat is not installed (Debian package readstat; .ci/run installs it)',
  !works('pspp', ['--version']) && 'pspp is not installed (Debian package pspp; .ci/run installs it)',
  !works('Rscript', ['-e', 'library(haven)']) &&
    'R with haven is not installed (Debian packages r-base-core r-cran-haven; .ci/run installs them)',
  !works('/usr/bin/python3', ['-c', 'import pandas']) &&
    'pandas is not installed for /usr/bin/python3 (Debian package python3-pandas; .ci/run installs it)',
].filter((reason): reason is string => typeof reason === 'string');
const SKIP = MISSING.length > 0 ? MISSING.join('; ') : false;

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `analysis exports of the demo's data sets on ${kind}`,
    { skip: skipReasonFor(kind) || SKIP },
    () => {
      let db: TestDatabase;
      let context: FerryContext;
      let work: string;
      let dataSets: string[];
      let root: string;

      before(async () => {
        db = await createTestDatabase(kind);
        context = contextFor(db.storage, db.dataDir);
        await seedDemoDatabase(context, { facilities: 10, seed: 'ferry-demo' });
        dataSets = (await context.metadata.list('dataSets')).objects.map((o) => o.id).sort();
        const roots = await context.storage.query<{ uid: string }>(
          "SELECT uid FROM metadata_object WHERE type = 'organisationUnits' AND path = '/' || uid",
        );
        root = roots[0].uid;
        work = mkdtempSync(join(tmpdir(), 'ferry-analysis-demo-'));
      });
      after(async () => {
        rmSync(work, { recursive: true, force: true });
        await context.jobs.stop();
        await db.dispose();
      });

      async function exportTo(
        format: string,
        layout: string,
      ): Promise<{ dir: string; summary: AnalysisExportSummary }> {
        const request = parseAnalysisExportRequest(
          { dataSet: dataSets, orgUnit: root, startDate: '2000-01-01', endDate: '2099-12-31', layout },
          format,
        );
        const zip = join(work, `${format}-${layout}.zip`);
        const out = createWriteStream(zip);
        const summary = await writeAnalysisExport(context, request, undefined, out);
        out.end();
        await once(out, 'close');
        const dir = join(work, `${format}-${layout}`);
        const run = spawnSync('7z', ['x', `-o${dir}`, '-y', zip], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        return { dir, summary };
      }

      for (const layout of ['wide', 'long']) {
        it(`Stata, ${layout}: readstat, R haven and pandas read every data set's file`, async () => {
          const { dir, summary } = await exportTo('stata', layout);
          assert.equal(summary.files.length, dataSets.length);
          assert.ok(summary.values > 1000, `${summary.values} values`);
          if (layout === 'long')
            assert.equal(
              summary.files.reduce((n, f) => n + f.rows, 0),
              summary.values,
            );
          for (const file of summary.files) {
            const run = spawnSync('readstat', [join(dir, file.name), '-'], {
              encoding: 'utf8',
              maxBuffer: 1 << 28,
            });
            assert.equal(run.status, 0, file.name);
            assert.equal(run.stderr.replace(/^Converted .*\n?/m, ''), '', file.name);
          }
          const names = summary.files.map((f) => `"${f.name}"`).join(', ');
          const r = spawnSync(
            'Rscript',
            ['-e', `setwd("${dir}"); for (f in c(${names})) cat(f, nrow(haven::read_dta(f)), "\\n")`],
            { encoding: 'utf8', env: UTF8_ENV },
          );
          assert.equal(r.status, 0, r.stderr);
          const py = spawnSync(
            '/usr/bin/python3',
            [
              '-c',
              `import pandas as pd, sys\nfor f in sys.argv[1:]: print(f.split("/")[-1], len(pd.read_stata(f)))`,
              ...summary.files.map((f) => join(dir, f.name)),
            ],
            { encoding: 'utf8', env: UTF8_ENV },
          );
          assert.equal(py.status, 0, py.stderr);
          for (const file of summary.files) {
            assert.match(r.stdout, new RegExp(`^${file.name} ${file.rows} $`, 'm'));
            assert.match(py.stdout, new RegExp(`^${file.name} ${file.rows}$`, 'm'));
          }
        });

        it(`SPSS, ${layout}: readstat, pspp and R haven read every data set's file`, async () => {
          const { dir, summary } = await exportTo('spss', layout);
          const syntax = summary.files
            .map((f) => `GET FILE='${join(dir, f.name)}'.\nDISPLAY DICTIONARY.\nLIST.\n`)
            .join('');
          writeFileSync(join(dir, 'read.sps'), syntax);
          // The listing of a long file runs to megabytes, on stdout as well as into read.csv.
          const pspp = spawnSync(
            'pspp',
            ['-O', 'format=csv', join(dir, 'read.sps'), '-o', join(dir, 'read.csv')],
            {
              encoding: 'utf8',
              env: UTF8_ENV,
              maxBuffer: 1 << 28,
            },
          );
          assert.equal(pspp.status, 0, pspp.stderr);
          assert.doesNotMatch(
            `${pspp.stderr}${readFileSync(join(dir, 'read.csv'), 'utf8')}`,
            /warning|error/i,
          );
          for (const file of summary.files) {
            const run = spawnSync('readstat', [join(dir, file.name), '-'], {
              encoding: 'utf8',
              maxBuffer: 1 << 28,
            });
            assert.equal(run.status, 0, file.name);
            assert.equal(run.stderr.replace(/^Converted .*\n?/m, ''), '', file.name);
          }
          const names = summary.files.map((f) => `"${f.name}"`).join(', ');
          const r = spawnSync(
            'Rscript',
            ['-e', `setwd("${dir}"); for (f in c(${names})) cat(f, nrow(haven::read_sav(f)), "\\n")`],
            { encoding: 'utf8', env: UTF8_ENV },
          );
          assert.equal(r.status, 0, r.stderr);
          for (const file of summary.files)
            assert.match(r.stdout, new RegExp(`^${file.name} ${file.rows} $`, 'm'));
        });
      }
    },
  );
}
