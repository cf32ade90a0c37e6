import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A WebDAV or SFTP server on loopback, `rclone serve webdav|sftp DIR --user U --pass P`, for tests
 * of the rclone export destination: files delivered land in `dir`.
 */

export const NO_RCLONE =
  spawnSync('rclone', ['version'], { encoding: 'utf8' }).error === undefined
    ? false
    : 'rclone is not installed (Debian package rclone; .ci/run installs it)';

export interface Served {
  port: number;
  dir: string;
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`rclone serve exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`rclone serve did not listen on ${port}: ${log()}`);
}

/** Starts the server in a new directory under `work`; stop it with `child.kill()`. */
export async function rcloneServe(
  protocol: 'webdav' | 'sftp',
  work: string,
  user: string,
  password: string,
): Promise<Served> {
  const dir = mkdtempSync(join(work, `${protocol}-`));
  const port = await freePort();
  let log = '';
  const child = spawn(
    'rclone',
    [
      'serve',
      protocol,
      dir,
      '--addr',
      `127.0.0.1:${port}`,
      '--user',
      user,
      '--pass',
      password,
      '--config',
      join(work, 'serve-rclone.conf'),
      '--cache-dir',
      join(work, `cache-${protocol}`),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  await waitForPort(port, child, () => log);
  return { port, dir, child };
}
