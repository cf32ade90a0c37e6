import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { runFerry } from '../support/ferry-cli.ts';

/*
 * `ferry dedupe pools | create | import | export | entity-types` as a user runs them (a
 * subprocess), on SQLite and PostgreSQL: a pool filled from a file, exported, the export imported
 * into a second pool with the same entries, and a bad file refused naming its line.
 */

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ferry dedupe (${kind})`, { skip: skipReasonFor(kind) }, () => {
    it('creates, imports, lists, exports and refuses a bad file', async () => {
      const db = await createTestDatabase(kind);
      try {
        const target = db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
        const types = await runFerry(['dedupe', 'entity-types']);
        assert.equal(types.code, 0, types.stderr);
        assert.match(types.stdout, /^id,code,name,key_fields\n1,DATA_VALUE,/);

        const created = await runFerry([
          'dedupe',
          'create',
          'Seen elsewhere',
          '--retention-days',
          '30',
          ...target,
        ]);
        assert.equal(created.code, 0, created.stderr);
        await runFerry(['dedupe', 'create', 'Copy', ...target]);

        const file = join(db.dataDir, 'seen.csv');
        writeFileSync(file, 'value,entity_type_id\nalpha,1\n"b,eta",2\nalpha,1\ngamma,3\n');
        const imported = await runFerry(['dedupe', 'import', 'Seen elsewhere', file, '--json', ...target]);
        assert.equal(imported.code, 0, imported.stderr);
        const result = JSON.parse(imported.stdout) as { rows: number; added: number; alreadyInPool: number };
        assert.deepEqual([result.rows, result.added, result.alreadyInPool], [4, 3, 1]);

        const pools = await runFerry(['dedupe', 'pools', ...target]);
        assert.equal(pools.code, 0, pools.stderr);
        assert.match(pools.stdout, /Seen elsewhere {2}3 entries, kept 30 days/);
        assert.match(pools.stdout, /Copy {2}0 entries, kept 90 days/);

        const out = join(db.dataDir, 'export.csv');
        const exported = await runFerry(['dedupe', 'export', 'Seen elsewhere', '-o', out, ...target]);
        assert.equal(exported.code, 0, exported.stderr);
        assert.equal(readFileSync(out, 'utf8'), 'value,entity_type_id\nalpha,1\n"b,eta",2\ngamma,3\n');
        assert.ok(!existsSync(`${out}.part`));
        const copied = await runFerry(['dedupe', 'import', 'Copy', out, '--json', ...target]);
        assert.equal(copied.code, 0, copied.stderr);
        assert.equal((JSON.parse(copied.stdout) as { added: number }).added, 3);

        const bad = join(db.dataDir, 'bad.csv');
        writeFileSync(bad, 'value,entity_type_id\nnew-one,1\nunknown,42\n');
        const refused = await runFerry(['dedupe', 'import', 'Copy', bad, ...target]);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /F1701: .*bad\.csv.*line 3: entity_type_id `42` is not an entity type/);
        const after = await runFerry(['dedupe', 'pools', '--json', ...target]);
        const copy = (JSON.parse(after.stdout) as Array<{ name: string; entryCount: number }>).find(
          (p) => p.name === 'Copy',
        );
        assert.equal(copy?.entryCount, 3, 'nothing of the refused file was added');

        const missing = await runFerry(['dedupe', 'export', 'Nope', '-o', out, ...target]);
        assert.equal(missing.code, 1);
        assert.match(missing.stderr, /F1200/);
        assert.equal((await runFerry(['dedupe', 'import', 'Copy'])).code, 2, 'usage error');
      } finally {
        await db.dispose();
      }
    });
  });
}
