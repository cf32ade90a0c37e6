import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromAdxPeriod, toAdxPeriod } from './adx-period.ts';
import { parsePeriod } from './periods.ts';

describe('ADX periods', () => {
  it('reads the examples of the DHIS2 ADX period table', () => {
    // web-api-data.md "ADX period definitions"; rows whose start date is not a period start in
    // DHIS2's own numbering (P14D from ISO week 40, P3M from September) are tested as rejected below.
    const table: Array<[string, string, string, string]> = [
      ['2017-10-01/P1D', 'Daily', '2017-10-01', '2017-10-01'],
      ['2017-10-02/P7D', 'Weekly', '2017-10-02', '2017-10-08'],
      ['2017-10-04/P7D', 'WeeklyWednesday', '2017-10-04', '2017-10-10'],
      ['2017-10-05/P7D', 'WeeklyThursday', '2017-10-05', '2017-10-11'],
      ['2017-10-06/P7D', 'WeeklyFriday', '2017-10-06', '2017-10-12'],
      ['2017-10-07/P7D', 'WeeklySaturday', '2017-10-07', '2017-10-13'],
      ['2017-10-01/P7D', 'WeeklySunday', '2017-10-01', '2017-10-07'],
      ['2017-10-09/P14D', 'BiWeekly', '2017-10-09', '2017-10-22'],
      ['2017-10-01/P1M', 'Monthly', '2017-10-01', '2017-10-31'],
      ['2017-11-01/P2M', 'BiMonthly', '2017-11-01', '2017-12-31'],
      ['2017-10-01/P3M', 'Quarterly', '2017-10-01', '2017-12-31'],
      ['2017-11-01/P3M', 'QuarterlyNov', '2017-11-01', '2018-01-31'],
      ['2017-01-01/P6M', 'SixMonthly', '2017-01-01', '2017-06-30'],
      ['2017-07-01/P6M', 'SixMonthly', '2017-07-01', '2017-12-31'],
      ['2017-04-01/P6M', 'SixMonthlyApril', '2017-04-01', '2017-09-30'],
      ['2017-10-01/P6M', 'SixMonthlyApril', '2017-10-01', '2018-03-31'],
      ['2017-11-01/P6M', 'SixMonthlyNov', '2017-11-01', '2018-04-30'],
      ['2018-05-01/P6M', 'SixMonthlyNov', '2018-05-01', '2018-10-31'],
      ['2017-01-01/P1Y', 'Yearly', '2017-01-01', '2017-12-31'],
      ['2017-02-01/P1Y', 'FinancialFeb', '2017-02-01', '2018-01-31'],
      ['2017-04-01/P1Y', 'FinancialApril', '2017-04-01', '2018-03-31'],
      ['2017-07-01/P1Y', 'FinancialJuly', '2017-07-01', '2018-06-30'],
      ['2017-08-01/P1Y', 'FinancialAug', '2017-08-01', '2018-07-31'],
      ['2017-09-01/P1Y', 'FinancialSep', '2017-09-01', '2018-08-31'],
      ['2017-10-01/P1Y', 'FinancialOct', '2017-10-01', '2018-09-30'],
      ['2017-11-01/P1Y', 'FinancialNov', '2017-11-01', '2018-10-31'],
    ];
    for (const [adx, type, startDate, endDate] of table) {
      const period = fromAdxPeriod(adx);
      assert.ok(period, adx);
      assert.deepEqual([period.type, period.startDate, period.endDate], [type, startDate, endDate], adx);
      assert.equal(toAdxPeriod(period), adx);
    }
    assert.equal(fromAdxPeriod('2015-06-01/P1M')?.iso, '201506', 'the ADX example in DHIS2 docs');
    assert.equal(fromAdxPeriod('2017-11-01/P1Y')?.iso, '2018Nov');
  });

  it('writes start/duration for each type', () => {
    assert.equal(toAdxPeriod(parsePeriod('202401')!), '2024-01-01/P1M');
    assert.equal(toAdxPeriod(parsePeriod('2024NovQ1')!), '2023-11-01/P3M');
    assert.equal(toAdxPeriod(parsePeriod('2020W53')!), '2020-12-28/P7D');
    assert.equal(toAdxPeriod(parsePeriod('2024BiW2')!), '2024-01-15/P14D');
    assert.equal(toAdxPeriod(parsePeriod('202403B')!), '2024-05-01/P2M');
  });

  it('rejects start dates that do not begin a period, unknown durations and junk', () => {
    const invalid = [
      '2017-10-02/P14D', // ISO week 40: DHIS2 bi-weeks start on odd ISO weeks
      '2017-09-01/P3M',
      '2017-03-01/P6M',
      '2017-03-01/P1Y',
      '2017-10-03/P7D', // a Tuesday: no weekly type starts then
      '2017-10-15/P1M',
      '2017-02-01/P2M',
      '2017-10-01/P1W',
      '2017-10-01/P12M',
      '2017-10-01',
      '2017-02-30/P1D',
      '2017-10-01/P1M/x',
      '201710/P1M',
      '',
    ];
    for (const text of invalid) assert.equal(fromAdxPeriod(text), undefined, text);
  });
});
