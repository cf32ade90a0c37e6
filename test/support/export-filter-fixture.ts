import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../src/domain/category/default-category-model.ts';
import { loadMetadataPayloads } from './aggregate-metadata.ts';
import { ADMIN_AUTH } from './access-fixtures.ts';
import { startTestApp, type TestApp } from './test-app.ts';

/**
 * Data for tests of the export filters: values spread over eight org units on four levels (and a
 * second root), five data elements, monthly and quarterly periods and three attribute option combos,
 * imported in steps at known times, some then deleted. `FilterValue`s are the test's own record of
 * what was stored, so expected exports are computed without the export code or its SQL.
 */
export const OU = {
  root: 'FltRoot0001',
  district1: 'FltDist0001',
  facility11: 'FltFac00011',
  village111: 'FltVill0111',
  facility12: 'FltFac00012',
  district2: 'FltDist0002',
  facility21: 'FltFac00021',
  otherRoot: 'FltOther001',
} as const;
const PARENT: Readonly<Record<string, string | undefined>> = {
  [OU.district1]: OU.root,
  [OU.facility11]: OU.district1,
  [OU.village111]: OU.facility11,
  [OU.facility12]: OU.district1,
  [OU.district2]: OU.root,
  [OU.facility21]: OU.district2,
};

/** Whether `orgUnit` is `ancestor` or lies below it. */
export function isAtOrBelow(orgUnit: string, ancestor: string): boolean {
  for (let at: string | undefined = orgUnit; at; at = PARENT[at]) if (at === ancestor) return true;
  return false;
}

export const DE = {
  a: 'FltDeA00001',
  b: 'FltDeB00001',
  c: 'FltDeC00001',
  d: 'FltDeD00001',
  e: 'FltDeE00001',
} as const;
const SEX_COMBO = 'FltCcSex001';
const PARTNER_COMBO = 'FltCcPart01';
export const COC = { male: 'FltCocMale1', female: 'FltCocFem01' } as const;
export const AOC = { none: DEFAULT_CATEGORY_OPTION_COMBO_UID, a: 'FltAocPartA', b: 'FltAocPartB' } as const;

/** Group `monthly` holds b and c; data set `monthly` holds a and b, `quarterly` holds d. */
export const DE_GROUP = 'FltDeGroup1';
export const DATA_SET = { monthly: 'FltDsMonth1', quarterly: 'FltDsQuart1' } as const;
/** Members district1 and facility21 only: not district1's children. */
export const OU_GROUP = 'FltOuGroup1';
export const OU_GROUP_MEMBERS: readonly string[] = [OU.district1, OU.facility21];

/** Periods stored for each data element; d has quarterly periods, the others monthly ones. */
const PERIODS: Readonly<Record<string, readonly string[]>> = {
  [DE.a]: ['202401', '202402', '202403', '202404'],
  [DE.b]: ['202401', '202402', '202403', '202404'],
  [DE.c]: ['202401', '202402', '202403', '202404'],
  [DE.d]: ['2024Q1', '2024Q2'],
  [DE.e]: ['202402', '202405'],
};
const COMBOS_OF: Readonly<Record<string, readonly string[]>> = {
  [DE.a]: [DEFAULT_CATEGORY_OPTION_COMBO_UID],
  [DE.b]: [DEFAULT_CATEGORY_OPTION_COMBO_UID],
  [DE.c]: [COC.male, COC.female],
  [DE.d]: [DEFAULT_CATEGORY_OPTION_COMBO_UID],
  [DE.e]: [COC.male, COC.female],
};

export interface FilterValue {
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo: string;
  attributeOptionCombo: string;
  value: string;
  deleted: boolean;
  /** When the value was last written (ms). */
  lastUpdated: number;
}

export type ValueKey = Pick<
  FilterValue,
  'dataElement' | 'period' | 'orgUnit' | 'categoryOptionCombo' | 'attributeOptionCombo'
>;

export function keyOf(v: ValueKey): string {
  return [v.dataElement, v.period, v.orgUnit, v.categoryOptionCombo, v.attributeOptionCombo].join('|');
}

function metadata(): Record<string, unknown> {
  const unit = (id: string, name: string) => ({
    id,
    name,
    shortName: name,
    openingDate: '1990-01-01',
    ...(PARENT[id] ? { parent: { id: PARENT[id] } } : {}),
  });
  const option = (id: string, name: string) => ({ id, name, shortName: name });
  const element = (id: string, name: string, combo: string) => ({
    id,
    name,
    shortName: name,
    valueType: 'INTEGER',
    aggregationType: 'SUM',
    domainType: 'AGGREGATE',
    categoryCombo: { id: combo },
  });
  const dataSet = (id: string, periodType: string, elements: string[], combo: string) => ({
    id,
    name: `Filter ${periodType}`,
    shortName: `Filter ${periodType}`,
    periodType,
    expiryDays: 0,
    openFuturePeriods: 0,
    categoryCombo: { id: combo },
    dataSetElements: elements.map((de) => ({ dataElement: { id: de } })),
    organisationUnits: Object.values(OU).map((id) => ({ id })),
  });
  return {
    organisationUnits: Object.entries(OU).map(([name, id]) => unit(id, `Filter ${name}`)),
    organisationUnitGroups: [
      {
        id: OU_GROUP,
        name: 'Filter group',
        shortName: 'Filter group',
        organisationUnits: OU_GROUP_MEMBERS.map((id) => ({ id })),
      },
    ],
    categoryOptions: [
      option('FltOptMale1', 'Filter male'),
      option('FltOptFem01', 'Filter female'),
      option('FltOptPartA', 'Partner A'),
      option('FltOptPartB', 'Partner B'),
    ],
    categories: [
      {
        ...option('FltCatSex01', 'Filter sex'),
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: 'FltOptMale1' }, { id: 'FltOptFem01' }],
      },
      {
        ...option('FltCatPart1', 'Filter partner'),
        dataDimensionType: 'ATTRIBUTE',
        categoryOptions: [{ id: 'FltOptPartA' }, { id: 'FltOptPartB' }],
      },
    ],
    categoryCombos: [
      {
        id: SEX_COMBO,
        name: 'Filter sex',
        dataDimensionType: 'DISAGGREGATION',
        categories: [{ id: 'FltCatSex01' }],
      },
      {
        id: PARTNER_COMBO,
        name: 'Filter partner',
        dataDimensionType: 'ATTRIBUTE',
        categories: [{ id: 'FltCatPart1' }],
      },
    ],
    categoryOptionCombos: [
      {
        id: COC.male,
        name: 'Filter male',
        categoryCombo: { id: SEX_COMBO },
        categoryOptions: [{ id: 'FltOptMale1' }],
      },
      {
        id: COC.female,
        name: 'Filter female',
        categoryCombo: { id: SEX_COMBO },
        categoryOptions: [{ id: 'FltOptFem01' }],
      },
      {
        id: AOC.a,
        name: 'Partner A',
        categoryCombo: { id: PARTNER_COMBO },
        categoryOptions: [{ id: 'FltOptPartA' }],
      },
      {
        id: AOC.b,
        name: 'Partner B',
        categoryCombo: { id: PARTNER_COMBO },
        categoryOptions: [{ id: 'FltOptPartB' }],
      },
    ],
    dataElements: [
      element(DE.a, 'Filter A', 'bjDvmb4bfuf'),
      element(DE.b, 'Filter B', 'bjDvmb4bfuf'),
      element(DE.c, 'Filter C', SEX_COMBO),
      element(DE.d, 'Filter D', 'bjDvmb4bfuf'),
      element(DE.e, 'Filter E', SEX_COMBO),
    ],
    dataElementGroups: [
      {
        id: DE_GROUP,
        name: 'Filter group',
        shortName: 'Filter group',
        dataElements: [{ id: DE.b }, { id: DE.c }],
      },
    ],
    dataSets: [
      dataSet(DATA_SET.monthly, 'Monthly', [DE.a, DE.b], PARTNER_COMBO),
      dataSet(DATA_SET.quarterly, 'Quarterly', [DE.d], 'bjDvmb4bfuf'),
    ],
  };
}

const HOUR = 3_600_000;
/** When each step was imported, relative to the start of the test run. */
export const STEP_AGE = {
  first: 72 * HOUR,
  deletion: 71 * HOUR,
  second: 20 * HOUR,
  third: 1 * HOUR,
} as const;

async function importStep(
  context: FerryContext,
  dir: string,
  name: string,
  values: readonly FilterValue[],
  at: number,
  params: Record<string, string> = {},
): Promise<void> {
  const path = join(dir, `${name}.json`);
  const dataValues = values.map(({ deleted: _deleted, lastUpdated: _lastUpdated, ...v }) => v);
  writeFileSync(path, JSON.stringify({ dataValues }));
  const summary = await importDataValues(
    context,
    { path, fileName: `${name}.json`, format: 'json' },
    params,
    undefined,
    {
      now: new Date(at),
    },
  );
  assert.equal(summary.status, 'SUCCESS', `${name}: ${JSON.stringify(summary.conflicts)}`);
  const counted =
    params.importStrategy === 'DELETE'
      ? summary.importCount.deleted
      : summary.importCount.imported + summary.importCount.updated;
  assert.equal(counted, values.length, `${name}: ${JSON.stringify(summary.importCount)}`);
}

/**
 * Stores the metadata and the values: every value at `first`, every 9th deleted at `deletion`,
 * every 5th (live) value changed at `second`, every 7th at `third`. Returns what is stored.
 */
export async function seedFilterFixture(
  context: FerryContext,
  dir: string,
  now: number,
): Promise<FilterValue[]> {
  await loadMetadataPayloads(context.storage, [metadata()]);
  const values: FilterValue[] = [];
  const aocs = [AOC.none, AOC.a, AOC.b];
  for (const orgUnit of Object.values(OU)) {
    for (const dataElement of Object.values(DE)) {
      for (const period of PERIODS[dataElement]) {
        for (const categoryOptionCombo of COMBOS_OF[dataElement]) {
          const n = values.length;
          values.push({
            dataElement,
            period,
            orgUnit,
            categoryOptionCombo,
            // Rotating by a step prime to every loop length spreads each AOC over all the rest.
            attributeOptionCombo: aocs[(n * 2 + Math.floor(n / 3)) % 3],
            value: String(100 + n),
            deleted: false,
            lastUpdated: now - STEP_AGE.first,
          });
        }
      }
    }
  }
  await importStep(context, dir, 'first', values, now - STEP_AGE.first);
  const deleted = values.filter((_, i) => i % 9 === 4);
  for (const v of deleted) Object.assign(v, { deleted: true, lastUpdated: now - STEP_AGE.deletion });
  await importStep(context, dir, 'deletion', deleted, now - STEP_AGE.deletion, { importStrategy: 'DELETE' });
  for (const [step, every] of [
    ['second', 5],
    ['third', 7],
  ] as const) {
    const changed = values.filter((v, i) => !v.deleted && i % every === 1);
    for (const v of changed)
      Object.assign(v, { value: `${v.value}${every}`, lastUpdated: now - STEP_AGE[step] });
    await importStep(context, dir, step, changed, now - STEP_AGE[step]);
  }
  return values;
}

/** Selections that take every stored value, for tests that vary one filter at a time. */
export const ALL = {
  dataElements: `dataElement=${Object.values(DE).join(',')}`,
  orgUnits: `orgUnit=${OU.root}&orgUnit=${OU.otherRoot}&children=true`,
  periods: 'startDate=2024-01-01&endDate=2024-12-31',
} as const;

export interface FilterApp extends TestApp {
  values: FilterValue[];
  /** The clock the import steps were dated from. */
  now: number;
}

/** A database of `kind` with the fixture imported, and the HTTP app over it (admin / district). */
export async function startFilterApp(kind: TestApp['db']['kind']): Promise<FilterApp> {
  let values: FilterValue[] = [];
  let now = 0;
  const started = await startTestApp(kind, {
    setup: async (context, db) => {
      now = Date.now();
      values = await seedFilterFixture(context, db.dataDir, now);
    },
  });
  return { ...started, values, now };
}

/** `key=value` (and ` deleted`) for each value, sorted: one line per value in assertion diffs. */
function lines(values: ReadonlyArray<ValueKey & { value: string; deleted?: boolean }>): string[] {
  return values.map((v) => `${keyOf(v)}=${v.value}${v.deleted ? ' deleted' : ''}`).sort();
}

/** The values a JSON export over HTTP returns, in the order it wrote them. */
export async function exportedValues(app: FastifyInstance, query: string): Promise<string[]> {
  const response = await app.inject({
    url: `/api/dataValueSets.json?${query}`,
    headers: { authorization: ADMIN_AUTH },
  });
  assert.equal(response.statusCode, 200, `${query}: ${response.body}`);
  const body = JSON.parse(response.body) as {
    dataValues: Array<ValueKey & { value: string; deleted?: boolean }>;
  };
  return body.dataValues.map((v) => lines([v])[0]);
}

/**
 * Asserts that the export of `query` is exactly the stored values `wanted` picks (live ones only,
 * unless `includeDeleted`), and that the pick is neither empty nor everything, so a filter that
 * does nothing, or drops everything, fails.
 */
export async function assertExport(
  fixture: FilterApp,
  query: string,
  wanted: (v: FilterValue) => boolean,
  includeDeleted = false,
): Promise<void> {
  const visible = fixture.values.filter((v) => includeDeleted || !v.deleted);
  const expected = lines(visible.filter(wanted));
  assert.ok(expected.length > 0 && expected.length < visible.length, `${query}: a selective expectation`);
  assert.deepEqual((await exportedValues(fixture.app, query)).sort(), expected, query);
}
