import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seedDemoDataValues, seedDemoMetadata } from '../../src/services/demo/demo-seeder.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { runFerry } from '../support/ferry-cli.ts';

/*
 * `ferry wizard mappings | columns | run` as an operator runs them (a subprocess) on the demo's
 * metadata, on SQLite and PostgreSQL: a mapping file saved, a CSV's columns suggested, a dry run
 * that writes nothing, the import, a re-run that changes nothing, the issues file, the export.
 */

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ferry wizard (${kind})`, { skip: skipReasonFor(kind) }, () => {
    it('saves a mapping, suggests columns, previews, imports, re-runs unchanged and exports', async () => {
      const db = await createTestDatabase(kind);
      const context = contextFor(db.storage, db.dataDir);
      try {
        const { demo } = await seedDemoMetadata(context, { facilities: 4, seed: 'wizard-cli' });
        await seedDemoDataValues(context, demo);
        const objects = (c: string) => (demo.metadata.get(c) ?? []) as MetadataObject[];
        const facility = objects('organisationUnits').find((o) => String(o.code).startsWith('OU_F'))!;
        const target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
        const mappingFile = join(db.dataDir, 'mapping.json');
        writeFileSync(
          mappingFile,
          JSON.stringify({
            name: 'LLIN distribution',
            source: { kind: 'csv', options: { delimiter: ';' } },
            target: {
              kind: 'aggregate',
              layout: 'wide',
              orgUnit: { source: 'Health facility', match: 'name' },
              period: { source: 'Date', fromDate: 'Monthly' },
              valueColumns: [
                {
                  column: 'LLIN distributed',
                  dataElement: objects('dataElements').find((d) => d.code === 'LLIN_DISTRIBUTED')!.id,
                },
              ],
            },
          }),
        );
        const saved = await runFerry(['wizard', 'mappings', 'import', mappingFile, ...target]);
        assert.equal(saved.code, 0, saved.stderr);
        assert.match(saved.stdout, /^Created LLIN distribution \(\w{11}\), version 1/);

        const csv = join(db.dataDir, 'llin.csv');
        writeFileSync(
          csv,
          `Health facility;Date;LLIN distributed\n${facility.name};2026-07-14;25\nAtlantis CHC;2026-07-14;3\n`,
        );
        const columns = await runFerry(['wizard', 'columns', csv, ...target]);
        assert.equal(columns.code, 0, columns.stderr);
        assert.match(columns.stdout, /delimiter ";"/);
        assert.match(columns.stdout, /LLIN distributed → .*LLIN distributed \(exact, 100%\)/);
        assert.match(columns.stdout, /Health facility → orgUnit \(remembered, 100%\)/);

        const issues = join(db.dataDir, 'issues.csv');
        const preview = await runFerry([
          'wizard',
          'run',
          'LLIN distribution',
          '--file',
          csv,
          '--dry-run',
          '--issues',
          issues,
          ...target,
        ]);
        assert.equal(preview.code, 0, preview.stderr);
        assert.match(preview.stdout, /^Preview \(dry run, nothing written\) with LLIN distribution: WARNING/);
        assert.match(
          preview.stdout,
          /1 new, 0 updated, 0 unchanged, 0 deleted; 1 records held back, 0 values dropped/,
        );
        assert.match(
          preview.stdout,
          /error row 3: Health facility `Atlantis CHC` matches no org unit by name/,
        );
        assert.match(
          readFileSync(issues, 'utf8'),
          /^kind,row,sheet,where,field,value,code,message\nerror,3,,,orgUnit,Atlantis CHC,,/,
        );

        const imported = await runFerry(['wizard', 'run', 'LLIN distribution', '--file', csv, ...target]);
        assert.equal(imported.code, 0, imported.stderr);
        assert.match(
          imported.stdout,
          /^Import with LLIN distribution: WARNING\n.*\n {2}1 new, 0 updated, 0 unchanged/,
        );
        const again = await runFerry([
          'wizard',
          'run',
          'LLIN distribution',
          '--file',
          csv,
          '--json',
          ...target,
        ]);
        const report = JSON.parse(again.stdout) as { counts: { new: number; unchanged: number } };
        assert.deepEqual([report.counts.new, report.counts.unchanged], [0, 1]);

        const out = join(db.dataDir, 'exported.json');
        const exported = await runFerry([
          'wizard',
          'mappings',
          'export',
          'LLIN distribution',
          '--out',
          out,
          ...target,
        ]);
        assert.equal(exported.code, 0, exported.stderr);
        const json = JSON.parse(readFileSync(out, 'utf8')) as { id: string; version: number; format: number };
        assert.deepEqual([json.version, json.format], [1, 1]);
        const list = await runFerry(['wizard', 'mappings', ...target]);
        assert.match(list.stdout, new RegExp(`^${json.id} {2}LLIN distribution {2}v1 {2}csv → aggregate`));

        const missing = await runFerry(['wizard', 'run', 'LLIN distribution', ...target]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /a csv mapping needs a file to read/);
      } finally {
        await context.jobs.stop();
        await db.dispose();
      }
    });
  });
}
