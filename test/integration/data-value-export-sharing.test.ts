import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
} from '../../src/domain/category/default-category-model.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata, loadMetadataPayloads } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { importAggregateE2eValues, importJsonValues } from '../support/data-value-imports.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';

/*
 * Data sharing on `GET /api/dataValueSets` and `GET /api/dataSets/{uid}/form.pdf`, over HTTP, as
 * DHIS2 decides it: E2010 for a requested data set the user may not read data of, E2011 for a
 * requested attribute option combo with a category option the user may not read data of, and,
 * without requested combos, the values of such combos left out.
 *
 * DHIS2's aggregate fixture shares both its data sets with one user group only (`rwrw----`, public
 * `--------`, the 2.36+ `sharing` object). Here the annual data set is re-shared, in the older
 * `publicAccess`/`userGroupAccesses` shape, with another group, so each user reads one data set's
 * data and not the other's. A funding attribute combo has one public option, one shared (older
 * shape) with the malaria group, and one owned by the malaria member yet closed to data.
 */

const SIERRA_LEONE = 'ImspTQPwCqd';
const BO = 'O6uvpzGd5pu';
const MONTHLY = 'VEM58nY22sO';
const ANNUAL = 'qNtxTrp56wV';
const MALARIA_GROUP = 'OPVIvvXzNTw';
const ANNUAL_GROUP = 'ShrGroupAn1';
const MEMBER = { id: 'shrMember01', username: 'malaria.member', password: 'Member-password-1' };
const OTHER = { id: 'shrOther001', username: 'annual.member', password: 'Other-password-1' };
const MEMBER_AUTH = basicAuth(MEMBER.username, MEMBER.password);
const OTHER_AUTH = basicAuth(OTHER.username, OTHER.password);

const FUNDING_SET = 'ShrDsFund01';
const FUNDS = 'ShrDeFunds1';
const AOC = { government: 'ShrAocGov01', partner: 'ShrAocPart1', secret: 'ShrAocSecr1' } as const;
/** The funding value stored under each attribute option combo (period 202001, Bo). */
const FUNDING_VALUE: Readonly<Record<string, string>> = {
  [AOC.government]: '100',
  [AOC.partner]: '200',
  [AOC.secret]: '300',
};

function fundingMetadata(): Record<string, MetadataObject[]> {
  const option = (id: string, name: string, sharing: Record<string, unknown>): MetadataObject => ({
    id,
    name,
    shortName: name,
    ...sharing,
  });
  return {
    categoryOptions: [
      option('ShrOptGov01', 'Government', { sharing: { public: 'rwrw----', users: {}, userGroups: {} } }),
      option('ShrOptPart1', 'Partner', {
        publicAccess: 'rw------',
        userGroupAccesses: [{ userGroupUid: MALARIA_GROUP, access: 'r-r-----' }],
      }),
      // Owned by the malaria member: the owner gets metadata access only, never data access.
      option('ShrOptSecr1', 'Undisclosed donor', {
        sharing: { owner: MEMBER.id, public: 'rw------', users: {}, userGroups: {} },
      }),
    ],
    categories: [
      {
        id: 'ShrCatFund1',
        name: 'Funding source',
        shortName: 'Funding source',
        dataDimensionType: 'ATTRIBUTE',
        categoryOptions: [{ id: 'ShrOptGov01' }, { id: 'ShrOptPart1' }, { id: 'ShrOptSecr1' }],
      },
    ],
    categoryCombos: [
      {
        id: 'ShrCcFund01',
        name: 'Funding source',
        dataDimensionType: 'ATTRIBUTE',
        categories: [{ id: 'ShrCatFund1' }],
      },
    ],
    categoryOptionCombos: [
      {
        id: AOC.government,
        name: 'Government',
        categoryCombo: { id: 'ShrCcFund01' },
        categoryOptions: [{ id: 'ShrOptGov01' }],
      },
      {
        id: AOC.partner,
        name: 'Partner',
        categoryCombo: { id: 'ShrCcFund01' },
        categoryOptions: [{ id: 'ShrOptPart1' }],
      },
      {
        id: AOC.secret,
        name: 'Undisclosed donor',
        categoryCombo: { id: 'ShrCcFund01' },
        categoryOptions: [{ id: 'ShrOptSecr1' }],
      },
    ],
    dataElements: [
      {
        id: FUNDS,
        name: 'Funds received',
        shortName: 'Funds received',
        valueType: 'INTEGER_ZERO_OR_POSITIVE',
        domainType: 'AGGREGATE',
        aggregationType: 'SUM',
        categoryCombo: { id: DEFAULT_CATEGORY_COMBO_UID },
      },
    ],
    // No sharing information at all: public data read and write (docs/formats/data-values.md).
    dataSets: [
      {
        id: FUNDING_SET,
        name: 'Funding',
        shortName: 'Funding',
        periodType: 'Monthly',
        categoryCombo: { id: 'ShrCcFund01' },
        dataSetElements: [{ dataElement: { id: FUNDS } }],
        organisationUnits: [{ id: BO }],
      },
    ],
  };
}

interface WebMessage {
  httpStatusCode: number;
  status: string;
  errorCode: string;
  message: string;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data sharing on data value exports (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        setup: async (context, db) => {
          await loadAggregateE2eMetadata(db.storage);
          await loadMetadataPayloads(db.storage, [fundingMetadata()]);
          const annual = await context.metadata.get('dataSets', ANNUAL);
          const { sharing: _replaced, ...rest } = annual!;
          await context.metadata.save('dataSets', [
            {
              ...rest,
              publicAccess: 'rw------',
              userGroupAccesses: [{ id: ANNUAL_GROUP, access: 'rwrw----' }],
            },
          ]);
          await importAggregateE2eValues(context);
          await importJsonValues(
            context,
            join(db.dataDir, 'funding.json'),
            Object.entries(FUNDING_VALUE).map(([aoc, value]) => ({
              dataElement: FUNDS,
              period: '202001',
              orgUnit: BO,
              attributeOptionCombo: aoc,
              value,
            })),
          );

          await context.metadata.save('userRoles', [
            { id: 'roleShrExp1', name: 'Data exporter', authorities: ['F_EXPORT_DATA'] },
          ]);
          for (const user of [MEMBER, OTHER]) {
            await context.users.createUser({
              ...user,
              firstName: 'Sharing',
              surname: 'Tester',
              roles: ['roleShrExp1'],
              orgUnits: [SIERRA_LEONE],
            });
          }
          await context.metadata.save('userGroups', [
            { id: MALARIA_GROUP, name: 'Malaria team', users: [{ id: MEMBER.id }] },
            { id: ANNUAL_GROUP, name: 'Annual reporting', users: [{ id: OTHER.id }] },
          ]);
        },
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    async function get(url: string, authorization: string) {
      return app.inject({ url, headers: { authorization } });
    }

    function refusal(response: { statusCode: number; body: string }, code: string, uid: string): void {
      assert.equal(response.statusCode, 409, response.body);
      const message = JSON.parse(response.body) as WebMessage;
      assert.equal(message.errorCode, code);
      assert.equal(message.httpStatusCode, 409);
      assert.equal(message.status, 'ERROR');
      assert.match(message.message, new RegExp(`\`${uid}\``));
    }

    /** Data lines of a CSV export. */
    function lines(body: string): string[] {
      return body.trim().split('\n').slice(1);
    }

    /** Sorted `attributeoptioncombo=value` of a CSV export's lines. */
    function fundingValues(body: string): string[] {
      return lines(body)
        .map((line) => {
          const fields = line.split(',');
          return `${fields[4]}=${fields[5]}`;
        })
        .sort();
    }

    const monthly = `dataSet=${MONTHLY}&orgUnit=${SIERRA_LEONE}&children=true&period=201912`;
    const annual = `dataSet=${ANNUAL}&orgUnit=${SIERRA_LEONE}&children=true&period=2018`;
    const fundingQuery = `dataSet=${FUNDING_SET}&orgUnit=${SIERRA_LEONE}&children=true&period=202001`;

    it('resolves the user groups of a principal from the groups that list the user', async () => {
      assert.deepEqual((await context.auth.principalFor(MEMBER.id)).userGroupUids, [MALARIA_GROUP]);
      assert.deepEqual((await context.auth.principalFor(OTHER.id)).userGroupUids, [ANNUAL_GROUP]);
    });

    it('refuses a requested data set whose data the user may not read (E2010), and exports the one it may', async () => {
      const member = await get(`/api/dataValueSets.csv?${monthly}`, MEMBER_AUTH);
      assert.equal(member.statusCode, 200, member.body);
      assert.equal(lines(member.body).length, 222);
      refusal(await get(`/api/dataValueSets.csv?${annual}`, MEMBER_AUTH), 'E2010', ANNUAL);
      refusal(
        await get(`/api/dataValueSets.json?${monthly}&dataSet=${ANNUAL}`, MEMBER_AUTH),
        'E2010',
        ANNUAL,
      );

      // The older publicAccess/userGroupAccesses shape grants the other group the annual set only.
      const other = await get(`/api/dataValueSets.csv?${annual}`, OTHER_AUTH);
      assert.equal(other.statusCode, 200, other.body);
      assert.equal(lines(other.body).length, 9);
      refusal(await get(`/api/dataValueSets.csv?${monthly}`, OTHER_AUTH), 'E2010', MONTHLY);

      const admin = await get(`/api/dataValueSets.csv?${annual}`, ADMIN_AUTH);
      assert.equal(lines(admin.body).length, 9, 'a superuser passes sharing');
    });

    it('lets everyone read data of a data set with no sharing information', async () => {
      for (const auth of [MEMBER_AUTH, OTHER_AUTH]) {
        const response = await get(
          `/api/dataValueSets.csv?${fundingQuery}&attributeOptionCombo=${AOC.government}`,
          auth,
        );
        assert.equal(response.statusCode, 200, response.body);
        assert.deepEqual(fundingValues(response.body), [`${AOC.government}=100`]);
      }
    });

    it('refuses a requested attribute option combo whose category options the user may not read (E2011)', async () => {
      refusal(
        await get(`/api/dataValueSets.csv?${fundingQuery}&attributeOptionCombo=${AOC.secret}`, MEMBER_AUTH),
        'E2011',
        AOC.secret,
      );
      const partner = await get(
        `/api/dataValueSets.csv?${fundingQuery}&attributeOptionCombo=${AOC.partner}`,
        MEMBER_AUTH,
      );
      assert.equal(partner.statusCode, 200, partner.body);
      assert.deepEqual(fundingValues(partner.body), [`${AOC.partner}=200`]);
      refusal(
        await get(`/api/dataValueSets.csv?${fundingQuery}&attributeOptionCombo=${AOC.partner}`, OTHER_AUTH),
        'E2011',
        AOC.partner,
      );
      // One closed combo among several refuses the request.
      refusal(
        await get(
          `/api/dataValueSets.csv?${fundingQuery}&attributeOptionCombo=${AOC.government},${AOC.partner}`,
          OTHER_AUTH,
        ),
        'E2011',
        AOC.partner,
      );
      // The default combo is always readable, whatever its options' sharing says.
      const defaultCombo = await get(
        `/api/dataValueSets.csv?${annual}&attributeOptionCombo=${DEFAULT_CATEGORY_OPTION_COMBO_UID}`,
        OTHER_AUTH,
      );
      assert.equal(lines(defaultCombo.body).length, 9);
      const admin = await get(
        `/api/dataValueSets.csv?${fundingQuery}&attributeOptionCombo=${AOC.secret}`,
        ADMIN_AUTH,
      );
      assert.deepEqual(fundingValues(admin.body), [`${AOC.secret}=300`]);
    });

    it('leaves out values whose attribute option combo the user may not read when none is named', async () => {
      const admin = await get(`/api/dataValueSets.csv?${fundingQuery}`, ADMIN_AUTH);
      assert.deepEqual(fundingValues(admin.body), [
        `${AOC.government}=100`,
        `${AOC.partner}=200`,
        `${AOC.secret}=300`,
      ]);
      const member = await get(`/api/dataValueSets.csv?${fundingQuery}`, MEMBER_AUTH);
      assert.equal(member.statusCode, 200, member.body);
      assert.deepEqual(fundingValues(member.body), [`${AOC.government}=100`, `${AOC.partner}=200`]);
      const other = await get(`/api/dataValueSets.csv?${fundingQuery}`, OTHER_AUTH);
      assert.deepEqual(fundingValues(other.body), [`${AOC.government}=100`]);
      // Every format reads the same rows.
      const json = await get(`/api/dataValueSets.json?${fundingQuery}`, OTHER_AUTH);
      const values = (JSON.parse(json.body) as { dataValues: Array<{ attributeOptionCombo: string }> })
        .dataValues;
      assert.deepEqual(
        values.map((v) => v.attributeOptionCombo),
        [AOC.government],
      );
      // By data element too: the filter is on the combo, not on how the values were selected.
      const byElement = await get(
        `/api/dataValueSets.csv?dataElement=${FUNDS}&orgUnit=${BO}&period=202001`,
        MEMBER_AUTH,
      );
      assert.deepEqual(fundingValues(byElement.body), [`${AOC.government}=100`, `${AOC.partner}=200`]);
    });

    it('refuses the PDF form of a data set whose data the user may not read (E2010)', async () => {
      const member = await get(`/api/dataSets/${MONTHLY}/form.pdf`, MEMBER_AUTH);
      assert.equal(member.statusCode, 200, member.body);
      assert.equal(member.rawPayload.subarray(0, 5).toString(), '%PDF-');
      refusal(await get(`/api/dataSets/${ANNUAL}/form.pdf`, MEMBER_AUTH), 'E2010', ANNUAL);
      refusal(await get(`/api/dataSets/${MONTHLY}/form.pdf?orgUnit=${BO}`, OTHER_AUTH), 'E2010', MONTHLY);
      const admin = await get(`/api/dataSets/${ANNUAL}/form.pdf`, ADMIN_AUTH);
      assert.equal(admin.statusCode, 200);
    });

    // Last: it adds metadata the other tests don't expect.
    it('lists the readable combos instead when more are closed than one statement may list', async () => {
      const many = Array.from({ length: 10_001 }, (_, i) => ({
        id: `ShrMany${String(i).padStart(4, '0')}`,
        name: `Closed combo ${i}`,
        categoryCombo: { id: 'ShrCcFund01' },
        categoryOptions: [{ id: 'ShrOptSecr1' }],
      }));
      await db.storage.transaction((tx) =>
        context.metadata.withExecutor(tx).saveMany('categoryOptionCombos', many),
      );
      const other = await get(`/api/dataValueSets.csv?${fundingQuery}`, OTHER_AUTH);
      assert.equal(other.statusCode, 200, other.body);
      assert.deepEqual(fundingValues(other.body), [`${AOC.government}=100`]);
      const member = await get(`/api/dataValueSets.csv?${fundingQuery}`, MEMBER_AUTH);
      assert.deepEqual(fundingValues(member.body), [`${AOC.government}=100`, `${AOC.partner}=200`]);
    });

    it('applies the same sharing to a queued export, checked when the job runs', async () => {
      await context.jobs.start();
      const queue = async (auth: string) => {
        const reply = await app.inject({
          method: 'POST',
          url: '/api/exports',
          headers: { authorization: auth },
          payload: {
            kind: 'dataValues',
            format: 'csv',
            params: { dataSet: MONTHLY, period: '201912', orgUnit: SIERRA_LEONE, children: 'true' },
          },
        });
        assert.equal(reply.statusCode, 201, reply.body);
        return waitForJob(context, reply.json<{ id: string }>().id, 30_000);
      };
      const refused = await queue(OTHER_AUTH);
      assert.equal(refused.status, 'FAILED');
      assert.match(String(refused.error), new RegExp(`data set: \`${MONTHLY}\``));
      const allowed = await queue(MEMBER_AUTH);
      assert.equal(allowed.status, 'COMPLETED', String(allowed.error));
    });
  });
}
