import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { skipReasonFor, TEST_DATABASE_KINDS, type TestDatabase } from '../support/test-databases.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp } from '../support/test-app.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { importPoolCsv } from '../../src/services/dedupe/dedupe-pool-csv.ts';
import { FerryError } from '../../src/errors.ts';

/*
 * Pool CSV files (issue 16): import (exact header, known entity type ids, a held key updated not
 * duplicated, a bad row refused with its line and nothing added, the size cap), export through the
 * export queue (kept one hour, then 410), and an exported pool imported into a new pool holding the
 * same entries. On SQLite and PostgreSQL.
 */

type Json = Record<string, unknown>;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`Pool CSV import and export (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase | undefined;
    let context: FerryContext | undefined;
    let app: FastifyInstance | undefined;

    before(async () => {
      ({ db, context, app } = await startTestApp(kind));
      await context.jobs.start();
    });
    after(async () => {
      await stopTestApp({ db, context, app });
    });

    const json = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
      const response = await app!.inject({
        method,
        url,
        headers: { authorization: ADMIN_AUTH },
        payload: payload as object,
      });
      return { status: response.statusCode, body: JSON.parse(response.body) as Json };
    };
    const upload = async (pool: string, csv: string, query = '') => {
      const response = await app!.inject({
        method: 'POST',
        url: `/api/dedupe/pools/${pool}/entries${query}`,
        headers: { authorization: ADMIN_AUTH, 'content-type': 'text/csv', 'x-file-name': 'pool.csv' },
        payload: csv,
      });
      return { status: response.statusCode, body: JSON.parse(response.body) as Json };
    };
    const newPool = async (name: string): Promise<string> =>
      ((await json('POST', '/api/dedupe/pools', { name })).body.response as { id: string }).id;
    const allEntries = async (pool: string) => {
      const page = await json('GET', `/api/dedupe/pools/${pool}/entries?pageSize=1000`);
      return page.body.entries as Array<{
        value: string;
        entityTypeId: number;
        lastSeen: string;
        job: string | null;
      }>;
    };

    it('imports new keys, updates held ones without a second entry, and refuses bad files whole', async () => {
      const pool = await newPool('Seeded');
      const csv =
        'value,entity_type_id\nperson1@example.org,2\n"with, comma and ""quote""",1\nperson1@example.org,3\nperson1@example.org,2\n';
      const first = await upload(pool, csv);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      const result = first.body.response as Json;
      assert.equal(result.rows, 4);
      assert.equal(result.added, 3, 'the same key under two types is two entries; a repeated row is one');
      assert.equal(result.entryCount, 3);
      const before = await allEntries(pool);

      await new Promise((resolve) => setTimeout(resolve, 5));
      const again = await upload(pool, 'value,entity_type_id\nperson1@example.org,2\nnew-key,5\n');
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.deepEqual(
        [(again.body.response as Json).added, (again.body.response as Json).alreadyInPool],
        [1, 1],
      );
      const after = await allEntries(pool);
      assert.equal(after.length, 4);
      const held = (list: typeof after) =>
        list.find((e) => e.value === 'person1@example.org' && e.entityTypeId === 2)!;
      assert.ok(held(after).lastSeen > held(before).lastSeen, 'last seen moved on');

      const bad: Array<[string, number, RegExp]> = [
        ['value;entity_type_id\nx,1\n', 1, /header must be exactly/],
        ['entity_type_id,value\n1,x\n', 1, /header must be exactly/],
        ['value,entity_type_id\nfine,1\nmissing,\n', 3, /entity_type_id is missing/],
        ['value,entity_type_id\nfine,1\nok,2\nunknown,99\n', 4, /`99` is not an entity type/],
        ['value,entity_type_id\nfine,1\nthree,1,fields\n', 3, /expected 2 fields/],
        ['value,entity_type_id\nfine,1\n,1\n', 3, /value is empty/],
        ['value,entity_type_id\nfine,1\n"open quote,1\n', 3, /quote/],
        ['', 1, /header .* is required/],
      ];
      for (const [file, line, reason] of bad) {
        const refused = await upload(pool, file);
        assert.equal(refused.status, 400, file);
        assert.equal(refused.body.errorCode, 'F1701', file);
        assert.match(String(refused.body.message), new RegExp(`line ${line}\\b`), file);
        assert.match(String(refused.body.message), reason, file);
        assert.match(String(refused.body.message), /nothing was imported/);
      }
      assert.equal((await allEntries(pool)).length, 4, 'no refused file added anything');

      // The cap (a setting): checked as the body is spooled over HTTP, and on the file by the
      // service, which the CLI calls. (An inject()ed request cut off mid-body gets no reply, so the
      // HTTP side is left to the hostile tests of F1002.)
      const path = join(db!.dataDir, 'big.csv');
      writeFileSync(path, `value,entity_type_id\n${'k'.repeat(40)},1\n`);
      process.env.FERRY_DEDUPE_IMPORT_MAX_BYTES = '40';
      try {
        await assert.rejects(
          importPoolCsv(context!, undefined, pool, { path, fileName: 'big.csv' }),
          (error: unknown) => {
            assert.ok(error instanceof FerryError);
            assert.equal(error.code, 'F1002');
            return true;
          },
        );
      } finally {
        delete process.env.FERRY_DEDUPE_IMPORT_MAX_BYTES;
      }
      assert.equal((await importPoolCsv(context!, undefined, pool, { path, fileName: 'big.csv' })).added, 1);
    });

    it('exports through the export queue, kept one hour then 410, and the file imports into a new pool', async () => {
      const pool = await newPool('To export');
      const rows = Array.from({ length: 12_345 }, (_, i) => `key-${i},${(i % 5) + 1}`);
      rows.push('"a,b",1', '"say ""hi""",2', 'back\\slash {b},3');
      assert.equal((await upload(pool, `value,entity_type_id\n${rows.join('\n')}\n`)).status, 200);

      const requested = await json('POST', `/api/dedupe/pools/${pool}/export`);
      assert.equal(requested.status, 201, JSON.stringify(requested.body));
      const jobId = requested.body.id as string;
      assert.equal((await waitForJob(context!, jobId)).status, 'COMPLETED');
      const card = (await json('GET', `/api/exports/${jobId}`)).body as {
        file: { created: string; expires: string };
      };
      const lifetime = Date.parse(card.file.expires) - Date.parse(card.file.created);
      assert.equal(lifetime, 3_600_000, 'kept one hour by default');

      const file = await app!.inject({
        method: 'GET',
        url: `/api/exports/${jobId}/file`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(file.statusCode, 200);
      const lines = file.body.split('\n');
      assert.equal(lines[0], 'value,entity_type_id');
      assert.equal(lines.length, rows.length + 2, 'header, one row per entry, final newline');

      const copy = await newPool('Copy');
      const imported = await upload(copy, file.body);
      assert.equal(imported.status, 200, JSON.stringify(imported.body));
      assert.equal((imported.body.response as Json).added, rows.length);
      const key = (e: { value: string; entityTypeId: number }) => `${e.entityTypeId}:${e.value}`;
      const original = new Set<string>();
      const copied = new Set<string>();
      for (const [id, set] of [
        [pool, original],
        [copy, copied],
      ] as const) {
        let before: number | null = null;
        do {
          const page = await json(
            'GET',
            `/api/dedupe/pools/${id}/entries?pageSize=1000${before ? `&before=${before}` : ''}`,
          );
          for (const entry of page.body.entries as Array<{ value: string; entityTypeId: number }>)
            set.add(key(entry));
          before = (page.body.pager as { nextBefore: number | null }).nextBefore;
        } while (before !== null);
      }
      assert.equal(original.size, rows.length);
      assert.deepEqual([...copied].sort(), [...original].sort());
      assert.ok(original.has('1:a,b') && original.has('2:say "hi"') && original.has('3:back\\slash {b}'));

      // Past its hour the download is gone (410); asking again makes a fresh file.
      await context!.storage.execute('UPDATE export_job SET file_expires = ? WHERE job_id = ?', [
        new Date(Date.now() - 1000).toISOString(),
        jobId,
      ]);
      const gone = await app!.inject({
        method: 'GET',
        url: `/api/exports/${jobId}/file`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(gone.statusCode, 410);
      const fresh = await json('POST', `/api/dedupe/pools/${pool}/export`);
      assert.equal(fresh.status, 201);
      assert.notEqual(fresh.body.id, jobId);
    });

    it('removes entries last seen longer ago than the retention when the pool is next used', async () => {
      const pool = await newPool('Short memory');
      assert.equal((await upload(pool, 'value,entity_type_id\nold,1\nrecent,1\n')).status, 200);
      const eightyDaysAgo = new Date(Date.now() - 80 * 86_400_000).toISOString();
      const hundredDaysAgo = new Date(Date.now() - 100 * 86_400_000).toISOString();
      // Entries point at the visit (time, job) that saw them last: give each its own, back-dated.
      const lastSeen = async (key: string, seen: string): Promise<void> => {
        const entry = await context!.storage.queryOne<{ pool_id: number }>(
          'SELECT pool_id FROM dedupe_entry WHERE key = ?',
          [key],
        );
        await context!.storage.execute("INSERT INTO dedupe_visit (pool_id, seen, job_id) VALUES (?, ?, '')", [
          entry!.pool_id,
          seen,
        ]);
        await context!.storage.execute(
          `UPDATE dedupe_entry SET last_visit = (SELECT visit_id FROM dedupe_visit
             WHERE pool_id = dedupe_entry.pool_id AND seen = ? AND job_id = '') WHERE key = ?`,
          [seen, key],
        );
      };
      await lastSeen('old', hundredDaysAgo);
      await lastSeen('recent', eightyDaysAgo);
      const next = await upload(pool, 'value,entity_type_id\nnew,1\n');
      assert.equal((next.body.response as Json).expiredRemoved, 1, 'past 90 days: removed; 80 days: kept');
      assert.deepEqual((await allEntries(pool)).map((e) => e.value).sort(), ['new', 'recent']);
    });

    it('imports as a job with async=true', async () => {
      const pool = await newPool('Async');
      const started = await upload(pool, 'value,entity_type_id\na,1\nb,1\n', '?async=true');
      assert.equal(started.status, 200, JSON.stringify(started.body));
      const jobId = (started.body.response as { id: string }).id;
      const job = await waitForJob(context!, jobId);
      assert.equal(job.status, 'COMPLETED', JSON.stringify(job));
      const entries = await allEntries(pool);
      assert.equal(entries.length, 2);
      assert.equal(entries[0].job, jobId, 'the entries name the job that saw them');
    });
  });
}
