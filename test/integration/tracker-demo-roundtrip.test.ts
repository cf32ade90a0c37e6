import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import {
  DEMO_PASSWORD,
  generateDemoDatabase,
  type DemoOptions,
} from '../../src/services/demo/demo-metadata.ts';
import { prepareDemoDatabase, seedDemoMetadata } from '../../src/services/demo/demo-seeder.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { basicAuth } from '../support/access-fixtures.ts';

/**
 * Issue 12's acceptance: the demo's event program (malaria cases) and tracker programs (ANC, child
 * health) export to JSON and CSV, in every compression, and import into a fresh database (the
 * demo's metadata only) through POST /api/tracker unchanged: the fresh database exports the same
 * objects, field by field, but for what a server sets itself (its own times and users).
 */
const DEMO: DemoOptions = { facilities: 3, seed: 'ferry-demo' };
const AUTH = basicAuth('admin', DEMO_PASSWORD);

/** Set by the server that stores the object: not part of what a file carries across. */
const SERVER_SET = new Set(['createdAt', 'updatedAt', 'createdBy', 'updatedBy', 'storedBy']);

type Raw = Record<string, unknown>;

/** The object without server-set fields, lists of keyed objects sorted, for a field-by-field compare. */
function comparable(value: unknown, drop: ReadonlySet<string> = SERVER_SET): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => comparable(v, drop));
    return items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Raw = {};
  for (const key of Object.keys(value as Raw).sort())
    if (!drop.has(key)) out[key] = comparable((value as Raw)[key], drop);
  return out;
}

type App = Awaited<ReturnType<typeof buildApp>>;

async function get(app: App, url: string): Promise<Buffer> {
  const res = await app.inject({ method: 'GET', url, headers: { authorization: AUTH } });
  assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 500)}`);
  return res.rawPayload;
}

async function getJson(app: App, url: string): Promise<Raw> {
  return JSON.parse((await get(app, url)).toString('utf8')) as Raw;
}

const CONTENT_TYPES = { '': '', '.gz': 'application/gzip', '.zip': 'application/zip' } as const;
type Compression = keyof typeof CONTENT_TYPES;

async function importFile(app: App, body: Buffer, contentType: string): Promise<Raw> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/tracker?async=false&atomicMode=ALL',
    headers: { authorization: AUTH, 'content-type': contentType },
    payload: body,
  });
  const report = res.json() as Raw & { validationReport: { errorReports: unknown[] } };
  assert.deepEqual(report.validationReport.errorReports, [], JSON.stringify(report).slice(0, 2000));
  return report;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`demo tracker data round trip on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: App;
    const plan = generateDemoDatabase(DEMO).tracker;
    const childrenUrl = (suffix: string) =>
      `/api/tracker/trackedEntities.json${suffix}?program=${plan.child.program}&paging=false` +
      '&fields=*,!events,!relationships,!programOwners';
    const mothersUrl = (suffix: string) =>
      `/api/tracker/trackedEntities.json${suffix}?program=${plan.anc.program}&paging=false` +
      '&fields=*,!events,!programOwners';
    let events: Raw[];
    let trackedEntities: Raw[];

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({ FERRY_DATA_DIR: db.dataDir }), db.storage);
      assert.equal((await prepareDemoDatabase(context, DEMO)).outcome, 'seeded');
      app = await buildApp(context);
      events = (await getJson(app, '/api/tracker/events.json?paging=false')).events as Raw[];
      trackedEntities = [
        ...((await getJson(app, childrenUrl(''))).trackedEntities as Raw[]),
        ...((await getJson(app, mothersUrl(''))).trackedEntities as Raw[]),
      ];
      assert.ok(events.some((e) => !e.enrollment) && events.some((e) => e.enrollment), 'both kinds');
      assert.ok(trackedEntities.length > 0);
    });
    after(async () => {
      await app?.close();
      await db?.dispose();
    });

    for (const format of ['json', 'csv'] as const)
      for (const compression of ['', '.gz', '.zip'] as const)
        it(`events.${format}${compression} and trackedEntities.json${compression} re-import unchanged`, async () => {
          const c = compression as Compression;
          const eventFile = await get(app, `/api/tracker/events.${format}${c}?paging=false`);
          if (c === '.gz') assert.equal(eventFile[0], 0x1f, 'gzip bytes');
          if (c === '.zip') assert.equal(eventFile.readUInt32LE(0), 0x04034b50, 'zip bytes');
          if (c === '.gz' && format === 'json')
            assert.deepEqual(JSON.parse(gunzipSync(eventFile).toString('utf8')).events, events);
          const fresh = await createTestDatabase(kind);
          const freshContext = createFerryContextFromStorage(
            loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
            fresh.storage,
          );
          let freshApp: App | undefined;
          try {
            await seedDemoMetadata(freshContext, DEMO);
            freshApp = await buildApp(freshContext);
            const json = CONTENT_TYPES[c] || 'application/json';
            // Children first (the mothers' relationships point at them), then mothers, then events.
            await importFile(freshApp, await get(app, childrenUrl(c)), json);
            await importFile(freshApp, await get(app, mothersUrl(c)), json);
            const report = await importFile(
              freshApp,
              eventFile,
              CONTENT_TYPES[c] || (format === 'csv' ? 'text/csv' : 'application/json'),
            );
            assert.equal((report.stats as Raw).created, events.length);

            const again = (await getJson(freshApp, '/api/tracker/events.json?paging=false')).events as Raw[];
            const byUid = new Map(again.map((e) => [e.event, e]));
            assert.equal(again.length, events.length);
            // CSV carries no notes (DHIS2's columns have none); everything else crosses.
            const drop = new Set([...SERVER_SET, ...(format === 'csv' ? ['notes'] : [])]);
            for (const event of events)
              assert.deepEqual(
                comparable(byUid.get(event.event), drop),
                comparable(event, drop),
                `event ${String(event.event)} (${format}${c})`,
              );
            const teAgain = [
              ...((await getJson(freshApp, childrenUrl(''))).trackedEntities as Raw[]),
              ...((await getJson(freshApp, mothersUrl(''))).trackedEntities as Raw[]),
            ];
            assert.deepEqual(comparable(teAgain), comparable(trackedEntities));
          } finally {
            await freshApp?.close();
            await freshContext.jobs.stop();
            await fresh.dispose();
          }
        });
  });
}
