/**
 * The periods the demo's aggregate data covers. They are fixed, not relative to today, so that the
 * same generator always writes the same data: 24 months ending with the last full month before
 * DEMO_REFERENCE_MONTH, and the quarters over the same span.
 */

/** Data ends with the month before this one (2025-12), so a demo made in any year looks the same. */
export const DEMO_REFERENCE_MONTH = { year: 2026, month: 1 } as const;
export const DEMO_MONTH_COUNT = 24;

export interface DemoPeriod {
  /** DHIS2's ISO period, e.g. `202401` or `2024Q1`. */
  iso: string;
  periodType: 'Monthly' | 'Quarterly';
  /** First and last day, `YYYY-MM-DD`. */
  startDate: string;
  endDate: string;
  /** Calendar month of the first day, 1-12 (seasonality). */
  startMonth: number;
  /** Position among the demo's periods of the same type, from 0 (stable key for value hashing). */
  ordinal: number;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Monthly periods first, then quarterly, each in time order. */
export function demoPeriods(): DemoPeriod[] {
  const periods: DemoPeriod[] = [];
  const endExclusive = DEMO_REFERENCE_MONTH.year * 12 + (DEMO_REFERENCE_MONTH.month - 1);
  const start = endExclusive - DEMO_MONTH_COUNT;
  for (let m = start; m < endExclusive; m++) {
    const year = Math.floor(m / 12);
    const month = (m % 12) + 1;
    periods.push({
      iso: `${year}${pad(month)}`,
      periodType: 'Monthly',
      startDate: `${year}-${pad(month)}-01`,
      endDate: `${year}-${pad(month)}-${pad(lastDayOfMonth(year, month))}`,
      startMonth: month,
      ordinal: m - start,
    });
  }
  let ordinal = 0;
  for (let m = start; m < endExclusive; m += 3) {
    const year = Math.floor(m / 12);
    const month = (m % 12) + 1;
    if ((month - 1) % 3 !== 0) continue;
    const lastMonth = month + 2;
    periods.push({
      iso: `${year}Q${(month - 1) / 3 + 1}`,
      periodType: 'Quarterly',
      startDate: `${year}-${pad(month)}-01`,
      endDate: `${year}-${pad(lastMonth)}-${pad(lastDayOfMonth(year, lastMonth))}`,
      startMonth: month,
      ordinal: ordinal++,
    });
  }
  return periods;
}
