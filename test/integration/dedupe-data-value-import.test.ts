import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import type { DedupeReport } from '../../src/services/data-values/data-value-import-dedupe.ts';
import { createPool, listEntries } from '../../src/services/dedupe/dedupe-pool-service.ts';
import { DedupeStore } from '../../src/storage/dedupe-store.ts';
import { createPostgresStorage } from '../../src/storage/dialects/postgres/postgres-dialect.ts';
import { FerryError } from '../../src/errors.ts';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor } from '../support/access-fixtures.ts';
import { AGGREGATE_E2E_DIR, loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';

/*
 * A de-duplication pool used by the data value import (issue 16): dedupePool, dedupeKey and
 * dedupeMode on DHIS2's 03_dataValues_bulk.json (231 values). The same file twice with
 * FILTER_AND_TRACK imports everything, then ignores everything with the reason; TRACK only lets the
 * second import update as usual and adds nothing to the pool; a dry run changes no pool; two
 * concurrent imports (on PostgreSQL from two separate connection pools, as two workers would) let
 * each key through exactly once between them. On SQLite and PostgreSQL.
 */

const BULK = join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json');
const VALUES = (JSON.parse(readFileSync(BULK, 'utf8')) as { dataValues: Array<Record<string, unknown>> })
  .dataValues;

type WithDedupe = ImportSummary & { dedupe?: DedupeReport };

for (const kind of TEST_DATABASE_KINDS) {
  describe(`Data value import with a de-duplication pool (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let changed: string;

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      await loadAggregateE2eMetadata(db.storage);
      // The same values, each changed (numbers and comment; booleans in the comment only): importing
      // it over the first updates all 231.
      changed = join(db.dataDir, 'changed.json');
      writeFileSync(
        changed,
        JSON.stringify({
          dataValues: VALUES.map((v) => ({
            ...v,
            value: /^-?\d/.test(String(v.value)) ? String(Number(v.value) + 1) : v.value,
            comment: 'again',
          })),
        }),
      );
    });
    after(async () => {
      await context?.jobs.stop();
      await db?.dispose();
    });

    const run = async (path: string, params: Record<string, string>, on = context) =>
      (await importDataValues(
        on,
        { path, fileName: 'values.json', format: 'json' },
        params,
        undefined,
      )) as WithDedupe;
    const pool = async (name: string) => (await createPool(context, undefined, { name })).id;
    const count = async (uid: string) => {
      const store = new DedupeStore(context.storage);
      return store.countEntries((await store.poolByUid(uid))!.poolId);
    };

    it('FILTER_AND_TRACK: the same file twice imports everything, then ignores everything with the reason', async () => {
      const facility = await pool('Facility USB files');
      const first = await run(BULK, { dedupePool: facility, dedupeMode: 'FILTER_AND_TRACK' });
      assert.equal(first.status, 'SUCCESS', JSON.stringify(first.conflicts));
      assert.deepEqual(first.importCount, { imported: 231, updated: 0, ignored: 0, deleted: 0 });
      assert.equal(first.dedupe?.tracked, 231);
      assert.equal(first.dedupe?.filtered, 0);
      assert.equal(first.importOptions.dedupePool, facility);
      assert.equal(await count(facility), 231);
      // Keys are portable: UIDs and the ISO period, in the default key's order.
      const page = await listEntries(context, undefined, facility, {
        prefix: 'tpz77FcntKx/2018/',
        pageSize: 5,
      });
      assert.ok(
        page.entries.some((e) => e.value === 'tpz77FcntKx/2018/O6uvpzGd5pu/HllvX50cXC0/HllvX50cXC0'),
        JSON.stringify(page.entries),
      );

      // Even a changed file: every value was processed before, so none is written.
      const second = await run(changed, { dedupePool: 'Facility USB files' });
      assert.equal(second.status, 'SUCCESS');
      assert.deepEqual(second.importCount, { imported: 0, updated: 0, ignored: 231, deleted: 0 });
      assert.equal(second.dedupe?.mode, 'FILTER_AND_TRACK', 'the default mode');
      assert.equal(second.dedupe?.filtered, 231);
      assert.equal(second.dedupe?.tracked, 0);
      assert.deepEqual(
        second.dedupe?.filteredIndexes,
        Array.from({ length: 231 }, (_, i) => i),
      );
      assert.match(second.dedupe!.reason, /Already in de-duplication pool 'Facility USB files'/);
      const stored = await context.storage.queryOne<{ n: number | string }>(
        "SELECT COUNT(*) AS n FROM data_value WHERE comment = 'again'",
      );
      assert.equal(Number(stored?.n), 0, 'nothing of the second file was written');
      assert.equal(await count(facility), 231, 'no key twice');

      // FILTER alone drops the same and records nothing new.
      const filtered = await run(changed, { dedupePool: facility, dedupeMode: 'FILTER' });
      assert.equal(filtered.dedupe?.filtered, 231);
      assert.equal(filtered.importCount.ignored, 231);
    });

    it('a dry run changes no pool; TRACK only updates as usual and the pool gains nothing the second time', async () => {
      const tracked = await pool('Tracked only');
      const dry = await run(BULK, { dedupePool: tracked, dedupeMode: 'FILTER_AND_TRACK', dryRun: 'true' });
      assert.equal(dry.dedupe?.tracked, 231, 'what the import would track');
      assert.equal(await count(tracked), 0);

      const first = await run(BULK, { dedupePool: tracked, dedupeMode: 'TRACK' });
      assert.equal(first.dedupe?.tracked, 231);
      assert.equal(first.dedupe?.filtered, 0);
      assert.equal(await count(tracked), 231);
      const second = await run(changed, { dedupePool: tracked, dedupeMode: 'TRACK' });
      assert.equal(second.status, 'SUCCESS');
      assert.deepEqual(second.importCount, { imported: 0, updated: 231, ignored: 0, deleted: 0 });
      assert.equal(second.dedupe?.tracked, 0);
      assert.equal(second.dedupe?.filtered, 0);
      assert.equal(await count(tracked), 231);
      // Put the values back for the next test.
      await run(BULK, {});
    });

    it('a partial dedupeKey lets one value per key through; bad parameters and missing rights are refused', async () => {
      const partial = await pool('Per org unit and period');
      const summary = await run(BULK, {
        dedupePool: partial,
        dedupeKey: 'orgUnit,period',
        dedupeMode: 'FILTER_AND_TRACK',
        dryRun: 'true',
      });
      const distinct = new Set(VALUES.map((v) => `${String(v.orgUnit)}/${String(v.period)}`));
      assert.equal(summary.dedupe?.tracked, distinct.size);
      assert.equal(summary.dedupe?.filtered, 231 - distinct.size);
      assert.equal(summary.dedupe?.key, 'orgUnit/period');

      for (const [params, parameter] of [
        [{ dedupePool: partial, dedupeMode: 'SOMETIMES' }, 'dedupeMode'],
        [{ dedupePool: partial, dedupeKey: 'value' }, 'dedupeKey'],
        [{ dedupeMode: 'FILTER' }, 'dedupeMode'],
      ] as const) {
        await assert.rejects(run(BULK, params), (error: unknown) => {
          assert.ok(error instanceof FerryError);
          assert.equal(error.code, 'F1000');
          assert.match(error.message, new RegExp(parameter));
          return true;
        });
      }
      await assert.rejects(run(BULK, { dedupePool: 'No such pool' }), /could not be found/);
      // A user the pool is shared with for reading only may filter, not track.
      const reader = {
        uid: 'dedupeRdr01',
        username: 'reader',
        authorities: new Set(['F_DATAVALUE_ADD']),
        captureOrgUnits: [],
        userGroupUids: [],
      };
      const shared = (
        await createPool(context, undefined, {
          name: 'Read only',
          sharing: { public: '--------', users: { [reader.uid]: { access: 'r-r-----' } } },
        })
      ).id;
      const refuse = (mode: string) =>
        importDataValues(
          context,
          { path: BULK, fileName: 'v.json', format: 'json' },
          { dedupePool: shared, dedupeMode: mode, dryRun: 'true' },
          reader,
        );
      await assert.rejects(
        refuse('TRACK'),
        (error: unknown) => error instanceof FerryError && error.code === 'F1700',
      );
      await assert.rejects(
        refuse('FILTER_AND_TRACK'),
        (error: unknown) => error instanceof FerryError && error.code === 'F1700',
      );
    });

    it('two concurrent imports with FILTER_AND_TRACK let each key through exactly once between them', async () => {
      const race = await pool('Race');
      // On PostgreSQL the second import runs on a connection pool of its own, as another worker would.
      const otherStorage = kind === 'postgres' ? await createPostgresStorage(db.databaseUrl!, 4) : undefined;
      const other = otherStorage ? contextFor(otherStorage, db.dataDir) : context;
      try {
        for (let round = 0; round < 3; round++) {
          const file = round % 2 === 0 ? changed : BULK;
          const before = await count(race);
          const [a, b] = await Promise.all([
            run(file, { dedupePool: race }),
            run(file, { dedupePool: race }, other),
          ]);
          const through =
            a.importCount.imported + a.importCount.updated + b.importCount.imported + b.importCount.updated;
          if (round === 0) {
            assert.equal(through, 231, `round ${round}: ${JSON.stringify([a.importCount, b.importCount])}`);
            assert.equal(a.dedupe!.tracked + b.dedupe!.tracked, 231);
            assert.equal(a.dedupe!.filtered + b.dedupe!.filtered, 231);
          } else {
            assert.equal(through, 0, 'every key is in the pool now');
            assert.equal(a.dedupe!.filtered + b.dedupe!.filtered, 462);
          }
          assert.equal(await count(race), round === 0 ? 231 : before);
        }
      } finally {
        if (otherStorage) {
          await other.jobs.stop();
          await otherStorage.close();
        }
      }
    });

    it('an import holding its keys uncommitted makes a second import wait, then drop them all', async () => {
      const held = await pool('Held open');
      // The values (and so their periods) stored first: otherwise the second import would wait on
      // the first's uncommitted period rows before it reached the pool, and test nothing here.
      await run(BULK, {});
      const otherStorage = kind === 'postgres' ? await createPostgresStorage(db.databaseUrl!, 4) : undefined;
      const other = otherStorage ? contextFor(otherStorage, db.dataDir) : context;
      try {
        let atCommit = (): void => undefined;
        const reachedCommit = new Promise<void>((resolve) => (atCommit = resolve));
        // The first import stops just before its commit, its keys inserted and not yet committed.
        const first = importDataValues(
          context,
          { path: changed, fileName: 'values.json', format: 'json' },
          { dedupePool: held },
          undefined,
          {
            beforeCommit: async () => {
              atCommit();
              await new Promise((resolve) => setTimeout(resolve, 400));
            },
          },
        ) as Promise<WithDedupe>;
        await reachedCommit;
        const second = run(BULK, { dedupePool: held }, other);
        const [a, b] = await Promise.all([first, second]);
        assert.equal(a.dedupe?.tracked, 231);
        assert.equal(a.importCount.imported + a.importCount.updated, 231);
        assert.equal(b.dedupe?.filtered, 231, JSON.stringify(b.importCount));
        assert.equal(b.importCount.imported + b.importCount.updated, 0);
        assert.equal(await count(held), 231);
      } finally {
        if (otherStorage) {
          await other.jobs.stop();
          await otherStorage.close();
        }
      }
    });

    // PostgreSQL only: SQLite has one writer at a time, so its transactions never overlap and there
    // is nothing to race (a skipped test would fail CI, which counts skips).
    if (kind === 'postgres')
      it('the check-and-insert itself: a key held by an open transaction is not handed to a second one', async () => {
        const race = await pool('Open transactions');
        const poolId = (await new DedupeStore(context.storage).poolByUid(race))!.poolId;
        const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
        const otherStorage = await createPostgresStorage(db.databaseUrl!, 2);
        try {
          let firstInserted = (): void => undefined;
          const inserted = new Promise<void>((resolve) => (firstInserted = resolve));
          const first = context.storage.transaction(async (tx) => {
            const got = await new DedupeStore(tx).trackKeys(
              poolId,
              1,
              keys,
              new Date().toISOString(),
              'first',
            );
            firstInserted();
            // Still open while the second tries the same keys (and a few of its own).
            await new Promise((resolve) => setTimeout(resolve, 300));
            return got;
          });
          await inserted;
          const second = otherStorage.transaction((tx) =>
            new DedupeStore(tx).trackKeys(
              poolId,
              1,
              [...keys, 'only-second'],
              new Date().toISOString(),
              'second',
            ),
          );
          const [a, b] = await Promise.all([first, second]);
          assert.equal(a.size, 500);
          assert.deepEqual([...b], ['only-second']);
        } finally {
          await otherStorage.close();
        }
      });
  });
}
