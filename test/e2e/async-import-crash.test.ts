import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.ts';
import { createFerryContext } from '../../src/services/ferry-context.ts';
import { loadGeneratedMetadata, writeGeneratedCsv } from '../support/generated-data-values.ts';

/**
 * Issue 5's acceptance: `ferry serve` killed with SIGKILL in the middle of an atomic data value
 * import job; after a restart the job is retried to completion or FAILED with a reason (never left
 * RUNNING), the data is all or nothing, and SQLite's integrity check passes.
 */
const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');
const VALUES = 400_000;
const ADMIN = `Basic ${Buffer.from('admin:district-Test-1').toString('base64')}`;

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

async function serve(dataDir: string, port: number): Promise<RunningServe> {
  // Node itself, not npx: SIGKILL must hit the server process, not a wrapper.
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', String(port), '--host', '127.0.0.1'], {
    env: { ...process.env, FERRY_DATA_DIR: dataDir, FERRY_JOB_LEASE_SECONDS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

async function jobOf(base: string, id: string) {
  const response = await fetch(`${base}/api/jobs/${id}`, { headers: { authorization: ADMIN } });
  assert.equal(response.status, 200);
  return (
    (await response.json()) as {
      job: { status: string; error: string | null; attempts: number; progress: { processed: number } | null };
    }
  ).job;
}

describe('ferry serve killed with SIGKILL during an atomic async data value import (SQLite)', () => {
  it('retries the job to completion or fails it with a reason; data all or nothing; integrity_check ok', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ferry-serve-crash-'));
    const children: ChildProcess[] = [];
    try {
      const setup = await createFerryContext(loadConfig({ FERRY_DATA_DIR: dataDir }));
      await loadGeneratedMetadata(setup.storage, VALUES);
      await setup.users.ensureAdmin({ password: 'district-Test-1' });
      await setup.close();
      const file = join(dataDir, 'values.csv');
      await writeGeneratedCsv(file, VALUES);

      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const doomed = await serve(dataDir, port);
      children.push(doomed.child);
      const upload = await fetch(`${base}/api/dataValueSets?async=true&atomic=true`, {
        method: 'POST',
        headers: { authorization: ADMIN, 'content-type': 'application/csv', 'x-file-name': 'values.csv' },
        body: createReadStream(file) as unknown as BodyInit,
        duplex: 'half',
      } as RequestInit);
      assert.equal(upload.status, 200, await upload.clone().text());
      const id = ((await upload.json()) as { response: { id: string } }).response.id;

      // Kill once values are being written inside the import's transaction.
      for (let i = 0; ; i++) {
        const job = await jobOf(base, id);
        if (job.status === 'RUNNING' && (job.progress?.processed ?? 0) >= 20_000) break;
        assert.ok(job.status === 'QUEUED' || job.status === 'RUNNING', `job ${job.status} before the kill`);
        assert.ok(i < 1_200, 'the import never got going');
        await sleep(25);
      }
      doomed.child.kill('SIGKILL');
      assert.equal(await doomed.exited, null, 'killed by a signal');

      const between = await createFerryContext(loadConfig({ FERRY_DATA_DIR: dataDir }));
      const values = await between.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value');
      assert.equal(Number(values?.n), 0, 'nothing of the killed transaction is visible');
      assert.equal(
        (await between.jobs.get(null, id)).status,
        'RUNNING',
        'the dead server still holds the lease',
      );
      await between.close();

      const survivor = await serve(dataDir, port);
      children.push(survivor.child);
      let job = await jobOf(base, id);
      const deadline = Date.now() + 150_000;
      while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) {
        assert.ok(Date.now() < deadline, `job still ${job.status}:\n${survivor.output()}`);
        await sleep(250);
        job = await jobOf(base, id);
      }
      survivor.child.kill('SIGTERM');
      await survivor.exited;

      const after = await createFerryContext(loadConfig({ FERRY_DATA_DIR: dataDir }));
      try {
        const count = Number(
          (await after.storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM data_value'))?.n,
        );
        const finished = await after.jobs.get(null, id);
        if (finished.status === 'COMPLETED') {
          assert.equal(count, VALUES, 'a completed atomic import wrote everything');
          assert.ok(finished.attempts >= 2, 'the job ran again after the crash');
          const summary = finished.summary as { importCount: { imported: number } };
          assert.equal(summary.importCount.imported, VALUES);
        } else {
          assert.equal(finished.status, 'FAILED');
          assert.ok(finished.error, 'a failed job says why');
          assert.equal(count, 0, 'a failed atomic import wrote nothing');
        }
        const notes = await after.jobs.notifications(finished);
        assert.ok(
          notes.some((n) => /lease expired/.test(n.message)),
          'the takeover is explained',
        );
        const integrity = await after.storage.queryOne<{ integrity_check: string }>('PRAGMA integrity_check');
        assert.equal(integrity?.integrity_check, 'ok');
      } finally {
        await after.close();
      }
    } finally {
      for (const child of children)
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
