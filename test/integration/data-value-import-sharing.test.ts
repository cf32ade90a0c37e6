import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import type { DataValueImportPrincipal } from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportConflict } from '../../src/domain/data-values/import-conflicts.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import { DEFAULT_CATEGORY_COMBO_UID } from '../../src/domain/category/default-category-model.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata, loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { valueFiles, type ValueFiles } from '../support/data-value-imports.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';

/*
 * Data write sharing on data value import, as DHIS2 2.42's DataValueSetImportValidator checks it:
 * E7601 (the data set, aborting the import), E7614 (a category option of the category option
 * combo) and E7616 (a category option of the attribute option combo), each option its own
 * conflict. The writer is in a user group that data sets and options share data write with; the
 * outsider is in none. Sharing comes in both shapes DHIS2 writes (2.36+ `sharing`, older
 * `publicAccess`/`userGroupAccesses`), and objects without any sharing information count as
 * public data read and write (docs/security.md).
 */

const SIERRA_LEONE = 'ImspTQPwCqd';
const BO = 'O6uvpzGd5pu';
const GROUP = 'ImpGroup001';
const WRITER = { id: 'ImpWriter01', username: 'import.writer', password: 'Writer-password-1' };
const OUTSIDER = { id: 'ImpOutsid01', username: 'import.outsider', password: 'Outsider-password-1' };

const DS = { writable: 'ImpDsWrite1', readOnly: 'ImpDsRead01', unshared: 'ImpDsFree01' } as const;
const DE = { cases: 'ImpDeCases1', free: 'ImpDeFree01' } as const;
const OPT = {
  male: 'ImpOptMale1',
  female: 'ImpOptFem01',
  young: 'ImpOptYng01',
  old: 'ImpOptOld01',
  government: 'ImpOptGov01',
  partner: 'ImpOptPart1',
  secret: 'ImpOptSecr1',
} as const;
/** Category option combos of sex × age: only male/young is all data-writable by the writer. */
const COC = {
  maleYoung: 'ImpCocMY001',
  maleOld: 'ImpCocMO001',
  femaleYoung: 'ImpCocFY001',
  femaleOld: 'ImpCocFO001',
} as const;
const AOC = { government: 'ImpAocGov01', partner: 'ImpAocPart1', secret: 'ImpAocSecr1' } as const;
const DEFAULT = 'HllvX50cXC0';

const publicOnly = (access: string) => ({ sharing: { public: access, users: {}, userGroups: {} } });
const groupShared = (publicAccess: string, groupAccess: string) => ({
  sharing: { public: publicAccess, users: {}, userGroups: { [GROUP]: { id: GROUP, access: groupAccess } } },
});

function sharingMetadata(): Record<string, MetadataObject[]> {
  const named = (id: string, name: string, rest: Record<string, unknown> = {}): MetadataObject => ({
    id,
    name,
    shortName: name,
    ...rest,
  });
  return {
    categoryOptions: [
      named(OPT.male, 'Imp male', publicOnly('rwrw----')),
      // Older shape: the group may read data of it, not write.
      named(OPT.female, 'Imp female', {
        publicAccess: 'rw------',
        userGroupAccesses: [{ userGroupUid: GROUP, access: 'r-r-----' }],
      }),
      // No sharing information at all: public data read and write.
      named(OPT.young, 'Imp young'),
      named(OPT.old, 'Imp old', groupShared('rw------', 'rwr-----')),
      named(OPT.government, 'Imp government'),
      named(OPT.partner, 'Imp partner', groupShared('rw------', 'rwrw----')),
      // Owned by the writer, which gives metadata access only, never data access.
      named(OPT.secret, 'Imp undisclosed', {
        sharing: {
          owner: WRITER.id,
          public: 'rw------',
          users: {},
          userGroups: { [GROUP]: { id: GROUP, access: 'r-r-----' } },
        },
      }),
    ],
    categories: [
      named('ImpCatSex01', 'Imp sex', {
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: OPT.male }, { id: OPT.female }],
      }),
      named('ImpCatAge01', 'Imp age', {
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: OPT.young }, { id: OPT.old }],
      }),
      named('ImpCatFund1', 'Imp funding', {
        dataDimensionType: 'ATTRIBUTE',
        categoryOptions: [{ id: OPT.government }, { id: OPT.partner }, { id: OPT.secret }],
      }),
    ],
    categoryCombos: [
      {
        id: 'ImpCcSxAg01',
        name: 'Imp sex and age',
        dataDimensionType: 'DISAGGREGATION',
        categories: [{ id: 'ImpCatSex01' }, { id: 'ImpCatAge01' }],
      },
      {
        id: 'ImpCcFund01',
        name: 'Imp funding',
        dataDimensionType: 'ATTRIBUTE',
        categories: [{ id: 'ImpCatFund1' }],
      },
    ],
    categoryOptionCombos: [
      ...(
        [
          [COC.maleYoung, OPT.male, OPT.young],
          [COC.maleOld, OPT.male, OPT.old],
          [COC.femaleYoung, OPT.female, OPT.young],
          [COC.femaleOld, OPT.female, OPT.old],
        ] as const
      ).map(([id, sex, age]) => ({
        id,
        name: id,
        categoryCombo: { id: 'ImpCcSxAg01' },
        categoryOptions: [{ id: sex }, { id: age }],
      })),
      ...(
        [
          [AOC.government, OPT.government],
          [AOC.partner, OPT.partner],
          [AOC.secret, OPT.secret],
        ] as const
      ).map(([id, option]) => ({
        id,
        name: id,
        categoryCombo: { id: 'ImpCcFund01' },
        categoryOptions: [{ id: option }],
      })),
    ],
    dataElements: [
      named(DE.cases, 'Imp cases', {
        valueType: 'INTEGER_ZERO_OR_POSITIVE',
        domainType: 'AGGREGATE',
        aggregationType: 'SUM',
        categoryCombo: { id: 'ImpCcSxAg01' },
      }),
      named(DE.free, 'Imp unshared', {
        valueType: 'NUMBER',
        domainType: 'AGGREGATE',
        aggregationType: 'SUM',
        categoryCombo: { id: DEFAULT_CATEGORY_COMBO_UID },
      }),
    ],
    dataSets: [
      named(DS.writable, 'Imp writable', {
        periodType: 'Monthly',
        categoryCombo: { id: 'ImpCcFund01' },
        dataSetElements: [{ dataElement: { id: DE.cases } }],
        ...groupShared('rw------', 'rwrw----'),
      }),
      // Older shape: the group may read its data, not write.
      named(DS.readOnly, 'Imp read only', {
        periodType: 'Monthly',
        categoryCombo: { id: 'ImpCcFund01' },
        dataSetElements: [{ dataElement: { id: DE.cases } }],
        publicAccess: 'rw------',
        userGroupAccesses: [{ id: GROUP, access: 'r-r-----' }],
      }),
      // No sharing information at all.
      named(DS.unshared, 'Imp unshared', {
        periodType: 'Monthly',
        categoryCombo: { id: DEFAULT_CATEGORY_COMBO_UID },
        dataSetElements: [{ dataElement: { id: DE.free } }],
      }),
    ],
  };
}

const HEADER = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';
const row = (coc: string, aoc: string, value = '5', ou = BO, pe = '202001', de: string = DE.cases) =>
  `${de},${pe},${ou},${coc},${aoc},${value}`;

/** The row index → code of each row's conflicts, for the check order. */
function codesByRow(summary: ImportSummary): string[][] {
  const out: string[][] = [];
  for (const conflict of summary.conflicts) {
    for (const index of conflict.indexes) (out[index] ??= []).push(conflict.errorCode);
  }
  return out;
}

function optionConflict(
  code: 'E7614' | 'E7616',
  combo: string,
  option: string,
  indexes: number[],
  property: 'categoryOptionCombo' | 'attributeOptionCombo' | 'completeDate' = code === 'E7614'
    ? 'categoryOptionCombo'
    : 'attributeOptionCombo',
): ImportConflict {
  const kind = code === 'E7614' ? 'Category' : 'Attribute';
  return {
    object: combo,
    objects: {
      [code === 'E7614' ? 'categoryOptionCombo' : 'attributeOptionCombo']: combo,
      categoryOption: option,
    },
    value: `${kind} option combo: \`${combo}\` option not accessible: \`${option}\``,
    errorCode: code,
    property,
    indexes,
  };
}

function e7601(dataSet: string): ImportConflict[] {
  return [
    {
      object: dataSet,
      objects: { dataSet },
      value: `User does not have write access for DataSet: \`${dataSet}\``,
      errorCode: 'E7601',
      property: 'dataSet',
      indexes: [],
    },
  ];
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data write sharing on data value import (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;
    let writer: DataValueImportPrincipal;
    let outsider: DataValueImportPrincipal;
    let admin: DataValueImportPrincipal;
    let files: ValueFiles;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        setup: async (context, db) => {
          await loadAggregateE2eMetadata(db.storage);
          await loadMetadataPayloads(db.storage, [sharingMetadata()]);
          await context.metadata.save('userRoles', [
            { id: 'roleImpShr1', name: 'Sharing importer', authorities: ['F_DATAVALUE_ADD'] },
          ]);
          for (const user of [WRITER, OUTSIDER]) {
            await context.users.createUser({
              ...user,
              firstName: 'Sharing',
              surname: 'Importer',
              roles: ['roleImpShr1'],
              orgUnits: [BO],
            });
          }
          await context.metadata.save('userGroups', [
            { id: GROUP, name: 'Imp writers', users: [{ id: WRITER.id }] },
          ]);
        },
      }));
      files = valueFiles(context, db.dataDir, 'sharing');
      writer = await context.auth.principalFor(WRITER.id);
      outsider = await context.auth.principalFor(OUTSIDER.id);
      admin = await context.auth.verifyPassword('admin', 'district');
    });
    after(() => stopTestApp({ db, context, app }));

    const importCsv = (
      rows: string[],
      principal: DataValueImportPrincipal | undefined,
      params: Record<string, string> = {},
    ) => files.importText(HEADER + rows.join('\n'), 'csv', params, principal);
    const importJson = (json: unknown, principal: DataValueImportPrincipal | undefined) =>
      files.importText(JSON.stringify(json), 'json', {}, principal);
    const count = async (): Promise<number> =>
      Number((await db.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value'))?.n);

    it('builds the principals under test: the writer in the group, the outsider in none, the admin with ALL', () => {
      assert.deepEqual(writer.userGroupUids, [GROUP]);
      assert.deepEqual(outsider.userGroupUids, []);
      assert.ok(admin.authorities.has('ALL'));
    });

    it('aborts on a data set the user may not write data of (E7601), and imports into one its group may', async () => {
      const before = await count();
      const allowed = await importCsv([row(COC.maleYoung, AOC.government, '1', BO, '201901')], writer, {
        dataSet: DS.writable,
      });
      assert.equal(allowed.status, 'SUCCESS', JSON.stringify(allowed.conflicts));
      assert.equal(allowed.importCount.imported, 1);

      for (const [who, dataSet] of [
        [writer, DS.readOnly],
        // The group grants the writable set, not public access: a user outside it is refused.
        [outsider, DS.writable],
      ] as const) {
        const refused = await importCsv([row(COC.maleYoung, AOC.government, '2', BO, '201902')], who, {
          dataSet,
        });
        assert.equal(refused.status, 'ERROR');
        assert.equal(refused.description, 'Import process was aborted');
        assert.deepEqual(refused.importCount, { imported: 0, updated: 0, ignored: 0, deleted: 0 });
        assert.deepEqual(refused.conflicts, e7601(dataSet));
      }

      // Named in the file's header, with no values and a completeDate: aborted, nothing completed.
      const byHeader = await importJson(
        { dataSet: DS.readOnly, period: '201903', orgUnit: BO, completeDate: '2019-04-01', dataValues: [] },
        writer,
      );
      assert.equal(byHeader.status, 'ERROR');
      assert.deepEqual(byHeader.conflicts, e7601(DS.readOnly));
      assert.equal(byHeader.dataSetComplete, 'false');
      const completions = await db.storage.queryOne<{ n: number }>(
        'SELECT COUNT(*) AS n FROM complete_registration',
      );
      assert.equal(Number(completions?.n), 0);
      assert.equal(await count(), before + 1);

      // An unknown data set is still E7600: existence is checked before access.
      const unknown = await importCsv([row(COC.maleYoung, AOC.government)], writer, {
        dataSet: 'noSuchDS001',
      });
      assert.deepEqual(
        unknown.conflicts.map((c) => c.errorCode),
        ['E7600'],
      );
    });

    it('refuses a value whose category option combo has options the user may not write data of (E7614), one conflict per option', async () => {
      const summary = await importCsv(
        [
          row(COC.maleYoung, AOC.government, '10', BO, '202002'),
          row(COC.maleOld, AOC.government, '11', BO, '202002'),
          row(COC.femaleYoung, AOC.government, '12', BO, '202002'),
          row(COC.femaleOld, AOC.government, '13', BO, '202002'),
          row(COC.maleOld, AOC.government, '14', BO, '202003'),
        ],
        writer,
      );
      assert.equal(summary.status, 'WARNING');
      assert.deepEqual(summary.importCount, { imported: 1, updated: 0, ignored: 4, deleted: 0 });
      assert.deepEqual(summary.conflicts, [
        optionConflict('E7614', COC.maleOld, OPT.old, [1, 4]),
        optionConflict('E7614', COC.femaleYoung, OPT.female, [2]),
        optionConflict('E7614', COC.femaleOld, OPT.female, [3]),
        optionConflict('E7614', COC.femaleOld, OPT.old, [3]),
      ]);
      assert.deepEqual(summary.rejectedIndexes, [1, 2, 3, 4]);
    });

    it('refuses a value whose attribute option combo has an option the user may not write data of (E7616)', async () => {
      const writerSummary = await importCsv(
        [
          row(COC.maleYoung, AOC.partner, '20', BO, '202004'),
          row(COC.maleYoung, AOC.secret, '21', BO, '202004'),
        ],
        writer,
        { dataSet: DS.writable },
      );
      assert.deepEqual(writerSummary.importCount, { imported: 1, updated: 0, ignored: 1, deleted: 0 });
      assert.deepEqual(writerSummary.conflicts, [optionConflict('E7616', AOC.secret, OPT.secret, [1])]);

      // The partner option is shared with the writer's group only.
      const outsiderSummary = await importCsv(
        [row(COC.maleYoung, AOC.partner, '22', BO, '202005')],
        outsider,
      );
      assert.deepEqual(outsiderSummary.conflicts, [optionConflict('E7616', AOC.partner, OPT.partner, [0])]);

      // Named by its options (DHIS2 2.43 JSON {category: option}), the combo is reported by UID.
      const byOptions = await importJson(
        {
          dataSet: DS.writable,
          dataValues: [
            {
              dataElement: DE.cases,
              period: '202006',
              orgUnit: BO,
              categoryOptionCombo: COC.maleYoung,
              attributeOptionCombo: { ImpCatFund1: OPT.secret },
              value: '23',
            },
          ],
        },
        writer,
      );
      assert.deepEqual(byOptions.conflicts, [optionConflict('E7616', AOC.secret, OPT.secret, [0])]);
    });

    it("reports a row's first problem in DHIS2 2.42's order around the sharing checks", async () => {
      const summary = await importCsv(
        [
          // E7612 before E7614: the org unit is resolved first.
          row(COC.maleOld, AOC.government, '1', 'noSuchOrgU1'),
          // E7613 before E7616.
          row('noSuchCoc01', AOC.secret),
          // E7614 before E7615 and before E7616.
          row(COC.maleOld, 'noSuchAoc01'),
          row(COC.maleOld, AOC.secret),
          // E7615 when the category option combo is writable.
          row(COC.maleYoung, 'noSuchAoc01'),
          // E7616 before E7617 (Sierra Leone is above the writer's Bo) and before E7619.
          row(COC.maleYoung, AOC.secret, '1', SIERRA_LEONE),
          row(COC.maleYoung, AOC.secret, 'abc'),
          // E7614 before E7619 and E7617.
          row(COC.femaleYoung, AOC.government, '-1', SIERRA_LEONE),
          // The sharing checks passed: the next problem is reported.
          row(COC.maleYoung, AOC.government, '1', SIERRA_LEONE),
          row(COC.maleYoung, AOC.partner, 'abc'),
        ],
        writer,
      );
      assert.deepEqual(codesByRow(summary), [
        ['E7612'],
        ['E7613'],
        ['E7614'],
        ['E7614'],
        ['E7615'],
        ['E7616'],
        ['E7616'],
        ['E7614'],
        ['E7617'],
        ['E7619'],
      ]);
      assert.equal(summary.importCount.imported, 0);
    });

    it('refuses a completeDate whose attribute option combo the user may not write data of (E7616)', async () => {
      const summary = await importJson(
        {
          dataSet: DS.writable,
          period: '202007',
          orgUnit: BO,
          attributeOptionCombo: AOC.secret,
          completeDate: '2020-08-01',
          dataValues: [],
        },
        writer,
      );
      assert.equal(summary.dataSetComplete, 'false');
      assert.deepEqual(summary.conflicts, [
        optionConflict('E7616', AOC.secret, OPT.secret, [], 'completeDate'),
      ]);
      const allowed = await importJson(
        {
          dataSet: DS.writable,
          period: '202007',
          orgUnit: BO,
          attributeOptionCombo: AOC.partner,
          completeDate: '2020-08-01',
          dataValues: [],
        },
        writer,
      );
      assert.equal(allowed.dataSetComplete, '2020-08-01', JSON.stringify(allowed.conflicts));
    });

    it('passes a superuser and the command line, and objects without sharing information, unchecked', async () => {
      const closed = [row(COC.femaleOld, AOC.secret, '30', BO, '202008')];
      for (const principal of [admin, undefined]) {
        const summary = await importCsv(closed, principal, { dataSet: DS.readOnly });
        assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
      }
      // No sharing information at all (the data set, the default combos; the young and government
      // options): public data write, so a user in no group may import.
      const unshared = await importCsv(
        [
          row(DEFAULT, DEFAULT, '31', BO, '202009', DE.free),
          row(COC.maleYoung, AOC.government, '32', BO, '202009'),
        ],
        outsider,
        { dataSet: DS.unshared },
      );
      // The second row's element is not in the unshared set: E7633, not a sharing conflict.
      assert.deepEqual(
        unshared.conflicts.map((c) => c.errorCode),
        ['E7633'],
      );
      assert.equal(unshared.importCount.imported, 1);
      const noDataSet = await importCsv([row(COC.maleYoung, AOC.government, '33', BO, '202010')], outsider);
      assert.equal(noDataSet.status, 'SUCCESS', JSON.stringify(noDataSet.conflicts));
    });

    it('checks the principal of POST /api/dataValueSets, synchronous and async, with its user groups', async () => {
      const post = (query: string, csv: string, user: { username: string; password: string }) =>
        app.inject({
          method: 'POST',
          url: `/api/dataValueSets?${query}`,
          headers: {
            authorization: basicAuth(user.username, user.password),
            'content-type': 'application/csv',
          },
          payload: csv,
        });
      const refused = await post(
        `dataSet=${DS.readOnly}`,
        HEADER + row(COC.maleYoung, AOC.government),
        WRITER,
      );
      assert.equal(refused.statusCode, 409, refused.body);
      const message = refused.json<{ response: ImportSummary }>();
      assert.deepEqual(message.response.conflicts, e7601(DS.readOnly));
      // The group is what lets the writer in: it reaches the import through the route's principal.
      const allowed = await post(
        `dataSet=${DS.writable}`,
        HEADER + row(COC.maleYoung, AOC.partner, '40', BO, '202011'),
        WRITER,
      );
      assert.equal(allowed.statusCode, 200, allowed.body);
      assert.equal(allowed.json<{ response: ImportSummary }>().response.importCount.imported, 1);

      await context.jobs.start();
      const queued = await post(
        'async=true',
        HEADER +
          [row(COC.maleYoung, AOC.partner, '41', BO, '202012'), row(COC.maleOld, AOC.partner)].join('\n'),
        WRITER,
      );
      assert.equal(queued.statusCode, 200, queued.body);
      const id = queued.json<{ response: { id: string } }>().response.id;
      const job = await waitForJob(context, id, 30_000);
      assert.equal(job.status, 'COMPLETED', String(job.error));
      const summary = job.summary as ImportSummary;
      assert.equal(summary.importCount.imported, 1, JSON.stringify(summary.conflicts));
      assert.deepEqual(summary.conflicts, [optionConflict('E7614', COC.maleOld, OPT.old, [1])]);
    });
  });
}
