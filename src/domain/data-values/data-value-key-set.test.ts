import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataValueKeySet } from './data-value-key-set.ts';

describe('DataValueKeySet against a Set of strings', () => {
  it('agrees on every add, for dense and sparse keys alike', () => {
    const id = fc.integer({ min: 1, max: 40 });
    const key = fc.tuple(id, id, id, fc.integer({ min: 1, max: 80 }), fc.integer({ min: 1, max: 3 }));
    fc.assert(
      fc.property(fc.array(key, { maxLength: 3000 }), (keys) => {
        const set = new DataValueKeySet();
        const expected = new Set<string>();
        for (const k of keys) {
          const text = k.join(':');
          assert.equal(set.add(...k), !expected.has(text));
          expected.add(text);
        }
        assert.equal(set.size, expected.size);
      }),
      { numRuns: 200 },
    );
  });

  it('holds a full form of 100 operands for 20,000 org unit periods in under 2 bytes a value', () => {
    const set = new DataValueKeySet();
    for (let ou = 0; ou < 2000; ou++) {
      for (let pe = 0; pe < 10; pe++) {
        for (let de = 0; de < 50; de++) {
          assert.equal(set.add(ou, pe, de, 1, 9), true);
          assert.equal(set.add(ou, pe, de, 2, 9), true);
        }
      }
    }
    assert.equal(set.add(1999, 9, 49, 2, 9), false);
    assert.equal(set.add(0, 0, 0, 1, 9), false);
    assert.equal(set.size, 2_000_000);
    assert.ok(set.tableBytes <= 2 * set.size, `${set.tableBytes} bytes`);
  });
});
