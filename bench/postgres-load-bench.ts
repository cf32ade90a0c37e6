import { createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
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
 * PostgreSQL data value loads and exports (issue 14), each beside the fastest thing PostgreSQL
 * itself does with the same rows in the same run:
 *
 * - import: a generated CSV file (UID scheme, full validation, audit) into an empty database and
 *   again into the loaded one (every value unchanged; and every value changed), beside `COPY` of
 *   the same file into a bare six-column table;
 * - export: the service's CSV of every value of a data set, beside `COPY (SELECT * FROM
 *   data_value) TO STDOUT` written to a file.
 *
 * Each case notes the process's CPU seconds: the machine is shared, so wall time alone says little.
 */

const PERIODS = Array.from({ length: 12 }, (_, m) => `2024${String(m + 1).padStart(2, '0')}`);
const DATA_ELEMENTS = 50;
const COMBO_UID = 'PgLoadComb1';
const COC_UIDS = ['PgLoadCoc01', 'PgLoadCoc02'];
const DATA_SET_UID = 'PgLoadDSet1';
const ROOT_UID = 'PgLoadRoot1';
const SCHEMA = 'ferry_pg_load';

const uid = (prefix: string, i: number): string => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;
const orgUnitsFor = (values: number): number =>
  Math.ceil(values / (PERIODS.length * DATA_ELEMENTS * COC_UIDS.length));

/** The metadata the generated file refers to, in DHIS2's JSON shape. */
function loadMetadata(values: number): Record<string, unknown> {
  const root = { id: ROOT_UID, name: 'PG load country', shortName: 'PGL', openingDate: '1970-01-01' };
  const units: Array<Record<string, unknown>> = [root];
  for (let i = 0; i < orgUnitsFor(values); i++) {
    units.push({
      id: uid('Q', i),
      name: `PG load facility ${i}`,
      shortName: `PF${i}`,
      openingDate: '1970-01-01',
      parent: { id: ROOT_UID },
    });
  }
  const dataElements = Array.from({ length: DATA_ELEMENTS }, (_, i) => ({
    id: uid('E', i),
    name: `PG load element ${i}`,
    shortName: `PE${i}`,
    valueType: 'INTEGER_ZERO_OR_POSITIVE',
    aggregationType: 'SUM',
    domainType: 'AGGREGATE',
    zeroIsSignificant: true,
    categoryCombo: { id: COMBO_UID },
  }));
  return {
    categoryOptions: [
      { id: 'PgLoadOptA1', name: 'PG load A', shortName: 'PA' },
      { id: 'PgLoadOptB1', name: 'PG load B', shortName: 'PB' },
    ],
    categories: [
      {
        id: 'PgLoadCate1',
        name: 'PG load category',
        shortName: 'PC',
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: 'PgLoadOptA1' }, { id: 'PgLoadOptB1' }],
      },
    ],
    categoryCombos: [
      {
        id: COMBO_UID,
        name: 'PG load combo',
        dataDimensionType: 'DISAGGREGATION',
        categories: [{ id: 'PgLoadCate1' }],
      },
    ],
    categoryOptionCombos: COC_UIDS.map((id, i) => ({
      id,
      name: `PG load ${i === 0 ? 'A' : 'B'}`,
      categoryCombo: { id: COMBO_UID },
      categoryOptions: [{ id: i === 0 ? 'PgLoadOptA1' : 'PgLoadOptB1' }],
    })),
    organisationUnits: units,
    dataElements,
    dataSets: [
      {
        id: DATA_SET_UID,
        name: 'PG load data set',
        shortName: 'PLDS',
        periodType: 'Monthly',
        expiryDays: 0,
        openFuturePeriods: 0,
        categoryCombo: { id: 'bjDvmb4bfuf' },
        dataSetElements: dataElements.map((de) => ({ dataElement: { id: de.id } })),
        organisationUnits: units.map((u) => ({ id: u.id })),
      },
    ],
  };
}

/**
 * The CSV file, rows in a DHIS2 export's order (org unit, period, element, combo); `shift` changes
 * every value (the update case).
 */
async function csvFile(env: BenchEnvironment, values: number, shift = 0): Promise<string> {
  const path = join(env.outDir, `pg-load-${values}${shift ? `-shift${shift}` : ''}.csv`);
  if (existsSync(path)) return path;
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { highWaterMark: 1 << 20 });
  let buffer = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';
  let n = 0;
  outer: for (let o = 0; o < orgUnitsFor(values); o++) {
    const ou = uid('Q', o);
    for (const pe of PERIODS) {
      for (let d = 0; d < DATA_ELEMENTS; d++) {
        for (const coc of COC_UIDS) {
          if (n >= values) break outer;
          const value = ((n * 7919) % 1000) + 1 + shift;
          buffer += `${uid('E', d)},${pe},${ou},${coc},${DEFAULT_CATEGORY_OPTION_COMBO_UID},${value}\n`;
          n++;
          if (buffer.length > 1 << 20) {
            if (!out.write(buffer)) await once(out, 'drain');
            buffer = '';
          }
        }
      }
    }
  }
  out.end(buffer);
  await once(out, 'finish');
  renameSync(partial, path);
  return path;
}

/** The bench's own schema, dropped and created again; the storage's search path points there. */
async function freshSchema(url: string): Promise<Storage> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await admin.query(`CREATE SCHEMA ${SCHEMA}`);
  await admin.end();
  const storage = await createPostgresStorage(scopedUrl(url), 4);
  await storage.migrate();
  return storage;
}

function scopedUrl(url: string): string {
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${SCHEMA}`);
  return scoped.toString();
}

async function withMetadata(env: BenchEnvironment): Promise<Storage> {
  const storage = await freshSchema(env.postgresUrl!);
  await loadMetadataPayloads(storage, [loadMetadata(env.values)]);
  return storage;
}

function contextOf(storage: Storage, env: BenchEnvironment) {
  return createFerryContextFromStorage(loadConfig({}, { dataDir: env.outDir }), storage);
}

/** CPU seconds (user + system) of this process since `since`. */
function cpuSince(since: NodeJS.CpuUsage): string {
  const used = process.cpuUsage(since);
  return `CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`;
}

async function importFile(storage: Storage, env: BenchEnvironment, path: string) {
  const summary = await importDataValues(
    contextOf(storage, env),
    { path, fileName: path, format: 'csv' },
    {},
    undefined,
  );
  if (summary.status !== 'SUCCESS') {
    throw new Error(`Import ${summary.status}: ${JSON.stringify(summary.conflicts.slice(0, 3))}`);
  }
  return summary.importCount;
}

function importCase(
  name: string,
  description: string,
  before: (storage: Storage, env: BenchEnvironment) => Promise<void>,
  shift: number,
  expect: 'imported' | 'ignored' | 'updated',
): BenchCase {
  return {
    name,
    description,
    floor: 'floor-copy-postgres',
    target: 400_000,
    skipReason: noPostgres,
    async prepare(env) {
      const path = await csvFile(env, env.values, shift);
      const storage = await withMetadata(env);
      await before(storage, env);
      return async (): Promise<BenchMeasurement> => {
        const cpu = process.cpuUsage();
        const c = await importFile(storage, env, path);
        const note = `${cpuSince(cpu)}; imported ${c.imported}, updated ${c.updated}, ignored ${c.ignored}`;
        await storage.close();
        // A short or mis-classified load must not pass as a fast one.
        if (c[expect] !== env.values) throw new Error(`Expected ${env.values} ${expect}: ${note}`);
        return { items: c.imported + c.updated + c.ignored + c.deleted, note };
      };
    },
  };
}

/** Fills `data_value` in SQL for the export cases: the same shape and stamps an import writes. */
async function generateValues(storage: Storage, values: number): Promise<void> {
  await storage.execute(
    `INSERT INTO period (iso, period_type, start_date, end_date)
     SELECT to_char(d, 'YYYYMM'), 'Monthly', to_char(d, 'YYYY-MM-DD'),
            to_char(d + interval '1 month' - interval '1 day', 'YYYY-MM-DD')
       FROM generate_series(date '2024-01-01', date '2024-12-01', interval '1 month') AS d
     ON CONFLICT (iso) DO NOTHING`,
  );
  await storage.execute(
    `WITH ou AS (SELECT sid, row_number() OVER (ORDER BY uid) - 1 AS i FROM metadata_object
                  WHERE type = 'organisationUnits' AND uid <> ?),
          de AS (SELECT sid, row_number() OVER (ORDER BY uid) - 1 AS i FROM metadata_object WHERE type = 'dataElements'),
          coc AS (SELECT sid FROM metadata_object WHERE type = 'categoryOptionCombos' AND uid IN (?, ?)),
          aoc AS (SELECT sid FROM metadata_object WHERE type = 'categoryOptionCombos' AND uid = ?),
          pe AS (SELECT period_id FROM period WHERE iso LIKE '2024__')
     INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id,
                             attribute_option_combo_id, value, stored_by, created, last_updated,
                             comment, follow_up, deleted)
     SELECT ou.sid, pe.period_id, de.sid, coc.sid, aoc.sid, ((ou.i * 7 + de.i) % 1000)::text, 'admin',
            '2024-06-01T10:00:00.000', '2024-06-01T10:00:00.000', NULL, 0, 0
       FROM ou CROSS JOIN pe CROSS JOIN de CROSS JOIN coc CROSS JOIN aoc
      ORDER BY 1, 2, 3, 4
      LIMIT ?`,
    [ROOT_UID, COC_UIDS[0], COC_UIDS[1], DEFAULT_CATEGORY_OPTION_COMBO_UID, values],
  );
  await storage.executeScript('ANALYZE data_value');
}

/** Counts line feeds passing through. */
function lineCounter(): Transform & { lines: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) counter.lines++;
      done(null, chunk);
    },
  }) as Transform & { lines: number };
  counter.lines = 0;
  return counter;
}

const noPostgres = (): string | undefined =>
  process.env.FERRY_BENCH_POSTGRES_URL ? undefined : 'set FERRY_BENCH_POSTGRES_URL to run PostgreSQL cases';

export const benchCases: BenchCase[] = [
  {
    name: 'floor-copy-postgres',
    description: 'raw floor: the CSV file piped into COPY ... FROM STDIN (FORMAT csv) of a bare table',
    skipReason: noPostgres,
    async prepare(env) {
      const path = await csvFile(env, env.values);
      const storage = await freshSchema(env.postgresUrl!);
      await storage.close();
      const client = new pg.Client({ connectionString: scopedUrl(env.postgresUrl!) });
      await client.connect();
      await client.query('CREATE TABLE raw (de TEXT, pe TEXT, ou TEXT, coc TEXT, aoc TEXT, value TEXT)');
      return async () => {
        const cpu = process.cpuUsage();
        const copy = client.query(copyFrom('COPY raw FROM STDIN (FORMAT csv, HEADER true)'));
        await pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), copy);
        const rows = Number(copy.rowCount);
        await client.end();
        return { items: rows, note: cpuSince(cpu) };
      };
    },
  },
  importCase(
    'csv-import-postgres',
    'CSV import into an empty PostgreSQL database, UID scheme, full validation, audit',
    async () => {},
    0,
    'imported',
  ),
  importCase(
    'csv-reimport-postgres',
    'the same CSV into the loaded database: every value compared, unchanged, ignored',
    async (storage, env) => {
      await importFile(storage, env, await csvFile(env, env.values));
    },
    0,
    'ignored',
  ),
  importCase(
    'csv-update-postgres',
    'a CSV changing every value of the loaded database: updates with UPDATE audit rows',
    async (storage, env) => {
      await importFile(storage, env, await csvFile(env, env.values));
    },
    1,
    'updated',
  ),
  {
    name: 'floor-copy-export-postgres',
    description: 'raw floor: COPY (SELECT * FROM data_value) TO STDOUT written to a file',
    skipReason: noPostgres,
    async prepare(env) {
      const storage = await withMetadata(env);
      await generateValues(storage, env.values);
      await storage.close();
      const output = join(env.outDir, 'pg-export-floor.out');
      return async () => {
        const cpu = process.cpuUsage();
        const client = new pg.Client({ connectionString: scopedUrl(env.postgresUrl!) });
        await client.connect();
        const counter = lineCounter();
        await pipeline(
          client.query(copyTo('COPY (SELECT * FROM data_value ORDER BY 1, 2, 3, 4, 5) TO STDOUT')),
          counter,
          createWriteStream(output),
        );
        await client.end();
        rmSync(output, { force: true });
        return { items: counter.lines, note: cpuSince(cpu) };
      };
    },
  },
  ...(['none', 'gzip'] as const).map((compression): BenchCase => ({
    name: compression === 'none' ? 'csv-export-postgres' : 'csv-gz-export-postgres',
    description: `the service's ${compression === 'none' ? 'CSV' : 'CSV.gz'} of every value (data set, org unit subtree, a year)`,
    floor: 'floor-copy-export-postgres',
    target: 600_000,
    skipReason: noPostgres,
    async prepare(env) {
      const storage = await withMetadata(env);
      await generateValues(storage, env.values);
      const output = join(env.outDir, `pg-export-${compression}.out`);
      const context = contextOf(storage, env);
      return async () => {
        const cpu = process.cpuUsage();
        const request = parseDataValueExportRequest(
          {
            dataSet: DATA_SET_UID,
            orgUnit: ROOT_UID,
            children: 'true',
            startDate: '2024-01-01',
            endDate: '2024-12-31',
          },
          { format: 'csv', compression },
        );
        const result = await exportDataValues(context, request);
        const counter = lineCounter();
        await pipeline(result.body, counter, createWriteStream(output));
        await storage.close();
        rmSync(output, { force: true });
        if (compression === 'none' && counter.lines !== env.values + 1) {
          throw new Error(`Export wrote ${counter.lines} lines for ${env.values} values`);
        }
        return { items: env.values, note: cpuSince(cpu) };
      };
    },
  })),
];
