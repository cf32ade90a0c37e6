import { createWriteStream, existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { BenchCase, BenchEnvironment, BenchMeasurement } from './bench-harness.ts';
import { createPostgresStorage } from '../src/storage/dialects/postgres/postgres-dialect.ts';
import type { Storage } from '../src/storage/storage.ts';
import { loadConfig } from '../src/config.ts';
import { createFerryContextFromStorage } from '../src/services/ferry-context.ts';
import { importDataValues } from '../src/services/data-values/data-value-import-service.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../src/services/data-values/data-value-export-service.ts';
import { loadMetadataPayloads } from '../test/support/aggregate-metadata.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../src/domain/category/default-category-model.ts';

/**
 * The national case of issue 14 on PostgreSQL: a country of 10,000 facilities (200 districts of
 * 50) with five years of monthly values, 50,400,000 stored values, generated in the database with
 * `generate_series` (not through the importer). Then:
 *
 * - `national-district-export`: a district's data set over two years (DHIS2's
 *   AggregateDataExportPerformanceTest: `dataValueSets?orgUnit=<district>&children=true&dataSet=..`),
 *   5 concurrent clients, 20 requests each, through the export service (JSON, as DHIS2's test
 *   asks); p50/p95/p99/max printed. Target p95 < 300 ms.
 * - `national-month-import`: one month for the whole country (840,000 values, a period not stored
 *   yet) imported as CSV into that table.
 *
 * The database is generated once into the schema `ferry_national` of FERRY_BENCH_POSTGRES_URL and
 * reused while its row count matches (about 30 minutes on the 2-core bench machine; ~10 GB with
 * indexes). Opt-in: `npm run bench -- --large --only national-scale`.
 */

const SCHEMA = 'ferry_national';
const DISTRICTS = 200;
const FACILITIES_PER_DISTRICT = 50;
const FACILITIES = DISTRICTS * FACILITIES_PER_DISTRICT;
const YEARS = [2020, 2021, 2022, 2023, 2024];
const DATA_SETS = 6;
const ELEMENTS_PER_DATA_SET = 7;
const DATA_ELEMENTS = DATA_SETS * ELEMENTS_PER_DATA_SET;
const COC_UIDS = ['NatCocMale1', 'NatCocFeml1'];
const VALUES_PER_FACILITY_MONTH = DATA_ELEMENTS * COC_UIDS.length;
const STORED_VALUES = FACILITIES * YEARS.length * 12 * VALUES_PER_FACILITY_MONTH;
const ROOT_UID = 'NatCountry1';
const IMPORT_PERIOD = '202501';
const CLIENTS = 5;
const REQUESTS_PER_CLIENT = 20;

const uid = (prefix: string, i: number): string => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;
const districtUid = (d: number): string => uid('ND', d);
const facilityUid = (f: number): string => uid('NF', f);
const elementUid = (e: number): string => uid('NE', e);
const dataSetUid = (s: number): string => uid('NS', s);

function nationalMetadata(): Record<string, unknown> {
  const units: Array<Record<string, unknown>> = [
    { id: ROOT_UID, name: 'Country', shortName: 'Country', openingDate: '1970-01-01' },
  ];
  for (let d = 0; d < DISTRICTS; d++) {
    units.push({
      id: districtUid(d),
      name: `District ${d}`,
      shortName: `D${d}`,
      openingDate: '1970-01-01',
      parent: { id: ROOT_UID },
    });
  }
  for (let f = 0; f < FACILITIES; f++) {
    units.push({
      id: facilityUid(f),
      name: `Facility ${f}`,
      shortName: `F${f}`,
      openingDate: '1970-01-01',
      parent: { id: districtUid(Math.floor(f / FACILITIES_PER_DISTRICT)) },
    });
  }
  const elements = Array.from({ length: DATA_ELEMENTS }, (_, e) => ({
    id: elementUid(e),
    name: `National element ${e}`,
    shortName: `NE${e}`,
    valueType: 'INTEGER_ZERO_OR_POSITIVE',
    aggregationType: 'SUM',
    domainType: 'AGGREGATE',
    zeroIsSignificant: true,
    categoryCombo: { id: 'NatSexCombo' },
  }));
  const facilities = units.slice(1 + DISTRICTS).map((u) => ({ id: u.id }));
  return {
    categoryOptions: [
      { id: 'NatOptMale1', name: 'Male', shortName: 'Male' },
      { id: 'NatOptFeml1', name: 'Female', shortName: 'Female' },
    ],
    categories: [
      {
        id: 'NatSexCateg',
        name: 'Sex',
        shortName: 'Sex',
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: 'NatOptMale1' }, { id: 'NatOptFeml1' }],
      },
    ],
    categoryCombos: [
      {
        id: 'NatSexCombo',
        name: 'Sex',
        dataDimensionType: 'DISAGGREGATION',
        categories: [{ id: 'NatSexCateg' }],
      },
    ],
    categoryOptionCombos: [
      {
        id: COC_UIDS[0],
        name: 'Male',
        categoryCombo: { id: 'NatSexCombo' },
        categoryOptions: [{ id: 'NatOptMale1' }],
      },
      {
        id: COC_UIDS[1],
        name: 'Female',
        categoryCombo: { id: 'NatSexCombo' },
        categoryOptions: [{ id: 'NatOptFeml1' }],
      },
    ],
    organisationUnits: units,
    dataElements: elements,
    dataSets: Array.from({ length: DATA_SETS }, (_, s) => ({
      id: dataSetUid(s),
      name: `National data set ${s}`,
      shortName: `NDS${s}`,
      periodType: 'Monthly',
      expiryDays: 0,
      openFuturePeriods: 0,
      categoryCombo: { id: 'bjDvmb4bfuf' },
      dataSetElements: elements
        .slice(s * ELEMENTS_PER_DATA_SET, (s + 1) * ELEMENTS_PER_DATA_SET)
        .map((de) => ({ dataElement: { id: de.id } })),
      organisationUnits: facilities,
    })),
  };
}

function scopedUrl(url: string): string {
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${SCHEMA}`);
  return scoped.toString();
}

async function storedValues(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: scopedUrl(url) });
  await client.connect();
  try {
    const marker = await client.query(`SELECT values FROM ${SCHEMA}.national_generated WHERE values = $1`, [
      STORED_VALUES,
    ]);
    return marker.rows.length;
  } catch {
    return 0;
  } finally {
    await client.end();
  }
}

/**
 * Generates the country: metadata through the metadata store, 60 monthly periods, then the values
 * of each month by one INSERT ... SELECT over the facilities, elements and combos (as a country
 * enters them: month after month, so rows lie in the table in period order), with the primary key
 * and the secondary index dropped during the load and built afterwards (a sort each, instead of
 * 50 million B-tree insertions), then VACUUM ANALYZE (visibility map and statistics, as a live
 * database has). Progress goes to stderr.
 */
async function generate(url: string): Promise<void> {
  if ((await storedValues(url)) > 0) return;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  await admin.end();
  const storage = await createPostgresStorage(scopedUrl(url), 2);
  await storage.migrate();
  await loadMetadataPayloads(storage, [nationalMetadata()]);
  await storage.close();
  const client = new pg.Client({ connectionString: scopedUrl(url) });
  await client.connect();
  const started = performance.now();
  const log = (what: string): void =>
    console.error(`national: ${what} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  try {
    await client.query(`SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'`);
    await client.query(
      `INSERT INTO period (iso, period_type, start_date, end_date)
       SELECT to_char(d, 'YYYYMM'), 'Monthly', to_char(d, 'YYYY-MM-DD'),
              to_char(d + interval '1 month' - interval '1 day', 'YYYY-MM-DD')
         FROM generate_series(date '${YEARS[0]}-01-01', date '${YEARS[YEARS.length - 1]}-12-01', interval '1 month') AS d
       ON CONFLICT (iso) DO NOTHING`,
    );
    const indexes = await client.query<{ def: string }>(
      `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index
        WHERE indrelid = 'data_value'::regclass AND NOT indisprimary`,
    );
    await client.query('ALTER TABLE data_value DROP CONSTRAINT data_value_pkey');
    for (const index of indexes.rows) await client.query(`DROP INDEX ${indexName(index.def)}`);
    const periods = await client.query<{ period_id: number }>(
      `SELECT period_id FROM period WHERE iso ~ '^20(2[0-4])[0-9]{2}$' ORDER BY iso`,
    );
    for (const [i, { period_id }] of periods.rows.entries()) {
      await client.query(
        `INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id,
                                 attribute_option_combo_id, value, stored_by, created, last_updated,
                                 comment, follow_up, deleted)
         SELECT ou.sid, $1::bigint, de.sid, coc.sid, aoc.sid, ((ou.i * 7 + $2::int * 3 + de.i) % 1000)::text,
                'admin', '2025-02-01T10:00:00.000', '2025-02-01T10:00:00.000', NULL, 0, 0
           FROM (SELECT sid, row_number() OVER (ORDER BY sid) AS i FROM metadata_object
                  WHERE type = 'organisationUnits' AND uid LIKE 'NF%') ou
          CROSS JOIN (SELECT sid, row_number() OVER (ORDER BY sid) AS i FROM metadata_object
                       WHERE type = 'dataElements' AND uid LIKE 'NE%') de
          CROSS JOIN (SELECT sid FROM metadata_object
                       WHERE type = 'categoryOptionCombos' AND uid IN ($3, $4)) coc
          CROSS JOIN (SELECT sid FROM metadata_object
                       WHERE type = 'categoryOptionCombos' AND uid = $5) aoc
          ORDER BY ou.sid, de.sid, coc.sid`,
        [period_id, i, COC_UIDS[0], COC_UIDS[1], DEFAULT_CATEGORY_OPTION_COMBO_UID],
      );
      log(`month ${i + 1} of ${periods.rows.length}`);
    }
    await client.query(
      `ALTER TABLE data_value ADD PRIMARY KEY
         (org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id)`,
    );
    log('primary key built');
    for (const index of indexes.rows) await client.query(index.def);
    log('indexes built');
    await client.query('VACUUM ANALYZE data_value');
    await client.query('VACUUM ANALYZE metadata_object');
    await client.query('CREATE TABLE national_generated (values BIGINT NOT NULL)');
    await client.query('INSERT INTO national_generated SELECT count(*) FROM data_value');
    log('done');
  } finally {
    await client.end();
  }
}

function indexName(definition: string): string {
  const match = /^CREATE (?:UNIQUE )?INDEX (\S+) ON/.exec(definition);
  if (!match) throw new Error(`Unexpected index definition: ${definition}`);
  return match[1];
}

function contextOf(storage: Storage, env: BenchEnvironment) {
  return createFerryContextFromStorage(loadConfig({}, { dataDir: env.outDir }), storage);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** A writable that counts bytes and throws them away. */
function sink(): Writable & { bytes: number } {
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  out.bytes = 0;
  return out;
}

/** One month of values for every facility, as CSV. */
async function monthFile(env: BenchEnvironment): Promise<string> {
  const path = join(env.outDir, `national-month-${IMPORT_PERIOD}.csv`);
  if (existsSync(path)) return path;
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { highWaterMark: 1 << 20 });
  let buffer = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';
  for (let f = 0; f < FACILITIES; f++) {
    for (let e = 0; e < DATA_ELEMENTS; e++) {
      for (const coc of COC_UIDS) {
        buffer += `${elementUid(e)},${IMPORT_PERIOD},${facilityUid(f)},${coc},${DEFAULT_CATEGORY_OPTION_COMBO_UID},${(f + e) % 500}\n`;
      }
    }
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  renameSync(partial, path);
  return path;
}

const noPostgres = (): string | undefined =>
  process.env.FERRY_BENCH_POSTGRES_URL ? undefined : 'set FERRY_BENCH_POSTGRES_URL to run PostgreSQL cases';

export const benchCases: BenchCase[] = [
  {
    name: 'national-district-export',
    description: `a district's data set over two years from ${STORED_VALUES.toLocaleString('en-US')} stored values, ${CLIENTS} concurrent clients (items: values exported)`,
    large: true,
    skipReason: noPostgres,
    async prepare(env) {
      await generate(env.postgresUrl!);
      const storage = await createPostgresStorage(scopedUrl(env.postgresUrl!), CLIENTS * 2);
      const context = contextOf(storage, env);
      const once = async (district: number, dataSet: number): Promise<{ ms: number; bytes: number }> => {
        const start = performance.now();
        const request = parseDataValueExportRequest(
          {
            dataSet: dataSetUid(dataSet),
            orgUnit: districtUid(district),
            children: 'true',
            startDate: '2023-01-01',
            endDate: '2024-12-31',
          },
          { format: 'json', compression: 'none' },
        );
        const result = await exportDataValues(context, request);
        const out = sink();
        await pipeline(result.body, out);
        return { ms: performance.now() - start, bytes: out.bytes };
      };
      // Warm-up: one request, as a server that has answered before (the statement plans, metadata).
      await once(0, 0);
      return async (): Promise<BenchMeasurement> => {
        const cpu = process.cpuUsage();
        const latencies: number[] = [];
        let bytes = 0;
        await Promise.all(
          Array.from({ length: CLIENTS }, async (_, client) => {
            for (let r = 0; r < REQUESTS_PER_CLIENT; r++) {
              // Each request a different district and data set: no request is served from a page
              // another just read.
              const n = client * REQUESTS_PER_CLIENT + r;
              const answer = await once((n * 37) % DISTRICTS, n % DATA_SETS);
              latencies.push(answer.ms);
              bytes += answer.bytes;
            }
          }),
        );
        const used = process.cpuUsage(cpu);
        await storage.close();
        latencies.sort((a, b) => a - b);
        const perExport = FACILITIES_PER_DISTRICT * 24 * ELEMENTS_PER_DATA_SET * COC_UIDS.length;
        const ms = (p: number): string => `${percentile(latencies, p).toFixed(0)} ms`;
        return {
          items: perExport * latencies.length,
          note:
            `${latencies.length} exports of ${perExport} values (${(bytes / latencies.length / 1024).toFixed(0)} KB each): ` +
            `p50 ${ms(50)}, p95 ${ms(95)}, p99 ${ms(99)}, max ${ms(100)}; target p95 < 300 ms ` +
            `${percentile(latencies, 95) < 300 ? 'met' : 'NOT met'}; CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`,
        };
      };
    },
  },
  {
    name: 'national-month-import',
    description: `one month for the country (${(FACILITIES * VALUES_PER_FACILITY_MONTH).toLocaleString('en-US')} values, CSV) into the ${STORED_VALUES.toLocaleString('en-US')}-value table`,
    large: true,
    target: 400_000,
    skipReason: noPostgres,
    async prepare(env) {
      await generate(env.postgresUrl!);
      const path = await monthFile(env);
      const storage = await createPostgresStorage(scopedUrl(env.postgresUrl!), 4);
      // Each run imports the same month into the same table: remove it first, so that it is new.
      const month = `(SELECT period_id FROM period WHERE iso = '${IMPORT_PERIOD}')`;
      await storage.execute(`DELETE FROM data_value WHERE period_id IN ${month}`);
      await storage.execute(`DELETE FROM data_value_audit WHERE period_id IN ${month}`);
      await storage.executeScript('VACUUM data_value');
      return async (): Promise<BenchMeasurement> => {
        const cpu = process.cpuUsage();
        const summary = await importDataValues(
          contextOf(storage, env),
          { path, fileName: path, format: 'csv' },
          {},
          undefined,
        );
        const used = process.cpuUsage(cpu);
        await storage.close();
        const c = summary.importCount;
        if (summary.status !== 'SUCCESS' || c.imported !== FACILITIES * VALUES_PER_FACILITY_MONTH) {
          throw new Error(
            `Import ${summary.status}: ${JSON.stringify(c)} ${JSON.stringify(summary.conflicts.slice(0, 3))}`,
          );
        }
        return {
          items: c.imported,
          note: `imported ${c.imported}; CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`,
        };
      };
    },
  },
];
