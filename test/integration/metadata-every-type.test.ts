import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { importMetadata } from '../../src/services/metadata/metadata-import-service.ts';
import { DEFAULT_IMPORT_PARAMS } from '../../src/domain/metadata-import/import-params.ts';
import type { ImportReport } from '../../src/domain/metadata-import/import-report.ts';
import {
  buildExportRequest,
  streamMetadataExport,
  type ExportFormat,
} from '../../src/services/metadata/metadata-export-service.ts';
import { schemaRegistry } from '../../src/domain/schema/schema-registry.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';

/*
 * One file holding an object of every metadata type DHIS2 2.41 exports from /api/metadata
 * (test/fixtures/dhis2-every-type/SOURCES.md) imports, exports and re-imports equal on both
 * backends, through JSON and XML; and the registry, hence /api/schemas, knows every one of them.
 */

const FIXTURE = join(import.meta.dirname, '../fixtures/dhis2-every-type/metadata.json');
const PACKAGE = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, Array<Record<string, unknown>>>;

/**
 * The collections of DHIS2 2.41's `/api/metadata` export (its schema descriptors whose class is a
 * MetadataObject), less those that are server state or travel inside their holder (docs/formats/
 * metadata-json.md lists them). Adding a type to the registry without an object in the fixture, or
 * dropping one of these, fails below.
 */
const DHIS2_241_METADATA_TYPES = [
  'aggregateDataExchanges',
  'analyticsTableHooks',
  'attributes',
  'categories',
  'categoryCombos',
  'categoryOptionCombos',
  'categoryOptionGroupSets',
  'categoryOptionGroups',
  'categoryOptions',
  'constants',
  'dashboards',
  'dataApprovalLevels',
  'dataApprovalWorkflows',
  'dataElementGroupSets',
  'dataElementGroups',
  'dataElements',
  'dataEntryForms',
  'dataSetNotificationTemplates',
  'dataSets',
  'documents',
  'eventCharts',
  'eventFilters',
  'eventHooks',
  'eventReports',
  'eventVisualizations',
  'expressionDimensionItems',
  'externalMapLayers',
  'icons',
  'indicatorGroupSets',
  'indicatorGroups',
  'indicatorTypes',
  'indicators',
  'jobConfigurations',
  'legendSets',
  'mapViews',
  'maps',
  'oAuth2Clients',
  'optionGroupSets',
  'optionGroups',
  'optionSets',
  'options',
  'organisationUnitGroupSets',
  'organisationUnitGroups',
  'organisationUnitLevels',
  'organisationUnits',
  'predictorGroups',
  'predictors',
  'programIndicatorGroups',
  'programIndicators',
  'programNotificationTemplates',
  'programRuleActions',
  'programRuleVariables',
  'programRules',
  'programSections',
  'programStageSections',
  'programStageWorkingLists',
  'programStages',
  'programTrackedEntityAttributeGroups',
  'programs',
  'pushAnalysis',
  'relationshipTypes',
  'reports',
  'routes',
  'sections',
  'smsCommands',
  'sqlViews',
  'trackedEntityAttributes',
  'trackedEntityInstanceFilters',
  'trackedEntityTypes',
  'userGroups',
  'userRoles',
  'users',
  'validationNotificationTemplates',
  'validationRuleGroups',
  'validationRules',
  'visualizations',
];

/** Registry types a DHIS2 file carries inside their holder (a program's attributes, a stage's elements). */
const INSIDE_HOLDER = ['programTrackedEntityAttributes', 'programStageDataElements'];

const topLevel = schemaRegistry.schemas.filter((s) => !s.embeddedOnly).map((s) => s.collection);

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

interface Site {
  db: TestDatabase;
  context: FerryContext;
}

async function openSite(kind: 'sqlite' | 'postgres'): Promise<Site> {
  const db = await createTestDatabase(kind);
  return { db, context: createFerryContextFromStorage(loadConfig({}, { dataDir: db.dataDir }), db.storage) };
}

async function importInto(site: Site, name: string, body: string): Promise<ImportReport> {
  const path = join(site.db.dataDir, name);
  writeFileSync(path, body);
  const report = await importMetadata(site.context, { path, fileName: name }, DEFAULT_IMPORT_PARAMS);
  assert.equal(
    report.status,
    'OK',
    JSON.stringify(report.typeReports.filter((t) => t.objectReports.some((o) => o.errorReports.length > 0))),
  );
  return report;
}

function exportAll(site: Site, format: ExportFormat): Promise<string> {
  return text(
    streamMetadataExport(site.context, buildExportRequest(site.context.registry, {}, format, false)),
  );
}

/** Export JSON without what the server sets (export date, lastUpdated), for comparing two sites. */
function comparable(json: string): Record<string, unknown[]> {
  const { system: _system, ...collections } = JSON.parse(json) as Record<string, unknown[]>;
  for (const objects of Object.values(collections)) {
    for (const object of objects as Array<Record<string, unknown>>) delete object.lastUpdated;
  }
  return collections;
}

describe('every DHIS2 2.41 metadata type', () => {
  it('is in the registry, and the fixture has an object of every top-level registry type', () => {
    const missing = DHIS2_241_METADATA_TYPES.filter((c) => !topLevel.includes(c));
    assert.deepEqual(missing, [], 'DHIS2 types the registry lacks');
    const notInFixture = topLevel.filter((c) => !INSIDE_HOLDER.includes(c) && !(PACKAGE[c]?.length > 0));
    assert.deepEqual(notInFixture, [], 'registry types the fixture lacks');
    const unknown = Object.keys(PACKAGE).filter((c) => !topLevel.includes(c));
    assert.deepEqual(unknown, [], 'fixture collections the registry does not know');
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`every DHIS2 2.41 metadata type on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('imports, exports and re-imports equal through JSON and XML; secrets are not read back', async () => {
      const source = await openSite(kind);
      const viaJson = await openSite(kind);
      const viaXml = await openSite(kind);
      try {
        const report = await importInto(source, 'every-type.json', JSON.stringify(PACKAGE));
        for (const [collection, objects] of Object.entries(PACKAGE)) {
          for (const object of objects) {
            const stored = await source.context.metadata.get(collection, String(object.id));
            assert.ok(stored, `${collection} ${String(object.id)} stored`);
          }
        }
        assert.ok(report.stats.created >= Object.keys(PACKAGE).length, JSON.stringify(report.stats));

        const json = await exportAll(source, 'json');
        const exported = comparable(json);
        for (const [collection, objects] of Object.entries(PACKAGE)) {
          const ids = new Set((exported[collection] ?? []).map((o) => (o as { id?: string }).id));
          for (const object of objects)
            assert.ok(ids.has(String(object.id)), `${collection} ${String(object.id)} exported`);
        }
        // Every property the file gave comes back as given, but for what DHIS2's :owner export
        // also leaves out: the inverse side of an association and write-only secrets.
        const notBack: string[] = [];
        for (const [collection, objects] of Object.entries(PACKAGE)) {
          for (const object of objects) {
            const back = (exported[collection] as Array<Record<string, unknown>>).find(
              (o) => o.id === object.id,
            )!;
            for (const [key, value] of Object.entries(object)) {
              if (!isDeepStrictEqual(back[key], value)) notBack.push(`${collection}.${key}`);
            }
          }
        }
        assert.deepEqual([...new Set(notBack)].sort(), [
          'dataSets.dataSetElements', // each element's `dataSet`: the holder itself
          'eventHooks.targets', // auth.password
          'oAuth2Clients.secret',
          'options.optionSet', // the set's `options` owns the association
          'routes.auth', // auth.token
        ]);
        // DHIS2's write-only secrets: stored, never exported.
        assert.doesNotMatch(json, /hook-secret-1|weather-token-1|client-secret-1/);
        const route = exported.routes[0] as { auth: Record<string, unknown> };
        assert.deepEqual(route.auth, { type: 'api-token' });

        await importInto(viaJson, 'export.json', json);
        assert.deepEqual(comparable(await exportAll(viaJson, 'json')), exported);

        const xml = await exportAll(source, 'xml');
        await importInto(viaXml, 'export.xml', xml);
        assert.deepEqual(comparable(await exportAll(viaXml, 'json')), exported);
      } finally {
        await source.db.dispose();
        await viaJson.db.dispose();
        await viaXml.db.dispose();
      }
    });

    it("/api/schemas lists every type with DHIS2's fields", async () => {
      const started = await startTestApp(kind);
      try {
        const response = await started.app.inject({
          url: '/api/schemas?fields=name,plural,collectionName,displayName,klass,metadata',
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(response.statusCode, 200, response.body);
        const schemas = response.json<{
          schemas: Array<{ plural: string; collectionName?: string; displayName: string; klass: string }>;
        }>().schemas;
        for (const collection of DHIS2_241_METADATA_TYPES) {
          const schema = schemas.find((s) => s.plural === collection);
          assert.ok(schema, `${collection} in /api/schemas`);
          assert.ok(schema.displayName && schema.klass.startsWith('org.hisp.dhis.'), JSON.stringify(schema));
        }
      } finally {
        await stopTestApp(started);
      }
    });
  });
}
