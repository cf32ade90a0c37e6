import { createWriteStream, existsSync, rmSync } from 'node:fs';
import { Transform } from 'node:stream';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
import { cpuClock, type BenchCase, type BenchEnvironment } from './bench-harness.ts';
import { createSqliteStorage } from '../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { loadConfig } from '../src/config.ts';
import { createFerryContextFromStorage } from '../src/services/ferry-context.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
} from '../src/services/data-values/data-value-export-service.ts';
import { uidFromSeed } from '../src/domain/identifiers/uid.ts';

/**
 * Export of N generated values (SQLite, UID scheme) to CSV and CSV.gz through the real service,
 * beside a raw floor: a plain SELECT of the same rows, identifiers joined from in-memory maps,
 * CSV lines written to a file.
 */
const DATA_ELEMENTS = 100;
const PERIODS = 12;
const VALUES_PER_ORG_UNIT = DATA_ELEMENTS * PERIODS;
const DATA_SET = uidFromSeed('bench-export-data-set');
const ROOT = uidFromSeed('bench-export-root');
const COC = 'HllvX50cXC0';

async function database(env: BenchEnvironment, values: number): Promise<string> {
  const path = join(env.outDir, `export-${values}.db`);
  if (existsSync(path)) return path;
  const storage = await createSqliteStorage(path);
  await storage.migrate();
  await storage.close();
  const db = new DatabaseSync(path);
  const orgUnits = Math.ceil(values / VALUES_PER_ORG_UNIT);
  const insert = db.prepare(
    'INSERT INTO metadata_object (sid, type, uid, code, name, path, created, last_updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const now = '2024-01-01T00:00:00.000Z';
  db.exec('BEGIN');
  const elements = Array.from({ length: DATA_ELEMENTS }, (_, i) => uidFromSeed(`bench-export-de-${i}`));
  elements.forEach((uid, i) =>
    insert.run(
      1000 + i,
      'dataElements',
      uid,
      `DE_${i}`,
      `Element ${i}`,
      null,
      now,
      now,
      JSON.stringify({ id: uid }),
    ),
  );
  insert.run(
    1,
    'categoryOptionCombos',
    COC,
    'default',
    'default',
    null,
    now,
    now,
    JSON.stringify({ id: COC }),
  );
  insert.run(
    2,
    'organisationUnits',
    ROOT,
    'ROOT',
    'Root',
    `/${ROOT}`,
    now,
    now,
    JSON.stringify({ id: ROOT, path: `/${ROOT}` }),
  );
  for (let i = 0; i < orgUnits; i++) {
    const uid = uidFromSeed(`bench-export-ou-${i}`);
    const path = `/${ROOT}/${uid}`;
    insert.run(
      100_000 + i,
      'organisationUnits',
      uid,
      `OU_${i}`,
      `Unit ${i}`,
      path,
      now,
      now,
      JSON.stringify({ id: uid, path }),
    );
  }
  const dataSet = {
    id: DATA_SET,
    periodType: 'Monthly',
    dataSetElements: elements.map((id) => ({ dataElement: { id } })),
  };
  insert.run(3, 'dataSets', DATA_SET, 'DS', 'Data set', null, now, now, JSON.stringify(dataSet));
  for (let m = 1; m <= PERIODS; m++) {
    const month = String(m).padStart(2, '0');
    const last = new Date(Date.UTC(2023, m, 0)).getUTCDate();
    db.prepare(
      'INSERT INTO period (period_id, iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?, ?)',
    ).run(m, `2023${month}`, 'Monthly', `2023-${month}-01`, `2023-${month}-${last}`);
  }
  db.exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${values - 1})
    INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id,
      value, stored_by, created, last_updated, comment, follow_up, deleted)
    SELECT 100000 + i / ${VALUES_PER_ORG_UNIT}, 1 + (i / ${DATA_ELEMENTS}) % ${PERIODS}, 1000 + i % ${DATA_ELEMENTS}, 1, 1,
      CAST(i % 9973 AS TEXT), 'bench', '${now}', '${now}', NULL, 0, 0 FROM n`);
  db.exec('COMMIT');
  db.close();
  return path;
}

interface ExportCaseOptions {
  target?: number;
  /** How many values the case exports (default: the run's `--values`). */
  values?: (env: BenchEnvironment) => number;
  large?: boolean;
  peakRssTargetMb?: number;
}

function exportCase(
  name: string,
  compression: 'none' | 'gzip',
  options: ExportCaseOptions,
  format: 'csv' | 'json' | 'xml' | 'adx' = 'csv',
): BenchCase {
  const valuesOf = options.values ?? ((env: BenchEnvironment) => env.values);
  const label = `${format === 'adx' ? 'ADX' : format.toUpperCase()}${compression === 'gzip' ? '.gz' : ''}`;
  return {
    name,
    description: `export N values from SQLite to ${label} (service, UID scheme)`,
    floor: options.large ? undefined : 'raw-floor-sqlite',
    target: options.target,
    large: options.large,
    peakRssTargetMb: options.peakRssTargetMb,
    async prepare(env) {
      const values = valuesOf(env);
      const path = await database(env, values);
      const storage = await createSqliteStorage(path);
      const context = createFerryContextFromStorage(loadConfig({}, { dataDir: env.outDir }), storage);
      const output = join(env.outDir, `export-${name}.out`);
      return async () => {
        const cpu = cpuClock();
        const request = parseDataValueExportRequest(
          {
            dataSet: DATA_SET,
            orgUnit: ROOT,
            children: 'true',
            startDate: '2023-01-01',
            endDate: '2023-12-31',
          },
          { format, compression },
        );
        let written = 0;
        const result = await exportDataValues(context, request, {}, { onProgress: (n) => (written = n) });
        const counter = lineCounter();
        await pipeline(result.body, counter, createWriteStream(output));
        await storage.close();
        const lines = counter.lines;
        rmSync(output, { force: true });
        // The header line plus one line a value: a short export must not pass as a fast one.
        if (format === 'csv' && compression === 'none' && lines !== values + 1) {
          throw new Error(`Export wrote ${lines} lines for ${values} values`);
        }
        if (written !== values) throw new Error(`Export wrote ${written} values of ${values}`);
        return { items: values, note: cpu.note() };
      };
    },
  };
}

/** Passes bytes through, counting line feeds. */
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

export const benchCases: BenchCase[] = [
  {
    name: 'raw-floor-sqlite',
    description: 'raw floor: plain SELECT iterate + identifiers joined from Maps + CSV lines written',
    async prepare(env) {
      const path = await database(env, env.values);
      const output = join(env.outDir, 'export-raw-floor.out');
      return async () => {
        const cpu = cpuClock();
        const db = new DatabaseSync(path, { readOnly: true });
        const ids = new Map<number, string>();
        for (const row of db.prepare('SELECT sid, uid FROM metadata_object').iterate()) {
          ids.set(Number(row.sid), String(row.uid));
        }
        const periods = new Map<number, string>();
        for (const row of db.prepare('SELECT period_id, iso FROM period').iterate()) {
          periods.set(Number(row.period_id), String(row.iso));
        }
        const out = createWriteStream(output);
        let lines: string[] = [];
        let n = 0;
        for (const r of db.prepare('SELECT * FROM data_value').iterate()) {
          lines.push(
            `${ids.get(Number(r.data_element_id))},${periods.get(Number(r.period_id))},${ids.get(Number(r.org_unit_id))},` +
              `${ids.get(Number(r.category_option_combo_id))},${ids.get(Number(r.attribute_option_combo_id))},` +
              `${r.value ?? ''},${r.stored_by ?? ''},${r.last_updated},${r.comment ?? ''},${r.follow_up ? 'true' : 'false'},false`,
          );
          n++;
          if (lines.length === 5000) {
            if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
            lines = [];
          }
        }
        out.end(`${lines.join('\n')}\n`);
        await once(out, 'finish');
        db.close();
        rmSync(output, { force: true });
        return { items: n, note: cpu.note() };
      };
    },
  },
  exportCase('csv-export-sqlite', 'none', { target: 500_000 }),
  exportCase('csv-gz-export-sqlite', 'gzip', { target: 300_000 }),
  // The issue: "Streams from a cursor: memory stays flat for 10 million values" (twice --large-values).
  exportCase('csv-export-sqlite-large', 'none', {
    values: (env) => 2 * env.largeValues,
    large: true,
    peakRssTargetMb: 300,
  }),
  // Issue 14: peak memory under 300 MB exporting 10,000,000 values in every format
  // (`--large --large-values 10000000`).
  ...(['json', 'xml', 'adx'] as const).map((format) =>
    exportCase(
      `${format}-export-sqlite-large`,
      'none',
      { values: (env) => 2 * env.largeValues, large: true, peakRssTargetMb: 300 },
      format,
    ),
  ),
];
