import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import {
  importMetadata,
  importMetadataObjects,
} from '../../src/services/metadata/metadata-import-service.ts';
import {
  DEFAULT_IMPORT_PARAMS,
  type MetadataImportParams,
} from '../../src/domain/metadata-import/import-params.ts';
import { allErrorReports, type ImportReport } from '../../src/domain/metadata-import/import-report.ts';
import { FerryError } from '../../src/errors.ts';
import { forEachReference, isCheckedReference } from '../../src/domain/metadata-import/reference-walk.ts';

const FIXTURES = new URL('../fixtures/dhis2/', import.meta.url).pathname;

async function withDatabase(
  kind: 'sqlite' | 'postgres',
  work: (context: FerryContext, db: TestDatabase) => Promise<void>,
) {
  const db = await createTestDatabase(kind);
  try {
    await work(createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage), db);
  } finally {
    await db.dispose();
  }
}

function importFile(
  context: FerryContext,
  path: string,
  params: Partial<MetadataImportParams> = {},
): Promise<ImportReport> {
  return importMetadata(
    context,
    { path, fileName: path.split('/').pop()! },
    { ...DEFAULT_IMPORT_PARAMS, ...params },
  );
}

function importText(
  context: FerryContext,
  db: TestDatabase,
  name: string,
  text: string,
  params: Partial<MetadataImportParams> = {},
): Promise<ImportReport> {
  const path = join(db.dataDir, name);
  writeFileSync(path, text);
  return importFile(context, path, params);
}

function codes(report: ImportReport): string[] {
  return allErrorReports(report).map((e) => e.errorCode);
}

const setup = `${FIXTURES}aggregate-e2e/01_setup_metadata.json`;
const aggregate = `${FIXTURES}aggregate-e2e/02_aggregate_metadata.json`;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`metadata import on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('imports the aggregate e2e metadata into an empty database, then again creating nothing', async () => {
      await withDatabase(kind, async (context) => {
        const first = await importFile(context, setup);
        assert.equal(first.status, 'OK', JSON.stringify(allErrorReports(first)));
        const second = await importFile(context, aggregate);
        assert.equal(second.status, 'OK', JSON.stringify(allErrorReports(second)));
        assert.equal(second.stats.created, 147);
        assert.equal(await context.metadata.count('dataElements'), 77);

        const again1 = await importFile(context, setup);
        const again2 = await importFile(context, aggregate);
        for (const report of [again1, again2]) {
          assert.equal(report.status, 'OK');
          assert.equal(report.stats.created, 0);
          assert.equal(report.stats.updated + report.stats.ignored, report.stats.total);
        }
        assert.equal(await context.metadata.count('dataElements'), 77);

        // Org unit paths and levels follow the parents, which came in the same file.
        const { objects } = await context.metadata.list('organisationUnits');
        for (const unit of objects) {
          const parent = (unit.parent as { id: string } | undefined)?.id;
          const parentPath = parent ? (await context.metadata.get('organisationUnits', parent))!.path : '';
          assert.equal(unit.path, `${parentPath}/${unit.id}`);
          assert.equal(unit.level, String(unit.path).split('/').length - 1);
        }
        // The default category model exists, and every combo has one option combo per combination.
        assert.ok(await context.metadata.get('categoryCombos', 'bjDvmb4bfuf'));
        assert.ok(await context.metadata.get('categoryOptionCombos', 'HllvX50cXC0'));
        for (const combo of (await context.metadata.list('categoryCombos')).objects) {
          let expected = 1;
          for (const ref of combo.categories as Array<{ id: string }>) {
            const category = await context.metadata.get('categories', ref.id);
            expected *= (category!.categoryOptions as unknown[]).length;
          }
          const cocs = (await context.metadata.referrers('categoryCombos', combo.id)).filter(
            (r) => r.collection === 'categoryOptionCombos' && r.property === 'categoryCombo',
          );
          assert.equal(cocs.length, expected, `option combos of ${combo.name as string}`);
        }
      });
    });

    it('keeps every property of 01 and 02, each described by the registry or kept verbatim', async () => {
      await withDatabase(kind, async (context) => {
        await importFile(context, setup);
        await importFile(context, aggregate);
        const undescribed = new Map<string, Set<string>>();
        for (const file of [setup, aggregate]) {
          const payload = JSON.parse(readFileSync(file, 'utf8')) as Record<
            string,
            Array<Record<string, unknown>>
          >;
          for (const [collection, objects] of Object.entries(payload)) {
            const schema = context.registry.byCollection(collection);
            assert.ok(schema, `registry describes ${collection}`);
            for (const original of objects) {
              // Associations are stored as the UID alone; a file's name/code beside the id is display state.
              const object = structuredClone(original);
              forEachReference(context.registry, collection, object, ({ property, ref }) => {
                if (isCheckedReference(property))
                  for (const key of Object.keys(ref)) if (key !== 'id') delete ref[key];
              });
              const stored = await context.metadata.get(collection, object.id as string);
              assert.ok(stored, `${collection} ${object.id as string} stored`);
              for (const [property, value] of Object.entries(object)) {
                const descriptor = context.registry.property(collection, property);
                if (!descriptor) {
                  let set = undescribed.get(collection);
                  if (!set) undescribed.set(collection, (set = new Set()));
                  set.add(property);
                }
                // Server-set properties: lastUpdated is the import time; path and level are computed.
                if (property === 'lastUpdated' || descriptor?.computed) continue;
                assert.deepEqual(
                  stored[property],
                  value,
                  `${collection}.${property} of ${object.id as string}`,
                );
              }
            }
          }
        }
        // What the registry leaves undescribed is only DHIS2's computed display state, kept verbatim.
        const allowedVerbatim = new Set([
          'displayName',
          'displayShortName',
          'displayFormName',
          'displayDescription',
          'displayNumeratorDescription',
          'displayDenominatorDescription',
          'displayInstruction',
          'access',
          'favorite',
          'favorites',
          'dimension',
          'dimensionType',
          'dimensionItem',
          'dimensionItemType',
          'allItems',
          'items',
          'href',
          'externalAccess',
          'publicAccess',
          'userGroupAccesses',
          'userAccesses',
          'optionSetValue',
          'periodOffset',
          'legendSet',
          'aggregateExportCategoryOptionCombo',
          'aggregateExportAttributeOptionCombo',
          'isDefault',
          'validationRuleGroups',
          'parent',
        ]);
        for (const [collection, properties] of undescribed) {
          for (const property of properties) {
            assert.ok(
              allowedVerbatim.has(property),
              `${collection}.${property} is neither described nor display state`,
            );
          }
        }
      });
    });

    it('VALIDATE reports E5002 for the missing category combo and option set (not the creator) and writes nothing', async () => {
      await withDatabase(kind, async (context) => {
        const report = await importFile(context, `${FIXTURES}metadata/de_validate1.json`, {
          importMode: 'VALIDATE',
        });
        assert.equal(report.status, 'ERROR');
        const invalid = allErrorReports(report).filter((e) => e.errorCode === 'E5002');
        const byKlass = new Set(invalid.map((e) => `${e.errorKlass}:${e.value}`));
        assert.deepEqual([...byKlass].sort(), [
          'org.hisp.dhis.category.CategoryCombo:p0KPaWEg3cf',
          'org.hisp.dhis.option.OptionSet:pQYCiuosBnZ',
        ]);
        assert.equal(report.stats.ignored, 3);
        assert.equal(await context.metadata.count('dataElements'), 0);
        assert.equal(
          await context.metadata.count('categoryCombos'),
          0,
          'not even the default model is written',
        );
      });
    });

    it('atomicMode NONE writes the valid objects and reports the rest (WARNING)', async () => {
      await withDatabase(kind, async (context, db) => {
        const prerequisites = await importMetadataObjects(context, {
          categoryCombos: [
            {
              id: 'p0KPaWEg3cf',
              name: 'Combo',
              dataDimensionType: 'DISAGGREGATION',
              categories: [{ id: 'GLevLNI9wkl' }],
            },
          ],
          users: [{ id: 'GOLswS44mh8', username: 'owner', firstName: 'O', surname: 'Wner' }],
        });
        assert.equal(prerequisites.status, 'OK', JSON.stringify(allErrorReports(prerequisites)));
        const atomic = await importFile(context, `${FIXTURES}metadata/de_validate1.json`);
        assert.equal(atomic.status, 'ERROR');
        assert.equal(await context.metadata.count('dataElements'), 0);
        const report = await importFile(context, `${FIXTURES}metadata/de_validate1.json`, {
          atomicMode: 'NONE',
        });
        assert.equal(report.status, 'WARNING');
        assert.deepEqual(report.stats, { created: 2, updated: 0, deleted: 0, ignored: 1, total: 3 });
        assert.deepEqual(codes(report), ['E5002']);
        assert.ok(await context.metadata.get('dataElements', 'uf3svrmp8Oj'));
        assert.equal(await context.metadata.get('dataElements', 'cNkTt6mJQyO'), undefined);
        void db;
      });
    });

    it('a creator (`user`) who is not a user here is no error, with or without skipSharing; the importer owns the object', async () => {
      await withDatabase(kind, async (context) => {
        await context.users.ensureAdmin({ password: 'district' });
        const principal = await context.auth.principalFor((await context.users.findByUsername('admin'))!.id);
        const payload = (id: string) => ({
          dataElements: [
            {
              id,
              name: `Created elsewhere ${id}`,
              shortName: `Elsewhere ${id}`,
              valueType: 'NUMBER',
              domainType: 'AGGREGATE',
              aggregationType: 'SUM',
              user: { id: 'GOLswS44mh8' },
            },
          ],
        });
        // DHIS2 2.41's ReferencesCheck exempts the creator whatever skipSharing says.
        const plain = await importMetadataObjects(context, payload('deCreator00'), {}, principal);
        assert.equal(plain.status, 'OK', JSON.stringify(allErrorReports(plain)));
        assert.deepEqual((await context.metadata.get('dataElements', 'deCreator00'))?.user, {
          id: principal.uid,
        });

        const owned = await importMetadataObjects(
          context,
          payload('deCreator01'),
          { skipSharing: true },
          principal,
        );
        assert.equal(owned.status, 'OK', JSON.stringify(allErrorReports(owned)));
        const stored = await context.metadata.get('dataElements', 'deCreator01');
        assert.deepEqual(stored?.user, { id: principal.uid });
        assert.deepEqual(stored?.createdBy, { id: principal.uid });

        // The operator (no principal) leaves the object without a creator.
        const operator = await importMetadataObjects(context, payload('deCreator02'), { skipSharing: true });
        assert.equal(operator.status, 'OK', JSON.stringify(allErrorReports(operator)));
        assert.equal((await context.metadata.get('dataElements', 'deCreator02'))?.user, undefined);
      });
    });

    it('checks strategies, uniqueness, duplicates, shapes and deletions with DHIS2 codes', async () => {
      await withDatabase(kind, async (context) => {
        const base = {
          categoryOptions: [{ id: 'catOptA0001', name: 'A', shortName: 'A', code: 'A' }],
          indicatorTypes: [{ id: 'indType0001', name: 'Percent', factor: 100 }],
        };
        assert.equal((await importMetadataObjects(context, base)).status, 'OK');
        const create = await importMetadataObjects(context, base, { importStrategy: 'CREATE' });
        assert.deepEqual(codes(create).sort(), ['E5000', 'E5000']);
        const update = await importMetadataObjects(
          context,
          { indicatorTypes: [{ id: 'indType0002', name: 'Other', factor: 1 }] },
          { importStrategy: 'UPDATE' },
        );
        assert.deepEqual(codes(update), ['E5001']);
        const bad = await importMetadataObjects(context, {
          categoryOptions: [
            { id: 'bad-uid', name: 'B', shortName: 'B' },
            { id: 'catOptC0001', shortName: 'C' },
            { id: 'catOptD0001', name: 'D', shortName: 'D', code: 'A' },
            { id: 'catOptE0001', name: 'E', shortName: 'E', code: 'E' },
            { id: 'catOptE0001', name: 'E2', shortName: 'E2' },
            { id: 'catOptF0001', name: 'F', shortName: 'F', code: 'E' },
          ],
          indicatorTypes: [{ id: 'indType0003', name: 'X', factor: 'many' }],
        });
        assert.equal(bad.status, 'ERROR');
        assert.deepEqual(codes(bad).sort(), ['E4000', 'E4014', 'E5003', 'E5004', 'E5005', 'E6021']);
        const written = await context.metadata.findBy('categoryOptions', 'uid', [
          'catOptC0001',
          'catOptD0001',
          'catOptE0001',
        ]);
        assert.deepEqual(written, [], 'atomic: nothing written');

        // A category uses the option: deleting the option is refused (E4030); deleting both works.
        const category = {
          id: 'categoryA01',
          name: 'Cat',
          shortName: 'Cat',
          dataDimensionType: 'DISAGGREGATION',
          categoryOptions: [{ id: 'catOptA0001' }],
        };
        assert.equal((await importMetadataObjects(context, { categories: [category] })).status, 'OK');
        const refused = await importMetadataObjects(
          context,
          { categoryOptions: [{ id: 'catOptA0001' }] },
          { importStrategy: 'DELETE' },
        );
        assert.deepEqual(codes(refused), ['E4030']);
        const deleted = await importMetadataObjects(
          context,
          { categoryOptions: [{ id: 'catOptA0001' }], categories: [{ id: 'categoryA01' }] },
          { importStrategy: 'DELETE' },
        );
        assert.equal(deleted.status, 'OK', JSON.stringify(allErrorReports(deleted)));
        assert.equal(deleted.stats.deleted, 2);
      });
    });

    it('matches on code with identifier CODE/AUTO and gives objects without id a UID; MERGE keeps absent properties', async () => {
      await withDatabase(kind, async (context) => {
        const first = await importMetadataObjects(
          context,
          {
            organisationUnits: [
              { code: 'ROOT', name: 'Root', openingDate: '2020-01-01' },
              { code: 'CHILD', name: 'Child', openingDate: '2020-01-01', parent: { code: 'ROOT' } },
            ],
          },
          { identifier: 'AUTO' },
        );
        assert.equal(first.status, 'OK', JSON.stringify(allErrorReports(first)));
        const [root] = await context.metadata.findBy('organisationUnits', 'code', ['ROOT']);
        const [child] = await context.metadata.findBy('organisationUnits', 'code', ['CHILD']);
        assert.equal(child.object.path, `/${root.object.id}/${child.object.id}`);
        assert.equal(child.object.level, 2);
        const merged = await importMetadataObjects(
          context,
          { organisationUnits: [{ code: 'CHILD', name: 'Child renamed' }] },
          { identifier: 'CODE', mergeMode: 'MERGE' },
        );
        assert.equal(merged.status, 'OK', JSON.stringify(allErrorReports(merged)));
        assert.equal(merged.stats.updated, 1);
        const after = await context.metadata.get('organisationUnits', child.object.id);
        assert.equal(after!.name, 'Child renamed');
        assert.equal(after!.openingDate, '2020-01-01');
        assert.equal((after!.parent as { id: string }).id, root.object.id);
        const replaced = await importMetadataObjects(
          context,
          { organisationUnits: [{ code: 'CHILD', name: 'Child again' }] },
          { identifier: 'CODE' },
        );
        assert.deepEqual(codes(replaced), ['E4000'], 'REPLACE needs every required property');
      });
    });

    it('imports each DHIS2 metadata CSV file with its class key', async () => {
      await withDatabase(kind, async (context) => {
        const units = await importFile(context, `${FIXTURES}metadata-csv/organisationUnits.csv`, {
          classKey: 'ORGANISATION_UNIT',
        });
        assert.equal(units.status, 'OK', JSON.stringify(allErrorReports(units)));
        const level2 = await context.metadata.get('organisationUnits', 'c1234567890');
        assert.equal(level2!.path, '/a1234567890/b1234567890/c1234567890');

        const elements = await importFile(context, `${FIXTURES}metadata-csv/dataElements.csv`, {
          classKey: 'DATA_ELEMENT',
        });
        assert.equal(elements.status, 'OK', JSON.stringify(allErrorReports(elements)));
        const [d1] = await context.metadata.findBy('dataElements', 'code', ['D0001']);
        assert.equal(d1.object.valueType, 'INTEGER');
        assert.deepEqual(d1.object.categoryCombo, { id: 'bjDvmb4bfuf' });

        const sets = await importFile(context, `${FIXTURES}metadata-csv/optionSets.csv`, {
          classKey: 'OPTION_SET',
        });
        assert.equal(sets.status, 'OK', JSON.stringify(allErrorReports(sets)));
        const [color] = await context.metadata.findBy('optionSets', 'code', ['COLOR']);
        assert.equal((color.object.options as unknown[]).length, 3);

        // Memberships need the groups and units; the file also has two rows naming `invalid`.
        const groupsAndUnits = await importMetadataObjects(context, {
          organisationUnits: ['A', 'B', 'C', 'D'].map((x) => ({
            id: `ouabcdefgh${x}`,
            name: `Unit ${x}`,
            openingDate: '2020-01-01',
          })),
          organisationUnitGroups: ['A', 'B'].map((x) => ({
            id: `abcdefghij${x}`,
            name: `Group ${x}`,
            shortName: `Group ${x}`,
          })),
        });
        assert.equal(groupsAndUnits.status, 'OK', JSON.stringify(allErrorReports(groupsAndUnits)));
        const membershipFile = `${FIXTURES}metadata-csv/org_unit_group_memberships.csv`;
        const params = { classKey: 'ORGANISATION_UNIT_GROUP_MEMBERSHIP', firstRowIsHeader: false } as const;
        const atomic = await importFile(context, membershipFile, params);
        assert.equal(atomic.status, 'ERROR');
        assert.deepEqual(codes(atomic).sort(), ['E5001', 'E5002']);
        const memberships = await importFile(context, membershipFile, { ...params, atomicMode: 'NONE' });
        assert.equal(memberships.status, 'WARNING');
        const groupA = await context.metadata.get('organisationUnitGroups', 'abcdefghijA');
        assert.deepEqual(groupA!.organisationUnits, [{ id: 'ouabcdefghA' }, { id: 'ouabcdefghB' }]);
        assert.equal(groupA!.name, 'Group A', 'membership rows add members and leave the group alone');
      });
    });

    it('refuses malformed input naming line and column, and hostile keys and DOCTYPEs', async () => {
      await withDatabase(kind, async (context, db) => {
        const cases: Array<[string, string, RegExp]> = [
          ['broken.json', '{\n  "dataElements": [\n    {"id": "abc" "name": 1}\n  ]\n}', /line 3, column 18/],
          ['dup.json', '{"dataElements": [{"id": "a", "id": "b"}]}', /duplicate key "id"/],
          ['proto.json', '{"dataElements": [{"__proto__": {"x": 1}}]}', /"__proto__" is not allowed/],
          [
            'doctype.xml',
            '<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><metadata/>',
            /DOCTYPE/,
          ],
          ['broken.xml', '<metadata><dataElements><dataElement id="a"></dataElements></metadata>', /line 1/],
          ['broken.csv', 'name,uid\n"unterminated,abc\n', /not closed/],
        ];
        for (const [name, text, pattern] of cases) {
          await assert.rejects(
            importText(context, db, name, text, name.endsWith('.csv') ? { classKey: 'CATEGORY_OPTION' } : {}),
            (error: unknown) =>
              error instanceof FerryError && error.code === 'F1001' && pattern.test(error.message),
            name,
          );
        }
        assert.equal(({} as Record<string, unknown>).x, undefined);
        assert.equal(await context.metadata.count('dataElements'), 0);
      });
    });
  });
}
