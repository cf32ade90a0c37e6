import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { civilFromDays, daysFromCivil, formatDay, parseDay, weekdayOf } from './calendar-days.ts';

describe('calendar days', () => {
  it('agrees with Date on day numbers, dates and weekdays', () => {
    fc.assert(
      fc.property(fc.integer({ min: -700_000, max: 2_900_000 }), (days) => {
        const date = new Date(days * 86_400_000);
        const civil = civilFromDays(days);
        assert.deepEqual(civil, {
          year: date.getUTCFullYear(),
          month: date.getUTCMonth() + 1,
          day: date.getUTCDate(),
        });
        assert.equal(daysFromCivil(civil.year, civil.month, civil.day), days);
        assert.equal(weekdayOf(days), date.getUTCDay() === 0 ? 7 : date.getUTCDay());
      }),
    );
  });

  it('parses only real YYYY-MM-DD dates', () => {
    assert.equal(parseDay('1970-01-01'), 0);
    assert.equal(formatDay(parseDay('2024-02-29')!), '2024-02-29');
    assert.equal(formatDay(parseDay('0099-03-01')!), '0099-03-01', 'two-digit years are not 19xx');
    for (const bad of [
      '2023-02-29',
      '2024-13-01',
      '2024-00-10',
      '2024-01-32',
      '2024-1-01',
      '20240101',
      '',
      'x',
    ]) {
      assert.equal(parseDay(bad), undefined, bad);
    }
  });
});
