import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { readParquet } from 'parquet-wasm/node';
import { tableFromIPC } from 'apache-arrow';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importJsonValues } from '../support/data-value-imports.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { NO_RCLONE, rcloneServe } from '../support/rclone-serve.ts';
import { createHash } from 'node:crypto';

// The app and the command line share the server key that seals export remotes' secrets.
process.env.FERRY_SECRET_KEY ??= 'b2'.repeat(32);

/*
 * Analysis exports with metadata, paradata and Parquet files, read back by tools Ferry doesn't
 * ship: xmllint validates the DDI codebook against the DDI Alliance's DDI Codebook 2.5 schema (kept
 * in test/fixtures/ddi/, offline), pdftotext reads the questionnaire PDFs, and the Parquet file is
 * read by parquet-wasm (the Rust `parquet` crate compiled to WebAssembly) into Apache Arrow.
 */

const FIXTURE = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/analysis/analysis-metadata.json'), 'utf8'),
) as Record<string, unknown>;
const DDI_XSD = join(import.meta.dirname, '../fixtures/ddi/codebook-2.5/codebook.xsd');
const SIERRA_LEONE = 'ImspTQPwCqd';
const BO = 'O6uvpzGd5pu';
const AMHARIC_UNIT = 'AnaOuAmh001';
const DEFAULT_COC = 'HllvX50cXC0';
const OURS = 'AnaDataSet1';
const NOTE = 'Observação – ሰላም ጤና '.repeat(200).slice(0, 2999) + '.';

const value = (dataElement: string, period: string, orgUnit: string, v: string) => ({
  dataElement,
  period,
  orgUnit,
  categoryOptionCombo: DEFAULT_COC,
  attributeOptionCombo: DEFAULT_COC,
  value: v,
});
const FIRST = [
  value('AnaDeCases1', '202401', BO, '12'),
  value('AnaDeRate01', '202401', BO, '0.25'),
  value('AnaDeDate01', '202401', BO, '2024-01-17'),
  value('AnaDeStock1', '202401', BO, 'LOW'),
  value('AnaDeNote01', '202401', BO, NOTE),
  value('AnaDeBool01', '202401', BO, 'true'),
  value('AnaDeOld001', '202401', BO, 'n/d'),
  value('AnaDeCases1', '202401', AMHARIC_UNIT, '3'),
  value('AnaDeStock1', '202402', AMHARIC_UNIT, 'HIGH'),
];

const missing = (command: string, args: string[], pkg: string): string | false =>
  spawnSync(command, args, { encoding: 'utf8' }).error === undefined
    ? false
    : `${command} is not installed (Debian package ${pkg}; .ci/run installs it)`;
const NO_TOOLS =
  missing('7z', ['i'], 'p7zip-full') ||
  missing('xmllint', ['--version'], 'libxml2-utils') ||
  missing('pdftotext', ['-v'], 'poppler-utils');

function unzip(zip: Buffer): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-analysis-meta-'));
  writeFileSync(join(dir, 'export.zip'), zip);
  const out = join(dir, 'out');
  const run = spawnSync('7z', ['x', '-p', `-o${out}`, '-y', join(dir, 'export.zip')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else files.push(relative(out, join(d, entry.name)));
    }
  };
  if (existsSync(out)) walk(out);
  return { dir: out, files: files.sort() };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `analysis exports with metadata, paradata and Parquet on ${kind}`,
    { skip: skipReasonFor(kind) },
    () => {
      let h: TestApp;
      let importJob: string;

      before(async () => {
        h = await startTestApp(kind, {
          seed: (_context, db) => loadAggregateE2eMetadata(db.storage, [FIXTURE]),
          setup: async (context, db) => {
            await importJsonValues(context, join(db.dataDir, 'first.json'), FIRST);
            // A value type changed after data was captured: the stored "n/d" is no longer a number.
            const old = await context.metadata.get('dataElements', 'AnaDeOld001');
            await context.metadata.save('dataElements', [{ ...old!, valueType: 'NUMBER' }]);
            // A description and a French translation, for the codebook and the translated form.
            const cases = await context.metadata.get('dataElements', 'AnaDeCases1');
            await context.metadata.save('dataElements', [
              {
                ...cases!,
                description: 'Cas confirmés par test de diagnostic rapide ou microscopie',
                translations: [{ locale: 'fr', property: 'FORM_NAME', value: 'Nombre de cas confirmés' }],
              },
            ]);
          },
        });
        await h.context.jobs.start();
        // A second import, as a job, changes one value and deletes none: the paradata's UPDATE line.
        const reply = await h.app.inject({
          method: 'POST',
          url: '/api/dataValueSets?async=true',
          headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
          payload: { dataValues: [value('AnaDeCases1', '202401', BO, '13')] },
        });
        assert.equal(reply.statusCode, 200, reply.body);
        importJob = reply.json<{ response: { id: string } }>().response.id;
        assert.equal((await waitForJob(h.context, importJob)).status, 'COMPLETED');
      });
      after(() => stopTestApp(h));

      const params = { dataSet: OURS, orgUnit: SIERRA_LEONE, startDate: '2024-01-01', endDate: '2024-12-31' };

      async function produce(format: string, extra: Record<string, unknown> = {}) {
        const reply = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: ADMIN_AUTH },
          payload: { kind: 'analysis', format, params: { ...params, ...extra } },
        });
        assert.equal(reply.statusCode, 201, reply.body);
        const card = reply.json<ExportCard>();
        const job = await waitForJob(h.context, card.id);
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        const file = await h.app.inject({
          url: `/api/exports/${card.id}/file`,
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(file.statusCode, 200, file.body);
        return { card, bytes: file.rawPayload };
      }

      it('refuses a metadata value other than true/false, and binary data (programs only)', async () => {
        for (const [extra, pattern] of [
          [{ metadata: 'yes' }, /metadata/],
          [{ binary: 'true' }, /programs only/],
        ] as const) {
          const reply = await h.app.inject({
            method: 'POST',
            url: '/api/exports',
            headers: { authorization: ADMIN_AUTH },
            payload: { kind: 'analysis', format: 'tab', params: { ...params, ...extra } },
          });
          assert.equal(reply.statusCode, 400, reply.body);
          assert.match(reply.body, pattern);
        }
      });

      it(
        'metadata: a DDI Codebook 2.5 that xmllint validates, the DHIS2 definition, a form per translation; paradata: who changed what, when, through which job',
        { skip: NO_TOOLS },
        async () => {
          const { card, bytes } = await produce('stata', { metadata: 'true', paradata: 'true' });
          assert.match(card.description, /with metadata and paradata/);
          const { dir, files } = unzip(bytes);
          try {
            assert.deepEqual(files, [
              'ANA_SUPERVISION.dta',
              'Metadata/ANA_SUPERVISION/ANA_SUPERVISION.json',
              'Metadata/ANA_SUPERVISION/Forms/ANA_SUPERVISION (default).pdf',
              'Metadata/ANA_SUPERVISION/Forms/ANA_SUPERVISION (fr).pdf',
              'Metadata/ANA_SUPERVISION/ddi.xml',
              'export__readme.txt',
              'paradata.tab',
            ]);
            const ddi = join(dir, 'Metadata/ANA_SUPERVISION/ddi.xml');
            const valid = spawnSync('xmllint', ['--nonet', '--noout', '--schema', DDI_XSD, ddi], {
              encoding: 'utf8',
            });
            assert.equal(valid.status, 0, valid.stderr);
            assert.match(valid.stderr, /validates/);
            const xml = readFileSync(ddi, 'utf8');
            assert.match(xml, /<titl>Supervision paludisme – mensuel<\/titl>/);
            assert.match(xml, /<IDNo agency="DHIS2">AnaDataSet1<\/IDNo>/);
            assert.match(xml, /<fileName>ANA_SUPERVISION\.dta<\/fileName>/);
            assert.match(xml, /<caseQnty>3<\/caseQnty>/);
            // Every variable of the file, with its label; the description; value labels as categories.
            const names = [...xml.matchAll(/<var ID="[^"]+" name="([^"]+)"/g)].map((m) => m[1]);
            assert.ok(names.includes('ANA_CASOS') && names.includes('orgunit_level2'), names.join(','));
            assert.match(
              xml,
              /name="ANA_CASOS" files="F1" intrvl="contin"><labl level="variable">Número de casos confirmados de malária \(todas as idades\)<\/labl><txt>Cas confirmés par test de diagnostic rapide ou microscopie<\/txt><varFormat type="numeric" schema="other">long<\/varFormat>/,
            );
            assert.match(
              xml,
              /name="ANA_STOCK"[^>]*>.*<catgry><catValu>1<\/catValu><labl level="category">Rupture de stock<\/labl><\/catgry>/,
            );
            assert.match(
              xml,
              /name="ANA_DATE_VISITE"[^>]*>.*<varFormat type="numeric" schema="other" category="date">/,
            );
            assert.match(xml, /name="ANA_NOTE"[^>]*>.*<varFormat type="character" schema="other">strL</);
            // The value made invalid by the type change is Stata's declared missing .a, said so in the codebook.
            assert.match(
              xml,
              /name="ANA_ANCIEN"[^>]*><labl level="variable">[^<]*<\/labl><catgry missing="Y"><catValu>\.a<\/catValu><labl level="category">not a valid value<\/labl><\/catgry><varFormat type="numeric" schema="other">double<\/varFormat>/,
            );
            assert.doesNotMatch(xml, /name="ANA_CASOS"[^\n]*missing="Y"/);
            // The same codebook loses validity when a required element is taken out: the check can fail.
            const broken = join(dir, 'broken.xml');
            writeFileSync(broken, xml.replace(/<titl>Supervision paludisme – mensuel<\/titl>/, ''));
            const invalid = spawnSync('xmllint', ['--nonet', '--noout', '--schema', DDI_XSD, broken], {
              encoding: 'utf8',
            });
            assert.notEqual(invalid.status, 0);

            const definition = JSON.parse(
              readFileSync(join(dir, 'Metadata/ANA_SUPERVISION/ANA_SUPERVISION.json'), 'utf8'),
            ) as { dataSets: { id: string }[]; dataElements: { id: string }[]; optionSets: { id: string }[] };
            assert.deepEqual(
              definition.dataSets.map((d) => d.id),
              [OURS],
            );
            assert.ok(definition.dataElements.some((d) => d.id === 'AnaDeCases1'));
            assert.ok(definition.optionSets.length >= 1);

            const pdf = (locale: string) =>
              spawnSync(
                'pdftotext',
                [join(dir, `Metadata/ANA_SUPERVISION/Forms/ANA_SUPERVISION (${locale}).pdf`), '-'],
                { encoding: 'utf8' },
              ).stdout;
            assert.match(pdf('fr'), /Nombre de cas confirm/);
            assert.doesNotMatch(pdf('default'), /Nombre de cas confirm/);

            const [header, ...lines] = readFileSync(join(dir, 'paradata.tab'), 'utf8').trimEnd().split('\n');
            assert.equal(
              header,
              'audit_id\torgunit_id\tperiod\tde_id\tcoc_id\taoc_id\tevent\tprevious_value\tnew_value\tchanged_by\ttimestamp_utc\timport_job',
            );
            const rows = lines.map((l) => l.split('\t'));
            const update = rows.filter((r) => r[6] === 'UPDATE');
            assert.equal(update.length, 1, lines.join('\n'));
            assert.deepEqual(update[0].slice(1, 10), [
              BO,
              '202401',
              'AnaDeCases1',
              DEFAULT_COC,
              DEFAULT_COC,
              'UPDATE',
              '12',
              '13',
              'admin',
            ]);
            assert.match(update[0][10], /^\d{4}-\d{2}-\d{2}T/);
            assert.equal(update[0][11], importJob);
            // The first import's values were created; nothing outside the data set or the org units.
            assert.equal(rows.filter((r) => r[6] === 'CREATE').length, FIRST.length);
            assert.ok(rows.every((r) => r[3].startsWith('AnaDe')));
            const readme = readFileSync(join(dir, 'export__readme.txt'), 'utf8');
            assert.match(readme, /paradata\.tab: 10 changes of the exported values/);
            assert.match(readme, /ddi\.xml: DDI Codebook 2\.5/);
          } finally {
            rmSync(join(dir, '..'), { recursive: true, force: true });
          }
        },
      );

      it('paradata follows the org unit filter: the Amharic unit only', { skip: NO_TOOLS }, async () => {
        const { bytes } = await produce('tab', { orgUnit: AMHARIC_UNIT, paradata: 'true' });
        const { dir } = unzip(bytes);
        try {
          const lines = readFileSync(join(dir, 'paradata.tab'), 'utf8').trimEnd().split('\n').slice(1);
          assert.equal(lines.length, 2);
          assert.ok(lines.every((l) => l.split('\t')[1] === AMHARIC_UNIT));
        } finally {
          rmSync(join(dir, '..'), { recursive: true, force: true });
        }
      });

      it(
        'ferry export analysis --format parquet --metadata --paradata --destination NAME:PATH writes the zip and delivers it whole',
        { skip: NO_TOOLS || NO_RCLONE },
        async () => {
          const work = mkdtempSync(join(tmpdir(), 'ferry-analysis-cli-meta-'));
          const dav = await rcloneServe('webdav', work, 'cli-user', 'Cli-dav-password-1');
          try {
            const remote = await h.app.inject({
              method: 'POST',
              url: '/api/exportRemotes',
              headers: { authorization: ADMIN_AUTH },
              payload: {
                name: 'cli-dav',
                type: 'webdav',
                scope: 'server',
                options: {
                  url: `http://127.0.0.1:${dav.port}`,
                  user: 'cli-user',
                  pass: 'Cli-dav-password-1',
                },
              },
            });
            assert.equal(remote.statusCode, 201, remote.body);
            const target = h.db.databaseUrl
              ? ['--database-url', h.db.databaseUrl]
              : ['--data-dir', h.db.dataDir];
            const output = join(work, 'supervision.zip');
            const args = [
              'export',
              'analysis',
              '--data-set',
              OURS,
              '--org-unit',
              SIERRA_LEONE,
              '--start',
              '2024-01-01',
              '--end',
              '2024-12-31',
              '--format',
              'parquet',
              ...target,
            ];
            const run = await runFerry([
              ...args,
              '--metadata',
              '--paradata',
              '--destination',
              'cli-dav:incoming/ferry',
              '-o',
              output,
            ]);
            assert.equal(run.code, 0, run.stderr);
            assert.match(
              run.stdout,
              /ANA_SUPERVISION\.parquet \(3 rows.*, 10 paradata lines, 4 metadata files, delivered to cli-dav:incoming\/ferry\/supervision\.zip/,
            );
            const local = readFileSync(output);
            const arrived = readFileSync(join(dav.dir, 'incoming', 'ferry', 'supervision.zip'));
            assert.equal(
              createHash('sha256').update(arrived).digest('hex'),
              createHash('sha256').update(local).digest('hex'),
            );
            const { dir, files } = unzip(local);
            try {
              assert.ok(
                files.includes('paradata.tab') && files.includes('ANA_SUPERVISION.parquet'),
                files.join(),
              );
              assert.ok(files.includes('Metadata/ANA_SUPERVISION/ddi.xml'));
              const valid = spawnSync(
                'xmllint',
                ['--nonet', '--noout', '--schema', DDI_XSD, join(dir, 'Metadata/ANA_SUPERVISION/ddi.xml')],
                { encoding: 'utf8' },
              );
              assert.equal(valid.status, 0, valid.stderr);
              // Parquet keeps option codes as text: the codebook's categories are the codes.
              assert.match(
                readFileSync(join(dir, 'Metadata/ANA_SUPERVISION/ddi.xml'), 'utf8'),
                /<catgry><catValu>LOW<\/catValu><labl level="category">Rupture de stock<\/labl><\/catgry>/,
              );
            } finally {
              rmSync(join(dir, '..'), { recursive: true, force: true });
            }
            const binary = await runFerry([...args, '--binary', '-o', join(work, 'b.zip')]);
            assert.equal(binary.code, 2);
            assert.match(binary.stderr, /programs only/);
            const unknown = await runFerry([...args, '--destination', 'nowhere', '-o', join(work, 'n.zip')]);
            assert.equal(unknown.code, 1);
            assert.match(unknown.stderr, /nowhere/);
          } finally {
            dav.child.kill();
            rmSync(work, { recursive: true, force: true });
          }
        },
      );

      it(
        'Parquet: typed columns that parquet-wasm reads into Arrow with the values Ferry holds',
        { skip: NO_TOOLS },
        async () => {
          const { card, bytes } = await produce('parquet');
          assert.match(card.description, /Apache Parquet/);
          const { dir, files } = unzip(bytes);
          try {
            assert.deepEqual(files, ['ANA_SUPERVISION.parquet', 'export__readme.txt']);
            const file = readFileSync(join(dir, 'ANA_SUPERVISION.parquet'));
            assert.equal(file.subarray(0, 4).toString('latin1'), 'PAR1');
            const table = tableFromIPC(readParquet(new Uint8Array(file)).intoIPCStream());
            assert.equal(table.numRows, 3);
            const types = Object.fromEntries(table.schema.fields.map((f) => [f.name, String(f.type)]));
            assert.equal(types.ANA_CASOS, 'Int32');
            assert.equal(types.ANA_TAUX, 'Float64');
            assert.equal(types.ANA_DATE_VISITE, 'Date32<DAY>');
            assert.equal(types.period_start, 'Date32<DAY>');
            assert.equal(types.ANA_STOCK, 'Utf8');
            // "n/d" in a column whose type became NUMBER: kept as text, not lost.
            assert.equal(types.ANA_ANCIEN, 'Utf8');
            const rows = table.toArray().map((r) => r.toJSON() as Record<string, unknown>);
            const bo = rows.find((r) => r.orgunit_id === BO && r.period === '202401')!;
            assert.equal(bo.ANA_CASOS, 13);
            assert.equal(bo.ANA_TAUX, 0.25);
            assert.equal(bo.ANA_DATE_VISITE, Date.UTC(2024, 0, 17));
            assert.equal(bo.ANA_STOCK, 'LOW');
            assert.equal(bo.ANA_RAPPORT, 'true');
            assert.equal(bo.ANA_NOTE, NOTE);
            assert.equal(bo.ANA_ANCIEN, 'n/d');
            const amh = rows.find((r) => r.orgunit_id === AMHARIC_UNIT && r.period === '202402')!;
            assert.equal(amh.orgunit_name, 'አዲስ ጤና ጣቢያ');
            assert.equal(amh.ANA_CASOS, null);
            assert.equal(amh.period_end, Date.UTC(2024, 1, 29));
            const schema = table.schema;
            const labels = JSON.parse(schema.metadata.get('ferry.variable_labels') ?? '{}') as Record<
              string,
              string
            >;
            assert.equal(labels.ANA_CASOS, 'Número de casos confirmados de malária (todas as idades)');
            const valueLabels = JSON.parse(schema.metadata.get('ferry.value_labels') ?? '{}') as Record<
              string,
              Record<string, string>
            >;
            assert.equal(valueLabels.ANA_STOCK.LOW, 'Rupture de stock');
          } finally {
            rmSync(join(dir, '..'), { recursive: true, force: true });
          }
        },
      );
    },
  );
}
