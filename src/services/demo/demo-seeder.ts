import type { SqlExecutor, Storage, Transaction } from '../../storage/storage.ts';
import type { MetadataStore } from '../../storage/metadata-store.ts';
import type { SchemaRegistry } from '../../domain/schema/schema-types.ts';
import type { UserService } from '../access/user-service.ts';
import {
  DEMO_COUNTRY_CODE,
  DEMO_PASSWORD,
  DEMO_TIMESTAMP,
  FULL_DEMO_OPTIONS,
  generateDemoDatabase,
  type DemoDatabase,
  type DemoOptions,
  demoUsers,
} from './demo-metadata.ts';
import { setImmediate } from 'node:timers/promises';
import {
  COMPLETE_REGISTRATION_INSERT,
  DATA_VALUE_INSERT,
  demoDataRows,
  type DemoSurrogateIds,
} from './demo-data-values.ts';
import type { DemoPeriod } from './demo-periods.ts';
import { PeriodStore } from '../../storage/period-store.ts';
import { hashPassword } from '../../domain/access/password-hash.ts';
import { seedDemoTrackerData, type DemoTrackerSummary } from './demo-tracker-seeder.ts';

/** What the seeder needs: a subset of FerryContext, so tests can pass their own. */
export interface DemoSeedContext {
  storage: Storage;
  metadata: MetadataStore;
  registry: SchemaRegistry;
  users: UserService;
}

export interface DemoSeedSummary extends DemoDataSummary {
  demo: DemoDatabase;
  metadataObjects: number;
  tracker: DemoTrackerSummary;
}

/** What the data stage wrote (the metadata stage's objects are counted apart). */
export interface DemoDataSummary {
  dataValues: number;
  completeRegistrations: number;
  milliseconds: number;
}

export interface DemoSeedProgress {
  stage: 'metadata' | 'data values' | 'tracker data';
  dataValues: number;
  /** How many data values the demo has in all, once counted. */
  totalDataValues?: number;
  /** In the tracker stage: events written, and how many the demo has in all. */
  events?: number;
  totalEvents?: number;
}

/** How the data stage runs: progress, cancellation, and a check inside each transaction before it commits. */
export interface DemoDataRun {
  onProgress?: (progress: DemoSeedProgress) => void;
  signal?: AbortSignal;
  beforeCommit?: (tx: Transaction) => Promise<void>;
  /** Facilities per transaction; FACILITIES_PER_TRANSACTION unless a test wants more transactions. */
  facilitiesPerTransaction?: number;
}

/** PostgreSQL advisory lock key held while seeding (migrations hold 4711). */
const DEMO_SEED_LOCK = 4712;
/**
 * Facilities whose data values go into one transaction: about 50,000 values, a fraction of a second
 * on an idle machine. Between these transactions other writers get SQLite's one writer: a web
 * login (which stores its session) or an import waits for one chunk, not for the whole demo.
 */
const FACILITIES_PER_TRANSACTION = 50;

/** The database was not empty when the seed's transaction began: something else wrote to it first. */
export class DatabaseNotEmptyError extends Error {
  constructor() {
    super('The database is not empty: the demo is only seeded into an empty database');
  }
}

/** Whether the database holds no metadata and no data at all (a fresh install). */
export async function isDatabaseEmpty(db: SqlExecutor): Promise<boolean> {
  const metadata = await db.queryOne('SELECT 1 AS present FROM metadata_object LIMIT 1');
  if (metadata) return false;
  const values = await db.queryOne('SELECT 1 AS present FROM data_value LIMIT 1');
  return !values;
}

/** Whether the database holds the demo (its country exists). */
export async function hasDemoDatabase(metadata: MetadataStore): Promise<boolean> {
  return (await metadata.findBy('organisationUnits', 'code', [DEMO_COUNTRY_CODE])).length > 0;
}

/**
 * Writes the whole demo database: the metadata stage, then the data stage (data values, then
 * tracker data: demo-tracker-seeder.ts). Used by `ferry demo`
 * and tests; the server runs the data stage as a job instead (demo-jobs.ts). The caller checks that
 * the database is empty first.
 */
export async function seedDemoDatabase(
  context: DemoSeedContext,
  options: DemoOptions = FULL_DEMO_OPTIONS,
  onProgress: (progress: DemoSeedProgress) => void = () => {},
): Promise<DemoSeedSummary> {
  const started = performance.now();
  const { demo, metadataObjects } = await seedDemoMetadata(context, options, { onProgress });
  const data = await seedDemoDataValues(context, demo, { onProgress });
  const tracker = await seedDemoTrackerData(context, demo, {
    onProgress: ({ events, totalEvents }) =>
      onProgress({ stage: 'tracker data', dataValues: data.dataValues, events, totalEvents }),
  });
  return {
    demo,
    metadataObjects,
    ...data,
    tracker,
    milliseconds: Math.round(performance.now() - started),
  };
}

/**
 * The metadata stage, in one transaction: every demo object, the periods and the demo users'
 * credentials, so that the demo users can log in as soon as it commits (well under a second of
 * writing). `alsoInTransaction` adds the caller's own writes (the server queues the data stage's
 * job there, so the metadata never commits without the job that completes it). Throws
 * `DatabaseNotEmptyError` when the database was not empty inside the transaction.
 */
export async function seedDemoMetadata(
  context: DemoSeedContext,
  options: DemoOptions = FULL_DEMO_OPTIONS,
  run: {
    onProgress?: (progress: DemoSeedProgress) => void;
    alsoInTransaction?: (tx: Transaction) => Promise<void>;
  } = {},
): Promise<{ demo: DemoDatabase; metadataObjects: number }> {
  const demo = generateDemoDatabase(options);
  // scrypt is slow on purpose (about 0.4 s and 128 MiB a hash, two at a time). Every demo user has
  // the same, published password, so one hash serves them all: a salt of their own would hide
  // nothing that the password's being public does not already give away, and one hash instead of
  // four takes more than a second off the first start on a busy machine. A changed password gets
  // its own salt as usual. The hash is made on libuv's threads while this thread writes metadata.
  const passwordHash = hashPassword(DEMO_PASSWORD);
  // If the transaction fails first, its error is the one to report, not the hash's.
  passwordHash.catch(() => {});
  const metadataObjects = await context.storage.transaction(async (tx) => {
    // Two processes starting on one empty database (two `npm start`s, a server and `ferry demo`):
    // the second waits here, then finds the demo and leaves it alone.
    if (tx.kind === 'postgres') await tx.execute('SELECT pg_advisory_xact_lock(?)', [DEMO_SEED_LOCK]);
    if (!(await isDatabaseEmpty(tx))) throw new DatabaseNotEmptyError();
    run.onProgress?.({ stage: 'metadata', dataValues: 0 });
    const saved = await saveDemoMetadata(tx, context, demo);
    await periodIds(tx, demo.periods);
    const hash = await passwordHash;
    await tx.executeMany(
      'INSERT INTO user_credential (user_uid, password_hash, updated) VALUES (?, ?, ?)',
      demo.users.map((user) => [user.uid, hash, DEMO_TIMESTAMP]),
    );
    await run.alsoInTransaction?.(tx);
    return saved;
  });
  return { demo, metadataObjects };
}

/**
 * The data stage: the demo's aggregate data values and complete registrations, facility by facility
 * in transactions of FACILITIES_PER_TRANSACTION facilities, yielding to the event loop between
 * batches so that the server keeps answering while it runs. Rows that are already there are left
 * alone (`ON CONFLICT DO NOTHING`): a run interrupted after some transactions committed is completed
 * by running it again, and a value someone entered meanwhile is kept. Needs the metadata stage's
 * objects and periods.
 */
export async function seedDemoDataValues(
  context: DemoSeedContext,
  demo: DemoDatabase,
  run: DemoDataRun = {},
): Promise<DemoDataSummary> {
  const started = performance.now();
  const ids = await demoSurrogateIds(context, demo);
  // One pass without writing, so that progress has a total (about a second of CPU at full size).
  let totalDataValues = 0;
  for (const batch of demoDataRows(demo, ids)) {
    if (batch.table === 'data_value') totalDataValues += batch.rows.length;
    await setImmediate();
    run.signal?.throwIfAborted();
  }
  run.onProgress?.({ stage: 'data values', dataValues: 0, totalDataValues });
  const facilities = [...demo.facilities].sort(
    (a, b) => (ids.orgUnits.get(a.uid) ?? 0) - (ids.orgUnits.get(b.uid) ?? 0),
  );
  let dataValues = 0;
  let completeRegistrations = 0;
  let reported = 0;
  const perTransaction = run.facilitiesPerTransaction ?? FACILITIES_PER_TRANSACTION;
  for (let start = 0; start < facilities.length; start += perTransaction) {
    run.signal?.throwIfAborted();
    const chunk = { ...demo, facilities: facilities.slice(start, start + perTransaction) };
    const written = await context.storage.transaction(async (tx) => {
      let values = 0;
      let registrations = 0;
      for (const batch of demoDataRows(chunk, ids)) {
        if (batch.table === 'data_value') {
          await tx.executeMany(DATA_VALUE_INSERT, batch.rows);
          values += batch.rows.length;
        } else {
          await tx.executeMany(COMPLETE_REGISTRATION_INSERT, batch.rows);
          registrations += batch.rows.length;
        }
        if (dataValues + values - reported >= 100_000) {
          reported = dataValues + values;
          run.onProgress?.({ stage: 'data values', dataValues: reported, totalDataValues });
        }
        // node:sqlite is synchronous: without a turn of the event loop between batches, no request
        // would be answered until the whole transaction ended.
        await setImmediate();
        run.signal?.throwIfAborted();
      }
      await run.beforeCommit?.(tx);
      return { values, registrations };
    });
    dataValues += written.values;
    completeRegistrations += written.registrations;
  }
  run.onProgress?.({ stage: 'data values', dataValues, totalDataValues });
  return { dataValues, completeRegistrations, milliseconds: Math.round(performance.now() - started) };
}

/** Surrogate ids of the demo's facilities, periods, data elements, option combos and data sets. */
async function demoSurrogateIds(context: DemoSeedContext, demo: DemoDatabase): Promise<DemoSurrogateIds> {
  const metadata = context.metadata;
  return {
    orgUnits: await metadata.sids(
      'organisationUnits',
      demo.facilities.map((f) => f.uid),
    ),
    periods: await periodIds(context.storage, demo.periods),
    dataElements: await metadata.sids(
      'dataElements',
      demo.dataSets.flatMap((ds) => ds.elements.map((e) => e.uid)),
    ),
    categoryOptionCombos: await metadata.sids(
      'categoryOptionCombos',
      (demo.metadata.get('categoryOptionCombos') ?? []).map((o) => o.id),
    ),
    dataSets: await metadata.sids(
      'dataSets',
      demo.dataSets.map((ds) => ds.uid),
    ),
  };
}

/**
 * Whether the demo's data stage has finished: the transactions run in facility order, so the last
 * facility (by surrogate id) has data values only once every transaction before it committed.
 */
export async function hasDemoDataValues(context: DemoSeedContext, options: DemoOptions): Promise<boolean> {
  const demo = generateDemoDatabase(options);
  const sids = [
    ...(
      await context.metadata.sids(
        'organisationUnits',
        demo.facilities.map((f) => f.uid),
      )
    ).values(),
  ];
  if (sids.length === 0) return false;
  const row = await context.storage.queryOne(
    'SELECT 1 AS present FROM data_value WHERE org_unit_id = ? LIMIT 1',
    [Math.max(...sids)],
  );
  return row !== undefined;
}

/** Saves every demo object through the metadata store, collections in the registry's import order. */
async function saveDemoMetadata(
  tx: Transaction,
  context: DemoSeedContext,
  demo: DemoDatabase,
): Promise<number> {
  const metadata = context.metadata.withExecutor(tx);
  const order = [...context.registry.importOrder()];
  for (const collection of demo.metadata.keys()) if (!order.includes(collection)) order.push(collection);
  let saved = 0;
  for (const collection of order) {
    const objects = demo.metadata.get(collection);
    if (!objects || objects.length === 0) continue;
    await metadata.save(collection, objects, DEMO_TIMESTAMP);
    saved += objects.length;
  }
  return saved;
}

/** Period ids for the demo's periods, creating the rows that are missing. */
async function periodIds(tx: SqlExecutor, periods: readonly DemoPeriod[]): Promise<Map<string, number>> {
  const ids = await new PeriodStore(tx).idsFor(periods.map((p) => p.iso));
  const missing = periods.find((p) => !ids.has(p.iso));
  if (missing) throw new Error(`Demo period ${missing.iso} has no id`);
  return ids;
}

/**
 * Gives demo users the demo password (`district`) through the user service, which also ends their
 * sessions. The seed writes first credentials itself (hashed with the same function, while data is
 * written); this is for demo users that exist without one.
 */
export async function setDemoPasswords(
  userService: UserService,
  users: ReadonlyArray<{ username: string }>,
): Promise<void> {
  await Promise.all(users.map((user) => userService.setPassword(user.username, DEMO_PASSWORD)));
}

export type DemoPreparation =
  { outcome: 'seeded'; summary: DemoSeedSummary } | { outcome: 'present' } | { outcome: 'other-data' };

/**
 * What `ferry demo` does: seed an empty database, both stages before it returns; leave a database
 * that already holds the demo alone, only giving back demo users their password if they have none;
 * never touch other data. (`serve --demo` does the same with the data stage as a job: demo-jobs.ts.)
 */
export async function prepareDemoDatabase(
  context: DemoSeedContext,
  options: DemoOptions = FULL_DEMO_OPTIONS,
  onProgress?: (progress: DemoSeedProgress) => void,
): Promise<DemoPreparation> {
  if (await isDatabaseEmpty(context.storage)) {
    try {
      return { outcome: 'seeded', summary: await seedDemoDatabase(context, options, onProgress) };
    } catch (error) {
      // Another process seeded (or wrote) first; decide again from what is there now.
      if (!(error instanceof DatabaseNotEmptyError)) throw error;
    }
  }
  if (!(await hasDemoDatabase(context.metadata))) return { outcome: 'other-data' };
  await restoreMissingDemoPasswords(context, options);
  return { outcome: 'present' };
}

/** Gives demo users that exist without a credential (one removed by hand) the demo password again. */
export async function restoreMissingDemoPasswords(
  context: DemoSeedContext,
  options: DemoOptions,
): Promise<void> {
  const users = demoUsers(options);
  const rows = await context.storage.query<{ user_uid: string }>(
    `SELECT user_uid FROM user_credential WHERE user_uid IN (${users.map(() => '?').join(', ')})`,
    users.map((u) => u.uid),
  );
  const withCredential = new Set(rows.map((r) => r.user_uid));
  const existing = await context.metadata.sids(
    'users',
    users.map((u) => u.uid),
  );
  const missing = users.filter((u) => existing.has(u.uid) && !withCredential.has(u.uid));
  if (missing.length > 0) await setDemoPasswords(context.users, missing);
}

/**
 * Deletes every row of every Ferry table except the migration record, leaving an empty database
 * at the current schema version. Used by `ferry demo --reset`.
 */
export async function resetDatabase(storage: Storage): Promise<void> {
  await storage.transaction(async (tx) => {
    if (tx.kind === 'postgres') {
      const tables = await tx.query<{ table_name: string }>(
        `SELECT table_name FROM information_schema.tables
          WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migration'`,
      );
      if (tables.length > 0) {
        // RESTART IDENTITY: surrogate ids start again at 1, as in a fresh database.
        await tx.execute(
          `TRUNCATE ${tables.map((t) => `"${t.table_name}"`).join(', ')} RESTART IDENTITY CASCADE`,
        );
      }
      return;
    }
    const tables = await tx.query<{ name: string }>(
      `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migration'`,
    );
    // Tables are emptied in catalog order; foreign keys are checked once, at commit, when all are empty.
    await tx.execute('PRAGMA defer_foreign_keys = ON');
    for (const { name } of tables) await tx.execute(`DELETE FROM "${name}"`);
  });
}
