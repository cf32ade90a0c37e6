import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { loadConfig } from '../../src/config.ts';
import type { MetadataObject } from '../../src/storage/metadata-store.ts';
import { isEmbedded, schemaRegistry } from '../../src/domain/schema/schema-registry.ts';
import { parsePeriod } from '../../src/domain/periods/periods.ts';
import {
  DEMO_PASSWORD,
  DEMO_USERNAMES,
  demoUsers,
  generateDemoDatabase,
  type DemoOptions,
} from '../../src/services/demo/demo-metadata.ts';
import {
  isDatabaseEmpty,
  prepareDemoDatabase,
  resetDatabase,
  seedDemoDatabase,
  seedDemoDataValues,
  seedDemoMetadata,
} from '../../src/services/demo/demo-seeder.ts';
import {
  DEMO_SEED_JOB_TYPE,
  DEMO_TRACKER_STAGE,
  prepareDemoForServe,
} from '../../src/services/demo/demo-jobs.ts';
import { hasDemoTrackerData, seedDemoTrackerData } from '../../src/services/demo/demo-tracker-seeder.ts';
import { demoTrackerRows, eventCount } from '../../src/services/demo/demo-tracker-data.ts';
import type { DemoTrackerSummary } from '../../src/services/demo/demo-tracker-seeder.ts';
import { buildApp } from '../../src/http/build-app.ts';
import { basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { demoDataRows } from '../../src/services/demo/demo-data-values.ts';
import type { SqlValue } from '../../src/storage/storage.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../src/domain/category/default-category-model.ts';

function compareKeys(a: readonly SqlValue[], b: readonly SqlValue[]): number {
  for (let i = 0; i < 5; i++) {
    const d = Number(a[i]) - Number(b[i]);
    if (d !== 0) return d;
  }
  return 0;
}

/** A small demo: the full hierarchy and metadata, but 10 facilities, so both dialects seed in seconds. */
const SMALL: DemoOptions = { facilities: 10, seed: 'ferry-demo' };

async function allObjects(
  context: FerryContext,
): Promise<Array<{ collection: string; object: MetadataObject }>> {
  const rows = await context.storage.query<{ type: string; body: unknown }>(
    'SELECT type, body FROM metadata_object ORDER BY sid',
  );
  return rows.map((row) => ({
    collection: row.type,
    object: (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as MetadataObject,
  }));
}

/** Every data value as UIDs and ISO periods, so two databases with different surrogate ids compare. */
async function dataValueFingerprint(context: FerryContext): Promise<string[]> {
  const rows = await context.storage.query<Record<string, string>>(
    `SELECT ou.uid AS ou, p.iso AS pe, de.uid AS de, coc.uid AS coc, aoc.uid AS aoc, dv.value AS value,
            dv.created AS created
       FROM data_value dv
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN period p ON p.period_id = dv.period_id
       JOIN metadata_object de ON de.sid = dv.data_element_id
       JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
       JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id`,
  );
  return rows.map((r) => `${r.ou}|${r.pe}|${r.de}|${r.coc}|${r.aoc}|${r.value}|${r.created}`).sort();
}

/** Every event, tracked entity and relationship as UIDs and values, to compare two databases. */
async function trackerFingerprint(context: FerryContext): Promise<string[]> {
  const canonical = (value: unknown): string => {
    const object = (typeof value === 'string' ? JSON.parse(value) : value) as Record<string, unknown>;
    return JSON.stringify(Object.fromEntries(Object.entries(object).sort(([a], [b]) => (a < b ? -1 : 1))));
  };
  const events = await context.storage.query<Record<string, unknown>>(
    `SELECT e.uid AS uid, ou.uid AS ou, en.uid AS en, e.status AS status, e.occurred_at AS occurred,
            e.data_values AS dv, e.created AS created
       FROM event e JOIN metadata_object ou ON ou.sid = e.org_unit_id
       LEFT JOIN enrollment en ON en.enrollment_id = e.enrollment_id`,
  );
  const entities = await context.storage.query<Record<string, unknown>>(
    `SELECT t.uid AS uid, a.uid AS attribute, v.value AS value
       FROM tracked_entity_attribute_value v
       JOIN tracked_entity t ON t.tracked_entity_id = v.tracked_entity_id
       JOIN metadata_object a ON a.sid = v.attribute_id`,
  );
  const relationships = await context.storage.query<Record<string, unknown>>(
    `SELECT r.uid AS uid, f.uid AS "from", t.uid AS "to" FROM relationship r
       JOIN tracked_entity f ON f.tracked_entity_id = r.from_id JOIN tracked_entity t ON t.tracked_entity_id = r.to_id`,
  );
  return [
    ...events.map(
      (e) => `E|${e.uid}|${e.ou}|${e.en}|${e.status}|${e.occurred}|${canonical(e.dv)}|${e.created}`,
    ),
    ...entities.map((t) => `T|${t.uid}|${t.attribute}|${t.value}`),
    ...relationships.map((r) => `R|${r.uid}|${r.from}|${r.to}`),
  ].sort();
}

/** Surrogate ids made up in memory, to generate tracker rows without a database. */
function fakeTrackerIds(demo: ReturnType<typeof generateDemoDatabase>) {
  let sid = 1;
  const objects = new Map<string, number>();
  for (const list of demo.metadata.values()) for (const o of list) objects.set(o.id, sid++);
  return {
    orgUnits: new Map(demo.facilities.map((f) => [f.uid, objects.get(f.uid)!])),
    objects,
    defaultAttributeOptionCombo: objects.get(DEFAULT_CATEGORY_OPTION_COMBO_UID)!,
  };
}

describe('demo generator (in memory)', () => {
  it('generates at least 200,000 events and 20,000 tracked entities at full size, consistent', () => {
    const demo = generateDemoDatabase();
    const ids = fakeTrackerIds(demo);
    const uids = new Set<string>();
    const nationalIds = new Set<string>();
    const nationalId = ids.objects.get(demo.tracker.attributes.nationalId);
    let events = 0;
    let trackedEntities = 0;
    let relationships = 0;
    for (const facility of demo.facilities) {
      const rows = demoTrackerRows(demo, ids, facility);
      events += eventCount(rows);
      trackedEntities += rows.trackedEntities.length;
      relationships += rows.relationships.length;
      const entities = new Set(rows.trackedEntities.map((r) => String(r[0])));
      const enrollments = new Set(rows.enrollments.map((r) => String(r[0])));
      for (const list of [rows.trackedEntities, rows.enrollments, rows.enrollmentEvents, rows.singleEvents]) {
        for (const row of list) {
          assert.ok(!uids.has(String(row[0])), `UID ${row[0]} twice`);
          uids.add(String(row[0]));
        }
      }
      // Every child row names a parent generated with it (same facility, same transaction).
      for (const row of rows.enrollments) assert.ok(entities.has(String(row[1])));
      for (const row of rows.enrollmentEvents) assert.ok(enrollments.has(String(row[3])));
      for (const row of rows.relationships)
        assert.ok(entities.has(String(row[2])) && entities.has(String(row[3])));
      for (const row of rows.attributeValues) {
        if (row[1] !== nationalId) continue;
        assert.ok(!nationalIds.has(String(row[2])), `national ID ${row[2]} twice`);
        nationalIds.add(String(row[2]));
      }
      for (const row of [...rows.enrollmentEvents.map((r) => r[10]), ...rows.singleEvents.map((r) => r[9])]) {
        const values = JSON.parse(String(row)) as Record<string, { value: string }>;
        assert.ok(Object.keys(values).length > 0);
      }
    }
    assert.ok(events >= 200_000, `${events} events`);
    assert.ok(trackedEntities >= 20_000, `${trackedEntities} tracked entities`);
    assert.ok(relationships > 1_000, `${relationships} relationships`);
  });

  it('generates at least a million data values at full size, in primary-key order', () => {
    const demo = generateDemoDatabase();
    let next = 1;
    const ids = (uids: readonly string[]) => new Map(uids.map((uid) => [uid, next++]));
    const surrogateIds = {
      orgUnits: ids(demo.facilities.map((f) => f.uid)),
      periods: ids(demo.periods.map((p) => p.iso)),
      dataElements: ids(demo.metadata.get('dataElements')!.map((o) => o.id)),
      categoryOptionCombos: ids(demo.metadata.get('categoryOptionCombos')!.map((o) => o.id)),
      dataSets: ids(demo.metadata.get('dataSets')!.map((o) => o.id)),
    };
    let count = 0;
    let previous: SqlValue[] | undefined;
    for (const batch of demoDataRows(demo, surrogateIds)) {
      if (batch.table !== 'data_value') continue;
      for (const row of batch.rows) {
        if (previous) {
          const order = compareKeys(previous, row);
          assert.ok(order < 0, `row ${count} is out of key order`);
        }
        previous = row;
        count++;
      }
    }
    assert.ok(count >= 1_000_000, `${count} data values`);
  });

  it('is deterministic: two runs give identical objects', () => {
    assert.deepEqual(generateDemoDatabase(SMALL).metadata, generateDemoDatabase(SMALL).metadata);
  });

  it('keeps unique properties unique within each type, as an import would require (E5003)', () => {
    const demo = generateDemoDatabase();
    const duplicates: string[] = [];
    for (const [collection, objects] of demo.metadata) {
      for (const property of schemaRegistry.byCollection(collection)!.properties) {
        if (!property.unique) continue;
        const seen = new Set<unknown>();
        for (const object of objects) {
          const value = object[property.name];
          if (value === undefined) continue;
          if (seen.has(value)) duplicates.push(`${collection}.${property.name} = ${String(value)}`);
          seen.add(value);
          if (typeof value === 'string' && property.maxLength && value.length > property.maxLength) {
            duplicates.push(`${collection}.${property.name} longer than ${property.maxLength}: ${value}`);
          }
        }
      }
    }
    assert.deepEqual(duplicates, []);
  });

  it('gives different UIDs for a different seed', () => {
    const a = generateDemoDatabase(SMALL).countryUid;
    const b = generateDemoDatabase({ ...SMALL, seed: 'another' }).countryUid;
    assert.notEqual(a, b);
  });

  it('has the full-size shape the issue asks for', () => {
    const demo = generateDemoDatabase();
    const units = demo.metadata.get('organisationUnits')!;
    const byLevel = (level: number) => units.filter((u) => u.level === level).length;
    assert.deepEqual([1, 2, 3, 4, 5].map(byLevel), [1, 4, 16, 100, 1200]);
    const dataElements = demo.metadata.get('dataElements')!;
    assert.ok(dataElements.length >= 55 && dataElements.length <= 80, `${dataElements.length} data elements`);
    assert.ok(dataElements.some((de) => de.valueType === 'TEXT'));
    assert.ok(dataElements.some((de) => de.valueType === 'BOOLEAN'));
    assert.ok(dataElements.some((de) => de.optionSet && de.domainType === 'AGGREGATE'));
    assert.deepEqual(
      demo.metadata
        .get('dataSets')!
        .map((ds) => ds.periodType)
        .sort(),
      ['Monthly', 'Monthly', 'Monthly', 'Quarterly'],
    );
    assert.deepEqual(
      demo.metadata
        .get('programs')!
        .map((p) => p.programType)
        .sort(),
      ['WITHOUT_REGISTRATION', 'WITH_REGISTRATION', 'WITH_REGISTRATION'],
    );
    assert.equal(demo.metadata.get('relationshipTypes')!.length, 1);
    assert.equal(demo.metadata.get('programRules')!.length, 3);
    const attributes = demo.metadata.get('trackedEntityAttributes')!;
    assert.equal(attributes.filter((a) => a.unique === true).length, 1);
    const trackerElements = dataElements.filter((de) => de.domainType === 'TRACKER');
    for (const valueType of ['NUMBER', 'TEXT', 'BOOLEAN', 'DATE', 'INTEGER_POSITIVE'])
      assert.ok(
        trackerElements.some((de) => de.valueType === valueType),
        valueType,
      );
    assert.ok(trackerElements.some((de) => de.optionSet));
    for (const unit of units.filter((u) => u.geometry)) {
      const geometry = unit.geometry as { type: string; coordinates: unknown };
      if (geometry.type === 'Point') {
        const [lon, lat] = geometry.coordinates as number[];
        assert.ok(lon > -13.3 && lon < -10.3 && lat > 6.9 && lat < 10, `${unit.id} at ${lon},${lat}`);
      } else {
        assert.equal(geometry.type, 'Polygon');
        for (const ring of geometry.coordinates as number[][][]) {
          assert.ok(ring.length >= 4);
          assert.deepEqual(ring[0], ring[ring.length - 1], `${unit.id}: ring is closed`);
        }
      }
    }
    assert.equal(units.filter((u) => (u.geometry as { type?: string })?.type === 'Polygon').length, 21);
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`demo database on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let dataValues = 0;
    let tracker: DemoTrackerSummary;

    before(async () => {
      db = await createTestDatabase(kind);
      context = createFerryContextFromStorage(loadConfig({ FERRY_DATA_DIR: db.dataDir }), db.storage);
      assert.equal(await isDatabaseEmpty(db.storage), true);
      const preparation = await prepareDemoDatabase(context, SMALL);
      assert.equal(preparation.outcome, 'seeded');
      if (preparation.outcome === 'seeded') {
        dataValues = preparation.summary.dataValues;
        tracker = preparation.summary.tracker;
      }
    });
    after(async () => {
      await db?.dispose();
    });

    it('stores the expected objects', async () => {
      const count = (collection: string) => context.metadata.count(collection);
      assert.equal(await count('organisationUnits'), 1 + 4 + 16 + 100 + SMALL.facilities);
      assert.equal(await count('organisationUnitLevels'), 5);
      assert.equal(await count('organisationUnitGroups'), 4);
      assert.equal(await count('dataSets'), 4);
      assert.equal(await count('programs'), 3);
      assert.equal(await count('relationshipTypes'), 1);
      assert.equal(await count('users'), DEMO_USERNAMES.length);
      assert.equal(await count('userRoles'), 4);
      // default 1 + Sex 2 + Age 3 + Age and sex 6 + Funding mechanism 2
      assert.equal(await count('categoryOptionCombos'), 14);
      const stored = await context.storage.queryOne<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM data_value',
      );
      assert.equal(Number(stored?.n), dataValues);
      assert.ok(dataValues > 5_000, `${dataValues} data values for ${SMALL.facilities} facilities`);
    });

    it('resolves every reference of every stored object to a stored object', async () => {
      const objects = await allObjects(context);
      const known = new Set(objects.map(({ collection, object }) => `${collection}/${object.id}`));
      const dangling: string[] = [];
      let references = 0;
      for (const { collection, object } of objects) {
        for (const reference of context.metadata.referencesOf(collection, object)) {
          references++;
          if (!known.has(`${reference.targetType}/${reference.targetUid}`)) {
            dangling.push(
              `${collection}/${object.id}.${reference.property} -> ${reference.targetType}/${reference.targetUid}`,
            );
          }
        }
      }
      assert.deepEqual(dangling, []);
      assert.ok(references > 500, `${references} references checked`);
    });

    it('has every required property, on objects and on their embedded objects', async () => {
      const missing: string[] = [];
      const check = (collection: string, object: Record<string, unknown>, where: string) => {
        const schema = context.registry.byCollection(collection);
        assert.ok(schema, `schema for ${collection}`);
        for (const property of schema.properties) {
          const value = object[property.name];
          if (property.required && (value === undefined || value === null || value === '')) {
            missing.push(`${where}.${property.name}`);
          }
          if (isEmbedded(property) && property.itemSchema && Array.isArray(value)) {
            value.forEach((item, i) =>
              check(property.itemSchema!, item as Record<string, unknown>, `${where}.${property.name}[${i}]`),
            );
          }
        }
      };
      for (const { collection, object } of await allObjects(context))
        check(collection, object, `${collection}/${object.id}`);
      assert.deepEqual(missing, []);
    });

    it('gives org units a path through their parents and the matching level', async () => {
      const units = new Map<string, MetadataObject>();
      for await (const batch of context.metadata.stream('organisationUnits')) {
        for (const { object } of batch) units.set(object.id, object);
      }
      for (const unit of units.values()) {
        const parentId = (unit.parent as { id?: string } | undefined)?.id;
        const expectedPath = parentId ? `${units.get(parentId)!.path}/${unit.id}` : `/${unit.id}`;
        assert.equal(unit.path, expectedPath, `path of ${unit.id}`);
        assert.equal(unit.level, String(unit.path).split('/').length - 1, `level of ${unit.id}`);
      }
      const roots = [...units.values()].filter((u) => !u.parent);
      assert.equal(roots.length, 1);
    });

    it('has one option combo per combination of its categories, for every category combo', async () => {
      const byId = async (collection: string) => {
        const map = new Map<string, MetadataObject>();
        for await (const batch of context.metadata.stream(collection))
          for (const { object } of batch) map.set(object.id, object);
        return map;
      };
      const categories = await byId('categories');
      const combos = await byId('categoryCombos');
      const optionCombos = [...(await byId('categoryOptionCombos')).values()];
      const ids = (list: unknown) => (list as Array<{ id: string }>).map((r) => r.id);
      for (const combo of combos.values()) {
        const comboCategories = ids(combo.categories).map((id) => categories.get(id)!);
        const expected = comboCategories.reduce((n, c) => n * ids(c.categoryOptions).length, 1);
        const mine = optionCombos.filter((coc) => (coc.categoryCombo as { id: string }).id === combo.id);
        assert.equal(mine.length, expected, `option combos of ${combo.name}`);
        const keys = new Set(mine.map((coc) => ids(coc.categoryOptions).sort().join()));
        assert.equal(keys.size, expected, `distinct combinations in ${combo.name}`);
        for (const coc of mine) {
          const options = ids(coc.categoryOptions);
          for (const category of comboCategories) {
            const inCategory = options.filter((o) => ids(category.categoryOptions).includes(o));
            assert.equal(inCategory.length, 1, `${coc.name}: one option of ${category.name}`);
          }
        }
      }
      assert.ok(optionCombos.some((coc) => coc.id === DEFAULT_CATEGORY_OPTION_COMBO_UID));
    });

    it('stores data values only for data set elements, assigned facilities and valid periods', async () => {
      const bad = await context.storage.query(
        `SELECT dv.org_unit_id FROM data_value dv
           LEFT JOIN metadata_object ou ON ou.sid = dv.org_unit_id AND ou.type = 'organisationUnits'
           LEFT JOIN metadata_object de ON de.sid = dv.data_element_id AND de.type = 'dataElements'
           LEFT JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id AND coc.type = 'categoryOptionCombos'
           LEFT JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id AND aoc.type = 'categoryOptionCombos'
           LEFT JOIN period p ON p.period_id = dv.period_id
          WHERE ou.sid IS NULL OR de.sid IS NULL OR coc.sid IS NULL OR aoc.sid IS NULL OR p.period_id IS NULL`,
      );
      assert.equal(bad.length, 0);
      const periods = await context.storage.query<{ iso: string; start_date: string; end_date: string }>(
        'SELECT iso, start_date, end_date FROM period ORDER BY iso',
      );
      assert.equal(periods.length, 24 + 8);
      for (const period of periods) {
        const parsed = parsePeriod(period.iso);
        assert.ok(parsed, period.iso);
        assert.equal(period.start_date, parsed.startDate);
        assert.equal(period.end_date, parsed.endDate);
      }
      // Each value's option combo belongs to its data element's category combo.
      const mismatched: string[] = [];
      const cocCombo = new Map<number, string>();
      for await (const batch of context.metadata.stream('categoryOptionCombos')) {
        for (const { sid, object } of batch) cocCombo.set(sid, (object.categoryCombo as { id: string }).id);
      }
      const deCombo = new Map<number, string>();
      for await (const batch of context.metadata.stream('dataElements')) {
        for (const { sid, object } of batch) deCombo.set(sid, (object.categoryCombo as { id: string }).id);
      }
      const pairs = await context.storage.query<{ de: number | string; coc: number | string }>(
        'SELECT DISTINCT data_element_id AS de, category_option_combo_id AS coc FROM data_value',
      );
      for (const pair of pairs) {
        if (deCombo.get(Number(pair.de)) !== cocCombo.get(Number(pair.coc)))
          mismatched.push(`${pair.de}/${pair.coc}`);
      }
      assert.deepEqual(mismatched, []);
    });

    it('gives every demo user a credential, and the demo password logs in', async () => {
      const rows = await context.storage.query(
        `SELECT c.user_uid FROM user_credential c JOIN metadata_object o ON o.uid = c.user_uid AND o.type = 'users'`,
      );
      assert.equal(rows.length, DEMO_USERNAMES.length);
      // Each check is a deliberately slow scrypt hash: two users, one wrong password.
      for (const username of ['admin', 'facility_clerk']) {
        const principal = await context.auth.verifyPassword(username, DEMO_PASSWORD);
        assert.equal(principal.username, username);
      }
      await assert.rejects(context.auth.verifyPassword('analyst', 'not-the-password'));
    });

    it('leaves a seeded database alone, and refuses to seed over other data', async () => {
      assert.equal((await prepareDemoDatabase(context, SMALL)).outcome, 'present');
      const other = await createTestDatabase(kind);
      try {
        const otherContext = createFerryContextFromStorage(
          loadConfig({ FERRY_DATA_DIR: other.dataDir }),
          other.storage,
        );
        await other.storage.transaction((tx) =>
          otherContext.metadata
            .withExecutor(tx)
            .save('optionSets', [{ id: 'aaaaaaaaaaa', name: 'Mine', valueType: 'TEXT' }]),
        );
        assert.equal((await prepareDemoDatabase(otherContext, SMALL)).outcome, 'other-data');
        assert.equal(await otherContext.metadata.count('organisationUnits'), 0);
      } finally {
        await other.dispose();
      }
    });

    it('seeds once when two starts race on one empty database', async () => {
      const fresh = await createTestDatabase(kind);
      try {
        const freshContext = createFerryContextFromStorage(
          loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
          fresh.storage,
        );
        const outcomes = await Promise.all([
          prepareDemoDatabase(freshContext, SMALL),
          prepareDemoDatabase(freshContext, SMALL),
        ]);
        assert.deepEqual(outcomes.map((o) => o.outcome).sort(), ['present', 'seeded']);
        const stored = await fresh.storage.queryOne<{ n: number | string }>(
          'SELECT COUNT(*) AS n FROM data_value',
        );
        assert.equal(Number(stored?.n), dataValues);
      } finally {
        await fresh.dispose();
      }
    });

    it('serve --demo: metadata and users first, one seed job when two starts race, data from the job', async () => {
      const fresh = await createTestDatabase(kind);
      const freshContext = createFerryContextFromStorage(
        loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
        fresh.storage,
      );
      try {
        const outcomes = await Promise.all([
          prepareDemoForServe(freshContext, SMALL),
          prepareDemoForServe(freshContext, SMALL),
        ]);
        assert.deepEqual(
          outcomes.map((o) => o.outcome),
          ['seeding', 'seeding'],
        );
        const [first, second] = outcomes.map((o) => (o.outcome === 'seeding' ? o : assert.fail(o.outcome)));
        assert.equal(first.job.id, second.job.id, 'one seed job for both starts');
        assert.equal(outcomes.filter((o) => o.outcome === 'seeding' && o.metadataObjects).length, 1);
        // Before the job runs: every object and user, credentials that log in, no data values.
        assert.equal(await freshContext.metadata.count('users'), DEMO_USERNAMES.length);
        assert.equal(
          await freshContext.metadata.count('dataElements'),
          await context.metadata.count('dataElements'),
        );
        assert.equal((await freshContext.auth.verifyPassword('admin', DEMO_PASSWORD)).username, 'admin');
        const before = await fresh.storage.queryOne<{ n: number | string }>(
          'SELECT COUNT(*) AS n FROM data_value',
        );
        assert.equal(Number(before?.n), 0);

        await freshContext.jobs.start();
        const job = await waitForJob(freshContext, first.job.id);
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        assert.equal(job.type, DEMO_SEED_JOB_TYPE);
        // The last stage is the tracker data's: its progress counts events.
        assert.equal(job.progress?.stage, DEMO_TRACKER_STAGE);
        assert.equal(job.progress?.processed, tracker.events);
        assert.equal(job.progress?.total, tracker.events);
        const stats = (job.summary as { stats: { dataValues: number; tracker: DemoTrackerSummary } }).stats;
        assert.equal(stats.dataValues, dataValues);
        assert.equal(stats.tracker.events, tracker.events);
        assert.deepEqual(await dataValueFingerprint(freshContext), await dataValueFingerprint(context));
        assert.deepEqual(await trackerFingerprint(freshContext), await trackerFingerprint(context));
        // A second start finds the demo complete and queues nothing.
        assert.equal((await prepareDemoForServe(freshContext, SMALL)).outcome, 'present');
        const jobs = await freshContext.jobs.list(
          { uid: 'test', authorities: new Set(['ALL']) },
          { types: [DEMO_SEED_JOB_TYPE] },
        );
        assert.equal(jobs.length, 1);
      } finally {
        await freshContext.jobs.stop();
        await fresh.dispose();
      }
    });

    it('completes an interrupted data stage on the next start, without duplicates', async () => {
      const fresh = await createTestDatabase(kind);
      const freshContext = createFerryContextFromStorage(
        loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
        fresh.storage,
      );
      try {
        const { demo } = await seedDemoMetadata(freshContext, SMALL);
        // The second of four transactions fails: the first's facilities keep their values.
        let transactions = 0;
        await assert.rejects(
          seedDemoDataValues(freshContext, demo, {
            facilitiesPerTransaction: 3,
            beforeCommit: async () => {
              if (++transactions === 2) throw new Error('interrupted');
            },
          }),
          /interrupted/,
        );
        const partial = await fresh.storage.queryOne<{ n: number | string }>(
          'SELECT COUNT(*) AS n FROM data_value',
        );
        assert.ok(
          Number(partial?.n) > 0 && Number(partial?.n) < dataValues,
          `${partial?.n} of ${dataValues}`,
        );

        const preparation = await prepareDemoForServe(freshContext, SMALL);
        assert.equal(preparation.outcome, 'seeding');
        await freshContext.jobs.start();
        const job = await waitForJob(
          freshContext,
          preparation.outcome === 'seeding' ? preparation.job.id : '',
        );
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        assert.deepEqual(await dataValueFingerprint(freshContext), await dataValueFingerprint(context));

        // Run again from the job overview by a user who is not a superuser: refused when it runs.
        const clerk = demoUsers(SMALL).find((u) => u.username === 'facility_clerk')!;
        const refused = await freshContext.jobs.submit({
          type: DEMO_SEED_JOB_TYPE,
          params: { ...SMALL },
          viewer: { uid: clerk.uid, authorities: new Set(['F_DATAVALUE_ADD']) },
        });
        const failed = await waitForJob(freshContext, refused.id);
        assert.equal(failed.status, 'FAILED');
        assert.match(failed.error ?? '', /ALL/);
      } finally {
        await freshContext.jobs.stop();
        await fresh.dispose();
      }
    });

    it('writes tracker data scaled to the facilities, each row with its parents', async () => {
      const n = async (sql: string, params: SqlValue[] = []) =>
        Number((await context.storage.queryOne<{ n: number | string }>(sql, params))?.n);
      assert.equal(await n('SELECT COUNT(*) AS n FROM event'), tracker.events);
      assert.equal(await n('SELECT COUNT(*) AS n FROM tracked_entity'), tracker.trackedEntities);
      assert.equal(await n('SELECT COUNT(*) AS n FROM enrollment'), tracker.enrollments);
      assert.equal(await n('SELECT COUNT(*) AS n FROM relationship'), tracker.relationships);
      // 10 of 1,200 facilities: about 1/120 of the full demo's 200,000 events and 20,000 entities.
      assert.ok(tracker.events > 500 && tracker.events < 10_000, `${tracker.events} events`);
      assert.ok(tracker.trackedEntities > 50, `${tracker.trackedEntities} tracked entities`);
      assert.ok(tracker.relationships > 0);
      assert.equal(tracker.enrollments, tracker.trackedEntities, 'one enrollment per person');
      // An event of a tracker program belongs to an enrollment of that program; others to none.
      assert.equal(
        await n(`SELECT COUNT(*) AS n FROM event e JOIN enrollment en ON en.enrollment_id = e.enrollment_id
                  WHERE en.program_id <> e.program_id OR en.org_unit_id <> e.org_unit_id`),
        0,
      );
      const [malaria] = (await context.metadata.findBy('programs', 'code', ['PR_MALARIA_CASE'])).map(
        (p) => p.sid,
      );
      assert.equal(
        await n('SELECT COUNT(*) AS n FROM event WHERE enrollment_id IS NULL'),
        await n('SELECT COUNT(*) AS n FROM event WHERE program_id = ?', [malaria]),
      );
      assert.equal(
        await n('SELECT COUNT(*) AS n FROM relationship WHERE from_id IS NULL OR to_id IS NULL'),
        0,
      );
      assert.equal(await n('SELECT COUNT(*) AS n FROM tracked_entity_program_owner'), tracker.enrollments);
      assert.equal(await hasDemoTrackerData(context, generateDemoDatabase(SMALL)), true);
    });

    it('exports demo events over GET /api/tracker/events that re-import into a fresh demo database', async () => {
      const auth = basicAuth('admin', DEMO_PASSWORD);
      const app = await buildApp(context);
      const fresh = await createTestDatabase(kind);
      const freshContext = createFerryContextFromStorage(
        loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
        fresh.storage,
      );
      let freshApp: Awaited<ReturnType<typeof buildApp>> | undefined;
      try {
        const get = async (url: string) => {
          const response = await app.inject({ method: 'GET', url, headers: { authorization: auth } });
          assert.equal(response.statusCode, 200, response.body);
          return response.json() as Record<string, Array<Record<string, unknown>>>;
        };
        const { tracker: plan } = generateDemoDatabase(SMALL);
        const events = (await get('/api/tracker/events?paging=false')).events;
        assert.equal(events.length, tracker.events);
        // The sample: every event of the first facility with tracker data, with the tracked
        // entities and enrollments its events belong to (exported without their events).
        const mothers = (
          await get(
            `/api/tracker/trackedEntities?program=${plan.anc.program}&paging=false&fields=*,!events,!programOwners`,
          )
        ).trackedEntities;
        const orgUnit = String(mothers[0].orgUnit);
        const children = (
          await get(
            `/api/tracker/trackedEntities?program=${plan.child.program}&orgUnit=${orgUnit}&paging=false` +
              '&fields=*,!events,!relationships,!programOwners',
          )
        ).trackedEntities;
        const sample = events.filter((e) => e.orgUnit === orgUnit);
        const payload = {
          trackedEntities: [...mothers.filter((t) => t.orgUnit === orgUnit), ...children],
          events: sample,
        };
        assert.ok(sample.some((e) => !e.enrollment) && sample.some((e) => e.enrollment));
        // Malaria cases carry the case's location (the stage's feature type is POINT).
        const located = sample.find((e) => !e.enrollment)!;
        assert.equal((located.geometry as { type: string }).type, 'Point');

        // A fresh database with the demo metadata (the demo's metadata writer), then the import.
        await seedDemoMetadata(freshContext, SMALL);
        freshApp = await buildApp(freshContext);
        const post = (query: string) =>
          freshApp!.inject({
            method: 'POST',
            url: `/api/tracker?async=false&atomicMode=ALL&reportMode=WARNINGS&${query}`,
            headers: { authorization: auth, 'content-type': 'application/json' },
            payload: JSON.stringify(payload),
          });
        // Validation alone: every object valid, status OK.
        const validated = await post('importMode=VALIDATE&skipRuleEngine=true');
        assert.equal(validated.statusCode, 200, validated.body);
        assert.equal((validated.json() as { status: string }).status, 'OK', validated.body.slice(0, 2000));
        // The import with the program rules: no errors; the only warnings are the demo's own
        // SHOWWARNING rules (severe anaemia, low birth weight), which the demo's data meets now and
        // then, as DHIS2 would report them.
        const imported = await post('');
        assert.equal(imported.statusCode, 200, imported.body);
        const report = imported.json() as {
          status: string;
          stats: { created: number };
          validationReport: {
            errorReports: unknown[];
            warningReports: Array<{ errorCode: string; args: string[] }>;
          };
        };
        assert.deepEqual(report.validationReport.errorReports, []);
        const warningRules = new Set(
          generateDemoDatabase(SMALL)
            .metadata.get('programRuleActions')!
            .filter((a) => a.programRuleActionType === 'SHOWWARNING')
            .map((a) => (a.programRule as { id: string }).id),
        );
        for (const warning of report.validationReport.warningReports) {
          assert.equal(warning.errorCode, 'E1300');
          assert.ok(warningRules.has(warning.args[0]), `warning from rule ${warning.args[0]}`);
        }
        assert.equal(report.status, report.validationReport.warningReports.length > 0 ? 'WARNING' : 'OK');
        const relationships = payload.trackedEntities.reduce(
          (sum, t) => sum + ((t.relationships as unknown[] | undefined)?.length ?? 0),
          0,
        );
        const enrollments = payload.trackedEntities.reduce(
          (sum, t) => sum + ((t.enrollments as unknown[] | undefined)?.length ?? 0),
          0,
        );
        assert.equal(
          report.stats.created,
          payload.trackedEntities.length + enrollments + sample.length + relationships,
        );
        // The events read back as they were exported.
        const again = await freshApp.inject({
          method: 'GET',
          url: `/api/tracker/events?paging=false&orgUnit=${orgUnit}`,
          headers: { authorization: auth },
        });
        const byUid = new Map(
          (again.json() as { events: Array<Record<string, unknown>> }).events.map((e) => [e.event, e]),
        );
        for (const event of sample) {
          const copy = byUid.get(event.event);
          assert.ok(copy, `event ${String(event.event)} re-imported`);
          for (const key of [
            'program',
            'programStage',
            'enrollment',
            'orgUnit',
            'status',
            'occurredAt',
            'geometry',
          ])
            assert.deepEqual(copy[key], event[key], `${String(event.event)}.${key}`);
          const values = (list: unknown) =>
            (list as Array<{ dataElement: string; value: string }>)
              .map((v) => `${v.dataElement}=${v.value}`)
              .sort();
          assert.deepEqual(values(copy.dataValues), values(event.dataValues));
        }
      } finally {
        await app.close();
        await freshApp?.close();
        await freshContext.jobs.stop();
        await fresh.dispose();
      }
    });

    it('completes an interrupted tracker stage on the next start, without duplicates', async () => {
      const fresh = await createTestDatabase(kind);
      const freshContext = createFerryContextFromStorage(
        loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
        fresh.storage,
      );
      try {
        const { demo } = await seedDemoMetadata(freshContext, SMALL);
        await seedDemoDataValues(freshContext, demo);
        // The second of four transactions fails: the first's facilities keep their tracker data.
        let transactions = 0;
        await assert.rejects(
          seedDemoTrackerData(freshContext, demo, {
            facilitiesPerTransaction: 3,
            beforeCommit: async () => {
              if (++transactions === 2) throw new Error('interrupted');
            },
          }),
          /interrupted/,
        );
        const partial = await fresh.storage.queryOne<{ n: number | string }>(
          'SELECT COUNT(*) AS n FROM event',
        );
        assert.ok(Number(partial?.n) > 0 && Number(partial?.n) < tracker.events, `${partial?.n} events`);
        assert.equal(await hasDemoTrackerData(freshContext, demo), false);

        const preparation = await prepareDemoForServe(freshContext, SMALL);
        assert.equal(preparation.outcome, 'seeding');
        await freshContext.jobs.start();
        const job = await waitForJob(
          freshContext,
          preparation.outcome === 'seeding' ? preparation.job.id : '',
        );
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        // The data values were complete: the job wrote only the tracker data that was missing.
        const stats = (job.summary as { stats: { dataValues: number; tracker: DemoTrackerSummary } }).stats;
        assert.equal(stats.dataValues, 0);
        assert.equal(stats.tracker.events, tracker.events - Number(partial?.n));
        assert.deepEqual(await trackerFingerprint(freshContext), await trackerFingerprint(context));
        assert.equal((await prepareDemoForServe(freshContext, SMALL)).outcome, 'present');
      } finally {
        await freshContext.jobs.stop();
        await fresh.dispose();
      }
    });

    it("passes the metadata importer's validation as a DHIS2 metadata payload", async () => {
      const fresh = await createTestDatabase(kind);
      try {
        const freshContext = createFerryContextFromStorage(
          loadConfig({ FERRY_DATA_DIR: fresh.dataDir }),
          fresh.storage,
        );
        const payload = Object.fromEntries(generateDemoDatabase(SMALL).metadata);
        const report = await importMetadataObjects(freshContext, payload, { importMode: 'VALIDATE' });
        const problems = report.typeReports.flatMap((t) => t.objectReports);
        assert.deepEqual(problems, []);
        assert.equal(report.status, 'OK');
        assert.equal(
          report.stats.total,
          Object.values(payload).reduce((n, list) => n + list.length, 0),
        );
      } finally {
        await fresh.dispose();
      }
    });

    it('resets and re-seeds to identical UIDs and values', async () => {
      const uidsBefore = (await allObjects(context))
        .map(({ collection, object }) => `${collection}/${object.id}`)
        .sort();
      const valuesBefore = await dataValueFingerprint(context);
      const trackerBefore = await trackerFingerprint(context);
      await resetDatabase(db.storage);
      assert.equal(await isDatabaseEmpty(db.storage), true);
      const credentials = await db.storage.queryOne<{ n: number | string }>(
        'SELECT COUNT(*) AS n FROM user_credential',
      );
      assert.equal(Number(credentials?.n), 0);
      await seedDemoDatabase(context, SMALL);
      const uidsAfter = (await allObjects(context))
        .map(({ collection, object }) => `${collection}/${object.id}`)
        .sort();
      assert.deepEqual(uidsAfter, uidsBefore);
      assert.deepEqual(await dataValueFingerprint(context), valuesBefore);
      assert.deepEqual(await trackerFingerprint(context), trackerBefore);
    });
  });
}
