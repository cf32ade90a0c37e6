import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';

/**
 * DHIS2's `/api/completeDataSetRegistrations` beyond the JSON list and register that
 * dhis2-client-compat.test.ts covers: DELETE with `ds`, `pe`, `ou`, `cc`, `cp`, `multiOu` (204,
 * DHIS2's 409 messages, only units the data set is assigned to), and the XML list and register.
 */

const DATA_SET = 'qNtxTrp56wV'; // Yearly; assigned to Sierra Leone, Bo, Badjia, Njandama
const BO = 'O6uvpzGd5pu';
const BADJIA = 'YuQRtpLP10I'; // child of Bo
const NGELEHUN = 'DiszpKrYNg8'; // child of Badjia, the data set is not assigned to it
const CLERK = { id: 'cdsrClerk01', username: 'cdsr.clerk', password: 'Clerk-password-1' } as const;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`complete data set registrations on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;
    const asAdmin = (options: InjectOptions): Promise<LightMyRequestResponse> =>
      app.inject({ ...options, headers: { authorization: ADMIN_AUTH, ...options.headers } });

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (_context, db) => loadAggregateE2eMetadata(db.storage),
        setup: async (context) => {
          await context.storage.transaction((tx) =>
            context.metadata
              .withExecutor(tx)
              .save('userRoles', [
                { id: 'cdsrRole001', name: 'CDSR clerk', authorities: ['F_DATAVALUE_ADD'] },
              ]),
          );
          await context.users.createUser({ ...CLERK, roles: ['cdsrRole001'], orgUnits: [NGELEHUN] });
        },
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    const register = async (orgUnits: string[], period = '2017'): Promise<void> => {
      const response = await asAdmin({
        method: 'POST',
        url: '/api/completeDataSetRegistrations',
        payload: {
          completeDataSetRegistrations: orgUnits.map((organisationUnit) => ({
            dataSet: DATA_SET,
            period,
            organisationUnit,
            date: '2018-01-10',
          })),
        },
      });
      assert.equal(response.statusCode, 200, response.body);
    };
    const registered = async (period = '2017'): Promise<string[]> => {
      const response = await asAdmin({
        url: `/api/completeDataSetRegistrations?dataSet=${DATA_SET}&period=${period}&orgUnit=ImspTQPwCqd&children=true`,
      });
      assert.equal(response.statusCode, 200, response.body);
      return response
        .json<{ completeDataSetRegistrations: { organisationUnit: string }[] }>()
        .completeDataSetRegistrations.map((r) => r.organisationUnit)
        .sort();
    };
    const remove = (query: string, authorization = ADMIN_AUTH) =>
      app.inject({
        method: 'DELETE',
        url: `/api/completeDataSetRegistrations?${query}`,
        headers: { authorization },
      });

    it('DELETE un-registers one org unit (204), then with multiOu=true the unit and its children the data set is assigned to', async () => {
      await register([BO, BADJIA, NGELEHUN]);
      assert.deepEqual(await registered(), [NGELEHUN, BO, BADJIA].sort());

      const single = await remove(`ds=${DATA_SET}&pe=2017&ou=${BADJIA}&multiOu=false`);
      assert.equal(single.statusCode, 204, single.body);
      assert.equal(single.body, '');
      assert.deepEqual(await registered(), [NGELEHUN, BO].sort());

      await register([BADJIA]);
      // Versioned path, as DHIS2's apps call it; Ngelehun is a grandchild (and not assigned): kept.
      const multi = await app.inject({
        method: 'DELETE',
        url: `/api/41/completeDataSetRegistrations?ds=${DATA_SET}&pe=2017&ou=${BO}&multiOu=true`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(multi.statusCode, 204, multi.body);
      assert.deepEqual(await registered(), [NGELEHUN]);

      // A unit the data set is not assigned to is left alone, as DHIS2 does; still 204.
      const unassigned = await remove(`ds=${DATA_SET}&pe=2017&ou=${NGELEHUN}`);
      assert.equal(unassigned.statusCode, 204);
      assert.deepEqual(await registered(), [NGELEHUN]);

      // cc + cp naming the default combo's option is the same attribute option combo.
      await register([BO], '2016');
      const byCombo = await app.inject({
        method: 'DELETE',
        url: `/api/completeDataSetRegistrations?ds=${DATA_SET}&pe=2016&ou=${BO}&cc=bjDvmb4bfuf&cp=xYerKDKCefk`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(byCombo.statusCode, 204, byCombo.body);
      assert.deepEqual(await registered('2016'), []);
    });

    it("XML: registers from DHIS2's XML (attributes), lists as XML by .xml and by Accept; malformed XML is a 400 naming the line", async () => {
      const xml =
        '<?xml version="1.0" encoding="UTF-8"?>' +
        '<completeDataSetRegistrations xmlns="http://dhis2.org/schema/dxf/2.0">' +
        `<completeDataSetRegistration dataSet="${DATA_SET}" period="2015" organisationUnit="${BO}" date="2016-02-01" completed="true"/>` +
        `<completeDataSetRegistration dataSet="noSuchDS001" period="2015" organisationUnit="${BO}"/>` +
        '</completeDataSetRegistrations>';
      const posted = await asAdmin({
        method: 'POST',
        url: '/api/41/completeDataSetRegistrations',
        headers: { 'content-type': 'application/xml' },
        payload: xml,
      });
      assert.equal(posted.statusCode, 200, posted.body);
      const summary = posted.json<{
        response: { importCount: { imported: number; ignored: number }; conflicts: { indexes: number[] }[] };
      }>().response;
      assert.deepEqual([summary.importCount.imported, summary.importCount.ignored], [1, 1]);
      assert.deepEqual(summary.conflicts[0].indexes, [1]);

      const listed = await asAdmin({
        url: `/api/completeDataSetRegistrations.xml?dataSet=${DATA_SET}&period=2015&orgUnit=${BO}`,
      });
      assert.equal(listed.statusCode, 200, listed.body);
      assert.match(String(listed.headers['content-type']), /application\/xml/);
      assert.match(
        listed.body,
        /^<\?xml version="1.0" encoding="UTF-8"\?>\n<completeDataSetRegistrations xmlns="http:\/\/dhis2.org\/schema\/dxf\/2.0">/,
      );
      assert.match(
        listed.body,
        new RegExp(
          `<completeDataSetRegistration dataSet="${DATA_SET}" period="2015" organisationUnit="${BO}" attributeOptionCombo="HllvX50cXC0" date="2016-02-01" storedBy="admin" lastUpdated="[^"]+" completed="true"/></completeDataSetRegistrations>`,
        ),
      );
      const byAccept = await asAdmin({
        url: `/api/completeDataSetRegistrations?dataSet=${DATA_SET}&period=2015&orgUnit=${BO}`,
        headers: { accept: 'application/xml' },
      });
      assert.equal(byAccept.body, listed.body);
      const json = await asAdmin({
        url: `/api/completeDataSetRegistrations.json?dataSet=${DATA_SET}&period=2015&orgUnit=${BO}`,
      });
      assert.equal(
        json.json<{ completeDataSetRegistrations: unknown[] }>().completeDataSetRegistrations.length,
        1,
      );

      const malformed = await asAdmin({
        method: 'POST',
        url: '/api/completeDataSetRegistrations',
        headers: { 'content-type': 'text/xml' },
        payload:
          '<completeDataSetRegistrations>\n<completeDataSetRegistration dataSet="x"></completeDataSetRegistrations>',
      });
      assert.equal(malformed.statusCode, 400, malformed.body);
      assert.match(malformed.json<{ message: string }>().message, /line 2/);
    });

    it("DELETE refuses as DHIS2 does: unknown data set, period or org unit, locked period (409 with DHIS2's message)", async () => {
      const cases: [string, RegExp][] = [
        [`ds=${DATA_SET},noSuchDS001&pe=2017&ou=${BO}`, /Illegal data set identifier in this list/],
        [`ds=${DATA_SET}&pe=2017Q9&ou=${BO}`, /Illegal period identifier: 2017Q9/],
        [`ds=${DATA_SET}&pe=2017&ou=noSuchOU001`, /Illegal organisation unit identifier: noSuchOU001/],
        // No open future periods: next year is locked.
        [
          `ds=${DATA_SET}&pe=${new Date().getUTCFullYear() + 1}&ou=${BO}`,
          /Locked Data set\(s\) : qNtxTrp56wV/,
        ],
      ];
      for (const [query, message] of cases) {
        const response = await remove(query);
        assert.equal(response.statusCode, 409, `${query}: ${response.body}`);
        assert.match(response.json<{ message: string }>().message, message);
      }
      const missing = await remove(`pe=2017&ou=${BO}`);
      assert.equal(missing.statusCode, 400, missing.body);
    });

    it('DELETE binds the caller as registering does: the authority, and the import checks (here data write sharing, E7601)', async () => {
      await register([BO]);
      const clerk = basicAuth(CLERK.username, CLERK.password);
      const outside = await remove(`ds=${DATA_SET}&pe=2017&ou=${BO}`, clerk);
      assert.equal(outside.statusCode, 409, outside.body);
      assert.match(
        outside.json<{ message: string }>().message,
        /cannot be un-registered for O6uvpzGd5pu, 2017: E7601 User does not have write access for DataSet/,
      );
      assert.ok((await registered()).includes(BO), 'nothing removed');

      await context.users.createUser({
        id: 'cdsrViewer1',
        username: 'cdsr.viewer',
        password: 'Viewer-password-1',
        roles: [],
        orgUnits: [BO],
      });
      const noAuthority = await remove(
        `ds=${DATA_SET}&pe=2017&ou=${BO}`,
        basicAuth('cdsr.viewer', 'Viewer-password-1'),
      );
      assert.equal(noAuthority.statusCode, 403, noAuthority.body);
      assert.ok((await registered()).includes(BO));
    });

    it('POST with completed:false un-completes (JSON and XML), dry run first; refused as registering is, and nothing removed', async () => {
      await register([BO, BADJIA], '2016');
      assert.deepEqual(await registered('2016'), [BO, BADJIA].sort());
      type Summary = {
        status: string;
        importCount: { imported: number; deleted: number; ignored: number };
        conflicts: { errorCode: string; indexes?: number[] }[];
      };
      const post = (payload: unknown, query = '', authorization = ADMIN_AUTH) =>
        app.inject({
          method: 'POST',
          url: `/api/completeDataSetRegistrations${query}`,
          payload: payload as string,
          headers: {
            authorization,
            'content-type': typeof payload === 'string' ? 'application/xml' : 'application/json',
          },
        });
      const undoBo = {
        completeDataSetRegistrations: [
          { dataSet: DATA_SET, period: '2016', organisationUnit: BO, completed: false },
        ],
      };

      const dry = await post(undoBo, '?dryRun=true');
      assert.equal(dry.statusCode, 200, dry.body);
      assert.deepEqual(dry.json<{ response: Summary }>().response.importCount, {
        imported: 0,
        updated: 0,
        ignored: 0,
        deleted: 1,
      });
      assert.deepEqual(await registered('2016'), [BO, BADJIA].sort(), 'a dry run removes nothing');

      // The clerk may capture only in Ngelehun, and has no write sharing: refused, as registering is.
      const clerk = basicAuth(CLERK.username, CLERK.password);
      const refused = await post(undoBo, '', clerk);
      assert.equal(refused.statusCode, 409, refused.body);
      const refusedSummary = refused.json<{ response: Summary }>().response;
      assert.equal(refusedSummary.status, 'ERROR');
      assert.equal(refusedSummary.importCount.ignored, 1);
      assert.ok(
        refusedSummary.conflicts.some((c) => c.errorCode === 'E7601' && c.indexes?.[0] === 0),
        JSON.stringify(refusedSummary.conflicts),
      );
      assert.deepEqual(await registered('2016'), [BO, BADJIA].sort());

      const done = await post(undoBo);
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json<{ response: Summary }>().response.importCount.deleted, 1);
      assert.deepEqual(await registered('2016'), [BADJIA]);

      const xml = await post(
        `<completeDataSetRegistrations xmlns="http://dhis2.org/schema/dxf/2.0">` +
          `<completeDataSetRegistration dataSet="${DATA_SET}" period="2016" organisationUnit="${BADJIA}" completed="false"/>` +
          `<completeDataSetRegistration dataSet="${DATA_SET}" period="2016" organisationUnit="${BO}" completed="false"/>` +
          `</completeDataSetRegistrations>`,
      );
      assert.equal(xml.statusCode, 200, xml.body);
      // Badjia removed; Bo was no longer complete: nothing to do, counted nowhere.
      assert.deepEqual(xml.json<{ response: Summary }>().response.importCount, {
        imported: 0,
        updated: 0,
        ignored: 0,
        deleted: 1,
      });
      assert.deepEqual(await registered('2016'), []);

      const bad = await post({
        completeDataSetRegistrations: [
          { dataSet: DATA_SET, period: '2016', organisationUnit: BO, completed: 'maybe' },
        ],
      });
      assert.equal(bad.statusCode, 400, bad.body);
    });
  });
}
