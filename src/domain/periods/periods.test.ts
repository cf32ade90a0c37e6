import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatPeriod,
  ISO_PERIOD_TYPES,
  nextPeriod,
  parsePeriod,
  periodContaining,
  periodsBetween,
  previousPeriod,
} from './periods.ts';
import { PERIOD_TYPE_NAMES } from '../schema/period-type-names.ts';

/** [input, canonical iso, type, start, end]: DHIS2's documented formats (notes/dhis2.md §2.4). */
const EXAMPLES: ReadonlyArray<readonly [string, string, string, string, string]> = [
  ['20240115', '20240115', 'Daily', '2024-01-15', '2024-01-15'],
  ['2024-01-15', '20240115', 'Daily', '2024-01-15', '2024-01-15'],
  ['2024W5', '2024W5', 'Weekly', '2024-01-29', '2024-02-04'],
  ['2024W05', '2024W5', 'Weekly', '2024-01-29', '2024-02-04'],
  ['2024WedW5', '2024WedW5', 'WeeklyWednesday', '2024-01-31', '2024-02-06'],
  ['2024ThuW5', '2024ThuW5', 'WeeklyThursday', '2024-02-01', '2024-02-07'],
  ['2024FriW5', '2024FriW5', 'WeeklyFriday', '2024-01-26', '2024-02-01'],
  ['2024SatW5', '2024SatW5', 'WeeklySaturday', '2024-01-27', '2024-02-02'],
  ['2024SunW5', '2024SunW5', 'WeeklySunday', '2024-01-28', '2024-02-03'],
  ['2024BiW1', '2024BiW1', 'BiWeekly', '2024-01-01', '2024-01-14'],
  ['2024BiW01', '2024BiW1', 'BiWeekly', '2024-01-01', '2024-01-14'],
  ['202401', '202401', 'Monthly', '2024-01-01', '2024-01-31'],
  ['2024-02', '202402', 'Monthly', '2024-02-01', '2024-02-29'],
  ['202401B', '202401B', 'BiMonthly', '2024-01-01', '2024-02-29'],
  ['202406B', '202406B', 'BiMonthly', '2024-11-01', '2024-12-31'],
  ['2024Q1', '2024Q1', 'Quarterly', '2024-01-01', '2024-03-31'],
  ['2024Q4', '2024Q4', 'Quarterly', '2024-10-01', '2024-12-31'],
  ['2024NovQ1', '2024NovQ1', 'QuarterlyNov', '2023-11-01', '2024-01-31'],
  ['2024NovQ4', '2024NovQ4', 'QuarterlyNov', '2024-08-01', '2024-10-31'],
  ['2024S1', '2024S1', 'SixMonthly', '2024-01-01', '2024-06-30'],
  ['2024S2', '2024S2', 'SixMonthly', '2024-07-01', '2024-12-31'],
  ['2024AprilS1', '2024AprilS1', 'SixMonthlyApril', '2024-04-01', '2024-09-30'],
  ['2024AprilS2', '2024AprilS2', 'SixMonthlyApril', '2024-10-01', '2025-03-31'],
  ['2024NovS1', '2024NovS1', 'SixMonthlyNov', '2023-11-01', '2024-04-30'],
  ['2024NovS2', '2024NovS2', 'SixMonthlyNov', '2024-05-01', '2024-10-31'],
  ['2024', '2024', 'Yearly', '2024-01-01', '2024-12-31'],
  ['2024Feb', '2024Feb', 'FinancialFeb', '2024-02-01', '2025-01-31'],
  ['2024April', '2024April', 'FinancialApril', '2024-04-01', '2025-03-31'],
  ['2024July', '2024July', 'FinancialJuly', '2024-07-01', '2025-06-30'],
  ['2024Aug', '2024Aug', 'FinancialAug', '2024-08-01', '2025-07-31'],
  ['2024Sep', '2024Sep', 'FinancialSep', '2024-09-01', '2025-08-31'],
  ['2024Oct', '2024Oct', 'FinancialOct', '2024-10-01', '2025-09-30'],
  // DHIS2 labels FinancialNov by the year it ends in (FinancialNovemberPeriodType.getIsoDate is year + 1).
  ['2024Nov', '2024Nov', 'FinancialNov', '2023-11-01', '2024-10-31'],
];

describe('parsePeriod', () => {
  it('parses every DHIS2 ISO format to its type, dates and canonical string', () => {
    for (const [input, iso, type, startDate, endDate] of EXAMPLES) {
      assert.deepEqual({ ...parsePeriod(input) }, { iso, type, startDate, endDate }, input);
    }
  });

  it('covers every period type name except TwoYearly, which has no ISO format', () => {
    const parsedTypes = new Set(EXAMPLES.map((e) => e[2]));
    assert.deepEqual(
      PERIOD_TYPE_NAMES.filter((t) => !parsedTypes.has(t)),
      ['TwoYearly'],
    );
    assert.deepEqual([...ISO_PERIOD_TYPES].sort(), [...parsedTypes].sort());
  });

  it('knows which years have ISO week 53', () => {
    for (const year of [2004, 2009, 2015, 2020, 2026, 2032]) {
      assert.ok(parsePeriod(`${year}W53`), `${year} has W53`);
    }
    for (const year of [2019, 2021, 2022, 2023, 2024, 2025]) {
      assert.equal(parsePeriod(`${year}W53`), undefined, `${year} has no W53`);
    }
    assert.deepEqual(
      { ...parsePeriod('2020W53') },
      {
        iso: '2020W53',
        type: 'Weekly',
        startDate: '2020-12-28',
        endDate: '2021-01-03',
      },
    );
    assert.equal(periodContaining('Weekly', '2021-01-01')?.iso, '2020W53');
    assert.equal(periodContaining('Weekly', '2021-01-04')?.iso, '2021W1');
    assert.equal(periodContaining('Weekly', '2019-12-30')?.iso, '2020W1', 'week 1 can start in December');
    assert.equal(periodContaining('Weekly', '2026-12-31')?.iso, '2026W53');
  });

  it('numbers the other weekly variants by the year holding four of their days', () => {
    // 2021-01-01 is a Friday: the Friday week starting then has all seven days in 2021.
    assert.equal(periodContaining('WeeklyFriday', '2021-01-01')?.startDate, '2021-01-01');
    assert.equal(periodContaining('WeeklyFriday', '2021-01-01')?.iso, '2021FriW1');
    // The Sunday week from 2020-12-27 has five days in 2020 and is its 53rd (2020 starts on a Wednesday).
    assert.equal(periodContaining('WeeklySunday', '2021-01-02')?.iso, '2020SunW53');
    assert.equal(parsePeriod('2021SunW53'), undefined);
    // The Wednesday week from 2020-12-30 has five days in 2021: week 1 of 2021.
    assert.equal(periodContaining('WeeklyWednesday', '2020-12-31')?.iso, '2021WedW1');
    assert.equal(parsePeriod('2021WedW1')?.startDate, '2020-12-30');
  });

  it('rejects what is not a period, without throwing', () => {
    const invalid = [
      '',
      '2024Q5',
      '2024Q0',
      '202413',
      '202400',
      '2024-13',
      '20240230',
      '2023-02-29',
      '2024W0',
      '2024W54',
      '2021W53',
      '2024W100',
      '2024BiW0',
      '2024BiW28',
      '2021BiW27',
      '202407B',
      '202400B',
      '2024S3',
      '2024AprilS3',
      '2024NovS0',
      '2024NovQ5',
      '2024March',
      '2024Jan',
      '2024w5',
      '2024q1',
      ' 2024',
      '2024 ',
      '24',
      '0000',
      '2024-1',
      '2024-01-1',
      '2024TueW5',
      'W52024',
      '2024W5x',
      'abcd',
      '2024-01-15T00:00',
      '99999',
      '2024April1',
      'null',
      '2024-0115',
    ];
    for (const text of invalid) assert.equal(parsePeriod(text), undefined, text);
    for (const junk of [null, undefined, 42, {}, []]) {
      assert.equal(parsePeriod(junk as unknown as string), undefined);
    }
  });

  it('returns the same frozen object for the same period', () => {
    const a = parsePeriod('2024W05');
    assert.equal(a, parsePeriod('2024W5'));
    assert.ok(Object.isFrozen(a));
  });

  it('parses a million rows of a few periods quickly', () => {
    const isos = ['202401', '202402', '2024W5', '2024Q1', '20240115'];
    const started = performance.now();
    for (let i = 0; i < 1_000_000; i++) parsePeriod(isos[i % isos.length]);
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 1500, `took ${elapsed.toFixed(0)} ms`);
  });
});

describe('period arithmetic', () => {
  it('steps across year boundaries', () => {
    assert.equal(nextPeriod(parsePeriod('202412')!)?.iso, '202501');
    assert.equal(previousPeriod(parsePeriod('202501')!)?.iso, '202412');
    assert.equal(nextPeriod(parsePeriod('2020W53')!)?.iso, '2021W1');
    assert.equal(previousPeriod(parsePeriod('2021W1')!)?.iso, '2020W53');
    assert.equal(nextPeriod(parsePeriod('2021W52')!)?.iso, '2022W1');
    assert.equal(nextPeriod(parsePeriod('2024NovQ4')!)?.iso, '2025NovQ1');
    assert.equal(nextPeriod(parsePeriod('2024Nov')!)?.iso, '2025Nov');
    assert.equal(nextPeriod(parsePeriod('202406B')!)?.iso, '202501B');
    assert.equal(nextPeriod(parsePeriod('20241231')!)?.iso, '20250101');
    assert.equal(nextPeriod(parsePeriod('9999')!), undefined, 'no five-digit years');
    assert.equal(previousPeriod(parsePeriod('0001')!), undefined);
  });

  it('has BiW27 only in ISO years with 53 weeks, overlapping the next BiW1 as in DHIS2', () => {
    const biW27 = parsePeriod('2020BiW27')!;
    assert.deepEqual([biW27.startDate, biW27.endDate], ['2020-12-28', '2021-01-10']);
    assert.equal(periodContaining('BiWeekly', '2021-01-05')?.iso, '2021BiW1');
    assert.equal(nextPeriod(biW27)?.iso, '2021BiW1');
    assert.equal(previousPeriod(parsePeriod('2021BiW1')!)?.iso, '2020BiW27');
  });

  it('formats a type and start date back to the ISO string', () => {
    assert.equal(formatPeriod({ type: 'QuarterlyNov', startDate: '2023-11-01' }), '2024NovQ1');
    assert.equal(formatPeriod({ type: 'Weekly', startDate: '2020-12-28' }), '2020W53');
    assert.equal(formatPeriod({ type: 'Weekly', startDate: '2020-12-29' }), undefined, 'not a week start');
    assert.equal(formatPeriod({ type: 'TwoYearly', startDate: '2024-01-01' }), undefined);
    assert.equal(formatPeriod({ type: 'Monthly', startDate: '2024-02-30' }), undefined);
  });

  it('lists the periods lying wholly inside a range', () => {
    assert.deepEqual(
      periodsBetween('Quarterly', '2024-01-01', '2024-12-31').map((p) => p.iso),
      ['2024Q1', '2024Q2', '2024Q3', '2024Q4'],
    );
    assert.deepEqual(
      periodsBetween('Monthly', '2024-01-15', '2024-04-30').map((p) => p.iso),
      ['202402', '202403', '202404'],
    );
    assert.deepEqual(
      periodsBetween('Weekly', '2020-12-21', '2021-01-10').map((p) => p.iso),
      ['2020W52', '2020W53', '2021W1'],
    );
    assert.deepEqual(periodsBetween('Yearly', '2024-01-02', '2024-12-31'), []);
    assert.deepEqual(periodsBetween('Monthly', '2024-05-01', '2024-04-01'), []);
    assert.deepEqual(periodsBetween('NoSuchType', '2024-01-01', '2024-12-31'), []);
    assert.deepEqual(periodsBetween('Monthly', 'soon', '2024-12-31'), []);
    assert.equal(periodsBetween('Daily', '2024-01-01', '2024-12-31').length, 366);
  });
});
