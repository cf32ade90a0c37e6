import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { createSampleTable, delay, signal, withTimeout } from './storage-conformance-helpers.ts';
import { createSqliteStorage } from '../../src/storage/dialects/sqlite/sqlite-dialect.ts';
import { createPostgresStorage } from '../../src/storage/dialects/postgres/postgres-dialect.ts';
import { MIGRATIONS } from '../../src/storage/migrations/migrations.ts';
import { MetadataStore, type MetadataObject } from '../../src/storage/metadata-store.ts';
import { PeriodStore } from '../../src/storage/period-store.ts';
import { schemaRegistry } from '../../src/domain/schema/schema-registry.ts';
import type { Storage } from '../../src/storage/storage.ts';
import { join } from 'node:path';

/**
 * One suite, every backend: the same tests run against real SQLite and real PostgreSQL, so SQL that
 * works on one and breaks on the other fails here rather than in production.
 */
for (const kind of TEST_DATABASE_KINDS) {
  describe(`storage conformance on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let storage: Storage;

    beforeEach(async () => {
      db = await createTestDatabase(kind);
      storage = db.storage;
    });

    afterEach(async () => {
      await db.dispose();
    });

    describe('executor', () => {
      beforeEach(async () => {
        await createSampleTable(storage);
      });

      it('round-trips every SqlValue type as a parameter', async () => {
        const bytes = new Uint8Array([0, 1, 2, 250, 255]);
        await storage.execute('INSERT INTO sample (id, label, amount, big, payload) VALUES (?, ?, ?, ?, ?)', [
          1,
          'text',
          3.25,
          9_007_199_254_740_991n,
          bytes,
        ]);
        const row = await storage.queryOne<{
          id: number;
          label: string;
          amount: number;
          big: number | bigint;
          payload: Uint8Array;
        }>('SELECT id, label, amount, big, payload FROM sample WHERE id = ?', [1]);
        assert.ok(row);
        assert.equal(Number(row.id), 1);
        assert.equal(row.label, 'text');
        assert.equal(row.amount, 3.25);
        assert.equal(BigInt(row.big), 9_007_199_254_740_991n);
        assert.ok(row.payload instanceof Uint8Array);
        assert.deepEqual([...row.payload], [...bytes]);
        const byBig = await storage.query('SELECT id FROM sample WHERE big = ?', [9_007_199_254_740_991n]);
        assert.equal(byBig.length, 1);
      });

      it('stores and matches nulls, and queryOne gives undefined for no row', async () => {
        await storage.execute('INSERT INTO sample (id, label, amount, big, payload) VALUES (?, ?, ?, ?, ?)', [
          2,
          null,
          null,
          null,
          null,
        ]);
        const row = await storage.queryOne<Record<string, unknown>>(
          'SELECT label, amount, big, payload FROM sample WHERE id = ?',
          [2],
        );
        assert.deepEqual({ ...row }, { label: null, amount: null, big: null, payload: null });
        assert.equal((await storage.query('SELECT id FROM sample WHERE label IS NULL')).length, 1);
        assert.equal((await storage.query('SELECT id FROM sample WHERE label = ?', [null])).length, 0);
        assert.equal(await storage.queryOne('SELECT id FROM sample WHERE id = ?', [999]), undefined);
      });

      it('keeps unicode, quotes and question marks in values and in SQL literals', async () => {
        const values = [
          'Ñandú café — naïve',
          '中文 العربية עברית',
          '🦆👩🏽‍⚕️ emoji with ZWJ',
          'it\'s "quoted" ? and $1',
          'e\u0301 combining',
        ];
        await storage.executeMany(
          'INSERT INTO sample (id, label) VALUES (?, ?)',
          values.map((v, i) => [i + 10, v]),
        );
        const rows = await storage.query<{ label: string }>('SELECT label FROM sample ORDER BY id');
        assert.deepEqual(
          rows.map((r) => r.label),
          values,
        );
        const literal = await storage.queryOne<{ q: string; v: string }>(
          `SELECT 'what? it''s ?' AS q, label AS v FROM sample WHERE id = ?`,
          [13],
        );
        assert.deepEqual({ ...literal }, { q: "what? it's ?", v: 'it\'s "quoted" ? and $1' });
      });

      it('round-trips large text', async () => {
        const large = 'αβγ-0123456789'.repeat(400_000); // 5.6 million characters
        await storage.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [3, large]);
        const row = await storage.queryOne<{ label: string; n: number }>(
          'SELECT label, LENGTH(label) AS n FROM sample WHERE id = ?',
          [3],
        );
        assert.equal(Number(row?.n), large.length);
        assert.equal(row?.label, large);
      });

      it('reports the number of rows changed', async () => {
        await storage.executeMany(
          'INSERT INTO sample (id, label) VALUES (?, ?)',
          [1, 2, 3, 4].map((i) => [i, i % 2 === 0 ? 'even' : 'odd']),
        );
        assert.deepEqual(
          await storage.execute('UPDATE sample SET amount = ? WHERE label = ?', [1.5, 'even']),
          {
            changes: 2,
          },
        );
        assert.deepEqual(await storage.execute('DELETE FROM sample WHERE id = ?', [42]), { changes: 0 });
      });
    });

    describe('transactions', () => {
      beforeEach(async () => {
        await createSampleTable(storage);
      });

      it('commits when the work resolves and returns its result', async () => {
        const result = await storage.transaction(async (tx) => {
          assert.equal(tx.inTransaction, true);
          await tx.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [1, 'kept']);
          return 'done';
        });
        assert.equal(result, 'done');
        assert.equal((await storage.query('SELECT id FROM sample')).length, 1);
      });

      it('rolls back when the work throws, including after a failed statement', async () => {
        await assert.rejects(
          storage.transaction(async (tx) => {
            await tx.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [1, 'gone']);
            await tx.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [1, 'duplicate key']);
          }),
        );
        await assert.rejects(
          storage.transaction(async (tx) => {
            await tx.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [2, 'gone too']);
            throw new Error('boom');
          }),
          /boom/,
        );
        assert.deepEqual(await storage.query('SELECT id FROM sample'), []);
        // The connection is usable again afterwards.
        await storage.transaction((tx) => tx.execute('INSERT INTO sample (id) VALUES (?)', [3]));
        assert.equal((await storage.query('SELECT id FROM sample')).length, 1);
      });

      it('keeps uncommitted writes invisible to readers outside the transaction', async () => {
        await storage.transaction(async (tx) => {
          await tx.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [1, 'pending']);
          assert.equal((await tx.query('SELECT id FROM sample')).length, 1, 'visible inside');
          assert.equal((await storage.query('SELECT id FROM sample')).length, 0, 'invisible outside');
        });
        assert.equal((await storage.query('SELECT id FROM sample')).length, 1);
      });

      it('loses no update when many transactions run at once', async () => {
        await withTimeout(
          Promise.all(
            Array.from({ length: 12 }, () =>
              storage.transaction(async (tx) => {
                await delay(2);
                await tx.execute("UPDATE counter SET n = n + 1 WHERE name = 'hits'");
              }),
            ),
          ),
          20_000,
          'concurrent transactions',
        );
        const row = await storage.queryOne<{ n: number }>("SELECT n FROM counter WHERE name = 'hits'");
        assert.equal(Number(row?.n), 12);
      });

      if (kind === 'sqlite') {
        it('serialises transactions: the second starts after the first commits', async () => {
          const events: string[] = [];
          const first = storage.transaction(async (tx) => {
            events.push('first begins');
            await delay(30);
            await tx.execute('INSERT INTO sample (id) VALUES (?)', [1]);
            events.push('first ends');
          });
          const second = storage.transaction(async (tx) => {
            events.push('second begins');
            const seen = await tx.query('SELECT id FROM sample');
            events.push(`second sees ${seen.length}`);
          });
          await Promise.all([first, second]);
          assert.deepEqual(events, ['first begins', 'first ends', 'second begins', 'second sees 1']);
        });
      } else {
        it('runs transactions side by side, each isolated from the other', async () => {
          const inserted = signal();
          const checked = signal();
          const first = storage.transaction(async (tx) => {
            await tx.execute('INSERT INTO sample (id) VALUES (?)', [1]);
            inserted.resolve();
            await checked.promise;
          });
          const second = storage.transaction(async (tx) => {
            await inserted.promise;
            const seen = await tx.query('SELECT id FROM sample');
            checked.resolve();
            return seen.length;
          });
          const [, seenBySecond] = await withTimeout(Promise.all([first, second]), 10_000, 'side-by-side');
          assert.equal(seenBySecond, 0, "the second transaction does not see the first's uncommitted row");
          assert.equal((await storage.query('SELECT id FROM sample')).length, 1);
        });
      }
    });

    describe('stream', () => {
      beforeEach(async () => {
        await createSampleTable(storage);
        await storage.executeMany(
          'INSERT INTO sample (id, label) VALUES (?, ?)',
          Array.from({ length: 2345 }, (_, i) => [i + 1, `row ${i + 1}`]),
        );
      });

      it('delivers every row once, in batches of the requested size', async () => {
        const sizes: number[] = [];
        const ids: number[] = [];
        for await (const batch of storage.stream<{ id: number }>(
          'SELECT id FROM sample WHERE id > ? ORDER BY id',
          [0],
          1000,
        )) {
          sizes.push(batch.length);
          for (const row of batch) ids.push(Number(row.id));
        }
        assert.deepEqual(sizes, [1000, 1000, 345]);
        assert.equal(ids.length, 2345);
        assert.equal(new Set(ids).size, 2345);
        assert.deepEqual(ids.slice(0, 3), [1, 2, 3]);
      });

      it('yields nothing for an empty result', async () => {
        let batches = 0;
        for await (const _batch of storage.stream('SELECT id FROM sample WHERE id < 0')) batches++;
        assert.equal(batches, 0);
      });

      it('releases the cursor when the consumer breaks early, again and again', async () => {
        // More early breaks than the test pool has connections (4): a leak would hang the next query.
        for (let i = 0; i < 10; i++) {
          for await (const batch of storage.stream('SELECT id FROM sample ORDER BY id', [], 100)) {
            assert.equal(batch.length, 100);
            break;
          }
        }
        await withTimeout(
          storage.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [9999, 'after']),
          5000,
          'a write after early breaks',
        );
        // The reader's snapshot was released too: it sees the row written after the break.
        const row = await withTimeout(
          storage.queryOne<{ label: string }>('SELECT label FROM sample WHERE id = ?', [9999]),
          5000,
          'a read after early breaks',
        );
        assert.equal(row?.label, 'after');
        await withTimeout(
          storage.transaction((tx) => tx.query('SELECT 1 AS one')),
          5000,
          'a transaction after early breaks',
        );
      });

      it('releases the cursor when the consumer throws', async () => {
        await assert.rejects(async () => {
          for await (const _batch of storage.stream('SELECT id FROM sample', [], 10)) {
            throw new Error('consumer failed');
          }
        }, /consumer failed/);
        const count = await withTimeout(
          storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM sample'),
          5000,
          'a query after a failed consumer',
        );
        assert.equal(Number(count?.n), 2345);
      });

      it('streams inside a transaction, seeing its own uncommitted rows', async () => {
        await storage.transaction(async (tx) => {
          await tx.execute('INSERT INTO sample (id, label) VALUES (?, ?)', [5000, 'uncommitted']);
          let total = 0;
          for await (const batch of tx.stream('SELECT id FROM sample', [], 500)) total += batch.length;
          assert.equal(total, 2346);
          for await (const _batch of tx.stream('SELECT id FROM sample', [], 500)) break;
          assert.equal((await tx.query('SELECT id FROM sample WHERE id = ?', [5000])).length, 1);
        });
      });
    });

    describe('executeMany', () => {
      beforeEach(async () => {
        await createSampleTable(storage);
      });

      it('inserts more rows than one statement can bind (70,001 rows × 4 parameters)', async () => {
        const rows = Array.from({ length: 70_001 }, (_, i) => [i + 1, `label ${i}`, i / 4, i * 3]);
        await storage.transaction((tx) =>
          tx.executeMany('INSERT INTO sample (id, label, amount, big) VALUES (?, ?, ?, ?)', rows),
        );
        const row = await storage.queryOne<{ n: number; s: number; m: string }>(
          'SELECT COUNT(*) AS n, SUM(big) AS s, MAX(label) AS m FROM sample',
        );
        assert.equal(Number(row?.n), 70_001);
        assert.equal(Number(row?.s), (3 * 70_000 * 70_001) / 2);
        assert.equal(row?.m, 'label 9999');
      });

      it('keeps the clause after VALUES (ON CONFLICT) and does nothing for no rows', async () => {
        await storage.executeMany('INSERT INTO sample (id, label) VALUES (?, ?)', []);
        await storage.executeMany('INSERT INTO sample (id, label) VALUES (?, ?)', [[1, 'first']]);
        await storage.executeMany(
          'INSERT INTO sample (id, label) VALUES (?, ?) ON CONFLICT (id) DO NOTHING',
          [
            [1, 'ignored'],
            [2, 'second'],
          ],
        );
        const rows = await storage.query<{ label: string }>('SELECT label FROM sample ORDER BY id');
        assert.deepEqual(
          rows.map((r) => r.label),
          ['first', 'second'],
        );
      });

      it('keeps literals and function calls inside the VALUES tuple', async () => {
        await storage.executeMany(
          "INSERT INTO sample (id, label, amount) VALUES (?, COALESCE(?, 'none'), 0.5)",
          [
            [1, 'given'],
            [2, null],
          ],
        );
        const rows = await storage.query<{ label: string; amount: number }>(
          'SELECT label, amount FROM sample ORDER BY id',
        );
        assert.deepEqual(
          rows.map((r) => [r.label, r.amount]),
          [
            ['given', 0.5],
            ['none', 0.5],
          ],
        );
      });

      it('is rolled back with its transaction', async () => {
        await assert.rejects(
          storage.transaction(async (tx) => {
            await tx.executeMany(
              'INSERT INTO sample (id, label) VALUES (?, ?)',
              Array.from({ length: 3000 }, (_, i) => [i, 'x']),
            );
            throw new Error('abort');
          }),
          /abort/,
        );
        assert.deepEqual(await storage.query('SELECT id FROM sample'), []);
      });
    });

    describe('migrations', () => {
      it('are idempotent, recorded, and safe to run from two connections at once', async () => {
        assert.deepEqual(await storage.migrate(), []);
        const second = await openSecondStorage(db);
        try {
          // Two SQLite connections in one process must not wait on each other: node:sqlite's busy
          // wait is synchronous and would block the event loop the other needs. Across processes
          // (server and CLI) SQLite's own locking serialises them.
          const results =
            kind === 'postgres'
              ? await Promise.all([second.migrate(), storage.migrate()])
              : [await second.migrate(), await storage.migrate()];
          assert.deepEqual(results, [[], []]);
        } finally {
          await second.close();
        }
        const versions = await storage.query<{ version: number }>(
          'SELECT version FROM schema_migration ORDER BY version',
        );
        assert.deepEqual(
          versions.map((v) => Number(v.version)),
          MIGRATIONS.map((m) => m.version).sort((a, b) => a - b),
        );
      });
    });

    describe('MetadataStore', () => {
      let metadata: MetadataStore;

      beforeEach(() => {
        metadata = new MetadataStore(storage, schemaRegistry);
      });

      const categoryCombo: MetadataObject = {
        id: 'bjDvmb4bfuf',
        name: 'default',
        code: 'default',
        dataDimensionType: 'DISAGGREGATION',
      };
      const dataElement = (id: string, name: string, code?: string): MetadataObject => ({
        id,
        name,
        shortName: name,
        ...(code ? { code } : {}),
        valueType: 'NUMBER',
        domainType: 'AGGREGATE',
        aggregationType: 'SUM',
        categoryCombo: { id: categoryCombo.id },
      });
      const dataSet = (elementIds: string[]): MetadataObject => ({
        id: 'pBOMPrpg1QX',
        name: 'Reproductive Health',
        periodType: 'Monthly',
        dataSetElements: elementIds.map((id) => ({ dataElement: { id } })),
      });

      it('saves and finds objects by uid, code and name', async () => {
        await metadata.save('categoryCombos', [categoryCombo]);
        await metadata.save('dataElements', [
          dataElement('fbfJHSPpUQD', 'ANC 1st visit', 'DE_ANC1'),
          dataElement('cYeuwXTCPkU', 'ANC 2nd visit — ñ 🦆'),
        ]);
        assert.deepEqual(
          await metadata.get('dataElements', 'cYeuwXTCPkU'),
          dataElement('cYeuwXTCPkU', 'ANC 2nd visit — ñ 🦆'),
        );
        assert.equal(await metadata.get('dataElements', 'bjDvmb4bfuf'), undefined, 'types are separate');
        const byCode = await metadata.findBy('dataElements', 'code', ['DE_ANC1', 'missing']);
        assert.deepEqual(
          byCode.map((f) => f.object.id),
          ['fbfJHSPpUQD'],
        );
        const byName = await metadata.findBy('dataElements', 'name', ['ANC 2nd visit — ñ 🦆']);
        assert.deepEqual(
          byName.map((f) => f.object.id),
          ['cYeuwXTCPkU'],
        );
        const byUid = await metadata.findBy('dataElements', 'uid', ['fbfJHSPpUQD', 'cYeuwXTCPkU']);
        assert.equal(byUid.length, 2);
        assert.ok(byUid.every((f) => Number.isInteger(f.sid) && f.sid > 0));
        assert.equal(await metadata.count('dataElements'), 2);
        const sids = await metadata.sids('dataElements', ['fbfJHSPpUQD', 'nope']);
        assert.deepEqual([...sids.keys()], ['fbfJHSPpUQD']);
      });

      it('finds many objects at once, past the IN-list chunk size', async () => {
        const units = Array.from({ length: 1234 }, (_, i) => ({
          id: `OU${String(i).padStart(9, '0')}`,
          name: `Unit ${i}`,
          shortName: `Unit ${i}`,
          openingDate: '2000-01-01',
        }));
        await storage.transaction((tx) => metadata.withExecutor(tx).save('organisationUnits', units));
        const found = await metadata.findBy(
          'organisationUnits',
          'uid',
          units.map((u) => u.id),
        );
        assert.equal(found.length, 1234);
      });

      it('keeps the sid when an object is updated', async () => {
        await metadata.save('dataElements', [dataElement('fbfJHSPpUQD', 'ANC 1st visit', 'DE_ANC1')]);
        const [before] = await metadata.findBy('dataElements', 'uid', ['fbfJHSPpUQD']);
        await metadata.save('dataElements', [dataElement('fbfJHSPpUQD', 'ANC first visit', 'DE_ANC1')]);
        const [after] = await metadata.findBy('dataElements', 'uid', ['fbfJHSPpUQD']);
        assert.equal(after.sid, before.sid);
        assert.equal(after.object.name, 'ANC first visit');
        assert.deepEqual(await metadata.findBy('dataElements', 'name', ['ANC 1st visit']), []);
        assert.equal(await metadata.count('dataElements'), 1);
      });

      it('writes references, including from embedded objects, and finds referrers', async () => {
        await metadata.save('categoryCombos', [categoryCombo]);
        await metadata.save('dataElements', [
          dataElement('fbfJHSPpUQD', 'ANC 1st visit'),
          dataElement('cYeuwXTCPkU', 'ANC 2nd visit'),
        ]);
        await metadata.save('dataSets', [dataSet(['fbfJHSPpUQD', 'cYeuwXTCPkU'])]);
        assert.deepEqual(await referrersOf(metadata, 'dataElements', 'fbfJHSPpUQD'), [
          { collection: 'dataSets', uid: 'pBOMPrpg1QX', property: 'dataSetElements.dataElement' },
        ]);
        assert.deepEqual(await referrersOf(metadata, 'categoryCombos', categoryCombo.id), [
          { collection: 'dataElements', uid: 'cYeuwXTCPkU', property: 'categoryCombo' },
          { collection: 'dataElements', uid: 'fbfJHSPpUQD', property: 'categoryCombo' },
        ]);
        // An update rewrites the references: the dropped element is no longer referred to.
        await metadata.save('dataSets', [dataSet(['cYeuwXTCPkU'])]);
        assert.deepEqual(await referrersOf(metadata, 'dataElements', 'fbfJHSPpUQD'), []);
        assert.equal((await referrersOf(metadata, 'dataElements', 'cYeuwXTCPkU')).length, 1);
      });

      it('deletes objects and, with them, the references they made', async () => {
        await metadata.save('dataElements', [dataElement('fbfJHSPpUQD', 'ANC 1st visit')]);
        await metadata.save('dataSets', [dataSet(['fbfJHSPpUQD'])]);
        const [stored] = await metadata.findBy('dataSets', 'uid', ['pBOMPrpg1QX']);
        assert.equal(await metadata.delete('dataSets', ['pBOMPrpg1QX', 'notThereXYZ']), 1);
        assert.equal(await metadata.get('dataSets', 'pBOMPrpg1QX'), undefined);
        assert.deepEqual(await referrersOf(metadata, 'dataElements', 'fbfJHSPpUQD'), []);
        const left = await storage.queryOne<{ n: number }>(
          'SELECT COUNT(*) AS n FROM metadata_reference WHERE source_sid = ?',
          [stored.sid],
        );
        assert.equal(Number(left?.n), 0);
      });

      it('lists with eq, like, in, null filters and pages', async () => {
        await metadata.save('dataElements', [
          dataElement('aaaaaaaaaa1', 'Alpha', 'A'),
          dataElement('aaaaaaaaaa2', 'Beta', 'B'),
          dataElement('aaaaaaaaaa3', 'Gamma'),
          dataElement('aaaaaaaaaa4', 'Delta'),
          dataElement('aaaaaaaaaa5', 'Alphabet soup'),
        ]);
        const names = async (query: Parameters<MetadataStore['list']>[1]) => {
          const { objects, total } = await metadata.list('dataElements', query);
          return { names: objects.map((o) => o.name), total };
        };
        assert.deepEqual(await names({ filters: [{ property: 'name', operator: 'eq', value: 'Beta' }] }), {
          names: ['Beta'],
          total: 1,
        });
        assert.deepEqual(await names({ filters: [{ property: 'name', operator: 'like', value: 'ALPHA' }] }), {
          names: ['Alpha', 'Alphabet soup'],
          total: 2,
        });
        assert.deepEqual(
          await names({
            filters: [{ property: 'id', operator: 'in', value: ['aaaaaaaaaa3', 'aaaaaaaaaa4'] }],
          }),
          { names: ['Delta', 'Gamma'], total: 2 },
        );
        assert.deepEqual(await names({ filters: [{ property: 'code', operator: 'null' }] }), {
          names: ['Alphabet soup', 'Delta', 'Gamma'],
          total: 3,
        });
        assert.deepEqual(await names({ filters: [{ property: 'code', operator: '!null' }] }), {
          names: ['Alpha', 'Beta'],
          total: 2,
        });
        // A property kept only in the JSON body.
        assert.deepEqual(
          await names({ filters: [{ property: 'valueType', operator: 'eq', value: 'NUMBER' }] }),
          {
            names: ['Alpha', 'Alphabet soup', 'Beta', 'Delta', 'Gamma'],
            total: 5,
          },
        );
        assert.deepEqual(await names({ page: 2, pageSize: 2 }), { names: ['Beta', 'Delta'], total: 5 });
        assert.deepEqual(await names({ page: 3, pageSize: 2 }), { names: ['Gamma'], total: 5 });
        await assert.rejects(
          metadata.list('dataElements', {
            filters: [{ property: "name') OR 1=1 --", operator: 'eq', value: 'x' }],
          }),
          /Invalid filter property/,
        );
      });

      it('streams every object of a type in sid order', async () => {
        const units = Array.from({ length: 250 }, (_, i) => ({
          id: `OU${String(i).padStart(9, '0')}`,
          name: `Unit ${i}`,
          openingDate: '2000-01-01',
        }));
        await storage.transaction((tx) => metadata.withExecutor(tx).save('organisationUnits', units));
        await metadata.save('dataElements', [dataElement('fbfJHSPpUQD', 'Not a unit')]);
        const sizes: number[] = [];
        const ids: string[] = [];
        let lastSid = 0;
        for await (const batch of metadata.stream('organisationUnits', 100)) {
          sizes.push(batch.length);
          for (const { sid, object } of batch) {
            assert.ok(sid > lastSid);
            lastSid = sid;
            ids.push(object.id);
          }
        }
        assert.deepEqual(sizes, [100, 100, 50]);
        assert.deepEqual(
          ids,
          units.map((u) => u.id),
        );
      });

      it('saveMany upserts in bulk like save: sids kept, references rewritten', async () => {
        const units = (suffix: string) =>
          Array.from({ length: 1200 }, (_, i) => ({
            id: `OU${String(i).padStart(9, '0')}`,
            name: `Unit ${i}${suffix}`,
            openingDate: '2000-01-01',
            ...(i > 0 ? { parent: { id: 'OU000000000' } } : {}),
          }));
        await storage.transaction((tx) => metadata.withExecutor(tx).saveMany('organisationUnits', units('')));
        const before = await metadata.sids('organisationUnits', ['OU000000000', 'OU000001199']);
        assert.equal((await referrersOf(metadata, 'organisationUnits', 'OU000000000')).length, 1199);
        const changed = units(' (renamed)').map((u, i) => (i === 5 ? { ...u, parent: undefined } : u));
        await storage.transaction((tx) => metadata.withExecutor(tx).saveMany('organisationUnits', changed));
        assert.deepEqual(await metadata.sids('organisationUnits', ['OU000000000', 'OU000001199']), before);
        assert.equal(await metadata.count('organisationUnits'), 1200);
        assert.equal((await metadata.get('organisationUnits', 'OU000000007'))?.name, 'Unit 7 (renamed)');
        const referrers = await referrersOf(metadata, 'organisationUnits', 'OU000000000');
        assert.equal(referrers.length, 1198);
        assert.ok(!referrers.some((r) => r.uid === 'OU000000005'));
      });

      it('writes nothing when its transaction rolls back', async () => {
        await assert.rejects(
          storage.transaction(async (tx) => {
            await metadata.withExecutor(tx).save('dataElements', [dataElement('fbfJHSPpUQD', 'ANC')]);
            throw new Error('rollback');
          }),
          /rollback/,
        );
        assert.equal(await metadata.count('dataElements'), 0);
        const references = await storage.queryOne<{ n: number }>(
          'SELECT COUNT(*) AS n FROM metadata_reference',
        );
        assert.equal(Number(references?.n), 0);
      });
    });

    describe('PeriodStore', () => {
      interface PeriodRow {
        period_id: number;
        iso: string;
        period_type: string;
        start_date: string;
        end_date: string;
      }
      const rowsOf = (isos: string[]) =>
        storage.query<PeriodRow>(
          `SELECT period_id, iso, period_type, start_date, end_date FROM period WHERE iso IN (${isos.map(() => '?').join(', ')}) ORDER BY iso`,
          isos,
        );

      it('creates missing periods with their type and dates, and returns stable ids', async () => {
        const periods = new PeriodStore(storage);
        const ids = await periods.idsFor([
          '202401',
          '2024W05',
          '2024W5',
          '2024NovQ1',
          'not-a-period',
          '2024Q5',
        ]);
        assert.deepEqual([...ids.keys()].sort(), ['202401', '2024NovQ1', '2024W05', '2024W5']);
        assert.equal(ids.get('2024W05'), ids.get('2024W5'));
        const rows = await rowsOf(['202401', '2024W5', '2024NovQ1', '2024W05']);
        assert.deepEqual(
          rows.map((r) => [r.iso, r.period_type, r.start_date, r.end_date]),
          [
            ['202401', 'Monthly', '2024-01-01', '2024-01-31'],
            ['2024NovQ1', 'QuarterlyNov', '2023-11-01', '2024-01-31'],
            ['2024W5', 'Weekly', '2024-01-29', '2024-02-04'],
          ],
        );
        for (const row of rows) assert.equal(ids.get(row.iso), Number(row.period_id));
        // A fresh store (no cache) reads the same ids back.
        const again = await new PeriodStore(storage).idsFor(['202401', '2024W5', '2024NovQ1']);
        assert.deepEqual(again, new Map([...ids].filter(([k]) => k !== '2024W05')));
        const count = await storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM period');
        assert.equal(Number(count?.n), 3);
      });

      it('handles a bulk batch of thousands of distinct periods', async () => {
        const periods = new PeriodStore(storage);
        const isos: string[] = [];
        for (let d = new Date('2020-01-01T00:00:00Z'); isos.length < 1500; d.setUTCDate(d.getUTCDate() + 1)) {
          isos.push(d.toISOString().slice(0, 10).replaceAll('-', ''));
        }
        const ids = await periods.idsFor(isos);
        assert.equal(ids.size, 1500);
        assert.equal(new Set(ids.values()).size, 1500);
        const back = await new PeriodStore(storage).byIds([...ids.values(), 987_654_321]);
        assert.equal(back.size, 1500);
        for (const [iso, id] of ids) assert.equal(back.get(id), iso);
      });

      it('gives the same ids to concurrent callers and creates each period once', async () => {
        const isos = ['202401', '202402', '202403', '2024Q1', '2024'];
        const results = await withTimeout(
          Promise.all(
            Array.from({ length: 6 }, (_, i) => new PeriodStore(storage).idsFor(isos.slice(i % 2))),
          ),
          20_000,
          'concurrent idsFor',
        );
        const reference = await new PeriodStore(storage).idsFor(isos);
        for (const result of results) for (const [iso, id] of result) assert.equal(id, reference.get(iso));
        const count = await storage.queryOne<{ n: number }>('SELECT COUNT(*) AS n FROM period');
        assert.equal(Number(count?.n), 5);
      });

      it('gives the same id to transactions creating the same period at once', async () => {
        const shared = new PeriodStore(storage);
        const results = await withTimeout(
          Promise.all(
            [1, 2, 3].map(() =>
              storage.transaction(async (tx) => {
                const ids = await shared.withExecutor(tx).idsFor(['2024S1', '2024S2']);
                await delay(10);
                return ids;
              }),
            ),
          ),
          20_000,
          'concurrent transactions creating periods',
        );
        for (const result of results) assert.deepEqual(result, results[0]);
        assert.equal((await rowsOf(['2024S1', '2024S2'])).length, 2);
      });

      it('forgets ids created in a transaction that rolled back', async () => {
        const periods = new PeriodStore(storage);
        let rolledBackId: number | undefined;
        await assert.rejects(
          storage.transaction(async (tx) => {
            const inTx = periods.withExecutor(tx);
            rolledBackId = (await inTx.idsFor(['202401'])).get('202401');
            assert.equal(
              (await inTx.idsFor(['202401'])).get('202401'),
              rolledBackId,
              'cached within the transaction',
            );
            assert.equal((await inTx.byIds([rolledBackId!])).get(rolledBackId!), '202401');
            throw new Error('rollback');
          }),
          /rollback/,
        );
        assert.deepEqual(await rowsOf(['202401']), []);
        // SQLite may hand the rolled-back id to the next period created: it must map to that one only.
        const other = await periods.idsFor(['202405']);
        const january = await periods.idsFor(['202401']);
        assert.notEqual(other.get('202405'), january.get('202401'));
        const rows = await rowsOf(['202401', '202405']);
        assert.deepEqual(
          rows.map((r) => [r.iso, Number(r.period_id)]),
          [
            ['202401', january.get('202401')],
            ['202405', other.get('202405')],
          ],
        );
        assert.equal((await periods.byIds([other.get('202405')!])).get(other.get('202405')!), '202405');
      });

      it('shares ids a committed transaction learnt once marked committed', async () => {
        const periods = new PeriodStore(storage);
        const inTx = await storage.transaction(async (tx) => {
          const store = periods.withExecutor(tx);
          await store.idsFor(['2024April']);
          return store;
        });
        inTx.markCommitted();
        const id = (await periods.idsFor(['2024April'])).get('2024April');
        // Served from memory: the row is gone but the (immutable, committed) mapping is remembered.
        await storage.execute('DELETE FROM period');
        assert.equal((await periods.idsFor(['2024April'])).get('2024April'), id);
        assert.equal((await periods.byIds([id!])).get(id!), '2024April');
      });
    });
  });
}

/** Referrers as plain objects: SQLite rows have a null prototype, which deepStrictEqual tells apart. */
async function referrersOf(metadata: MetadataStore, collection: string, uid: string) {
  return (await metadata.referrers(collection, uid)).map((r) => ({ ...r }));
}

/** A second, independent connection to the same database as `db`. */
async function openSecondStorage(db: TestDatabase): Promise<Storage> {
  return db.kind === 'postgres'
    ? createPostgresStorage(db.databaseUrl!, 2)
    : createSqliteStorage(join(db.dataDir, 'ferry.db'));
}
