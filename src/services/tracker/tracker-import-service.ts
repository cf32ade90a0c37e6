import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { FerryError } from '../../errors.ts';
import type { TrackerBundle, TrackerType } from '../../domain/tracker/tracker-objects.ts';
import { TRACKER_TYPES } from '../../domain/tracker/tracker-objects.ts';
import {
  DEFAULT_TRACKER_IMPORT_PARAMS,
  parseTrackerImportParams,
  TrackerParameterError,
  type TrackerImportParams,
} from '../../domain/tracker/tracker-import-params.ts';
import {
  emptyTrackerStats,
  trackerError,
  trimTrackerReport,
  type TrackerErrorReport,
  type TrackerImportReport,
  type TrackerTypeReport,
} from '../../domain/tracker/tracker-import-report.ts';
import { readTrackerPayload, type TrackerImportInput } from './tracker-import-reader.ts';
import { preheatTracker } from './tracker-import-preheat.ts';
import { validateTrackerBundle, type Planned, type TrackerPlan } from './tracker-import-validation.ts';
import { writeTrackerPlan, type WriteCounts } from './tracker-import-writer.ts';

export interface TrackerImportRunOptions {
  signal?: AbortSignal;
  progress?: (progress: { stage: string; processed: number; total?: number }) => void;
  /** Runs last inside the commit transaction; a job passes its lease check here (fencing). */
  beforeCommit?: (tx: SqlExecutor) => Promise<void>;
  /** The job the import runs in, written to the audit of what it changed. */
  jobId?: string;
}

/** Query parameters to the parsed form; an unknown value is F1000 naming the parameter. */
export function trackerImportParams(query: Record<string, unknown>): TrackerImportParams {
  try {
    return parseTrackerImportParams(query);
  } catch (error) {
    if (error instanceof TrackerParameterError)
      throw new FerryError('F1000', [error.parameter, error.given, error.allowed]);
    throw error;
  }
}

/**
 * DHIS2's tracker import (`POST /api/tracker`): read the payload (nested or flat JSON) → preheat the
 * metadata and stored objects it names, in bulk → validate with DHIS2's codes → write in one
 * transaction (nothing at all under atomicMode ALL when anything failed) → ImportReport. The
 * caller's authority and capture scope are checked here, when the import runs (a job too).
 */
export async function importTracker(
  context: FerryContext,
  input: TrackerImportInput,
  query: Record<string, unknown> | TrackerImportParams,
  principal: Principal | undefined,
  options: TrackerImportRunOptions = {},
): Promise<TrackerImportReport> {
  if (principal && !principalHasAuthority(principal, 'F_TRACKER_IMPORT'))
    throw new FerryError('F1102', ['F_TRACKER_IMPORT']);
  const params = trackerImportParams(query as Record<string, unknown>);
  options.progress?.({ stage: 'Reading tracker payload', processed: 0 });
  const bundle = await readTrackerPayload(input, options.signal);
  return importTrackerBundle(context, bundle, params, principal, options);
}

/** The same pipeline over a bundle already read (tests, the demo, the CLI). */
export async function importTrackerBundle(
  context: FerryContext,
  bundle: TrackerBundle,
  params: TrackerImportParams = DEFAULT_TRACKER_IMPORT_PARAMS,
  principal: Principal | undefined = undefined,
  options: TrackerImportRunOptions = {},
): Promise<TrackerImportReport> {
  if (principal && !principalHasAuthority(principal, 'F_TRACKER_IMPORT'))
    throw new FerryError('F1102', ['F_TRACKER_IMPORT']);
  const total =
    bundle.trackedEntities.length +
    bundle.enrollments.length +
    bundle.events.length +
    bundle.relationships.length;
  options.progress?.({ stage: 'Validating tracker objects', processed: 0, total });
  const preheat = await preheatTracker(context, bundle);
  const plan = await validateTrackerBundle(context.storage, bundle, preheat, params, principal);
  propagateFailures(plan);
  options.signal?.throwIfAborted();

  const failed = allPlanned(plan).some((p) => p.errors.length > 0);
  const commit = params.importMode === 'COMMIT' && !(params.atomicMode === 'ALL' && failed);
  let counts: WriteCounts | undefined;
  if (commit) {
    options.progress?.({ stage: 'Writing tracker objects', processed: 0, total });
    const valid: TrackerPlan = {
      trackedEntities: plan.trackedEntities.filter((p) => p.errors.length === 0),
      enrollments: plan.enrollments.filter((p) => p.errors.length === 0),
      events: plan.events.filter((p) => p.errors.length === 0),
      relationships: plan.relationships.filter((p) => p.errors.length === 0),
    };
    counts = await context.storage.transaction(async (tx) => {
      const written = await writeTrackerPlan(tx, valid, preheat, {
        now: new Date().toISOString(),
        username: principal?.username ?? null,
        jobId: options.jobId ?? null,
      });
      await options.beforeCommit?.(tx);
      return written;
    });
    options.progress?.({ stage: 'Tracker import done', processed: total, total });
  }
  return trimTrackerReport(buildReport(plan, params, counts), params.reportMode);
}

function allPlanned(plan: TrackerPlan): Planned<unknown>[] {
  return [
    ...plan.trackedEntities,
    ...plan.enrollments,
    ...plan.events,
    ...plan.relationships,
  ] as Planned<unknown>[];
}

/**
 * E5000 for a child whose parent failed after the child was validated (a uniqueness clash is found
 * only once every object is seen): enrollments of failed tracked entities, events of failed
 * enrollments. Relationships were checked against their ends already.
 */
function propagateFailures(plan: TrackerPlan): void {
  const failedTe = new Set(plan.trackedEntities.filter((p) => p.errors.length > 0).map((p) => p.uid));
  for (const p of plan.enrollments) {
    const te = p.input.trackedEntity;
    if (p.errors.length === 0 && te && failedTe.has(te))
      p.errors.push(trackerError('E5000', 'ENROLLMENT', p.uid, ['ENROLLMENT', p.uid, 'TRACKED_ENTITY', te]));
  }
  const failedEn = new Set(plan.enrollments.filter((p) => p.errors.length > 0).map((p) => p.uid));
  for (const p of plan.events) {
    const en = p.input.enrollment;
    if (p.errors.length === 0 && en && failedEn.has(en))
      p.errors.push(trackerError('E5000', 'EVENT', p.uid, ['EVENT', p.uid, 'ENROLLMENT', en]));
  }
}

function buildReport(
  plan: TrackerPlan,
  params: TrackerImportParams,
  counts: WriteCounts | undefined,
): TrackerImportReport {
  const lists: Record<TrackerType, Planned<unknown>[]> = {
    TRACKED_ENTITY: plan.trackedEntities as Planned<unknown>[],
    ENROLLMENT: plan.enrollments as Planned<unknown>[],
    EVENT: plan.events as Planned<unknown>[],
    RELATIONSHIP: plan.relationships as Planned<unknown>[],
  };
  let errorReports: TrackerErrorReport[] = [];
  const stats = emptyTrackerStats();
  const typeReportMap: Record<string, TrackerTypeReport> = {};
  for (const type of TRACKER_TYPES) {
    const list = lists[type];
    const typeStats = emptyTrackerStats();
    typeStats.total = list.length;
    const written = counts?.[type];
    if (written) {
      typeStats.created = written.created;
      typeStats.updated = written.updated;
      typeStats.deleted = written.deleted;
      typeStats.ignored = list.length - written.created - written.updated - written.deleted;
    } else if (params.importMode === 'VALIDATE' && !list.some((p) => p.errors.length > 0)) {
      // A dry run reports what a commit would have done.
      for (const p of list) {
        if (p.action === 'create') typeStats.created++;
        else if (p.action === 'update' && type !== 'RELATIONSHIP') typeStats.updated++;
        else if (p.action === 'delete') typeStats.deleted++;
        else typeStats.ignored++;
      }
    } else {
      typeStats.ignored = list.length;
    }
    for (const p of list) errorReports.push(...p.errors);
    typeReportMap[type] = {
      trackerType: type,
      stats: typeStats,
      objectReports: list.map((p) => ({ trackerType: type, uid: p.uid, errorReports: p.errors })),
    };
    for (const key of ['created', 'updated', 'deleted', 'ignored', 'total'] as const)
      stats[key] += typeStats[key];
  }
  // FAIL_FAST: DHIS2 stops at the first error; Ferry validates everything but reports only that one.
  if (params.validationMode === 'FAIL_FAST') errorReports = errorReports.slice(0, 1);
  return {
    status: errorReports.length > 0 ? 'ERROR' : 'OK',
    validationReport: { errorReports, warningReports: [] },
    stats,
    bundleReport: { typeReportMap },
  };
}
