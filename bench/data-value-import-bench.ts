import { createReadStream, createWriteStream, existsSync, copyFileSync, rmSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { cpuClock, type BenchCase, type BenchEnvironment, type BenchMeasurement } from './bench-harness.ts';
import { createSqliteStorage } from '../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { createPostgresStorage } from '../src/storage/dialects/postgres/postgres-dialect.ts';
import type { Storage } from '../src/storage/storage.ts';
import { loadConfig } from '../src/config.ts';
import { createFerryContextFromStorage } from '../src/services/ferry-context.ts';
import { importDataValues } from '../src/services/data-values/data-value-import-service.ts';
import { loadMetadataPayloads } from '../test/support/aggregate-metadata.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../src/domain/category/default-category-model.ts';
import { readXmlEventBatches } from '../src/codecs/xml/safe-xml-reader.ts';

/**
 * Data value import throughput: a generated file (UID scheme) into an empty database with full
 * validation, beside a raw floor (split lines, prepared inserts into a bare table) in the same run.
 */

const PERIODS = [
  '202401',
  '202402',
  '202403',
  '202404',
  '202405',
  '202406',
  '202407',
  '202408',
  '202409',
  '202410',
  '202411',
  '202412',
];
const DATA_ELEMENTS = 50;
const COMBO_UID = 'BenchCombo1';
const COC_UIDS = ['BenchCoc001', 'BenchCoc002'];
const DATA_SET_UID = 'BenchDSet01';
/** ADX reads codes by default, so every object an ADX file names has one. */
const CATEGORY_CODE = 'BENCH_CAT';
const OPTION_CODES = ['BENCH_A', 'BENCH_B'];
const DATA_SET_CODE = 'BENCH_DS';
const ouCode = (i: number): string => `OU_${i}`;
const deCode = (i: number): string => `DE_${i}`;

const uid = (prefix: string, i: number): string => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;

function shape(values: number): { orgUnits: number } {
  return { orgUnits: Math.ceil(values / (PERIODS.length * DATA_ELEMENTS * COC_UIDS.length)) };
}

/** The metadata the generated files refer to, in DHIS2's JSON shape. */
function benchMetadata(values: number): Record<string, unknown> {
  const { orgUnits } = shape(values);
  const root = { id: 'BenchRoot01', name: 'Bench country', shortName: 'Bench', openingDate: '1970-01-01' };
  const units = [root];
  for (let i = 0; i < orgUnits; i++) {
    units.push({
      id: uid('O', i),
      code: ouCode(i),
      name: `Facility ${i}`,
      shortName: `F${i}`,
      openingDate: '1970-01-01',
      parent: { id: root.id },
    } as never);
  }
  const dataElements = Array.from({ length: DATA_ELEMENTS }, (_, i) => ({
    id: uid('D', i),
    code: deCode(i),
    name: `Bench element ${i}`,
    shortName: `BE${i}`,
    valueType: 'INTEGER_ZERO_OR_POSITIVE',
    aggregationType: 'SUM',
    domainType: 'AGGREGATE',
    zeroIsSignificant: true,
    categoryCombo: { id: COMBO_UID },
  }));
  return {
    categoryOptions: [
      { id: 'BenchOptA01', code: OPTION_CODES[0], name: 'Bench A', shortName: 'A' },
      { id: 'BenchOptB01', code: OPTION_CODES[1], name: 'Bench B', shortName: 'B' },
    ],
    categories: [
      {
        id: 'BenchCateg1',
        code: CATEGORY_CODE,
        name: 'Bench category',
        shortName: 'BC',
        dataDimensionType: 'DISAGGREGATION',
        categoryOptions: [{ id: 'BenchOptA01' }, { id: 'BenchOptB01' }],
      },
    ],
    categoryCombos: [
      {
        id: COMBO_UID,
        name: 'Bench combo',
        dataDimensionType: 'DISAGGREGATION',
        categories: [{ id: 'BenchCateg1' }],
      },
    ],
    categoryOptionCombos: [
      {
        id: COC_UIDS[0],
        name: 'Bench A',
        categoryCombo: { id: COMBO_UID },
        categoryOptions: [{ id: 'BenchOptA01' }],
      },
      {
        id: COC_UIDS[1],
        name: 'Bench B',
        categoryCombo: { id: COMBO_UID },
        categoryOptions: [{ id: 'BenchOptB01' }],
      },
    ],
    organisationUnits: units,
    dataElements,
    dataSets: [
      {
        id: DATA_SET_UID,
        code: DATA_SET_CODE,
        name: 'Bench data set',
        shortName: 'BDS',
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

type BenchFormat = 'csv' | 'json' | 'xml' | 'adx';

const FILE_HEADS: Record<BenchFormat, string> = {
  csv: 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n',
  json: '{"dataValues":[\n',
  xml: '<?xml version="1.0" encoding="UTF-8"?>\n<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0">\n',
  adx: '<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="urn:ihe:qrph:adx:2015">\n',
};
const FILE_TAILS: Record<BenchFormat, string> = {
  csv: '',
  json: '\n]}\n',
  xml: '</dataValueSet>\n',
  adx: '</adx>\n',
};

/** `202401` → `2024-01-01/P1M`, the ADX form of a monthly period. */
const adxPeriod = (iso: string): string => `${iso.slice(0, 4)}-${iso.slice(4)}-01/P1M`;

/**
 * Writes the file rows in the order a DHIS2 export has them (org unit, period, element, combo).
 * CSV, JSON and XML name everything by UID; ADX by code (its default scheme), one group per org
 * unit and period with the disaggregation as a category attribute.
 */
async function writeValues(path: string, values: number, format: BenchFormat): Promise<void> {
  if (existsSync(path)) return;
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { highWaterMark: 1024 * 1024 });
  let buffer = FILE_HEADS[format];
  let n = 0;
  const { orgUnits } = shape(values);
  outer: for (let o = 0; o < orgUnits; o++) {
    const ou = uid('O', o);
    for (const pe of PERIODS) {
      if (format === 'adx') {
        if (n >= values) break outer;
        buffer += `<group orgUnit="${ouCode(o)}" period="${adxPeriod(pe)}" dataSet="${DATA_SET_CODE}">\n`;
      }
      for (let d = 0; d < DATA_ELEMENTS; d++) {
        const de = uid('D', d);
        for (let c = 0; c < COC_UIDS.length; c++) {
          if (n >= values) break;
          const coc = COC_UIDS[c];
          const value = String(((n * 7919) % 1000) + 1);
          if (format === 'csv') {
            buffer += `${de},${pe},${ou},${coc},${DEFAULT_CATEGORY_OPTION_COMBO_UID},${value}\n`;
          } else if (format === 'json') {
            buffer += `${n > 0 ? ',\n' : ''}{"dataElement":"${de}","period":"${pe}","orgUnit":"${ou}","categoryOptionCombo":"${coc}","attributeOptionCombo":"${DEFAULT_CATEGORY_OPTION_COMBO_UID}","value":"${value}"}`;
          } else if (format === 'xml') {
            buffer += `<dataValue dataElement="${de}" period="${pe}" orgUnit="${ou}" categoryOptionCombo="${coc}" attributeOptionCombo="${DEFAULT_CATEGORY_OPTION_COMBO_UID}" value="${value}"/>\n`;
          } else {
            buffer += `<dataValue dataElement="${deCode(d)}" ${CATEGORY_CODE}="${OPTION_CODES[c]}" value="${value}"/>\n`;
          }
          n++;
          if (buffer.length > 1 << 20) {
            if (!out.write(buffer)) await once(out, 'drain');
            buffer = '';
          }
        }
      }
      if (format === 'adx') buffer += '</group>\n';
    }
  }
  buffer += FILE_TAILS[format];
  out.end(buffer);
  await once(out, 'finish');
  renameSync(partial, path);
}

async function inputFile(env: BenchEnvironment, values: number, format: BenchFormat): Promise<string> {
  const path = join(env.outDir, `data-values-${values}.${format === 'adx' ? 'adx.xml' : format}`);
  await writeValues(path, values, format);
  return path;
}

/** A migrated SQLite database holding the bench metadata, copied afresh for each case. */
async function sqliteWithMetadata(env: BenchEnvironment, values: number, name: string): Promise<string> {
  // v2: the metadata gained codes (for ADX); an older cached template lacks them.
  const template = join(env.outDir, `metadata-v2-${values}.db`);
  if (!existsSync(template)) {
    const building = `${template}.building`;
    rmSync(building, { force: true });
    const storage = await createSqliteStorage(building);
    await storage.migrate();
    await loadMetadataPayloads(storage, [benchMetadata(values)]);
    await storage.close();
    renameSync(building, template);
  }
  const path = join(env.outDir, `scratch-${name}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(template, path);
  return path;
}

/**
 * FERRY_BENCH_DECODE_THREAD=always decodes on a thread of its own, =never inline; unset, the import
 * decides as in production (DECODE_THREAD_MIN_BYTES: inline for now).
 */
const DECODE_THREAD = (process.env.FERRY_BENCH_DECODE_THREAD ?? 'auto') as 'auto' | 'always' | 'never';

function contextOf(storage: Storage) {
  return createFerryContextFromStorage(loadConfig({}, { dataDir: '/tmp' }), storage);
}

function importInto(storage: Storage, path: string, format: string) {
  const context = contextOf(storage);
  return async (): Promise<BenchMeasurement> => {
    const cpu = cpuClock();
    const summary = await importDataValues(context, { path, fileName: path, format }, {}, undefined, {
      decodeThread: DECODE_THREAD,
    });
    await storage.close();
    const c = summary.importCount;
    if (summary.status !== 'SUCCESS')
      throw new Error(`Import ${summary.status}: ${JSON.stringify(summary.conflicts.slice(0, 3))}`);
    return {
      items: c.imported + c.updated + c.ignored + c.deleted,
      note: `${summary.status}: imported ${c.imported}, updated ${c.updated}, ignored ${c.ignored}; ${cpu.note()}`,
    };
  };
}

/** A fresh scratch SQLite file with the bare six-column table every raw floor inserts into. */
function openFloorTable(env: BenchEnvironment, fileName: string): DatabaseSync {
  const path = join(env.outDir, fileName);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  db.exec('CREATE TABLE raw (de TEXT, pe TEXT, ou TEXT, coc TEXT, aoc TEXT, value TEXT)');
  return db;
}

/** Raw floor: split lines, prepared INSERT of the six text fields into a table with no index. */
function csvFloorSqlite(env: BenchEnvironment, values: number): BenchCase['prepare'] {
  return async () => {
    const file = await inputFile(env, values, 'csv');
    const db = openFloorTable(env, 'scratch-floor.db');
    return async () => {
      const cpu = cpuClock();
      const insert = db.prepare('INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?)');
      let rows = 0;
      let rest = '';
      let header = true;
      db.exec('BEGIN');
      for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
        const lines = (rest + (chunk as string)).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (header) {
            header = false;
            continue;
          }
          const f = line.split(',');
          insert.run(f[0], f[1], f[2], f[3], f[4], f[5]);
          rows++;
        }
      }
      db.exec('COMMIT');
      db.close();
      return { items: rows, note: cpu.note() };
    };
  };
}

/** Raw floor for JSON: one object a line, `JSON.parse` each, prepared inserts into a bare table. */
function jsonFloorSqlite(env: BenchEnvironment, values: number): BenchCase['prepare'] {
  return async () => {
    const file = await inputFile(env, values, 'json');
    const db = openFloorTable(env, 'scratch-floor-json.db');
    return async () => {
      const cpu = cpuClock();
      const insert = db.prepare('INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?)');
      let rows = 0;
      let rest = '';
      db.exec('BEGIN');
      for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
        const lines = (rest + (chunk as string)).split('\n');
        rest = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.startsWith('{"dataElement"')) continue;
          const v = JSON.parse(line.endsWith(',') ? line.slice(0, -1) : line) as Record<string, string>;
          insert.run(
            v.dataElement,
            v.period,
            v.orgUnit,
            v.categoryOptionCombo,
            v.attributeOptionCombo,
            v.value,
          );
          rows++;
        }
      }
      db.exec('COMMIT');
      db.close();
      return { items: rows, note: cpu.note() };
    };
  };
}

/**
 * Raw floor for an XML format: the shared safe XML reader's event batches (the parse every XML
 * import pays for), attributes of each value element into prepared inserts into a bare table.
 */
function xmlFloorSqlite(env: BenchEnvironment, values: number, format: 'xml' | 'adx'): BenchCase['prepare'] {
  return async () => {
    const file = await inputFile(env, values, format);
    const db = openFloorTable(env, `scratch-floor-${format}.db`);
    return async () => {
      const cpu = cpuClock();
      const insert = db.prepare('INSERT INTO raw VALUES (?, ?, ?, ?, ?, ?)');
      let rows = 0;
      let group: Record<string, string> = {};
      db.exec('BEGIN');
      const text = createReadStream(file, {
        encoding: 'utf8',
        highWaterMark: 1 << 20,
      }) as AsyncIterable<string>;
      for await (const events of readXmlEventBatches(text, {
        fileName: file,
        captureDepth: format === 'xml' ? 2 : 3,
      })) {
        for (const event of events) {
          if (event.kind === 'open' && event.element.depth === 2) group = event.element.attributes;
          if (event.kind !== 'element' || event.element.localName !== 'dataValue') continue;
          const a = event.element.attributes;
          if (format === 'xml') {
            insert.run(
              a.dataElement,
              a.period,
              a.orgUnit,
              a.categoryOptionCombo,
              a.attributeOptionCombo,
              a.value,
            );
          } else {
            insert.run(a.dataElement, group.period, group.orgUnit, a[CATEGORY_CODE], null, a.value);
          }
          rows++;
        }
      }
      db.exec('COMMIT');
      db.close();
      return { items: rows, note: cpu.note() };
    };
  };
}

/**
 * Prepares an import of the generated file of one format into a fresh copy of the bench metadata
 * on SQLite: `values` (the run's `--values`) or the large cases' `largeValues`.
 */
function sqliteImport(format: BenchFormat, size: 'values' | 'largeValues'): BenchCase['prepare'] {
  return async (env) => {
    const values = env[size];
    const file = await inputFile(env, values, format);
    const name = size === 'values' ? format : `${format}-large`;
    const storage = await createSqliteStorage(await sqliteWithMetadata(env, values, name));
    return importInto(storage, file, format);
  };
}

/** Floor, import and large-file cases of one XML format. */
function xmlFormatCases(format: 'xml' | 'adx', label: string): BenchCase[] {
  return [
    {
      name: `floor-${format}-sqlite`,
      description: `raw floor: the safe XML reader's events, prepared INSERT into a bare SQLite table (${label})`,
      prepare: (env) => xmlFloorSqlite(env, env.values, format)(env),
    },
    {
      name: `${format}-import-sqlite`,
      description: `${label} import into an empty SQLite database, full validation, audit`,
      floor: `floor-${format}-sqlite`,
      target: 150_000,
      prepare: sqliteImport(format, 'values'),
    },
    {
      name: `${format}-import-sqlite-large`,
      description: `${label} import of the large file (memory: peak RSS must stay under 300 MB)`,
      large: true,
      peakRssTargetMb: 300,
      prepare: sqliteImport(format, 'largeValues'),
    },
  ];
}

async function freshPostgres(url: string): Promise<Storage> {
  const schema = 'ferry_bench';
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const scoped = new URL(url);
  scoped.searchParams.set('options', `-c search_path=${schema}`);
  const storage = await createPostgresStorage(scoped.toString(), 4);
  await storage.migrate();
  return storage;
}

/** A fresh PostgreSQL schema holding the bench metadata. */
async function postgresWithMetadata(env: BenchEnvironment): Promise<Storage> {
  const storage = await freshPostgres(env.postgresUrl!);
  await loadMetadataPayloads(storage, [benchMetadata(env.values)]);
  return storage;
}

const noPostgres = (): string | undefined =>
  process.env.FERRY_BENCH_POSTGRES_URL ? undefined : 'set FERRY_BENCH_POSTGRES_URL to run PostgreSQL cases';

export const benchCases: BenchCase[] = [
  {
    name: 'floor-csv-sqlite',
    description: 'raw floor: split CSV lines, prepared INSERT into a bare SQLite table',
    prepare: (env) => csvFloorSqlite(env, env.values)(env),
  },
  {
    name: 'csv-import-sqlite',
    description: 'CSV import into an empty SQLite database, UID scheme, full validation, audit',
    floor: 'floor-csv-sqlite',
    target: 250_000,
    prepare: sqliteImport('csv', 'values'),
  },
  {
    name: 'csv-reimport-sqlite',
    description: 'the same CSV again: every value identical, all ignored',
    floor: 'floor-csv-sqlite',
    target: 250_000,
    async prepare(env) {
      const file = await inputFile(env, env.values, 'csv');
      const path = await sqliteWithMetadata(env, env.values, 'reimport');
      await importInto(await createSqliteStorage(path), file, 'csv')();
      return importInto(await createSqliteStorage(path), file, 'csv');
    },
  },
  {
    name: 'floor-json-sqlite',
    description: 'raw floor: JSON.parse one object a line, prepared INSERT into a bare SQLite table',
    prepare: (env) => jsonFloorSqlite(env, env.values)(env),
  },
  {
    name: 'json-import-sqlite',
    description: 'JSON import (streaming reader) into an empty SQLite database, full validation',
    floor: 'floor-json-sqlite',
    target: 150_000,
    prepare: sqliteImport('json', 'values'),
  },
  ...xmlFormatCases('xml', 'DXF2 XML'),
  ...xmlFormatCases('adx', 'ADX (CODE scheme)'),
  {
    name: 'floor-csv-postgres',
    description:
      'raw floor: split CSV lines, INSERT ... unnest batches of 10,000 into a bare PostgreSQL table',
    skipReason: noPostgres,
    async prepare(env) {
      const file = await inputFile(env, env.values, 'csv');
      const storage = await freshPostgres(env.postgresUrl!);
      await storage.execute('CREATE TABLE raw (de TEXT, pe TEXT, ou TEXT, coc TEXT, aoc TEXT, value TEXT)');
      return async () => {
        let rows = 0;
        let rest = '';
        let header = true;
        let columns: string[][] = [[], [], [], [], [], []];
        const flush = async (): Promise<void> => {
          await storage.execute(
            'INSERT INTO raw SELECT * FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::text[])',
            columns as never,
          );
          columns = [[], [], [], [], [], []];
        };
        for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
          const lines = (rest + (chunk as string)).split('\n');
          rest = lines.pop() ?? '';
          for (const line of lines) {
            if (header) {
              header = false;
              continue;
            }
            const f = line.split(',');
            for (let i = 0; i < 6; i++) columns[i].push(f[i]);
            rows++;
            if (columns[0].length >= 10_000) await flush();
          }
        }
        if (columns[0].length > 0) await flush();
        await storage.close();
        return { items: rows };
      };
    },
  },
  {
    name: 'csv-import-postgres',
    description: 'CSV import into an empty PostgreSQL database, UID scheme, full validation, audit',
    floor: 'floor-csv-postgres',
    target: 100_000,
    skipReason: noPostgres,
    async prepare(env) {
      const file = await inputFile(env, env.values, 'csv');
      return importInto(await postgresWithMetadata(env), file, 'csv');
    },
  },
  {
    name: 'csv-reimport-postgres',
    description: 'the same CSV again into PostgreSQL: every value looked up, identical, all ignored',
    floor: 'floor-csv-postgres',
    skipReason: noPostgres,
    async prepare(env) {
      const file = await inputFile(env, env.values, 'csv');
      const storage = await postgresWithMetadata(env);
      await importDataValues(
        contextOf(storage),
        { path: file, fileName: file, format: 'csv' },
        {},
        undefined,
      );
      return importInto(storage, file, 'csv');
    },
  },
  {
    name: 'csv-import-sqlite-large',
    description: 'CSV import of the large file (memory: peak RSS must stay under 300 MB)',
    large: true,
    peakRssTargetMb: 300,
    prepare: sqliteImport('csv', 'largeValues'),
  },
  {
    name: 'json-import-sqlite-large',
    description: 'JSON import of the large file (memory: peak RSS must stay under 300 MB)',
    large: true,
    peakRssTargetMb: 300,
    prepare: sqliteImport('json', 'largeValues'),
  },
];
