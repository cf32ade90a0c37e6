import { resolve } from 'node:path';
import { HTTP_TIMEOUTS, type HttpTimeouts } from './codecs/input/input-limits.ts';

export interface FerryConfig {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  adminPassword?: string;
  /** Largest accepted request body, bytes. Imports of millions of values need large bodies. */
  bodyLimit: number;
  /** Slow-client limits; each one missing takes its default from `HTTP_TIMEOUTS`. */
  httpTimeouts?: Partial<HttpTimeouts>;
  /** Origins (`https://host[:port]`) whose pages may call Ferry from the browser (CORS); none by default. */
  corsAllowlist?: string[];
  /** HTTPS: PEM certificate (chain) and key files (FERRY_TLS_CERT, FERRY_TLS_KEY); plain HTTP when unset. */
  tls?: { certFile: string; keyFile: string };
}

export const DEFAULT_PORT = 8080;
/** Where `ferry serve` listens unless HOST or --host says otherwise: every interface. */
export const DEFAULT_HOST = '0.0.0.0';
/**
 * Where `ferry serve --demo` (npm start) listens unless HOST or --host says otherwise: the demo's
 * users have DHIS2's published password (`district`), so only this machine may reach it.
 */
export const DEMO_HOST = '127.0.0.1';
/** 2 GiB: a national data value file is a few hundred MiB; the body streams to disk, never to memory. */
export const DEFAULT_BODY_LIMIT = 2 * 1024 * 1024 * 1024;

/**
 * Configuration from the environment, overridden by CLI flags where given; `defaults.host` is the
 * address to bind when neither HOST nor --host is set.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  flags: Partial<Record<'port' | 'host' | 'dataDir' | 'databaseUrl', string>> = {},
  defaults: { host?: string } = {},
): FerryConfig {
  const port = Number(flags.port ?? env.PORT ?? DEFAULT_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`Invalid port '${flags.port ?? env.PORT}'`);
  return {
    port,
    host: flags.host ?? env.HOST ?? defaults.host ?? DEFAULT_HOST,
    dataDir: resolve(flags.dataDir ?? env.FERRY_DATA_DIR ?? './data'),
    databaseUrl: flags.databaseUrl ?? (env.DATABASE_URL || undefined),
    adminPassword: env.FERRY_ADMIN_PASSWORD || undefined,
    bodyLimit: Number(env.FERRY_BODY_LIMIT ?? DEFAULT_BODY_LIMIT),
    httpTimeouts: httpTimeoutsFrom(env),
    corsAllowlist: corsAllowlistFrom(env.FERRY_CORS_ALLOWLIST),
    ...tlsFrom(env),
  };
}

/** FERRY_TLS_CERT and FERRY_TLS_KEY: both (Ferry serves HTTPS) or neither (HTTP, or a TLS proxy in front). */
function tlsFrom(env: NodeJS.ProcessEnv): Pick<FerryConfig, 'tls'> {
  const certFile = env.FERRY_TLS_CERT || undefined;
  const keyFile = env.FERRY_TLS_KEY || undefined;
  if (!certFile && !keyFile) return {};
  if (!certFile || !keyFile)
    throw new Error('Set both FERRY_TLS_CERT and FERRY_TLS_KEY (PEM files) to serve HTTPS');
  return { tls: { certFile: resolve(certFile), keyFile: resolve(keyFile) } };
}

/**
 * FERRY_CORS_ALLOWLIST: origins separated by commas or spaces (DHIS2's CORS whitelist setting).
 * Each must be an origin exactly (scheme, host, optional port; no path or `*`), as browsers send it.
 */
export function corsAllowlistFrom(raw: string | undefined): string[] {
  const origins: string[] = [];
  for (const item of (raw ?? '').split(/[\s,]+/)) {
    if (item === '') continue;
    let origin: string | undefined;
    try {
      const url = new URL(item);
      if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === item.replace(/\/$/, ''))
        origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (!origin)
      throw new Error(`Invalid FERRY_CORS_ALLOWLIST entry '${item}': an origin such as https://example.org`);
    origins.push(origin);
  }
  return origins;
}

/** Environment variables that override `HTTP_TIMEOUTS`, one per field (see docs/security.md). */
const HTTP_TIMEOUT_VARIABLES: Record<keyof HttpTimeouts, string> = {
  headersTimeoutMs: 'FERRY_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'FERRY_REQUEST_TIMEOUT_MS',
  minBodyBytesPerSecond: 'FERRY_MIN_BODY_BYTES_PER_SECOND',
  bodyRateWindowMs: 'FERRY_BODY_RATE_WINDOW_MS',
};

function httpTimeoutsFrom(env: NodeJS.ProcessEnv): Partial<HttpTimeouts> {
  const timeouts: Partial<HttpTimeouts> = {};
  for (const key of Object.keys(HTTP_TIMEOUTS) as (keyof HttpTimeouts)[]) {
    const raw = env[HTTP_TIMEOUT_VARIABLES[key]];
    if (raw === undefined || raw === '') continue;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`Invalid ${HTTP_TIMEOUT_VARIABLES[key]} '${raw}': a whole number from 0`);
    timeouts[key] = value;
  }
  return timeouts;
}
