import type { PeriodTypeName } from '../schema/period-type-names.ts';
import { civilFromDays, daysFromCivil, isValidCivil, mod, pad2, pad4, weekdayOf } from './calendar-days.ts';

/**
 * The rules behind every DHIS2 ISO period type, on day numbers (see calendar-days.ts). Internal to
 * the periods module: `periods.ts` is the public face. Two families cover every type:
 * - month-based types (Monthly .. FinancialNov): a fixed number of months starting at a month offset
 *   from the label year's January (negative for the November types, whose label is the year they end in);
 * - week-based types: 7 (or 14) days starting on a fixed weekday, numbered within a week-based year.
 */

/** A period as day numbers, with its canonical ISO string. */
export interface PeriodSpan {
  iso: string;
  type: PeriodTypeName;
  start: number;
  end: number;
}

export const ADX_DURATIONS = ['P1D', 'P7D', 'P14D', 'P1M', 'P2M', 'P3M', 'P6M', 'P1Y'] as const;
export type AdxDuration = (typeof ADX_DURATIONS)[number];

export interface PeriodRule {
  readonly type: PeriodTypeName;
  readonly adxDuration: AdxDuration;
  /** The period of this type containing a day; undefined when its label year is outside 1..9999. */
  containing(day: number): PeriodSpan | undefined;
}

/** Four-digit label years; year 0 and five-digit years have no ISO period string. */
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

function inYearRange(year: number): boolean {
  return year >= MIN_YEAR && year <= MAX_YEAR;
}

// ---------------------------------------------------------------------------------------------
// Month-based types

class MonthRule implements PeriodRule {
  readonly type: PeriodTypeName;
  readonly adxDuration: AdxDuration;
  /** Length in months. */
  private readonly months: number;
  /** First month of period 1, counted from January of the label year (0 = January, -2 = November before). */
  private readonly base: number;
  private readonly label: (year: number, index: number) => string;

  constructor(
    type: PeriodTypeName,
    months: number,
    base: number,
    adxDuration: AdxDuration,
    label: (year: number, index: number) => string,
  ) {
    this.type = type;
    this.months = months;
    this.base = base;
    this.adxDuration = adxDuration;
    this.label = label;
  }

  /** Period `index` (1-based) of a label year, or undefined if there is no such period. */
  fromLabel(year: number, index: number): PeriodSpan | undefined {
    if (!inYearRange(year) || index < 1 || index > 12 / this.months) return undefined;
    return this.fromStartMonth(year * 12 + this.base + this.months * (index - 1));
  }

  containing(day: number): PeriodSpan | undefined {
    const { year, month } = civilFromDays(day);
    const absoluteMonth = year * 12 + month - 1;
    return this.fromStartMonth(absoluteMonth - mod(absoluteMonth - this.base, this.months));
  }

  /** `startMonth` counts months since January of year 0 and must be aligned to this type. */
  private fromStartMonth(startMonth: number): PeriodSpan | undefined {
    const labelYear = Math.floor((startMonth - this.base) / 12);
    if (!inYearRange(labelYear)) return undefined;
    const index = mod(startMonth - this.base, 12) / this.months + 1;
    const endMonth = startMonth + this.months;
    const start = daysFromCivil(Math.floor(startMonth / 12), mod(startMonth, 12) + 1, 1);
    const end = daysFromCivil(Math.floor(endMonth / 12), mod(endMonth, 12) + 1, 1) - 1;
    return { iso: this.label(labelYear, index), type: this.type, start, end };
  }
}

const monthly = new MonthRule('Monthly', 1, 0, 'P1M', (y, n) => `${pad4(y)}${pad2(n)}`);
// DHIS2 numbers bi-months 01..06 (`202406B` is November-December), not by their first month.
const biMonthly = new MonthRule('BiMonthly', 2, 0, 'P2M', (y, n) => `${pad4(y)}${pad2(n)}B`);
const quarterly = new MonthRule('Quarterly', 3, 0, 'P3M', (y, n) => `${pad4(y)}Q${n}`);
const quarterlyNov = new MonthRule('QuarterlyNov', 3, -2, 'P3M', (y, n) => `${pad4(y)}NovQ${n}`);
const sixMonthly = new MonthRule('SixMonthly', 6, 0, 'P6M', (y, n) => `${pad4(y)}S${n}`);
const sixMonthlyApril = new MonthRule('SixMonthlyApril', 6, 3, 'P6M', (y, n) => `${pad4(y)}AprilS${n}`);
const sixMonthlyNov = new MonthRule('SixMonthlyNov', 6, -2, 'P6M', (y, n) => `${pad4(y)}NovS${n}`);
const yearly = new MonthRule('Yearly', 12, 0, 'P1Y', (y) => pad4(y));

function financial(type: PeriodTypeName, base: number, suffix: string): MonthRule {
  return new MonthRule(type, 12, base, 'P1Y', (y) => `${pad4(y)}${suffix}`);
}

/**
 * Financial years are labelled by the year they start in, except FinancialNov, which DHIS2 labels by
 * the year it ends in (`2024Nov` is 2023-11-01..2024-10-31, like `2024NovQ1` and `2024NovS1`).
 */
const FINANCIAL_RULES: Readonly<Record<string, MonthRule>> = {
  Feb: financial('FinancialFeb', 1, 'Feb'),
  April: financial('FinancialApril', 3, 'April'),
  July: financial('FinancialJuly', 6, 'July'),
  Aug: financial('FinancialAug', 7, 'Aug'),
  Sep: financial('FinancialSep', 8, 'Sep'),
  Oct: financial('FinancialOct', 9, 'Oct'),
  Nov: financial('FinancialNov', -2, 'Nov'),
};

// ---------------------------------------------------------------------------------------------
// Week-based types

/**
 * Start of week 1 of a week-based year for weeks starting on `weekday` (1 = Monday). Like ISO 8601
 * and DHIS2 (`WeekFields.of(firstDayOfWeek, 4)`), week 1 is the first week with at least four days
 * in the year, which is the week containing 4 January.
 */
export function firstWeekStart(weekday: number, year: number): number {
  const january4 = daysFromCivil(year, 1, 4);
  return january4 - mod(weekdayOf(january4) - weekday, 7);
}

/** 52 or 53. */
export function weeksInYear(weekday: number, year: number): number {
  return (firstWeekStart(weekday, year + 1) - firstWeekStart(weekday, year)) / 7;
}

class WeekRule implements PeriodRule {
  readonly type: PeriodTypeName;
  readonly adxDuration = 'P7D' as const;
  readonly weekday: number;
  private readonly prefix: string;

  constructor(type: PeriodTypeName, weekday: number, prefix: string) {
    this.type = type;
    this.weekday = weekday;
    this.prefix = prefix;
  }

  fromLabel(year: number, week: number): PeriodSpan | undefined {
    if (!inYearRange(year) || week < 1 || week > weeksInYear(this.weekday, year)) return undefined;
    const start = firstWeekStart(this.weekday, year) + 7 * (week - 1);
    return { iso: `${pad4(year)}${this.prefix}${week}`, type: this.type, start, end: start + 6 };
  }

  containing(day: number): PeriodSpan | undefined {
    const start = day - mod(weekdayOf(day) - this.weekday, 7);
    // A week belongs to the year holding most of its days, i.e. its fourth day.
    const year = civilFromDays(start + 3).year;
    if (!inYearRange(year)) return undefined;
    const week = (start - firstWeekStart(this.weekday, year)) / 7 + 1;
    return { iso: `${pad4(year)}${this.prefix}${week}`, type: this.type, start, end: start + 6 };
  }
}

const WEEK_RULES: Readonly<Record<string, WeekRule>> = {
  '': new WeekRule('Weekly', 1, 'W'),
  Wed: new WeekRule('WeeklyWednesday', 3, 'WedW'),
  Thu: new WeekRule('WeeklyThursday', 4, 'ThuW'),
  Fri: new WeekRule('WeeklyFriday', 5, 'FriW'),
  Sat: new WeekRule('WeeklySaturday', 6, 'SatW'),
  Sun: new WeekRule('WeeklySunday', 7, 'SunW'),
};

/**
 * DHIS2 bi-weeks are pairs of ISO weeks: BiW n is ISO weeks 2n-1 and 2n. In a year with ISO week 53,
 * BiW27 is week 53 plus week 1 of the next year, so it overlaps the next year's BiW1 by one week;
 * a day in that shared week belongs to the next year's BiW1, as in DHIS2.
 */
class BiWeekRule implements PeriodRule {
  readonly type = 'BiWeekly' as const;
  readonly adxDuration = 'P14D' as const;

  fromLabel(year: number, index: number): PeriodSpan | undefined {
    const firstWeek = 2 * index - 1;
    if (!inYearRange(year) || index < 1 || firstWeek > weeksInYear(1, year)) return undefined;
    const start = firstWeekStart(1, year) + 7 * (firstWeek - 1);
    return { iso: `${pad4(year)}BiW${index}`, type: this.type, start, end: start + 13 };
  }

  containing(day: number): PeriodSpan | undefined {
    const week = WEEK_RULES[''].containing(day);
    if (!week) return undefined;
    const year = Number(week.iso.slice(0, 4));
    const weekNumber = Number(week.iso.slice(5));
    const index = Math.ceil(weekNumber / 2);
    const start = weekNumber % 2 === 1 ? week.start : week.start - 7;
    return { iso: `${pad4(year)}BiW${index}`, type: this.type, start, end: start + 13 };
  }
}

const biWeekly = new BiWeekRule();

const daily: PeriodRule = {
  type: 'Daily',
  adxDuration: 'P1D',
  containing(day) {
    const { year, month, day: dayOfMonth } = civilFromDays(day);
    if (!inYearRange(year)) return undefined;
    return { iso: `${pad4(year)}${pad2(month)}${pad2(dayOfMonth)}`, type: 'Daily', start: day, end: day };
  },
};

/** Every period type with an ISO string. DHIS2's TwoYearly has none and is not here. */
export const PERIOD_RULES: ReadonlyMap<PeriodTypeName, PeriodRule> = new Map(
  [
    daily,
    ...Object.values(WEEK_RULES),
    biWeekly,
    monthly,
    biMonthly,
    quarterly,
    quarterlyNov,
    sixMonthly,
    sixMonthlyApril,
    sixMonthlyNov,
    yearly,
    ...Object.values(FINANCIAL_RULES),
  ].map((rule) => [rule.type, rule]),
);

/** The weekly type whose weeks start on an ISO weekday (1 = Monday), if DHIS2 has one. */
export function weeklyTypeStartingOn(weekday: number): PeriodTypeName | undefined {
  return Object.values(WEEK_RULES).find((rule) => rule.weekday === weekday)?.type;
}

// ---------------------------------------------------------------------------------------------
// Parsing

const NUMERIC_SUFFIX = /^(?:(\d{2})|-(\d{2})|(\d{2})(\d{2})|-(\d{2})-(\d{2})|(\d{2})B)$/;
const NAMED_SUFFIX =
  /^(?:(Wed|Thu|Fri|Sat|Sun|Bi)?W(\d{1,2})|(Nov)?Q(\d)|(April|Nov)?S(\d)|(Feb|April|July|Aug|Sep|Oct|Nov))$/;

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * The period an ISO string names, with its canonical string (`2024W05` → `2024W5`,
 * `2024-01-15` → `20240115`), or undefined when it names none. Case-sensitive, as in DHIS2.
 */
export function parseIsoPeriod(iso: string): PeriodSpan | undefined {
  // 4 to 11 characters, as DHIS2 accepts; the year is always four digits.
  if (iso.length < 4 || iso.length > 11) return undefined;
  for (let i = 0; i < 4; i++) if (!isDigit(iso.charCodeAt(i))) return undefined;
  const year = Number(iso.slice(0, 4));
  if (iso.length === 4) return yearly.fromLabel(year, 1);
  const rest = iso.slice(4);
  const first = rest.charCodeAt(0);
  if (isDigit(first) || rest[0] === '-') {
    const m = NUMERIC_SUFFIX.exec(rest);
    if (!m) return undefined;
    if (m[1] !== undefined || m[2] !== undefined) return monthly.fromLabel(year, Number(m[1] ?? m[2]));
    if (m[7] !== undefined) return biMonthly.fromLabel(year, Number(m[7]));
    const month = Number(m[3] ?? m[5]);
    const day = Number(m[4] ?? m[6]);
    if (!isValidCivil(year, month, day)) return undefined;
    return daily.containing(daysFromCivil(year, month, day));
  }
  const m = NAMED_SUFFIX.exec(rest);
  if (!m) return undefined;
  if (m[2] !== undefined) {
    const week = Number(m[2]);
    return m[1] === 'Bi' ? biWeekly.fromLabel(year, week) : WEEK_RULES[m[1] ?? ''].fromLabel(year, week);
  }
  if (m[4] !== undefined) return (m[3] ? quarterlyNov : quarterly).fromLabel(year, Number(m[4]));
  if (m[6] !== undefined) {
    const rule = m[5] === 'April' ? sixMonthlyApril : m[5] === 'Nov' ? sixMonthlyNov : sixMonthly;
    return rule.fromLabel(year, Number(m[6]));
  }
  return FINANCIAL_RULES[m[7]].fromLabel(year, 1);
}
