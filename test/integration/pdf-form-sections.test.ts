import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../src/domain/category/default-category-model.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { assertStoredFormValues, fillPdfForm, pdfFormFields, PYPDF_SKIP } from '../support/pypdf.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';

/**
 * A data set laid out in two sections (the DHIS2 fixtures have none): the form over HTTP, read by
 * independent tools (poppler's pdftotext for the layout, pypdf for the fields), filled by pypdf and
 * imported back.
 */
const DATA_SET = 'PdfDataSet1';
const ORG_UNIT = 'PdfFacil001';
const PERIOD = '202401';
const SEX = { combo: 'PdfCcSex001', cocs: ['PdfCocMale1', 'PdfCocFem01'] };
const AGE = { combo: 'PdfCcAge001', cocs: ['PdfCocAgeU5', 'PdfCocAge5x', 'PdfCocAge15'] };
const DEFAULT = { combo: 'bjDvmb4bfuf', cocs: [DEFAULT_CATEGORY_OPTION_COMBO_UID] };
/** Sections in sort order, their elements in section order: neither is alphabetical. */
const SECTIONS = [
  {
    id: 'PdfSectVis1',
    name: 'Visits',
    sortOrder: 1,
    elements: [
      { id: 'PdfDeHivT01', name: 'HIV tests', combo: SEX },
      { id: 'PdfDeAnc001', name: 'ANC first contact', combo: DEFAULT },
    ],
  },
  {
    id: 'PdfSectOut1',
    name: 'Outcomes',
    sortOrder: 2,
    elements: [
      { id: 'PdfDeDeath1', name: 'Maternal deaths', combo: DEFAULT },
      { id: 'PdfDeBirth1', name: 'Live births', combo: SEX },
      { id: 'PdfDeVacc01', name: 'Vaccine doses', combo: AGE },
    ],
  },
];
const ELEMENTS = SECTIONS.flatMap((s) => s.elements);
const VALUE_FIELDS = ELEMENTS.flatMap((e) => e.combo.cocs.map((coc) => `TXFDDV_${e.id}_${coc}`));

function metadata(): Record<string, unknown> {
  const named = (id: string, name: string) => ({ id, name, shortName: name });
  const options = (prefix: string, names: string[]) =>
    names.map((name, i) => named(`${prefix}${i}`.padEnd(11, 'x'), name));
  const sexOptions = options('PdfOptSex', ['Male', 'Female']);
  const ageOptions = options('PdfOptAge', ['Under 5', '5 to 14', '15 and over']);
  const combo = (
    c: { combo: string; cocs: string[] },
    name: string,
    category: string,
    opts: typeof sexOptions,
  ) => ({
    category: {
      ...named(category, name),
      dataDimensionType: 'DISAGGREGATION',
      categoryOptions: opts.map((o) => ({ id: o.id })),
    },
    categoryCombo: { id: c.combo, name, dataDimensionType: 'DISAGGREGATION', categories: [{ id: category }] },
    cocs: c.cocs.map((id, i) => ({
      id,
      name: opts[i].name,
      categoryCombo: { id: c.combo },
      categoryOptions: [{ id: opts[i].id }],
    })),
  });
  const sex = combo(SEX, 'PDF sex', 'PdfCatSex01', sexOptions);
  const age = combo(AGE, 'PDF age', 'PdfCatAge01', ageOptions);
  return {
    organisationUnits: [
      { ...named('PdfRoot0001', 'PDF country'), openingDate: '1990-01-01' },
      { ...named(ORG_UNIT, 'PDF facility'), openingDate: '1990-01-01', parent: { id: 'PdfRoot0001' } },
    ],
    categoryOptions: [...sexOptions, ...ageOptions],
    categories: [sex.category, age.category],
    categoryCombos: [sex.categoryCombo, age.categoryCombo],
    categoryOptionCombos: [...sex.cocs, ...age.cocs],
    dataElements: ELEMENTS.map((e) => ({
      ...named(e.id, e.name),
      valueType: 'INTEGER_ZERO_OR_POSITIVE',
      aggregationType: 'SUM',
      domainType: 'AGGREGATE',
      categoryCombo: { id: e.combo.combo },
    })),
    dataSets: [
      {
        ...named(DATA_SET, 'Maternal health monthly'),
        periodType: 'Monthly',
        expiryDays: 0,
        openFuturePeriods: 0,
        categoryCombo: { id: DEFAULT.combo },
        dataSetElements: ELEMENTS.map((e) => ({ dataElement: { id: e.id } })),
        organisationUnits: [{ id: ORG_UNIT }],
      },
    ],
    // Listed against their sort order, so the form has to sort them.
    sections: [...SECTIONS].reverse().map((s) => ({
      id: s.id,
      name: s.name,
      sortOrder: s.sortOrder,
      dataSet: { id: DATA_SET },
      dataElements: s.elements.map((e) => ({ id: e.id })),
    })),
  };
}

const PDFTOTEXT = existsSync('/usr/bin/pdftotext') ? '/usr/bin/pdftotext' : undefined;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`PDF form of a data set with sections (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let app: FastifyInstance;
    let form: string;

    before(async () => {
      ({ db, app } = await startTestApp(kind, {
        setup: (_context, db) => loadMetadataPayloads(db.storage, [metadata()]),
      }));
      const response = await app.inject({
        url: `/api/dataSets/${DATA_SET}/form.pdf?orgUnit=${ORG_UNIT}&period=${PERIOD}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(response.statusCode, 200, response.body);
      form = join(db.dataDir, 'form.pdf');
      writeFileSync(form, response.rawPayload);
    });
    after(() => stopTestApp({ db, app }));

    it(
      'prints the sections in sort order, each with its elements in section order',
      { skip: PDFTOTEXT ? false : 'pdftotext (poppler-utils) is not installed' },
      () => {
        const run = spawnSync(PDFTOTEXT!, ['-layout', form, '-'], { encoding: 'utf8' });
        assert.equal(run.status, 0, run.stderr);
        const expectedOrder = SECTIONS.flatMap((s) => [s.name, ...s.elements.map((e) => e.name)]);
        const positions = expectedOrder.map((label) => {
          const at = run.stdout.search(new RegExp(`^\\s*${label}\\b`, 'm'));
          assert.ok(at >= 0, `"${label}" starts a line of the form:\n${run.stdout}`);
          return at;
        });
        assert.deepEqual(
          [...positions].sort((a, b) => a - b),
          positions,
          `in the order ${expectedOrder.join(', ')}:\n${run.stdout}`,
        );
        assert.doesNotMatch(run.stdout, /^\s*Other\b/m, 'every element is in a section');
      },
    );

    it('has the header fields and one field per data element and option combo', { skip: PYPDF_SKIP }, () => {
      const names = Object.keys(pdfFormFields(form)).sort();
      // TXFD_DataSetID is Ferry's documented addition (docs/formats/pdf-forms.md).
      const expected = ['TXFD_OrgID', 'TXFD_PeriodID', 'TXFD_DataSetID', ...VALUE_FIELDS].sort();
      assert.equal(VALUE_FIELDS.length, 9);
      assert.deepEqual(names, expected);
    });

    it(
      'imports every value of the form filled by pypdf (POST application/pdf)',
      { skip: PYPDF_SKIP },
      async () => {
        const values = Object.fromEntries(VALUE_FIELDS.map((name, i) => [name, String(11 * (i + 1))]));
        const filled = join(db.dataDir, 'filled.pdf');
        fillPdfForm(form, filled, values);
        const response = await app.inject({
          method: 'POST',
          url: '/api/dataValueSets',
          headers: { authorization: ADMIN_AUTH, 'content-type': 'application/pdf' },
          payload: readFileSync(filled),
        });
        assert.equal(response.statusCode, 200, response.body);
        const summary = (JSON.parse(response.body) as { response: { importCount: unknown } }).response;
        assert.deepEqual(summary.importCount, { imported: 9, updated: 0, ignored: 0, deleted: 0 });
        await assertStoredFormValues(db.storage, values, ORG_UNIT, PERIOD);
      },
    );
  });
}
