import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import type { DataValueImportPrincipal } from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { valueFiles, type ValueFiles } from '../support/data-value-imports.ts';

/**
 * `completeDate` of a data value set: which headers register their data set as complete, and which
 * are refused (each refusal a conflict with property `completeDate`, nothing registered).
 */

const NOW = new Date('2024-06-15T12:00:00Z');
const STAMP = { created: '2024-01-01T00:00:00.000', lastUpdated: '2024-01-01T00:00:00.000' };
const DEFAULT_COMBO = 'bjDvmb4bfuf';

const SIERRA = 'CmplSierra1';
const BO = 'CmplBoDist1';
const BADJIA = 'CmplBadjia1';
const NGELEHUN = 'CmplNgelhn1';
const DE = 'CmplDeNum01';
const DATA_SET = 'CmplDSet001'; // Monthly, no expiry
const LOCKED_DATA_SET = 'CmplLockDS1'; // Monthly, 10 expiry days, no future periods
const MECH_DATA_SET = 'CmplMechDS1'; // Monthly, attribute combo MECH_COMBO
const MECH_COMBO = 'CmplMechCC1';
const PEPFAR_AOC = 'CmplAocPepf';
const USAID_AOC = 'CmplAocUsad';

function completionMetadata(): Record<string, unknown> {
  const orgUnit = (id: string, name: string, parent?: string) => ({
    id,
    code: name.toUpperCase(),
    name,
    shortName: name,
    openingDate: '2000-01-01',
    ...(parent ? { parent: { id: parent } } : {}),
    ...STAMP,
  });
  const dataSet = (id: string, name: string, extra: Record<string, unknown>) => ({
    id,
    code: id,
    name,
    shortName: name,
    periodType: 'Monthly',
    categoryCombo: { id: DEFAULT_COMBO },
    dataSetElements: [{ dataElement: { id: DE } }],
    ...extra,
    ...STAMP,
  });
  const option = (id: string, code: string) => ({ id, code, name: code, shortName: code, ...STAMP });
  return {
    categoryOptions: [option('CmplOptPepf', 'PEPFAR'), option('CmplOptUsad', 'USAID')],
    categories: [
      {
        id: 'CmplCatMech',
        code: 'Mechanism',
        name: 'Mechanism',
        shortName: 'Mechanism',
        dataDimensionType: 'ATTRIBUTE',
        categoryOptions: [{ id: 'CmplOptPepf' }, { id: 'CmplOptUsad' }],
        ...STAMP,
      },
    ],
    categoryCombos: [
      {
        id: MECH_COMBO,
        name: 'Mechanism',
        dataDimensionType: 'ATTRIBUTE',
        categories: [{ id: 'CmplCatMech' }],
        ...STAMP,
      },
    ],
    categoryOptionCombos: [
      {
        id: PEPFAR_AOC,
        name: 'PEPFAR',
        categoryCombo: { id: MECH_COMBO },
        categoryOptions: [{ id: 'CmplOptPepf' }],
        ...STAMP,
      },
      {
        id: USAID_AOC,
        name: 'USAID',
        categoryCombo: { id: MECH_COMBO },
        categoryOptions: [{ id: 'CmplOptUsad' }],
        ...STAMP,
      },
    ],
    organisationUnits: [
      orgUnit(SIERRA, 'Sierra'),
      orgUnit(BO, 'Bo', SIERRA),
      orgUnit(BADJIA, 'Badjia', BO),
      orgUnit(NGELEHUN, 'Ngelehun', BADJIA),
    ],
    dataElements: [
      {
        id: DE,
        code: 'CMPL_DE',
        name: 'Completion element',
        shortName: 'Completion element',
        valueType: 'NUMBER',
        aggregationType: 'SUM',
        domainType: 'AGGREGATE',
        categoryCombo: { id: DEFAULT_COMBO },
        ...STAMP,
      },
    ],
    dataSets: [
      dataSet(DATA_SET, 'Completion monthly', {}),
      dataSet(LOCKED_DATA_SET, 'Completion locked', { expiryDays: 10, openFuturePeriods: 0 }),
      dataSet(MECH_DATA_SET, 'Completion by mechanism', { categoryCombo: { id: MECH_COMBO } }),
    ],
  };
}

const CLERK: DataValueImportPrincipal = {
  uid: 'CmplClerk01',
  username: 'clerk',
  authorities: new Set(['F_DATAVALUE_ADD']),
  captureOrgUnits: [BADJIA],
  userGroupUids: [],
};

/** Captures the whole country but may not edit expired periods (no F_EDIT_EXPIRED). */
const COUNTRY_CLERK: DataValueImportPrincipal = {
  uid: 'CmplClerk02',
  username: 'country_clerk',
  authorities: new Set(['F_DATAVALUE_ADD']),
  captureOrgUnits: [SIERRA],
  userGroupUids: [],
};

interface Registration {
  ds: string;
  pe: string;
  ou: string;
  aoc: string;
  completed_date: string;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value import: completeDate (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let files: ValueFiles;

    before(async () => {
      db = await createTestDatabase(kind);
      files = valueFiles(contextFor(db.storage, db.dataDir), db.dataDir, 'completion', { now: NOW });
      await loadMetadataPayloads(db.storage, [completionMetadata()]);
    });
    after(async () => {
      await db?.dispose();
    });
    beforeEach(async () => {
      await db.storage.execute('DELETE FROM complete_registration');
    });

    const importJson = (
      json: unknown,
      params: Record<string, string> = {},
      principal?: DataValueImportPrincipal,
    ): Promise<ImportSummary> => files.importText(JSON.stringify(json), 'json', params, principal);
    const registrations = async (): Promise<Registration[]> =>
      (
        await db.storage.query<Registration>(
          `SELECT ds.uid AS ds, p.iso AS pe, ou.uid AS ou, aoc.uid AS aoc, cr.completed_date
           FROM complete_registration cr
           JOIN metadata_object ds ON ds.sid = cr.data_set_id
           JOIN period p ON p.period_id = cr.period_id
           JOIN metadata_object ou ON ou.sid = cr.org_unit_id
           JOIN metadata_object aoc ON aoc.sid = cr.attribute_option_combo_id
          ORDER BY p.iso, ou.uid, aoc.uid`,
        )
      ).map((row) => ({ ...row }));
    const completionConflicts = (summary: ImportSummary) =>
      summary.conflicts
        .filter((c) => c.property === 'completeDate')
        .map((c) => ({ errorCode: c.errorCode, object: c.object, indexes: c.indexes }));

    it("refuses completion for an org unit outside the clerk's capture scope (E7617) and registers nothing", async () => {
      const summary = await importJson(
        {
          dataSet: DATA_SET,
          period: '202405',
          orgUnit: BO,
          completeDate: '2024-06-01',
          dataValues: [{ dataElement: DE, value: '5' }],
        },
        {},
        CLERK,
      );
      assert.equal(summary.status, 'WARNING');
      assert.equal(summary.dataSetComplete, 'false');
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: 1, deleted: 0 });
      const valueConflict = summary.conflicts.find((c) => c.property === 'orgUnit');
      assert.equal(valueConflict?.errorCode, 'E7617');
      assert.deepEqual(valueConflict?.indexes, [0]);
      assert.deepEqual(completionConflicts(summary), [{ errorCode: 'E7617', object: BO, indexes: [] }]);
      const conflict = summary.conflicts.find((c) => c.property === 'completeDate');
      assert.equal(
        conflict?.value,
        'Organisation unit: `' + BO + '` not in hierarchy of current user: `clerk`',
      );
      assert.deepEqual(await registrations(), []);

      // The same clerk completes a form of their own district.
      const own = await importJson(
        {
          dataSet: DATA_SET,
          period: '202405',
          orgUnit: NGELEHUN,
          completeDate: '2024-06-01',
          dataValues: [{ dataElement: DE, value: '5' }],
        },
        {},
        CLERK,
      );
      assert.equal(own.status, 'SUCCESS', JSON.stringify(own.conflicts));
      assert.equal(own.dataSetComplete, '2024-06-01');
      assert.deepEqual(await registrations(), [
        { ds: DATA_SET, pe: '202405', ou: NGELEHUN, aoc: 'HllvX50cXC0', completed_date: '2024-06-01' },
      ]);
    });

    it('refuses completion for an unknown org unit (E7603), period (E7611) or attribute option combo (E7604)', async () => {
      const header = { dataSet: DATA_SET, period: '202405', orgUnit: NGELEHUN, completeDate: 'true' };
      const cases: Array<[Record<string, string>, string, string]> = [
        [{ orgUnit: 'noSuchOu001' }, 'E7603', 'noSuchOu001'],
        [{ period: '2024M13' }, 'E7611', '2024M13'],
        [{ attributeOptionCombo: 'noSuchAoc01' }, 'E7604', 'noSuchAoc01'],
      ];
      for (const [change, code, object] of cases) {
        const summary = await importJson({ ...header, ...change, dataValues: [] });
        assert.equal(summary.status, 'WARNING', code);
        assert.equal(summary.dataSetComplete, 'false', code);
        assert.deepEqual(completionConflicts(summary), [{ errorCode: code, object, indexes: [] }]);
      }
      assert.deepEqual(await registrations(), []);
    });

    it('refuses completion without the org unit, period or data set it needs (F7103) and a completeDate that is no date (F7104)', async () => {
      const noOrgUnit = await importJson({
        dataSet: DATA_SET,
        period: '202405',
        completeDate: '2024-06-01',
        dataValues: [{ dataElement: DE, orgUnit: NGELEHUN, value: '1' }],
      });
      assert.deepEqual(completionConflicts(noOrgUnit), [
        { errorCode: 'F7103', object: 'orgUnit', indexes: [] },
      ]);
      assert.equal(noOrgUnit.importCount.imported + noOrgUnit.importCount.updated, 1);

      const noDataSet = await importJson({
        period: '202405',
        orgUnit: NGELEHUN,
        completeDate: '2024-06-01',
        dataValues: [],
      });
      assert.deepEqual(completionConflicts(noDataSet), [
        { errorCode: 'F7103', object: 'dataSet', indexes: [] },
      ]);

      const notADate = await importJson({
        dataSet: DATA_SET,
        period: '202405',
        orgUnit: NGELEHUN,
        completeDate: 'yesterday',
        dataValues: [],
      });
      assert.deepEqual(completionConflicts(notADate), [
        { errorCode: 'F7104', object: 'yesterday', indexes: [] },
      ]);
      assert.deepEqual(await registrations(), []);

      // completeDate=false (any case) asks for nothing.
      const no = await importJson({ ...{ dataSet: DATA_SET, orgUnit: NGELEHUN }, completeDate: 'FALSE' });
      assert.equal(no.status, 'SUCCESS');
      assert.equal(no.dataSetComplete, 'false');
    });

    it('refuses completion of a period past its expiry days (E7640) or not open yet (E7641), as it refuses values', async () => {
      const expiredSet = {
        dataSet: LOCKED_DATA_SET,
        period: '202403',
        orgUnit: NGELEHUN,
        completeDate: '2024-06-01',
        dataValues: [{ dataElement: DE, value: '1' }],
      };
      const expired = await importJson(expiredSet, {}, COUNTRY_CLERK);
      assert.deepEqual(expired.conflicts.map((c) => [c.errorCode, c.property]).sort(), [
        ['E7640', 'completeDate'],
        ['E7640', 'period'],
      ]);
      assert.equal(expired.dataSetComplete, 'false');
      assert.deepEqual(await registrations(), []);

      // F_EDIT_EXPIRED lifts the expiry days for the completion as for the values (dry run: the
      // expired period stays unwritten for the cases below).
      const editor = { ...COUNTRY_CLERK, authorities: new Set(['F_DATAVALUE_ADD', 'F_EDIT_EXPIRED']) };
      const edited = await importJson(expiredSet, { dryRun: 'true' }, editor);
      assert.equal(edited.status, 'SUCCESS', JSON.stringify(edited.conflicts));
      assert.equal(edited.importCount.imported, 1);
      assert.equal(edited.dataSetComplete, '2024-06-01');

      const future = await importJson({
        dataSet: LOCKED_DATA_SET,
        period: '202407',
        orgUnit: NGELEHUN,
        completeDate: 'true',
        dataValues: [],
      });
      assert.deepEqual(completionConflicts(future), [{ errorCode: 'E7641', object: '202407', indexes: [] }]);
      assert.deepEqual(await registrations(), []);

      // Within the expiry days it completes, with a future completeDate clamped to today.
      const open = await importJson({
        dataSet: LOCKED_DATA_SET,
        period: '202406',
        orgUnit: NGELEHUN,
        completeDate: '2030-01-01',
        dataValues: [],
      });
      assert.equal(open.status, 'SUCCESS', JSON.stringify(open.conflicts));
      assert.equal(open.dataSetComplete, '2024-06-15');
      assert.deepEqual(await registrations(), [
        { ds: LOCKED_DATA_SET, pe: '202406', ou: NGELEHUN, aoc: 'HllvX50cXC0', completed_date: '2024-06-15' },
      ]);
    });

    it('ADX: registers every group with a completeDate, each with the attribute option combo its category attributes name', async () => {
      const adx = `<adx xmlns="urn:ihe:qrph:adx:2015">
  <group dataSet="${DATA_SET}" orgUnit="NGELEHUN" period="2024-05-01/P1M" completeDate="2024-06-01">
    <dataValue dataElement="CMPL_DE" value="11"/>
  </group>
  <group dataSet="${MECH_DATA_SET}" orgUnit="NGELEHUN" period="2024-05-01/P1M" Mechanism="PEPFAR" completeDate="2024-06-02">
    <dataValue dataElement="CMPL_DE" value="12"/>
  </group>
  <group dataSet="${MECH_DATA_SET}" orgUnit="NGELEHUN" period="2024-05-01/P1M" Mechanism="USAID">
    <dataValue dataElement="CMPL_DE" value="13"/>
  </group>
  <group dataSet="${MECH_DATA_SET}" orgUnit="NGELEHUN" period="2024-04-01/P1M" attributeOptionCombo="${USAID_AOC}" completeDate="2024-06-03"/>
  <group dataSet="${DATA_SET}" orgUnit="BADJIA" period="2024-04-01/P1M" completeDate="2024-06-04"/>
</adx>`;
      const summary = await files.importText(adx, 'adx.xml', {
        attributeOptionComboIdScheme: 'UID',
      });
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(summary.importCount.imported + summary.importCount.updated, 3);
      // The last completion registered, in file order (DHIS2 reports the one header it reads).
      assert.equal(summary.dataSetComplete, '2024-06-04');
      assert.deepEqual(
        (await registrations()).map((r) => [r.ds, r.pe, r.ou, r.aoc, r.completed_date].join('|')).sort(),
        [
          `${DATA_SET}|202404|${BADJIA}|HllvX50cXC0|2024-06-04`,
          `${DATA_SET}|202405|${NGELEHUN}|HllvX50cXC0|2024-06-01`,
          `${MECH_DATA_SET}|202404|${NGELEHUN}|${USAID_AOC}|2024-06-03`,
          `${MECH_DATA_SET}|202405|${NGELEHUN}|${PEPFAR_AOC}|2024-06-02`,
        ],
      );
    });

    it('ADX: a refused group completion is reported and the other groups still complete', async () => {
      const adx = `<adx xmlns="urn:ihe:qrph:adx:2015">
  <group dataSet="${DATA_SET}" orgUnit="BO" period="2024-05-01/P1M" completeDate="2024-06-01"/>
  <group dataSet="${MECH_DATA_SET}" orgUnit="NGELEHUN" period="2024-05-01/P1M" Mechanism="NO_SUCH" completeDate="2024-06-02"/>
  <group dataSet="${DATA_SET}" orgUnit="NGELEHUN" period="2024-05-01/P1M" completeDate="2024-06-03"/>
</adx>`;
      const summary = await files.importText(adx, 'adx.xml', {}, CLERK);
      assert.equal(summary.status, 'WARNING');
      assert.equal(summary.dataSetComplete, '2024-06-03');
      assert.deepEqual(
        completionConflicts(summary).map((c) => [c.errorCode, c.object]),
        [
          ['E7617', 'BO'],
          ['F7102', 'NO_SUCH'],
        ],
      );
      assert.deepEqual(
        (await registrations()).map((r) => [r.ds, r.ou, r.completed_date]),
        [[DATA_SET, NGELEHUN, '2024-06-03']],
      );
    });

    it('JSON: root properties read one by one make one data value set, completed once', async () => {
      const summary = await importJson({
        completeDate: '2024-06-05',
        dataSet: DATA_SET,
        period: '202405',
        dataValues: [{ dataElement: DE, orgUnit: NGELEHUN, value: '7' }],
        orgUnit: NGELEHUN,
      });
      assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      assert.equal(summary.dataSetComplete, '2024-06-05');
      assert.deepEqual(
        (await registrations()).map((r) => [r.ds, r.pe, r.ou]),
        [[DATA_SET, '202405', NGELEHUN]],
      );
    });

    it('atomic: a refused completion fails the import and writes nothing', async () => {
      const summary = await importJson(
        {
          dataSet: DATA_SET,
          period: '202402',
          orgUnit: BO,
          completeDate: '2024-06-01',
          dataValues: [],
        },
        { atomic: 'true' },
        { ...CLERK, captureOrgUnits: [BADJIA] },
      );
      assert.equal(summary.status, 'ERROR');
      assert.equal(summary.dataSetComplete, 'false');
      assert.match(summary.description, /completion was refused; nothing was written/);
      assert.deepEqual(await registrations(), []);
    });
  });
}
