import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canUsePool, creatorSharing, DedupePoolInputError, parsePoolInput } from './dedupe-pool.ts';
import { DedupeParameterError, parseDedupeUse } from './dedupe-use.ts';
import { DEDUPE_ENTITY_TYPES, entityTypesCsv } from './dedupe-entity-types.ts';

const subject = (userUid: string, groups: string[] = []) => ({
  userUid,
  userGroupUids: groups,
  superuser: false,
});

describe('pool sharing', () => {
  it('gives the creator full use, others none, ALL and the operator everything', () => {
    const pool = { sharing: creatorSharing('creator0001') };
    for (const access of ['see', 'manage', 'filter', 'track'] as const) {
      assert.equal(canUsePool(pool, subject('creator0001'), access), true, access);
      assert.equal(canUsePool(pool, subject('someone0001'), access), false, access);
      assert.equal(canUsePool(pool, { ...subject('someone0001'), superuser: true }, access), true, access);
      assert.equal(canUsePool(pool, undefined, access), true, access);
    }
  });
  it('reads the four letters as see, manage, filter, track; groups grant too; the owner keeps metadata rights', () => {
    const pool = {
      sharing: {
        owner: 'owner000001',
        public: 'r-------',
        users: { reader00001: { id: 'reader00001', access: '--r-----' } },
        userGroups: { group000001: { id: 'group000001', access: '---w----' } },
      },
    };
    assert.deepEqual(
      (['see', 'manage', 'filter', 'track'] as const).map((a) => canUsePool(pool, subject('anyone00001'), a)),
      [true, false, false, false],
    );
    assert.equal(canUsePool(pool, subject('reader00001'), 'filter'), true);
    assert.equal(canUsePool(pool, subject('reader00001'), 'track'), false);
    assert.equal(canUsePool(pool, subject('member00001', ['group000001']), 'track'), true);
    assert.equal(
      canUsePool(pool, subject('member00001', ['group000001']), 'filter'),
      true,
      'write implies read',
    );
    assert.equal(canUsePool(pool, subject('owner000001'), 'manage'), true);
    assert.equal(canUsePool(pool, subject('owner000001'), 'track'), false, 'the owner gets no data access');
  });
});

describe('pool input', () => {
  it('defaults retention to 90 days and refuses bad fields by name', () => {
    assert.equal(parsePoolInput({ name: ' Pool ' }).retentionDays, 90);
    assert.equal(parsePoolInput({ name: ' Pool ' }).name, 'Pool');
    for (const [body, field] of [
      [{ name: '' }, 'name'],
      [{ name: 'x', retentionDays: 1.5 }, 'retentionDays'],
      [{ name: 'x', sharing: { public: 'rwx' } }, 'sharing.public'],
      [{ name: 'x', sharing: { users: { notAUid: { access: 'r-------' } } } }, 'sharing.users.notAUid'],
    ] as const) {
      assert.throws(
        () => parsePoolInput(body),
        (error: unknown) => error instanceof DedupePoolInputError && error.field === field,
      );
    }
  });
});

describe('dedupe parameters', () => {
  it('default to FILTER_AND_TRACK and the full data value key', () => {
    assert.equal(parseDedupeUse({}), undefined);
    assert.deepEqual(parseDedupeUse({ dedupePool: 'p' }), {
      pool: 'p',
      mode: 'FILTER_AND_TRACK',
      keyFields: ['dataElement', 'period', 'orgUnit', 'categoryOptionCombo', 'attributeOptionCombo'],
    });
    assert.deepEqual(
      parseDedupeUse({ dedupePool: 'p', dedupeMode: 'track', dedupeKey: 'orgUnit,period' })?.keyFields,
      ['orgUnit', 'period'],
    );
    for (const params of [
      { dedupeMode: 'FILTER' },
      { dedupePool: 'p', dedupeKey: 'orgUnit,orgUnit' },
      { dedupePool: 'p', dedupeMode: 'x' },
    ])
      assert.throws(() => parseDedupeUse(params), DedupeParameterError);
  });
  it('lists entity types with ids that never change', () => {
    assert.deepEqual(
      DEDUPE_ENTITY_TYPES.map((t) => `${t.id}:${t.code}`),
      ['1:DATA_VALUE', '2:EVENT', '3:TRACKED_ENTITY', '4:ENROLLMENT', '5:ORGANISATION_UNIT'],
    );
    assert.equal(entityTypesCsv().split('\n').length, DEDUPE_ENTITY_TYPES.length + 2);
  });
});
