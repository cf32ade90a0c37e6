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
import { COMPLETE_REGISTRATION_INSERT, DATA_VALUE_INSERT, demoDataRows } from './demo-data-values.ts';
import type { DemoPeriod } from './demo-periods.ts';
import { PeriodStore } from '../../storage/period-store.ts';
import { hashPassword } from '../../domain/access/password-hash.ts';

/** What the seeder needs: a subset of FerryContext, so tests can pass their own. */
export interface DemoSeedContext {
  storage: Storage;
  metadata: MetadataStore;
  registry: SchemaRegistry;
  users: UserService;
}

export interface DemoSeedSummary {
  demo: DemoDatabase;
  metadataObjects: number;
  dataValues: number;
  completeRegistrations: number;
  milliseconds: number;
}

export interface DemoSeedProgress {
  stage: 'metadata' | 'data values';
  dataValues: number;
}

/** PostgreSQL advisory lock key held while seeding (migrations hold 4711). */
const DEMO_SEED_LOCK = 4712;

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
 * Writes the demo database: all metadata, all aggregate data and the demo users' credentials in one
 * transaction, so that an interrupted seed leaves an empty database (and the next start seeds
 * again), never half a demo. The caller checks that the database is empty first.
 */
export async function seedDemoDatabase(
  context: DemoSeedContext,
  options: DemoOptions = FULL_DEMO_OPTIONS,
  onProgress: (progress: DemoSeedProgress) => void = () => {},
): Promise<DemoSeedSummary> {
  const started = performance.now();
  const demo = generateDemoDatabase(options);
  // scrypt is slow on purpose (about 0.4 s and 128 MiB a hash). It runs on libuv's threads, so the
  // hashes are made while this thread writes data values, instead of after them.
  const passwordHashes = Promise.all(demo.users.map(() => hashPassword(DEMO_PASSWORD)));
  // If the transaction fails first, its error is the one to report, not a hash's.
  passwordHashes.catch(() => {});
  const counts = await context.storage.transaction(async (tx) => {
    // Two processes starting on one empty database (two `npm start`s, a server and `ferry demo`):
    // the second waits here, then finds the demo and leaves it alone.
    if (tx.kind === 'postgres') await tx.execute('SELECT pg_advisory_xact_lock(?)', [DEMO_SEED_LOCK]);
    if (!(await isDatabaseEmpty(tx))) throw new DatabaseNotEmptyError();
    onProgress({ stage: 'metadata', dataValues: 0 });
    const metadataObjects = await saveDemoMetadata(tx, context, demo);
    const periods = await periodIds(tx, demo.periods);
    const metadata = context.metadata.withExecutor(tx);
    const ids = {
      orgUnits: await metadata.sids(
        'organisationUnits',
        demo.facilities.map((f) => f.uid),
      ),
      periods,
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
    let dataValues = 0;
    let completeRegistrations = 0;
    let reported = 0;
    const rebuildIndexes = await dropSecondaryIndexes(tx, 'data_value');
    for (const batch of demoDataRows(demo, ids)) {
      if (batch.table === 'data_value') {
        await tx.executeMany(DATA_VALUE_INSERT, batch.rows);
        dataValues += batch.rows.length;
      } else {
        await tx.executeMany(COMPLETE_REGISTRATION_INSERT, batch.rows);
        completeRegistrations += batch.rows.length;
      }
      if (dataValues - reported >= 100_000) {
        reported = dataValues;
        onProgress({ stage: 'data values', dataValues });
      }
    }
    await rebuildIndexes();
    const hashes = await passwordHashes;
    await tx.executeMany(
      'INSERT INTO user_credential (user_uid, password_hash, updated) VALUES (?, ?, ?)',
      demo.users.map((user, i) => [user.uid, hashes[i], DEMO_TIMESTAMP]),
    );
    return { metadataObjects, dataValues, completeRegistrations };
  });
  return { demo, ...counts, milliseconds: Math.round(performance.now() - started) };
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

/**
 * Drops a table's secondary indexes and returns a function that recreates them from their stored
 * definitions. Building an index once over a million sorted rows is several times faster than
 * keeping it up to date row by row (perf.md: 1.57 s + 1.48 s against 7.27 s). Reading the
 * definitions from the catalog keeps the migration the one place they are written; inside the
 * seed's transaction, a failure rolls the drop back too.
 */
async function dropSecondaryIndexes(tx: Transaction, table: string): Promise<() => Promise<void>> {
  const indexes =
    tx.kind === 'postgres'
      ? (
          await tx.query<{ name: string; definition: string }>(
            `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
              WHERE schemaname = current_schema() AND tablename = ?
                AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = ?::regclass)`,
            [table, table],
          )
        ).map((row) => ({ name: row.name, definition: row.definition }))
      : await tx.query<{ name: string; definition: string }>(
          `SELECT name, sql AS definition FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
          [table],
        );
  for (const index of indexes) await tx.execute(`DROP INDEX "${index.name}"`);
  return async () => {
    for (const index of indexes) await tx.execute(index.definition);
  };
}

/** Period ids for the demo's periods, creating the rows that are missing. */
async function periodIds(tx: Transaction, periods: readonly DemoPeriod[]): Promise<Map<string, number>> {
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
 * What `serve --demo` and `ferry demo` do on start: seed an empty database; leave a database that
 * already holds the demo alone (a second start is instant), only giving back demo users their
 * password if an interrupted first start seeded them without one; never touch other data.
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

/** Demo users that exist but have no credential (the seed committed, the password step did not run). */
async function restoreMissingDemoPasswords(context: DemoSeedContext, options: DemoOptions): Promise<void> {
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
