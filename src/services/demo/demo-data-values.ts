import type { SqlValue } from '../../storage/storage.ts';
import type { DemoDatabase, DemoDataSetPlan, DemoElementPlan, DemoFacility } from './demo-metadata.ts';
import type { DemoPeriod } from './demo-periods.ts';
import type { DemoValueModel } from './demo-catalogue.ts';
import { hashString, hashToUnit } from './demo-random.ts';

/**
 * The demo's aggregate data, generated as rows of `data_value` (and `complete_registration`) in the
 * table's primary-key order, in batches, so that a million values stream into the database without
 * being held in memory and land where the B-tree grows at its right edge (perf.md: key order made
 * a 2.6x difference in SQLite).
 *
 * Every value comes from a hash of what it is (facility, period, data element, option combos), so
 * the same demo has the same values whichever order the database's surrogate ids put the rows in.
 */

/** Surrogate ids of the demo's objects in one database. */
export interface DemoSurrogateIds {
  orgUnits: ReadonlyMap<string, number>;
  periods: ReadonlyMap<string, number>;
  dataElements: ReadonlyMap<string, number>;
  categoryOptionCombos: ReadonlyMap<string, number>;
  dataSets: ReadonlyMap<string, number>;
}

// ON CONFLICT DO NOTHING: running the data stage again after an interruption adds only the rows
// that are missing, and keeps a value someone entered in the meantime.
export const DATA_VALUE_INSERT =
  'INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id, ' +
  'attribute_option_combo_id, value, stored_by, created, last_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
  'ON CONFLICT DO NOTHING';
export const COMPLETE_REGISTRATION_INSERT =
  'INSERT INTO complete_registration (data_set_id, period_id, org_unit_id, attribute_option_combo_id, ' +
  'completed_date, stored_by, last_updated) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING';

export interface DemoRowBatch {
  table: 'data_value' | 'complete_registration';
  rows: SqlValue[][];
}

/** Who the demo's values are stored by. */
const STORED_BY = 'admin';
/** Share of cells left empty in a reported form, as real forms have gaps. */
const BLANK_SHARE = 0.04;
/** Share of values that are outliers (about four times the usual), for outlier detection to find. */
const OUTLIER_SHARE = 0.002;
const DAY_MS = 86_400_000;

interface Cell {
  dataSet: DemoDataSetPlan;
  element: DemoElementPlan;
  coc: { key: number; share: number };
  aoc: { key: number; share: number };
  deId: number;
  cocId: number;
  aocId: number;
}

function requireId(ids: ReadonlyMap<string, number>, uid: string, what: string): number {
  const id = ids.get(uid);
  if (id === undefined) throw new Error(`Demo ${what} ${uid} has no surrogate id; was its metadata saved?`);
  return id;
}

/** The (data element, option combo, attribute option combo) cells of each period type, in key order. */
function cellsByPeriodType(demo: DemoDatabase, ids: DemoSurrogateIds): Map<string, Cell[]> {
  const out = new Map<string, Cell[]>();
  for (const dataSet of demo.dataSets) {
    const cells = out.get(dataSet.periodType) ?? [];
    for (const element of dataSet.elements) {
      const deId = requireId(ids.dataElements, element.uid, 'data element');
      for (const coc of element.categoryOptionCombos) {
        const cocId = requireId(ids.categoryOptionCombos, coc.uid, 'category option combo');
        for (const aoc of dataSet.attributeOptionCombos) {
          const aocId = requireId(ids.categoryOptionCombos, aoc.uid, 'attribute option combo');
          cells.push({ dataSet, element, coc, aoc, deId, cocId, aocId });
        }
      }
    }
    out.set(dataSet.periodType, cells);
  }
  for (const cells of out.values()) {
    cells.sort((a, b) => a.deId - b.deId || a.cocId - b.cocId || a.aocId - b.aocId);
    for (let i = 1; i < cells.length; i++) {
      const a = cells[i - 1];
      const b = cells[i];
      if (a.deId === b.deId && a.cocId === b.cocId && a.aocId === b.aocId) {
        throw new Error(`Demo data element ${a.element.uid} is in two data sets of one period type`);
      }
    }
  }
  return out;
}

/**
 * Yields the demo's rows in batches of about `batchSize`: data values in primary-key order and,
 * separately, a completeness registration for every form reported.
 */
export function* demoDataRows(
  demo: DemoDatabase,
  ids: DemoSurrogateIds,
  batchSize = 10_000,
): Generator<DemoRowBatch> {
  const seed = hashString(`${demo.options.seed}:values`);
  const cells = cellsByPeriodType(demo, ids);
  const facilities = demo.facilities
    .map((facility) => ({ facility, id: requireId(ids.orgUnits, facility.uid, 'org unit') }))
    .sort((a, b) => a.id - b.id);
  const periods = demo.periods
    .map((period) => ({ period, id: requireId(ids.periods, period.iso, 'period') }))
    .sort((a, b) => a.id - b.id);
  const dataSetIds = new Map(demo.dataSets.map((ds) => [ds, requireId(ids.dataSets, ds.uid, 'data set')]));

  let values: SqlValue[][] = [];
  let completions: SqlValue[][] = [];
  for (const { facility, id: ouId } of facilities) {
    for (const { period, id: peId } of periods) {
      const periodCells = cells.get(period.periodType);
      if (!periodCells) continue;
      const periodKey = period.ordinal + (period.periodType === 'Quarterly' ? 1000 : 0);
      // Which of the facility's data sets were reported this period.
      const reported = new Set<DemoDataSetPlan>();
      for (const dataSet of demo.dataSets) {
        if (dataSet.periodType !== period.periodType || !dataSet.facilityIndexes.has(facility.index))
          continue;
        if (hashToUnit(seed, facility.index, periodKey, 9999, dataSet.key) < dataSet.reportingRate) {
          reported.add(dataSet);
        }
      }
      if (reported.size === 0) continue;
      const entered = entryTimestamp(seed, facility, period, periodKey);
      for (const cell of periodCells) {
        if (!reported.has(cell.dataSet)) continue;
        const value = cellValue(seed, facility, period, periodKey, cell);
        if (value === undefined) continue;
        values.push([ouId, peId, cell.deId, cell.cocId, cell.aocId, value, STORED_BY, entered, entered]);
      }
      for (const dataSet of reported) {
        for (const aoc of dataSet.attributeOptionCombos) {
          const aocId = requireId(ids.categoryOptionCombos, aoc.uid, 'attribute option combo');
          completions.push([dataSetIds.get(dataSet)!, peId, ouId, aocId, entered, STORED_BY, entered]);
        }
      }
      if (values.length >= batchSize) {
        yield { table: 'data_value', rows: values };
        values = [];
      }
      if (completions.length >= batchSize) {
        yield { table: 'complete_registration', rows: completions };
        completions = [];
      }
    }
  }
  if (values.length > 0) yield { table: 'data_value', rows: values };
  if (completions.length > 0) yield { table: 'complete_registration', rows: completions };
}

/** When a facility entered a period's forms: 3 to 25 days after the period ended, in office hours. */
function entryTimestamp(seed: number, facility: DemoFacility, period: DemoPeriod, periodKey: number): string {
  const u = hashToUnit(seed, facility.index, periodKey, 9998);
  const days = 3 + Math.floor(u * 23);
  const minutes = 8 * 60 + Math.floor(hashToUnit(seed, facility.index, periodKey, 9997) * 9 * 60);
  return new Date(Date.parse(`${period.endDate}T00:00:00Z`) + days * DAY_MS + minutes * 60_000).toISOString();
}

/** Malaria peaks in the rainy season (July to September) and is lowest in the dry season. */
function seasonalFactor(month: number): number {
  return 1 + 0.6 * Math.cos((2 * Math.PI * (month - 8)) / 12);
}

function cellValue(
  seed: number,
  facility: DemoFacility,
  period: DemoPeriod,
  periodKey: number,
  cell: Cell,
): string | undefined {
  const { element, coc, aoc } = cell;
  const comboKey = coc.key * 16 + aoc.key;
  const u = hashToUnit(seed, facility.index, periodKey, element.key, comboKey);
  const v = hashToUnit(seed ^ 0x5bd1e995, facility.index, periodKey, element.key, comboKey);
  const model: DemoValueModel = element.model;
  if (model.kind !== 'text' && v < BLANK_SHARE) return undefined;
  // A facility's own level, steady over time: some facilities report more than others.
  const facilityLevel = 0.7 + 0.6 * hashToUnit(seed, facility.index, 7777, element.key, comboKey);
  switch (model.kind) {
    case 'count': {
      let mean = (facility.population / 1000) * model.perThousand * coc.share * aoc.share * facilityLevel;
      if (model.seasonal) mean *= seasonalFactor(period.startMonth);
      if (u < OUTLIER_SHARE) mean *= 4;
      // Stochastic rounding keeps small expected counts (deaths) right on average.
      const value = Math.floor(mean * (0.75 + 0.5 * u) + v);
      return value === 0 && !element.zeroIsSignificant ? undefined : String(value);
    }
    case 'stock':
      return u < 0.05 ? '0' : String(Math.floor(model.mean * facilityLevel * (0.2 + 1.6 * v)));
    case 'boolean':
      // Mostly a property of the facility, occasionally different in a month.
      return (u < 0.05 ? v < model.pTrue : facilityLevel - 0.7 < 0.6 * model.pTrue) ? 'true' : 'false';
    case 'text':
      return u < model.pPresent ? model.texts[Math.floor(v * model.texts.length)] : undefined;
    case 'option': {
      let cumulative = 0;
      for (let i = 0; i < model.codes.length; i++) {
        cumulative += model.weights[i];
        if (u < cumulative) return model.codes[i];
      }
      return model.codes[model.codes.length - 1];
    }
    case 'staff': {
      const mean = model.perType[facility.type] * aoc.share * facilityLevel;
      const value = Math.floor(mean * (0.9 + 0.2 * u) + v);
      return value === 0 && !element.zeroIsSignificant ? undefined : String(value);
    }
  }
}
