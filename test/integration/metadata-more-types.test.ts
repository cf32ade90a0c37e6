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
import { DEFAULT_IMPORT_PARAMS } from '../../src/domain/metadata-import/import-params.ts';
import type { ImportReport } from '../../src/domain/metadata-import/import-report.ts';
import {
  buildExportRequest,
  streamMetadataExport,
  type ExportFormat,
} from '../../src/services/metadata/metadata-export-service.ts';
import { dependencyExportChunks } from '../../src/http/routes/metadata/metadata-routes.ts';
import { schemaRegistry } from '../../src/domain/schema/schema-registry.ts';

// The metadata types published DHIS2 packages carry beyond the core model (issue 11): one object of
// each imports, exports and re-imports equal through JSON and XML, and the registry (hence
// `/api/schemas`, export and dependency export) knows them.

/** The types added for issue 11, one object each below. */
const ADDED = [
  'predictors',
  'predictorGroups',
  'validationNotificationTemplates',
  'dataSetNotificationTemplates',
  'aggregateDataExchanges',
  'programIndicatorGroups',
  'trackedEntityInstanceFilters',
  'eventFilters',
  'programStageWorkingLists',
  'sqlViews',
  'externalMapLayers',
  'expressionDimensionItems',
  'analyticsTableHooks',
  'smsCommands',
  'mapViews',
] as const;

const PACKAGE = {
  // What the added objects refer to.
  dataElements: [
    {
      id: 'dePredictA1',
      name: 'ANC 4th visit predicted',
      shortName: 'ANC 4 predicted',
      valueType: 'NUMBER',
      domainType: 'AGGREGATE',
      aggregationType: 'SUM',
    },
  ],
  organisationUnitLevels: [{ id: 'ouLevelAAA1', name: 'District', level: 2 }],
  validationRules: [
    {
      id: 'valRuleAAA1',
      name: 'ANC 1 >= ANC 4',
      periodType: 'Monthly',
      operator: 'greater_than_or_equal_to',
      leftSide: { expression: '#{dePredictA1}', missingValueStrategy: 'NEVER_SKIP' },
      rightSide: { expression: '0', missingValueStrategy: 'NEVER_SKIP' },
    },
  ],
  userGroups: [{ id: 'userGroupN1', name: 'Notified' }],
  dataSets: [{ id: 'dataSetAAA1', name: 'ANC', shortName: 'ANC', periodType: 'Monthly' }],
  legendSets: [{ id: 'legendSetA1', name: 'Coverage', legends: [] }],
  programs: [{ id: 'programAAA1', name: 'Births', shortName: 'Births', programType: 'WITHOUT_REGISTRATION' }],
  programStages: [{ id: 'progStageA1', name: 'Birth', program: { id: 'programAAA1' } }],
  programIndicators: [
    {
      id: 'progIndAAA1',
      name: 'Births count',
      shortName: 'Births',
      program: { id: 'programAAA1' },
      expression: 'V{event_count}',
      analyticsType: 'EVENT',
    },
  ],
  // An attribute applying to the added types DHIS2 lets attributes apply to.
  attributes: [
    {
      id: 'attrSqlVie1',
      name: 'Owner unit',
      valueType: 'TEXT',
      sqlViewAttribute: true,
      dataElementGroupSetAttribute: true,
      validationRuleGroupAttribute: true,
    },
  ],
  // One object of each added type.
  predictors: [
    {
      id: 'predictorA1',
      name: 'ANC 4th visit predictor',
      shortName: 'ANC 4 predictor',
      output: { id: 'dePredictA1' },
      outputCombo: { id: 'HllvX50cXC0' },
      generator: { expression: 'avg(#{dePredictA1})', missingValueStrategy: 'NEVER_SKIP' },
      periodType: 'Monthly',
      organisationUnitLevels: [{ id: 'ouLevelAAA1' }],
      organisationUnitDescendants: 'DESCENDANTS',
      sequentialSampleCount: 3,
      annualSampleCount: 0,
    },
  ],
  predictorGroups: [{ id: 'predGroupA1', name: 'ANC predictors', predictors: [{ id: 'predictorA1' }] }],
  validationNotificationTemplates: [
    {
      id: 'valNotifAA1',
      name: 'ANC rule broken',
      messageTemplate: 'V{rule_name} failed in V{org_unit_name}',
      sendStrategy: 'SINGLE_NOTIFICATION',
      validationRules: [{ id: 'valRuleAAA1' }],
      recipientUserGroups: [{ id: 'userGroupN1' }],
    },
  ],
  dataSetNotificationTemplates: [
    {
      id: 'dsNotifAAA1',
      name: 'ANC completed',
      messageTemplate: 'V{data_name} completed',
      dataSetNotificationTrigger: 'DATA_SET_COMPLETION',
      notificationRecipient: 'USER_GROUP',
      recipientUserGroup: { id: 'userGroupN1' },
      dataSets: [{ id: 'dataSetAAA1' }],
      deliveryChannels: ['EMAIL'],
    },
  ],
  aggregateDataExchanges: [
    {
      id: 'aggExchang1',
      name: 'ANC to national',
      source: {
        requests: [{ name: 'ANC', dx: ['dePredictA1'], pe: ['LAST_12_MONTHS'], ou: ['USER_ORGUNIT'] }],
      },
      target: { type: 'INTERNAL', request: { idScheme: 'UID' } },
    },
  ],
  programIndicatorGroups: [
    { id: 'progIndGrp1', name: 'Birth indicators', programIndicators: [{ id: 'progIndAAA1' }] },
  ],
  trackedEntityInstanceFilters: [
    {
      id: 'teiFilterA1',
      name: 'Active births',
      program: { id: 'programAAA1' },
      sortOrder: 1,
      entityQueryCriteria: { enrollmentStatus: 'ACTIVE', order: 'created:desc' },
      // DHIS2 names this nested list like the eventFilters collection; it is the filter's own JSON.
      eventFilters: [
        {
          programStage: 'progStageA1',
          eventStatus: 'ACTIVE',
          eventCreatedPeriod: { periodFrom: -30, periodTo: 0 },
        },
      ],
    },
  ],
  eventFilters: [
    {
      id: 'evFilterAA1',
      name: 'Births this week',
      program: 'programAAA1',
      programStage: 'progStageA1',
      eventQueryCriteria: { status: 'ACTIVE', occurredAt: { type: 'RELATIVE', period: 'THIS_WEEK' } },
    },
  ],
  programStageWorkingLists: [
    {
      id: 'psWorkList1',
      name: 'Births to review',
      program: { id: 'programAAA1' },
      programStage: { id: 'progStageA1' },
      programStageQueryCriteria: { eventStatus: 'ACTIVE' },
    },
  ],
  sqlViews: [
    {
      id: 'sqlViewAAA1',
      name: 'Data element names',
      sqlQuery: 'select name from dataelement',
      type: 'QUERY',
    },
  ],
  externalMapLayers: [
    {
      id: 'extLayerAA1',
      name: 'OpenTopoMap',
      url: 'https://tile.opentopomap.org/{z}/{x}/{y}.png',
      mapService: 'XYZ',
      imageFormat: 'PNG',
      mapLayerPosition: 'BASEMAP',
      legendSet: { id: 'legendSetA1' },
    },
  ],
  expressionDimensionItems: [
    {
      id: 'exprDimItA1',
      name: 'ANC predicted doubled',
      shortName: 'ANC x2',
      expression: '#{dePredictA1}*2',
      missingValueStrategy: 'NEVER_SKIP',
    },
  ],
  smsCommands: [
    {
      id: 'smsCommanA1',
      name: 'anc',
      parserType: 'KEY_VALUE_PARSER',
      separator: '.',
      completenessMethod: 'AT_LEAST_ONE_DATAVALUE',
      dataset: { id: 'dataSetAAA1' },
      smsCodes: [{ code: 'a4', dataElement: { id: 'dePredictA1' }, optionId: 'HllvX50cXC0' }],
    },
  ],
  mapViews: [
    {
      id: 'mapViewAAA1',
      layer: 'event',
      program: { id: 'programAAA1' },
      programStage: { id: 'progStageA1' },
      legendSet: { id: 'legendSetA1' },
      periods: [{ id: 'LAST_12_MONTHS' }],
      opacity: 0.9,
    },
  ],
  analyticsTableHooks: [
    {
      id: 'anHookAAAA1',
      name: 'Refresh views',
      phase: 'ANALYTICS_TABLE_POPULATED',
      analyticsTableType: 'DATA_VALUE',
      sql: 'refresh materialized view anc',
    },
  ],
};

/** Core types the aggregate round trip (metadata-export.test.ts) does not carry, one object each. */
const CORE = {
  categoryOptions: [{ id: 'catOptCorA1', name: 'Public', shortName: 'Public' }],
  categoryOptionGroups: [
    {
      id: 'cogCoreAAA1',
      name: 'Public sector',
      shortName: 'Public sector',
      dataDimensionType: 'ATTRIBUTE',
      categoryOptions: [{ id: 'catOptCorA1' }],
    },
  ],
  categoryOptionGroupSets: [
    {
      id: 'cogsCoreAA1',
      name: 'Sector',
      dataDimensionType: 'ATTRIBUTE',
      categoryOptionGroups: [{ id: 'cogCoreAAA1' }],
    },
  ],
  optionSets: [{ id: 'optSetCorA1', name: 'Yes/no', valueType: 'TEXT', options: [{ id: 'optCoreAAA1' }] }],
  options: [{ id: 'optCoreAAA1', name: 'Yes', code: 'Y', optionSet: { id: 'optSetCorA1' } }],
  optionGroups: [
    {
      id: 'optGrpCorA1',
      name: 'Positive',
      shortName: 'Positive',
      optionSet: { id: 'optSetCorA1' },
      options: [{ id: 'optCoreAAA1' }],
    },
  ],
  optionGroupSets: [
    {
      id: 'optGSCoreA1',
      name: 'Answers',
      optionSet: { id: 'optSetCorA1' },
      optionGroups: [{ id: 'optGrpCorA1' }],
    },
  ],
  organisationUnitGroups: [{ id: 'ougCoreAAA1', name: 'Hospitals', shortName: 'Hospitals' }],
  organisationUnitGroupSets: [
    {
      id: 'ougsCoreAA1',
      name: 'Facility type',
      shortName: 'Facility type',
      organisationUnitGroups: [{ id: 'ougCoreAAA1' }],
    },
  ],
  dataElementGroups: [{ id: 'degCoreAAA1', name: 'Core group', shortName: 'Core group' }],
  dataElementGroupSets: [
    { id: 'degsCoreAA1', name: 'Core group set', dataElementGroups: [{ id: 'degCoreAAA1' }] },
  ],
  indicatorGroups: [{ id: 'igCoreAAAA1', name: 'Core indicators' }],
  indicatorGroupSets: [
    { id: 'igsCoreAAA1', name: 'Core indicator set', indicatorGroups: [{ id: 'igCoreAAAA1' }] },
  ],
  constants: [{ id: 'constCoreA1', name: 'Pi', value: 3.14 }],
  dataEntryForms: [{ id: 'defCoreAAA1', name: 'Core form', style: 'NORMAL', htmlCode: '<p>form</p>' }],
  dataApprovalLevels: [{ id: 'dalCoreAAA1', name: 'District approval', orgUnitLevel: 2 }],
  dataApprovalWorkflows: [
    {
      id: 'dawCoreAAA1',
      name: 'Monthly approval',
      periodType: 'Monthly',
      dataApprovalLevels: [{ id: 'dalCoreAAA1' }],
    },
  ],
  validationRuleGroups: [{ id: 'vrgCoreAAA1', name: 'Core rules' }],
  relationshipTypes: [
    {
      id: 'relTypeCor1',
      name: 'Mother to child',
      fromConstraint: { relationshipEntity: 'TRACKED_ENTITY_INSTANCE' },
      toConstraint: { relationshipEntity: 'TRACKED_ENTITY_INSTANCE' },
    },
  ],
  documents: [{ id: 'docCoreAAA1', name: 'Guide', url: 'https://example.org/guide.pdf', external: true }],
  eventVisualizations: [{ id: 'evCoreAAAA1', name: 'Cases', type: 'LINE_LIST' }],
  dashboards: [
    {
      id: 'dashCoreAA1',
      name: 'Overview',
      dashboardItems: [
        { id: 'dashItemCo1', type: 'EVENT_VISUALIZATION', eventVisualization: { id: 'evCoreAAAA1' } },
      ],
    },
  ],
};

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

async function importInto(site: Site, name: string, body: string): Promise<ImportReport> {
  const path = join(site.db.dataDir, name);
  writeFileSync(path, body);
  const report = await importMetadata(site.context, { path, fileName: name }, DEFAULT_IMPORT_PARAMS);
  assert.equal(report.status, 'OK', JSON.stringify(report.typeReports.filter((t) => t.stats.ignored > 0)));
  return report;
}

function exportAll(site: Site, format: ExportFormat): Promise<string> {
  return text(
    streamMetadataExport(site.context, buildExportRequest(site.context.registry, {}, format, false)),
  );
}

/** Export JSON without the server-set parts (export date, lastUpdated), for comparing two sites. */
function comparable(json: string): Record<string, unknown[]> {
  const { system: _system, ...collections } = JSON.parse(json) as Record<string, unknown[]>;
  for (const objects of Object.values(collections)) {
    for (const object of objects as Array<Record<string, unknown>>) delete object.lastUpdated;
  }
  return collections;
}

describe('the registry knows the types DHIS2 packages carry', () => {
  it('describes each added type with its references', () => {
    for (const collection of ADDED) {
      const schema = schemaRegistry.byCollection(collection);
      assert.ok(schema && !schema.embeddedOnly, `${collection} is a top-level type`);
      assert.ok(schemaRegistry.importOrder().includes(collection), `${collection} has an import order`);
    }
    assert.equal(schemaRegistry.property('predictors', 'output')?.target, 'dataElements');
    assert.equal(schemaRegistry.property('predictorGroups', 'predictors')?.owner, true);
    assert.equal(schemaRegistry.property('predictors', 'predictorGroups')?.owner, false);
    const order = schemaRegistry.importOrder();
    assert.ok(order.indexOf('predictors') < order.indexOf('predictorGroups'));
    assert.ok(order.indexOf('programIndicators') < order.indexOf('programIndicatorGroups'));
    assert.equal(
      schemaRegistry.byCollection('trackedEntityInstanceFilters')?.klass.endsWith('TrackedEntityFilter'),
      true,
    );
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`the added metadata types on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('imports one object of each, exports, and re-imports equal through JSON and XML', async () => {
      const source = await openSite(kind);
      try {
        const report = await importInto(source, 'package.json', JSON.stringify(PACKAGE));
        for (const collection of ADDED) {
          assert.equal(await source.context.metadata.count(collection), 1, `${collection} stored`);
        }
        assert.ok(report.typeReports.every((t) => t.stats.ignored === 0));
        const original = comparable(await exportAll(source, 'json'));
        for (const collection of ADDED) {
          assert.equal(original[collection]?.length, 1, `${collection} exported`);
        }
        const attribute = original.attributes[0] as Record<string, unknown>;
        for (const flag of [
          'sqlViewAttribute',
          'dataElementGroupSetAttribute',
          'validationRuleGroupAttribute',
        ]) {
          assert.equal(attribute[flag], true, `attribute ${flag} exported`);
        }
        const predictor = original.predictors[0] as Record<string, unknown>;
        assert.deepEqual(predictor.generator, PACKAGE.predictors[0].generator);
        assert.deepEqual(predictor.organisationUnitLevels, [{ id: 'ouLevelAAA1' }]);
        for (const format of ['json', 'xml'] as const) {
          const target = await openSite(kind);
          try {
            await importInto(target, `everything.${format}`, await exportAll(source, format));
            assert.deepEqual(comparable(await exportAll(target, 'json')), original, `${format} round trip`);
          } finally {
            await target.db.dispose();
          }
        }
        // A dependency export of a predictor group carries its predictors and what they produce.
        const packaged = JSON.parse(
          await text(dependencyExportChunks(source.context, 'predictorGroups', 'predGroupA1', 'json', true)),
        ) as Record<string, Array<{ id: string }>>;
        assert.deepEqual(
          packaged.predictors.map((p) => p.id),
          ['predictorA1'],
        );
        assert.deepEqual(
          packaged.dataElements.map((d) => d.id),
          ['dePredictA1'],
        );
        assert.deepEqual(
          packaged.organisationUnitLevels.map((l) => l.id),
          ['ouLevelAAA1'],
        );
      } finally {
        await source.db.dispose();
      }
    });

    it('round-trips one object of each core type the aggregate fixtures lack', async () => {
      const source = await openSite(kind);
      try {
        await importInto(source, 'core.json', JSON.stringify(CORE));
        const original = comparable(await exportAll(source, 'json'));
        for (const collection of Object.keys(CORE)) {
          assert.ok((original[collection]?.length ?? 0) >= 1, `${collection} exported`);
        }
        const target = await openSite(kind);
        try {
          await importInto(target, 'core-again.json', await exportAll(source, 'json'));
          assert.deepEqual(comparable(await exportAll(target, 'json')), original, 'core round trip');
        } finally {
          await target.db.dispose();
        }
      } finally {
        await source.db.dispose();
      }
    });
  });
}
