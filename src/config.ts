import { resolve } from 'node:path';

export interface FerryConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  adminPassword?: string;
  /** Largest accepted request body, bytes. Imports of millions of values need large bodies. */
  bodyLimit: number;
}

export const DEFAULT_PORT = 8080;
/** 2 GiB: a national data value file is a few hundred MiB; the body streams to disk, never to memory. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024 * 1024;

/** Configuration from the environment, overridden by CLI flags where given. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  flags: Partial<Record<'port' | 'host' | 'dataDir' | 'databaseUrl', string>> = {},
): FerryConfig {
  const port = Number(flags.port ?? env.PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`Invalid port '${flags.port ?? env.PORT}'`);
  return {
    port,
    host: flags.host ?? env.HOST ?? '0.0.0.0',
    dataDir: resolve(flags.dataDir ?? env.FERRY_DATA_DIR ?? './data'),
    databaseUrl: flags.databaseUrl ?? (env.DATABASE_URL || undefined),
    adminPassword: env.FERRY_ADMIN_PASSWORD || undefined,
    bodyLimit: Number(env.FERRY_BODY_LIMIT ?? DEFAULT_BODY_LIMIT),
  };
}
