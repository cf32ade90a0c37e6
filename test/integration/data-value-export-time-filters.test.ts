import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import {
  ALL,
  assertExport,
  DE,
  isAtOrBelow,
  OU,
  STEP_AGE,
  startFilterApp,
  type FilterApp,
  type FilterValue,
} from '../support/export-filter-fixture.ts';
import { stopTestApp } from '../support/test-app.ts';

/** First and last day of each stored period, written out here rather than computed by Ferry's code. */
const PERIOD_DAYS: Readonly<Record<string, readonly [string, string]>> = {
  '202401': ['2024-01-01', '2024-01-31'],
  '202402': ['2024-02-01', '2024-02-29'],
  '202403': ['2024-03-01', '2024-03-31'],
  '202404': ['2024-04-01', '2024-04-30'],
  '202405': ['2024-05-01', '2024-05-31'],
  '2024Q1': ['2024-01-01', '2024-03-31'],
  '2024Q2': ['2024-04-01', '2024-06-30'],
};
const HOUR = 3_600_000;

/**
 * `GET /api/dataValueSets` selections by period, date range, last update and deletion, compared
 * with the test's own record of what was stored and when.
 */
for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value export period and time filters (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let fixture: FilterApp;
    const data = `${ALL.dataElements}&${ALL.orgUnits}`;

    before(async () => {
      fixture = await startFilterApp(kind);
    });
    after(() => stopTestApp(fixture));

    it('period: exactly the periods listed, a quarter not widened to its months', async () => {
      await assertExport(fixture, `${data}&period=202402&period=202404`, (v) =>
        ['202402', '202404'].includes(v.period),
      );
      await assertExport(fixture, `${data}&period=2024Q1`, (v) => v.period === '2024Q1');
      assert.ok(fixture.values.some((v) => v.period === '202402' && v.dataElement !== DE.d));
    });

    it('startDate/endDate: periods lying wholly inside the range; a quarter straddling an end is left out', async () => {
      const inside = (start: string, end: string) => (v: FilterValue) =>
        PERIOD_DAYS[v.period][0] >= start && PERIOD_DAYS[v.period][1] <= end;
      for (const [start, end] of [
        ['2024-01-01', '2024-03-31'], // the months of Q1 and Q1 itself
        ['2024-02-01', '2024-04-30'], // Q1 straddles the start, Q2 the end: neither
        ['2024-02-01', '2024-02-29'], // one month, its last day included
        ['2024-04-01', '2024-06-30'], // Q2 and its months, not Q1
      ]) {
        await assertExport(fixture, `${data}&startDate=${start}&endDate=${end}`, inside(start, end));
      }
      const straddling = await fixture.app.inject({
        url: `/api/dataValueSets.json?${data}&startDate=2024-02-01&endDate=2024-04-30`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.doesNotMatch(straddling.body, /"2024Q[12]"/);
    });

    it('period with startDate/endDate is E2003; a start after the end is E2004', async () => {
      const cases: Array<[string, string]> = [
        [`${data}&period=202401&startDate=2024-01-01&endDate=2024-12-31`, 'E2003'],
        [`${data}&startDate=2024-03-01&endDate=2024-02-01`, 'E2004'],
      ];
      for (const [query, code] of cases) {
        const response = await fixture.app.inject({
          url: `/api/dataValueSets.json?${query}`,
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(response.statusCode, 409, query);
        assert.equal((JSON.parse(response.body) as { errorCode: string }).errorCode, code, query);
      }
    });

    it('lastUpdated: values changed at or after a timestamp or a day, alone or with a period', async () => {
      const since = fixture.now - 48 * HOUR;
      const changedSince = (time: number) => (v: FilterValue) => v.lastUpdated >= time;
      await assertExport(
        fixture,
        `${data}&lastUpdated=${new Date(since).toISOString()}`,
        changedSince(since),
      );
      // The third import's exact instant is included (at or after).
      const third = fixture.now - STEP_AGE.third;
      await assertExport(
        fixture,
        `${data}&lastUpdated=${new Date(third).toISOString()}`,
        changedSince(third),
      );
      const day = new Date(since).toISOString().slice(0, 10);
      await assertExport(fixture, `${data}&lastUpdated=${day}`, changedSince(Date.parse(day)));
      await assertExport(
        fixture,
        `${data}&period=202402&lastUpdated=${new Date(since).toISOString()}`,
        (v) => v.period === '202402' && v.lastUpdated >= since,
      );
    });

    it('lastUpdatedDuration: values changed within 1d, 12h, 90m of the request', async () => {
      // Steps are 20 h and 1 h old: each duration falls well between them, whatever the test's speed.
      for (const [duration, ms] of [
        ['1d', 24 * HOUR],
        ['12h', 12 * HOUR],
        ['90m', 1.5 * HOUR],
      ] as const) {
        await assertExport(
          fixture,
          `${data}&lastUpdatedDuration=${duration}`,
          (v) => v.lastUpdated >= fixture.now - ms,
        );
      }
    });

    it('includeDeleted=true: soft-deleted values too, marked deleted; hidden by default', async () => {
      const subtree = `${ALL.dataElements}&${ALL.periods}&orgUnit=${OU.district1}&children=true`;
      const inSubtree = (v: FilterValue) => isAtOrBelow(v.orgUnit, OU.district1);
      assert.ok(fixture.values.some((v) => v.deleted && inSubtree(v)));
      await assertExport(fixture, subtree, inSubtree);
      await assertExport(fixture, `${subtree}&includeDeleted=false`, inSubtree);
      await assertExport(fixture, `${subtree}&includeDeleted=true`, inSubtree, true);
      // Deletions are changes: a sync asking for changes since before them gets them.
      const beforeDeletion = fixture.now - (STEP_AGE.deletion + STEP_AGE.first) / 2;
      await assertExport(
        fixture,
        `${data}&includeDeleted=true&lastUpdated=${new Date(beforeDeletion).toISOString()}`,
        (v) => v.lastUpdated >= beforeDeletion,
        true,
      );
    });
  });
}
