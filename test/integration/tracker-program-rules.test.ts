import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor, ORG_UNITS, seedAccessFixtures } from '../support/access-fixtures.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { importTrackerBundle } from '../../src/services/tracker/tracker-import-service.ts';
import { parseTrackerImportParams } from '../../src/domain/tracker/tracker-import-params.ts';
import { addPayloadItem, emptyBundle } from '../../src/domain/tracker/tracker-objects.ts';
import { generateUid } from '../../src/domain/identifiers/uid.ts';
import { jsonValue } from '../../src/storage/tracker-store.ts';

const { bo } = ORG_UNITS;
const PROGRAM = 'prgRules001';
const STAGE = 'stgRules001';
const DE_WEIGHT = 'deRuleWgt01';
const DE_DOUBLE = 'deRuleDbl01';
const RULE_HEAVY = 'prHeavy0001';
const RULE_WARN = 'prWarn00001';
const RULE_ASSIGN = 'prAssign001';
const RULE_LIGHT = 'prLight0001';

const dataElement = (id: string, name: string, valueType: string) => ({
  id,
  name,
  shortName: name,
  valueType,
  aggregationType: 'NONE',
  domainType: 'TRACKER',
});
const rule = (id: string, name: string, condition: string, action: string) => ({
  id,
  name,
  program: { id: PROGRAM },
  condition,
  programRuleActions: [{ id: action }],
});

/**
 * An event program whose rules refuse a weight above 100, warn above 50, double it, and refuse
 * completing below 10; a tracker program whose stage rule reads the child's age attribute.
 */
const METADATA = {
  dataElements: [
    dataElement(DE_WEIGHT, 'Rule weight', 'INTEGER'),
    dataElement(DE_DOUBLE, 'Rule double', 'NUMBER'),
  ],
  programs: [
    {
      id: PROGRAM,
      name: 'Weighing',
      shortName: 'Weighing',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: bo }],
    },
    {
      id: 'prgRulesTrk',
      name: 'Weighing children',
      shortName: 'Weighing children',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'tetRules001' },
      organisationUnits: [{ id: bo }],
      programTrackedEntityAttributes: [
        { trackedEntityAttribute: { id: 'teaRuleAge1' } },
        { trackedEntityAttribute: { id: 'teaRuleCat1' } },
      ],
    },
  ],
  trackedEntityAttributes: [
    {
      id: 'teaRuleAge1',
      name: 'Rule age',
      shortName: 'Rule age',
      valueType: 'INTEGER',
      aggregationType: 'NONE',
    },
    {
      id: 'teaRuleCat1',
      name: 'Rule group',
      shortName: 'Rule group',
      valueType: 'TEXT',
      aggregationType: 'NONE',
    },
  ],
  trackedEntityTypes: [
    {
      id: 'tetRules001',
      name: 'Rule person',
      trackedEntityTypeAttributes: [
        { trackedEntityAttribute: { id: 'teaRuleAge1' } },
        { trackedEntityAttribute: { id: 'teaRuleCat1' } },
      ],
    },
  ],
  programStages: [
    {
      id: STAGE,
      name: 'Weighing',
      program: { id: PROGRAM },
      programStageDataElements: [{ dataElement: { id: DE_WEIGHT } }, { dataElement: { id: DE_DOUBLE } }],
    },
    {
      id: 'stgRulesTrk',
      name: 'Child weighing',
      program: { id: 'prgRulesTrk' },
      repeatable: true,
      programStageDataElements: [{ dataElement: { id: DE_WEIGHT } }],
    },
  ],
  programRuleVariables: [
    {
      id: 'prvAge00001',
      name: 'age',
      program: { id: 'prgRulesTrk' },
      programRuleVariableSourceType: 'TEI_ATTRIBUTE',
      trackedEntityAttribute: { id: 'teaRuleAge1' },
    },
    {
      id: 'prvChildWg1',
      name: 'childWeight',
      program: { id: 'prgRulesTrk' },
      programRuleVariableSourceType: 'DATAELEMENT_CURRENT_EVENT',
      dataElement: { id: DE_WEIGHT },
    },
    {
      id: 'prvWeight01',
      name: 'weight',
      program: { id: PROGRAM },
      programRuleVariableSourceType: 'DATAELEMENT_CURRENT_EVENT',
      dataElement: { id: DE_WEIGHT },
    },
  ],
  programRules: [
    {
      id: 'prMandAge01',
      name: 'Age is needed',
      program: { id: 'prgRulesTrk' },
      condition: 'true',
      programRuleActions: [{ id: 'praMandAge1' }],
    },
    {
      id: 'prGroup0001',
      name: 'Infant group',
      program: { id: 'prgRulesTrk' },
      condition: "d2:hasValue('age') && #{age} < 2",
      programRuleActions: [{ id: 'praGroup001' }],
    },
    {
      id: 'prOldWgt001',
      name: 'Heavy for an infant',
      program: { id: 'prgRulesTrk' },
      programStage: { id: 'stgRulesTrk' },
      condition: '#{age} < 2 && #{childWeight} > 15',
      programRuleActions: [{ id: 'praOldWgt01' }],
    },
    rule(RULE_HEAVY, 'Too heavy', '#{weight} > 100', 'praHeavy001'),
    rule(RULE_WARN, 'Heavy', '#{weight} > 50', 'praWarn0001'),
    rule(RULE_ASSIGN, 'Double', "d2:hasValue('weight')", 'praAssign01'),
    rule(RULE_LIGHT, 'Too light', '#{weight} < 10', 'praLight001'),
  ],
  programRuleActions: [
    {
      id: 'praMandAge1',
      programRule: { id: 'prMandAge01' },
      programRuleActionType: 'SETMANDATORYFIELD',
      trackedEntityAttribute: { id: 'teaRuleAge1' },
    },
    {
      id: 'praGroup001',
      programRule: { id: 'prGroup0001' },
      programRuleActionType: 'ASSIGN',
      trackedEntityAttribute: { id: 'teaRuleCat1' },
      data: "'infant'",
    },
    {
      id: 'praOldWgt01',
      programRule: { id: 'prOldWgt001' },
      programRuleActionType: 'SHOWERROR',
      content: 'Too heavy for an infant',
    },
    {
      id: 'praHeavy001',
      programRule: { id: RULE_HEAVY },
      programRuleActionType: 'SHOWERROR',
      content: 'Weight is above 100',
    },
    {
      id: 'praWarn0001',
      programRule: { id: RULE_WARN },
      programRuleActionType: 'SHOWWARNING',
      content: 'Weight is above 50:',
      data: '#{weight}',
    },
    {
      id: 'praAssign01',
      programRule: { id: RULE_ASSIGN },
      programRuleActionType: 'ASSIGN',
      dataElement: { id: DE_DOUBLE },
      data: '#{weight} * 2',
    },
    {
      id: 'praLight001',
      programRule: { id: RULE_LIGHT },
      programRuleActionType: 'ERRORONCOMPLETE',
      content: 'Too light to complete',
    },
  ],
};

const weighing = (uid: string, values: Record<string, string>, status = 'ACTIVE') => ({
  event: uid,
  program: PROGRAM,
  programStage: STAGE,
  orgUnit: bo,
  status,
  occurredAt: '2024-03-01',
  dataValues: Object.entries(values).map(([dataElement, value]) => ({ dataElement, value })),
});

function bundleOf(events: unknown[], trackedEntities: unknown[] = []) {
  const bundle = emptyBundle();
  for (const item of trackedEntities)
    addPayloadItem(bundle, 'trackedEntities', item as Record<string, unknown>, generateUid);
  for (const item of events) addPayloadItem(bundle, 'events', item as Record<string, unknown>, generateUid);
  return bundle;
}

/** A child of `age` enrolled with one weighing of `weight`, nested as DHIS2's payloads nest. */
const child = (suffix: string, age: string | undefined, weight: string) => ({
  trackedEntity: `teRule${suffix}`,
  trackedEntityType: 'tetRules001',
  orgUnit: bo,
  attributes: age === undefined ? [] : [{ attribute: 'teaRuleAge1', value: age }],
  enrollments: [
    {
      enrollment: `enRule${suffix}`,
      program: 'prgRulesTrk',
      orgUnit: bo,
      enrolledAt: '2024-03-01',
      events: [
        {
          event: `evRule${suffix}`,
          programStage: 'stgRulesTrk',
          orgUnit: bo,
          occurredAt: '2024-03-02',
          dataValues: [{ dataElement: DE_WEIGHT, value: weight }],
        },
      ],
    },
  ],
});

type Report = Awaited<ReturnType<typeof importTrackerBundle>>;
const reports = (list: Report['validationReport']['errorReports']) =>
  list.map((e) => `${e.errorCode} ${e.uid} ${e.args[0]}`).sort();

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker import program rules on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    const run = (events: unknown[], query: Record<string, string> = {}, trackedEntities: unknown[] = []) =>
      importTrackerBundle(
        context,
        bundleOf(events, trackedEntities),
        parseTrackerImportParams({ async: 'false', atomicMode: 'OBJECT', reportMode: 'WARNINGS', ...query }),
      );
    const storedValues = async (uid: string): Promise<Record<string, string> | undefined> => {
      const row = await db.storage.queryOne<{ data_values: unknown }>(
        'SELECT data_values FROM event WHERE uid = ?',
        [uid],
      );
      if (!row) return undefined;
      const values = jsonValue(row.data_values) as Record<string, { value: string }>;
      return Object.fromEntries(Object.entries(values).map(([de, dv]) => [de, dv.value]));
    };

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      await seedAccessFixtures(db.storage, context.metadata);
      const report = await importMetadataObjects(context, METADATA);
      assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
    });
    after(() => db.dispose());

    it("blocks an event that meets a SHOWERROR rule's condition and lets the other through", async () => {
      const report = await run([
        weighing('evHeavy0001', { [DE_WEIGHT]: '120' }),
        weighing('evFine00001', { [DE_WEIGHT]: '80' }),
      ]);
      assert.equal(report.status, 'ERROR');
      assert.deepEqual(reports(report.validationReport.errorReports), [`E1300 evHeavy0001 ${RULE_HEAVY}`]);
      const error = report.validationReport.errorReports[0];
      assert.equal(error.trackerType, 'EVENT');
      assert.equal(error.message, `Generated by program rule (\`${RULE_HEAVY}\`) - \`Weight is above 100\``);
      assert.equal(report.stats.created, 1);
      assert.equal(await storedValues('evHeavy0001'), undefined);
      assert.equal((await storedValues('evFine00001'))?.[DE_WEIGHT], '80');
    });

    it('runs no rule with skipRuleEngine=true', async () => {
      const report = await run(
        [weighing('evSkipHvy01', { [DE_WEIGHT]: '120' }), weighing('evSkipFin01', { [DE_WEIGHT]: '80' })],
        { skipRuleEngine: 'true' },
      );
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
      assert.equal(report.stats.created, 2);
      assert.deepEqual(report.validationReport.warningReports, []);
      // Nothing assigned either.
      assert.deepEqual(await storedValues('evSkipHvy01'), { [DE_WEIGHT]: '120' });
    });

    it('reports a SHOWWARNING rule as a warning (with its evaluated data) and imports the event', async () => {
      const report = await run([weighing('evWarn00001', { [DE_WEIGHT]: '60' })]);
      assert.equal(report.status, 'WARNING');
      assert.deepEqual(report.validationReport.errorReports, []);
      assert.equal(report.stats.created, 1);
      const warning = report.validationReport.warningReports.find((w) => w.args[0] === RULE_WARN);
      assert.ok(warning, JSON.stringify(report.validationReport.warningReports));
      assert.equal(warning.errorCode, 'E1300');
      assert.equal(warning.args[1], 'Weight is above 50: 60');
      // reportMode=ERRORS (the default) leaves warnings out, as DHIS2 does.
      const quiet = await run([weighing('evWarn00002', { [DE_WEIGHT]: '61' })], { reportMode: 'ERRORS' });
      assert.equal(quiet.status, 'WARNING');
      assert.deepEqual(quiet.validationReport.warningReports, []);
    });

    it('fills an empty data element from an ASSIGN rule (E1308) and refuses a different given value (E1307)', async () => {
      const report = await run([weighing('evAssign001', { [DE_WEIGHT]: '30' })]);
      assert.equal(report.status, 'WARNING');
      assert.deepEqual(reports(report.validationReport.warningReports), [`E1308 evAssign001 ${RULE_ASSIGN}`]);
      const values = await storedValues('evAssign001');
      assert.equal(values?.[DE_WEIGHT], '30');
      assert.equal(Number(values?.[DE_DOUBLE]), 60);

      const same = await run([weighing('evAssign002', { [DE_WEIGHT]: '30', [DE_DOUBLE]: '60' })]);
      assert.equal(same.status, 'OK', JSON.stringify(same.validationReport));
      const clash = await run([weighing('evAssign003', { [DE_WEIGHT]: '30', [DE_DOUBLE]: '7' })]);
      assert.deepEqual(reports(clash.validationReport.errorReports), [`E1307 evAssign003 ${RULE_ASSIGN}`]);
      assert.equal(await storedValues('evAssign003'), undefined);

      // An update is evaluated over the stored values: a new weight with the old double clashes.
      const update = await run([weighing('evAssign001', { [DE_WEIGHT]: '40' })]);
      assert.deepEqual(reports(update.validationReport.errorReports), [`E1307 evAssign001 ${RULE_ASSIGN}`]);
    });

    it("reads the enrollment's tracked entity attributes in an event's rule (TEI_ATTRIBUTE)", async () => {
      const report = await run([], {}, [child('Inf01', '1', '20'), child('Old01', '9', '20')]);
      assert.deepEqual(reports(report.validationReport.errorReports), ['E1300 evRuleInf01 prOldWgt001']);
      assert.equal(report.bundleReport.typeReportMap.EVENT?.stats.created, 1);
      assert.ok(await storedValues('evRuleOld01'));
    });

    it("applies an enrollment's rules: a mandatory attribute (E1306) and an assigned one (E1310)", async () => {
      const report = await run([], {}, [child('Inf02', '1', '10'), child('NoAg1', undefined, '10')]);
      assert.deepEqual(reports(report.validationReport.errorReports), [
        'E1306 enRuleNoAg1 prMandAge01',
        'E5000 evRuleNoAg1 EVENT',
      ]);
      assert.deepEqual(reports(report.validationReport.warningReports), ['E1310 enRuleInf02 prGroup0001']);
      const group = await db.storage.queryOne<{ value: string }>(
        `SELECT v.value AS value FROM tracked_entity_attribute_value v
           JOIN tracked_entity t ON t.tracked_entity_id = v.tracked_entity_id
           JOIN metadata_object m ON m.sid = v.attribute_id
          WHERE t.uid = ? AND m.uid = ?`,
        ['teRuleInf02', 'teaRuleCat1'],
      );
      assert.equal(group?.value, 'infant');
      // A different group given for an infant is refused (E1309).
      const clash = await run([], {}, [
        {
          ...child('Inf03', '1', '10'),
          attributes: [
            { attribute: 'teaRuleAge1', value: '1' },
            { attribute: 'teaRuleCat1', value: 'toddler' },
          ],
        },
      ]);
      assert.ok(
        reports(clash.validationReport.errorReports).includes('E1309 enRuleInf03 prGroup0001'),
        JSON.stringify(clash.validationReport.errorReports),
      );
    });

    it('applies ERRORONCOMPLETE only to a completed event', async () => {
      const report = await run([
        weighing('evLightAct1', { [DE_WEIGHT]: '5' }),
        weighing('evLightCmp1', { [DE_WEIGHT]: '5' }, 'COMPLETED'),
      ]);
      assert.deepEqual(reports(report.validationReport.errorReports), [`E1300 evLightCmp1 ${RULE_LIGHT}`]);
      assert.equal(report.stats.created, 1);
      assert.ok(await storedValues('evLightAct1'));
    });
  });
}
