import type { PeriodTypeName } from '../schema/period-type-names.ts';
import { civilFromDays, parseDay, weekdayOf } from './calendar-days.ts';
import { PERIOD_RULES, weeklyTypeStartingOn, type AdxDuration } from './period-rules.ts';
import { periodContaining, type Period } from './periods.ts';

/**
 * ADX periods (`2024-01-01/P1M`): a start date and an ISO 8601 duration. The duration alone does not
 * name a DHIS2 period type; as in DHIS2's `AdxPeriod`, the start date's weekday picks the weekly
 * variant and its month picks the quarterly, six-monthly or yearly/financial variant.
 */

/** `start/duration`, e.g. `2024-01-01/P1M` for `202401`. */
export function toAdxPeriod(period: Period): string {
  const rule = PERIOD_RULES.get(period.type);
  if (!rule) throw new Error(`Period type ${period.type} has no ADX form`);
  return `${period.startDate}/${rule.adxDuration}`;
}

const QUARTER_BY_START_MONTH: Readonly<Record<number, PeriodTypeName>> = {
  1: 'Quarterly',
  4: 'Quarterly',
  7: 'Quarterly',
  10: 'Quarterly',
  11: 'QuarterlyNov',
  2: 'QuarterlyNov',
  5: 'QuarterlyNov',
  8: 'QuarterlyNov',
};

const SIX_MONTHS_BY_START_MONTH: Readonly<Record<number, PeriodTypeName>> = {
  1: 'SixMonthly',
  7: 'SixMonthly',
  4: 'SixMonthlyApril',
  10: 'SixMonthlyApril',
  11: 'SixMonthlyNov',
  5: 'SixMonthlyNov',
};

const YEAR_BY_START_MONTH: Readonly<Record<number, PeriodTypeName>> = {
  1: 'Yearly',
  2: 'FinancialFeb',
  4: 'FinancialApril',
  7: 'FinancialJuly',
  8: 'FinancialAug',
  9: 'FinancialSep',
  10: 'FinancialOct',
  11: 'FinancialNov',
};

function typeFor(duration: AdxDuration, day: number): PeriodTypeName | undefined {
  const month = civilFromDays(day).month;
  switch (duration) {
    case 'P1D':
      return 'Daily';
    case 'P7D':
      return weeklyTypeStartingOn(weekdayOf(day));
    case 'P14D':
      return 'BiWeekly';
    case 'P1M':
      return 'Monthly';
    case 'P2M':
      return 'BiMonthly';
    case 'P3M':
      return QUARTER_BY_START_MONTH[month];
    case 'P6M':
      return SIX_MONTHS_BY_START_MONTH[month];
    case 'P1Y':
      return YEAR_BY_START_MONTH[month];
  }
}

const ADX_PERIOD = /^(\d{4}-\d{2}-\d{2})\/(P1D|P7D|P14D|P1M|P2M|P3M|P6M|P1Y)$/;

/**
 * The period an ADX period string names, or undefined. Stricter than DHIS2, which takes the period
 * containing the start date: here the start date must be the period's first day, so
 * `2024-02-01/P3M` (not a quarter start) is rejected rather than read as 2024Q1.
 */
export function fromAdxPeriod(text: string): Period | undefined {
  if (typeof text !== 'string') return undefined;
  const match = ADX_PERIOD.exec(text);
  if (!match) return undefined;
  const day = parseDay(match[1]);
  if (day === undefined) return undefined;
  const type = typeFor(match[2] as AdxDuration, day);
  if (!type) return undefined;
  const period = periodContaining(type, match[1]);
  return period && period.startDate === match[1] ? period : undefined;
}
