import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports, type ImportReport } from '../../src/domain/metadata-import/import-report.ts';
import { schemaRegistry } from '../../src/domain/schema/schema-registry.ts';

async function withDatabase(kind: 'sqlite' | 'postgres', work: (context: FerryContext) => Promise<void>) {
  const db = await createTestDatabase(kind);
  try {
    await work(createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage));
  } finally {
    await db.dispose();
  }
}

function errors(report: ImportReport) {
  return allErrorReports(report).map((e) => ({
    code: e.errorCode,
    mainId: e.mainId,
    property: e.errorProperty,
    value: e.value,
  }));
}

const dataElement = (id: string) => ({
  id,
  name: `DE ${id}`,
  shortName: `DE ${id}`,
  valueType: 'INTEGER',
  aggregationType: 'SUM',
  domainType: 'AGGREGATE',
});

const dataSet = (id: string, elements: string[]) => ({
  id,
  name: `DS ${id}`,
  shortName: `DS ${id}`,
  periodType: 'Monthly',
  dataSetElements: elements.map((de) => ({ dataElement: { id: de } })),
});

const optionSet = (id: string, options: string[]) => ({
  id,
  name: `OS ${id}`,
  valueType: 'TEXT',
  options: options.map((o) => ({ id: o })),
});

const option = (id: string, code: string) => ({ id, name: `Option ${id}`, code });

describe('registry uniqueTogether groups', () => {
  it('declares DHIS2 composite keys on the types that have them, naming real properties', () => {
    const declared = Object.fromEntries(
      schemaRegistry.schemas.filter((s) => s.uniqueTogether).map((s) => [s.collection, s.uniqueTogether]),
    );
    assert.deepEqual(declared.dataSetElements, [['dataSet', 'dataElement']]);
    assert.deepEqual(declared.options, [['optionSet', 'code']]);
    assert.deepEqual(declared.categoryOptionCombos, [['categoryCombo', 'categoryOptions']]);
    assert.deepEqual(declared.programStageDataElements, [['programStage', 'dataElement']]);
    assert.deepEqual(declared.programTrackedEntityAttributes, [['program', 'trackedEntityAttribute']]);
    for (const schema of schemaRegistry.schemas) {
      for (const group of schema.uniqueTogether ?? []) {
        for (const name of group)
          assert.ok(schemaRegistry.property(schema.collection, name), `${schema.collection}.${name}`);
      }
    }
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`multi-property uniqueness (E5005, E5003) on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('refuses a data set listing one data element twice, and accepts the element in two data sets', async () => {
      await withDatabase(kind, async (context) => {
        const report = await importMetadataObjects(context, {
          dataElements: [dataElement('deAAAAAAAA1'), dataElement('deAAAAAAAA2')],
          dataSets: [
            dataSet('dsAAAAAAAA1', ['deAAAAAAAA1', 'deAAAAAAAA2', 'deAAAAAAAA1']),
            dataSet('dsAAAAAAAA2', ['deAAAAAAAA1']),
          ],
        });
        assert.equal(report.status, 'ERROR');
        assert.deepEqual(errors(report), [
          {
            code: 'E5005',
            mainId: 'dsAAAAAAAA1',
            property: 'dataSetElements(dataSet, dataElement)',
            value: 'dsAAAAAAAA1, deAAAAAAAA1',
          },
        ]);
        assert.equal(await context.metadata.count('dataSets'), 0, 'atomic: nothing written');

        const fine = await importMetadataObjects(context, {
          dataElements: [dataElement('deAAAAAAAA1')],
          dataSets: [dataSet('dsAAAAAAAA1', ['deAAAAAAAA1']), dataSet('dsAAAAAAAA2', ['deAAAAAAAA1'])],
        });
        assert.equal(fine.status, 'OK', JSON.stringify(allErrorReports(fine)));
        // Re-importing the same data set checks it against itself only.
        const again = await importMetadataObjects(context, {
          dataSets: [dataSet('dsAAAAAAAA1', ['deAAAAAAAA1'])],
        });
        assert.equal(again.status, 'OK', JSON.stringify(allErrorReports(again)));
      });
    });

    it('keeps option codes unique per option set, in the file and against the database', async () => {
      await withDatabase(kind, async (context) => {
        // The same code in two sets is fine (DHIS2's MEDIUM in "Result" and "Impact").
        const two = await importMetadataObjects(context, {
          options: [option('opAAAAAAAA1', 'MEDIUM'), option('opAAAAAAAA2', 'MEDIUM')],
          optionSets: [optionSet('osAAAAAAAA1', ['opAAAAAAAA1']), optionSet('osAAAAAAAA2', ['opAAAAAAAA2'])],
        });
        assert.equal(two.status, 'OK', JSON.stringify(allErrorReports(two)));

        // Twice in one set within the file: E5005 (the option set is known from the set's list).
        const inFile = await importMetadataObjects(context, {
          options: [option('opBBBBBBBB1', 'LOW'), option('opBBBBBBBB2', 'LOW')],
          optionSets: [optionSet('osBBBBBBBB1', ['opBBBBBBBB1', 'opBBBBBBBB2'])],
        });
        assert.deepEqual(errors(inFile), [
          { code: 'E5005', mainId: 'opBBBBBBBB2', property: 'optionSet, code', value: 'osBBBBBBBB1, LOW' },
        ]);

        // A new option with a stored option's code, added to that option's set: E5003, no database error.
        const stored = await importMetadataObjects(context, {
          options: [option('opAAAAAAAA3', 'MEDIUM')],
          optionSets: [optionSet('osAAAAAAAA1', ['opAAAAAAAA1', 'opAAAAAAAA3'])],
        });
        assert.equal(stored.status, 'ERROR');
        assert.deepEqual(errors(stored), [
          { code: 'E5003', mainId: 'opAAAAAAAA3', property: 'optionSet, code', value: 'osAAAAAAAA1, MEDIUM' },
        ]);
        assert.equal(await context.metadata.get('options', 'opAAAAAAAA3'), undefined);

        // An option carrying its set directly is checked against the stored set's options too.
        const direct = await importMetadataObjects(context, {
          options: [{ ...option('opAAAAAAAA4', 'MEDIUM'), optionSet: { id: 'osAAAAAAAA2' } }],
        });
        assert.deepEqual(errors(direct), [
          { code: 'E5003', mainId: 'opAAAAAAAA4', property: 'optionSet, code', value: 'osAAAAAAAA2, MEDIUM' },
        ]);

        // Renaming the stored option's code in the same file frees MEDIUM.
        const renamed = await importMetadataObjects(context, {
          options: [option('opAAAAAAAA1', 'OLD_MEDIUM'), option('opAAAAAAAA3', 'MEDIUM')],
          optionSets: [optionSet('osAAAAAAAA1', ['opAAAAAAAA1', 'opAAAAAAAA3'])],
        });
        assert.equal(renamed.status, 'OK', JSON.stringify(allErrorReports(renamed)));
      });
    });

    it('allows one option combo per set of options in a category combo, in any order', async () => {
      await withDatabase(kind, async (context) => {
        const model = {
          categoryOptions: [
            { id: 'coAAAAAAAA1', name: 'Male', shortName: 'Male' },
            { id: 'coAAAAAAAA2', name: 'Under 5', shortName: 'Under 5' },
          ],
          categories: [
            {
              id: 'caAAAAAAAA1',
              name: 'Sex',
              dataDimensionType: 'DISAGGREGATION',
              categoryOptions: [{ id: 'coAAAAAAAA1' }],
            },
            {
              id: 'caAAAAAAAA2',
              name: 'Age',
              dataDimensionType: 'DISAGGREGATION',
              categoryOptions: [{ id: 'coAAAAAAAA2' }],
            },
          ],
          categoryCombos: [
            {
              id: 'ccAAAAAAAA1',
              name: 'Sex and age',
              dataDimensionType: 'DISAGGREGATION',
              categories: [{ id: 'caAAAAAAAA1' }, { id: 'caAAAAAAAA2' }],
            },
          ],
        };
        const coc = (id: string, options: string[]) => ({
          id,
          name: `COC ${id}`,
          categoryCombo: { id: 'ccAAAAAAAA1' },
          categoryOptions: options.map((o) => ({ id: o })),
        });
        const inFile = await importMetadataObjects(context, {
          ...model,
          categoryOptionCombos: [
            coc('cocAAAAAAA1', ['coAAAAAAAA1', 'coAAAAAAAA2']),
            coc('cocAAAAAAA2', ['coAAAAAAAA2', 'coAAAAAAAA1']),
          ],
        });
        assert.deepEqual(errors(inFile), [
          {
            code: 'E5005',
            mainId: 'cocAAAAAAA2',
            property: 'categoryCombo, categoryOptions',
            value: 'ccAAAAAAAA1, coAAAAAAAA1+coAAAAAAAA2',
          },
        ]);

        assert.equal((await importMetadataObjects(context, model)).status, 'OK');
        // The combo's option combo now exists (created on commit); another one for the same options clashes.
        const [planned] = (await context.metadata.referrers('categoryCombos', 'ccAAAAAAAA1')).filter(
          (r) => r.collection === 'categoryOptionCombos',
        );
        assert.ok(planned);
        const clash = await importMetadataObjects(context, {
          categoryOptionCombos: [coc('cocAAAAAAA3', ['coAAAAAAAA2', 'coAAAAAAAA1'])],
        });
        assert.deepEqual(errors(clash), [
          {
            code: 'E5003',
            mainId: 'cocAAAAAAA3',
            property: 'categoryCombo, categoryOptions',
            value: 'ccAAAAAAAA1, coAAAAAAAA1+coAAAAAAAA2',
          },
        ]);
        assert.match(allErrorReports(clash)[0].message, new RegExp(planned.uid));
      });
    });

    it('keeps section names unique per data set and stage data elements unique per stage', async () => {
      await withDatabase(kind, async (context) => {
        const base = {
          dataElements: [dataElement('deAAAAAAAA1')],
          dataSets: [dataSet('dsAAAAAAAA1', ['deAAAAAAAA1']), dataSet('dsAAAAAAAA2', ['deAAAAAAAA1'])],
        };
        const section = (id: string, name: string, ds: string) => ({ id, name, dataSet: { id: ds } });
        const ok = await importMetadataObjects(context, {
          ...base,
          sections: [
            section('seAAAAAAAA1', 'Main', 'dsAAAAAAAA1'),
            section('seAAAAAAAA2', 'Main', 'dsAAAAAAAA2'),
          ],
        });
        assert.equal(ok.status, 'OK', JSON.stringify(allErrorReports(ok)));
        const clash = await importMetadataObjects(context, {
          sections: [
            section('seAAAAAAAA3', 'Main', 'dsAAAAAAAA1'),
            section('seAAAAAAAA4', 'Extra', 'dsAAAAAAAA1'),
            section('seAAAAAAAA5', 'Extra', 'dsAAAAAAAA1'),
          ],
        });
        assert.deepEqual(
          errors(clash).map((e) => [e.code, e.mainId, e.value]),
          [
            ['E5003', 'seAAAAAAAA3', 'dsAAAAAAAA1, Main'],
            ['E5005', 'seAAAAAAAA5', 'dsAAAAAAAA1, Extra'],
          ],
        );

        const stage = await importMetadataObjects(context, {
          dataElements: [{ ...dataElement('deAAAAAAAA1'), domainType: 'TRACKER' }],
          programs: [{ id: 'prAAAAAAAA1', name: 'P', shortName: 'P', programType: 'WITHOUT_REGISTRATION' }],
          programStages: [
            {
              id: 'psAAAAAAAA1',
              name: 'Stage',
              program: { id: 'prAAAAAAAA1' },
              programStageDataElements: [
                { dataElement: { id: 'deAAAAAAAA1' } },
                { dataElement: { id: 'deAAAAAAAA1' }, compulsory: true },
              ],
            },
          ],
        });
        assert.deepEqual(
          errors(stage).map((e) => [e.code, e.mainId, e.property]),
          [['E5005', 'psAAAAAAAA1', 'programStageDataElements(programStage, dataElement)']],
        );
      });
    });
  });
}
