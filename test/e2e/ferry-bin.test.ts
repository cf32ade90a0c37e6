import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import {
  answers,
  freePort,
  killGroup,
  olderNode,
  onUserPath,
  runToEnd,
  userEnvironment,
  type Finished,
} from '../support/user-shell.ts';

/**
 * The `ferry` command as users get it: bin/ferry.mjs run as a subprocess (never src/cli/main.ts), by
 * the project's Node 24, by the system's older Node (which must hand over to the project's Node 24),
 * through `npx ferry` in the checkout, and installed with `npm install -g` and run from elsewhere.
 * Every run is from a directory outside the checkout unless it is npx's, in a user's environment
 * (no node_modules/.bin on the PATH, no npm variables).
 */
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/ferry.mjs');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const USAGE = /^Usage: ferry <command> \[options\]$/m;
const OLD_NODE = olderNode();
const OLD_NODE_SKIP = OLD_NODE
  ? false
  : 'no Node.js older than 24 on the PATH (Debian 12 has Node 20: apt-get install nodejs)';
const NPM = onUserPath('npm');
const NPX = onUserPath('npx');
const NPM_SKIP = NPM && NPX ? false : 'npm and npx are not on the PATH';

function failure(run: Finished): string {
  return `exit ${run.code ?? run.signal}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
}

describe('the ferry bin', () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'ferry-bin-cwd-'));
  after(() => rmSync(elsewhere, { recursive: true, force: true }));

  it('prints its help and version on Node 24, from any directory', async () => {
    const help = await runToEnd(process.execPath, [BIN, '--help'], {
      cwd: elsewhere,
      env: userEnvironment(),
    });
    assert.equal(help.code, 0, failure(help));
    assert.match(help.stdout, USAGE);
    assert.match(help.stdout, /ferry export data /);
    const version = await runToEnd(process.execPath, [BIN, '--version'], {
      cwd: elsewhere,
      env: userEnvironment(),
    });
    assert.equal(version.stdout.trim(), VERSION, failure(version));
  });

  it("passes the command's exit status on: 2 for an unknown command", async () => {
    const run = await runToEnd(process.execPath, [BIN, 'no-such-command'], {
      cwd: elsewhere,
      env: userEnvironment(),
    });
    assert.equal(run.code, 2, failure(run));
    assert.match(run.stderr, /Unknown command 'no-such-command'/);
  });

  it('on an older Node, runs itself again on the project Node 24', { skip: OLD_NODE_SKIP }, async () => {
    const old = OLD_NODE!;
    const version = await runToEnd(old.path, [BIN, '--version'], { cwd: elsewhere, env: userEnvironment() });
    assert.equal(version.code, 0, `${old.version}: ${failure(version)}`);
    assert.equal(version.stdout.trim(), VERSION);
    const unknown = await runToEnd(old.path, [BIN, 'no-such-command'], {
      cwd: elsewhere,
      env: userEnvironment(),
    });
    assert.equal(unknown.code, 2, failure(unknown));
  });

  it(
    'on an older Node without the project Node, says that Node 24 is needed',
    { skip: OLD_NODE_SKIP },
    async () => {
      // A copy of the bin with no node_modules near it: nothing to hand over to.
      const lonely = join(elsewhere, 'lonely/bin');
      mkdirSync(lonely, { recursive: true });
      copyFileSync(BIN, join(lonely, 'ferry.mjs'));
      const run = await runToEnd(OLD_NODE!.path, [join(lonely, 'ferry.mjs'), '--help'], {
        cwd: elsewhere,
        env: userEnvironment(),
      });
      assert.equal(run.code, 1, failure(run));
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /ferry needs Node\.js 24; this is v\d+/);
      assert.match(run.stderr, /npm install/);
    },
  );

  it(
    'on an older Node, SIGTERM to the bin stops the server it runs on Node 24',
    { skip: OLD_NODE_SKIP, timeout: 90_000 },
    async () => {
      const port = await freePort();
      const dataDir = join(elsewhere, 'data-serve');
      const child = spawn(
        OLD_NODE!.path,
        [BIN, 'serve', '--port', String(port), '--host', '127.0.0.1', '--data-dir', dataDir],
        {
          cwd: elsewhere,
          env: userEnvironment({ FERRY_ADMIN_PASSWORD: 'a long test secret' }),
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        },
      );
      let output = '';
      child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      try {
        const url = `http://127.0.0.1:${port}/api/system/info`;
        const auth = { authorization: `Basic ${Buffer.from('admin:a long test secret').toString('base64')}` };
        const deadline = Date.now() + 60_000;
        while (!(await answers(url, auth))) {
          assert.ok(child.exitCode === null, `ferry serve exited:\n${output}`);
          assert.ok(Date.now() < deadline, `ferry serve did not answer within 60 s:\n${output}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        // To the bin's own process only, as a supervisor sends it; the Node 24 child must stop too.
        process.kill(child.pid!, 'SIGTERM');
        const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
        assert.equal(code, 0, `the bin ended with ${String(code)}:\n${output}`);
        assert.equal(await answers(url, auth), false, 'the server still answers after the bin stopped');
      } finally {
        killGroup(child, 'SIGKILL');
      }
    },
  );
});

describe('npx ferry and a global install', { skip: NPM_SKIP }, () => {
  const prefix = mkdtempSync(join(tmpdir(), 'ferry-global-'));
  const elsewhere = mkdtempSync(join(tmpdir(), 'ferry-global-cwd-'));
  after(() => {
    rmSync(prefix, { recursive: true, force: true });
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('npx ferry --help in the checkout prints the help', { timeout: 120_000 }, async () => {
    const run = await runToEnd(NPX!, ['ferry', '--help'], { cwd: REPO, env: userEnvironment() });
    assert.equal(run.code, 0, failure(run));
    assert.match(run.stdout, USAGE);
  });

  describe('npm install -g <checkout>', () => {
    before(async () => {
      // --prefix keeps the install in a temporary directory instead of the machine's global one.
      const install = await runToEnd(NPM!, ['install', '--global', '--prefix', prefix, REPO], {
        cwd: elsewhere,
        env: userEnvironment(),
        timeoutMs: 180_000,
      });
      assert.equal(install.code, 0, failure(install));
    });

    it('puts ferry on the PATH, which runs from another directory', { timeout: 60_000 }, async () => {
      const env = userEnvironment();
      env.PATH = [join(prefix, 'bin'), env.PATH].join(delimiter);
      const help = await runToEnd('ferry', ['--help'], { cwd: elsewhere, env });
      assert.equal(help.code, 0, failure(help));
      assert.match(help.stdout, USAGE);
      const version = await runToEnd(join(prefix, 'bin/ferry'), ['--version'], { cwd: elsewhere, env });
      assert.equal(version.stdout.trim(), VERSION, failure(version));
    });
  });
});
