import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { seedDemoDatabase } from '../../src/services/demo/demo-seeder.ts';
import type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import { changedFields } from '../../src/services/analysis/analysis-program-paradata.ts';

/*
 * Metadata and paradata of program analysis exports (the demo's malaria event program): the DDI
 * codebook validates against the DDI Codebook 2.5 schema with xmllint, the program's definition is
 * DHIS2 metadata JSON, the questionnaire PDF shows its stage and data elements (and a French
 * translation in the French copy), and paradata.tab holds the change a tracker import job made to an
 * event's data value: the data element, the value before and after, who, and the job.
 */

const DDI_XSD = join(import.meta.dirname, '../fixtures/ddi/codebook-2.5/codebook.xsd');
const works = (command: string, args: string[]) =>
  spawnSync(command, args, { encoding: 'utf8' }).status === 0;
const SKIP =
  (!works('7z', ['i']) && '7z is not installed (p7zip-full; .ci/run installs it)') ||
  (!works('xmllint', ['--version']) && 'xmllint is not installed (libxml2-utils; .ci/run installs it)') ||
  (!works('pdftotext', ['-v']) && 'pdftotext is not installed (poppler-utils; .ci/run installs it)');

function unzip(zip: Buffer): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-program-extras-'));
  writeFileSync(join(dir, 'export.zip'), zip);
  const out = join(dir, 'out');
  const run = spawnSync('7z', ['x', `-o${out}`, '-y', join(dir, 'export.zip')], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(d, entry.name));
      else files.push(relative(out, join(d, entry.name)));
    }
  };
  walk(out);
  return { dir: out, files: files.sort() };
}

it('changedFields lists data values and columns that changed, not stamps', () => {
  assert.deepEqual(
    changedFields(
      { status: 'ACTIVE', updated: 'a', data_values: { de1: { value: '1' }, de2: { value: 'x' } } },
      JSON.stringify({
        status: 'COMPLETED',
        updated: 'b',
        data_values: { de1: { value: '2' }, de3: { value: 'y' } },
      }),
    ),
    [
      ['de1', '1', '2'],
      ['de2', 'x', null],
      ['de3', null, 'y'],
      ['status', 'ACTIVE', 'COMPLETED'],
    ],
  );
  assert.deepEqual(changedFields({ status: 'ACTIVE' }, { deleted: true }), [['deleted', 'false', 'true']]);
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `program analysis exports with metadata and paradata on ${kind}`,
    { skip: skipReasonFor(kind) || SKIP },
    () => {
      let h: TestApp;
      let malaria: MetadataObject;
      let job: string;
      let changed: { event: string; dataElement: string; before: string; after: string };

      before(async () => {
        h = await startTestApp(kind, {
          seed: (context) => seedDemoDatabase(context, { facilities: 10, seed: 'ferry-demo' }),
          setup: async (context) => {
            malaria = (await context.metadata.list('programs')).objects.find(
              (p) => p.programType === 'WITHOUT_REGISTRATION',
            )!;
            const stage = (await context.metadata.get(
              'programStages',
              (malaria.programStages as { id: string }[])[0].id,
            ))!;
            await context.metadata.save('programStages', [
              {
                ...stage,
                translations: [{ locale: 'fr', property: 'NAME', value: 'Cas de paludisme (fr)' }],
              },
            ]);
          },
        });
        await h.context.jobs.start();
        // One event of the program, changed by a tracker import job: one data value gets a new value.
        const list = await h.app.inject({
          url: `/api/tracker/events?program=${malaria.id}&pageSize=1&fields=*`,
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(list.statusCode, 200, list.body);
        const body = list.json<{
          events?: Record<string, unknown>[];
          instances?: Record<string, unknown>[];
        }>();
        const event = (body.events ?? body.instances ?? [])[0];
        assert.ok(event, list.body);
        const values = event.dataValues as { dataElement: string; value: string }[];
        const target = values.find((v) => /^\d+$/.test(v.value)) ?? values[0];
        const after = /^\d+$/.test(target.value)
          ? String(Number(target.value) + 1)
          : `${target.value} (revu)`;
        changed = {
          event: String(event.event),
          dataElement: target.dataElement,
          before: target.value,
          after,
        };
        const update = {
          events: [
            {
              ...event,
              dataValues: values.map((v) =>
                v.dataElement === target.dataElement ? { ...v, value: after } : v,
              ),
            },
          ],
        };
        const reply = await h.app.inject({
          method: 'POST',
          url: '/api/tracker?async=true&importStrategy=UPDATE',
          headers: { authorization: ADMIN_AUTH, 'content-type': 'application/json' },
          payload: update,
        });
        assert.equal(reply.statusCode, 200, reply.body);
        job = reply.json<{ response: { id: string } }>().response.id;
        const done = await waitForJob(h.context, job);
        assert.equal(done.status, 'COMPLETED', done.error ?? '');
      });
      after(() => stopTestApp(h));

      it('metadata=true and paradata=true: a valid DDI codebook, the definition, the forms, the audit trail', async () => {
        const reply = await h.app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: ADMIN_AUTH },
          payload: {
            kind: 'analysis',
            format: 'tab',
            params: { program: malaria.id, metadata: 'true', paradata: 'true' },
          },
        });
        assert.equal(reply.statusCode, 201, reply.body);
        const card = reply.json<ExportCard>();
        assert.match(card.description, /with metadata and paradata/);
        const finished = await waitForJob(h.context, card.id);
        assert.equal(finished.status, 'COMPLETED', finished.error ?? '');
        const file = await h.app.inject({
          url: `/api/exports/${card.id}/file`,
          headers: { authorization: ADMIN_AUTH },
        });
        const { dir, files } = unzip(file.rawPayload);
        try {
          const stem = String(malaria.code ?? malaria.name);
          const ddi = files.find((f) => f.endsWith('ddi.xml'));
          assert.ok(ddi, files.join(', '));
          const valid = spawnSync('xmllint', ['--nonet', '--noout', '--schema', DDI_XSD, join(dir, ddi)], {
            encoding: 'utf8',
          });
          assert.equal(valid.status, 0, valid.stderr);
          const xml = readFileSync(join(dir, ddi), 'utf8');
          assert.match(xml, new RegExp(`<IDNo agency="DHIS2">${malaria.id}</IDNo>`));
          assert.match(xml, /<dataKind>event\/transaction data<\/dataKind>/);
          // Every column of the data file is a variable of the codebook, in order.
          const data = files.find((f) => f.endsWith('.tab') && f !== 'paradata.tab')!;
          const columns = readFileSync(join(dir, data), 'utf8').split('\n')[0].split('\t');
          const names = [...xml.matchAll(/<var ID="V1_\d+" name="([^"]+)"/g)].map((m) => m[1]);
          assert.deepEqual(names, columns);
          const json = files.find((f) => f.startsWith('Metadata/') && f.endsWith('.json'))!;
          const definition = JSON.parse(readFileSync(join(dir, json), 'utf8')) as {
            programs: { id: string }[];
            programStages: { id: string }[];
          };
          assert.deepEqual(
            definition.programs.map((p) => p.id),
            [malaria.id],
          );
          assert.ok(definition.programStages.length >= 1);
          const forms = files.filter((f) => f.includes('/Forms/')).sort();
          assert.equal(forms.length, 2, forms.join(', '));
          const french = spawnSync(
            'pdftotext',
            [
              join(
                dir,
                forms.find((f) => f.endsWith('(fr).pdf'))!,
              ),
              '-',
            ],
            {
              encoding: 'utf8',
            },
          ).stdout;
          assert.match(french, /Cas de paludisme \(fr\)/);
          const plain = spawnSync(
            'pdftotext',
            [
              join(
                dir,
                forms.find((f) => f.endsWith('(default).pdf'))!,
              ),
              '-',
            ],
            {
              encoding: 'utf8',
            },
          ).stdout;
          assert.doesNotMatch(plain, /Cas de paludisme \(fr\)/);
          assert.ok(stem.length > 0);

          const [header, ...lines] = readFileSync(join(dir, 'paradata.tab'), 'utf8').trimEnd().split('\n');
          assert.equal(
            header,
            'audit_id\tobject_type\tobject_id\tevent\tfield\tprevious_value\tnew_value\tchanged_by\ttimestamp_utc\timport_job',
          );
          const rows = lines.map((l) => l.split('\t'));
          const hit = rows.filter((r) => r[2] === changed.event && r[4] === changed.dataElement);
          assert.equal(hit.length, 1, lines.join('\n'));
          assert.deepEqual(hit[0].slice(1, 8), [
            'EVENT',
            changed.event,
            'UPDATE',
            changed.dataElement,
            changed.before,
            changed.after,
            'admin',
          ]);
          assert.equal(hit[0][9], job);
          const readme = readFileSync(join(dir, 'export__readme.txt'), 'utf8');
          assert.match(readme, /paradata\.tab: \d+ changed fields of the exported events/);
        } finally {
          rmSync(join(dir, '..'), { recursive: true, force: true });
        }
      });
    },
  );
}
