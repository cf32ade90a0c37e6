import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { categoryBuilders } from '../support/category-metadata.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { valueFiles, type ValueFiles } from '../support/data-value-imports.ts';

/**
 * ADX category attributes on import: the attribute's name is a category under `categoryIdScheme`
 * (CODE by default for ADX), its value an option of that category under `categoryOptionIdScheme`.
 */

const NOW = new Date('2024-06-15T12:00:00Z');

function metadata(): Record<string, unknown> {
  const {
    option,
    category,
    categoryCombo,
    optionCombo: coc,
    stamp,
  } = categoryBuilders('2024-01-01T00:00:00.000');
  return {
    categoryOptions: [
      option('CatOptFemal', 'F', 'Female'),
      option('CatOptMalex', 'M', 'Male'),
      option('CatOptUnder', 'U5', 'Under 5'),
      option('CatOptOverx', 'O5', 'Over 5'),
      option('CatOptPepfa', 'PEPFAR', 'PEPFAR'),
      option('CatOptUsaid', 'USAID', 'USAID'),
    ],
    categories: [
      category('CatSexxxxxx', 'SEX', 'Sex', ['CatOptFemal', 'CatOptMalex']),
      category('CatAgeeeeee', 'AGE', 'Age', ['CatOptUnder', 'CatOptOverx']),
      category('CatMechhhhh', 'MECH', 'Mechanism', ['CatOptPepfa', 'CatOptUsaid'], 'ATTRIBUTE'),
    ],
    categoryCombos: [
      categoryCombo('ComboSexAge', 'Sex and age', ['CatSexxxxxx', 'CatAgeeeeee']),
      categoryCombo('ComboMechxx', 'Mechanism', ['CatMechhhhh'], 'ATTRIBUTE'),
    ],
    categoryOptionCombos: [
      coc('CocFUnder05', 'ComboSexAge', ['CatOptFemal', 'CatOptUnder']),
      coc('CocMUnder05', 'ComboSexAge', ['CatOptMalex', 'CatOptUnder']),
      coc('CocFOver005', 'ComboSexAge', ['CatOptFemal', 'CatOptOverx']),
      coc('CocMOver005', 'ComboSexAge', ['CatOptMalex', 'CatOptOverx']),
      coc('AocPepfarxx', 'ComboMechxx', ['CatOptPepfa']),
      coc('AocUsaidxxx', 'ComboMechxx', ['CatOptUsaid']),
    ],
    organisationUnits: [
      {
        id: 'CatClinic01',
        code: 'CLINIC',
        name: 'Clinic',
        shortName: 'Clinic',
        openingDate: '2000-01-01',
        ...stamp,
      },
    ],
    dataElements: [
      {
        id: 'CatDeCases1',
        code: 'CASES',
        name: 'Cases',
        shortName: 'Cases',
        valueType: 'INTEGER',
        aggregationType: 'SUM',
        domainType: 'AGGREGATE',
        categoryCombo: { id: 'ComboSexAge' },
        ...stamp,
      },
    ],
    dataSets: [
      {
        id: 'CatDsMechxx',
        code: 'MECH_DS',
        name: 'Cases by mechanism',
        shortName: 'Cases by mechanism',
        periodType: 'Monthly',
        categoryCombo: { id: 'ComboMechxx' },
        dataSetElements: [{ dataElement: { id: 'CatDeCases1' } }],
        ...stamp,
      },
    ],
  };
}

const adx = (groupAttributes: string, values: string[]): string =>
  `<adx xmlns="urn:ihe:qrph:adx:2015">
  <group dataSet="MECH_DS" orgUnit="CLINIC" period="2024-05-01/P1M" ${groupAttributes}>
${values.map((v) => `    <dataValue dataElement="CASES" ${v}/>`).join('\n')}
  </group>
</adx>`;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ADX import: categories by categoryIdScheme (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let files: ValueFiles;

    before(async () => {
      db = await createTestDatabase(kind);
      files = valueFiles(contextFor(db.storage, db.dataDir), db.dataDir, 'categories', { now: NOW });
      await loadMetadataPayloads(db.storage, [metadata()]);
    });
    after(async () => {
      await db?.dispose();
    });

    const importAdx = (content: string, params: Record<string, string> = {}): Promise<ImportSummary> =>
      files.importText(content, 'adx.xml', params);
    const stored = async (): Promise<string[]> =>
      (
        await db.storage.query<{ coc: string; aoc: string; value: string }>(
          `SELECT coc.uid AS coc, aoc.uid AS aoc, dv.value AS value FROM data_value dv
             JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
             JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id
            ORDER BY dv.value`,
        )
      ).map((r) => `${r.coc}|${r.aoc}|${r.value}`);
    const conflicts = (summary: ImportSummary) =>
      summary.conflicts.map((c) => ({
        errorCode: c.errorCode,
        object: c.object,
        objects: c.objects,
        property: c.property,
        value: c.value,
        indexes: c.indexes,
      }));

    it('resolves categories named by UID with categoryIdScheme=UID, and refuses the same file under ADX’s CODE default (F7101)', async () => {
      const file = adx('CatMechhhhh="PEPFAR"', [
        'CatSexxxxxx="F" CatAgeeeeee="U5" value="1"',
        'CatSexxxxxx="M" CatAgeeeeee="O5" value="2"',
      ]);
      const byCode = await importAdx(file);
      assert.equal(byCode.status, 'WARNING');
      assert.deepEqual(byCode.importCount, { imported: 0, updated: 0, ignored: 2, deleted: 0 });
      assert.deepEqual(conflicts(byCode), [
        {
          errorCode: 'F7101',
          object: 'CatSexxxxxx',
          objects: { category: 'CatSexxxxxx' },
          property: 'categoryOptionCombo',
          value: 'Category not found: `CatSexxxxxx` (categoryIdScheme CODE)',
          indexes: [0, 1],
        },
      ]);

      const byUid = await importAdx(file, { categoryIdScheme: 'UID' });
      assert.equal(byUid.status, 'SUCCESS', JSON.stringify(byUid.conflicts));
      assert.deepEqual(byUid.importCount, { imported: 2, updated: 0, ignored: 0, deleted: 0 });
      assert.deepEqual(await stored(), ['CocFUnder05|AocPepfarxx|1', 'CocMOver005|AocPepfarxx|2']);
    });

    it('refuses a made-up category attribute (F7101) even when its option would complete a combo', async () => {
      const summary = await importAdx(
        adx('MECH="USAID"', ['SEXX="F" AGE="U5" value="3"', 'SEX="F" AGE="U5" value="4"']),
      );
      assert.deepEqual(conflicts(summary), [
        {
          errorCode: 'F7101',
          object: 'SEXX',
          objects: { category: 'SEXX' },
          property: 'categoryOptionCombo',
          value: 'Category not found: `SEXX` (categoryIdScheme CODE)',
          indexes: [0],
        },
      ]);
      assert.equal(summary.importCount.imported, 1);
      assert.ok((await stored()).includes('CocFUnder05|AocUsaidxxx|4'));
    });

    it('refuses an option given under the wrong category (F7102), on a value and on a group', async () => {
      const swapped = await importAdx(adx('MECH="PEPFAR"', ['SEX="U5" AGE="F" value="5"']));
      assert.deepEqual(conflicts(swapped), [
        {
          errorCode: 'F7102',
          object: 'U5',
          objects: { categoryOption: 'U5', category: 'SEX' },
          property: 'categoryOptionCombo',
          value: 'Category option: `U5` is not an option of category: `SEX`',
          indexes: [0],
        },
      ]);
      const group = await importAdx(adx('MECH="F"', ['SEX="M" AGE="U5" value="6"']));
      assert.deepEqual(
        conflicts(group).map((c) => [c.errorCode, c.object, c.property]),
        [['F7102', 'F', 'attributeOptionCombo']],
      );
      const unknown = await importAdx(adx('MECH="PEPFAR"', ['SEX="X" AGE="U5" value="7"']));
      assert.deepEqual(
        conflicts(unknown).map((c) => [c.errorCode, c.object, c.property]),
        [['F7102', 'X', 'categoryOptionCombo']],
      );
      assert.ok(!(await stored()).some((row) => /\|[567]$/.test(row)));
    });

    it('resolves options by categoryOptionIdScheme (NAME) within categories by code', async () => {
      const summary = await importAdx(adx('MECH="USAID"', ['SEX="Male" AGE="Under 5" value="8"']), {
        categoryOptionIdScheme: 'NAME',
      });
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.ok((await stored()).includes('CocMUnder05|AocUsaidxxx|8'));
    });

    it('options that are each right but make no combo of the element are E7613', async () => {
      const summary = await importAdx(adx('MECH="USAID"', ['SEX="M" value="9"']));
      assert.deepEqual(
        conflicts(summary).map((c) => [c.errorCode, c.object, c.property]),
        [['E7613', 'SEX=M', 'categoryOptionCombo']],
      );
    });
  });
}
