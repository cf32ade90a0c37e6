import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { importAggregateE2eValues, importJsonValues } from '../support/data-value-imports.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';

const QUERY = 'dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&children=true&startDate=2019-01-01&endDate=2019-12-31';
const BADJIA = 'YuQRtpLP10I';
const VIEWER = { id: 'viewerUser1', username: 'badjia.viewer', password: 'Viewer-password-1' };
/** The user group the fixture's data sets share data read and write with (`rwrw----`). */
const MALARIA_GROUP = 'OPVIvvXzNTw';

/**
 * Values of January 2020 on both sides of the viewer's scope (Badjia and below): Badjia and
 * Njandama MCHP inside it, Bo (Badjia's parent) and Sierra Leone above it. Each value is distinct,
 * so an export shows exactly which ones left.
 */
const SCOPE_VALUES = [
  { orgUnit: BADJIA, dataElement: 'M91K9z70dl4', value: '11' },
  { orgUnit: BADJIA, dataElement: 'l7gcisIvTBN', value: '12' },
  { orgUnit: 'g8upMTyEZGZ', dataElement: 'M91K9z70dl4', value: '21' },
  { orgUnit: 'g8upMTyEZGZ', dataElement: 'l7gcisIvTBN', value: '22' },
  { orgUnit: 'O6uvpzGd5pu', dataElement: 'M91K9z70dl4', value: '31' },
  { orgUnit: 'O6uvpzGd5pu', dataElement: 'l7gcisIvTBN', value: '32' },
  { orgUnit: 'ImspTQPwCqd', dataElement: 'M91K9z70dl4', value: '41' },
];
const IN_SCOPE = SCOPE_VALUES.filter((v) => v.orgUnit === BADJIA || v.orgUnit === 'g8upMTyEZGZ');

/** `orgunit/dataelement=value` of each CSV data line, sorted. */
function csvValues(body: string): string[] {
  return body
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [dataElement, , orgUnit, , , value] = line.split(',');
      return `${orgUnit}/${dataElement}=${value}`;
    })
    .sort();
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value export over HTTP (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        setup: async (context, db) => {
          await loadAggregateE2eMetadata(db.storage);
          await importAggregateE2eValues(context);
          await importJsonValues(
            context,
            join(db.dataDir, 'scope-values.json'),
            SCOPE_VALUES.map((v) => ({ ...v, period: '202001' })),
          );
          await context.metadata.save('userRoles', [
            { id: 'roleExport1', name: 'Data exporter', authorities: ['F_EXPORT_DATA'] },
          ]);
          await context.users.createUser({
            ...VIEWER,
            firstName: 'Badjia',
            surname: 'Viewer',
            roles: ['roleExport1'],
            orgUnits: [BADJIA],
          });
          // The fixture's data sets share data only with this group: the viewer is a member.
          await context.metadata.save('userGroups', [
            { id: MALARIA_GROUP, name: 'Malaria team', users: [{ id: VIEWER.id }] },
          ]);
        },
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    it('streams CSV with DHIS2 header, and JSON by default', async () => {
      const csv = await app.inject({
        url: `/api/dataValueSets.csv?${QUERY}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(csv.statusCode, 200);
      assert.match(String(csv.headers['content-type']), /application\/csv/);
      const lines = csv.body.trim().split('\n');
      assert.equal(
        lines[0],
        'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted',
      );
      assert.equal(lines.length, 1 + 222);
      const json = await app.inject({
        url: `/api/dataValueSets?${QUERY}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(json.statusCode, 200);
      assert.equal((JSON.parse(json.body) as { dataValues: unknown[] }).dataValues.length, 222);
      const xml = await app.inject({
        url: `/api/dataValueSets?${QUERY}`,
        headers: { authorization: ADMIN_AUTH, accept: 'application/xml' },
      });
      assert.match(xml.body, /^<\?xml[^>]*>\n<dataValueSet xmlns="http:\/\/dhis2.org\/schema\/dxf\/2.0">/);
    });

    it('compresses with DHIS2 file names', async () => {
      const gz = await app.inject({
        url: `/api/dataValueSets.json.gz?${QUERY}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(gz.statusCode, 200);
      assert.match(
        String(gz.headers['content-disposition']),
        /^attachment; filename="dataValues_2019-01-01_2019-12-31\.json\.gz"/,
      );
      const parsed = JSON.parse(gunzipSync(gz.rawPayload).toString('utf8')) as { dataValues: unknown[] };
      assert.equal(parsed.dataValues.length, 222);
      const zip = await app.inject({
        url: `/api/dataValueSets.csv.zip?${QUERY}&attachment=district.csv`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.match(
        String(zip.headers['content-disposition']),
        /^attachment; filename="district_2019-01-01_2019-12-31\.csv\.zip"/,
      );
      assert.deepEqual([...zip.rawPayload.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04]);
      assert.ok(zip.rawPayload.includes(Buffer.from('district_2019-01-01_2019-12-31.csv')));
    });

    it("answers incomplete requests with DHIS2's E2001-E2008", async () => {
      const cases: Array<[string, string]> = [
        ['orgUnit=ImspTQPwCqd&period=201912', 'E2001'],
        ['dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd', 'E2002'],
        [
          'dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&period=201912&startDate=2019-01-01&endDate=2019-02-01',
          'E2003',
        ],
        ['dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&startDate=2019-12-01&endDate=2019-01-01', 'E2004'],
        ['dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&lastUpdatedDuration=10x', 'E2005'],
        ['dataSet=VEM58nY22sO&period=201912', 'E2006'],
        ['dataSet=VEM58nY22sO&period=201912&orgUnitGroup=x&children=true&orgUnit=ImspTQPwCqd', 'E2007'],
        ['dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&period=201912&limit=-1', 'E2009'],
      ];
      for (const [query, code] of cases) {
        const response = await app.inject({
          url: `/api/dataValueSets.json?${query}`,
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(response.statusCode, 409, query);
        assert.equal((JSON.parse(response.body) as { errorCode: string }).errorCode, code, query);
      }
      const unknown = await app.inject({
        url: '/api/dataValueSets.json?dataSet=NoSuchSet01&orgUnit=ImspTQPwCqd&period=201912',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(unknown.statusCode, 409);
      assert.match(unknown.body, /dataSet `NoSuchSet01` does not exist/);
    });

    it('exports only what the user may view, and needs F_EXPORT_DATA', async () => {
      const auth = basicAuth(VIEWER.username, VIEWER.password);
      const outside = await app.inject({
        url: `/api/dataValueSets.csv?${QUERY}`,
        headers: { authorization: auth },
      });
      assert.equal(outside.statusCode, 409);
      assert.equal((JSON.parse(outside.body) as { errorCode: string }).errorCode, 'E2012');
      const expected = IN_SCOPE.map((v) => `${v.orgUnit}/${v.dataElement}=${v.value}`).sort();
      const inside = await app.inject({
        url: `/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=${BADJIA}&children=true&period=202001`,
        headers: { authorization: auth },
      });
      assert.equal(inside.statusCode, 200);
      // Badjia's and Njandama's values, and none of Bo's or Sierra Leone's of the same month.
      assert.deepEqual(csvValues(inside.body), expected);
      const admin = await app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=ImspTQPwCqd&children=true&period=202001',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(csvValues(admin.body).length, SCOPE_VALUES.length, 'the values above Badjia are stored');
      const adminGroup = await app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnitGroup=tMbbjys8mS6&period=202001',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(csvValues(adminGroup.body).length, SCOPE_VALUES.length);
      const exactly = await app.inject({
        url: `/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=${BADJIA}&period=202001`,
        headers: { authorization: auth },
      });
      assert.deepEqual(
        csvValues(exactly.body),
        expected.filter((line) => line.startsWith(`${BADJIA}/`)),
      );
      // The fixture's org unit group holds Bo and Sierra Leone too: members outside the scope are
      // left out rather than refused, so this is where filtering (not a refusal) keeps values back.
      const group = await app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnitGroup=tMbbjys8mS6&period=202001',
        headers: { authorization: auth },
      });
      assert.equal(group.statusCode, 200);
      assert.deepEqual(csvValues(group.body), expected);
      const parent = await app.inject({
        url: '/api/dataValueSets.csv?dataSet=VEM58nY22sO&orgUnit=O6uvpzGd5pu&period=202001',
        headers: { authorization: auth },
      });
      assert.equal(parent.statusCode, 409);
      assert.equal((JSON.parse(parent.body) as { errorCode: string }).errorCode, 'E2012');
      const anonymous = await app.inject({ url: `/api/dataValueSets.csv?${QUERY}` });
      assert.equal(anonymous.statusCode, 401);
    });

    it('serves a fillable PDF form', async () => {
      const response = await app.inject({
        url: '/api/dataSets/VEM58nY22sO/form.pdf?orgUnit=DiszpKrYNg8&period=201912',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/pdf');
      assert.equal(response.rawPayload.subarray(0, 5).toString(), '%PDF-');
      const missing = await app.inject({
        url: '/api/dataSets/NoSuchSet01/form.pdf',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(missing.statusCode, 404);
    });
  });
}
