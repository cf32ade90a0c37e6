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
import {
  importMetadata,
  importMetadataObjects,
} from '../../src/services/metadata/metadata-import-service.ts';
import { DEFAULT_IMPORT_PARAMS } from '../../src/domain/metadata-import/import-params.ts';
import { allErrorReports, type ImportReport } from '../../src/domain/metadata-import/import-report.ts';
import {
  buildExportRequest,
  streamMetadataExport,
} from '../../src/services/metadata/metadata-export-service.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';

/** The class keys DHIS2 lists in `GET /api/metadata/csvImportClasses` (2.40). */
const DHIS2_CSV_CLASSES = [
  'ORGANISATION_UNIT_GROUP_MEMBERSHIP',
  'DATA_ELEMENT_GROUP_MEMBERSHIP',
  'INDICATOR_GROUP_MEMBERSHIP',
  'DATA_ELEMENT',
  'DATA_ELEMENT_GROUP',
  'CATEGORY_OPTION',
  'CATEGORY',
  'CATEGORY_COMBO',
  'CATEGORY_OPTION_GROUP',
  'ORGANISATION_UNIT',
  'ORGANISATION_UNIT_GROUP',
  'VALIDATION_RULE',
  'OPTION_SET',
  'OPTION_GROUP',
  'OPTION_GROUP_SET',
  'OPTION_GROUP_SET_MEMBERSHIP',
  'INDICATOR',
] as const;

/** Objects the classes refer to, imported as JSON first. */
const PREREQUISITES = {
  organisationUnits: [{ id: 'ouAAAAAAAA1', name: 'Root', shortName: 'Root', openingDate: '2000-01-01' }],
  organisationUnitGroups: [{ id: 'ougAAAAAAA1', name: 'Hospitals', shortName: 'Hospitals' }],
  dataElements: [
    {
      id: 'deAAAAAAAA1',
      name: 'Existing element',
      shortName: 'Existing element',
      valueType: 'NUMBER',
      aggregationType: 'SUM',
      domainType: 'AGGREGATE',
      // A CSV row with an empty cell gets DHIS2's CSV default; stated here so the round trip is exact.
      zeroIsSignificant: false,
    },
  ],
  dataElementGroups: [{ id: 'degAAAAAAA1', name: 'Existing group', shortName: 'Existing group' }],
  indicatorTypes: [{ id: 'itAAAAAAAA1', name: 'Per cent', factor: 100 }],
  indicators: [
    {
      id: 'inAAAAAAAA1',
      name: 'Existing indicator',
      shortName: 'Existing indicator',
      indicatorType: { id: 'itAAAAAAAA1' },
      numerator: '1',
      denominator: '1',
      annualized: false,
    },
  ],
  indicatorGroups: [{ id: 'ingAAAAAAA1', name: 'Indicator group' }],
  options: [
    { id: 'opAAAAAAAA1', name: 'Yes', code: 'YES' },
    { id: 'opAAAAAAAA2', name: 'No', code: 'NO' },
  ],
  optionSets: [
    {
      id: 'osAAAAAAAA1',
      name: 'Yes/no',
      code: 'YES_NO',
      valueType: 'TEXT',
      options: [{ id: 'opAAAAAAAA1' }, { id: 'opAAAAAAAA2' }],
    },
  ],
  optionGroups: [
    {
      id: 'ogAAAAAAAA1',
      name: 'Positive',
      shortName: 'Positive',
      optionSet: { id: 'osAAAAAAAA1' },
      options: [{ id: 'opAAAAAAAA1' }],
    },
  ],
  optionGroupSets: [{ id: 'ogsAAAAAAA1', name: 'Answer groups', optionSet: { id: 'osAAAAAAAA1' } }],
};

interface ClassCase {
  csv: string;
  /** The collection and UID to read back, and properties it must have. */
  collection: string;
  uid: string;
  expect: Record<string, unknown>;
  created: number;
  updated?: number;
}

const CASES: Record<(typeof DHIS2_CSV_CLASSES)[number], ClassCase> = {
  ORGANISATION_UNIT_GROUP_MEMBERSHIP: {
    csv: 'ougAAAAAAA1,ouAAAAAAAA1\n',
    collection: 'organisationUnitGroups',
    uid: 'ougAAAAAAA1',
    expect: { organisationUnits: [{ id: 'ouAAAAAAAA1' }] },
    created: 0,
    updated: 1,
  },
  DATA_ELEMENT_GROUP_MEMBERSHIP: {
    csv: 'degAAAAAAA1,deAAAAAAAA1\n',
    collection: 'dataElementGroups',
    uid: 'degAAAAAAA1',
    expect: { dataElements: [{ id: 'deAAAAAAAA1' }] },
    created: 0,
    updated: 1,
  },
  INDICATOR_GROUP_MEMBERSHIP: {
    csv: 'ingAAAAAAA1,inAAAAAAAA1\n',
    collection: 'indicatorGroups',
    uid: 'ingAAAAAAA1',
    expect: { indicators: [{ id: 'inAAAAAAAA1' }] },
    created: 0,
    updated: 1,
  },
  DATA_ELEMENT: {
    csv: '"Malaria cases",deCSVAAAAA1,MAL,"Malaria",,"Malaria (form)",AGGREGATE,INTEGER,SUM,,,true,osAAAAAAAA1,\n',
    collection: 'dataElements',
    uid: 'deCSVAAAAA1',
    expect: {
      name: 'Malaria cases',
      code: 'MAL',
      formName: 'Malaria (form)',
      valueType: 'INTEGER',
      zeroIsSignificant: true,
      optionSet: { id: 'osAAAAAAAA1' },
    },
    created: 1,
  },
  DATA_ELEMENT_GROUP: {
    csv: '"ANC",degCSVAAAA1,ANC,"ANC short"\n',
    collection: 'dataElementGroups',
    uid: 'degCSVAAAA1',
    expect: { name: 'ANC', shortName: 'ANC short' },
    created: 1,
  },
  CATEGORY_OPTION: {
    csv: '"Female",coCSVAAAAA1,F,"Fem","Women and girls"\n',
    collection: 'categoryOptions',
    uid: 'coCSVAAAAA1',
    expect: { name: 'Female', shortName: 'Fem', description: 'Women and girls' },
    created: 1,
  },
  CATEGORY: {
    csv: '"Sex",caCSVAAAAA1,SEX,"Sex",,DISAGGREGATION,true\n',
    collection: 'categories',
    uid: 'caCSVAAAAA1',
    expect: { name: 'Sex', dataDimensionType: 'DISAGGREGATION', dataDimension: true },
    created: 1,
  },
  CATEGORY_COMBO: {
    csv: '"Funding",ccCSVAAAAA1,FUND,ATTRIBUTE,true\n',
    collection: 'categoryCombos',
    uid: 'ccCSVAAAAA1',
    expect: { name: 'Funding', dataDimensionType: 'ATTRIBUTE', skipTotal: true },
    created: 1,
  },
  CATEGORY_OPTION_GROUP: {
    csv: '"Donors",cogCSVAAAA1,DON,"Donors",ATTRIBUTE\n',
    collection: 'categoryOptionGroups',
    uid: 'cogCSVAAAA1',
    expect: { name: 'Donors', dataDimensionType: 'ATTRIBUTE' },
    created: 1,
  },
  ORGANISATION_UNIT: {
    csv: '"Clinic",ouCSVAAAAA1,CLIN,ouAAAAAAAA1,"Clinic",,2001-02-03,,,,,,,,8.5,-11.25\n',
    collection: 'organisationUnits',
    uid: 'ouCSVAAAAA1',
    expect: {
      name: 'Clinic',
      parent: { id: 'ouAAAAAAAA1' },
      openingDate: '2001-02-03',
      level: 2,
      geometry: { type: 'Point', coordinates: [-11.25, 8.5] },
    },
    created: 1,
  },
  ORGANISATION_UNIT_GROUP: {
    csv: '"Clinics",ougCSVAAAA1,CLINICS,"Clinics"\n',
    collection: 'organisationUnitGroups',
    uid: 'ougCSVAAAA1',
    expect: { name: 'Clinics', shortName: 'Clinics' },
    created: 1,
  },
  VALIDATION_RULE: {
    csv:
      '"A le B",vrCSVAAAAA1,VR1,"desc","fix it",HIGH,Monthly,less_than_or_equal_to,' +
      '"#{deAAAAAAAA1}","Left",NEVER_SKIP,"#{deAAAAAAAA1}*2","Right",SKIP_IF_ANY_VALUE_MISSING\n',
    collection: 'validationRules',
    uid: 'vrCSVAAAAA1',
    expect: {
      importance: 'HIGH',
      operator: 'less_than_or_equal_to',
      leftSide: { expression: '#{deAAAAAAAA1}', description: 'Left', missingValueStrategy: 'NEVER_SKIP' },
      rightSide: {
        expression: '#{deAAAAAAAA1}*2',
        description: 'Right',
        missingValueStrategy: 'SKIP_IF_ANY_VALUE_MISSING',
      },
    },
    created: 1,
  },
  OPTION_SET: {
    csv: '"Colour",osCSVAAAAA1,COLOUR,"Red",opCSVAAAAA1,RED\n"Colour",osCSVAAAAA1,COLOUR,"Blue",opCSVAAAAA2,BLUE\n',
    collection: 'optionSets',
    uid: 'osCSVAAAAA1',
    expect: { name: 'Colour', valueType: 'TEXT', options: [{ id: 'opCSVAAAAA1' }, { id: 'opCSVAAAAA2' }] },
    created: 3,
  },
  OPTION_GROUP: {
    csv: '"Negative",ogCSVAAAAA1,NEG,"Negative",osAAAAAAAA1,,opAAAAAAAA2,\n',
    collection: 'optionGroups',
    uid: 'ogCSVAAAAA1',
    expect: { name: 'Negative', optionSet: { id: 'osAAAAAAAA1' }, options: [{ id: 'opAAAAAAAA2' }] },
    created: 1,
  },
  OPTION_GROUP_SET: {
    csv: '"Answers",ogsCSVAAAA1,ANS,"All answers",true,osAAAAAAAA1,\n',
    collection: 'optionGroupSets',
    uid: 'ogsCSVAAAA1',
    expect: {
      name: 'Answers',
      description: 'All answers',
      dataDimension: true,
      optionSet: { id: 'osAAAAAAAA1' },
    },
    created: 1,
  },
  OPTION_GROUP_SET_MEMBERSHIP: {
    csv: 'ogsAAAAAAA1,ogAAAAAAAA1\n',
    collection: 'optionGroupSets',
    uid: 'ogsAAAAAAA1',
    expect: { optionGroups: [{ id: 'ogAAAAAAAA1' }] },
    created: 0,
    updated: 1,
  },
  INDICATOR: {
    csv: '"Coverage",inCSVAAAAA1,COV,"Coverage",true,itAAAAAAAA1,"#{deAAAAAAAA1}","Cases","1","One"\n',
    collection: 'indicators',
    uid: 'inCSVAAAAA1',
    expect: {
      annualized: true,
      indicatorType: { id: 'itAAAAAAAA1' },
      numerator: '#{deAAAAAAAA1}',
      denominatorDescription: 'One',
    },
    created: 1,
  },
};

async function openSite(kind: 'sqlite' | 'postgres'): Promise<{ db: TestDatabase; context: FerryContext }> {
  const db = await createTestDatabase(kind);
  const context = createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage);
  const report = await importMetadataObjects(context, PREREQUISITES);
  assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
  return { db, context };
}

function importCsv(
  site: { db: TestDatabase; context: FerryContext },
  name: string,
  csv: string,
  classKey: string,
  firstRowIsHeader = false,
): Promise<ImportReport> {
  const path = join(site.db.dataDir, name);
  writeFileSync(path, csv);
  return importMetadata(
    site.context,
    { path, fileName: name },
    { ...DEFAULT_IMPORT_PARAMS, classKey, firstRowIsHeader },
  );
}

async function exportCsv(context: FerryContext, collection: string): Promise<string> {
  let out = '';
  const request = buildExportRequest(context.registry, { [collection]: 'true' }, 'csv', false);
  for await (const chunk of streamMetadataExport(context, request)) out += chunk;
  return out;
}

describe('CSV import classes', () => {
  it('lists every class key DHIS2 lists in /api/metadata/csvImportClasses', async () => {
    const { db, context, app } = await startTestApp('sqlite');
    try {
      const reply = await app.inject({
        url: '/api/metadata/csvImportClasses',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(reply.statusCode, 200);
      assert.deepEqual([...reply.json<string[]>()].sort(), [...DHIS2_CSV_CLASSES].sort());
    } finally {
      await stopTestApp({ db, context, app });
    }
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`CSV import classes on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    for (const classKey of DHIS2_CSV_CLASSES) {
      const spec = CASES[classKey];
      it(`${classKey} imports a tiny CSV and round-trips through CSV export where one exists`, async () => {
        const source = await openSite(kind);
        try {
          const report = await importCsv(source, `${classKey}.csv`, spec.csv, classKey);
          assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
          assert.equal(report.stats.created, spec.created, JSON.stringify(report.stats));
          assert.equal(report.stats.updated, spec.updated ?? 0);
          const stored = await source.context.metadata.get(spec.collection, spec.uid);
          assert.ok(stored, `${spec.collection} ${spec.uid} stored`);
          for (const [property, value] of Object.entries(spec.expect)) {
            assert.deepEqual(stored[property], value, `${classKey}: ${property}`);
          }

          const schema = source.context.registry.byCollection(spec.collection)!;
          if (schema.csvClassKey !== classKey) return; // membership classes have no CSV export
          const exported = await exportCsv(source.context, spec.collection);
          assert.match(exported, new RegExp(spec.uid), 'the export holds the imported object');
          const target = await openSite(kind);
          try {
            const back = await importCsv(target, `${classKey}-back.csv`, exported, classKey, true);
            assert.equal(back.status, 'OK', JSON.stringify(allErrorReports(back)));
            assert.equal(
              await exportCsv(target.context, spec.collection),
              exported,
              `${classKey} round trip`,
            );
            const copy = await target.context.metadata.get(spec.collection, spec.uid);
            for (const [property, value] of Object.entries(spec.expect)) {
              assert.deepEqual(copy?.[property], value, `${classKey} round trip: ${property}`);
            }
          } finally {
            await target.db.dispose();
          }
        } finally {
          await source.db.dispose();
        }
      });
    }
  });
}
