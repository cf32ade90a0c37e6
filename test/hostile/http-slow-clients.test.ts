import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/build-app.ts';
import { loadConfig } from '../../src/config.ts';
import { createFerryContextFromStorage, type FerryContext } from '../../src/services/ferry-context.ts';
import { createTestDatabase, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';

/** Short limits, so that the test runs in seconds; the defaults are minutes (HTTP_TIMEOUTS). */
const TIMEOUTS = {
  headersTimeoutMs: 600,
  requestTimeoutMs: 60_000,
  minBodyBytesPerSecond: 200,
  bodyRateWindowMs: 500,
};

interface RawExchange {
  /** Milliseconds from connecting to the server closing the connection. */
  closedAfterMs: number;
  response: string;
}

/**
 * Opens a raw socket, writes `head` at once and then each of `trickle` every `everyMs`, and waits
 * (up to `giveUpMs`) for the server to close the connection.
 */
function rawExchange(
  port: number,
  head: string,
  trickle: string[],
  everyMs: number,
  giveUpMs: number,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1');
    let response = '';
    let next = 0;
    const timer = setInterval(() => {
      if (next < trickle.length && !socket.destroyed) socket.write(trickle[next++]);
    }, everyMs);
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`still open after ${giveUpMs} ms; received: ${response.slice(0, 200)}`));
    }, giveUpMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedAfterMs: Date.now() - started, response });
    });
    socket.write(head);
  });
}

describe('Slow clients against a listening server', () => {
  let db: TestDatabase;
  let context: FerryContext;
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    db = await createTestDatabase('sqlite');
    context = createFerryContextFromStorage(
      { ...loadConfig({}, { dataDir: db.dataDir }), httpTimeouts: TIMEOUTS },
      db.storage,
    );
    await context.users.ensureAdmin({ password: 'district' });
    app = await buildApp(context);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app?.close();
    await context?.jobs.stop();
    await db?.dispose();
  });

  it('closes a connection whose headers trickle in, within the header timeout', async () => {
    const trickle = Array.from({ length: 200 }, (_, i) => `X-Slow-${i}: a\r\n`);
    const result = await rawExchange(port, 'GET /api/system/ping HTTP/1.1\r\nHost: x\r\n', trickle, 50, 8000);
    // The timeout plus Node's checking interval (a quarter of it) and scheduling slack.
    assert.ok(
      result.closedAfterMs < TIMEOUTS.headersTimeoutMs * 3,
      `closed after ${result.closedAfterMs} ms`,
    );
    assert.doesNotMatch(result.response, /pong/);
  });

  it('closes a sign-in body sent below the minimum rate, while a normal request stays fast', async () => {
    const body = JSON.stringify({ username: 'admin', password: 'district' }).padEnd(2000, ' ');
    const slow = rawExchange(
      port,
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      [...body],
      100,
      8000,
    );
    const started = Date.now();
    const ping = await fetch(`http://127.0.0.1:${port}/api/system/ping`);
    assert.equal(await ping.text(), 'pong');
    assert.ok(Date.now() - started < 500, `a normal request took ${Date.now() - started} ms`);
    const result = await slow;
    assert.ok(
      result.closedAfterMs < TIMEOUTS.bodyRateWindowMs * 4,
      `closed after ${result.closedAfterMs} ms`,
    );
    assert.doesNotMatch(result.response, /SUCCESS/);
  });

  it('closes an upload trickled below the minimum rate', async () => {
    const body = 'dataelement,period,orgunit,catoptcombo,attroptcombo,value\n'.repeat(40);
    const result = await rawExchange(
      port,
      `POST /api/dataValueSets HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN_AUTH}\r\nContent-Type: application/csv\r\nContent-Length: ${body.length}\r\n\r\n`,
      body.match(/.{1,10}/gs) ?? [],
      200,
      10_000,
    );
    // Authentication (a password hash) runs first; then the first slow window closes it.
    assert.ok(result.closedAfterMs < 4000, `closed after ${result.closedAfterMs} ms`);
    assert.equal(result.response, '');
  });

  it('closes a trickled body after an early 401, too', async () => {
    const body = 'x'.repeat(400);
    const result = await rawExchange(
      port,
      `POST /api/dataValueSets HTTP/1.1\r\nHost: x\r\nContent-Type: application/csv\r\nContent-Length: ${body.length}\r\n\r\n`,
      [...body],
      100,
      8000,
    );
    assert.match(result.response, /^HTTP\/1\.1 401 /);
    assert.ok(result.closedAfterMs < 4000, `closed after ${result.closedAfterMs} ms`);
  });

  it('refuses a declared oversize body with 413 without waiting for it', async () => {
    const result = await rawExchange(
      port,
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${100 * 1024 ** 2}\r\n\r\n{"username":`,
      [],
      100,
      8000,
    );
    assert.match(result.response, /^HTTP\/1\.1 413 /);
    assert.ok(result.closedAfterMs < 1000, `closed after ${result.closedAfterMs} ms`);
  });
});
