import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  accessGrants,
  canDataRead,
  canDataReadOptionCombo,
  canDataWrite,
  canDataWriteOptionCombo,
  hasSharingPermission,
  readSharing,
  type SharingSubject,
} from './data-sharing.ts';
import { buildPrincipal, sharingSubjectOf } from './principal.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../category/default-category-model.ts';

const USER = 'userAAAAAA1';
const GROUP = 'groupAAAAA1';
const OTHER_GROUP = 'groupBBBBB1';
const subject: SharingSubject = { userUid: USER, userGroupUids: [GROUP], superuser: false };
const stranger: SharingSubject = { userUid: 'strangerUs1', userGroupUids: [OTHER_GROUP], superuser: false };
const superuser: SharingSubject = { userUid: 'adminUser01', userGroupUids: [], superuser: true };

describe('access strings', () => {
  it('read metadata at positions 1-2 and data at positions 3-4', () => {
    assert.equal(accessGrants('r-------', 'metadataRead'), true);
    assert.equal(accessGrants('r-------', 'dataRead'), false);
    assert.equal(accessGrants('-w------', 'metadataWrite'), true);
    assert.equal(accessGrants('--r-----', 'dataRead'), true);
    assert.equal(accessGrants('--r-----', 'metadataRead'), false);
    assert.equal(accessGrants('---w----', 'dataWrite'), true);
    assert.equal(accessGrants('rw------', 'dataRead'), false);
    assert.equal(accessGrants('rw------', 'dataWrite'), false);
  });
  it('grant nothing when missing, short or with other letters at the position', () => {
    assert.equal(accessGrants(undefined, 'dataRead'), false);
    assert.equal(accessGrants(null, 'metadataRead'), false);
    assert.equal(accessGrants('rw', 'dataRead'), false);
    assert.equal(accessGrants('RWRW----', 'dataRead'), false, 'letters are lower case, as DHIS2 writes them');
    assert.equal(accessGrants('rwwr----', 'dataRead'), false);
  });
});

describe('reading sharing from a body', () => {
  it('reads the 2.36+ sharing object (map entries, key standing in for a missing id)', () => {
    const sharing = readSharing({
      sharing: {
        owner: 'ownerUser01',
        external: false,
        public: 'rw------',
        users: { [USER]: { id: USER, access: 'rwr-----' } },
        userGroups: { [GROUP]: { access: 'rwrw----' } },
      },
    });
    assert.equal(sharing?.public, 'rw------');
    assert.deepEqual(sharing?.users.get(USER), ['rwr-----']);
    assert.deepEqual(sharing?.userGroups.get(GROUP), ['rwrw----']);
  });
  it('reads the older publicAccess, userAccesses and userGroupAccesses (id, userUid or nested reference)', () => {
    const sharing = readSharing({
      publicAccess: '--------',
      userAccesses: [{ userUid: USER, access: 'r-r-----', displayName: 'A user' }],
      userGroupAccesses: [
        { id: GROUP, access: 'rwrw----' },
        { userGroup: { id: OTHER_GROUP }, access: 'r-------' },
        { access: 'rwrw----' },
      ],
    });
    assert.equal(sharing?.public, '--------');
    assert.deepEqual(sharing?.users.get(USER), ['r-r-----']);
    assert.deepEqual([...(sharing?.userGroups.keys() ?? [])], [GROUP, OTHER_GROUP]);
  });
  it('prefers the sharing object when a body carries both shapes', () => {
    const sharing = readSharing({ sharing: { public: '--------' }, publicAccess: 'rwrw----' });
    assert.equal(sharing?.public, '--------');
  });
  it('says undefined only when there is no sharing information at all', () => {
    assert.equal(readSharing({ id: 'x', name: 'No sharing' }), undefined);
    assert.equal(readSharing({ userAccesses: [], userGroupAccesses: [] }), undefined);
    assert.notEqual(readSharing({ sharing: {} }), undefined);
    assert.notEqual(readSharing({ userGroupAccesses: [{ id: GROUP, access: 'rwrw----' }] }), undefined);
  });
});

describe('data read and write', () => {
  const groupShared = {
    id: 'dataSetAAA1',
    sharing: { public: 'rw------', userGroups: { [GROUP]: { id: GROUP, access: 'rwr-----' } } },
  };
  it('grants through a user group the user belongs to, and to nobody else', () => {
    assert.equal(canDataRead(groupShared, subject), true);
    assert.equal(canDataWrite(groupShared, subject), false, 'the group may read, not write');
    assert.equal(canDataRead(groupShared, stranger), false, 'public has metadata access only');
  });
  it('grants through a user entry and through public access', () => {
    const userShared = {
      sharing: { public: '--------', users: { [USER]: { id: USER, access: 'r-rw----' } } },
    };
    assert.equal(canDataRead(userShared, subject), true);
    assert.equal(canDataWrite(userShared, subject), true);
    assert.equal(canDataRead(userShared, stranger), false);
    const publicData = { publicAccess: 'r-r-----' };
    assert.equal(canDataRead(publicData, stranger), true);
    assert.equal(canDataWrite(publicData, stranger), false);
  });
  it('treats data write as data read, as DHIS2 does', () => {
    assert.equal(canDataRead({ sharing: { public: '---w----' } }, stranger), true);
  });
  it('gives the owner no data access of its own', () => {
    const owned = { sharing: { owner: USER, public: 'rw------' }, user: { id: USER } };
    assert.equal(hasSharingPermission(owned, subject, 'metadataRead'), true, 'through public');
    assert.equal(canDataRead(owned, subject), false);
  });
  it('treats an object without sharing information as public data read and write', () => {
    assert.equal(canDataRead({ id: 'plainObjec1' }, stranger), true);
    assert.equal(canDataWrite({ id: 'plainObjec1' }, stranger), true);
  });
  it('gives no public access when sharing is present without a public string', () => {
    const noPublic = { sharing: { userGroups: { [GROUP]: { id: GROUP, access: 'rwrw----' } } } };
    assert.equal(canDataRead(noPublic, subject), true);
    assert.equal(canDataRead(noPublic, stranger), false);
    assert.equal(canDataRead({ sharing: {} }, stranger), false);
  });
  it('lets a superuser through everything', () => {
    assert.equal(canDataRead({ sharing: { public: '--------' } }, superuser), true);
    assert.equal(canDataWrite({ publicAccess: '--------' }, superuser), true);
  });
});

describe('attribute option combos', () => {
  const options = new Map<string, Record<string, unknown>>([
    ['optionOpen1', { id: 'optionOpen1', sharing: { public: 'rwrw----' } }],
    [
      'optionTeam1',
      { id: 'optionTeam1', sharing: { public: 'rw------', userGroups: { [GROUP]: { access: 'r-r-----' } } } },
    ],
    ['optionShut1', { id: 'optionShut1', sharing: { public: 'rw------' } }],
  ]);
  const optionOf = (uid: string) => options.get(uid);
  const combo = (id: string, ...optionUids: string[]) => ({
    id,
    categoryOptions: optionUids.map((uid) => ({ id: uid })),
  });
  it('needs every category option data-readable', () => {
    assert.equal(
      canDataReadOptionCombo(combo('comboAAAAA1', 'optionOpen1', 'optionTeam1'), optionOf, subject),
      true,
    );
    assert.equal(
      canDataReadOptionCombo(combo('comboAAAAA1', 'optionOpen1', 'optionTeam1'), optionOf, stranger),
      false,
    );
    assert.equal(
      canDataReadOptionCombo(combo('comboBBBBB1', 'optionOpen1', 'optionShut1'), optionOf, subject),
      false,
    );
    assert.equal(canDataReadOptionCombo(combo('comboBBBBB1', 'optionShut1'), optionOf, superuser), true);
  });
  it('always allows the default combo and a combo without options', () => {
    const restrictedDefault = {
      id: DEFAULT_CATEGORY_OPTION_COMBO_UID,
      categoryOptions: [{ id: 'optionShut1' }],
    };
    assert.equal(canDataReadOptionCombo(restrictedDefault, optionOf, stranger), true);
    assert.equal(canDataReadOptionCombo(combo('comboEmpty1'), optionOf, stranger), true);
  });
  it('needs every category option data-writable to write', () => {
    const teamAndOpen = combo('comboAAAAA1', 'optionOpen1', 'optionTeam1');
    assert.equal(canDataWriteOptionCombo(teamAndOpen, optionOf, subject), false, 'the team may only read');
    assert.equal(canDataWriteOptionCombo(combo('comboDDDDD1', 'optionOpen1'), optionOf, stranger), true);
    assert.equal(canDataWriteOptionCombo(teamAndOpen, optionOf, superuser), true);
  });
  it('does not refuse for an option Ferry does not hold (no sharing information)', () => {
    assert.equal(
      canDataReadOptionCombo(combo('comboCCCCC1', 'optionGone1', 'optionOpen1'), optionOf, stranger),
      true,
    );
  });
});

describe('principal as a sharing subject', () => {
  it('carries its user groups (deduplicated) and whether it holds ALL', () => {
    const user = { id: USER, username: 'someone' };
    const plain = sharingSubjectOf(
      buildPrincipal(user, [{ authorities: ['F_EXPORT_DATA'] }], [GROUP, GROUP]),
    );
    assert.deepEqual(plain, { userUid: USER, userGroupUids: [GROUP], superuser: false });
    assert.equal(sharingSubjectOf(buildPrincipal(user, [{ authorities: ['ALL'] }])).superuser, true);
  });
});
