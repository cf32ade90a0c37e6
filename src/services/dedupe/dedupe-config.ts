/** De-duplication settings, from the environment (docs/formats/dedupe-pools.md). */
export interface DedupeConfig {
  /** How long a pool export's download is kept (FERRY_DEDUPE_EXPORT_FILE_HOURS, default 1, as Patchworks). */
  exportFileMs: number;
  /** Largest pool CSV file accepted (FERRY_DEDUPE_IMPORT_MAX_BYTES, default 500 MB; Patchworks: 5 MB). */
  importMaxBytes: number;
}

export const DEFAULT_DEDUPE_IMPORT_MAX_BYTES = 500 * 1024 * 1024;

function number(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${name} must be a positive number, not '${raw}'`);
  return value;
}

export function loadDedupeConfig(env: NodeJS.ProcessEnv = process.env): DedupeConfig {
  return {
    exportFileMs: number(env, 'FERRY_DEDUPE_EXPORT_FILE_HOURS', 1) * 3_600_000,
    importMaxBytes: Math.floor(number(env, 'FERRY_DEDUPE_IMPORT_MAX_BYTES', DEFAULT_DEDUPE_IMPORT_MAX_BYTES)),
  };
}
