import { periodContaining } from '../../domain/periods/periods.ts';
import type { EventInput } from '../../domain/tracker/tracker-objects.ts';
import { trackerError, type TrackerErrorReport } from '../../domain/tracker/tracker-import-report.ts';
import type { Meta } from './tracker-import-preheat.ts';

/** The event date rules of the tracker import's validation (tracker-import-validation.ts). */

/** Dates already checked: a payload repeats a few hundred days; the check costs microseconds. */
const checkedDates = new Map<string, boolean>();

/** An ISO 8601 date or date and time that is a real day (DHIS2 fails to read anything else). */
function isDate(text: string): boolean {
  let known = checkedDates.get(text);
  if (known === undefined) {
    if (checkedDates.size >= 10_000) checkedDates.clear();
    checkedDates.set(text, (known = isDateUncached(text)));
  }
  return known;
}

function isDateUncached(text: string): boolean {
  return (
    /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) &&
    !Number.isNaN(Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text.replace(' ', 'T'))) &&
    new Date(`${text.slice(0, 10)}T00:00:00Z`).toISOString().startsWith(text.slice(0, 10))
  );
}

const DAY_MS = 86_400_000;

/**
 * DHIS2's event dates (its `DateValidator`): E1031 no occurredAt where one is needed (every event
 * of a program without registration, an active or completed event of one with registration) or one
 * that is not a date; else E1050 a scheduled event without scheduledAt (or one that is not a date);
 * else E1051 a completedAt on an event that is not completed; E1043 a completed event whose
 * completion is older than the program's `completeEventsExpiryDays` (unless the user may edit
 * expired data, F_EDIT_EXPIRED); with the program's `expiryPeriodType` and `expiryDays`, E1046 an
 * event with neither date and E1047 one whose period ended more than `expiryDays` ago. Checked once
 * the program is known (an unknown program is E1010 alone).
 */
export function checkEventDates(
  ev: EventInput,
  uid: string,
  program: Meta | undefined,
  errors: TrackerErrorReport[],
  mayEditExpired: boolean,
): void {
  if (!program) return;
  const p = program.object;
  const occurredNeeded =
    p.programType !== 'WITH_REGISTRATION' || ev.status === 'ACTIVE' || ev.status === 'COMPLETED';
  if (ev.occurredAt ? !isDate(ev.occurredAt) : occurredNeeded) {
    errors.push(trackerError('E1031', 'EVENT', uid, []));
    return;
  }
  if (ev.scheduledAt ? !isDate(ev.scheduledAt) : ev.status === 'SCHEDULE') {
    errors.push(trackerError('E1050', 'EVENT', uid, []));
    return;
  }
  if (ev.completedAt && ev.status !== 'COMPLETED')
    errors.push(trackerError('E1051', 'EVENT', uid, [uid, ev.status]));
  const completeDays = Number(p.completeEventsExpiryDays ?? 0) || 0;

  if (
    ev.completedAt &&
    ev.status === 'COMPLETED' &&
    completeDays > 0 &&
    !mayEditExpired &&
    Date.now() > Date.parse(ev.completedAt) + completeDays * DAY_MS
  )
    errors.push(trackerError('E1043', 'EVENT', uid, [uid]));
  const expiryDays = Number(p.expiryDays ?? 0) || 0;
  const periodType = typeof p.expiryPeriodType === 'string' ? p.expiryPeriodType : undefined;
  if (!periodType || expiryDays <= 0) return;
  const reference = ev.occurredAt ?? ev.scheduledAt;
  if (!reference) {
    errors.push(trackerError('E1046', 'EVENT', uid, [uid]));
    return;
  }
  const period = periodContaining(periodType, reference.slice(0, 10));
  if (period && Date.parse(`${period.endDate}T00:00:00Z`) + (expiryDays + 1) * DAY_MS < Date.now())
    errors.push(trackerError('E1047', 'EVENT', uid, [uid]));
}
