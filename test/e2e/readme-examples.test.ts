import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { POSTGRES_SKIP_REASON, POSTGRES_TEST_URL } from '../support/test-databases.ts';
import {
  answers,
  freePort,
  killGroup,
  runToEnd,
  userEnvironment,
  type Finished,
} from '../support/user-shell.ts';

/**
 * The README's shell examples, run as written, so a newcomer's first commands always work.
 *
 * Every ```sh block of README.md is read; each line (with its `\` continuations) is one example,
 * run by bash in the checkout, in a user's environment (no node_modules/.bin on the PATH, no npm
 * variables: see userEnvironment), with FERRY_DATA_DIR set to a fresh demo data directory made for
 * this run. An example passes when it exits 0 and prints something on stdout. The conventions:
 *
 * - Long-running commands (`npm start`, `npm run serve`, `ferry serve`, `ferry worker`) are started
 *   in the background with PORT set to a free port. A server is ready when it answers HTTP on that
 *   port, a worker when it has printed its first line and is still running 2 s later; either must be
 *   ready within 90 s. It keeps running for the examples after it (`curl` talks to it) until the next
 *   long-running command or the end of its README section, then gets SIGTERM and must exit.
 * - `localhost:8080` in an example becomes the running server's `localhost:<port>`.
 * - `npm install && ` before a command is dropped: the test runs in the checkout it installed, and
 *   installing again would change node_modules under the other tests.
 * - `npm test` alone is not run: it is the run this test belongs to.
 * - An example with a `postgres://` URL runs when FERRY_TEST_POSTGRES_URL names a server (it skips
 *   otherwise, like every PostgreSQL test), on a database of its own created on that server in place
 *   of the README's.
 * - Files an example writes with `-o FILE` must not be files of the project (the README once wrote
 *   package.json over Ferry's own); they must exist and be non-empty after it, and are removed at
 *   the end.
 */
const REPO = resolve(import.meta.dirname, '../..');
const README = readFileSync(join(REPO, 'README.md'), 'utf8');
const BIN = join(REPO, 'bin/ferry.mjs');
/** The demo's size for this run: its UIDs are those of the full demo, in a fraction of the time. */
const DEMO_FACILITIES = '100';
const LONG_RUNNING = /\b(?:npm start|npm run serve|ferry serve|ferry worker)\b/;
const NOT_RUN = new Set(['npm test']);
const README_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/ferry';
const READY_LIMIT_MS = 90_000;

interface Example {
  /** The README heading it is under. */
  section: string;
  /** Its line in README.md, from 1. */
  line: number;
  command: string;
}

/** The README's shell examples in order, continuation lines joined. */
function readmeExamples(text: string): Example[] {
  const lines = text.split('\n');
  const examples: Example[] = [];
  let section = '';
  let inShell = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (!inShell && /^#{1,6} /.test(line)) section = line.replace(/^#+ /, '');
    if (/^```/.test(line)) {
      inShell = !inShell && /^```(?:sh|bash|shell)\s*$/.test(line);
      continue;
    }
    if (!inShell || line.trim() === '' || line.trim().startsWith('#')) continue;
    const start = i + 1;
    let command = line;
    while (command.endsWith('\\') && i + 1 < lines.length) command = command.slice(0, -1) + lines[++i].trim();
    examples.push({ section, line: start, command: command.trim() });
  }
  return examples;
}

/** The files an example writes: the argument of each -o / --output. */
function outputsOf(command: string): string[] {
  return [...command.matchAll(/(?:^|\s)(?:-o|--output)(?:\s+|=)([^\s;&|]+)/g)].map((m) => m[1]);
}

function gitTracked(path: string): boolean {
  const probe = spawnSync('git', ['ls-files', '--error-unmatch', path], { cwd: REPO, stdio: 'ignore' });
  // Without git (an unpacked tarball) fall back to "it exists": an example must not write over it.
  return probe.error ? existsSync(join(REPO, path)) : probe.status === 0;
}

function shown(run: Finished): string {
  return `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

interface Background {
  child: ChildProcess;
  port: number;
  command: string;
  output: () => string;
}

async function startLongRunning(command: string, env: NodeJS.ProcessEnv, port: number): Promise<Background> {
  const child = spawn('bash', ['-c', command], {
    cwd: REPO,
    env: { ...env, PORT: String(port) },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const background = { child, port, command, output: () => `--- stdout\n${stdout}\n--- stderr\n${stderr}` };
  const started = Date.now();
  const isWorker = /\bferry worker\b/.test(command);
  try {
    for (;;) {
      assert.equal(child.exitCode ?? child.signalCode, null, `'${command}' exited:\n${background.output()}`);
      assert.ok(
        Date.now() - started < READY_LIMIT_MS,
        `'${command}' was not ready within ${READY_LIMIT_MS} ms:\n${background.output()}`,
      );
      if (
        isWorker ? stdout.trim() !== '' : await answers(`http://127.0.0.1:${port}/api/system/info`, {}, true)
      )
        break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (isWorker) {
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal(child.exitCode ?? child.signalCode, null, `'${command}' stopped:\n${background.output()}`);
    }
  } catch (error) {
    await stopLongRunning(background);
    throw error;
  }
  return background;
}

/** SIGTERM to its process group (bash, npm or npx, node); it must be gone within 15 s. */
async function stopLongRunning(background: Background): Promise<void> {
  const { child } = background;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killGroup(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const stopped = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 15_000))),
  ]);
  clearTimeout(timer);
  if (!stopped) {
    killGroup(child, 'SIGKILL');
    await exited;
    assert.fail(`'${background.command}' did not stop within 15 s of SIGTERM:\n${background.output()}`);
  }
}

const examples = readmeExamples(README);

describe("the README's shell examples", () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-readme-'));
  const env = userEnvironment({ FERRY_DATA_DIR: dataDir, HOST: '127.0.0.1' });
  const written = new Set<string>();
  let background: Background | undefined;
  let postgresUrl: string | undefined;
  let postgresDatabase: string | undefined;

  before(async () => {
    const seed = await runToEnd(
      process.execPath,
      [BIN, 'demo', '--data-dir', dataDir, '--facilities', DEMO_FACILITIES],
      {
        cwd: REPO,
        env,
        timeoutMs: 300_000,
      },
    );
    assert.equal(seed.code, 0, `seeding the demo: ${shown(seed)}`);
    if (POSTGRES_TEST_URL && examples.some((e) => e.command.includes('postgres://'))) {
      postgresDatabase = `ferry_readme_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${postgresDatabase}`);
      await admin.end();
      const url = new URL(POSTGRES_TEST_URL);
      url.pathname = `/${postgresDatabase}`;
      postgresUrl = url.toString();
    }
  });

  after(async () => {
    if (background) await stopLongRunning(background).catch(() => undefined);
    for (const file of written) rmSync(join(REPO, file), { force: true });
    rmSync(dataDir, { recursive: true, force: true });
    if (postgresDatabase) {
      const admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${postgresDatabase} WITH (FORCE)`);
      await admin.end();
    }
  });

  it('has examples, and runs all of them but npm test', () => {
    assert.ok(examples.length >= 10, `only ${examples.length} examples found in README.md`);
    assert.ok(examples.some((e) => /^npx ferry /.test(e.command)));
    const notRun = examples.filter((e) => NOT_RUN.has(e.command)).map((e) => e.command);
    assert.deepEqual(notRun, ['npm test']);
  });

  it('writes no file of the project', () => {
    const clashes = examples.flatMap((e) => outputsOf(e.command)).filter(gitTracked);
    assert.deepEqual(clashes, [], 'an example writes over a file of the project');
  });

  let section = '';
  for (const example of examples) {
    if (NOT_RUN.has(example.command)) continue;
    const skip = example.command.includes('postgres://') ? POSTGRES_SKIP_REASON : false;
    const name = `README.md:${example.line} ${example.command}`;
    const newSection = example.section !== section;
    section = example.section;
    it(name, { skip, timeout: 180_000 }, async () => {
      if (newSection && background) {
        await stopLongRunning(background);
        background = undefined;
      }
      let command = example.command.replace(/^npm install && /, '');
      if (postgresUrl) command = command.replaceAll(README_DATABASE_URL, postgresUrl);
      if (LONG_RUNNING.test(command)) {
        if (background) await stopLongRunning(background);
        background = undefined;
        background = await startLongRunning(command, env, await freePort());
        return;
      }
      if (background) command = command.replaceAll('localhost:8080', `localhost:${background.port}`);
      const outputs = outputsOf(command);
      for (const file of outputs) written.add(file);
      const run = await runToEnd('bash', ['-c', command], { cwd: REPO, env, timeoutMs: 170_000 });
      assert.equal(run.code, 0, shown(run));
      assert.notEqual(run.stdout.trim(), '', `it printed nothing on stdout:\n${shown(run)}`);
      for (const file of outputs) {
        assert.ok(
          existsSync(join(REPO, file)) && statSync(join(REPO, file)).size > 0,
          `${file} was not written`,
        );
      }
    });
  }
});
