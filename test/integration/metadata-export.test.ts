import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importMetadata } from '../../src/services/metadata/metadata-import-service.ts';
import {
  DEFAULT_IMPORT_PARAMS,
  type MetadataImportParams,
} from '../../src/domain/metadata-import/import-params.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import {
  buildExportRequest,
  streamMetadataExport,
  type ExportFormat,
} from '../../src/services/metadata/metadata-export-service.ts';
import { dependencyExportChunks } from '../../src/http/routes/metadata/metadata-routes.ts';

const FIXTURES = new URL('../fixtures/dhis2/', import.meta.url).pathname;

interface Site {
  db: TestDatabase;
  context: FerryContext;
}

async function openSite(kind: 'sqlite' | 'postgres'): Promise<Site> {
  const db = await createTestDatabase(kind);
  return { db, context: createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage) };
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

async function importInto(
  site: Site,
  name: string,
  body: string,
  params: Partial<MetadataImportParams> = {},
) {
  const path = join(site.db.dataDir, name);
  writeFileSync(path, body);
  const report = await importMetadata(
    site.context,
    { path, fileName: name },
    { ...DEFAULT_IMPORT_PARAMS, ...params },
  );
  assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report).slice(0, 5)));
  return report;
}

function exportAll(site: Site, format: ExportFormat, query: Record<string, unknown> = {}): Promise<string> {
  return text(
    streamMetadataExport(site.context, buildExportRequest(site.context.registry, query, format, false)),
  );
}

/** Export JSON with the server-set parts (export date, lastUpdated) removed, for comparing two sites. */
function comparable(json: string): Record<string, unknown[]> {
  const { system: _system, ...collections } = JSON.parse(json) as Record<string, unknown[]>;
  for (const objects of Object.values(collections)) {
    for (const object of objects as Array<Record<string, unknown>>) delete object.lastUpdated;
  }
  return collections;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`metadata export on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('round-trips everything through JSON and XML into an empty Ferry', async () => {
      const source = await openSite(kind);
      try {
        await importInto(
          source,
          '01.json',
          await text(fileText(`${FIXTURES}aggregate-e2e/01_setup_metadata.json`)),
        );
        await importInto(
          source,
          '02.json',
          await text(fileText(`${FIXTURES}aggregate-e2e/02_aggregate_metadata.json`)),
        );
        const original = await exportAll(source, 'json');
        const originalCollections = comparable(original);
        assert.equal((originalCollections.dataElements as unknown[]).length, 77);
        for (const format of ['json', 'xml'] as const) {
          const target = await openSite(kind);
          try {
            const exported = await exportAll(source, format);
            await importInto(target, `everything.${format}`, exported);
            assert.deepEqual(
              comparable(await exportAll(target, 'json')),
              originalCollections,
              `${format} round trip`,
            );
          } finally {
            await target.db.dispose();
          }
        }
      } finally {
        await source.db.dispose();
      }
    });

    it('round-trips org units, data elements and option sets through CSV', async () => {
      const source = await openSite(kind);
      const target = await openSite(kind);
      try {
        await importInto(
          source,
          'ou.csv',
          await text(fileText(`${FIXTURES}metadata-csv/organisationUnits.csv`)),
          {
            classKey: 'ORGANISATION_UNIT',
          },
        );
        await importInto(source, 'os.csv', await text(fileText(`${FIXTURES}metadata-csv/optionSets.csv`)), {
          classKey: 'OPTION_SET',
        });
        for (const [collection, classKey] of [
          ['organisationUnits', 'ORGANISATION_UNIT'],
          ['optionSets', 'OPTION_SET'],
        ] as const) {
          const csv = await exportAll(source, 'csv', { [collection]: 'true' });
          await importInto(target, `${collection}.csv`, csv, { classKey });
        }
        const strip = (objects: Array<Record<string, unknown>>) =>
          objects
            .map(({ lastUpdated: _l, created: _c, options: _o, ...rest }) => rest)
            .sort((a, b) => String(a.id).localeCompare(String(b.id)));
        for (const collection of ['organisationUnits', 'optionSets', 'options']) {
          assert.deepEqual(
            strip((await target.context.metadata.list(collection)).objects),
            strip((await source.context.metadata.list(collection)).objects),
            collection,
          );
        }
      } finally {
        await source.db.dispose();
        await target.db.dispose();
      }
    });

    it('exports a data set with its dependencies as a package that imports into an empty Ferry', async () => {
      const source = await openSite(kind);
      const target = await openSite(kind);
      try {
        await importInto(
          source,
          '01.json',
          await text(fileText(`${FIXTURES}aggregate-e2e/01_setup_metadata.json`)),
        );
        await importInto(
          source,
          '02.json',
          await text(fileText(`${FIXTURES}aggregate-e2e/02_aggregate_metadata.json`)),
        );
        for (const format of ['json', 'xml'] as const) {
          const body = await text(
            dependencyExportChunks(source.context, 'dataSets', 'qNtxTrp56wV', format, true),
          );
          const report = await importInto(target, `package.${format}`, body);
          assert.ok(report.stats.total > 10);
        }
        const dataSet = await target.context.metadata.get('dataSets', 'qNtxTrp56wV');
        assert.ok(dataSet);
        for (const element of dataSet.dataSetElements as Array<{ dataElement: { id: string } }>) {
          assert.ok(await target.context.metadata.get('dataElements', element.dataElement.id));
        }
        assert.ok(await target.context.metadata.get('categoryCombos', 'BwnnrV1AkNj'));
        assert.equal(dataSet.sharing, undefined, 'skipSharing drops sharing');
        assert.deepEqual(dataSet.organisationUnits ?? [], [], 'site assignments are left out');
      } finally {
        await source.db.dispose();
        await target.db.dispose();
      }
    });

    it('selects types, fields and filters; never exports user secrets', async () => {
      const site = await openSite(kind);
      try {
        await importInto(
          site,
          '01.json',
          await text(fileText(`${FIXTURES}aggregate-e2e/01_setup_metadata.json`)),
        );
        await importInto(
          site,
          'users.json',
          JSON.stringify({
            users: [
              { id: 'userAbc0001', username: 'u', firstName: 'U', surname: 'S', password: 'Secret-1!x' },
            ],
          }),
        );
        const selected = JSON.parse(
          await exportAll(site, 'json', {
            organisationUnits: 'true',
            fields: 'id,name',
            filter: 'name:^like:Bo',
          }),
        ) as Record<string, Array<Record<string, unknown>>>;
        assert.deepEqual(Object.keys(selected).sort(), ['organisationUnits', 'system']);
        assert.deepEqual(selected.organisationUnits, [{ id: 'O6uvpzGd5pu', name: 'Bo' }]);
        const everything = await exportAll(site, 'json', { fields: '*' });
        assert.ok(everything.includes('userAbc0001'));
        assert.ok(!everything.includes('Secret-1!x'));
      } finally {
        await site.db.dispose();
      }
    });

    it('inclusionStrategy: NON_NULL leaves out nulls, ALWAYS writes every selected property, NON_EMPTY leaves out empty strings and collections', async () => {
      const site = await openSite(kind);
      try {
        await importInto(
          site,
          'inclusion.json',
          JSON.stringify({
            optionSets: [
              { id: 'InclOptSet1', name: 'Inclusion set', valueType: 'TEXT', code: '', options: [] },
            ],
          }),
        );
        const exported = async (query: Record<string, unknown>) => {
          const json = JSON.parse(await exportAll(site, 'json', { optionSets: 'true', ...query })) as Record<
            string,
            Array<Record<string, unknown>>
          >;
          return json.optionSets[0];
        };
        const fields = 'id,name,code,description,options';
        const nonNull = await exported({ fields });
        assert.equal(Object.hasOwn(nonNull, 'description'), false, JSON.stringify(nonNull));
        assert.deepEqual(await exported({ fields, inclusionStrategy: 'NON_NULL' }), nonNull);

        const always = await exported({ fields, inclusionStrategy: 'ALWAYS' });
        assert.equal(always.description, null, JSON.stringify(always));
        assert.equal(always.name, 'Inclusion set');
        // Under :owner too, every owned property appears.
        const ownerAlways = await exported({ inclusionStrategy: 'always' });
        assert.ok(Object.hasOwn(ownerAlways, 'description'), JSON.stringify(ownerAlways));

        const nonEmpty = await exported({ fields, inclusionStrategy: 'NON_EMPTY' });
        assert.equal(Object.hasOwn(nonEmpty, 'description'), false);
        assert.equal(Object.hasOwn(nonEmpty, 'code'), false, JSON.stringify(nonEmpty));
        assert.equal(Object.hasOwn(nonEmpty, 'options'), false, JSON.stringify(nonEmpty));
        assert.equal(nonEmpty.name, 'Inclusion set');

        assert.throws(
          () => buildExportRequest(site.context.registry, { inclusionStrategy: 'SOMETIMES' }, 'json', false),
          /inclusionStrategy/,
        );
      } finally {
        await site.db.dispose();
      }
    });
  });
}

async function* fileText(path: string): AsyncIterable<string> {
  const { readFile } = await import('node:fs/promises');
  yield await readFile(path, 'utf8');
}
