import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatPeriod,
  ISO_PERIOD_TYPES,
  nextPeriod,
  parsePeriod,
  periodContaining,
  periodsBetween,
  previousPeriod,
  type Period,
} from './periods.ts';
import { fromAdxPeriod, toAdxPeriod } from './adx-period.ts';
import { daysFromCivil, formatDay, parseDay, weekdayOf } from './calendar-days.ts';

const MIN_DAY = daysFromCivil(1900, 1, 1);
const MAX_DAY = daysFromCivil(2100, 12, 31);

const dayArb = fc.integer({ min: MIN_DAY, max: MAX_DAY });
const dateArb = dayArb.map(formatDay);
const typeArb = fc.constantFrom(...ISO_PERIOD_TYPES);
const periodArb = fc.tuple(typeArb, dateArb).map(([type, date]) => periodContaining(type, date)!);

/** BiW27 of a 53-week ISO year overlaps the next year's BiW1 (DHIS2's bi-week numbering). */
function isOverlappingBiWeek(period: Period): boolean {
  return period.type === 'BiWeekly' && period.iso.endsWith('BiW27');
}

function day(date: string): number {
  return parseDay(date)!;
}

/** ISO 8601 week number by the ordinal-date formula, independent of the implementation under test. */
function isoWeek(date: string): { year: number; week: number } {
  const d = day(date);
  const year = Number(date.slice(0, 4));
  const ordinal = d - daysFromCivil(year, 1, 1) + 1;
  const week = Math.floor((ordinal - weekdayOf(d) + 10) / 7);
  if (week < 1) return isoWeek(`${year - 1}-12-31`);
  const weeksThisYear = isoWeek52or53(year);
  return week > weeksThisYear ? { year: year + 1, week: 1 } : { year, week };
}

function isoWeek52or53(year: number): number {
  const jan1 = weekdayOf(daysFromCivil(year, 1, 1));
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return jan1 === 4 || (leap && jan1 === 3) ? 53 : 52;
}

describe('period properties', () => {
  it('a period contains the date it was found for and round-trips through parse and format', () => {
    fc.assert(
      fc.property(typeArb, dateArb, (type, date) => {
        const period = periodContaining(type, date);
        assert.ok(period, `${type} ${date}`);
        assert.equal(period.type, type);
        assert.ok(period.startDate <= date && date <= period.endDate);
        assert.deepEqual(parsePeriod(period.iso), period);
        assert.equal(formatPeriod(period), period.iso);
      }),
      { numRuns: 3000 },
    );
  });

  it('next(previous(p)) = p and previous(next(p)) = p', () => {
    fc.assert(
      fc.property(periodArb, (period) => {
        assert.deepEqual(nextPeriod(previousPeriod(period)!), period);
        assert.deepEqual(previousPeriod(nextPeriod(period)!), period);
      }),
      { numRuns: 3000 },
    );
  });

  it('consecutive periods are contiguous and ordered', () => {
    fc.assert(
      fc.property(periodArb, (period) => {
        const next = nextPeriod(period)!;
        assert.ok(next.startDate > period.startDate);
        if (!isOverlappingBiWeek(period)) assert.equal(day(next.startDate), day(period.endDate) + 1);
      }),
      { numRuns: 3000 },
    );
  });

  it('periodsBetween covers a range without gaps and only with periods inside it', () => {
    fc.assert(
      fc.property(typeArb, dayArb, fc.integer({ min: 0, max: 800 }), (type, start, length) => {
        const startDate = formatDay(start);
        const endDate = formatDay(start + length);
        const periods = periodsBetween(type, startDate, endDate);
        for (const p of periods) assert.ok(p.startDate >= startDate && p.endDate <= endDate);
        for (let i = 1; i < periods.length; i++) {
          assert.equal(periods[i].iso, nextPeriod(periods[i - 1])!.iso);
          if (!isOverlappingBiWeek(periods[i - 1])) {
            assert.equal(day(periods[i].startDate), day(periods[i - 1].endDate) + 1);
          }
        }
        // Nothing missing at either end: the neighbours stick out of the range.
        if (periods.length > 0) {
          assert.ok(previousPeriod(periods[0])!.startDate < startDate);
          assert.ok(nextPeriod(periods.at(-1)!)!.endDate > endDate);
        } else {
          const first = periodContaining(type, startDate)!;
          assert.ok(first.startDate < startDate || first.endDate > endDate);
          assert.ok(nextPeriod(first)!.endDate > endDate);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('weekly periods are ISO 8601 weeks', () => {
    fc.assert(
      fc.property(dateArb, (date) => {
        const { year, week } = isoWeek(date);
        assert.equal(periodContaining('Weekly', date)!.iso, `${year}W${week}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('a week of any variant belongs to the year holding at least four of its days', () => {
    const weeklyTypes = ISO_PERIOD_TYPES.filter((t) => t.startsWith('Weekly'));
    fc.assert(
      fc.property(fc.constantFrom(...weeklyTypes), dateArb, (type, date) => {
        const week = periodContaining(type, date)!;
        const year = week.iso.slice(0, 4);
        let daysInYear = 0;
        for (let d = day(week.startDate); d <= day(week.endDate); d++) {
          if (formatDay(d).startsWith(year)) daysInYear++;
        }
        assert.ok(daysInYear >= 4, `${week.iso} has ${daysInYear} days in ${year}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('a year has week 53 exactly when its 53rd week fits, for every weekly variant', () => {
    const weeklyTypes = ISO_PERIOD_TYPES.filter((t) => t.startsWith('Weekly'));
    const prefix: Record<string, string> = {
      Weekly: 'W',
      WeeklyWednesday: 'WedW',
      WeeklyThursday: 'ThuW',
      WeeklyFriday: 'FriW',
      WeeklySaturday: 'SatW',
      WeeklySunday: 'SunW',
    };
    fc.assert(
      fc.property(fc.constantFrom(...weeklyTypes), fc.integer({ min: 1901, max: 2099 }), (type, year) => {
        // Each week has exactly one "fourth day", so a year's week count is how many of that weekday it has.
        const firstDay = day(parsePeriod(`${year}${prefix[type]}1`)!.startDate);
        const fourthWeekday = weekdayOf(firstDay + 3);
        let count = 0;
        for (let d = daysFromCivil(year, 1, 1); d < daysFromCivil(year + 1, 1, 1); d++) {
          if (weekdayOf(d) === fourthWeekday) count++;
        }
        assert.equal(parsePeriod(`${year}${prefix[type]}53`) !== undefined, count === 53);
        assert.equal(nextPeriod(parsePeriod(`${year}${prefix[type]}52`)!)!.iso.endsWith('W53'), count === 53);
      }),
      { numRuns: 500 },
    );
  });

  it('zero-padded and dashed forms parse to the canonical period', () => {
    fc.assert(
      fc.property(periodArb, (period) => {
        const week = /^(\d{4}\D*W)(\d)$/.exec(period.iso);
        if (week) assert.deepEqual(parsePeriod(`${week[1]}0${week[2]}`), period);
        if (period.type === 'Monthly') assert.deepEqual(parsePeriod(period.startDate.slice(0, 7)), period);
        if (period.type === 'Daily') assert.deepEqual(parsePeriod(period.startDate), period);
      }),
      { numRuns: 2000 },
    );
  });

  it('ADX start/duration round-trips for every type', () => {
    fc.assert(
      fc.property(periodArb, (period) => {
        assert.deepEqual(fromAdxPeriod(toAdxPeriod(period)), period);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary strings, and anything it accepts is canonical on re-parse', () => {
    const alphabet = fc.constantFrom(...'0123456789-WBQSAprilNovFebJulyAugSepOctWedThuFriSatSun/P'.split(''));
    const periodLike = fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.array(alphabet, { maxLength: 8 }));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          periodLike.map(([y, r]) => String(y).padStart(4, '0') + r.join('')),
        ),
        (s) => {
          const p = parsePeriod(s);
          if (p) assert.deepEqual(parsePeriod(p.iso), p);
          fromAdxPeriod(s);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
