import type { FerryConfig } from '../config.ts';
import type { Storage } from '../storage/storage.ts';
import { openStorage } from '../storage/open-storage.ts';
import { MetadataStore } from '../storage/metadata-store.ts';
import { PeriodStore } from '../storage/period-store.ts';
import { schemaRegistry } from '../domain/schema/schema-registry.ts';
import { UserService } from './access/user-service.ts';
import { AuthService } from './access/auth-service.ts';
import { MetadataQueryService } from './metadata/metadata-query-service.ts';
import { OrgUnitScopeService } from './access/org-unit-scope-service.ts';
import { JobService } from './jobs/job-service.ts';
import { ExportQueueService } from './jobs/export-queue-service.ts';
import { ExportNoticeService } from './jobs/export-notice-service.ts';
import { createSmtpMailer, loadMailConfig, publicBaseUrl } from './jobs/smtp-mailer.ts';
import { FERRY_VERSION, type FerryContext } from './ferry-context-types.ts';
import { registerCapabilityJobs } from './capability-jobs.ts';
import { AuditService } from './audit/audit-service.ts';

export { FERRY_VERSION, type FerryContext } from './ferry-context-types.ts';

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
  // The notice when a queued export is ready: in the web app always, by email with FERRY_SMTP_HOST.
  const mail = loadMailConfig();
  const mailer = mail ? createSmtpMailer(mail) : undefined;
  const notices = new ExportNoticeService({
    storage,
    ...(mailer ? { mailer } : {}),
    baseUrl: publicBaseUrl(process.env, config.port),
    emailOf: async (uid) => {
      const email = (await metadata.get('users', uid))?.email;
      return typeof email === 'string' && email.includes('@') ? email : undefined;
    },
  });
  const exports = new ExportQueueService(jobs, { notices });
  const audit = new AuditService(storage);
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
    audit,
    close: async () => {
      await jobs.stop();
      mailer?.close();
      await audit.flush();
      await storage.close();
    },
  };
  // Every capability's import handlers and export producers, so servers, `ferry worker` and tests
  // run the same jobs.
  registerCapabilityJobs(context);
  // After every capability registered: each job's outcome lands on its audit row.
  audit.wrapJobHandlers(jobs.registry);
  return context;
}
