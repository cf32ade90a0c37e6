import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createFerryContext } from '../../src/services/ferry-context.ts';
import { ATOMIC_ROWS } from '../support/job-test-handlers.ts';

const SCRIPT = join(import.meta.dirname, '../support/job-crash-worker.ts');

function startWorker(
  dataDir: string,
  env: Record<string, string>,
  mode?: string,
): {
  child: ChildProcess;
  output: () => string;
  waitFor: (text: string) => Promise<void>;
  exited: Promise<number | null>;
} {
  // process.execPath is this test's Node 24; spawning it directly (not through npx) makes SIGKILL hit the worker itself.
  const child = spawn(process.execPath, [SCRIPT, dataDir, ...(mode ? [mode] : [])], {
    env: { ...process.env, FERRY_JOB_LEASE_SECONDS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: async (text) => {
      const deadline = Date.now() + 30_000;
      while (!out.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`worker never printed ${text}:\n${out}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

describe('a worker killed with SIGKILL in the middle of an atomic import (SQLite)', () => {
  it('leaves no partial data; the restarted worker retries the job to completion; integrity_check is ok', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ferry-crash-'));
    const children: ChildProcess[] = [];
    try {
      const setup = await createFerryContext(loadConfig({ FERRY_DATA_DIR: dataDir }));
      const job = await setup.storage.transaction((tx) =>
        setup.jobs.enqueue(tx, { type: 'TEST_ATOMIC_IMPORT', params: { prefix: 'C' } }),
      );
      await setup.close();

      const doomed = startWorker(dataDir, { FERRY_TEST_SLOW_MS: '200' });
      children.push(doomed.child);
      await doomed.waitFor(`IN_TRANSACTION ${job.id}`);
      doomed.child.kill('SIGKILL');
      assert.equal(await doomed.exited, null, 'killed by a signal');

      const between = await createFerryContext(loadConfig({ FERRY_DATA_DIR: dataDir }));
      const stuck = await between.jobs.get(null, job.id);
      assert.equal(stuck.status, 'RUNNING', 'the dead worker still holds the lease');
      const partial = await between.storage.queryOne<{ n: number }>(
        `SELECT COUNT(*) AS n FROM period WHERE period_type = 'Test'`,
      );
      assert.equal(Number(partial?.n), 0, 'nothing of the killed transaction is visible');
      await between.close();

      const survivor = startWorker(dataDir, {}, '--drain');
      children.push(survivor.child);
      await survivor.waitFor('DRAINED');
      assert.equal(await survivor.exited, 0, survivor.output());

      const after = await createFerryContext(loadConfig({ FERRY_DATA_DIR: dataDir }));
      try {
        const done = await after.jobs.get(null, job.id);
        assert.equal(done.status, 'COMPLETED', done.error ?? '');
        assert.equal(done.attempts, 2);
        const rows = await after.storage.queryOne<{ n: number }>(
          `SELECT COUNT(*) AS n FROM period WHERE period_type = 'Test'`,
        );
        assert.equal(Number(rows?.n), ATOMIC_ROWS);
        const integrity = await after.storage.queryOne<{ integrity_check: string }>('PRAGMA integrity_check');
        assert.equal(integrity?.integrity_check, 'ok');
        const notes = await after.jobs.notifications(done);
        assert.ok(
          notes.some((n) => /lease expired/.test(n.message)),
          'the takeover is explained',
        );
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
