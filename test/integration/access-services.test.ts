import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTestDatabase, skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { contextFor, ORG_UNITS, ROLES, seedAccessFixtures } from '../support/access-fixtures.ts';
import { AuthService } from '../../src/services/access/auth-service.ts';
import { FerryError } from '../../src/errors.ts';
import { hashPassword } from '../../src/domain/access/password-hash.ts';

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof FerryError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`users, authentication and metadata queries on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    it('creates users with hashed passwords outside the body, and enforces the rules', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        await seedAccessFixtures(db.storage, context.metadata);
        const user = await context.users.createUser({
          username: 'bo.clerk',
          password: 'clerk-password-1',
          roles: ['Data importer', ROLES.reader],
          orgUnits: [ORG_UNITS.bo],
        });
        const stored = await context.metadata.get('users', user.id);
        assert.equal(stored?.username, 'bo.clerk');
        assert.deepEqual(stored?.userRoles, [{ id: ROLES.importer }, { id: ROLES.reader }]);
        assert.equal(JSON.stringify(stored).includes('clerk-password-1'), false);
        assert.equal(JSON.stringify(stored).includes('scrypt'), false);
        const credential = await db.storage.queryOne<{ password_hash: string }>(
          'SELECT password_hash FROM user_credential WHERE user_uid = ?',
          [user.id],
        );
        assert.match(credential!.password_hash, /^scrypt\$131072\$8\$1\$/);

        await rejectsWithCode(
          context.users.createUser({ username: 'bo.clerk', password: 'another-password' }),
          'F1300',
        );
        await rejectsWithCode(context.users.createUser({ username: 'shorty', password: 'short' }), 'F1106');
        await rejectsWithCode(
          context.users.createUser({ username: 'samename', password: 'samename' }),
          'F1106',
        );
        await rejectsWithCode(
          context.users.createUser({ username: '.bad', password: 'good-password' }),
          'F1107',
        );
        await rejectsWithCode(
          context.users.createUser({ username: 'norole', password: 'good-password', roles: ['Nope'] }),
          'F1107',
        );
        await rejectsWithCode(
          context.users.createUser({
            username: 'noou',
            password: 'good-password',
            orgUnits: ['aaaaaaaaaaa'],
          }),
          'F1107',
        );
        assert.equal(await context.metadata.count('users'), 1, 'refused users left nothing behind');

        const principal = await context.auth.verifyPassword('bo.clerk', 'clerk-password-1');
        assert.deepEqual([...principal.authorities].sort(), [
          'F_DATAVALUE_ADD',
          'F_EXPORT_DATA',
          'F_METADATA_IMPORT',
        ]);
        assert.deepEqual(principal.captureOrgUnits, [ORG_UNITS.bo]);
        assert.deepEqual(principal.viewOrgUnits, [ORG_UNITS.bo], 'view scope defaults to capture');
        await rejectsWithCode(context.auth.verifyPassword('bo.clerk', 'wrong-password'), 'F1101');
        await rejectsWithCode(context.auth.verifyPassword('nobody', 'wrong-password'), 'F1101');

        // A hash with older, weaker parameters is upgraded at the next successful sign-in.
        await db.storage.execute('UPDATE user_credential SET password_hash = ? WHERE user_uid = ?', [
          await hashPassword('clerk-password-1', { N: 2 ** 10, r: 8, p: 1 }),
          user.id,
        ]);
        await context.auth.verifyPassword('bo.clerk', 'clerk-password-1');
        const upgraded = await db.storage.queryOne<{ password_hash: string }>(
          'SELECT password_hash FROM user_credential WHERE user_uid = ?',
          [user.id],
        );
        assert.match(upgraded!.password_hash, /^scrypt\$131072\$/);

        await context.users.setPassword('bo.clerk', 'a-new-password');
        await rejectsWithCode(context.auth.authenticateBasic('bo.clerk', 'clerk-password-1'), 'F1101');
        await context.auth.authenticateBasic('bo.clerk', 'a-new-password');
        await context.users.setDisabled('bo.clerk', true);
        await rejectsWithCode(context.auth.authenticateBasic('bo.clerk', 'a-new-password'), 'F1105');
      } finally {
        await db.dispose();
      }
    });

    it('bootstraps the admin once, with a generated password, and gives it the roots later', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        const first = await context.users.ensureAdmin();
        assert.equal(first.created, true);
        assert.ok(first.generatedPassword && first.generatedPassword.length >= 32);
        assert.deepEqual(first.assignedOrgUnits, [], 'no org units yet');
        const admin = await context.auth.verifyPassword('admin', first.generatedPassword);
        assert.ok(admin.authorities.has('ALL'));

        const again = await context.users.ensureAdmin({ password: 'district' });
        assert.equal(again.created, false);
        assert.equal(again.generatedPassword, undefined);

        await seedAccessFixtures(db.storage, context.metadata);
        const later = await context.users.ensureAdmin();
        assert.deepEqual(
          [...later.assignedOrgUnits].sort(),
          [ORG_UNITS.sierraLeone, ORG_UNITS.otherRoot].sort(),
        );
        const rescoped = await context.auth.principalFor(admin.uid);
        assert.equal(rescoped.captureOrgUnits.length, 2);
        assert.deepEqual((await context.users.ensureAdmin()).assignedOrgUnits, [], 'idempotent');
      } finally {
        await db.dispose();
      }
    });

    it('throttles failed sign-ins per username and handles token expiry and revocation', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        await context.users.ensureAdmin({ password: 'district' });
        let clock = Date.parse('2024-06-01T00:00:00Z');
        const auth = new AuthService(db.storage, context.metadata, context.users, {
          maxFailures: 2,
          failureWindowMs: 60_000,
          now: () => clock,
        });
        await rejectsWithCode(auth.verifyPassword('admin', 'wrong-1'), 'F1101');
        await rejectsWithCode(auth.verifyPassword('admin', 'wrong-2'), 'F1101');
        await rejectsWithCode(auth.verifyPassword('admin', 'district'), 'F1104');
        await auth.verifyPassword('admin2', 'x').catch(() => undefined);
        clock += 61_000;
        const admin = await auth.verifyPassword('admin', 'district');

        const token = await auth.createApiToken(admin.uid, { name: 'ci', expires: new Date(clock + 1000) });
        assert.equal((await auth.authenticateApiToken(token.token)).uid, admin.uid);
        const row = await db.storage.queryOne<{ token_hash: string }>('SELECT token_hash FROM api_token');
        assert.notEqual(row?.token_hash, token.token, 'only the hash is stored');
        clock += 2000;
        await rejectsWithCode(auth.authenticateApiToken(token.token), 'F1103');
        const lasting = await auth.createApiToken(admin.uid);
        assert.deepEqual(
          (await auth.listApiTokens(admin.uid)).map((t) => t.id),
          [token.id, lasting.id],
        );
        assert.equal(await auth.revokeApiToken(admin.uid, lasting.id), true);
        await rejectsWithCode(auth.authenticateApiToken(lasting.token), 'F1101');

        const session = await auth.createSession('admin', 'district');
        assert.equal((await auth.authenticateSession(session.token))?.uid, admin.uid);
        clock += 9 * 60 * 60 * 1000;
        assert.equal(await auth.authenticateSession(session.token), undefined, 'sessions end');
      } finally {
        await db.dispose();
      }
    });

    it('checks org unit scope against stored paths', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        await seedAccessFixtures(db.storage, context.metadata);
        const scope = context.orgUnitScope;
        assert.deepEqual(
          await scope.outOfScope(
            [ORG_UNITS.badjia, ORG_UNITS.bo, ORG_UNITS.otherRoot, 'unknownUid1'],
            [ORG_UNITS.bo],
          ),
          [ORG_UNITS.otherRoot, 'unknownUid1'],
        );
        assert.equal(await scope.isInScope(ORG_UNITS.badjia, [ORG_UNITS.sierraLeone]), true);
        assert.equal(await scope.isInScope(ORG_UNITS.sierraLeone, [ORG_UNITS.bo]), false);
      } finally {
        await db.dispose();
      }
    });

    it('lists metadata with fields, typed filters, paging and nested references', async () => {
      const db = await createTestDatabase(kind);
      try {
        const context = contextFor(db.storage, db.dataDir);
        await seedAccessFixtures(db.storage, context.metadata);
        const query = context.metadataQuery;
        const page2 = await query.list('dataElements', { page: 2, pageSize: 25 });
        assert.deepEqual(page2.pager, { page: 2, pageCount: 3, total: 60, pageSize: 25 });
        assert.deepEqual(page2.objects[0], { id: 'deUid000025', displayName: 'Data element 25' });
        const numbers = await query.list('dataElements', {
          fields: 'id,code,categoryCombo[id,name]',
          filters: ['valueType:eq:NUMBER', 'zeroIsSignificant:eq:true'],
          paging: false,
        });
        assert.equal(numbers.pager, undefined);
        assert.deepEqual(
          numbers.objects.map((o) => o.code),
          ['DE_0', 'DE_6', 'DE_12', 'DE_18', 'DE_24', 'DE_30', 'DE_36', 'DE_42', 'DE_48', 'DE_54'],
        );
        assert.deepEqual(numbers.objects[0].categoryCombo, { id: 'bjDvmb4bfuf', name: 'default' });
        const levels = await query.list('organisationUnits', { fields: 'name', filters: ['level:eq:2'] });
        assert.deepEqual(levels.objects, [{ name: 'Bo' }]);
        const parents = await query.list('organisationUnits', {
          fields: 'name,parent[name,parent[name]]',
          filters: ['id:in:[YuQRtpLP10I,O6uvpzGd5pu]'],
        });
        assert.deepEqual(parents.objects, [
          { name: 'Badjia', parent: { name: 'Bo', parent: { name: 'Sierra Leone' } } },
          { name: 'Bo', parent: { name: 'Sierra Leone' } },
        ]);
      } finally {
        await db.dispose();
      }
    });
  });
}
