import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Storage } from '../../src/storage/storage.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../src/domain/category/default-category-model.ts';
import { loadMetadataPayloads } from './aggregate-metadata.ts';

/**
 * Data value files of any size for job tests: `count` values over org units × 12 months × 20 data
 * elements × 2 category option combos, all valid, in the order an export writes them. The metadata
 * they need comes from `generatedMetadata(count)`.
 */
export const GENERATED_PERIODS = Array.from(
  { length: 12 },
  (_, m) => `2023${String(m + 1).padStart(2, '0')}`,
);
const ELEMENTS = 20;
const COMBOS = ['GenCoc0000A', 'GenCoc0000B'];
const ROOT = 'GenRoot0000';
export const GENERATED_DATA_SET = 'GenDataSet1';

const code = (prefix: string, i: number) => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;

function orgUnitCount(count: number): number {
  return Math.max(1, Math.ceil(count / (GENERATED_PERIODS.length * ELEMENTS * COMBOS.length)));
}

export function generatedMetadata(count: number): Record<string, unknown> {
  const units: Record<string, unknown>[] = [
    { id: ROOT, name: 'Generated country', shortName: 'Generated', openingDate: '1990-01-01' },
  ];
  for (let i = 0; i < orgUnitCount(count); i++) {
    units.push({
      id: code('GenOu', i),
      name: `Generated clinic ${i}`,
      shortName: `Clinic ${i}`,
      openingDate: '1990-01-01',
      parent: { id: ROOT },
    });
  }
  const elements = Array.from({ length: ELEMENTS }, (_, i) => ({
    id: code('GenDe', i),
    name: `Generated count ${i}`,
    shortName: `Count ${i}`,
    valueType: 'INTEGER_ZERO_OR_POSITIVE',
    aggregationType: 'SUM',
    domainType: 'AGGREGATE',
    categoryCombo: { id: 'GenCombo001' },
  }));
  return {
    categoryOptions: [
      { id: 'GenOption0A', name: 'Generated A', shortName: 'Gen A' },
      { id: 'GenOption0B', name: 'Generated B', shortName: 'Gen B' },
    ],
    categories: [
      {
        id: 'GenCategory',
        name: 'Generated sex',
        shortName: 'Gen sex',
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: 'GenOption0A' }, { id: 'GenOption0B' }],
      },
    ],
    categoryCombos: [
      {
        id: 'GenCombo001',
        name: 'Generated sex',
        dataDimensionType: 'DISAGGREGATION',
        categories: [{ id: 'GenCategory' }],
      },
    ],
    categoryOptionCombos: COMBOS.map((id, i) => ({
      id,
      name: `Generated ${i === 0 ? 'A' : 'B'}`,
      categoryCombo: { id: 'GenCombo001' },
      categoryOptions: [{ id: i === 0 ? 'GenOption0A' : 'GenOption0B' }],
    })),
    organisationUnits: units,
    dataElements: elements,
    dataSets: [
      {
        id: GENERATED_DATA_SET,
        name: 'Generated monthly',
        shortName: 'Gen monthly',
        periodType: 'Monthly',
        expiryDays: 0,
        openFuturePeriods: 0,
        categoryCombo: { id: 'bjDvmb4bfuf' },
        dataSetElements: elements.map((de) => ({ dataElement: { id: de.id } })),
        organisationUnits: units.map((u) => ({ id: u.id })),
      },
    ],
  };
}

/** Stores the generated metadata directly (no import), with the default category model. */
export async function loadGeneratedMetadata(storage: Storage, count: number): Promise<void> {
  await loadMetadataPayloads(storage, [generatedMetadata(count)]);
}

/** Writes `count` values as DHIS2 CSV, streamed in ~1 MB writes. */
export async function writeGeneratedCsv(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  let text = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';
  let n = 0;
  outer: for (let o = 0; ; o++) {
    const orgUnit = code('GenOu', o);
    for (const period of GENERATED_PERIODS) {
      for (let d = 0; d < ELEMENTS; d++) {
        for (const combo of COMBOS) {
          if (n === count) break outer;
          text += `${code('GenDe', d)},${period},${orgUnit},${combo},${DEFAULT_CATEGORY_OPTION_COMBO_UID},${1 + ((n * 31) % 997)}\n`;
          n++;
          if (text.length > 1 << 20) {
            if (!out.write(text)) await once(out, 'drain');
            text = '';
          }
        }
      }
    }
  }
  out.end(text);
  await once(out, 'finish');
}
