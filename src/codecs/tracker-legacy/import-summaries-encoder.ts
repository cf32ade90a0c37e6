import type { TrackerType } from '../../domain/tracker/tracker-objects.ts';
import type { TrackerErrorReport, TrackerImportReport } from '../../domain/tracker/tracker-import-report.ts';

/**
 * The tracker ImportReport of `/api/tracker` told as DHIS2 up to 2.40 answered `POST /api/events`
 * and `POST /api/trackedEntityInstances`: `ImportSummaries` with one `ImportSummary` per top-level
 * object (`reference` its UID), a tracked entity instance's enrollments (and their events) nested as
 * that era did, conflicts as `{object, value, errorCode}`.
 */
export type LegacyImportStatus = 'SUCCESS' | 'WARNING' | 'ERROR';

export interface LegacyImportCount {
  imported: number;
  updated: number;
  ignored: number;
  deleted: number;
}

export interface LegacyImportConflict {
  object: string;
  value: string;
  errorCode: string;
}

export interface LegacyImportSummary {
  responseType: 'ImportSummary';
  status: LegacyImportStatus;
  description?: string;
  importCount: LegacyImportCount;
  conflicts: LegacyImportConflict[];
  reference: string;
  enrollments?: LegacyImportSummaries;
  events?: LegacyImportSummaries;
}

export interface LegacyImportSummaries {
  responseType: 'ImportSummaries';
  status: LegacyImportStatus;
  imported: number;
  updated: number;
  deleted: number;
  ignored: number;
  total: number;
  importSummaries: LegacyImportSummary[];
}

/** A top-level object of the file and what it nested (flattened by the importer, regrouped here). */
export interface LegacyObjectGroup {
  type: 'EVENT' | 'TRACKED_ENTITY';
  uid: string;
  enrollments: Array<{ uid: string; events: string[] }>;
  relationships: string[];
}

export interface LegacySummaryContext {
  /** Whether an object of this type and UID was stored before the import (updated, not imported). */
  existed(type: TrackerType, uid: string): boolean;
  /** The strategy the import ran with: under DELETE a valid object counts as deleted. */
  deleting: boolean;
  /** Why a de-duplication pool kept a valid object from being written (ignored), if it did. */
  dropped?(type: TrackerType, uid: string): string | undefined;
  /**
   * Whether valid objects were written (or, in a dry run, would have been): false when atomicMode
   * ALL refused the whole payload for another object's error.
   */
  written: boolean;
}

function summariesOf(list: LegacyImportSummary[]): LegacyImportSummaries {
  const out: LegacyImportSummaries = {
    responseType: 'ImportSummaries',
    status: 'SUCCESS',
    imported: 0,
    updated: 0,
    deleted: 0,
    ignored: 0,
    total: list.length,
    importSummaries: list,
  };
  for (const s of list) {
    out.imported += s.importCount.imported;
    out.updated += s.importCount.updated;
    out.deleted += s.importCount.deleted;
    out.ignored += s.importCount.ignored;
    if (s.status === 'ERROR') out.status = 'ERROR';
    else if (s.status === 'WARNING' && out.status !== 'ERROR') out.status = 'WARNING';
  }
  return out;
}

export function buildLegacyImportSummaries(
  report: TrackerImportReport,
  groups: readonly LegacyObjectGroup[],
  context: LegacySummaryContext,
): LegacyImportSummaries {
  const errors = new Map<string, TrackerErrorReport[]>();
  for (const typeReport of Object.values(report.bundleReport.typeReportMap))
    for (const object of typeReport?.objectReports ?? [])
      if (object.errorReports.length > 0)
        errors.set(`${object.trackerType}:${object.uid}`, object.errorReports);

  const conflictsOf = (type: TrackerType, uid: string): LegacyImportConflict[] =>
    (errors.get(`${type}:${uid}`) ?? []).map((e) => ({
      object: e.uid,
      value: e.message,
      errorCode: e.errorCode,
    }));

  const summaryOf = (
    type: TrackerType,
    uid: string,
    extraConflicts: LegacyImportConflict[] = [],
    childrenFailed = false,
  ): LegacyImportSummary => {
    const own = conflictsOf(type, uid);
    const conflicts = [...own, ...extraConflicts];
    const count: LegacyImportCount = { imported: 0, updated: 0, ignored: 0, deleted: 0 };
    let status: LegacyImportStatus = 'SUCCESS';
    let description: string | undefined;
    const dropped = own.length === 0 ? context.dropped?.(type, uid) : undefined;
    if (own.length > 0) {
      count.ignored = 1;
      status = 'ERROR';
    } else if (!context.written) {
      count.ignored = 1;
      status = 'WARNING';
      description = 'Not imported: another object in the file failed and atomicMode is ALL';
    } else if (dropped !== undefined) {
      count.ignored = 1;
      description = dropped;
    } else if (context.deleting) count.deleted = 1;
    else if (context.existed(type, uid)) count.updated = 1;
    else count.imported = 1;
    // A child's (or a relationship's) failure makes its parent's summary an ERROR too, so that the
    // reply's status and HTTP code show it; the parent's own count stays what happened to it.
    if (status !== 'ERROR' && (childrenFailed || extraConflicts.length > 0)) status = 'ERROR';
    return {
      responseType: 'ImportSummary',
      status,
      ...(description ? { description } : {}),
      importCount: count,
      conflicts,
      reference: uid,
    };
  };

  const relationshipConflicts = (uids: string[]) => uids.flatMap((uid) => conflictsOf('RELATIONSHIP', uid));

  const summaries = groups.map((group) => {
    if (group.type === 'EVENT')
      return summaryOf('EVENT', group.uid, relationshipConflicts(group.relationships));
    const enrollments = summariesOf(
      group.enrollments.map((en) => {
        const events = summariesOf(en.events.map((ev) => summaryOf('EVENT', ev)));
        return { ...summaryOf('ENROLLMENT', en.uid, [], events.status === 'ERROR'), events };
      }),
    );
    return {
      ...summaryOf(
        'TRACKED_ENTITY',
        group.uid,
        relationshipConflicts(group.relationships),
        enrollments.status === 'ERROR',
      ),
      enrollments,
    };
  });
  return summariesOf(summaries);
}

/**
 * The WebMessage DHIS2 2.36-2.40 wrapped the summaries in: HTTP 409 (`Conflict`) when their status
 * is ERROR, 200 otherwise.
 */
export function legacyImportWebMessage(summaries: LegacyImportSummaries): {
  httpStatus: string;
  httpStatusCode: number;
  status: string;
  message: string;
  response: LegacyImportSummaries;
} {
  const error = summaries.status === 'ERROR';
  return {
    httpStatus: error ? 'Conflict' : 'OK',
    httpStatusCode: error ? 409 : 200,
    status: error ? 'ERROR' : summaries.status === 'WARNING' ? 'WARNING' : 'OK',
    message: error
      ? 'An error occurred, please check import summary.'
      : summaries.status === 'WARNING'
        ? 'One more conflicts encountered, please check import summary.'
        : 'Import was successful.',
    response: summaries,
  };
}
