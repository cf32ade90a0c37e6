import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/**
 * What a user's shell gives a command, for the tests that run `npx ferry`, the installed `ferry` and
 * the README's examples: this process's environment without what npm and `node --test` add to it.
 * Under `npm test` the PATH starts with node_modules/.bin (whose `node` is the project's Node 24)
 * and NODE_OPTIONS, npm_* and NODE_TEST_CONTEXT are set; a newcomer's terminal has none of them,
 * so a command that only works with them must fail here.
 */
export function userEnvironment(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || USER_SHELL_DROPS.has(key)) continue;
    env[key] = value;
  }
  env.PATH = userPath();
  return { ...env, ...extra };
}

/**
 * Set by npm, node --test or this project; none belongs in a user's shell. DATABASE_URL and the
 * FERRY_* settings are left out so a test names its own database and data directory.
 */
const USER_SHELL_DROPS = new Set([
  'NODE_OPTIONS',
  'NODE_TEST_CONTEXT',
  'INIT_CWD',
  'DATABASE_URL',
  'FERRY_DATA_DIR',
  'FERRY_FILES_DIR',
  'FERRY_BIN_RERUN',
  'PORT',
  'HOST',
]);

/** The PATH without the node_modules/.bin (and npm's node-gyp-bin) entries npm puts first. */
export function userPath(): string {
  return (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => entry !== '' && !entry.split(/[\\/]/).includes('node_modules'))
    .join(delimiter);
}

/** The first executable called `name` on the user's PATH. */
export function onUserPath(name: string): string | undefined {
  for (const dir of userPath().split(delimiter)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** A Node.js older than 24 on the user's PATH (the system's Node on Debian 12 is 20), if there is one. */
export function olderNode(): { path: string; version: string } | undefined {
  const path = onUserPath('node');
  if (!path) return undefined;
  const probe = spawnSync(path, ['--version'], { encoding: 'utf8' });
  const version = probe.stdout?.trim() ?? '';
  const major = Number(/^v(\d+)\./.exec(version)?.[1]);
  return probe.status === 0 && major < 24 ? { path, version } : undefined;
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, collecting its output; killed (and failed) after `timeoutMs`. */
export function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${options.timeoutMs} ms]`;
      killGroup(child, 'SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Signals a child started with `detached: true` and everything it started (npm, npx, node). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/** A TCP port nothing listens on now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether GET `url` answers 200 (or, with `anyStatus`, answers at all) within a second. */
export async function answers(
  url: string,
  headers: Record<string, string> = {},
  anyStatus = false,
): Promise<boolean> {
  try {
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(1000) });
    await response.body?.cancel();
    return anyStatus || response.ok;
  } catch {
    return false;
  }
}
