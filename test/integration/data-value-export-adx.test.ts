import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../../src/services/data-values/data-value-export-service.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { categoryBuilders } from '../support/category-metadata.ts';

const IMPORT_A = join(import.meta.dirname, '../fixtures/dhis2/adx/importA.adx.xml');
const NOW = '2024-01-01T00:00:00.000';

/**
 * The metadata importA.adx.xml names, by code, as DHIS2's own ADX test creates it: two data sets
 * (one with a mechanism attribute combo), sex and age categories, option combos with codes.
 */
function importAMetadata(): Record<string, unknown> {
  const { option, category, categoryCombo, optionCombo: coc, stamp } = categoryBuilders(NOW);
  return {
    categoryOptions: [
      option('FFFFFFFFFFF', 'FFFFFFFFFFF', 'Female'),
      option('MMMMMMMMMMM', 'MMMMMMMMMMM', 'Male'),
      option('under555555', 'under555555', 'Under 5'),
      option('over5555555', 'over5555555', 'Over 5'),
      option('PEPFARRRRRR', 'PEPFARRRRRR', 'PEPFAR'),
      option('McDonaldsss', 'McDonaldsss', 'McDonalds'),
    ],
    categories: [
      category('CatSexxxxxx', 'Sex_category', 'Sex', ['FFFFFFFFFFF', 'MMMMMMMMMMM']),
      category('CatAgeeeeee', 'Age_category', 'Age', ['under555555', 'over5555555']),
      category('CatMechhhhh', 'Mechanism_category', 'Mechanism', ['PEPFARRRRRR', 'McDonaldsss'], 'ATTRIBUTE'),
    ],
    categoryCombos: [
      categoryCombo('ComboSexAge', 'Sex and age', ['CatSexxxxxx', 'CatAgeeeeee']),
      categoryCombo('ComboMechxx', 'Mechanism', ['CatMechhhhh'], 'ATTRIBUTE'),
    ],
    categoryOptionCombos: [
      coc('FUnder55555', 'ComboSexAge', ['FFFFFFFFFFF', 'under555555']),
      coc('MUnder55555', 'ComboSexAge', ['MMMMMMMMMMM', 'under555555']),
      coc('FOver555555', 'ComboSexAge', ['FFFFFFFFFFF', 'over5555555'], 'FOver555555'),
      coc('MOver555555', 'ComboSexAge', ['MMMMMMMMMMM', 'over5555555'], 'MOver555555'),
      coc('cocPepfarrr', 'ComboMechxx', ['PEPFARRRRRR']),
      coc('cocMcDonald', 'ComboMechxx', ['McDonaldsss'], 'cocMcDonald'),
    ],
    organisationUnits: [
      {
        id: 'OrgUnit1233',
        code: '123',
        name: 'Clinic 123',
        shortName: 'Clinic 123',
        openingDate: '2000-01-01',
        ...stamp,
      },
      {
        id: 'OrgUnit4566',
        code: '456',
        name: 'Clinic 456',
        shortName: 'Clinic 456',
        openingDate: '2000-01-01',
        ...stamp,
      },
    ],
    dataElements: [
      {
        id: 'DeMalNumber',
        code: 'Malaria numeric',
        name: 'Malaria numeric',
        shortName: 'Malaria numeric',
        valueType: 'INTEGER',
        aggregationType: 'SUM',
        domainType: 'AGGREGATE',
        categoryCombo: { id: 'ComboSexAge' },
        ...stamp,
      },
      {
        id: 'DeMalTextxx',
        code: 'Malaria text',
        name: 'Malaria text',
        shortName: 'Malaria text',
        valueType: 'TEXT',
        aggregationType: 'NONE',
        domainType: 'AGGREGATE',
        categoryCombo: { id: 'bjDvmb4bfuf' },
        ...stamp,
      },
    ],
    dataSets: [
      {
        id: 'DsMalariaxx',
        code: 'MalariaDS',
        name: 'Malaria DS',
        shortName: 'Malaria DS',
        periodType: 'Monthly',
        categoryCombo: { id: 'bjDvmb4bfuf' },
        dataSetElements: [{ dataElement: { id: 'DeMalNumber' } }, { dataElement: { id: 'DeMalTextxx' } }],
        organisationUnits: [{ id: 'OrgUnit1233' }, { id: 'OrgUnit4566' }],
        ...stamp,
      },
      {
        id: 'DsMalMechxx',
        code: 'MalariaMechanismDS',
        name: 'Malaria Mechanism DS',
        shortName: 'Malaria Mechanism DS',
        periodType: 'Quarterly',
        categoryCombo: { id: 'ComboMechxx' },
        dataSetElements: [{ dataElement: { id: 'DeMalNumber' } }],
        organisationUnits: [{ id: 'OrgUnit4566' }],
        ...stamp,
      },
    ],
  };
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ADX import and export (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
      await loadMetadataPayloads(db.storage, [importAMetadata()]);
    });
    after(async () => {
      await db?.dispose();
    });

    it("imports DHIS2's importA.adx.xml: category attributes, option combo codes, annotations, P1M and P3M", async () => {
      const summary = await importDataValues(
        context,
        { path: IMPORT_A, fileName: 'importA.adx.xml', contentType: 'application/adx+xml' },
        {},
        undefined,
      );
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.deepEqual(summary.importCount, { imported: 9, updated: 0, ignored: 0, deleted: 0 });
      const rows = await db.storage.query<Record<string, string>>(
        `SELECT de.code AS de, p.iso AS pe, ou.code AS ou, coc.uid AS coc, aoc.uid AS aoc, dv.value AS value
           FROM data_value dv JOIN metadata_object de ON de.sid = dv.data_element_id
           JOIN period p ON p.period_id = dv.period_id JOIN metadata_object ou ON ou.sid = dv.org_unit_id
           JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
           JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id`,
      );
      const got = rows.map((r) => [r.de, r.pe, r.ou, r.coc, r.aoc, r.value].join('|')).sort();
      assert.deepEqual(
        got,
        [
          'Malaria numeric|202001|123|FUnder55555|HllvX50cXC0|1',
          'Malaria numeric|202001|123|MUnder55555|HllvX50cXC0|2',
          'Malaria numeric|202001|123|FOver555555|HllvX50cXC0|3',
          'Malaria numeric|202001|123|MOver555555|HllvX50cXC0|4',
          'Malaria text|202001|123|HllvX50cXC0|HllvX50cXC0|Text data value',
          'Malaria numeric|202002|456|FUnder55555|HllvX50cXC0|6',
          'Malaria numeric|2021Q1|456|FUnder55555|cocPepfarrr|10',
          'Malaria numeric|2021Q1|456|FOver555555|cocMcDonald|20',
          'Malaria numeric|2021Q1|456|MUnder55555|cocMcDonald|30',
        ].sort(),
      );
    });

    it('an annotation is the value of a non-numeric data element only; a numeric one keeps its value attribute (DHIS2 2.42)', async () => {
      const path = join(db.dataDir, 'annotations.adx.xml');
      writeFileSync(
        path,
        `<adx xmlns="urn:ihe:qrph:adx:2015">
  <group dataSet="MalariaDS" period="2020-05-01/P1M" orgUnit="123">
    <dataValue dataElement="Malaria numeric" categoryOptionCombo="FOver555555" value="7"><annotation>seven, counted twice</annotation></dataValue>
    <dataValue dataElement="Malaria text" value="0"><annotation>Reported late</annotation></dataValue>
  </group>
</adx>`,
      );
      const summary = await importDataValues(
        context,
        { path, fileName: 'annotations.adx.xml', contentType: 'application/adx+xml' },
        {},
        undefined,
      );
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(summary.importCount.imported, 2);
      const rows = await db.storage.query<Record<string, string>>(
        `SELECT de.code AS de, dv.value AS value
           FROM data_value dv JOIN metadata_object de ON de.sid = dv.data_element_id
           JOIN period p ON p.period_id = dv.period_id
          WHERE p.iso = '202005' ORDER BY de.code`,
      );
      assert.deepEqual(
        rows.map((r) => `${r.de}=${r.value}`),
        ['Malaria numeric=7', 'Malaria text=Reported late'],
      );
      // The export test below counts every stored value: leave the database as importA left it.
      await db.storage.execute(
        `DELETE FROM data_value WHERE period_id IN (SELECT period_id FROM period WHERE iso = '202005')`,
      );
    });

    it('exports ADX with codes by default: category codes as attributes, start/duration periods, annotations', async () => {
      const request = parseDataValueExportRequest(
        {
          dataSet: 'MalariaMechanismDS,MalariaDS',
          orgUnit: '123,456',
          startDate: '2020-01-01',
          endDate: '2021-12-31',
        },
        { format: 'adx' },
      );
      const xml = await text((await exportDataValues(context, request)).body);
      assert.match(xml, /<adx xmlns="urn:ihe:qrph:adx:2015" exported="/);
      assert.match(
        xml,
        /<group dataSet="MalariaMechanismDS" orgUnit="456" period="2021-01-01\/P3M" Mechanism_category="McDonaldsss">/,
      );
      assert.match(
        xml,
        /<dataValue dataElement="Malaria numeric" Sex_category="MMMMMMMMMMM" Age_category="under555555" value="30"\/>/,
      );
      assert.match(xml, /<group dataSet="MalariaDS" orgUnit="123" period="2020-01-01\/P1M">/);
      assert.match(xml, /value="0">\s*<annotation>Text data value<\/annotation>/);
      // Exported with codes, imported again with codes: nothing changes.
      const path = join(db.dataDir, 'export.adx.xml');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path, xml);
      const again = await importDataValues(
        context,
        { path, fileName: 'export.adx.xml', format: 'adx' },
        {},
        undefined,
      );
      assert.equal(again.status, 'SUCCESS', JSON.stringify(again.conflicts));
      assert.deepEqual(again.importCount, { imported: 0, updated: 0, ignored: 9, deleted: 0 });
    });
  });
}
