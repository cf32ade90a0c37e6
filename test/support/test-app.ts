import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/build-app.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { contextFor } from './access-fixtures.ts';
import { createTestDatabase, type TestDatabase } from './test-databases.ts';

/** A database, a context over it and the HTTP app, for tests over HTTP (`app.inject`). */
export interface TestApp {
  db: TestDatabase;
  context: FerryContext;
  app: FastifyInstance;
}

type Step = (context: FerryContext, db: TestDatabase) => Promise<unknown>;

export interface TestAppSteps {
  /**
   * Runs before the administrator is created, who is then given the root org units it stored (an
   * administrator created on an empty database has none).
   */
  seed?: Step;
  /** Runs after the administrator is created, before the app is built. */
  setup?: Step;
}

/**
 * A fresh database of `kind` with the administrator every HTTP test signs in as (admin / district,
 * `ADMIN_AUTH`), the test's own `seed` and `setup`, and the app over it; the jobs are not started.
 */
export async function startTestApp(
  kind: TestDatabase['kind'],
  { seed, setup }: TestAppSteps = {},
): Promise<TestApp> {
  const db = await createTestDatabase(kind);
  const context = contextFor(db.storage, db.dataDir);
  try {
    await seed?.(context, db);
    await context.users.ensureAdmin({ password: 'district' });
    await setup?.(context, db);
    return { db, context, app: await buildApp(context) };
  } catch (error) {
    // The caller gets no TestApp to stop: drop the database here.
    await context.jobs.stop();
    await db.dispose();
    throw error;
  }
}

/**
 * Closes the app, stops the jobs and drops the database. Given the fields a test copied out of
 * `startTestApp`, all undefined if it failed (and cleaned up after itself): nothing to do then.
 */
export async function stopTestApp(started: Partial<TestApp> | undefined): Promise<void> {
  await started?.app?.close();
  await started?.context?.jobs.stop();
  await started?.db?.dispose();
}
