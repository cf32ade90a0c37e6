import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor, ORG_UNITS, ROLES, seedAccessFixtures } from '../support/access-fixtures.ts';
import { runFerry } from '../support/ferry-cli.ts';

/** Where the CLI finds the test database: the SQLite data dir, or the PostgreSQL URL. */
function databaseArgs(db: TestDatabase): string[] {
  return db.databaseUrl ? ['--database-url', db.databaseUrl] : ['--data-dir', db.dataDir];
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`ferry user on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('creates a user offline, sets its password from stdin, and reports errors', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        await seedAccessFixtures(db.storage, context.metadata);

        const created = await runFerry([
          'user',
          'create',
          '--username',
          'district.officer',
          '--password',
          'officer-password',
          '--first-name',
          'District',
          '--surname',
          'Officer',
          '--role',
          'Data importer',
          '--org-unit',
          ORG_UNITS.bo,
          '--view-org-unit',
          ORG_UNITS.sierraLeone,
          ...databaseArgs(db),
        ]);
        assert.equal(created.code, 0, created.stderr);
        assert.match(created.stdout, /Created user district\.officer \([A-Za-z][A-Za-z0-9]{10}\)/);

        const principal = await context.auth.verifyPassword('district.officer', 'officer-password');
        assert.deepEqual(principal.user.userRoles, [{ id: ROLES.importer }]);
        assert.deepEqual(principal.captureOrgUnits, [ORG_UNITS.bo]);
        assert.deepEqual(principal.viewOrgUnits, [ORG_UNITS.sierraLeone]);
        assert.equal(principal.user.name, 'District Officer');

        const changed = await runFerry(
          ['user', 'set-password', '--username', 'district.officer', '--password-stdin', ...databaseArgs(db)],
          'a much better password\n',
        );
        assert.equal(changed.code, 0, changed.stderr);
        await context.auth.verifyPassword('district.officer', 'a much better password');

        const duplicate = await runFerry([
          'user',
          'create',
          '--username',
          'district.officer',
          '--password',
          'officer-password',
          ...databaseArgs(db),
        ]);
        assert.equal(duplicate.code, 1);
        assert.match(duplicate.stderr, /F1300: A user with username `district\.officer` already exists/);

        const weak = await runFerry([
          'user',
          'create',
          '--username',
          'weakling',
          '--password',
          'short',
          ...databaseArgs(db),
        ]);
        assert.equal(weak.code, 1);
        assert.match(weak.stderr, /F1106: .*at least 8 characters/);

        const usage = await runFerry(['user', 'create', '--password', 'whatever-pass', ...databaseArgs(db)]);
        assert.equal(usage.code, 2);
        assert.match(usage.stderr, /--username is required/);
        assert.equal(await context.metadata.count('users'), 1);
      } finally {
        await db.dispose();
      }
    });
  });
}
