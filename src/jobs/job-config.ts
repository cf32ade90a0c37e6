import { join, resolve } from 'node:path';

/** Job and file settings, from the environment (documented in docs/jobs.md). */
export interface JobConfig {
  /** Local worker slots per process (FERRY_JOB_WORKERS, default 2; 0 = this process only enqueues). */
  workers: number;
  /** Exports running at once across all nodes (FERRY_EXPORT_CONCURRENCY, default 1). */
  exportConcurrency: number;
  leaseMs: number;
  /** Finished jobs kept (FERRY_JOB_RETENTION_DAYS, default 30). */
  jobRetentionMs: number;
  /** Uploaded import bodies kept (FERRY_UPLOAD_RETENTION_DAYS, default 7). */
  uploadRetentionMs: number;
  /** Export files kept (FERRY_EXPORT_FILE_HOURS, default 24). */
  exportFileMs: number;
  /** Where files live (FERRY_FILES_DIR, default `<dataDir>/files`). */
  filesDir: string;
  /** Root under which exports may be written to a server directory (FERRY_EXPORT_DIRECTORY_ROOT; unset = off). */
  exportDirectoryRoot: string | undefined;
  pgBossSchema: string;
  sweepIntervalMs: number;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, not '${raw}'`);
  return value;
}

export function loadJobConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): JobConfig {
  return {
    workers: Math.floor(number(env, 'FERRY_JOB_WORKERS', 2)),
    exportConcurrency: Math.max(1, Math.floor(number(env, 'FERRY_EXPORT_CONCURRENCY', 1))),
    leaseMs: number(env, 'FERRY_JOB_LEASE_SECONDS', 30) * 1000,
    jobRetentionMs: number(env, 'FERRY_JOB_RETENTION_DAYS', 30) * 86_400_000,
    uploadRetentionMs: number(env, 'FERRY_UPLOAD_RETENTION_DAYS', 7) * 86_400_000,
    exportFileMs: number(env, 'FERRY_EXPORT_FILE_HOURS', 24) * 3_600_000,
    filesDir: resolve(env.FERRY_FILES_DIR || join(dataDir, 'files')),
    exportDirectoryRoot: env.FERRY_EXPORT_DIRECTORY_ROOT
      ? resolve(env.FERRY_EXPORT_DIRECTORY_ROOT)
      : undefined,
    pgBossSchema: env.FERRY_PGBOSS_SCHEMA || 'pgboss',
    sweepIntervalMs: number(env, 'FERRY_JOB_SWEEP_SECONDS', 3600) * 1000,
  };
}
