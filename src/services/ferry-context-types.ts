import type { FerryConfig } from '../config.ts';
import type { Storage } from '../storage/storage.ts';
import type { SchemaRegistry } from '../domain/schema/schema-types.ts';
import type { MetadataStore } from '../storage/metadata-store.ts';
import type { PeriodStore } from '../storage/period-store.ts';
import type { UserService } from './access/user-service.ts';
import type { AuthService } from './access/auth-service.ts';
import type { MetadataQueryService } from './metadata/metadata-query-service.ts';
import type { OrgUnitScopeService } from './access/org-unit-scope-service.ts';
import type { JobService } from './jobs/job-service.ts';
import type { ExportQueueService } from './jobs/export-queue-service.ts';
import type { AuditService } from './audit/audit-service.ts';

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
  /** The audit log: imports, exports, sign-ins, denials, changes and internal errors. */
  readonly audit: AuditService;
  readonly version: string;
  close(): Promise<void>;
}
