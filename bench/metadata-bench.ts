import { createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { DatabaseSync } from 'node:sqlite';
import type { BenchCase, BenchEnvironment } from './bench-harness.ts';
import { createSqliteStorage } from '../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { createFerryContextFromStorage, type FerryContext } from '../src/services/ferry-context.ts';
import { loadConfig } from '../src/config.ts';
import { importMetadata } from '../src/services/metadata/metadata-import-service.ts';
import { DEFAULT_IMPORT_PARAMS } from '../src/domain/metadata-import/import-params.ts';
import {
  buildExportRequest,
  streamMetadataExport,
} from '../src/services/metadata/metadata-export-service.ts';
import { uidFromSeed } from '../src/domain/identifiers/uid.ts';

/**
 * Metadata import and export at the size: a generated DXF2 file of 50,000 org units (a
 * four-level hierarchy) and 5,000 data elements. The import target is < 30 s and < 600 MB peak RSS,
 * the export target < 10 s. The floor is the least any importer must do: `JSON.parse` the whole file
 * and insert each object's JSON into a bare table in one transaction.
 */
const ORG_UNITS = 50_000;
const DATA_ELEMENTS = 5_000;
const OBJECTS = ORG_UNITS + DATA_ELEMENTS;

async function generatedFile(env: BenchEnvironment): Promise<string> {
  const path = join(env.outDir, `metadata-${ORG_UNITS}-${DATA_ELEMENTS}.json`);
  if (existsSync(path)) return path;
  const out = createWriteStream(path);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  const uid = (kind: string, i: number) => uidFromSeed(`bench-${kind}-${i}`);
  await write('{"organisationUnits":[');
  // Level 1: 1 country; level 2: 10 regions; level 3: 200 districts; level 4: facilities.
  for (let i = 0; i < ORG_UNITS; i++) {
    const parent =
      i === 0 ? undefined : i <= 10 ? 0 : i <= 210 ? 1 + ((i - 11) % 10) : 11 + ((i - 211) % 200);
    const unit = {
      id: uid('ou', i),
      code: `OU_${i}`,
      name: `Org unit ${i}`,
      shortName: `OU ${i}`,
      openingDate: '1990-01-01',
      ...(parent !== undefined ? { parent: { id: uid('ou', parent) } } : {}),
      geometry: { type: 'Point', coordinates: [-11 + (i % 100) / 100, 8 + (i % 97) / 100] },
    };
    await write(`${i === 0 ? '' : ','}${JSON.stringify(unit)}`);
  }
  await write('],"dataElements":[');
  for (let i = 0; i < DATA_ELEMENTS; i++) {
    const element = {
      id: uid('de', i),
      code: `DE_${i}`,
      name: `Data element ${i}`,
      shortName: `DE ${i}`,
      valueType: 'INTEGER_ZERO_OR_POSITIVE',
      aggregationType: 'SUM',
      domainType: 'AGGREGATE',
      categoryCombo: { id: 'bjDvmb4bfuf' },
      zeroIsSignificant: false,
    };
    await write(`${i === 0 ? '' : ','}${JSON.stringify(element)}`);
  }
  await write(']}\n');
  out.end();
  await once(out, 'finish');
  return path;
}

async function freshContext(env: BenchEnvironment, name: string): Promise<FerryContext> {
  const path = join(env.outDir, name);
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
  const storage = await createSqliteStorage(path);
  await storage.migrate();
  return createFerryContextFromStorage(loadConfig({}, { dataDir: env.outDir }), storage);
}

export const benchCases: BenchCase[] = [
  {
    name: 'metadata-floor-sqlite',
    description: 'floor: JSON.parse the whole file, insert each object into a bare table',
    async prepare(env) {
      const file = await generatedFile(env);
      const path = join(env.outDir, 'scratch-metadata-floor.db');
      rmSync(path, { force: true });
      return async () => {
        const payload = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Array<{ id: string }>>;
        const db = new DatabaseSync(path);
        db.exec('CREATE TABLE raw (type TEXT, uid TEXT, body TEXT)');
        const insert = db.prepare('INSERT INTO raw VALUES (?, ?, ?)');
        db.exec('BEGIN');
        let items = 0;
        for (const [type, objects] of Object.entries(payload)) {
          for (const object of objects) {
            insert.run(type, object.id, JSON.stringify(object));
            items++;
          }
        }
        db.exec('COMMIT');
        db.close();
        return { items };
      };
    },
  },
  {
    name: 'metadata-import-sqlite',
    description: `POST /api/metadata of ${ORG_UNITS} org units + ${DATA_ELEMENTS} data elements (target < 30 s, < 600 MB)`,
    floor: 'metadata-floor-sqlite',
    target: OBJECTS / 30,
    async prepare(env) {
      const file = await generatedFile(env);
      const context = await freshContext(env, 'scratch-metadata-import.db');
      return async () => {
        const report = await importMetadata(
          context,
          { path: file, fileName: 'bench.json' },
          DEFAULT_IMPORT_PARAMS,
        );
        if (report.status !== 'OK') throw new Error(`import status ${report.status}`);
        await context.close();
        return { items: report.stats.total, note: `created ${report.stats.created}` };
      };
    },
  },
  {
    name: 'metadata-export-sqlite',
    description: `GET /api/metadata.json of the same ${OBJECTS} objects, streamed to a file (target < 10 s)`,
    target: OBJECTS / 10,
    async prepare(env) {
      const file = await generatedFile(env);
      const context = await freshContext(env, 'scratch-metadata-export.db');
      const report = await importMetadata(
        context,
        { path: file, fileName: 'bench.json' },
        DEFAULT_IMPORT_PARAMS,
      );
      if (report.status !== 'OK') throw new Error(`import status ${report.status}`);
      const target = join(env.outDir, 'metadata-export.json');
      return async () => {
        const out = createWriteStream(target);
        const request = buildExportRequest(
          context.registry,
          { organisationUnits: 'true', dataElements: 'true' },
          'json',
          false,
        );
        for await (const chunk of streamMetadataExport(context, request)) {
          if (!out.write(chunk)) await once(out, 'drain');
        }
        out.end();
        await once(out, 'finish');
        await context.close();
        return { items: OBJECTS };
      };
    },
  },
];
