import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import {
  buildExportRequest,
  streamMetadataExport,
  type ExportFormat,
} from '../../src/services/metadata/metadata-export-service.ts';
import { FerryError } from '../../src/errors.ts';

async function withDatabase(kind: 'sqlite' | 'postgres', work: (context: FerryContext) => Promise<void>) {
  const db = await createTestDatabase(kind);
  try {
    await work(createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage));
  } finally {
    await db.dispose();
  }
}

async function exportText(
  context: FerryContext,
  format: ExportFormat,
  query: Record<string, unknown>,
): Promise<string> {
  let out = '';
  for await (const chunk of streamMetadataExport(
    context,
    buildExportRequest(context.registry, query, format, false),
  ))
    out += chunk;
  return out;
}

async function exportJson(context: FerryContext, query: Record<string, unknown>) {
  return JSON.parse(await exportText(context, 'json', query)) as Record<
    string,
    Array<Record<string, unknown>>
  >;
}

const PAYLOAD = {
  categoryOptions: [{ id: 'coAAAAAAAA1', name: 'Male', shortName: 'Male', code: 'M' }],
  categories: [
    {
      id: 'caAAAAAAAA1',
      name: 'Sex',
      dataDimensionType: 'DISAGGREGATION',
      categoryOptions: [{ id: 'coAAAAAAAA1' }],
    },
  ],
  categoryCombos: [
    {
      id: 'ccAAAAAAAA1',
      name: 'Sex combo',
      code: 'SEX',
      dataDimensionType: 'DISAGGREGATION',
      categories: [{ id: 'caAAAAAAAA1' }],
    },
  ],
  dataElements: [
    {
      id: 'deAAAAAAAA1',
      name: 'Cases',
      shortName: 'Cases',
      code: 'CASES',
      valueType: 'INTEGER',
      aggregationType: 'SUM',
      domainType: 'AGGREGATE',
      categoryCombo: { id: 'ccAAAAAAAA1' },
    },
  ],
  dataSets: [
    {
      id: 'dsAAAAAAAA1',
      name: 'Monthly',
      shortName: 'Monthly',
      code: 'MONTHLY',
      periodType: 'Monthly',
      description: 'A data set',
      dataSetElements: [{ dataElement: { id: 'deAAAAAAAA1' }, dataSet: { id: 'dsAAAAAAAA1' } }],
    },
  ],
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(`metadata export fields and filters on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('applies nested selections, :owner, * and exclusions at every level (JSON and XML)', async () => {
      await withDatabase(kind, async (context) => {
        const report = await importMetadataObjects(context, PAYLOAD);
        assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));

        const nested = await exportJson(context, {
          dataElements: 'true',
          fields: 'id,name,categoryCombo[id,name,categories[id,code,name,!code]]',
        });
        assert.deepEqual(nested.dataElements, [
          {
            id: 'deAAAAAAAA1',
            name: 'Cases',
            categoryCombo: {
              id: 'ccAAAAAAAA1',
              name: 'Sex combo',
              categories: [{ id: 'caAAAAAAAA1', name: 'Sex' }],
            },
          },
        ]);

        const embedded = await exportJson(context, {
          dataSets: 'true',
          fields: 'id,dataSetElements[dataElement[id,code,categoryCombo[code]]]',
        });
        assert.deepEqual(embedded.dataSets, [
          {
            id: 'dsAAAAAAAA1',
            dataSetElements: [
              { dataElement: { id: 'deAAAAAAAA1', code: 'CASES', categoryCombo: { code: 'SEX' } } },
            ],
          },
        ]);

        // :owner recurses (the inverse dataSet of an element is left out); !x applies at each level.
        const owner = await exportJson(context, {
          dataSets: 'true',
          fields: ':owner,!description,!created,!lastUpdated,dataSetElements[:owner,dataElement[name]]',
        });
        const dataSet = owner.dataSets[0];
        assert.equal(dataSet.description, undefined);
        assert.equal(dataSet.created, undefined);
        assert.equal(dataSet.periodType, 'Monthly');
        assert.deepEqual(dataSet.dataSetElements, [{ dataElement: { name: 'Cases' } }]);

        const star = await exportJson(context, {
          categoryCombos: 'true',
          filter: 'code:eq:SEX',
          fields: 'id,categories[*,!created,!lastUpdated]',
        });
        const [category] = star.categoryCombos[0].categories as Array<Record<string, unknown>>;
        assert.equal(category.displayName, 'Sex');
        assert.equal(category.dataDimensionType, 'DISAGGREGATION');
        assert.deepEqual(category.categoryOptions, [{ id: 'coAAAAAAAA1' }]);
        assert.equal(category.created, undefined);

        const xml = await exportText(context, 'xml', {
          dataElements: 'true',
          fields: 'id,categoryCombo[id,name]',
        });
        const xmlEmbedded = await exportText(context, 'xml', {
          dataSets: 'true',
          fields: 'id,dataSetElements[dataElement[id,code]]',
        });
        assert.match(
          xmlEmbedded,
          /<dataSetElements><dataSetElement><dataElement id="deAAAAAAAA1" code="CASES"><\/dataElement><\/dataSetElement><\/dataSetElements>/,
        );
        assert.match(
          xml,
          /<dataElement id="deAAAAAAAA1"><categoryCombo id="ccAAAAAAAA1" name="Sex combo"><\/categoryCombo><\/dataElement>/,
        );
        assert.doesNotMatch(xml, /Cases/, 'name not selected');
      });
    });

    it('refuses a malformed fields expression with a catalogued error', async () => {
      await withDatabase(kind, async (context) => {
        assert.throws(
          () => buildExportRequest(context.registry, { fields: 'id,categoryCombo[id' }, 'json', false),
          (error: unknown) => error instanceof FerryError && error.code === 'F1022',
        );
      });
    });

    it('streams filtered exports in keyset batches, in sid order, across batch boundaries', async () => {
      await withDatabase(kind, async (context) => {
        const options = Array.from({ length: 25 }, (_, i) => ({
          id: `opt${String(i).padStart(8, '0')}`,
          name: `${i % 2 === 0 ? 'Even' : 'Odd'} ${i}`,
          code: `C${i}`,
        }));
        const report = await importMetadataObjects(context, { options });
        assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));

        const batches: string[][] = [];
        for await (const batch of context.metadata.streamMatching(
          'options',
          [{ property: 'name', operator: 'startsWith', value: 'Even' }],
          4,
        ))
          batches.push(batch.map((r) => r.object.id));
        assert.deepEqual(
          batches.map((b) => b.length),
          [4, 4, 4, 1],
        );
        assert.deepEqual(
          batches.flat(),
          options.filter((_, i) => i % 2 === 0).map((o) => o.id),
        );

        const exported = await exportJson(context, {
          options: 'true',
          fields: 'id',
          filter: 'name:^like:Odd',
        });
        assert.equal(exported.options.length, 12);
        const none = await exportJson(context, { options: 'true', filter: 'name:eq:nothing' });
        assert.equal(none.options, undefined);
      });
    });
  });
}
