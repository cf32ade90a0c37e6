import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { seedDemoDatabase } from '../../src/services/demo/demo-seeder.ts';
import { jsonValue } from '../../src/storage/tracker-store.ts';
import { runFerry } from '../support/ferry-cli.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';

/*
 * Analysis exports of the demo's programs (a small demo: 10 facilities; the malaria case event
 * program and the ANC and child health tracker programs), every file of every program in Stata and
 * SPSS read back by readstat (nothing on stderr), pspp (no warning), R's haven and pandas, and
 * compared cell by cell with the tab file of the same export: the values, dates as dates, value
 * labels and variable labels Ferry holds. The malaria stage gets a data element of ours with a
 * Portuguese/French code, an Amharic and Portuguese name and a French translation, and one event a
 * 3,000-character value and an age that is not a number; one facility gets an Amharic name.
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
/** pandas.read_spss needs pyreadstat, which Debian does not package: checked only where it exists. */
const HAS_PYREADSTAT = works('/usr/bin/python3', ['-c', 'import pyreadstat']);

const NOTE_DE = 'AnaPrNote01';
const NOTE_CODE = 'OBSERVAÇÃO_ÉQUIPE';
const NOTE_NAME = 'Observação da equipe – ሰላም ጤና';
const NOTE_FR = 'Observation de l’équipe';
/** 3,000 characters of Portuguese and Amharic (5,000+ bytes): a strL in Stata, a very long string in SPSS. */
const NOTE = 'Observação – ሰላም ጤና '.repeat(200).slice(0, 2999) + '.';
const AMHARIC_FACILITY = 'አዲስ ጤና ጣቢያ';
const LOCAL = { id: 'anaPrLocal1', username: 'program.analyst', password: 'Program-analyst-pw-1' };

function unzip(zip: Buffer | string, work: string, name: string): { dir: string; files: string[] } {
  const dir = join(work, name);
  const path = typeof zip === 'string' ? zip : join(work, `${name}.zip`);
  if (typeof zip !== 'string') writeFileSync(path, zip);
  const run = spawnSync('7z', ['x', `-o${dir}`, '-y', path], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return { dir, files: readdirSync(dir).sort() };
}

function readTab(path: string): { header: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return { header: lines[0].split('\t'), rows: lines.slice(1).map((l) => l.split('\t')) };
}

/** R: every file as a TSV of cells (numbers, dates as YYYY-MM-DD, codes with their label) and its variable labels. */
const R_DUMP = `
suppressMessages(library(haven))
args <- commandArgs(trailingOnly = TRUE)
for (f in args) {
  d <- if (grepl("dta$", f)) read_dta(f) else read_sav(f, user_na = TRUE)
  out <- lapply(names(d), function(n) {
    x <- d[[n]]
    if (inherits(x, "Date")) { v <- format(x, "%Y-%m-%d"); v[is.na(x)] <- ""; return(paste0("D:", v)) }
    if (inherits(x, "POSIXct")) { v <- format(x, "%Y-%m-%dT%H:%M:%S", tz = "UTC"); v[is.na(x)] <- ""; return(paste0("T:", v)) }
    if (is.character(x)) return(paste0("S:", gsub("[\\t\\n]", " ", x)))
    l <- attr(x, "labels")
    tag <- if (grepl("dta$", f)) ifelse(is_tagged_na(x), na_tag(x), "") else rep("", length(x))
    raw <- unclass(x)
    # haven's is.na() is TRUE for SPSS user-missing values: test the stored numbers.
    miss <- if (!grepl("dta$", f)) !is.na(raw) & raw %in% attr(x, "na_values") else rep(FALSE, length(x))
    v <- ifelse(is.na(raw) & tag == "", "", ifelse(tag != "", paste0(".", tag), format(unclass(x), digits = 15, trim = TRUE, scientific = FALSE)))
    if (!is.null(l)) {
      lab <- names(l)[match(unclass(x), unclass(l))]
      if (grepl("dta$", f)) lab <- ifelse(tag != "", names(l)[match(paste0(".", tag), ifelse(is_tagged_na(l), paste0(".", na_tag(l)), ""))], lab)
      v <- ifelse(is.na(lab), v, paste0(v, "|", lab))
    }
    paste0(ifelse(miss, "M", "N"), ":", v)
  })
  tsv <- do.call(cbind, out)
  labels <- sapply(names(d), function(n) { a <- attr(d[[n]], "label"); if (is.null(a)) "" else a })
  con <- file(paste0(f, ".r.tsv"), open = "w", encoding = "UTF-8")
  writeLines(paste(names(d), collapse = "\\t"), con)
  writeLines(paste(labels, collapse = "\\t"), con)
  for (i in seq_len(nrow(tsv))) writeLines(paste(tsv[i, ], collapse = "\\t"), con)
  close(con)
}
`;

/** pandas: the .dta files as the same kind of TSV (codes without labels, dates as dates). */
const PY_DUMP = `
import sys, pandas as pd, math
for f in sys.argv[1:]:
    r = pd.io.stata.StataReader(f)
    labels = r.variable_labels()
    d = pd.read_stata(f, convert_categoricals=False)
    with open(f + '.py.tsv', 'w', encoding='utf-8') as out:
        out.write('\\t'.join(d.columns) + '\\n')
        out.write('\\t'.join(labels[c] for c in d.columns) + '\\n')
        kinds = {c: str(d[c].dtype) for c in d.columns}
        for row in d.itertuples(index=False):
            cells = []
            for c, v in zip(d.columns, row):
                if kinds[c].startswith('datetime64'):
                    cells.append('' if pd.isna(v) else v.strftime('%Y-%m-%dT%H:%M:%S'))
                elif isinstance(v, str):
                    cells.append('S:' + v.replace('\\t', ' ').replace('\\n', ' '))
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    cells.append('')
                else:
                    cells.append(repr(float(v)))
            out.write('\\t'.join(cells) + '\\n')
`;

function readDump(path: string): { header: string[]; labels: string[]; rows: string[][] } {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return {
    header: lines[0].split('\t'),
    labels: lines[1].split('\t'),
    rows: lines.slice(2).map((l) => l.split('\t')),
  };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `analysis exports of the demo's programs on ${kind}`,
    { skip: skipReasonFor(kind) || SKIP },
    () => {
      let h: TestApp;
      let work: string;
      let programs: MetadataObject[];
      let malaria: MetadataObject;
      let noteEvent: string;
      let amharicFacility: string;
      /** The label each stored text of a coded column should read as: options, statuses, booleans. */
      const expectedLabels = new Map<string, string>([
        ['true', 'Yes'],
        ['false', 'No'],
        ['ACTIVE', 'Active'],
        ['COMPLETED', 'Completed'],
        ['SCHEDULE', 'Scheduled'],
        ['CANCELLED', 'Cancelled'],
      ]);

      before(async () => {
        h = await startTestApp(kind, {
          seed: async (context) => {
            await seedDemoDatabase(context, { facilities: 10, seed: 'ferry-demo' });
          },
          setup: async (context) => {
            const found = (await context.metadata.list('programs')).objects;
            malaria = found.find((p) => p.programType === 'WITHOUT_REGISTRATION')!;
            const stageUid = (malaria.programStages as { id: string }[])[0].id;
            const stage = (await context.metadata.get('programStages', stageUid))!;
            await context.metadata.save('dataElements', [
              {
                id: NOTE_DE,
                code: NOTE_CODE,
                name: NOTE_NAME,
                shortName: 'Observação',
                valueType: 'LONG_TEXT',
                domainType: 'TRACKER',
                aggregationType: 'NONE',
                translations: [{ property: 'NAME', locale: 'fr', value: NOTE_FR }],
              },
            ]);
            await context.metadata.save('programStages', [
              {
                ...stage,
                programStageDataElements: [
                  ...(stage.programStageDataElements as unknown[]),
                  { id: 'AnaPrPsde01', dataElement: { id: NOTE_DE }, sortOrder: 99 },
                ],
              },
            ]);
            // French names for every option (the option set labels in the French export).
            for await (const batch of context.metadata.stream('options')) {
              const translatedOptions = batch.map(({ object }) => ({
                ...object,
                translations: [{ property: 'NAME', locale: 'fr', value: `fr:${String(object.name)}` }],
              }));
              await context.metadata.save('options', translatedOptions);
            }
            const [first] = await context.storage.query<{
              event_id: number;
              uid: string;
              org_unit_id: number;
            }>(
              `SELECT event_id, uid, org_unit_id FROM event WHERE program_id = (SELECT sid FROM metadata_object WHERE type = 'programs' AND uid = ?) ORDER BY event_id LIMIT 1`,
              [malaria.id],
            );
            noteEvent = first.uid;
            const row = await context.storage.queryOne<{ data_values: unknown }>(
              'SELECT data_values FROM event WHERE event_id = ?',
              [first.event_id],
            );
            const values = jsonValue(row!.data_values) as Record<string, Record<string, unknown>>;
            const ageDe = (await context.metadata.findBy('dataElements', 'code', ['MAL_PATIENT_AGE']))[0]
              .object.id;
            values[NOTE_DE] = { value: NOTE, providedElsewhere: false, storedBy: 'admin' };
            values[ageDe] = { value: 'n/d', providedElsewhere: false, storedBy: 'admin' };
            await context.storage.execute('UPDATE event SET data_values = ? WHERE event_id = ?', [
              JSON.stringify(values),
              first.event_id,
            ]);
            const [unit] = await context.storage.query<{ uid: string }>(
              'SELECT uid FROM metadata_object WHERE sid = ?',
              [first.org_unit_id],
            );
            amharicFacility = unit.uid;
            const facility = (await context.metadata.get('organisationUnits', amharicFacility))!;
            await context.metadata.save('organisationUnits', [{ ...facility, name: AMHARIC_FACILITY }]);
            await context.metadata.save('userRoles', [
              { id: 'anaPrRole01', name: 'Program export', authorities: ['F_EXPORT_DATA'] },
            ]);
            await context.users.createUser({
              ...LOCAL,
              firstName: 'Program',
              surname: 'Analyst',
              roles: ['anaPrRole01'],
              orgUnits: [amharicFacility],
            });
          },
        });
        programs = (await h.context.metadata.list('programs')).objects.sort((a, b) =>
          a.id.localeCompare(b.id),
        );
        for await (const batch of h.context.metadata.stream('options'))
          for (const { object } of batch) expectedLabels.set(String(object.code), String(object.name));
        work = mkdtempSync(join(tmpdir(), 'ferry-analysis-programs-'));
        await h.context.jobs.start();
      });
      after(async () => {
        rmSync(work, { recursive: true, force: true });
        await stopTestApp(h);
      });

      async function produce(
        format: string,
        params: Record<string, unknown>,
        auth = ADMIN_AUTH,
      ): Promise<{ card: ExportCard; dir: string; files: string[]; status: string; error?: string }> {
        const reply = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: auth },
          payload: { kind: 'analysis', format, params },
        });
        assert.equal(reply.statusCode, 201, reply.body);
        const id = reply.json<ExportCard>().id;
        const job = await waitForJob(h.context, id);
        const card = (
          await h.app.inject({ url: `/api/exports/${id}`, headers: { authorization: auth } })
        ).json<ExportCard>();
        if (job.status !== 'COMPLETED')
          return { card, dir: '', files: [], status: job.status, error: job.error ?? '' };
        const file = await h.app.inject({ url: `/api/exports/${id}/file`, headers: { authorization: auth } });
        assert.equal(file.statusCode, 200, file.body);
        return { card, status: job.status, ...unzip(file.rawPayload, work, `${id}-${format}`) };
      }

      /** Compares a reader's dump of `file` with the tab file of the same export, cell by cell. */
      function compareWithTab(
        dump: ReturnType<typeof readDump>,
        tab: ReturnType<typeof readTab>,
        file: string,
        spss: boolean,
      ) {
        assert.deepEqual(dump.header, tab.header, `${file}: variable names`);
        assert.equal(dump.rows.length, tab.rows.length, `${file}: rows`);
        tab.rows.forEach((row, r) => {
          row.forEach((text, c) => {
            const got = dump.rows[r][c];
            const where = `${file} row ${r + 1} ${tab.header[c]}`;
            const [, body] = /^[NMSDT]:(.*)$/s.exec(got) ?? [null, got];
            if (got.startsWith('S:')) {
              // SPSS drops trailing spaces of strings; Stata and tab keep them.
              assert.equal(body, spss ? text.trimEnd() : text, where);
            } else if (got.startsWith('D:')) {
              assert.equal(body, text.slice(0, 10), where);
            } else if (got.startsWith('T:')) {
              assert.equal(body, text.slice(0, 19), where);
            } else if (text === '') {
              assert.equal(body, '', where);
            } else {
              const [value, label] = body.split('|');
              if (value === '.a' || got.startsWith('M:')) {
                // Declared missing: "not a valid value", for a stored text that is not valid for the column.
                assert.equal(label, 'not a valid value', where);
                assert.ok(Number.isNaN(Number(text)) || !expectedLabels.has(text), where);
              } else if (label !== undefined && expectedLabels.has(text)) {
                assert.equal(label, expectedLabels.get(text), where);
              } else {
                assert.equal(Number(value), Number(text), where);
              }
            }
          });
        });
      }

      it('exports every demo program in tab, Stata and SPSS: readstat, pspp, haven and pandas read what Ferry holds', async () => {
        assert.equal(programs.length, 3);
        for (const program of programs) {
          const tab = await produce('tab', { program: program.id });
          assert.equal(tab.status, 'COMPLETED', tab.error);
          assert.match(tab.card.description ?? '', new RegExp(`program ${program.id}`));
          const readme = readFileSync(join(tab.dir, 'export__readme.txt'), 'utf8');
          assert.match(readme, new RegExp(`version ${String(program.version)} in force`));
          const dataFiles = tab.files.filter((f) => f.endsWith('.tab'));
          const tracker = program.programType === 'WITH_REGISTRATION';
          assert.equal(
            dataFiles.length,
            tracker ? 2 + (program.programStages as unknown[]).length : 1,
            program.id,
          );
          for (const format of ['stata', 'spss'] as const) {
            const exported = await produce(format, { program: program.id });
            assert.equal(exported.status, 'COMPLETED', exported.error);
            const extension = format === 'stata' ? 'dta' : 'sav';
            const files = exported.files.filter((f) => f.endsWith(`.${extension}`));
            assert.deepEqual(
              files.map((f) => f.replace(/\.\w+$/, '')),
              dataFiles.map((f) => f.replace(/\.\w+$/, '')),
            );
            const paths = files.map((f) => join(exported.dir, f));
            for (const path of paths) {
              const run = spawnSync('readstat', [path, '-'], { encoding: 'utf8', maxBuffer: 1 << 28 });
              assert.equal(run.status, 0, path);
              assert.equal(run.stderr.replace(/^Converted .*\n?/m, ''), '', path);
            }
            if (format === 'spss') {
              const syntax = paths.map((p) => `GET FILE='${p}'.\nDISPLAY DICTIONARY.\nLIST.\n`).join('');
              writeFileSync(join(exported.dir, 'read.sps'), syntax);
              const pspp = spawnSync(
                'pspp',
                ['-O', 'format=csv', join(exported.dir, 'read.sps'), '-o', join(exported.dir, 'read.csv')],
                {
                  encoding: 'utf8',
                  env: UTF8_ENV,
                  maxBuffer: 1 << 28,
                },
              );
              assert.equal(pspp.status, 0, pspp.stderr);
              assert.doesNotMatch(
                `${pspp.stderr}${readFileSync(join(exported.dir, 'read.csv'), 'utf8')}`,
                /warning|error/i,
              );
            }
            const r = spawnSync('Rscript', ['-e', R_DUMP, ...paths], { encoding: 'utf8', env: UTF8_ENV });
            assert.equal(r.status, 0, r.stderr);
            for (const file of files) {
              const dump = readDump(join(exported.dir, `${file}.r.tsv`));
              const stem = file.replace(/\.\w+$/, '');
              compareWithTab(dump, readTab(join(tab.dir, `${stem}.tab`)), file, format === 'spss');
              // Dates as dates, date-times as date-times.
              for (const column of ['event_date', 'enrollment_date', 'created']) {
                const at = dump.header.indexOf(column);
                if (at >= 0)
                  assert.ok(
                    dump.rows.every((row) => /^[DT]:/.test(row[at])),
                    `${file} ${column}`,
                  );
              }
              assert.equal(dump.labels[dump.header.indexOf('orgunit_name')], 'Organisation unit name');
            }
            if (format === 'stata') {
              const py = spawnSync('/usr/bin/python3', ['-c', PY_DUMP, ...paths], {
                encoding: 'utf8',
                env: UTF8_ENV,
              });
              assert.equal(py.status, 0, py.stderr);
              for (const file of files) {
                const ours = readDump(join(exported.dir, `${file}.r.tsv`));
                const theirs = readDump(join(exported.dir, `${file}.py.tsv`));
                assert.deepEqual(theirs.header, ours.header, file);
                assert.deepEqual(theirs.labels, ours.labels, file);
                assert.equal(theirs.rows.length, ours.rows.length, file);
                theirs.rows.forEach((row, i) =>
                  row.forEach((cell, c) => {
                    const r2 = ours.rows[i][c].replace(/^N:/, '');
                    const where = `${file} row ${i + 1} ${ours.header[c]} (pandas ${cell}, haven ${r2})`;
                    if (cell.startsWith('S:')) assert.equal(cell, r2, where);
                    else if (r2.startsWith('D:')) assert.equal(cell.slice(0, 10), r2.slice(2), where);
                    else if (r2.startsWith('T:')) assert.equal(cell, r2.slice(2), where);
                    else if (cell === '') assert.ok(r2 === '' || r2.startsWith('.'), where);
                    else assert.equal(Number(cell), Number(r2.split('|')[0]), where);
                  }),
                );
              }
            }
            if (format === 'spss' && HAS_PYREADSTAT) {
              const py = spawnSync(
                '/usr/bin/python3',
                [
                  '-c',
                  'import sys, pandas as pd\nfor f in sys.argv[1:]: print(len(pd.read_spss(f)))',
                  ...paths,
                ],
                { encoding: 'utf8', env: UTF8_ENV },
              );
              assert.equal(py.status, 0, py.stderr);
            }
          }
        }
      });

      it('keeps a 3,000-character value, non-ASCII names and labels, and the declared missing value, in both formats', async () => {
        for (const format of ['stata', 'spss'] as const) {
          const exported = await produce(format, { program: malaria.id, locale: 'fr' });
          assert.equal(exported.status, 'COMPLETED', exported.error);
          const file = exported.files.find((f) => /\.(dta|sav)$/.test(f))!;
          const path = join(exported.dir, file);
          writeFileSync(join(exported.dir, 'note.txt'), NOTE);
          const read = format === 'stata' ? 'read_dta' : 'read_sav';
          const script = `
suppressMessages(library(haven))
d <- ${read}("${path}"${format === 'spss' ? ', user_na = TRUE' : ''})
e <- d[d$event_id == "${noteEvent}", ]
stopifnot(nrow(e) == 1)
note <- readLines("${join(exported.dir, 'note.txt')}", encoding = "UTF-8", warn = FALSE)
stopifnot("${NOTE_CODE}" %in% names(d), e[["${NOTE_CODE}"]] == note, nchar(e[["${NOTE_CODE}"]]) == 3000)
stopifnot(attr(d[["${NOTE_CODE}"]], "label") == "${NOTE_FR}")
stopifnot(e$orgunit_name == "${AMHARIC_FACILITY}", e$orgunit_level5 == "${AMHARIC_FACILITY}")
l <- attr(d$MAL_RDT_RESULT, "labels")
stopifnot(all(startsWith(names(l), "fr:")))
stopifnot(inherits(d$event_date, "Date"), inherits(d$due_date, "Date"), inherits(d$created, "POSIXct"))
age <- e$MAL_PATIENT_AGE
${
  format === 'stata'
    ? 'stopifnot(is_tagged_na(age), na_tag(age) == "a")'
    : 'stopifnot(unclass(age) == -999999999, -999999999 %in% attr(d$MAL_PATIENT_AGE, "na_values"))'
}
cat("ok\\n")
`;
          const r = spawnSync('Rscript', ['-e', script], { encoding: 'utf8', env: UTF8_ENV });
          assert.equal(r.status, 0, r.stderr);
          assert.match(r.stdout, /ok/);
          if (format === 'stata') {
            const py = spawnSync(
              '/usr/bin/python3',
              [
                '-c',
                `import sys, pandas as pd
r = pd.io.stata.StataReader(sys.argv[1])
labels = r.variable_labels()
d = pd.read_stata(sys.argv[1], convert_categoricals=False)
e = d[d.event_id == sys.argv[2]].iloc[0]
note = open(sys.argv[3], encoding='utf-8').read()
assert e[${JSON.stringify(NOTE_CODE)}] == note, len(e[${JSON.stringify(NOTE_CODE)}])
assert labels[${JSON.stringify(NOTE_CODE)}] == ${JSON.stringify(NOTE_FR)}
assert e.orgunit_name == ${JSON.stringify(AMHARIC_FACILITY)}
assert str(d.event_date.dtype).startswith('datetime64')
print('ok')`,
                path,
                noteEvent,
                join(exported.dir, 'note.txt'),
              ],
              { encoding: 'utf8', env: UTF8_ENV },
            );
            assert.equal(py.status, 0, py.stderr);
          }
        }
        // Without a locale: the default names.
        const plain = await produce('stata', { program: malaria.id });
        const r = spawnSync(
          'Rscript',
          [
            '-e',
            `d <- haven::read_dta("${join(
              plain.dir,
              plain.files.find((f) => f.endsWith('.dta'))!,
            )}"); cat(attr(d[["${NOTE_CODE}"]], "label"))`,
          ],
          { encoding: 'utf8', env: UTF8_ENV },
        );
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, NOTE_NAME);
      });

      it('filters by status, dates and org units, links tracker files by id, and numbers repeated stages', async () => {
        const child = programs.find((p) => p.code === 'PR_CHILD_HEALTH')!;
        const all = await produce('tab', { program: child.id });
        const enrollments = readTab(join(all.dir, 'enrollments.tab'));
        const entities = readTab(join(all.dir, `${String(child.code)}.tab`));
        const teIds = new Set(entities.rows.map((r) => r[entities.header.indexOf('tracked_entity_id')]));
        const enIds = new Set(enrollments.rows.map((r) => r[enrollments.header.indexOf('enrollment_id')]));
        for (const file of all.files.filter(
          (f) => f.endsWith('.tab') && f !== 'enrollments.tab' && !f.startsWith(String(child.code)),
        )) {
          const stage = readTab(join(all.dir, file));
          const [en, te, occ] = ['enrollment_id', 'tracked_entity_id', 'occurrence'].map((c) =>
            stage.header.indexOf(c),
          );
          const seen = new Map<string, number>();
          for (const row of stage.rows) {
            assert.ok(enIds.has(row[en]) && teIds.has(row[te]), `${file}: linked`);
            const next = (seen.get(row[en]) ?? 0) + 1;
            assert.equal(Number(row[occ]), next, `${file}: occurrence`);
            seen.set(row[en], next);
          }
          if (file.startsWith('Immunisation'))
            assert.ok(
              [...seen.values()].some((n) => n > 1),
              'a repeatable stage repeats',
            );
        }
        // Enrollment status and date range.
        const statusCol = enrollments.header.indexOf('status');
        const dateCol = enrollments.header.indexOf('enrollment_date');
        const filtered = await produce('tab', {
          program: child.id,
          programStatus: 'COMPLETED',
          startDate: '2024-01-01',
          endDate: '2024-12-31',
        });
        const expected = enrollments.rows.filter(
          (r) =>
            r[statusCol] === 'COMPLETED' &&
            r[dateCol].slice(0, 10) >= '2024-01-01' &&
            r[dateCol].slice(0, 10) <= '2024-12-31',
        );
        const got = readTab(join(filtered.dir, 'enrollments.tab'));
        assert.ok(expected.length > 0);
        const enCol = enrollments.header.indexOf('enrollment_id');
        assert.deepEqual(
          got.rows.map((r) => r[got.header.indexOf('enrollment_id')]).sort(),
          expected.map((r) => r[enCol]).sort(),
        );
        assert.match(
          filtered.card.description ?? '',
          /enrollments COMPLETED; .*dates 2024-01-01 to 2024-12-31/,
        );
        // Event status and org unit on the event program.
        const events = readTab(
          join((await produce('tab', { program: malaria.id })).dir, `${String(malaria.code)}.tab`),
        );
        const [ou, st] = ['orgunit_id', 'status'].map((c) => events.header.indexOf(c));
        const some = await produce('tab', {
          program: malaria.id,
          status: 'COMPLETED',
          orgUnit: amharicFacility,
        });
        const someRows = readTab(join(some.dir, `${String(malaria.code)}.tab`)).rows;
        assert.equal(
          someRows.length,
          events.rows.filter((r) => r[ou] === amharicFacility && r[st] === 'COMPLETED').length,
        );
        assert.ok(someRows.length > 0);
      });

      it('ferry export analysis --program writes the same files from the command line, with --password-file', async () => {
        const target = h.db.databaseUrl ? ['--database-url', h.db.databaseUrl] : ['--data-dir', h.db.dataDir];
        const child = programs.find((p) => p.code === 'PR_CHILD_HEALTH')!;
        const passwordFile = join(work, 'cli-password.txt');
        writeFileSync(passwordFile, 'Programme-àé-7#pw\n');
        const output = join(work, 'cli-child.zip');
        const run = await runFerry([
          'export',
          'analysis',
          '--program',
          child.id,
          '--program-version',
          String(child.version),
          '--program-status',
          'ACTIVE,COMPLETED',
          '--format',
          'spss',
          '--password-file',
          passwordFile,
          '-o',
          output,
          ...target,
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(
          run.stdout,
          new RegExp(`program ${child.id} version ${String(child.version)}, .* events in `),
        );
        assert.match(run.stdout, /enrollments\.sav \(\d+ rows/);
        const locked = spawnSync('7z', ['t', '-p', output], { encoding: 'utf8' });
        assert.notEqual(locked.status, 0);
        const open = spawnSync(
          '7z',
          ['x', '-pProgramme-àé-7#pw', `-o${join(work, 'cli-child')}`, '-y', output],
          {
            encoding: 'utf8',
            env: UTF8_ENV,
          },
        );
        assert.equal(open.status, 0, open.stderr);
        assert.ok(existsSync(join(work, 'cli-child', 'enrollments.sav')));
        const bad = await runFerry([
          'export',
          'analysis',
          '--program',
          child.id,
          '--status',
          'DONE',
          '--format',
          'spss',
          '-o',
          join(work, 'x.zip'),
          ...target,
        ]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /status/);
        assert.equal(existsSync(join(work, 'x.zip')), false);
      });

      it('checks F_EXPORT_DATA, parameters, the version in force, view scope and program sharing', async () => {
        const bad = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: ADMIN_AUTH },
          payload: { kind: 'analysis', format: 'stata', params: { program: malaria.id, status: 'FINISHED' } },
        });
        assert.equal(bad.statusCode, 400, bad.body);
        assert.match(bad.body, /status/);
        const mixed = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: ADMIN_AUTH },
          payload: { kind: 'analysis', format: 'stata', params: { program: malaria.id, dataSet: 'x' } },
        });
        assert.equal(mixed.statusCode, 400, mixed.body);
        const stale = await produce('tab', {
          program: malaria.id,
          programVersion: Number(malaria.version) + 1,
        });
        assert.equal(stale.status, 'FAILED');
        assert.match(stale.error ?? '', /version/);
        assert.match(stale.card.description ?? '', new RegExp(`version ${Number(malaria.version) + 1}`));
        // The local analyst sees only the Amharic-named facility.
        const auth = basicAuth(LOCAL.username, LOCAL.password);
        const local = await produce('tab', { program: malaria.id }, auth);
        assert.equal(local.status, 'COMPLETED', local.error);
        const rows = readTab(join(local.dir, `${String(malaria.code)}.tab`)).rows;
        assert.ok(rows.length > 0 && rows.every((r) => r[0] === amharicFacility));
        const root = (
          await h.context.storage.query<{ uid: string }>(
            "SELECT uid FROM metadata_object WHERE type = 'organisationUnits' AND path = '/' || uid",
          )
        )[0].uid;
        const above = await produce('tab', { program: malaria.id, orgUnit: root }, auth);
        assert.equal(above.status, 'FAILED');
        assert.match(above.error ?? '', /not allowed to read data for organisation unit/);
        // Program data sharing: closed to the public, the analyst may not read it.
        await h.context.metadata.save('programs', [
          { ...malaria, sharing: { public: 'rw------', users: {}, userGroups: {} } },
        ]);
        try {
          const closed = await produce('tab', { program: malaria.id }, auth);
          assert.equal(closed.status, 'FAILED');
          assert.match(closed.error ?? '', /no data read access to program/);
        } finally {
          await h.context.metadata.save('programs', [malaria]);
        }
        assert.ok(existsSync(work));
      });
    },
  );
}
