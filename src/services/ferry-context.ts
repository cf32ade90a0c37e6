import type { FerryConfig } from '../config.ts';
import type { Storage } from '../storage/storage.ts';
import type { SchemaRegistry } from '../domain/schema/schema-types.ts';
import { openStorage } from '../storage/open-storage.ts';
import { MetadataStore } from '../storage/metadata-store.ts';
import { PeriodStore } from '../storage/period-store.ts';
import { schemaRegistry } from '../domain/schema/schema-registry.ts';
import { UserService } from './user-service.ts';
import { AuthService } from './auth-service.ts';
import { MetadataQueryService } from './metadata-query-service.ts';
import { OrgUnitScopeService } from './org-unit-scope-service.ts';
import { JobService } from './job-service.ts';
import { ExportQueueService } from './export-queue-service.ts';
import { registerFerryJobs } from './job-registrations.ts';

export const FERRY_VERSION = '0.1.0';

/**
 * Everything a use case needs, built once per process and passed down explicitly: the HTTP app,
 * the CLI and tests all start from here, so none of them opens its own database.
 */
export interface FerryContext {
  readonly config: FerryConfig;
  readonly storage: Storage;
  readonly registry: SchemaRegistry;
  readonly metadata: MetadataStore;
  /** Period ids, with the process-wide cache of committed ones; use `periods.withExecutor(tx)` in a transaction. */
  readonly periods: PeriodStore;
  readonly users: UserService;
  readonly auth: AuthService;
  readonly metadataQuery: MetadataQueryService;
  readonly orgUnitScope: OrgUnitScopeService;
  /** Durable jobs: submit, overview, DHIS2 task views; importers register handlers here. */
  readonly jobs: JobService;
  /** The export queue; exporters register producers here. */
  readonly exports: ExportQueueService;
  readonly version: string;
  close(): Promise<void>;
}

export async function createFerryContext(config: FerryConfig): Promise<FerryContext> {
  const storage = await openStorage({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  return createFerryContextFromStorage(config, storage);
}

export function createFerryContextFromStorage(config: FerryConfig, storage: Storage): FerryContext {
  const metadata = new MetadataStore(storage, schemaRegistry);
  // The user service tells the auth service when a user changes, so cached principals are dropped.
  const authHolder: { auth?: AuthService } = {};
  const users = new UserService(storage, metadata, {
    onUserChanged: (uid) => authHolder.auth?.forgetUser(uid),
  });
  const auth = (authHolder.auth = new AuthService(storage, metadata, users));
  const jobs = JobService.fromEnvironment(storage, config.dataDir, config.databaseUrl);
  const exports = new ExportQueueService(jobs);
  const context: FerryContext = {
    config,
    storage,
    registry: schemaRegistry,
    metadata,
    periods: new PeriodStore(storage),
    users,
    auth,
    metadataQuery: new MetadataQueryService(metadata, schemaRegistry),
    orgUnitScope: new OrgUnitScopeService(storage),
    version: FERRY_VERSION,
    jobs,
    exports,
    close: async () => {
      await jobs.stop();
      await storage.close();
    },
  };
  // Every import handler and export producer, so servers, `ferry worker` and tests run the same jobs.
  registerFerryJobs(context);
  return context;
}
