import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../../src/config.ts';
import { createFerryContext } from '../../src/services/ferry-context.ts';
import { loadGeneratedMetadata, writeGeneratedCsv } from '../support/generated-data-values.ts';
import { POSTGRES_SKIP_REASON, POSTGRES_TEST_URL } from '../support/test-databases.ts';

/**
 * A dropped PostgreSQL connection must not kill the server: `ferry serve` on a database of this
 * test's own runs a large atomic async data value import, and the test terminates (1) the backend
 * writing the values, then (2) every backend of the database, as a PostgreSQL restart would. The
 * process stays up and answers, the job ends COMPLETED (retried) or FAILED with a reason, never
 * stuck RUNNING, and the data is all or nothing. The shared server itself is never restarted.
 */
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const VALUES = 300_000;
const PASSWORD = 'district-Test-1';
const ADMIN = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface RunningServe {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

async function serve(databaseUrl: string, dataDir: string, port: number): Promise<RunningServe> {
  const env = {
    ...process.env,
    FERRY_DATA_DIR: dataDir,
    FERRY_JOB_LEASE_SECONDS: '3',
    DATABASE_URL: databaseUrl,
  };
  const child = spawn(
    process.execPath,
    [
      ...(process.env.FERRY_DEBUG_HOOK ? ['--import', process.env.FERRY_DEBUG_HOOK] : []),
      MAIN,
      'serve',
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (!out.includes('Ferry is running at')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`serve did not start:\n${out}`);
    await sleep(50);
  }
  return { child, output: () => out, exited };
}

interface JobView {
  status: string;
  error: string | null;
  attempts: number;
  progress: { processed: number } | null;
}

async function jobOf(base: string, id: string): Promise<JobView> {
  const response = await fetch(`${base}/api/jobs/${id}`, { headers: { authorization: ADMIN } });
  assert.equal(response.status, 200, await response.clone().text());
  return ((await response.json()) as { job: JobView }).job;
}

for (const scenario of ['the backend writing the values', 'every backend of the database'] as const) {
  describe(
    `ferry serve on PostgreSQL when ${scenario} is terminated during an import`,
    { skip: POSTGRES_SKIP_REASON },
    () => {
      const database = `ferry_drop_${randomBytes(5).toString('hex')}`;
      const dataDir = mkdtempSync(join(tmpdir(), 'ferry-pg-drop-'));
      let admin: pg.Client;
      let databaseUrl: string;

      before(async () => {
        admin = new pg.Client({ connectionString: POSTGRES_TEST_URL });
        await admin.connect();
        await admin.query(`CREATE DATABASE ${database}`);
        const url = new URL(POSTGRES_TEST_URL!);
        url.pathname = `/${database}`;
        url.searchParams.delete('options');
        databaseUrl = url.toString();
        const setup = await createFerryContext(
          loadConfig({ FERRY_DATA_DIR: dataDir, DATABASE_URL: databaseUrl }),
        );
        try {
          await loadGeneratedMetadata(setup.storage, VALUES);
          await setup.users.ensureAdmin({ password: PASSWORD });
        } finally {
          await setup.close();
        }
        await writeGeneratedCsv(join(dataDir, 'values.csv'), VALUES);
      });

      after(async () => {
        await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await admin.end();
        rmSync(dataDir, { recursive: true, force: true });
      });

      it('stays up and answers, the job ends (never stuck RUNNING), and the data is all or nothing', async (t) => {
        const port = await freePort();
        const base = `http://127.0.0.1:${port}`;
        const server = await serve(databaseUrl, dataDir, port);
        try {
          const upload = await fetch(`${base}/api/dataValueSets?async=true&atomic=true`, {
            method: 'POST',
            headers: { authorization: ADMIN, 'content-type': 'application/csv', 'x-file-name': 'values.csv' },
            body: createReadStream(join(dataDir, 'values.csv')) as unknown as BodyInit,
            duplex: 'half',
          } as RequestInit);
          assert.equal(upload.status, 200, await upload.clone().text());
          const id = ((await upload.json()) as { response: { id: string } }).response.id;

          // Wait until a backend of this database is inside the import's transaction, writing values
          // (COPY or INSERT into data_value, or COPY into the staging table and the statement that
          // merges it, which starts WITH ... and inserts into data_value), then terminate it or every
          // backend of the database.
          let terminated = 0;
          const deadline = Date.now() + 120_000;
          while (terminated === 0) {
            assert.ok(Date.now() < deadline, `no backend ever wrote values:\n${server.output()}`);
            const writers = await admin.query<{ pid: number }>(
              `SELECT pid FROM pg_stat_activity
              WHERE datname = $1 AND xact_start IS NOT NULL
                AND query ~* '(COPY|INSERT INTO)\\s+(data_value|ferry_data_value_stage)\\M'`,
              [database],
            );
            if (writers.rows.length > 0) {
              const victims =
                scenario === 'the backend writing the values'
                  ? await admin.query(
                      'SELECT pg_terminate_backend(pid) AS ok FROM unnest($1::int[]) AS pid',
                      [writers.rows.map((r) => r.pid)],
                    )
                  : await admin.query(
                      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
                      WHERE datname = $1 AND pid <> pg_backend_pid()`,
                      [database],
                    );
              terminated = victims.rows.filter((r: { ok: boolean }) => r.ok).length;
            } else {
              const job = await jobOf(base, id);
              assert.ok(
                job.status === 'QUEUED' || job.status === 'RUNNING',
                `job ${job.status} (${job.error}) before the connection was dropped`,
              );
              await sleep(20);
            }
          }

          // The process is alive and answers, right after the drop and again a moment later.
          for (const pause of [200, 1500]) {
            await sleep(pause);
            assert.equal(server.child.exitCode, null, `the server exited:\n${server.output()}`);
            const info = await fetch(`${base}/api/system/info`, { headers: { authorization: ADMIN } });
            assert.equal(info.status, 200, `system/info after the drop:\n${server.output()}`);
            const ping = await fetch(`${base}/api/system/ping`, { headers: { authorization: ADMIN } });
            assert.equal(ping.status, 200);
          }

          let job = await jobOf(base, id);
          const jobDeadline = Date.now() + 180_000;
          while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) {
            assert.ok(Date.now() < jobDeadline, `job still ${job.status}:\n${server.output()}`);
            assert.equal(server.child.exitCode, null, `the server exited:\n${server.output()}`);
            await sleep(250);
            job = await jobOf(base, id);
          }
          const count = await countValues(databaseUrl);
          t.diagnostic(
            `job ${job.status} after ${job.attempts} attempt(s); ${count} values; ${job.error ?? ''}`,
          );
          if (job.status === 'COMPLETED') {
            assert.equal(count, VALUES, 'a completed atomic import wrote everything');
            assert.ok(job.attempts >= 2, 'the job ran again after the dropped connection');
          } else {
            assert.equal(job.status, 'FAILED');
            assert.ok(job.error, 'a failed job says why');
            assert.equal(count, 0, 'a failed atomic import wrote nothing');
          }
          assert.equal(server.child.exitCode, null, `the server exited:\n${server.output()}`);
          assert.doesNotMatch(server.output(), /Unhandled 'error' event/);
          // And it still stops cleanly: a client lost with the connection and never returned to
          // the pool would hold the pool's shutdown forever.
          server.child.kill('SIGTERM');
          const exit = await Promise.race([server.exited, sleep(10_000).then(() => 'still running')]);
          assert.equal(exit, 0, `SIGTERM after the drop:\n${server.output()}`);
        } finally {
          if (server.child.exitCode === null && server.child.signalCode === null)
            server.child.kill('SIGTERM');
          await Promise.race([server.exited, sleep(15_000)]);
          if (server.child.exitCode === null && server.child.signalCode === null)
            server.child.kill('SIGKILL');
        }
      });
    },
  );
}

async function countValues(databaseUrl: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM data_value');
    return Number(result.rows[0].n);
  } finally {
    await client.end();
  }
}
