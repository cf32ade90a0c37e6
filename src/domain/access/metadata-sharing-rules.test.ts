import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { effectivePublicAccess, sharingChanged, sharingChangeRefusal } from './metadata-sharing-rules.ts';

describe('metadata sharing rules', () => {
  const modern = {
    sharing: {
      public: 'r-------',
      users: { u1: { id: 'u1', access: 'rw------' } },
      userGroups: { g1: { id: 'g1', access: 'rwrw----' }, g2: { id: 'g2', access: 'r-r-----' } },
    },
  };
  const legacy = {
    publicAccess: 'r-------',
    userAccesses: [{ id: 'u1', access: 'rw------' }],
    userGroupAccesses: [
      { userGroupUid: 'g2', access: 'r-r-----' },
      { id: 'g1', access: 'rwrw----' },
    ],
  };

  it('compares what sharing grants, not its shape or order', () => {
    assert.equal(sharingChanged(modern, legacy), false);
    assert.equal(sharingChanged(modern, { ...legacy, publicAccess: 'rw------' }), true);
    assert.equal(
      sharingChanged(modern, { ...legacy, userAccesses: [{ id: 'u1', access: 'rwrw----' }] }),
      true,
    );
    // Dropping sharing altogether grants rwrw---- to everyone.
    assert.equal(sharingChanged(modern, {}), true);
    assert.equal(sharingChanged({}, { publicAccess: 'rwrw----' }), false);
    assert.equal(effectivePublicAccess({}), 'rwrw----');
    assert.equal(effectivePublicAccess({ sharing: { users: {} } }), '--------');
  });

  it("needs the type's public authority for public, public or private for private", () => {
    const isPublic = { publicAccess: 'r-------' };
    const isPrivate = { publicAccess: '--------' };
    const none = new Set(['F_METADATA_IMPORT']);
    assert.deepEqual(sharingChangeRefusal(none, 'dataSets', isPublic), {
      code: 'E3008',
      publicAccess: 'r-------',
    });
    assert.deepEqual(sharingChangeRefusal(none, 'dataSets', isPrivate), {
      code: 'E3009',
      publicAccess: '--------',
    });
    assert.equal(sharingChangeRefusal(new Set(['F_DATASET_PUBLIC_ADD']), 'dataSets', isPublic), undefined);
    assert.equal(sharingChangeRefusal(new Set(['F_DATASET_PUBLIC_ADD']), 'dataSets', isPrivate), undefined);
    assert.equal(sharingChangeRefusal(new Set(['F_DATASET_PRIVATE_ADD']), 'dataSets', isPrivate), undefined);
    assert.equal(
      sharingChangeRefusal(new Set(['F_DATASET_PRIVATE_ADD']), 'dataSets', isPublic)?.code,
      'E3008',
    );
    // Another type's authority does not count; a type without known authorities is for superusers.
    assert.equal(
      sharingChangeRefusal(new Set(['F_DATASET_PUBLIC_ADD']), 'categoryOptions', isPublic)?.code,
      'E3008',
    );
    assert.equal(sharingChangeRefusal(none, 'organisationUnits', isPrivate)?.code, 'E3009');
    assert.equal(sharingChangeRefusal(new Set(['ALL']), 'organisationUnits', isPublic), undefined);
  });
});
