import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planCategoryOptionCombos } from './category-option-combos.ts';

const sex = {
  id: 'cSex0000001',
  categoryOptions: [
    { id: 'oMale000001', name: 'Male' },
    { id: 'oFemale0001', name: 'Female' },
  ],
};
const age = {
  id: 'cAge0000001',
  categoryOptions: [
    { id: 'oUnder50001', name: '<5' },
    { id: 'oOver500001', name: '5+' },
  ],
};

describe('planCategoryOptionCombos', () => {
  it('creates the cartesian product with DHIS2 names, first category slowest', () => {
    let n = 0;
    const plan = planCategoryOptionCombos([sex, age], [], () => `Coc${String(++n).padStart(8, '0')}`);
    assert.deepEqual(
      plan.all.map((c) => c.name),
      ['Male, <5', 'Male, 5+', 'Female, <5', 'Female, 5+'],
    );
    assert.equal(plan.create.length, 4);
    assert.deepEqual(plan.keep, []);
  });

  it('keeps existing combos by option set regardless of order and retires the rest', () => {
    const existing = [
      { id: 'keepMe00001', categoryOptions: [{ id: 'oUnder50001' }, { id: 'oMale000001' }] },
      { id: 'retireMe001', categoryOptions: [{ id: 'oGone000001' }, { id: 'oMale000001' }] },
    ];
    const plan = planCategoryOptionCombos([sex, age], existing, () => 'NewCoc00001');
    assert.deepEqual(plan.keep, ['keepMe00001']);
    assert.deepEqual(plan.retire, ['retireMe001']);
    assert.equal(plan.create.length, 3);
    assert.equal(plan.all[0].id, 'keepMe00001');
  });
});
