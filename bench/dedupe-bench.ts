import { copyFileSync, createReadStream, createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { BenchCase, BenchEnvironment, BenchMeasurement } from './bench-harness.ts';
import { createSqliteStorage } from '../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { createPostgresStorage } from '../src/storage/dialects/postgres/postgres-dialect.ts';
import type { Storage } from '../src/storage/storage.ts';
import { loadConfig } from '../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../src/services/ferry-context.ts';
import { createPool, pruneExpiredEntries, requirePool } from '../src/services/dedupe/dedupe-pool-service.ts';
import { checkAndTrackKeys } from '../src/services/dedupe/dedupe-key-check.ts';
import { importPoolCsv } from '../src/services/dedupe/dedupe-pool-csv.ts';
import { DATA_VALUE_ENTITY_TYPE } from '../src/domain/dedupe/dedupe-entity-types.ts';

/**
 * De-duplication pools (issue 16): FILTER_AND_TRACK's check-and-track of `--values` keys (default
 * 1,000,000; target 300,000 keys/s) through `checkAndTrackKeys`, the function the data value and
 * tracker imports call, in batches of 2,000 keys as the data value import sends them, inside one
 * transaction; and a pool CSV import (`value,entity_type_id`, target 500,000 rows/s) through
 * `importPoolCsv`. The floors are the least the same work costs: a prepared `INSERT OR IGNORE` of
 * each key into a bare table whose only index is the (pool, type, key) unique one (for the CSV
 * file: after splitting its lines), or on PostgreSQL `INSERT ... SELECT unnest(...) ON CONFLICT DO
 * NOTHING` into such a table. Select them alone with `npm run bench -- --only dedupe`.
 */

/** Keys per check, as the data value import's batches (BATCH_SIZE in data-value-import-service.ts). */
const CHECK_BATCH = 2_000;
const PERIODS = Array.from({ length: 12 }, (_, m) => `2024${String(m + 1).padStart(2, '0')}`);
const DATA_ELEMENTS = 50;
const COCS = ['BenchCoc001', 'BenchCoc002'];
const AOC = 'HllvX50cXC0';
const TYPE = DATA_VALUE_ENTITY_TYPE.id;

const uid = (prefix: string, i: number): string => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;

/**
 * The i-th data value key as the data value import builds it (UIDs and ISO period joined with
 * `/`), in a file's order: category option combo fastest, then data element, period, org unit. So
 * consecutive batches land all over the index, as a real file's do.
 */
function keyAt(i: number): string {
  const coc = i % COCS.length;
  const de = Math.floor(i / COCS.length) % DATA_ELEMENTS;
  const pe = Math.floor(i / (COCS.length * DATA_ELEMENTS)) % PERIODS.length;
  const ou = Math.floor(i / (COCS.length * DATA_ELEMENTS * PERIODS.length));
  return `${uid('D', de)}/${PERIODS[pe]}/${uid('O', ou)}/${COCS[coc]}/${AOC}`;
}

function* keyBatches(count: number): Generator<string[]> {
  for (let start = 0; start < count; start += CHECK_BATCH) {
    const batch: string[] = [];
    for (let i = start; i < Math.min(count, start + CHECK_BATCH); i++) batch.push(keyAt(i));
    yield batch;
  }
}

function removeDb(path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
}

/** A migrated SQLite database with one empty pool named `bench`. */
async function sqliteContext(path: string, outDir: string): Promise<FerryContext> {
  const storage = await createSqliteStorage(path);
  await storage.migrate();
  return createFerryContextFromStorage(loadConfig({}, { dataDir: outDir }), storage);
}

async function freshSqlitePool(env: BenchEnvironment, name: string): Promise<FerryContext> {
  const path = join(env.outDir, name);
  removeDb(path);
  const context = await sqliteContext(path, env.outDir);
  await createPool(context, undefined, { name: 'bench' });
  return context;
}

/** What an import does with a pool in FILTER_AND_TRACK: check, then check-and-track each batch. */
async function checkAndTrack(context: FerryContext, count: number): Promise<BenchMeasurement> {
  const now = new Date().toISOString();
  let added = 0;
  await context.storage.transaction(async (tx) => {
    const row = await requirePool(tx, undefined, 'bench', 'track');
    await pruneExpiredEntries(tx, row, new Date(now));
    for (const batch of keyBatches(count)) {
      // An import passes distinct keys; these are.
      added += (await checkAndTrackKeys(tx, row.poolId, TYPE, batch, now, 'benchJob001')).size;
    }
  });
  // Not closed: PostgreSQL's pool would keep the process alive, SQLite's connection does not, and
  // closing (PRAGMA optimize) is no part of the work.
  if (context.storage.kind === 'postgres') await context.storage.close();
  return { items: count, note: `${added.toLocaleString('en-US')} keys new to the pool` };
}

/** Raw floor: prepared INSERT OR IGNORE of each key into a bare table with the unique index only. */
function openFloorSqlite(env: BenchEnvironment, name: string): DatabaseSync {
  const path = join(env.outDir, name);
  removeDb(path);
  const db = new DatabaseSync(path);
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -65536;
    CREATE TABLE raw (pool_id INTEGER NOT NULL, entity_type_id INTEGER NOT NULL, key TEXT NOT NULL) STRICT;
    CREATE UNIQUE INDEX raw_key ON raw (pool_id, entity_type_id, key);`);
  return db;
}

/** The pool CSV file of `count` rows, generated once into bench/out/. */
async function poolCsvFile(env: BenchEnvironment, count: number): Promise<string> {
  const path = join(env.outDir, `dedupe-pool-${count}.csv`);
  if (existsSync(path)) return path;
  const building = `${path}.part`;
  const out = createWriteStream(building);
  await (async () => {
    if (!out.write('value,entity_type_id\n')) await once(out, 'drain');
    for (const batch of keyBatches(count)) {
      if (!out.write(batch.map((key) => `${key},${TYPE}\n`).join(''))) await once(out, 'drain');
    }
    out.end();
    await once(out, 'finish');
  })();
  renameSync(building, path);
  return path;
}

async function* csvLines(file: string): AsyncIterable<string[]> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop() ?? '';
    yield lines;
  }
  if (rest !== '') yield [rest];
}

async function freshPostgres(url: string): Promise<Storage> {
  const schema = 'ferry_bench_dedupe';
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

async function freshPostgresPool(env: BenchEnvironment): Promise<FerryContext> {
  const storage = await freshPostgres(env.postgresUrl!);
  const context = createFerryContextFromStorage(loadConfig({}, { dataDir: env.outDir }), storage);
  await createPool(context, undefined, { name: 'bench' });
  return context;
}

const noPostgres = (): string | undefined =>
  process.env.FERRY_BENCH_POSTGRES_URL ? undefined : 'set FERRY_BENCH_POSTGRES_URL to run PostgreSQL cases';

/**
 * The case with the CPU seconds of its process added to its note: on a shared machine wall time
 * stretches with the load, CPU time much less (a database server's CPU is not counted).
 */
function withCpuTime(benchCase: BenchCase): BenchCase {
  return {
    ...benchCase,
    async prepare(env) {
      const work = await benchCase.prepare(env);
      return async () => {
        const start = process.cpuUsage();
        const measured = await work();
        const used = process.cpuUsage(start);
        const cpu = `CPU ${((used.user + used.system) / 1e6).toFixed(2)} s`;
        return { ...measured, note: measured.note ? `${measured.note}; ${cpu}` : cpu };
      };
    },
  };
}

const cases: BenchCase[] = [
  {
    name: 'floor-track-sqlite',
    description: 'raw floor: prepared INSERT OR IGNORE of each key into a bare SQLite table (unique index)',
    async prepare(env) {
      const db = openFloorSqlite(env, 'scratch-dedupe-floor.db');
      return async () => {
        const insert = db.prepare('INSERT OR IGNORE INTO raw VALUES (?, ?, ?)');
        let added = 0;
        db.exec('BEGIN');
        for (const batch of keyBatches(env.values))
          for (const key of batch) added += Number(insert.run(1, TYPE, key).changes);
        db.exec('COMMIT');
        db.close();
        return { items: env.values, note: `${added.toLocaleString('en-US')} keys new` };
      };
    },
  },
  {
    name: 'check-track-sqlite',
    description: 'FILTER_AND_TRACK check-and-track into an empty pool, batches of 2,000 keys (SQLite)',
    floor: 'floor-track-sqlite',
    target: 300_000,
    async prepare(env) {
      const context = await freshSqlitePool(env, 'scratch-dedupe-track.db');
      return () => checkAndTrack(context, env.values);
    },
  },
  {
    name: 'check-track-again-sqlite',
    description: 'the same keys again: the pool holds every one, all filtered, last seen updated (SQLite)',
    floor: 'floor-track-sqlite',
    target: 300_000,
    async prepare(env) {
      const full = join(env.outDir, `dedupe-full-${env.values}.db`);
      if (!existsSync(full)) {
        const building = `${full}.part`;
        removeDb(building);
        const context = await sqliteContext(building, env.outDir);
        await createPool(context, undefined, { name: 'bench' });
        await checkAndTrack(context, env.values);
        renameSync(building, full);
      }
      const path = join(env.outDir, 'scratch-dedupe-again.db');
      removeDb(path);
      copyFileSync(full, path);
      const context = await sqliteContext(path, env.outDir);
      return () => checkAndTrack(context, env.values);
    },
  },
  {
    name: 'check-track-sqlite-large',
    description: 'check-and-track of the large key count (memory: peak RSS as for 1,000,000, under 400 MB)',
    large: true,
    peakRssTargetMb: 400,
    async prepare(env) {
      const context = await freshSqlitePool(env, 'scratch-dedupe-track-large.db');
      return () => checkAndTrack(context, env.largeValues);
    },
  },
  {
    name: 'floor-pool-csv-sqlite',
    description: 'raw floor: split the pool CSV lines, prepared INSERT OR IGNORE into a bare SQLite table',
    async prepare(env) {
      const file = await poolCsvFile(env, env.values);
      const db = openFloorSqlite(env, 'scratch-dedupe-csv-floor.db');
      return async () => {
        const insert = db.prepare('INSERT OR IGNORE INTO raw VALUES (?, ?, ?)');
        let rows = -1;
        db.exec('BEGIN');
        for await (const lines of csvLines(file)) {
          for (const line of lines) {
            if (rows++ < 0) continue;
            const comma = line.lastIndexOf(',');
            insert.run(1, Number(line.slice(comma + 1)), line.slice(0, comma));
          }
        }
        db.exec('COMMIT');
        db.close();
        return { items: rows };
      };
    },
  },
  {
    name: 'pool-csv-import-sqlite',
    description: 'pool CSV import (value,entity_type_id) into an empty pool, all checks (SQLite)',
    floor: 'floor-pool-csv-sqlite',
    target: 500_000,
    async prepare(env) {
      const file = await poolCsvFile(env, env.values);
      const context = await freshSqlitePool(env, 'scratch-dedupe-csv.db');
      return async () => {
        const result = await importPoolCsv(context, undefined, 'bench', { path: file, fileName: file });
        if (context.storage.kind === 'postgres') await context.storage.close();
        return { items: result.rows, note: `${result.added.toLocaleString('en-US')} added` };
      };
    },
  },
  {
    name: 'pool-csv-import-sqlite-large',
    description: 'pool CSV import of the large file (memory: peak RSS as for 1,000,000, under 400 MB)',
    large: true,
    peakRssTargetMb: 400,
    async prepare(env) {
      const file = await poolCsvFile(env, env.largeValues);
      const context = await freshSqlitePool(env, 'scratch-dedupe-csv-large.db');
      return async () => {
        const result = await importPoolCsv(context, undefined, 'bench', { path: file, fileName: file });
        if (context.storage.kind === 'postgres') await context.storage.close();
        return { items: result.rows };
      };
    },
  },
  {
    name: 'floor-track-postgres',
    description:
      'raw floor: INSERT ... unnest ON CONFLICT DO NOTHING of 2,000-key batches into a bare PostgreSQL table',
    skipReason: noPostgres,
    async prepare(env) {
      const storage = await freshPostgres(env.postgresUrl!);
      await storage.executeScript(`CREATE TABLE raw (pool_id BIGINT NOT NULL, entity_type_id BIGINT NOT NULL,
        key TEXT NOT NULL, UNIQUE (pool_id, entity_type_id, key))`);
      await storage.close();
      return async () => {
        const client = new pg.Client({ connectionString: env.postgresUrl });
        await client.connect();
        await client.query('SET search_path = ferry_bench_dedupe');
        await client.query('BEGIN');
        let added = 0;
        for (const batch of keyBatches(env.values)) {
          const result = await client.query(
            `INSERT INTO raw SELECT 1, ${TYPE}, k FROM unnest($1::text[]) AS k ON CONFLICT DO NOTHING`,
            [batch],
          );
          added += result.rowCount ?? 0;
        }
        await client.query('COMMIT');
        await client.end();
        return { items: env.values, note: `${added.toLocaleString('en-US')} keys new` };
      };
    },
  },
  {
    name: 'check-track-postgres',
    description: 'FILTER_AND_TRACK check-and-track into an empty pool, batches of 2,000 keys (PostgreSQL)',
    floor: 'floor-track-postgres',
    target: 300_000,
    skipReason: noPostgres,
    async prepare(env) {
      const context = await freshPostgresPool(env);
      return () => checkAndTrack(context, env.values);
    },
  },
  {
    name: 'pool-csv-import-postgres',
    description: 'pool CSV import (value,entity_type_id) into an empty pool, all checks (PostgreSQL)',
    floor: 'floor-track-postgres',
    target: 500_000,
    skipReason: noPostgres,
    async prepare(env) {
      const file = await poolCsvFile(env, env.values);
      const context = await freshPostgresPool(env);
      return async () => {
        const result = await importPoolCsv(context, undefined, 'bench', { path: file, fileName: file });
        if (context.storage.kind === 'postgres') await context.storage.close();
        return { items: result.rows, note: `${result.added.toLocaleString('en-US')} added` };
      };
    },
  },
];

export const benchCases: BenchCase[] = cases.map(withCpuTime);
