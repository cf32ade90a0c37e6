import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canIssueUserRole,
  mayWriteType,
  missingAuthorities,
  roleAuthorities,
  userManagementRefusal,
} from './user-admin-rules.ts';

const admin = {
  authorities: new Set(['F_USER_ADD', 'F_USERROLE_PUBLIC_ADD', 'F_DATAVALUE_ADD']),
  roleUids: new Set(['roleAdmin01']),
};

describe('user administration rules', () => {
  it('needs the type authority: F_USER_ADD for users, either role add authority for roles', () => {
    assert.equal(mayWriteType(admin.authorities, 'users', 'write'), true);
    assert.equal(mayWriteType(admin.authorities, 'users', 'delete'), false);
    assert.equal(mayWriteType(admin.authorities, 'userRoles', 'write'), true);
    assert.equal(mayWriteType(new Set(['F_USERROLE_PRIVATE_ADD']), 'userRoles', 'write'), true);
    assert.equal(mayWriteType(admin.authorities, 'userGroups', 'write'), false);
    assert.equal(mayWriteType(new Set(['F_METADATA_IMPORT']), 'userRoles', 'write'), false);
    assert.equal(mayWriteType(new Set(['ALL']), 'userGroups', 'delete'), true);
  });

  it('lists the authorities a user lacks, every string counting, none for ALL', () => {
    assert.deepEqual(missingAuthorities(admin.authorities, ['F_DATAVALUE_ADD', 'ALL', 'M_app', 'ALL']), [
      'ALL',
      'M_app',
    ]);
    assert.deepEqual(missingAuthorities(new Set(['ALL']), ['ALL', 'F_X']), []);
    assert.deepEqual(roleAuthorities({ authorities: ['F_A', 3, null, 'F_B'] }), ['F_A', 'F_B']);
    assert.deepEqual(roleAuthorities(undefined), []);
  });

  it('issues only existing roles within its own authorities that are not its own (canIssueUserRole)', () => {
    assert.equal(canIssueUserRole(admin, { id: 'roleEntry01', authorities: ['F_DATAVALUE_ADD'] }), true);
    assert.equal(canIssueUserRole(admin, { id: 'roleSuper01', authorities: ['ALL'] }), false);
    assert.equal(canIssueUserRole(admin, { id: 'roleOther01', authorities: ['F_EXPORT_DATA'] }), false);
    assert.equal(canIssueUserRole(admin, { id: 'roleAdmin01', authorities: ['F_USER_ADD'] }), false);
    assert.equal(canIssueUserRole(admin, undefined), false);
    const superuser = { authorities: new Set(['ALL']), roleUids: new Set(['roleSuper01']) };
    assert.equal(canIssueUserRole(superuser, { id: 'roleSuper01', authorities: ['ALL'] }), true);
  });

  it('manages only users with at most its own rights, never a superuser', () => {
    assert.equal(userManagementRefusal(admin.authorities, new Set(['F_DATAVALUE_ADD'])), undefined);
    assert.equal(userManagementRefusal(admin.authorities, new Set()), undefined);
    assert.deepEqual(userManagementRefusal(admin.authorities, new Set(['ALL'])), { reason: 'superuser' });
    assert.deepEqual(userManagementRefusal(admin.authorities, new Set(['F_DATAVALUE_ADD', 'F_X'])), {
      reason: 'authorities',
      missing: ['F_X'],
    });
    assert.equal(userManagementRefusal(new Set(['ALL']), new Set(['ALL'])), undefined);
  });
});
