import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { schemaRegistry } from '../schema/schema-registry.ts';
import {
  owningSideOf,
  schemasWithUniqueTogether,
  uniqueTogetherInstances,
  uniqueTogetherKey,
} from './unique-together.ts';

describe('uniqueTogether keys', () => {
  it('finds embedded items and fills the reference to their holder', () => {
    const instances = uniqueTogetherInstances(
      schemaRegistry,
      'dataSets',
      { dataSetElements: [{ dataElement: { id: 'deAAAAAAAA1' } }, { dataElement: { id: 'deAAAAAAAA2' } }] },
      'dsAAAAAAAA1',
    );
    assert.equal(instances.length, 2);
    assert.equal(instances[0].path, 'dataSetElements');
    assert.deepEqual(
      instances.map((i) => uniqueTogetherKey(i, () => undefined)),
      [
        ['dsAAAAAAAA1', 'deAAAAAAAA1'],
        ['dsAAAAAAAA1', 'deAAAAAAAA2'],
      ],
    );
  });

  it('treats a reference list as a set and skips objects missing a part', () => {
    const [coc] = uniqueTogetherInstances(
      schemaRegistry,
      'categoryOptionCombos',
      { id: 'x', categoryCombo: { id: 'cc' }, categoryOptions: [{ id: 'b' }, { id: 'a' }, { id: 'b' }] },
      'x',
    );
    assert.deepEqual(
      uniqueTogetherKey(coc, () => undefined),
      ['cc', 'a+b'],
    );
    const [option] = uniqueTogetherInstances(schemaRegistry, 'options', { id: 'o', code: 'A' }, 'o');
    assert.equal(
      uniqueTogetherKey(option, () => undefined),
      undefined,
    );
    assert.deepEqual(
      uniqueTogetherKey(option, () => 'os'),
      ['os', 'A'],
    );
  });

  it('knows which side owns an inverse reference, and which types need walking', () => {
    const options = schemaRegistry.byCollection('options')!;
    assert.equal(
      owningSideOf(schemaRegistry, options, schemaRegistry.property('options', 'optionSet')!),
      'options',
    );
    const walked = schemasWithUniqueTogether(schemaRegistry);
    for (const c of ['dataSets', 'programStages', 'programs', 'options', 'categoryOptionCombos'])
      assert.ok(walked.has(c), c);
    assert.ok(!walked.has('dataElements'));
  });
});
