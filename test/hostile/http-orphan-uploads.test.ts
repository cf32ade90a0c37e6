import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { basicAuth } from '../support/access-fixtures.ts';

const REPO = join(import.meta.dirname, '../..');
const MAIN = join(REPO, 'src/cli/main.ts');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

/** `ferry serve` on `dataDir` as a subprocess, resolved once it answers pings. */
async function serve(dataDir: string, port: number): Promise<ChildProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, FERRY_ADMIN_PASSWORD: 'district-password' };
  delete env.DATABASE_URL;
  const child = spawn(
    process.execPath,
    [MAIN, 'serve', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1'],
    { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`ferry serve exited: ${output}`);
    const ok = await fetch(`http://127.0.0.1:${port}/api/system/ping`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return child;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`ferry serve did not start: ${output}`);
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

describe('spooled uploads of a killed server', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-orphan-uploads-'));
  const uploads = join(dataDir, 'uploads');
  const children: ChildProcess[] = [];
  after(async () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('are removed when the server starts again; a live process’s spool and other files are kept', async () => {
    const port = await freePort();
    const first = await serve(dataDir, port);
    children.push(first);

    // A synchronous import whose body is still arriving when the server is killed.
    const socket: Socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const header = 'dataelement,period,orgunit,catoptcombo,attroptcombo,value\n';
    socket.write(
      `POST /api/dataValueSets HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicAuth('admin', 'district-password')}\r\n` +
        `Content-Type: application/csv\r\nContent-Length: ${50 * 1024 ** 2}\r\n\r\n${header}`,
    );
    socket.write('x'.repeat(256 * 1024));
    let spooled: string[] = [];
    for (let i = 0; i < 200 && spooled.length === 0; i++) {
      await sleep(50);
      spooled = existsSync(uploads) ? readdirSync(uploads) : [];
    }
    assert.equal(spooled.length, 1, 'the upload is being spooled');
    first.kill('SIGKILL');
    await exited(first);
    socket.destroy();
    assert.deepEqual(readdirSync(uploads), spooled, 'the killed import left its spool file');

    // A spool file of a process that is still running, and a file that is no spool file.
    const live = `upload-${process.pid}-${randomUUID()}`;
    writeFileSync(join(uploads, live), 'in use');
    writeFileSync(join(uploads, 'README.txt'), 'not ours');

    const second = await serve(dataDir, port);
    children.push(second);
    assert.deepEqual(readdirSync(uploads).sort(), ['README.txt', live].sort());
    second.kill('SIGTERM');
    await exited(second);
  });
});
