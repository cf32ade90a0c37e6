import { createWriteStream, existsSync, copyFileSync, rmSync, renameSync, createReadStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import type { BenchCase, BenchEnvironment, BenchMeasurement } from './bench-harness.ts';
import { createSqliteStorage } from '../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { createPostgresStorage } from '../src/storage/dialects/postgres/postgres-dialect.ts';
import type { Storage } from '../src/storage/storage.ts';
import { loadConfig } from '../src/config.ts';
import { createFerryContextFromStorage } from '../src/services/ferry-context.ts';
import { importMetadataObjects } from '../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../src/domain/metadata-import/import-report.ts';
import { importTracker } from '../src/services/tracker/tracker-import-service.ts';
import { EVENT_CSV_COLUMNS, parseEventExport } from '../src/services/tracker/tracker-export-service.ts';
import { readEventText } from '../src/services/tracker/tracker-event-text.ts';
import { readJsonCollectionBatches } from '../src/codecs/json/safe-json-reader.ts';

/**
 * Tracker throughput (issue 12): 200,000 events of an event program with 5 data values each, and
 * 50,000 tracked entities with one enrollment and two events each, imported through
 * `POST /api/tracker`'s pipeline (streaming JSON reader, preheat, full validation, program rules,
 * writer, audit) into an empty database; 200,000 events exported as `paging=false` JSON and CSV.
 * Each beside a raw floor measured in the same run: the same file through the same safe JSON reader
 * plus prepared (SQLite) or unnest-batched (PostgreSQL) inserts of the same rows into bare tables;
 * for the export, one scan of the bare event rows written out as text.
 *
 *   npm run bench -- --only tracker            every case
 *   npm run bench -- --only tracker:event-import-sqlite
 */

const EVENTS = 200_000;
const ENTITIES = 50_000;
const ORG_UNITS = 100;

const uid = (prefix: string, i: number): string => `${prefix}${String(i).padStart(11 - prefix.length, '0')}`;

const ROOT = 'TrkBenchRt1';
const EVENT_PROGRAM = 'TrkBenchEvP';
const EVENT_STAGE = 'TrkBenchEvS';
const TRACKER_PROGRAM = 'TrkBenchTrP';
const BIRTH_STAGE = 'TrkBenchBiS';
const VISIT_STAGE = 'TrkBenchViS';
const TET = 'TrkBenchTet';
const ATTR_NAME = 'TrkBenchAtN';
const ATTR_ID = 'TrkBenchAtU';
/** Five data elements of the event stage: integer, number, option set, date, text. */
const EVENT_ELEMENTS = ['TrkBenchDe0', 'TrkBenchDe1', 'TrkBenchDe2', 'TrkBenchDe3', 'TrkBenchDe4'];
const OPTION_CODES = ['POS', 'NEG', 'IND'];

function benchMetadata(): Record<string, Record<string, unknown>[]> {
  const facilities = Array.from({ length: ORG_UNITS }, (_, i) => ({
    id: uid('TrkOu', i),
    name: `Tracker bench facility ${i}`,
    shortName: `TBF ${i}`,
    openingDate: '1970-01-01',
    parent: { id: ROOT },
  }));
  const element = (id: string, name: string, valueType: string, extra: object = {}) => ({
    id,
    name,
    shortName: name,
    valueType,
    aggregationType: 'NONE',
    domainType: 'TRACKER',
    ...extra,
  });
  const units = facilities.map((f) => ({ id: f.id }));
  return {
    organisationUnits: [
      { id: ROOT, name: 'Tracker bench country', shortName: 'TB country', openingDate: '1970-01-01' },
      ...facilities,
    ],
    optionSets: [
      {
        id: 'TrkBenchOpS',
        name: 'Bench result',
        valueType: 'TEXT',
        options: OPTION_CODES.map((_, i) => ({ id: uid('TrkOpt', i) })),
      },
    ],
    options: OPTION_CODES.map((code, i) => ({ id: uid('TrkOpt', i), name: `Result ${code}`, code })),
    dataElements: [
      element(EVENT_ELEMENTS[0], 'Bench age', 'INTEGER_ZERO_OR_POSITIVE'),
      element(EVENT_ELEMENTS[1], 'Bench weight', 'NUMBER'),
      element(EVENT_ELEMENTS[2], 'Bench result', 'TEXT', { optionSet: { id: 'TrkBenchOpS' } }),
      element(EVENT_ELEMENTS[3], 'Bench onset', 'DATE'),
      element(EVENT_ELEMENTS[4], 'Bench comment', 'TEXT'),
    ],
    trackedEntityAttributes: [
      {
        id: ATTR_NAME,
        name: 'Bench name',
        shortName: 'Bench name',
        valueType: 'TEXT',
        aggregationType: 'NONE',
      },
      {
        id: ATTR_ID,
        name: 'Bench id',
        shortName: 'Bench id',
        valueType: 'TEXT',
        aggregationType: 'NONE',
        unique: true,
      },
    ],
    trackedEntityTypes: [
      {
        id: TET,
        name: 'Bench person',
        trackedEntityTypeAttributes: [
          { trackedEntityAttribute: { id: ATTR_NAME } },
          { trackedEntityAttribute: { id: ATTR_ID } },
        ],
      },
    ],
    programs: [
      {
        id: EVENT_PROGRAM,
        name: 'Bench case report',
        shortName: 'Bench cases',
        programType: 'WITHOUT_REGISTRATION',
        organisationUnits: units,
      },
      {
        id: TRACKER_PROGRAM,
        name: 'Bench child programme',
        shortName: 'Bench child',
        programType: 'WITH_REGISTRATION',
        trackedEntityType: { id: TET },
        organisationUnits: units,
        programTrackedEntityAttributes: [
          { trackedEntityAttribute: { id: ATTR_NAME }, mandatory: true },
          { trackedEntityAttribute: { id: ATTR_ID } },
        ],
      },
    ],
    programStages: [
      {
        id: EVENT_STAGE,
        name: 'Bench case',
        program: { id: EVENT_PROGRAM },
        programStageDataElements: EVENT_ELEMENTS.map((id) => ({ dataElement: { id } })),
      },
      {
        id: BIRTH_STAGE,
        name: 'Bench birth',
        program: { id: TRACKER_PROGRAM },
        programStageDataElements: [{ dataElement: { id: EVENT_ELEMENTS[1] } }],
      },
      {
        id: VISIT_STAGE,
        name: 'Bench visit',
        program: { id: TRACKER_PROGRAM },
        repeatable: true,
        programStageDataElements: EVENT_ELEMENTS.slice(0, 3).map((id) => ({ dataElement: { id } })),
      },
    ],
  };
}

const day = (i: number): string =>
  `2024-${String((i % 12) + 1).padStart(2, '0')}-${String((i % 28) + 1).padStart(2, '0')}`;

/** The five data values of event `i` of the event program. */
function eventValues(i: number): Array<[string, string]> {
  return [
    [EVENT_ELEMENTS[0], String(i % 90)],
    [EVENT_ELEMENTS[1], `${(i % 80) + 2}.${i % 10}`],
    [EVENT_ELEMENTS[2], OPTION_CODES[i % 3]],
    [EVENT_ELEMENTS[3], day(i + 7)],
    [EVENT_ELEMENTS[4], `note ${i}`],
  ];
}

const dataValuesJson = (values: Array<[string, string]>): string =>
  values.map(([de, v]) => `{"dataElement":"${de}","value":"${v}"}`).join(',');

function eventJson(i: number): string {
  return (
    `{"event":"${uid('TrkEv', i)}","program":"${EVENT_PROGRAM}","programStage":"${EVENT_STAGE}",` +
    `"orgUnit":"${uid('TrkOu', i % ORG_UNITS)}","occurredAt":"${day(i)}","status":"COMPLETED",` +
    `"dataValues":[${dataValuesJson(eventValues(i))}]}`
  );
}

/** Tracked entity `i`, nested: its enrollment holding a birth and a visit event. */
function trackedEntityJson(i: number): string {
  const ou = uid('TrkOu', i % ORG_UNITS);
  const birth = `{"event":"${uid('TrkTb', i)}","programStage":"${BIRTH_STAGE}","orgUnit":"${ou}","occurredAt":"${day(i)}","status":"COMPLETED","dataValues":[${dataValuesJson([[EVENT_ELEMENTS[1], `${(i % 3) + 2}.5`]])}]}`;
  const visit = `{"event":"${uid('TrkTv', i)}","programStage":"${VISIT_STAGE}","orgUnit":"${ou}","occurredAt":"${day(i + 1)}","status":"ACTIVE","dataValues":[${dataValuesJson(eventValues(i).slice(0, 3))}]}`;
  const attributes = `[{"attribute":"${ATTR_NAME}","value":"Child ${i}"},{"attribute":"${ATTR_ID}","value":"ID-${i}"}]`;
  return (
    `{"trackedEntity":"${uid('TrkTe', i)}","trackedEntityType":"${TET}","orgUnit":"${ou}","attributes":${attributes},` +
    `"enrollments":[{"enrollment":"${uid('TrkEn', i)}","program":"${TRACKER_PROGRAM}","orgUnit":"${ou}",` +
    `"enrolledAt":"${day(i)}","occurredAt":"${day(i)}","status":"ACTIVE","events":[${birth},${visit}]}]}`
  );
}

async function writeList(path: string, collection: string, n: number, item: (i: number) => string) {
  if (existsSync(path)) return;
  const partial = `${path}.partial`;
  const out = createWriteStream(partial, { highWaterMark: 1 << 20 });
  let buffer = `{"${collection}":[\n`;
  for (let i = 0; i < n; i++) {
    buffer += `${i > 0 ? ',\n' : ''}${item(i)}`;
    if (buffer.length > 1 << 20) {
      if (!out.write(buffer)) await once(out, 'drain');
      buffer = '';
    }
  }
  out.end(`${buffer}\n]}\n`);
  await once(out, 'finish');
  renameSync(partial, path);
}

async function eventFile(env: BenchEnvironment): Promise<string> {
  const path = join(env.outDir, `tracker-events-${EVENTS}.json`);
  await writeList(path, 'events', EVENTS, eventJson);
  return path;
}

async function trackedEntityFile(env: BenchEnvironment): Promise<string> {
  const path = join(env.outDir, `tracker-entities-${ENTITIES}.json`);
  await writeList(path, 'trackedEntities', ENTITIES, trackedEntityJson);
  return path;
}

function contextOf(storage: Storage) {
  return createFerryContextFromStorage(loadConfig({}, { dataDir: '/tmp' }), storage);
}

async function loadBenchMetadata(storage: Storage): Promise<void> {
  const report = await importMetadataObjects(contextOf(storage), benchMetadata());
  if (report.status !== 'OK') throw new Error(JSON.stringify(allErrorReports(report).slice(0, 3)));
}

/** A migrated SQLite database holding the bench metadata, copied afresh for each case. */
async function sqliteWithMetadata(env: BenchEnvironment, name: string): Promise<string> {
  const template = join(env.outDir, 'tracker-metadata-v1.db');
  if (!existsSync(template)) {
    const building = `${template}.building`;
    for (const suffix of ['', '-wal', '-shm']) rmSync(building + suffix, { force: true });
    const storage = await createSqliteStorage(building);
    await storage.migrate();
    await loadBenchMetadata(storage);
    await storage.close();
    renameSync(building, template);
  }
  const path = join(env.outDir, `scratch-tracker-${name}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(template, path);
  return path;
}

async function freshPostgres(url: string): Promise<Storage> {
  const schema = 'ferry_bench_tracker';
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

const noPostgres = (): string | undefined =>
  process.env.FERRY_BENCH_POSTGRES_URL ? undefined : 'set FERRY_BENCH_POSTGRES_URL to run PostgreSQL cases';

/** The import as `POST /api/tracker?async=false` runs it (as the operator: every right). */
function importInto(storage: Storage, file: string, count: (stats: Stats) => number) {
  const context = contextOf(storage);
  return async (): Promise<BenchMeasurement> => {
    const report = await importTracker(
      context,
      { path: file, fileName: file },
      { async: 'false' },
      undefined,
    );
    await storage.close();
    if (report.status !== 'OK')
      throw new Error(
        `Import ${report.status}: ${JSON.stringify(report.validationReport.errorReports.slice(0, 3))}`,
      );
    const types = report.bundleReport.typeReportMap;
    const stats = {
      trackedEntities: types.TRACKED_ENTITY?.stats.created ?? 0,
      enrollments: types.ENROLLMENT?.stats.created ?? 0,
      events: types.EVENT?.stats.created ?? 0,
    };
    return {
      items: count(stats),
      note: `created ${stats.trackedEntities} tracked entities, ${stats.enrollments} enrollments, ${stats.events} events`,
    };
  };
}

interface Stats {
  trackedEntities: number;
  enrollments: number;
  events: number;
}

/** Every tracker JSON item of a file through the safe streaming reader, as the import reads it. */
async function* jsonItems(file: string): AsyncIterable<Record<string, unknown>> {
  const text = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 16 }) as AsyncIterable<string>;
  for await (const batch of readJsonCollectionBatches(text, {
    fileName: file,
    numbers: 'text',
    root: 'object',
  }))
    for (const event of batch) if (event.kind === 'item') yield event.value as Record<string, unknown>;
}

type Row = Array<string | number | null>;

/** The bare rows of an event item: its columns and its data values as one JSON text. */
function eventRow(ev: Record<string, unknown>, enrollment: string | null): Row {
  const values: Record<string, { value: unknown }> = {};
  for (const dv of ev.dataValues as Array<Record<string, unknown>>)
    values[dv.dataElement as string] = { value: dv.value };
  return [
    ev.event as string,
    (ev.program as string | undefined) ?? null,
    ev.programStage as string,
    enrollment,
    ev.orgUnit as string,
    ev.occurredAt as string,
    ev.status as string,
    JSON.stringify(values),
  ];
}

const FLOOR_TABLES = [
  'CREATE TABLE raw_te (uid TEXT PRIMARY KEY, type TEXT, ou TEXT)',
  'CREATE TABLE raw_av (te TEXT, attribute TEXT, value TEXT)',
  'CREATE TABLE raw_en (uid TEXT PRIMARY KEY, te TEXT, program TEXT, ou TEXT, enrolled TEXT, status TEXT)',
  'CREATE TABLE raw_ev (uid TEXT PRIMARY KEY, program TEXT, stage TEXT, enrollment TEXT, ou TEXT, occurred TEXT, status TEXT, data_values TEXT)',
];

/** Splits a parsed item into the bare rows of each floor table. */
function floorRows(collection: 'events' | 'trackedEntities', item: Record<string, unknown>) {
  const out = { te: [] as Row[], av: [] as Row[], en: [] as Row[], ev: [] as Row[] };
  if (collection === 'events') {
    out.ev.push(eventRow(item, null));
    return out;
  }
  const te = item.trackedEntity as string;
  out.te.push([te, item.trackedEntityType as string, item.orgUnit as string]);
  for (const a of item.attributes as Array<Record<string, string>>) out.av.push([te, a.attribute, a.value]);
  for (const en of item.enrollments as Array<Record<string, unknown>>) {
    const e = en.enrollment as string;
    out.en.push([
      e,
      te,
      en.program as string,
      en.orgUnit as string,
      en.enrolledAt as string,
      en.status as string,
    ]);
    for (const ev of en.events as Array<Record<string, unknown>>) out.ev.push(eventRow(ev, e));
  }
  return out;
}

/**
 * Raw floor on SQLite: the file through the same safe JSON reader, each object's rows by prepared
 * INSERT into bare tables (UID primary keys, no other index), one transaction.
 */
function floorSqlite(collection: 'events' | 'trackedEntities', name: string): BenchCase['prepare'] {
  return async (env) => {
    const file = collection === 'events' ? await eventFile(env) : await trackedEntityFile(env);
    const path = join(env.outDir, `scratch-tracker-${name}.db`);
    for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
    const db = new DatabaseSync(path);
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    for (const sql of FLOOR_TABLES) db.exec(sql);
    return async () => {
      const insert = {
        te: db.prepare('INSERT INTO raw_te VALUES (?, ?, ?)'),
        av: db.prepare('INSERT INTO raw_av VALUES (?, ?, ?)'),
        en: db.prepare('INSERT INTO raw_en VALUES (?, ?, ?, ?, ?, ?)'),
        ev: db.prepare('INSERT INTO raw_ev VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      };
      let items = 0;
      db.exec('BEGIN');
      for await (const item of jsonItems(file)) {
        const rows = floorRows(collection, item);
        for (const key of ['te', 'av', 'en', 'ev'] as const) for (const r of rows[key]) insert[key].run(...r);
        items++;
      }
      db.exec('COMMIT');
      db.close();
      return { items };
    };
  };
}

/**
 * Raw floor on PostgreSQL: the same reader, rows gathered in batches of 5,000 objects and written
 * with one `INSERT ... SELECT FROM unnest(arrays)` per table and batch, one transaction.
 */
function floorPostgres(collection: 'events' | 'trackedEntities'): BenchCase['prepare'] {
  return async (env) => {
    const file = collection === 'events' ? await eventFile(env) : await trackedEntityFile(env);
    const storage = await freshPostgres(env.postgresUrl!);
    for (const sql of FLOOR_TABLES) await storage.execute(sql);
    const widths = { te: 3, av: 3, en: 6, ev: 8 };
    return async () => {
      let items = 0;
      await storage.transaction(async (tx) => {
        let batch = { te: [] as Row[], av: [] as Row[], en: [] as Row[], ev: [] as Row[] };
        const flush = async () => {
          for (const key of ['te', 'av', 'en', 'ev'] as const) {
            if (batch[key].length === 0) continue;
            const columns = Array.from({ length: widths[key] }, (_, c) => batch[key].map((r) => r[c]));
            await tx.execute(
              `INSERT INTO raw_${key} SELECT * FROM unnest(${columns.map(() => '?::text[]').join(', ')})`,
              columns as never,
            );
          }
          batch = { te: [], av: [], en: [], ev: [] };
        };
        for await (const item of jsonItems(file)) {
          const rows = floorRows(collection, item);
          for (const key of ['te', 'av', 'en', 'ev'] as const) batch[key].push(...rows[key]);
          if (++items % 5000 === 0) await flush();
        }
        await flush();
      });
      await storage.close();
      return { items };
    };
  };
}

/** A SQLite database holding the 200,000 bench events (imported once, then copied per case). */
async function sqliteWithEvents(env: BenchEnvironment, name: string): Promise<string> {
  const template = join(env.outDir, `tracker-events-v1-${EVENTS}.db`);
  if (!existsSync(template)) {
    const building = await sqliteWithMetadata(env, 'events-template');
    const file = await eventFile(env);
    await importInto(await createSqliteStorage(building), file, (s) => s.events)();
    renameSync(building, template);
  }
  const path = join(env.outDir, `scratch-tracker-${name}.db`);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  copyFileSync(template, path);
  return path;
}

/**
 * Exports every event of the event program as `GET /api/tracker/events.json|.csv?paging=false`
 * does without an output id scheme (readEventText: text straight from the rows), into a file
 * written with back-pressure; items are the events written.
 */
function exportFrom(storage: Storage, format: 'json' | 'csv', out: string) {
  const context = contextOf(storage);
  return async (): Promise<BenchMeasurement> => {
    const request = await parseEventExport(context, { program: EVENT_PROGRAM, paging: 'false' }, undefined);
    const file = createWriteStream(out);
    const write = async (text: string | Buffer) => {
      if (!file.write(text)) await once(file, 'drain');
    };
    let written = 0;
    await write(format === 'csv' ? `${EVENT_CSV_COLUMNS.join(',')}\n` : '{"events":[');
    for await (const piece of readEventText(context, request, format)) {
      await write(piece.bytes);
      written += piece.events;
    }
    if (format === 'json') await write(']}\n');
    file.end();
    await once(file, 'finish');
    await storage.close();
    if (written !== EVENTS) throw new Error(`exported ${written} events, expected ${EVENTS}`);
    return { items: written };
  };
}

/**
 * Raw floor of the export: one keyset-free scan of the stored event rows (UIDs already joined in),
 * each row's columns and data value JSON written as one JSON line, with back-pressure.
 */
function exportFloorSqlite(): BenchCase['prepare'] {
  return async (env) => {
    const path = await sqliteWithEvents(env, 'export-floor');
    const out = join(env.outDir, 'tracker-export-floor.json');
    return async () => {
      const db = new DatabaseSync(path, { readOnly: true });
      const statement = db.prepare(
        `SELECT e.uid, p.uid, s.uid, o.uid, e.occurred_at, e.status, e.created, e.updated, e.data_values
           FROM event e JOIN metadata_object p ON p.sid = e.program_id JOIN metadata_object s ON s.sid = e.program_stage_id
           JOIN metadata_object o ON o.sid = e.org_unit_id ORDER BY e.event_id DESC`,
      );
      statement.setReturnArrays(true);
      const file = createWriteStream(out);
      let buffer = '';
      let items = 0;
      for (const row of statement.iterate() as Iterable<unknown>) {
        const r = row as unknown[];
        buffer += `{"event":"${String(r[0])}","program":"${String(r[1])}","programStage":"${String(r[2])}","orgUnit":"${String(r[3])}","occurredAt":"${String(r[4])}","status":"${String(r[5])}","createdAt":"${String(r[6])}","updatedAt":"${String(r[7])}","dataValues":${String(r[8])}},\n`;
        items++;
        if (buffer.length > 1 << 16) {
          if (!file.write(buffer)) await once(file, 'drain');
          buffer = '';
        }
      }
      file.end(buffer);
      await once(file, 'finish');
      db.close();
      return { items };
    };
  };
}

const MEMORY_MB = 400;

const cases: BenchCase[] = [
  {
    name: 'floor-events-sqlite',
    description:
      'raw floor: the 200,000-event file through the safe JSON reader, prepared INSERT into a bare table',
    prepare: floorSqlite('events', 'floor-events'),
  },
  {
    name: 'event-import-sqlite',
    description:
      '200,000 events x 5 data values (event program) into an empty SQLite database, full validation',
    floor: 'floor-events-sqlite',
    target: 40_000,
    peakRssTargetMb: MEMORY_MB,
    async prepare(env) {
      const file = await eventFile(env);
      const storage = await createSqliteStorage(await sqliteWithMetadata(env, 'event-import'));
      return importInto(storage, file, (s) => s.events);
    },
  },
  {
    name: 'floor-entities-sqlite',
    description:
      'raw floor: the 50,000-entity nested file through the safe JSON reader, prepared INSERTs into bare tables',
    prepare: floorSqlite('trackedEntities', 'floor-entities'),
  },
  {
    name: 'entity-import-sqlite',
    description:
      '50,000 tracked entities, each 1 enrollment and 2 events, nested, into SQLite (items: entities)',
    floor: 'floor-entities-sqlite',
    target: 10_000,
    peakRssTargetMb: MEMORY_MB,
    async prepare(env) {
      const file = await trackedEntityFile(env);
      const storage = await createSqliteStorage(await sqliteWithMetadata(env, 'entity-import'));
      return importInto(storage, file, (s) => s.trackedEntities);
    },
  },
  {
    name: 'floor-event-export-sqlite',
    description: 'raw floor: one scan of the 200,000 stored events, each written as a JSON line',
    prepare: exportFloorSqlite(),
  },
  {
    name: 'event-export-sqlite',
    description: 'GET /api/tracker/events.json?program=&paging=false: 200,000 events to a file',
    floor: 'floor-event-export-sqlite',
    target: 200_000,
    peakRssTargetMb: MEMORY_MB,
    async prepare(env) {
      const storage = await createSqliteStorage(await sqliteWithEvents(env, 'event-export'));
      return exportFrom(storage, 'json', join(env.outDir, 'tracker-export.json'));
    },
  },
  {
    name: 'event-export-csv-sqlite',
    description: 'GET /api/tracker/events.csv?program=&paging=false: 200,000 events (1,000,000 CSV rows)',
    floor: 'floor-event-export-sqlite',
    target: 200_000,
    peakRssTargetMb: MEMORY_MB,
    async prepare(env) {
      const storage = await createSqliteStorage(await sqliteWithEvents(env, 'event-export-csv'));
      return exportFrom(storage, 'csv', join(env.outDir, 'tracker-export.csv'));
    },
  },
  {
    name: 'floor-events-postgres',
    description:
      'raw floor: the 200,000-event file through the safe JSON reader, unnest INSERTs of 5,000 into PostgreSQL',
    skipReason: noPostgres,
    prepare: floorPostgres('events'),
  },
  {
    name: 'event-import-postgres',
    description: '200,000 events x 5 data values into an empty PostgreSQL database, full validation',
    floor: 'floor-events-postgres',
    target: 10_000,
    peakRssTargetMb: MEMORY_MB,
    skipReason: noPostgres,
    async prepare(env) {
      const file = await eventFile(env);
      const storage = await freshPostgres(env.postgresUrl!);
      await loadBenchMetadata(storage);
      return importInto(storage, file, (s) => s.events);
    },
  },
  {
    name: 'floor-entities-postgres',
    description: 'raw floor: the 50,000-entity nested file, unnest INSERTs of 5,000 entities into PostgreSQL',
    skipReason: noPostgres,
    prepare: floorPostgres('trackedEntities'),
  },
  {
    name: 'entity-import-postgres',
    description: '50,000 tracked entities, each 1 enrollment and 2 events, into PostgreSQL (items: entities)',
    floor: 'floor-entities-postgres',
    target: 10_000,
    peakRssTargetMb: MEMORY_MB,
    skipReason: noPostgres,
    async prepare(env) {
      const file = await trackedEntityFile(env);
      const storage = await freshPostgres(env.postgresUrl!);
      await loadBenchMetadata(storage);
      return importInto(storage, file, (s) => s.trackedEntities);
    },
  },
  {
    name: 'event-export-postgres',
    description: 'GET /api/tracker/events.json?program=&paging=false: 200,000 events from PostgreSQL',
    target: 200_000,
    peakRssTargetMb: MEMORY_MB,
    skipReason: noPostgres,
    async prepare(env) {
      const storage = await freshPostgres(env.postgresUrl!);
      await loadBenchMetadata(storage);
      await importInto(storage, await eventFile(env), (s) => s.events)();
      const scoped = new URL(env.postgresUrl!);
      scoped.searchParams.set('options', '-c search_path=ferry_bench_tracker');
      const again = await createPostgresStorage(scoped.toString(), 4);
      return exportFrom(again, 'json', join(env.outDir, 'tracker-export-pg.json'));
    },
  },
];

/**
 * The machine is shared: wall-clock items/s swing with other people's load (two cores, often a
 * load average above 10). Each case's note adds the CPU time of its own process (user + system,
 * `process.cpuUsage`) and items per CPU second, which the load moves far less. PostgreSQL cases
 * count the Node process only, not the server's work.
 */
function withCpu(work: () => Promise<BenchMeasurement>): () => Promise<BenchMeasurement> {
  return async () => {
    const before = process.cpuUsage();
    const measured = await work();
    const used = process.cpuUsage(before);
    const seconds = (used.user + used.system) / 1e6;
    const perCpu = Math.round(measured.items / seconds).toLocaleString('en-US');
    const cpu = `${seconds.toFixed(2)} s CPU here = ${perCpu}/CPU-s`;
    return { ...measured, note: measured.note ? `${measured.note}; ${cpu}` : cpu };
  };
}

export const benchCases: BenchCase[] = cases.map((c) => ({
  ...c,
  prepare: async (env: BenchEnvironment) => withCpu(await c.prepare(env)),
}));
