import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { importTracker } from '../../src/services/tracker/tracker-import-service.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../src/domain/category/default-category-model.ts';
import { addSite, initSite, ownCard } from '../../src/services/sync/sync-site-registry.ts';
import { DataValueStore, type DataValueRow } from '../../src/storage/data-value-store.ts';

/**
 * A small country for the sync tests (issue 18): a nation, a district and two facilities; a
 * monthly data set of one number; an event program with one number per event. Only the parent
 * site (national, or the test's parent) is seeded with it: the others get it by sync packages.
 */

const STAMP = { created: '2024-01-01T00:00:00.000', lastUpdated: '2024-01-01T00:00:00.000' };
export const DEFAULT_COMBO = 'bjDvmb4bfuf';
export const DEFAULT_COC = DEFAULT_CATEGORY_OPTION_COMBO_UID;

export const OU = {
  nation: 'SyncNation1',
  district: 'SyncDistr01',
  facA: 'SyncFacA001',
  facB: 'SyncFacB001',
} as const;
export const DE = 'SyncDeNum01';
export const DATA_SET = 'SyncDSet001';
export const EVENT_DE = 'SyncDeEvt01';
export const PROGRAM = 'SyncProgEv1';
export const STAGE = 'SyncStageE1';

export function syncMetadata(): Record<string, unknown> {
  const orgUnit = (id: string, name: string, parent?: string) => ({
    id,
    code: id,
    name,
    shortName: name,
    openingDate: '2000-01-01',
    ...(parent ? { parent: { id: parent } } : {}),
    ...STAMP,
  });
  return {
    organisationUnits: [
      orgUnit(OU.nation, 'Sync nation'),
      orgUnit(OU.district, 'Sync district', OU.nation),
      orgUnit(OU.facA, 'Sync facility A', OU.district),
      orgUnit(OU.facB, 'Sync facility B', OU.district),
    ],
    dataElements: [
      {
        id: DE,
        code: DE,
        name: 'Sync visits',
        shortName: 'Sync visits',
        valueType: 'NUMBER',
        aggregationType: 'SUM',
        domainType: 'AGGREGATE',
        categoryCombo: { id: DEFAULT_COMBO },
        ...STAMP,
      },
      {
        id: EVENT_DE,
        code: EVENT_DE,
        name: 'Sync weight',
        shortName: 'Sync weight',
        valueType: 'NUMBER',
        aggregationType: 'NONE',
        domainType: 'TRACKER',
        categoryCombo: { id: DEFAULT_COMBO },
        ...STAMP,
      },
    ],
    dataSets: [
      {
        id: DATA_SET,
        code: DATA_SET,
        name: 'Sync monthly',
        shortName: 'Sync monthly',
        periodType: 'Monthly',
        categoryCombo: { id: DEFAULT_COMBO },
        dataSetElements: [{ dataElement: { id: DE } }],
        organisationUnits: [{ id: OU.facA }, { id: OU.facB }],
        ...STAMP,
      },
    ],
    programs: [
      {
        id: PROGRAM,
        name: 'Sync clinic visits',
        shortName: 'Sync visits',
        programType: 'WITHOUT_REGISTRATION',
        categoryCombo: { id: DEFAULT_COMBO },
        organisationUnits: [{ id: OU.facA }, { id: OU.facB }],
        programStages: [{ id: STAGE }],
        ...STAMP,
      },
    ],
    programStages: [
      {
        id: STAGE,
        name: 'Sync visit',
        program: { id: PROGRAM },
        programStageDataElements: [{ dataElement: { id: EVENT_DE } }],
        ...STAMP,
      },
    ],
  };
}

/**
 * Values of `DE` as a site's data entry writes them: through the data value store in one
 * transaction (the write path every import ends in, which the change capture sees), stamped now.
 */
export async function enterValues(
  context: FerryContext,
  _dir: string,
  _name: string,
  values: ReadonlyArray<{ orgUnit: string; period: string; value: number }>,
): Promise<void> {
  const sids = async (collection: string, uids: string[]) => context.metadata.sids(collection, uids);
  const orgUnits = await sids(
    'organisationUnits',
    values.map((v) => v.orgUnit),
  );
  const de = (await sids('dataElements', [DE])).get(DE)!;
  const coc = (await sids('categoryOptionCombos', [DEFAULT_COC])).get(DEFAULT_COC)!;
  const now = new Date().toISOString();
  await context.storage.transaction(async (tx) => {
    const periods = await context.periods.withExecutor(tx).idsFor(values.map((v) => v.period));
    const rows: DataValueRow[] = values.map((v) => ({
      orgUnit: orgUnits.get(v.orgUnit)!,
      period: periods.get(v.period)!,
      dataElement: de,
      categoryOptionCombo: coc,
      attributeOptionCombo: coc,
      value: String(v.value),
      storedBy: 'clerk',
      created: now,
      lastUpdated: now,
      comment: null,
      followUp: false,
      deleted: false,
    }));
    rows.sort((a, b) => a.orgUnit - b.orgUnit || a.period - b.period);
    await new DataValueStore(tx).upsert(rows);
  });
}

/** Events of the event program, through the tracker import (as a facility enters them). */
export async function enterEvents(
  context: FerryContext,
  dir: string,
  name: string,
  events: ReadonlyArray<{ event: string; orgUnit: string; occurredAt: string; weight: number }>,
): Promise<void> {
  const path = join(dir, `${name}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      events: events.map((e) => ({
        event: e.event,
        program: PROGRAM,
        programStage: STAGE,
        orgUnit: e.orgUnit,
        occurredAt: e.occurredAt,
        status: 'COMPLETED',
        dataValues: [{ dataElement: EVENT_DE, value: String(e.weight) }],
      })),
    }),
  );
  const report = await importTracker(context, { path, fileName: `${name}.json` }, {}, undefined);
  assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
}

/** Makes `child` and `parent` sync sites that know each other (cards exchanged). */
export async function linkSites(
  child: { context: FerryContext; id: string; url?: string },
  parent: { context: FerryContext; id: string },
  options: { encrypt?: boolean } = {},
): Promise<void> {
  await initSite(child.context, undefined, { siteId: child.id });
  await initSite(parent.context, undefined, { siteId: parent.id });
  await addSite(child.context, undefined, {
    card: await ownCard(parent.context),
    role: 'parent',
    url: child.url,
    encrypt: options.encrypt,
  });
  await addSite(parent.context, undefined, {
    card: await ownCard(child.context),
    role: 'child',
    encrypt: options.encrypt,
  });
}

/** The sum of the data element's non-deleted values, by org unit, at a site. */
export async function totals(context: FerryContext): Promise<Map<string, number>> {
  const rows = await context.storage.query<{ uid: string; total: number | string }>(
    `SELECT ou.uid AS uid, SUM(CAST(dv.value AS REAL)) AS total FROM data_value dv
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN metadata_object de ON de.sid = dv.data_element_id
     WHERE de.uid = ? AND dv.deleted = 0 GROUP BY ou.uid`,
    [DE],
  );
  return new Map(rows.map((r) => [r.uid, Number(r.total)]));
}

/** Every event's UID and weight at a site (deleted ones left out). */
export async function eventWeights(context: FerryContext): Promise<Map<string, string>> {
  const rows = await context.storage.query<{ uid: string; data_values: unknown }>(
    'SELECT uid, data_values FROM event WHERE deleted = 0 ORDER BY uid',
  );
  return new Map(
    rows.map((r) => {
      const values = (
        typeof r.data_values === 'string' ? JSON.parse(r.data_values) : r.data_values
      ) as Record<string, { value: string }>;
      return [r.uid, values[EVENT_DE]?.value];
    }),
  );
}
