import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { seedDemoDataValues, seedDemoMetadata } from '../../src/services/demo/demo-seeder.ts';
import type { DemoDatabase } from '../../src/services/demo/demo-types.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import { parseWizardMapping } from '../../src/domain/wizard/wizard-mapping.ts';
import { runWizardImport, issuesCsv } from '../../src/services/wizard/wizard-import-service.ts';
import type { WizardImportReport } from '../../src/services/wizard/wizard-report.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { writeXlsx } from '../support/xlsx-writer.ts';

/*
 * The import wizard's core (issue 17) on the demo's metadata: a CSV line list, an Excel wide table
 * and an Excel fixed-layout form each map and import aggregate data (preview first, as a dry run
 * of the real importer), a re-run changes nothing, an org unit list builds a hierarchy, and bad
 * input (an unmatched org unit, an unmapped option, a formula without a result, a missing column)
 * is reported with its source row. On SQLite and PostgreSQL.
 */

for (const kind of TEST_DATABASE_KINDS) {
  describe(`Import wizard runs (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let demo: DemoDatabase;
    const objects = (collection: string) => (demo.metadata.get(collection) ?? []) as MetadataObject[];
    const byCode = (collection: string, code: string) => {
      const found = objects(collection).find((o) => o.code === code);
      assert.ok(found, `${collection} ${code}`);
      return found;
    };
    let facilities: MetadataObject[];

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      ({ demo } = await seedDemoMetadata(context, { facilities: 6, seed: 'wizard' }));
      // The demo's values too (2024-2025), as `ferry serve --demo` has them; the files below are 2026's.
      await seedDemoDataValues(context, demo);
      facilities = objects('organisationUnits').filter((o) => String(o.code ?? '').startsWith('OU_F'));
    });
    after(async () => {
      await context?.jobs.stop();
      await db?.dispose();
    });

    const stored = async (dataElement: string, orgUnit: string, period: string) =>
      (
        await context.storage.query<{ value: string }>(
          `SELECT v.value FROM data_value v JOIN period p ON p.period_id = v.period_id
         JOIN metadata_object de ON de.sid = v.data_element_id JOIN metadata_object ou ON ou.sid = v.org_unit_id
         WHERE de.uid = ? AND ou.uid = ? AND p.iso = ? AND v.deleted = 0`,
          [dataElement, orgUnit, period],
        )
      ).map((r) => ({ value: r.value }));

    const run = (
      mapping: unknown,
      path: string,
      dryRun: boolean,
      fileName = 'file',
    ): Promise<WizardImportReport> =>
      runWizardImport(
        context,
        parseWizardMapping(mapping),
        { name: 'test' },
        { dryRun, file: { path, fileName } },
        undefined,
      );

    it('a CSV line list (names, codes, dates, fuzzy-free): preview, import, re-run unchanged', async () => {
      const tested = byCode('dataElements', 'MAL_RDT_TESTED');
      const llin = byCode('dataElements', 'LLIN_DISTRIBUTED');
      const [f1, f2] = facilities;
      const path = join(db.dataDir, 'line-list.csv');
      writeFileSync(
        path,
        [
          'Facility;Indicator;Date;Count',
          `${f1.name};Malaria tested by RDT;15/03/2026;12`,
          `${f1.code};LLIN_DISTRIBUTED;2026-03-02;30`,
          `${String(f2.name).toUpperCase()};malaria tested by rdt;2026-04-11;7`,
          `Nowhere Clinic;Malaria tested by RDT;2026-04-11;7`,
          `${f2.name};Malaria tested by RDT;not a date;7`,
          `${f2.name};Malaria tested by RDT;2026-05-01;many`,
        ].join('\n'),
      );
      const mapping = {
        name: 'Lab line list',
        source: { kind: 'csv', options: { delimiter: 'auto' } },
        target: {
          kind: 'aggregate',
          layout: 'long',
          orgUnit: 'Facility',
          dataElement: 'Indicator',
          period: { source: 'Date', fromDate: 'Monthly' },
          value: 'Count',
        },
      };
      const preview = await run(mapping, path, true, 'line-list.csv');
      assert.equal(preview.records, 6);
      assert.equal(preview.values, 4, 'two records held back');
      assert.deepEqual(preview.counts, {
        new: 3,
        updated: 0,
        unchanged: 0,
        deleted: 0,
        heldBack: 2,
        dropped: 1,
      });
      assert.equal(preview.status, 'WARNING');
      assert.deepEqual(
        preview.preview.slice(0, 2).map((p) => [p.row, p.dataElement, p.period, p.orgUnit, p.value]),
        [
          [2, tested.id, '202603', f1.id, '12'],
          [3, llin.id, '202603', f1.id, '30'],
        ],
      );
      const byRow = new Map(preview.issues.map((i) => [i.row, i]));
      assert.match(
        byRow.get(5)!.message,
        /Facility `Nowhere Clinic` matches no org unit by UID, code or name; the record is held back/,
      );
      assert.equal(byRow.get(5)!.kind, 'error');
      assert.match(byRow.get(6)!.message, /Date `not a date` is not a date/);
      assert.equal(byRow.get(7)!.kind, 'conflict');
      assert.equal(byRow.get(7)!.code, 'E7619');
      assert.equal(byRow.get(7)!.field, 'Count');
      assert.deepEqual(
        preview.unmatched.map((u) => [u.kind, u.column, u.value, u.count, u.rows]),
        [
          ['orgUnit', 'Facility', 'Nowhere Clinic', 1, [5]],
          ['period', 'Date', 'not a date', 1, [6]],
        ],
      );
      assert.match(
        issuesCsv(preview),
        /^kind,row,sheet,where,field,value,code,message\nerror,5,,,orgUnit,Nowhere Clinic,,/,
      );
      assert.deepEqual(await stored(tested.id, f1.id, '202603'), [], 'the preview wrote nothing');

      const first = await run(mapping, path, false, 'line-list.csv');
      assert.deepEqual(first.counts, {
        new: 3,
        updated: 0,
        unchanged: 0,
        deleted: 0,
        heldBack: 2,
        dropped: 1,
      });
      assert.deepEqual(await stored(tested.id, f1.id, '202603'), [{ value: '12' }]);
      assert.deepEqual(await stored(tested.id, f2.id, '202604'), [{ value: '7' }]);
      const again = await run(mapping, path, false, 'line-list.csv');
      assert.deepEqual(again.counts, {
        new: 0,
        updated: 0,
        unchanged: 3,
        deleted: 0,
        heldBack: 2,
        dropped: 1,
      });
    });

    it('an Excel wide table (a column per element and combo, value maps, booleans, options) and its re-run', async () => {
      const confirmed = byCode('dataElements', 'MAL_CONFIRMED');
      const act = byCode('dataElements', 'MAL_ACT_TREATED');
      const cocs = objects('categoryOptionCombos').filter(
        (c) => (c.categoryCombo as { id: string }).id === (confirmed.categoryCombo as { id: string }).id,
      );
      const [u5male] = cocs;
      const cold = byCode('dataElements', 'COLD_CHAIN_WORKING');
      const stock = byCode('dataElements', 'VACCINE_STOCK_STATUS');
      const path = join(db.dataDir, 'wide.xlsx');
      const [f1, f2, f3] = facilities;
      await writeXlsx(path, [
        {
          name: 'Monthly',
          rows: [
            ['District malaria summary'],
            [
              'Facility code',
              'Month',
              `Confirmed ${u5male.name}`,
              'ACT treated',
              'Cold chain OK',
              'Vaccine stock',
            ],
            [f1.code as string, { date: 46082 }, 4, 3, 'Yes', 'Low stock'],
            [f2.code as string, { date: 46082 }, null, { formula: 'SUM(X1:X3)' }, 'no', 'Plenty'],
            [f3.code as string, { date: 46082 }, 2, '-', 'oui', 'STOCKED_OUT'],
          ],
        },
      ]);
      const mapping = {
        name: 'Malaria wide table',
        source: { kind: 'xlsx', options: { sheet: 'Monthly', headerRow: 2 } },
        target: {
          kind: 'aggregate',
          layout: 'wide',
          orgUnit: { source: 'Facility code', match: 'code' },
          period: { source: 'Month', fromDate: 'Monthly' },
          valueColumns: [
            { column: `Confirmed ${u5male.name}`, dataElement: confirmed.id, categoryOptionCombo: u5male.id },
            { column: 'ACT treated', dataElement: act.id },
            { column: 'Cold chain OK', dataElement: cold.id },
            { column: 'Vaccine stock', dataElement: stock.id },
          ],
        },
        valueMaps: { 'ACT treated': { '-': null } },
      };
      const preview = await run(mapping, path, true, 'wide.xlsx');
      assert.equal(preview.records, 3);
      assert.equal(preview.counts.new, 8);
      const plenty = preview.issues.find((i) => i.value === 'Plenty')!;
      assert.deepEqual(
        [plenty.row, plenty.sheet, plenty.where, plenty.kind],
        [4, 'Monthly', 'F4', 'conflict'],
      );
      assert.match(plenty.message, /`Plenty` is not an option of Vaccine stock status/);
      const formula = preview.issues.find((i) => i.where === 'D4')!;
      assert.match(formula.message, /cell D4 the formula =SUM\(X1:X3\) has no saved result/);
      const unmapped = preview.unmatched.find((u) => u.value === 'Plenty')!;
      assert.equal(unmapped.kind, 'option');
      const first = await run(mapping, path, false, 'wide.xlsx');
      assert.equal(first.counts.new, 8);
      assert.deepEqual(await stored(confirmed.id, f1.id, '202603'), [{ value: '4' }]);
      assert.deepEqual(await stored(cold.id, f3.id, '202603'), [{ value: 'true' }]);
      assert.deepEqual(await stored(stock.id, f1.id, '202603'), [{ value: 'LOW_STOCK' }]);
      // Mapped now, the unmapped option imports, and nothing else changes.
      const mapped = {
        ...mapping,
        valueMaps: { ...mapping.valueMaps, 'Vaccine stock': { Plenty: 'IN_STOCK' } },
      };
      const again = await run(mapped, path, false, 'wide.xlsx');
      assert.deepEqual([again.counts.new, again.counts.updated, again.counts.unchanged], [1, 0, 8]);
      const third = await run(mapped, path, false, 'wide.xlsx');
      assert.deepEqual([third.counts.new, third.counts.updated, third.counts.unchanged], [0, 0, 9]);
    });

    it('an Excel fixed-layout form: every sheet a facility, cells as the source', async () => {
      const severe = byCode('dataElements', 'MAL_SEVERE');
      const llin = byCode('dataElements', 'LLIN_DISTRIBUTED');
      const ageCocs = objects('categoryOptionCombos').filter(
        (c) => (c.categoryCombo as { id: string }).id === (severe.categoryCombo as { id: string }).id,
      );
      const path = join(db.dataDir, 'form.xlsx');
      const sheet = (facility: MetadataObject, values: number[]) => ({
        name: String(facility.code),
        rows: [
          ['Malaria monthly form'],
          ['Facility', facility.name as string],
          ['Month', '2026-02'],
          ['Severe cases', ...ageCocs.map((c) => c.name as string)],
          [null, ...values.slice(0, 3)],
          ['LLIN distributed', values[3]],
        ],
      });
      await writeXlsx(path, [sheet(facilities[3], [1, 2, 3, 40]), sheet(facilities[4], [4, 5, 6, 41])]);
      const mapping = {
        name: 'Malaria paper form',
        source: {
          kind: 'xlsx',
          options: { sheet: '*', layout: 'cells', cells: ['B2', 'B3', 'B5', 'C5', 'D5', 'B6'] },
        },
        target: {
          kind: 'aggregate',
          layout: 'wide',
          orgUnit: { source: 'B2', match: 'name' },
          period: { source: { column: 'B3', split: { separator: '-', part: 2 } } },
          valueColumns: [
            ...['B5', 'C5', 'D5'].map((column, i) => ({
              column,
              dataElement: severe.id,
              categoryOptionCombo: ageCocs[i].id,
            })),
            { column: 'B6', dataElement: llin.id },
          ],
        },
      };
      // A wrong period mapping first (the month part of "2025-02" alone): every form is held back.
      const wrong = await run(mapping, path, true, 'form.xlsx');
      assert.equal(wrong.counts.heldBack, 2);
      assert.match(wrong.issues[0].message, /B3 `02` is not a DHIS2 period/);
      assert.equal(wrong.issues[0].sheet, String(facilities[3].code));
      const fixed = {
        ...mapping,
        target: { ...mapping.target, period: { source: 'B3', fromDate: 'Monthly' } },
      };
      const preview = await run(fixed, path, true, 'form.xlsx');
      assert.deepEqual([preview.records, preview.values, preview.counts.new], [2, 8, 8]);
      const done = await run(fixed, path, false, 'form.xlsx');
      assert.equal(done.counts.new, 8);
      assert.deepEqual(await stored(llin.id, facilities[4].id, '202602'), [{ value: '41' }]);
      const again = await run(fixed, path, false, 'form.xlsx');
      assert.deepEqual([again.counts.new, again.counts.unchanged], [0, 8]);
    });

    it('a missing mandatory column fails the run naming it and the columns there are', async () => {
      const path = join(db.dataDir, 'missing.csv');
      writeFileSync(path, 'Site,Indicator,Date,Count\nX,Y,2026-01-01,1\n');
      const report = await run(
        {
          name: 'x',
          source: { kind: 'csv', options: {} },
          target: {
            kind: 'aggregate',
            layout: 'long',
            orgUnit: 'Facility',
            dataElement: 'Indicator',
            period: 'Date',
            value: 'Count',
          },
        },
        path,
        true,
        'missing.csv',
      );
      assert.equal(report.status, 'ERROR');
      assert.match(
        report.error!,
        /the source has no column `Facility`, which the mapping needs; its columns are `Site`, `Indicator`, `Date`, `Count`/,
      );
    });

    it('an org unit list builds a hierarchy under the country; a re-run changes nothing', async () => {
      const country = objects('organisationUnits').find((o) => o.id === demo.countryUid)!;
      const path = join(db.dataDir, 'units.csv');
      writeFileSync(
        path,
        [
          'Region,District,Facility,Code,Opened',
          'Wizard Region,North District,Alpha Clinic,WZ_ALPHA,2020-01-15',
          'Wizard Region,North District,Beta Clinic,WZ_BETA,',
          'Wizard Region,South District,Gamma Clinic,WZ_GAMMA,',
        ].join('\n'),
      );
      const mapping = {
        name: 'Facility list',
        source: { kind: 'csv', options: {} },
        target: {
          kind: 'organisationUnits',
          name: 'Facility',
          code: 'Code',
          openingDate: 'Opened',
          parent: { source: { constant: country.code as string }, match: 'code' },
          path: ['Region', 'District'],
        },
      };
      const preview = await run(mapping, path, true, 'units.csv');
      assert.deepEqual([preview.status, preview.counts.new, preview.counts.updated], ['SUCCESS', 6, 0]);
      const created = await run(mapping, path, false, 'units.csv');
      assert.deepEqual([created.status, created.counts.new], ['SUCCESS', 6], JSON.stringify(created.issues));
      const [found] = await context.metadata.findBy('organisationUnits', 'code', ['WZ_BETA']);
      assert.ok(found);
      const beta = found.object;
      const parent = await context.metadata.get('organisationUnits', (beta.parent as { id: string }).id);
      assert.equal(parent?.name, 'North District');
      const region = await context.metadata.get('organisationUnits', (parent!.parent as { id: string }).id);
      assert.equal(region?.name, 'Wizard Region');
      assert.equal((region!.parent as { id: string }).id, country.id);
      const again = await run(mapping, path, false, 'units.csv');
      assert.deepEqual([again.counts.new, again.counts.updated, again.counts.unchanged], [0, 0, 3]);
    });
  });
}
