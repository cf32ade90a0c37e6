import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { request as httpRequest } from 'node:http';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import yazl from 'yazl';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';

// The reliability checklist (the hardening issue's 30 tests) for the main import path, the data
// value import, over HTTP on SQLite and PostgreSQL. Each `it` names its number on the list. The
// rule the list sets: a hostile input is refused (4xx, or an ERROR summary naming the problem),
// nothing is written, no temporary file is left, and the server goes on serving. Where another
// file holds an item's test, test/hostile/README.md says which.

const BULK = JSON.parse(readFileSync(join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'), 'utf8')) as {
  dataValues: Record<string, string | boolean>[];
};
const FIRST = BULK.dataValues[0] as Record<string, string>;
/** Badjia, under Bo, and the clerk who captures there (item 28). */
const BADJIA = 'YuQRtpLP10I';
const CLERK = { username: 'badjia.clerk', password: 'Badjia-clerk-1' } as const;
const CLERK_AUTH = `Basic ${Buffer.from(`${CLERK.username}:${CLERK.password}`).toString('base64')}`;
/** Item 9's upload limit for this test's app (FERRY_BODY_LIMIT in a real server). */
const UPLOAD_LIMIT = 32 * 1024 * 1024; // above item 12's 20 MiB field
const CSV_HEADER = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value';
const csvRow = (value: string, v: Record<string, string> = FIRST) =>
  [v.dataElement, v.period, v.orgUnit, v.categoryOptionCombo, v.attributeOptionCombo, value].join(',');
const xmlValue = (value: string) =>
  `<dataValue dataElement="${FIRST.dataElement}" period="${FIRST.period}" orgUnit="${FIRST.orgUnit}" ` +
  `categoryOptionCombo="${FIRST.categoryOptionCombo}" attributeOptionCombo="${FIRST.attributeOptionCombo}" value="${value}"/>`;
const dxf2 = (inner: string, prolog = '<?xml version="1.0" encoding="UTF-8"?>') =>
  `${prolog}<dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0">${inner}</dataValueSet>`;

/** A JSON text whose one string is `megabytes` MiB of `fill`, made a MiB at a time. */
function bombEntry(megabytes: number, fill: number): Readable {
  const chunk = Buffer.alloc(1024 * 1024, fill);
  return Readable.from(
    (function* () {
      yield Buffer.from('{"dataValues":[{"comment":"');
      for (let i = 0; i < megabytes; i++) yield chunk;
    })(),
  );
}

function zipOf(
  entries: ({ name: string; data: Buffer } | { name: string; stream: Readable })[],
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const zip = new yazl.ZipFile();
    for (const entry of entries) {
      if ('stream' in entry) zip.addReadStream(entry.stream, entry.name);
      else zip.addBuffer(entry.data, entry.name);
    }
    zip.end();
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`reliability checklist: data value import (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let app: FastifyInstance;
    before(async () => {
      ({ db, context, app } = await startTestApp(kind, {
        seed: (_c, d) => loadAggregateE2eMetadata(d.storage),
        setup: async (c) => {
          // Item 28's clerk: may capture data in Badjia only (Bo, above it, is outside).
          await c.metadata.save('userRoles', [
            { id: 'roleCaptur1', name: 'Data capture', authorities: ['F_DATAVALUE_ADD', 'F_EXPORT_DATA'] },
          ]);
          await c.users.createUser({
            ...CLERK,
            firstName: 'Badjia',
            surname: 'Clerk',
            roles: ['roleCaptur1'],
            orgUnits: [BADJIA],
          });
          // Item 9 needs a small upload limit; the app is built after this step.
          c.config.bodyLimit = UPLOAD_LIMIT;
        },
      }));
    });
    after(() => stopTestApp({ db, context, app }));

    /** The app on a real port, for the items that need a real connection (started once). */
    let address: Promise<string> | undefined;
    const listening = () => (address ??= app.listen({ port: 0, host: '127.0.0.1' }));

    const post = (payload: Buffer | string, contentType: string, query = '') =>
      app.inject({
        method: 'POST',
        url: `/api/dataValueSets${query}`,
        payload,
        headers: { authorization: ADMIN_AUTH, 'content-type': contentType },
      });

    async function storedValues(): Promise<number> {
      const row = await db.storage.queryOne<{ n: number | string }>('SELECT COUNT(*) AS n FROM data_value');
      return Number(row?.n ?? 0);
    }

    async function assertRefusedAndNothingWritten(
      response: Awaited<ReturnType<typeof post>>,
      message?: RegExp,
    ): Promise<void> {
      const refused =
        (response.statusCode >= 400 && response.statusCode < 500) ||
        (response.statusCode === 200 && /"status":"ERROR"/.test(response.body));
      assert.ok(refused, `expected a refusal, got ${response.statusCode}: ${response.body.slice(0, 300)}`);
      assert.ok(response.statusCode < 500, response.body);
      if (message) assert.match(response.body, message);
      assert.equal(await storedValues(), 0, 'nothing written');
      assert.deepEqual(await leftoverUploadsAfterCleanup(), [], 'no spooled upload left behind');
      const ping = await app.inject({ method: 'GET', url: '/api/system/ping' });
      assert.equal(ping.statusCode, 200, 'the server goes on serving');
    }

    /** The spool is removed right after the reply is sent: give it a moment before looking. */
    async function leftoverUploadsAfterCleanup(): Promise<string[]> {
      for (let i = 0; i < 40 && leftoverUploads().length > 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      return leftoverUploads();
    }

    function leftoverUploads(): string[] {
      const dir = join(db.dataDir, 'uploads');
      return existsSync(dir) ? readdirSync(dir) : [];
    }

    it('1. XXE in XML and ADX is refused, the file it names appears nowhere', async () => {
      const doctype = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>';
      for (const [body, type] of [
        [dxf2(xmlValue('&x;'), doctype), 'application/xml'],
        [
          `${doctype}<adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="&x;" period="2018/P1Y"/></adx>`,
          'application/adx+xml',
        ],
      ] as const) {
        const response = await post(body, type);
        await assertRefusedAndNothingWritten(response, /DOCTYPE/);
        assert.doesNotMatch(response.body, /root:/);
      }
    });

    it('2. billion laughs is refused in under a second', async () => {
      const laughs =
        '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
        Array.from(
          { length: 9 },
          (_, i) => `<!ENTITY ${'bcdefghij'[i]} "${`&${'abcdefghij'[i]};`.repeat(10)}">`,
        ).join('') +
        ']>' +
        dxf2(xmlValue('&j;'));
      const begin = performance.now();
      const response = await post(laughs, 'application/xml');
      assert.ok(performance.now() - begin < 1000);
      await assertRefusedAndNothingWritten(response, /DOCTYPE/);
    });

    it('3. external references (xi:include, schemaLocation) are never fetched', async () => {
      let connections = 0;
      const canary = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(canary.address() as AddressInfo).port}/x`;
      try {
        const body = dxf2(
          `<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="${url}"/>` +
            `<x xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:x ${url}"/>`,
        );
        const response = await post(body, 'application/xml');
        assert.ok(response.statusCode < 500, response.body);
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(connections, 0);
        assert.equal(await storedValues(), 0);
      } finally {
        canary.close();
      }
    });

    it('4. XML nested 100,000 deep and duplicate attributes are refused, no stack overflow', async () => {
      const deep = dxf2('<a>'.repeat(100_000) + '</a>'.repeat(100_000));
      await assertRefusedAndNothingWritten(await post(deep, 'application/xml'), /nesting is deeper than/);
      const duplicate = dxf2(xmlValue('1').replace('value="1"', 'value="1" value="2"'));
      await assertRefusedAndNothingWritten(await post(duplicate, 'application/xml'));
    });

    it('5. zip-slip entry names are refused', async () => {
      for (const name of ['../x.json', '/abs.json', 'C:/x.json', '..\\x.json', 'out2/../../x.json']) {
        // yazl refuses such names, as it should: write a harmless name of the same length and patch
        // the bytes of the local and the central header.
        const placeholder = 'a'.repeat(name.length - 5) + '.json';
        const zip = await zipOf([{ name: placeholder, data: Buffer.from(JSON.stringify(BULK)) }]);
        for (let at = zip.indexOf(placeholder); at >= 0; at = zip.indexOf(placeholder, at + 1)) {
          zip.write(name, at, 'latin1');
        }
        await assertRefusedAndNothingWritten(await post(zip, 'application/json'));
      }
    });

    it('6. a zip bomb (200 MiB of zeros) is refused by the actual-byte or ratio cap, memory bounded', async () => {
      const cases: [number, RegExp][] = [
        [0x00, /NUL byte/],
        [0x20, /bomb|longer than|too long|limit/i],
      ];
      for (const [fill, reason] of cases) {
        const bomb = await zipOf([{ name: 'values.json', stream: bombEntry(200, fill) }]);
        const before = process.memoryUsage().rss;
        await assertRefusedAndNothingWritten(await post(bomb, 'application/json'), reason);
        const grown = process.memoryUsage().rss - before;
        assert.ok(grown < 128 * 1024 * 1024, `memory grew ${Math.round(grown / 2 ** 20)} MiB`);
      }
    });

    it('7. a zip with two entries, a nested zip or an encrypted entry is refused', async () => {
      const json = Buffer.from(JSON.stringify(BULK));
      const two = await zipOf([
        { name: 'a.json', data: json },
        { name: 'b.json', data: json },
      ]);
      await assertRefusedAndNothingWritten(await post(two, 'application/json'), /entr/i);
      const nested = await zipOf([
        { name: 'inner.zip', data: await zipOf([{ name: 'a.json', data: json }]) },
      ]);
      await assertRefusedAndNothingWritten(await post(nested, 'application/json'));
      const encrypted = await zipOf([{ name: 'a.json', data: json }]);
      encrypted.writeUInt16LE(encrypted.readUInt16LE(6) | 1, 6); // the local header's "encrypted" flag
      const central = encrypted.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      encrypted.writeUInt16LE(encrypted.readUInt16LE(central + 8) | 1, central + 8);
      await assertRefusedAndNothingWritten(await post(encrypted, 'application/json'));
    });

    it('8. a gzip bomb, a truncated gzip and gzip with trailing junk are refused', async () => {
      const bomb = gzipSync(
        Buffer.concat([Buffer.from('{"dataValues":[{"comment":"'), Buffer.alloc(512 * 1024 * 1024, 0x20)]),
        { level: 9 },
      );
      await assertRefusedAndNothingWritten(await post(bomb, 'application/json'));
      const whole = gzipSync(Buffer.from(JSON.stringify(BULK)));
      await assertRefusedAndNothingWritten(
        await post(whole.subarray(0, whole.length - 20), 'application/json'),
      );
      await assertRefusedAndNothingWritten(
        await post(Buffer.concat([whole, Buffer.from('junk')]), 'application/json'),
      );
    });

    it('9. an upload over the limit is a 413, with and without Content-Length, and nothing is kept', async () => {
      // Over a real connection (Fastify's inject never finishes a request whose body is refused).
      const address = await listening();
      const declared = await fetch(`${address}/api/dataValueSets`, {
        method: 'POST',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/csv' },
        body: `${CSV_HEADER}\n` + `${csvRow('1')}\n`.repeat(Math.ceil((UPLOAD_LIMIT + 1024 * 1024) / 40)),
      });
      assert.equal(declared.status, 413);
      assert.match(await declared.text(), /larger than the limit/);
      // Chunked: no Content-Length to refuse up front, so the spool must stop at the limit.
      const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = httpRequest(
          `${address}/api/dataValueSets`,
          {
            method: 'POST',
            headers: {
              authorization: ADMIN_AUTH,
              'content-type': 'application/csv',
              'transfer-encoding': 'chunked',
            },
          },
          (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        request.on('error', reject);
        const chunk = Buffer.from(`${csvRow('1')}\n`.repeat(1000));
        let sent = 0;
        const pump = () => {
          while (sent < UPLOAD_LIMIT + 8 * 1024 * 1024) {
            sent += chunk.length;
            if (!request.write(chunk)) return void request.once('drain', pump);
          }
          request.end();
        };
        request.write(`${CSV_HEADER}\n`);
        pump();
      }).catch((error: Error) => ({ status: 0, body: error.message }));
      // Either the 413 arrives, or the server closes the connection after refusing the rest.
      assert.ok(response.status === 413 || response.status === 0, `${response.status}: ${response.body}`);
      if (response.status === 413) assert.match(response.body, /larger than the limit/);
      assert.equal(await storedValues(), 0);
      assert.deepEqual(await leftoverUploadsAfterCleanup(), []);
    });

    it('28. values outside the capture scope are per-value conflicts, the others import; exports stay in scope', async () => {
      // Every bulk value is at Bo; the same values at Ngelehun CHC (under Badjia) are inside.
      const outside = (BULK.dataValues as Record<string, string>[]).slice(0, 3);
      const inside = outside.map((v) => ({ ...v, orgUnit: 'DiszpKrYNg8' }));
      const body = JSON.stringify({ dataValues: [...outside.slice(0, 3), ...inside.slice(0, 3)] });
      const response = await app.inject({
        method: 'POST',
        url: '/api/dataValueSets',
        payload: body,
        headers: { authorization: CLERK_AUTH, 'content-type': 'application/json' },
      });
      assert.ok(response.statusCode < 500, response.body);
      const summary = JSON.parse(response.body).response as {
        importCount: Record<string, number>;
        conflicts: { errorCode: string; indexes: number[] }[];
      };
      assert.equal(summary.importCount.imported, 3, response.body);
      assert.equal(summary.importCount.ignored, 3);
      assert.deepEqual(
        summary.conflicts.map((c) => c.errorCode),
        ['E7617'],
      );
      assert.deepEqual(summary.conflicts[0].indexes, [0, 1, 2]);
      // The admin writes a value in Bo; the clerk's export of Bo's subtree does not show it.
      await post(JSON.stringify({ dataValues: outside.slice(0, 1) }), 'application/json');
      const exported = await app.inject({
        method: 'GET',
        url: `/api/dataValueSets.json?dataElement=${outside[0].dataElement}&period=${outside[0].period}&orgUnit=O6uvpzGd5pu&children=true`,
        headers: { authorization: CLERK_AUTH },
      });
      assert.ok(exported.statusCode < 500, exported.body);
      assert.doesNotMatch(exported.body, /"orgUnit":"O6uvpzGd5pu"/);
      await db.storage.execute('DELETE FROM data_value');
    });

    it('11. a client that disconnects mid-upload creates no job and leaves no file', async () => {
      const address = await listening();
      const { port } = new URL(address);
      const jobsBefore = await db.storage.queryOne<{ n: number | string }>('SELECT COUNT(*) AS n FROM job');
      await new Promise<void>((resolve) => {
        const socket = connect(Number(port), '127.0.0.1', () => {
          socket.write(
            `POST /api/dataValueSets?async=true HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN_AUTH}\r\n` +
              'Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{"dataValues":[',
          );
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 300);
        });
      });
      await new Promise((r) => setTimeout(r, 500));
      const jobsAfter = await db.storage.queryOne<{ n: number | string }>('SELECT COUNT(*) AS n FROM job');
      assert.equal(Number(jobsAfter?.n), Number(jobsBefore?.n));
      assert.deepEqual(await leftoverUploadsAfterCleanup(), []);
      assert.equal((await app.inject({ method: 'GET', url: '/api/system/ping' })).statusCode, 200);
    });

    it('12. a CSV with a 20 MiB field, an unclosed quote or ragged rows is refused with the line', async () => {
      const huge = `${CSV_HEADER}\n${csvRow('"' + 'x'.repeat(20 * 1024 * 1024) + '"')}\n`;
      await assertRefusedAndNothingWritten(await post(huge, 'application/csv', '?atomic=true'), /line 2/);
      const unclosed = `${CSV_HEADER}\n${csvRow('"12')}\n${csvRow('13')}\n`;
      await assertRefusedAndNothingWritten(await post(unclosed, 'application/csv', '?atomic=true'), /quote/i);
    });

    it('13. invalid UTF-8 is refused with its byte offset; a BOM is accepted; UTF-16 is not read as NUL-laden text', async () => {
      const text = Buffer.from(`${CSV_HEADER}\n${csvRow('1')}\n`);
      const bad = Buffer.concat([text.subarray(0, 40), Buffer.from([0xff]), text.subarray(40)]);
      await assertRefusedAndNothingWritten(await post(bad, 'application/csv'), /byte 40/);
      const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text.toString('utf8'), 'utf16le')]);
      const response = await post(utf16, 'application/csv', '?dryRun=true');
      assert.ok(response.statusCode < 500);
      assert.doesNotMatch(response.body, /\\u0000/);
      assert.equal(await storedValues(), 0);
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]);
      const accepted = await post(bom, 'application/csv', '?dryRun=true');
      assert.match(accepted.body, /"imported":1/);
    });

    it('14. a NUL byte or a lone surrogate in a value is refused the same way on both databases', async () => {
      for (const value of ['12\u0000', '\ud800x']) {
        const body = JSON.stringify({ dataValues: [{ ...FIRST, value }] });
        const response = await post(body, 'application/json', '?atomic=true');
        await assertRefusedAndNothingWritten(response);
      }
    });

    it('15. JSON nested 100,000 deep is refused by the streaming depth cap, no RangeError', async () => {
      const deep = `{"dataValues":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`;
      const response = await post(deep, 'application/json');
      await assertRefusedAndNothingWritten(response, /nesting is deeper than/);
      assert.doesNotMatch(response.body, /RangeError|stack/);
    });

    it('16. __proto__, constructor and prototype keys pollute nothing', async () => {
      const bodies: [string, string][] = [
        ['{"__proto__":{"polluted":1},"dataValues":[]}', 'application/json'],
        [
          `{"dataValues":[{"constructor":{"prototype":{"polluted":1}},"dataElement":"${FIRST.dataElement}"}]}`,
          'application/json',
        ],
        [`__proto__,${CSV_HEADER}\n1,${csvRow('1')}\n`, 'application/csv'],
        [dxf2('<__proto__ polluted="1"/>'), 'application/xml'],
      ];
      for (const [body, type] of bodies) {
        const response = await post(body, type, '?dryRun=true');
        assert.ok(response.statusCode < 500, response.body);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }
      assert.equal(await storedValues(), 0);
    });

    it('17. duplicate JSON keys, duplicate CSV headers and the same value twice are reported, never last-wins', async () => {
      const dupKey = `{"dataValues":[{"dataElement":"${FIRST.dataElement}","value":"1","value":"2"}]}`;
      await assertRefusedAndNothingWritten(await post(dupKey, 'application/json'), /duplicate key/);
      const twice = JSON.stringify({
        dataValues: [
          { ...FIRST, value: '1' },
          { ...FIRST, value: '2' },
        ],
      });
      const response = await post(twice, 'application/json', '?dryRun=true');
      assert.ok(response.statusCode < 500);
      assert.match(response.body, /"conflicts":\[\{/, 'the second value of one key is a conflict');
    });

    it('18. numeric edge cases are refused per value, naming the value type, nothing stored', async () => {
      // tpz77FcntKx (the bulk file's first element) holds numbers.
      // Not "": in DHIS2 an empty value deletes, or with a comment keeps the comment. Each probe has
      // a key of its own.
      const probes = [' 12 ', '0x1A', '1e400', 'NaN', 'Infinity', '9007199254740993', '12abc', '-5', '1.5'];
      const body = JSON.stringify({
        dataValues: probes.map((value, i) => ({ ...FIRST, period: String(2010 + i), value })),
      });
      const response = await post(body, 'application/json');
      assert.ok(response.statusCode < 500, response.body);
      const summary = JSON.parse(response.body).response as {
        importCount: Record<string, number>;
        conflicts: { value: string }[];
      };
      assert.equal(summary.importCount.imported, 0, response.body);
      assert.equal(summary.importCount.ignored, probes.length, response.body);
      assert.match(response.body, /INTEGER_ZERO_OR_POSITIVE/, 'the conflict names the value type');
      assert.equal(await storedValues(), 0);
    });

    it('19. one malformed row in the middle of 100,000 (atomic) writes nothing, the connection is clean', async () => {
      const rows: string[] = [CSV_HEADER];
      const values = BULK.dataValues as Record<string, string>[];
      for (let i = 0; i < 100_000; i++) {
        const v = values[i % values.length];
        rows.push(i === 50_000 ? csvRow('not-a-number') : csvRow(String(i), v));
      }
      const response = await post(rows.join('\n'), 'application/csv', '?atomic=true');
      assert.ok(response.statusCode < 500);
      assert.equal(await storedValues(), 0);
      if (kind === 'postgres') {
        const aborted = await db.storage.queryOne<{ n: number | string }>(
          "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'idle in transaction (aborted)'",
        );
        assert.equal(Number(aborted?.n), 0);
      }
    });

    it('26. SQL injection probes are literal identifiers, and no SQL error text leaks', async () => {
      const probes = ["' OR 1=1--", '1);DROP TABLE data_value;--', '$1', '%', '_'];
      for (const probe of probes) {
        for (const url of [
          `/api/dataValueSets.json?dataSet=${encodeURIComponent(probe)}&period=2018&orgUnit=${FIRST.orgUnit}`,
          `/api/dataElements?filter=${encodeURIComponent(`name:like:${probe}`)}`,
          `/api/dataElements/${encodeURIComponent(probe)}`,
        ]) {
          const response = await app.inject({ method: 'GET', url, headers: { authorization: ADMIN_AUTH } });
          assert.ok(response.statusCode < 500, `${url}: ${response.body}`);
          assert.doesNotMatch(response.body, /syntax error|SQLITE_|sqlite|postgres|relation "/i);
        }
        const csv = `${CSV_HEADER}\n${csvRow('1', { ...FIRST, dataElement: probe })}\n`;
        const response = await post(csv, 'application/csv');
        assert.ok(response.statusCode < 500);
        assert.doesNotMatch(response.body, /syntax error|SQLITE_|relation "/i);
      }
      assert.equal(await storedValues(), 0);
    });
  });
}
