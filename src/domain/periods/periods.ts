import type { PeriodTypeName } from '../schema/period-type-names.ts';
import { formatDay, parseDay } from './calendar-days.ts';
import { PERIOD_RULES, parseIsoPeriod, type PeriodRule, type PeriodSpan } from './period-rules.ts';

/** A DHIS2 period: its canonical ISO string, its type name and its first and last day (`YYYY-MM-DD`). */
export interface Period {
  readonly iso: string;
  readonly type: PeriodTypeName;
  readonly startDate: string;
  readonly endDate: string;
}

/** The period types that have ISO strings, i.e. every DHIS2 type except TwoYearly. */
export const ISO_PERIOD_TYPES: readonly PeriodTypeName[] = [...PERIOD_RULES.keys()];

export function isIsoPeriodType(type: string): type is PeriodTypeName {
  return PERIOD_RULES.has(type as PeriodTypeName);
}

/**
 * Parsed periods by input string. Imports parse the same few periods on every row, so this turns a
 * parse into one Map look-up; the bound keeps hostile input (a million distinct strings) from
 * growing it without limit. Periods are frozen, so sharing them is safe.
 */
const MAX_CACHED_PERIODS = 10_000;
const parsed = new Map<string, Period | undefined>();

function remember(key: string, period: Period | undefined): void {
  if (parsed.size >= MAX_CACHED_PERIODS) {
    const oldest = parsed.keys().next();
    if (!oldest.done) parsed.delete(oldest.value);
  }
  parsed.set(key, period);
}

function toPeriod(span: PeriodSpan): Period {
  const cached = parsed.get(span.iso);
  if (cached) return cached;
  const period = Object.freeze({
    iso: span.iso,
    type: span.type,
    startDate: formatDay(span.start),
    endDate: formatDay(span.end),
  });
  remember(span.iso, period);
  return period;
}

/**
 * The period named by a DHIS2 ISO period string (`202401`, `2024W5`, `2024NovQ1`, ...), or undefined
 * when it names none (unknown format, month 13, `2024Q5`, W53 in a 52-week year). Never throws.
 * `iso` of the result is canonical: `2024W05` and `2024W5` give the same period, `2024W5`.
 */
export function parsePeriod(iso: string): Period | undefined {
  if (typeof iso !== 'string') return undefined;
  if (parsed.has(iso)) return parsed.get(iso);
  const span = iso.length <= 11 ? parseIsoPeriod(iso) : undefined;
  if (!span) {
    // Long strings cannot be periods; not caching them keeps junk from evicting real periods.
    if (iso.length <= 11) remember(iso, undefined);
    return undefined;
  }
  const period = toPeriod(span);
  if (iso !== period.iso) remember(iso, period);
  return period;
}

/**
 * The canonical ISO string of the period of `type` that starts on `startDate`, or undefined when no
 * period of that type starts that day.
 */
export function formatPeriod(period: { type: string; startDate: string }): string | undefined {
  const found = periodContaining(period.type, period.startDate);
  return found && found.startDate === period.startDate ? found.iso : undefined;
}

/** The period of `type` that contains `date` (`YYYY-MM-DD`), or undefined for an unknown type or bad date. */
export function periodContaining(type: string, date: string): Period | undefined {
  const rule = ruleFor(type);
  const day = parseDay(date);
  if (!rule || day === undefined) return undefined;
  const span = rule.containing(day);
  return span ? toPeriod(span) : undefined;
}

/**
 * The period of the same type that starts the day after this one ends. For every type but BiWeekly
 * that is also the one after it in numbering; see docs/periods.md for BiW27.
 */
export function nextPeriod(period: Period): Period | undefined {
  const rule = ruleFor(period.type);
  const end = parseDay(period.endDate);
  if (!rule || end === undefined) return undefined;
  const span = rule.containing(end + 1);
  return span ? toPeriod(span) : undefined;
}

/** The period of the same type that contains the day before this one starts. */
export function previousPeriod(period: Period): Period | undefined {
  const rule = ruleFor(period.type);
  const start = parseDay(period.startDate);
  if (!rule || start === undefined) return undefined;
  const span = rule.containing(start - 1);
  return span ? toPeriod(span) : undefined;
}

/**
 * Every period of `type` lying wholly within `startDate..endDate` (inclusive), in order, as DHIS2's
 * `getPeriodsBetweenDates` does. Empty for an unknown type, a bad date or an empty range. The caller
 * bounds the range: a century of Daily periods is 36,525 objects.
 */
export function periodsBetween(type: string, startDate: string, endDate: string): Period[] {
  const rule = ruleFor(type);
  const first = parseDay(startDate);
  const last = parseDay(endDate);
  if (!rule || first === undefined || last === undefined || last < first) return [];
  const out: Period[] = [];
  let span = rule.containing(first);
  while (span && span.start <= last) {
    if (span.start >= first && span.end <= last) out.push(toPeriod(span));
    span = rule.containing(span.end + 1);
  }
  return out;
}

function ruleFor(type: string): PeriodRule | undefined {
  return PERIOD_RULES.get(type as PeriodTypeName);
}
