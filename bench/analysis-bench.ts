import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { DatabaseSync } from 'node:sqlite';
import type { BenchCase, BenchEnvironment } from './bench-harness.ts';
import { createSqliteStorage } from '../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { loadConfig } from '../src/config.ts';
import { createFerryContextFromStorage } from '../src/services/ferry-context.ts';
import { uidFromSeed } from '../src/domain/identifiers/uid.ts';
import { parseProgramAnalysisRequest } from '../src/services/analysis/analysis-program-request.ts';
import { writeProgramAnalysisExport } from '../src/services/analysis/analysis-program-export-service.ts';

/**
 * Analysis exports of an event program (issue 15): N events (default 1,000,000) with 10 data values
 * each, generated straight into a SQLite database by one INSERT ... SELECT (not through the
 * importer), exported through the real service to tab, CSV, Stata and SPSS zips. Target 150,000
 * events/s and peak RSS under 400 MB. The floor is the same events read with the export's own query
 * (values taken out of the JSON by SQLite) and nothing else.
 *
 * Then readstat's own read time: our .dta/.sav beside the same data written by readstat itself
 * (`readstat ours.dta theirs.sav`, `readstat theirs.sav theirs.dta`), both read with `readstat FILE -`
 * into /dev/null; the ratio printed is ours relative to readstat's own file.
 */

const PROGRAM = uidFromSeed('bench-analysis-program');
const STAGE = uidFromSeed('bench-analysis-stage');
const OPTION_SET = uidFromSeed('bench-analysis-option-set');
const ROOT = uidFromSeed('bench-analysis-root');
const FACILITIES = 200;
/** The ten data elements: value type and how SQL makes a value from the event number `n`. */
const ELEMENTS: { code: string; valueType: string; sql: string; optionSet?: boolean }[] = [
  { code: 'AGE', valueType: 'INTEGER_ZERO_OR_POSITIVE', sql: 'CAST(n % 90 AS TEXT)' },
  { code: 'WEIGHT', valueType: 'NUMBER', sql: "printf('%.1f', 3 + (n % 900) / 10.0)" },
  { code: 'HEIGHT', valueType: 'NUMBER', sql: "printf('%.1f', 45 + (n % 1500) / 10.0)" },
  { code: 'VISITS', valueType: 'INTEGER', sql: 'CAST(n % 7 AS TEXT)' },
  { code: 'TEMPERATURE', valueType: 'NUMBER', sql: "printf('%.1f', 35 + (n % 60) / 10.0)" },
  {
    code: 'RESULT',
    valueType: 'TEXT',
    sql: "CASE n % 3 WHEN 0 THEN 'POSITIVE' WHEN 1 THEN 'NEGATIVE' ELSE 'INVALID' END",
    optionSet: true,
  },
  { code: 'PREGNANT', valueType: 'BOOLEAN', sql: "CASE n % 2 WHEN 0 THEN 'true' ELSE 'false' END" },
  { code: 'ONSET', valueType: 'DATE', sql: "date('2023-01-01', '+' || (n % 700) || ' days')" },
  { code: 'VILLAGE', valueType: 'TEXT', sql: "'Village ' || (n % 5000)" },
  { code: 'NOTE', valueType: 'LONG_TEXT', sql: "'Seen at the clinic, follow-up ' || (n % 11)" },
];

async function database(env: BenchEnvironment, events: number): Promise<string> {
  const path = join(env.outDir, `analysis-events-${events}.db`);
  if (existsSync(path)) return path;
  const storage = await createSqliteStorage(path);
  await storage.migrate();
  await storage.close();
  const db = new DatabaseSync(path);
  const insert = db.prepare(
    'INSERT INTO metadata_object (sid, type, uid, code, name, path, created, last_updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const now = '2024-01-01T00:00:00.000Z';
  const add = (
    sid: number,
    type: string,
    body: Record<string, unknown> & { id: string },
    path: string | null = null,
  ) =>
    insert.run(
      sid,
      type,
      body.id,
      (body.code as string) ?? null,
      (body.name as string) ?? null,
      path,
      now,
      now,
      JSON.stringify(body),
    );
  db.exec('BEGIN');
  add(
    1,
    'organisationUnits',
    { id: ROOT, code: 'ROOT', name: 'Bench country', path: `/${ROOT}`, level: 1 },
    `/${ROOT}`,
  );
  for (let i = 0; i < FACILITIES; i++) {
    const uid = uidFromSeed(`bench-analysis-facility-${i}`);
    const path = `/${ROOT}/${uid}`;
    add(
      10 + i,
      'organisationUnits',
      { id: uid, code: `F${i}`, name: `Facility ${i}`, path, level: 2, parent: { id: ROOT } },
      path,
    );
  }
  const options = ['POSITIVE', 'NEGATIVE', 'INVALID'].map((code, i) => ({
    id: uidFromSeed(`bench-analysis-option-${code}`),
    code,
    name: code.toLowerCase(),
    sortOrder: i + 1,
  }));
  options.forEach((o, i) => add(500 + i, 'options', { ...o, optionSet: { id: OPTION_SET } }));
  add(510, 'optionSets', {
    id: OPTION_SET,
    name: 'Result',
    valueType: 'TEXT',
    options: options.map((o) => ({ id: o.id })),
  });
  const elementUids = ELEMENTS.map((e) => uidFromSeed(`bench-analysis-de-${e.code}`));
  ELEMENTS.forEach((e, i) =>
    add(600 + i, 'dataElements', {
      id: elementUids[i],
      code: e.code,
      name: `Bench ${e.code.toLowerCase()}`,
      valueType: e.valueType,
      domainType: 'TRACKER',
      ...(e.optionSet ? { optionSet: { id: OPTION_SET } } : {}),
    }),
  );
  add(700, 'programStages', {
    id: STAGE,
    name: 'Case',
    program: { id: PROGRAM },
    programStageDataElements: elementUids.map((uid, i) => ({ dataElement: { id: uid }, sortOrder: i + 1 })),
  });
  add(701, 'programs', {
    id: PROGRAM,
    code: 'BENCH_CASES',
    name: 'Bench cases',
    programType: 'WITHOUT_REGISTRATION',
    version: 3,
    programStages: [{ id: STAGE }],
  });
  db.exec('COMMIT');
  // One INSERT ... SELECT over a counter: the events with their JSON data values, built by SQLite.
  const values = ELEMENTS.map(
    (e, i) =>
      `'"${elementUids[i]}":{"value":' || json_quote(${e.sql}) || ',"providedElsewhere":false,"createdAt":"${now}","updatedAt":"${now}","storedBy":"bench"}'`,
  ).join(" || ',' || ");
  db.exec(`
    WITH RECURSIVE counter(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM counter WHERE n < ${events})
    INSERT INTO event (uid, program_id, program_stage_id, org_unit_id, status, occurred_at, completed_at,
      completed_by, data_values, created, updated, stored_by, geometry)
    SELECT printf('E%010d', n), 701, 700, 10 + (n % ${FACILITIES}), CASE n % 4 WHEN 0 THEN 'ACTIVE' ELSE 'COMPLETED' END,
      date('2024-01-01', '+' || (n % 366) || ' days') || 'T00:00:00.000', date('2024-01-01', '+' || (n % 366) || ' days') || 'T00:00:00.000',
      'bench', '{' || ${values} || '}', '${now}', '${now}', 'bench',
      CASE WHEN n % 2 = 0 THEN '{"type":"Point","coordinates":[' || (-13 + (n % 100) / 100.0) || ',' || (8 + (n % 100) / 100.0) || ']}' END
    FROM counter`);
  db.close();
  return path;
}

function contextOf(env: BenchEnvironment, path: string) {
  return createSqliteStorage(path).then((storage) => ({
    storage,
    context: createFerryContextFromStorage(loadConfig({}, { dataDir: env.outDir }), storage),
  }));
}

async function exportTo(env: BenchEnvironment, path: string, format: string, output: string) {
  const { storage, context } = await contextOf(env, path);
  const out = createWriteStream(output);
  const summary = await writeProgramAnalysisExport(
    context,
    parseProgramAnalysisRequest({ program: PROGRAM }, format),
    undefined,
    out,
  );
  out.end();
  await once(out, 'close');
  await context.jobs.stop();
  await storage.close();
  return summary;
}

/**
 * CPU seconds of this process and events per CPU second: on a machine shared by many, wall time
 * waits for a core, so this says what the code costs apart from the wait.
 */
function cpuNote(start: NodeJS.CpuUsage, events: number): string {
  const used = process.cpuUsage(start);
  const seconds = (used.user + used.system) / 1e6;
  return `${seconds.toFixed(1)} s CPU = ${Math.round(events / seconds).toLocaleString('en-US')} events/CPU-s`;
}

const floorCase: BenchCase = {
  name: 'read-events-floor',
  description: 'raw floor: the export query alone (keyset pages, values out of the JSON by SQLite)',
  async prepare(env) {
    const path = await database(env, env.values);
    return async () => {
      const cpu = process.cpuUsage();
      const db = new DatabaseSync(path, { readOnly: true });
      const elements = ELEMENTS.map((e) => uidFromSeed(`bench-analysis-de-${e.code}`));
      const statement = db.prepare(
        `SELECT e.event_id, e.uid, e.org_unit_id, e.status, e.occurred_at, ${elements
          .map((uid) => `json_extract(e.data_values, '$."${uid}".value')`)
          .join(
            ', ',
          )} FROM event e WHERE e.program_id = 701 AND e.event_id > ? ORDER BY e.event_id LIMIT 5000`,
      );
      statement.setReturnArrays(true);
      let last = 0;
      let rows = 0;
      for (;;) {
        const page = statement.all(last) as unknown as unknown[][];
        if (page.length === 0) break;
        rows += page.length;
        last = Number(page[page.length - 1][0]);
      }
      db.close();
      if (rows !== env.values) throw new Error(`read ${rows} events, not ${env.values}`);
      return { items: rows, note: cpuNote(cpu, rows) };
    };
  },
};

function exportCase(format: 'tab' | 'csv' | 'stata' | 'spss' | 'parquet'): BenchCase {
  return {
    name: `export-${format}`,
    description: `export N events x 10 values of an event program to a ${format} zip (service, SQLite)`,
    floor: 'read-events-floor',
    target: 150_000,
    peakRssTargetMb: 400,
    async prepare(env) {
      const path = await database(env, env.values);
      const output = join(env.outDir, `analysis-${format}.zip`);
      return async () => {
        const cpu = process.cpuUsage();
        const summary = await exportTo(env, path, format, output);
        const size = statSync(output).size;
        rmSync(output, { force: true });
        if (summary.events !== env.values || summary.files[0].rows !== env.values)
          throw new Error(`exported ${summary.events} events, not ${env.values}`);
        return {
          items: summary.events,
          note: `zip ${(size / 1e6).toFixed(0)} MB; ${cpuNote(cpu, summary.events)}`,
        };
      };
    },
  };
}

const noReadstat = () =>
  spawnSync('readstat', ['--version']).error
    ? 'readstat is not installed (Debian package readstat)'
    : undefined;

/** Our .dta or .sav of the bench events, and readstat's own copy of the same data, cached. */
async function readstatFiles(
  env: BenchEnvironment,
  extension: 'dta' | 'sav',
): Promise<{ ours: string; theirs: string }> {
  const dir = join(env.outDir, `analysis-readstat-${env.values}`);
  mkdirSync(dir, { recursive: true });
  const ours = join(dir, `BENCH_CASES.${extension}`);
  const theirs = join(dir, `readstat.${extension}`);
  if (!existsSync(ours)) {
    const path = await database(env, env.values);
    const zip = join(dir, `${extension}.zip`);
    await exportTo(env, path, extension === 'dta' ? 'stata' : 'spss', zip);
    const unzip = spawnSync('7z', ['x', '-y', `-o${dir}`, zip], { encoding: 'utf8' });
    if (unzip.status !== 0) throw new Error(unzip.stderr);
    rmSync(zip);
  }
  if (!existsSync(theirs)) {
    // readstat writes the other format only: through it and back, so the file is readstat's own.
    const other = join(dir, `readstat-via.${extension === 'dta' ? 'sav' : 'dta'}`);
    for (const [from, to] of [
      [ours, other],
      [other, theirs],
    ]) {
      rmSync(to, { force: true });
      const run = spawnSync('readstat', [from, to], { encoding: 'utf8' });
      if (run.status !== 0 || /error/i.test(run.stderr))
        throw new Error(`readstat ${from} ${to}: ${run.stderr}`);
    }
  }
  return { ours, theirs };
}

function readstatCase(extension: 'dta' | 'sav', whose: 'ferry' | 'readstat'): BenchCase {
  return {
    name: `readstat-${extension}-${whose}`,
    description:
      whose === 'ferry'
        ? `readstat reads Ferry's .${extension} of the N events (readstat FILE - > /dev/null)`
        : `readstat reads the same data as a .${extension} written by readstat itself`,
    ...(whose === 'ferry' ? { floor: `readstat-${extension}-readstat` } : {}),
    skipReason: noReadstat,
    async prepare(env) {
      const files = await readstatFiles(env, extension);
      const file = whose === 'ferry' ? files.ours : files.theirs;
      return async () => {
        // bash's `time` gives readstat's own CPU seconds: its wall time waits for a core here.
        const run = spawnSync(
          'bash',
          ['-c', 'TIMEFORMAT="cpu %3U %3S"; time readstat "$1" - > /dev/null', 'bash', file],
          {
            encoding: 'utf8',
          },
        );
        const cpu = /^cpu ([\d.]+) ([\d.]+)$/m.exec(run.stderr);
        const problem = run.stderr.replace(/^Converted .*\n?/m, '').replace(/^cpu .*\n?/m, '');
        if (run.status !== 0 || problem !== '' || !cpu) throw new Error(`readstat ${file}: ${run.stderr}`);
        const rows = /Converted \d+ variables and (\d+) rows/.exec(run.stderr);
        if (!rows || Number(rows[1]) !== env.values) throw new Error(`readstat read ${rows?.[1]} rows`);
        const seconds = Number(cpu[1]) + Number(cpu[2]);
        return {
          items: env.values,
          note: `${(statSync(file).size / 1e6).toFixed(0)} MB file; readstat ${seconds.toFixed(1)} s CPU = ${Math.round(env.values / seconds).toLocaleString('en-US')} rows/CPU-s`,
        };
      };
    },
  };
}

export const benchCases: BenchCase[] = [
  floorCase,
  exportCase('tab'),
  exportCase('csv'),
  exportCase('stata'),
  exportCase('spss'),
  exportCase('parquet'),
  readstatCase('dta', 'readstat'),
  readstatCase('dta', 'ferry'),
  readstatCase('sav', 'readstat'),
  readstatCase('sav', 'ferry'),
];
