import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join, resolve } from 'node:path';
import { createSqliteStorage } from '../../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { MetadataStore } from '../../src/storage/metadata-store.ts';
import { schemaRegistry } from '../../src/domain/schema/schema-registry.ts';

/**
 * The two-command start, as a new user runs it on a busy machine: `npm start` on an empty data
 * directory, with a CPU-bound process running beside it the whole time, must answer
 * `GET /api/system/ping` within 10 seconds, let admin / district log in and read the demo's metadata
 * at once, show the seed job's progress, and finish the demo's data values within the time the
 * README states; a second start answers as fast and seeds nothing.
 */
const REPO = resolve(import.meta.dirname, '../..');
/** The acceptance limit for the first answer, start to ping, while another process uses a core. */
const PING_LIMIT_MS = 10_000;
/** The README's "the demo's data follows within two minutes" (about 20-40 s measured under load). */
const DEMO_COMPLETE_LIMIT_MS = 120_000;
/** The demo's administrator. */
const ADMIN = { authorization: `Basic ${Buffer.from('admin:district').toString('base64')}` };

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** An address of this machine other than loopback, to show the demo does not listen there. */
function externalAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address;
    }
  }
  return undefined;
}

interface Started {
  child: ChildProcess;
  output: () => string;
  startedAt: number;
  readyAfterMs: number;
}

async function npmStart(port: number, dataDir: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), FERRY_DATA_DIR: dataDir };
  // The demo's own default bind address is under test: no HOST from the environment.
  delete env.HOST;
  delete env.DATABASE_URL;
  const startedAt = Date.now();
  // Its own process group, so SIGTERM reaches npm and the server it runs.
  const child = spawn('npm', ['start'], {
    cwd: REPO,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));
  for (;;) {
    const elapsed = Date.now() - startedAt;
    if (exited) throw new Error(`npm start exited before answering:\n${output}`);
    if (elapsed > PING_LIMIT_MS) {
      await stop(child);
      throw new Error(`npm start did not answer /api/system/ping within ${PING_LIMIT_MS} ms:\n${output}`);
    }
    try {
      // Unauthenticated, as a monitor would ask.
      const response = await fetch(`http://127.0.0.1:${port}/api/system/ping`, {
        signal: AbortSignal.timeout(1000),
      });
      if (response.ok) {
        return { child, output: () => output, startedAt, readyAfterMs: Date.now() - startedAt };
      }
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  process.kill(-child.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}

interface TaskNotification {
  level: string;
  message: string;
  completed: boolean;
}

describe('npm start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-start-'));
  const children: ChildProcess[] = [];
  let busy: ChildProcess | undefined;
  before(() => {
    // A second CPU-heavy process for the whole test, as a second `npm test` would be: a busy loop.
    busy = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
  });
  after(async () => {
    busy?.kill('SIGKILL');
    for (const child of children) await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'answers within 10 s on a busy machine, seeds the demo in the background, then starts again without seeding',
    { timeout: 240_000 },
    async () => {
      const port = await freePort();
      const first = await npmStart(port, dataDir);
      children.push(first.child);
      assert.ok(first.readyAfterMs < PING_LIMIT_MS);

      // The metadata and users were written before the server listened: logging in and reading
      // them works at once, while the data values are still being written.
      const infoResponse = await fetch(`http://127.0.0.1:${port}/api/system/info`, { headers: ADMIN });
      assert.equal(infoResponse.status, 200);
      const info = (await infoResponse.json()) as Record<string, unknown>;
      assert.equal(info.databaseKind, 'sqlite');
      // The acceptance check: curl -u admin:district localhost:8080/api/dataElements?fields=id,name
      const response = await fetch(`http://127.0.0.1:${port}/api/dataElements?fields=id,name&paging=false`, {
        headers: ADMIN,
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { dataElements: Array<{ id: string; name: string }> };
      assert.ok(body.dataElements.length >= 55, `${body.dataElements.length} data elements`);
      assert.ok(body.dataElements.some((de) => de.name === 'ANC 1st visit'));

      // The seed job's progress, as DHIS2's task API and the web app's job overview show it.
      let sawProgress = false;
      let completed: TaskNotification | undefined;
      let completeAfterMs = 0;
      while (!completed) {
        const elapsed = Date.now() - first.startedAt;
        if (elapsed > DEMO_COMPLETE_LIMIT_MS) {
          assert.fail(
            `the demo was not complete ${DEMO_COMPLETE_LIMIT_MS} ms after the start:\n${first.output()}`,
          );
        }
        const tasks = await fetch(`http://127.0.0.1:${port}/api/system/tasks/DEMO_SEED`, { headers: ADMIN });
        assert.equal(tasks.status, 200);
        const jobs = Object.values((await tasks.json()) as Record<string, TaskNotification[]>);
        assert.equal(jobs.length, 1, 'one seed job');
        const notes = jobs[0];
        if (
          notes.some(
            (n) =>
              n.level === 'LOOP' && /^Writing demo data values: [\d,]+ of 1,2\d\d,\d\d\d/.test(n.message),
          )
        )
          sawProgress = true;
        completed = notes.find((n) => n.completed);
        completeAfterMs = Date.now() - first.startedAt;
        if (!completed) await sleep(250);
      }
      assert.match(
        completed.message,
        /^Demo data complete: 1,2\d\d,\d\d\d data values, .* and 2\d\d,\d\d\d events/,
      );
      assert.ok(sawProgress, 'the job showed its progress while it ran');
      // The console says so too; the watcher polls once a second.
      for (let i = 0; i < 50 && !/The demo database is complete/.test(first.output()); i++) await sleep(100);
      const output = first.output();
      assert.match(output, new RegExp(`http://127\\.0\\.0\\.1:${port}`));
      assert.match(output, /listening on 127\.0\.0\.1 only/);
      assert.match(output, /admin \/ district/);
      assert.match(output, /Demo data: [\d,]+ of 1,2\d\d,\d\d\d data values written/);
      assert.match(output, /Demo data complete: .* The demo database is complete\./);
      // The ping came before the data was complete, not after it.
      assert.ok(first.readyAfterMs < completeAfterMs);

      // Not reachable from other machines: nothing listens on this machine's other address.
      const external = externalAddress();
      if (external) {
        await assert.rejects(
          fetch(`http://${external}:${port}/api/system/ping`, { signal: AbortSignal.timeout(2000) }),
        );
      }
      await stop(first.child);
      console.log(
        `npm start under load: ping after ${first.readyAfterMs} ms, demo complete after ${completeAfterMs} ms`,
      );

      // Count straight from the file the server wrote.
      const storage = await createSqliteStorage(join(dataDir, 'ferry.db'));
      try {
        const row = await storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
        assert.ok(Number(row?.n) >= 1_000_000, `${row?.n} data values`);
        const events = await storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM event');
        assert.ok(Number(events?.n) >= 200_000, `${events?.n} events`);
        const entities = await storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM tracked_entity');
        assert.ok(Number(entities?.n) >= 20_000, `${entities?.n} tracked entities`);
      } finally {
        await storage.close();
      }

      const second = await npmStart(port, dataDir);
      children.push(second.child);
      assert.ok(second.readyAfterMs < PING_LIMIT_MS, `second start took ${second.readyAfterMs} ms`);
      // Give the start a moment to say everything it would say about the demo.
      await sleep(1500);
      assert.doesNotMatch(second.output(), /First start|background|Demo data/);
      assert.match(second.output(), /admin \/ district/);
      const tasks = await fetch(`http://127.0.0.1:${port}/api/system/tasks/DEMO_SEED`, { headers: ADMIN });
      assert.equal(Object.keys((await tasks.json()) as object).length, 1, 'still the one seed job');
      await stop(second.child);
    },
  );
});

describe('ferry demo', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-demo-cli-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  function ferry(...args: string[]): { status: number | null; output: string } {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    delete env.FERRY_DATA_DIR;
    const result = spawnSync(process.execPath, [join(REPO, 'src/cli/main.ts'), ...args], {
      cwd: REPO,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('creates the demo, leaves it alone on a second run and recreates it with --reset', () => {
    const small = ['--data-dir', join(dataDir, 'demo'), '--facilities', '5'];
    const created = ferry('demo', ...small);
    assert.equal(created.status, 0, created.output);
    assert.match(created.output, /Created the demo database/);
    // Five facilities: the tracker data scaled down with them (the full demo has 235,572 events).
    const events = /([\d,]+) events in/.exec(created.output);
    assert.ok(events && Number(events[1].replace(/,/g, '')) > 100, created.output);
    assert.ok(Number(events[1].replace(/,/g, '')) < 5_000, created.output);
    assert.match(created.output, /admin \/ district/);

    const again = ferry('demo', ...small);
    assert.equal(again.status, 0, again.output);
    assert.match(again.output, /already holds the demo database/);

    const reset = ferry('demo', ...small, '--reset');
    assert.equal(reset.status, 0, reset.output);
    assert.match(reset.output, /Deleting all data/);
    assert.match(reset.output, /Created the demo database/);
  });

  it('refuses to seed a database that holds other data, and changes nothing', async () => {
    const dir = join(dataDir, 'other');
    const storage = await createSqliteStorage(join(dir, 'ferry.db'));
    await storage.migrate();
    const metadata = new MetadataStore(storage, schemaRegistry);
    await storage.transaction((tx) =>
      metadata.withExecutor(tx).save('optionSets', [{ id: 'aaaaaaaaaaa', name: 'Mine', valueType: 'TEXT' }]),
    );
    await storage.close();

    const refused = ferry('demo', '--data-dir', dir, '--facilities', '5');
    assert.equal(refused.status, 1, refused.output);
    assert.match(refused.output, /not the demo; nothing was changed/);

    const reopened = await createSqliteStorage(join(dir, 'ferry.db'));
    try {
      assert.equal(await new MetadataStore(reopened, schemaRegistry).count('organisationUnits'), 0);
    } finally {
      await reopened.close();
    }
  });

  it('rejects a bad --facilities with a usage error', () => {
    const bad = ferry('demo', '--data-dir', join(dataDir, 'bad'), '--facilities', 'many');
    assert.equal(bad.status, 2);
    assert.match(bad.output, /--facilities must be a whole number/);
  });
});
