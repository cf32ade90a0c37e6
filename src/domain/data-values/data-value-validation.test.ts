import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkValue, isInsignificantZero } from './data-value-validation.ts';
import { DataValueKeySet } from './data-value-key-set.ts';

describe('checkValue', () => {
  it('never lets Number() quirks through as numbers', () => {
    for (const text of ['', ' 5', '0x1A', '1e400', '12abc', 'NaN', 'Infinity', '+1', '.5', '01']) {
      assert.equal(checkValue('NUMBER', text).ok, false, text);
    }
    for (const text of ['0', '-0', '12', '-3.25', '1e3', '2.5E-2'])
      assert.equal(checkValue('NUMBER', text).ok, true, text);
  });
  it('checks integer families, ranges and the other types', () => {
    assert.equal(checkValue('INTEGER_POSITIVE', '0').ok, false);
    assert.equal(checkValue('INTEGER_NEGATIVE', '-4').ok, true);
    assert.equal(checkValue('INTEGER_ZERO_OR_POSITIVE', '-1').ok, false);
    assert.equal(checkValue('INTEGER', '9007199254740993').ok, false);
    assert.equal(checkValue('PERCENTAGE', '100.5').ok, false);
    assert.equal(checkValue('UNIT_INTERVAL', '0.3').ok, true);
    assert.deepEqual(checkValue('BOOLEAN', 'TRUE'), { ok: true, value: 'true' });
    assert.equal(checkValue('TRUE_ONLY', 'false').ok, false);
    assert.equal(checkValue('DATE', '2023-02-29').ok, false);
    assert.equal(checkValue('DATETIME', '2024-01-15T10:30:00Z').ok, true);
    assert.equal(checkValue('LETTER', 'ab').ok, false);
    assert.equal(checkValue('EMAIL', 'a@b.org').ok, true);
    assert.equal(checkValue('URL', 'javascript:alert(1)').ok, false);
    assert.equal(checkValue('COORDINATE', '[-11.4,8.1]').ok, true);
    assert.equal(checkValue('COORDINATE', '[200,8.1]').ok, false);
    assert.equal(checkValue('PHONE_NUMBER', '+232 76 123456').ok, true);
    for (const text of ['9:05', '09:05', '0:00', '23:59'])
      assert.equal(checkValue('TIME', text).ok, true, text);
    for (const text of ['24:00', '9:5', '123:00', '12:60', ' 9:05']) {
      assert.equal(checkValue('TIME', text).ok, false, text);
    }
    assert.equal(checkValue('AGE', '2020-01-01').ok, true);
    assert.equal(checkValue('TEXT', 'x'.repeat(50_001)).ok, false);
  });
  it('treats zero as insignificant only for numeric types that say so', () => {
    assert.equal(isInsignificantZero('NUMBER', '0.0', false), true);
    assert.equal(isInsignificantZero('NUMBER', '0', true), false);
    assert.equal(isInsignificantZero('TEXT', '0', false), false);
  });
});

describe('DataValueKeySet', () => {
  it('remembers keys exactly across growth', () => {
    const keys = new DataValueKeySet();
    for (let i = 0; i < 100_000; i++) assert.equal(keys.add(i % 997, i % 13, i, 1, 2), true);
    for (let i = 0; i < 100_000; i += 7) assert.equal(keys.add(i % 997, i % 13, i, 1, 2), false);
    assert.equal(keys.add(1, 1, 1, 1, 3), true);
    assert.equal(keys.size, 100_001);
  });
});
