import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import {
  ALL,
  AOC,
  assertExport,
  DATA_SET,
  DE,
  DE_GROUP,
  exportedValues,
  isAtOrBelow,
  OU,
  OU_GROUP,
  OU_GROUP_MEMBERS,
  startFilterApp,
  type FilterApp,
} from '../support/export-filter-fixture.ts';
import { stopTestApp } from '../support/test-app.ts';

/**
 * `GET /api/dataValueSets` selections by data, org unit and attribute option combo, and `limit`,
 * each compared with the test's own record of the stored values (DHIS2's DataExportParams).
 */
for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value export filters (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let fixture: FilterApp;
    const everywhere = `${ALL.orgUnits}&${ALL.periods}`;

    before(async () => {
      fixture = await startFilterApp(kind);
    });
    after(() => stopTestApp(fixture));

    it('dataElement: one, and several (repeated or comma-separated)', async () => {
      await assertExport(fixture, `dataElement=${DE.c}&${everywhere}`, (v) => v.dataElement === DE.c);
      const several = new Set<string>([DE.a, DE.e]);
      await assertExport(fixture, `dataElement=${DE.a}&dataElement=${DE.e}&${everywhere}`, (v) =>
        several.has(v.dataElement),
      );
      await assertExport(fixture, `dataElement=${DE.a},${DE.e}&${everywhere}`, (v) =>
        several.has(v.dataElement),
      );
    });

    it("dataElementGroup: the group's members", async () => {
      await assertExport(
        fixture,
        `dataElementGroup=${DE_GROUP}&${everywhere}`,
        (v) => v.dataElement === DE.b || v.dataElement === DE.c,
      );
    });

    it('dataSet with dataElement and dataElementGroup: the union of all three, as DHIS2 takes them', async () => {
      // DataExportParams.getAllDataElements: the elements, the data sets' elements and the groups' members.
      const union = new Set<string>([DE.a, DE.b, DE.e]);
      await assertExport(fixture, `dataSet=${DATA_SET.monthly}&dataElement=${DE.e}&${everywhere}`, (v) =>
        union.has(v.dataElement),
      );
      const withGroup = new Set<string>([DE.d, DE.b, DE.c]);
      await assertExport(
        fixture,
        `dataSet=${DATA_SET.quarterly}&dataElementGroup=${DE_GROUP}&${everywhere}`,
        (v) => withGroup.has(v.dataElement),
      );
    });

    it('orgUnit without children: exactly the units named', async () => {
      await assertExport(
        fixture,
        `${ALL.dataElements}&${ALL.periods}&orgUnit=${OU.district1}`,
        (v) => v.orgUnit === OU.district1,
      );
      const named = new Set<string>([OU.facility11, OU.district2]);
      await assertExport(
        fixture,
        `${ALL.dataElements}&${ALL.periods}&orgUnit=${OU.facility11}&orgUnit=${OU.district2}`,
        (v) => named.has(v.orgUnit),
      );
    });

    it('orgUnit with children=true: the units and every level below them', async () => {
      for (const top of [OU.district1, OU.facility11, OU.root]) {
        await assertExport(fixture, `${ALL.dataElements}&${ALL.periods}&orgUnit=${top}&children=true`, (v) =>
          isAtOrBelow(v.orgUnit, top),
        );
      }
      await assertExport(
        fixture,
        `${ALL.dataElements}&${ALL.periods}&orgUnit=${OU.facility11},${OU.district2}&children=true`,
        (v) => isAtOrBelow(v.orgUnit, OU.facility11) || isAtOrBelow(v.orgUnit, OU.district2),
      );
    });

    it("orgUnitGroup: the group's members only, not their children; with orgUnit, the union", async () => {
      const members = new Set(OU_GROUP_MEMBERS);
      await assertExport(fixture, `${ALL.dataElements}&${ALL.periods}&orgUnitGroup=${OU_GROUP}`, (v) =>
        members.has(v.orgUnit),
      );
      await assertExport(
        fixture,
        `${ALL.dataElements}&${ALL.periods}&orgUnitGroup=${OU_GROUP}&orgUnit=${OU.otherRoot}`,
        (v) => members.has(v.orgUnit) || v.orgUnit === OU.otherRoot,
      );
    });

    it('attributeOptionCombo: one, and several', async () => {
      const query = `${ALL.dataElements}&${everywhere}`;
      await assertExport(
        fixture,
        `${query}&attributeOptionCombo=${AOC.a}`,
        (v) => v.attributeOptionCombo === AOC.a,
      );
      await assertExport(
        fixture,
        `${query}&attributeOptionCombo=${AOC.none}&attributeOptionCombo=${AOC.b}`,
        (v) => v.attributeOptionCombo !== AOC.a,
      );
    });

    it('limit: the first values of the same export, after the filters', async () => {
      const query = `${ALL.dataElements}&${ALL.periods}&orgUnit=${OU.district1}&children=true`;
      const whole = await exportedValues(fixture.app, query);
      assert.ok(whole.length > 20);
      for (const limit of [1, 7, whole.length - 1]) {
        assert.deepEqual(await exportedValues(fixture.app, `${query}&limit=${limit}`), whole.slice(0, limit));
      }
      assert.deepEqual(await exportedValues(fixture.app, `${query}&limit=${whole.length + 5}`), whole);
    });
  });
}
