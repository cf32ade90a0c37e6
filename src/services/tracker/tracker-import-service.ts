import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { FerryError } from '../../errors.ts';
import { emptyBundle, type TrackerBundle, type TrackerType } from '../../domain/tracker/tracker-objects.ts';
import { TrackerStore } from '../../storage/tracker-store.ts';
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
  type TrackerObjectReport,
  type TrackerStats,
  type TrackerTypeReport,
} from '../../domain/tracker/tracker-import-report.ts';
import { readTrackerChunks, type TrackerImportInput } from './tracker-import-reader.ts';
import { preheatTracker } from './tracker-import-preheat.ts';
import { validateTrackerBundle, type Planned, type TrackerPlan } from './tracker-import-validation.ts';
import { refreshTrackerStatistics, writeTrackerPlan, type WriteCounts } from './tracker-import-writer.ts';
import { applyProgramRules, ProgramRuleLoader } from './tracker-program-rules.ts';
import { DedupeParameterError } from '../../domain/dedupe/dedupe-use.ts';
import { TrackerImportDedupe, type TrackerDedupeReport } from './tracker-import-dedupe.ts';
import { TrackerIdentifierResolver } from './tracker-import-identifiers.ts';

export interface TrackerImportRunOptions {
  signal?: AbortSignal;
  progress?: (progress: { stage: string; processed: number; total?: number }) => void;
  /** Runs last inside the commit transaction; a job passes its lease check here (fencing). */
  beforeCommit?: (tx: SqlExecutor) => Promise<void>;
  /** The job the import runs in, written to the audit of what it changed. */
  jobId?: string;
  /** Objects per chunk (default TRACKER_CHUNK_OBJECTS); tests make it small to cross chunk borders. */
  chunkObjects?: number;
}

/** DHIS2's ImportReport, with a `dedupe` entry when the import used a de-duplication pool. */
export type TrackerImportReportWithDedupe = TrackerImportReport & { dedupe?: TrackerDedupeReport };

/** Query parameters to the parsed form; an unknown value is F1000 naming the parameter. */
export function trackerImportParams(query: Record<string, unknown>): TrackerImportParams {
  try {
    return parseTrackerImportParams(query);
  } catch (error) {
    if (error instanceof TrackerParameterError || error instanceof DedupeParameterError)
      throw new FerryError('F1000', [error.parameter, error.given, error.allowed]);
    throw error;
  }
}

export async function importTracker(
  context: FerryContext,
  input: TrackerImportInput,
  query: Record<string, unknown> | TrackerImportParams,
  principal: Principal | undefined,
  options: TrackerImportRunOptions = {},
): Promise<TrackerImportReportWithDedupe> {
  if (principal && !principalHasAuthority(principal, 'F_TRACKER_IMPORT'))
    throw new FerryError('F1102', ['F_TRACKER_IMPORT']);
  const params = trackerImportParams(query as Record<string, unknown>);
  options.progress?.({ stage: 'Reading tracker payload', processed: 0 });
  return runTrackerImport(
    context,
    readTrackerChunks(input, options.signal, options.chunkObjects),
    params,
    principal,
    options,
  );
}

/** The same pipeline over a bundle already read (tests, the older formats, the CLI). */
export async function importTrackerBundle(
  context: FerryContext,
  bundle: TrackerBundle,
  params: TrackerImportParams = DEFAULT_TRACKER_IMPORT_PARAMS,
  principal: Principal | undefined = undefined,
  options: TrackerImportRunOptions = {},
): Promise<TrackerImportReportWithDedupe> {
  if (principal && !principalHasAuthority(principal, 'F_TRACKER_IMPORT'))
    throw new FerryError('F1102', ['F_TRACKER_IMPORT']);
  async function* one() {
    yield bundle;
  }
  return runTrackerImport(context, one(), params, principal, options);
}

/** The same pipeline over chunks read elsewhere (the older formats, read as a stream). */
export async function importTrackerChunks(
  context: FerryContext,
  chunks: AsyncIterable<TrackerBundle>,
  params: TrackerImportParams,
  principal: Principal | undefined,
  options: TrackerImportRunOptions = {},
): Promise<TrackerImportReportWithDedupe> {
  if (principal && !principalHasAuthority(principal, 'F_TRACKER_IMPORT'))
    throw new FerryError('F1102', ['F_TRACKER_IMPORT']);
  return runTrackerImport(context, chunks, params, principal, options);
}

/** Thrown inside the import's transaction to undo it (a dry run, or atomicMode ALL with an error). */
class RollBack extends Error {}

/**
 * The import proper, chunk by chunk inside one transaction: each chunk is preheated (through the
 * transaction, so earlier chunks' objects are found), validated and its valid objects written, then
 * let go; only the per-object report lines stay. Under atomicMode ALL an error anywhere rolls the
 * whole transaction back at the end (valid objects keep being written meanwhile, so that later
 * chunks are validated against them and report only their own errors); a dry run always rolls back.
 */
async function runTrackerImport(
  context: FerryContext,
  chunks: AsyncIterable<TrackerBundle>,
  params: TrackerImportParams,
  principal: Principal | undefined,
  options: TrackerImportRunOptions,
): Promise<TrackerImportReportWithDedupe> {
  const accumulator = new ReportAccumulator();
  let dedupe: TrackerImportDedupe | undefined;
  const seen = new Map<TrackerType, Set<string>>();
  const failed = new Set<string>();
  let processed = 0;
  let committed = false;
  // Program rules are read and converted once per import, on first use by a program.
  const ruleLoader = params.skipRuleEngine ? undefined : new ProgramRuleLoader(context);
  // References by CODE, NAME or ATTRIBUTE:<uid> become UIDs before anything else reads them.
  const identifiers = params.idSchemes ? new TrackerIdentifierResolver(context, params.idSchemes) : undefined;
  let restorePageCache: (() => Promise<void>) | undefined;
  try {
    await context.storage.transaction(async (tx) => {
      restorePageCache = await new TrackerStore(tx).limitPageCache(context.storage);
      if (params.dedupe)
        dedupe = await TrackerImportDedupe.open(tx, params.dedupe, principal, {
          now: new Date().toISOString(),
          jobId: options.jobId,
          dryRun: params.importMode !== 'COMMIT',
        });
      const deferred = emptyBundle();
      const known = new Set<string>();
      for await (const chunk of chunks) {
        options.signal?.throwIfAborted();
        await identifiers?.resolve(chunk);
        const bundle = await withoutForwardReferences(tx, chunk, known, deferred);
        if (!(await importChunk(bundle))) break;
      }
      if (!(params.validationMode === 'FAIL_FAST' && accumulator.failed)) await importChunk(deferred);
      if (params.importMode !== 'COMMIT' || (params.atomicMode === 'ALL' && accumulator.failed))
        throw new RollBack();
      await options.beforeCommit?.(tx);
      committed = true;

      /** Validates and writes one chunk; false when FAIL_FAST says to stop. */
      async function importChunk(bundle: TrackerBundle): Promise<boolean> {
        if (allObjects(bundle) === 0) return true;
        const preheat = await preheatTracker(context, bundle, tx);
        const plan = await validateTrackerBundle(tx, bundle, preheat, params, principal, seen, failed);
        if (ruleLoader) await applyProgramRules(tx, plan, preheat, ruleLoader);
        propagateFailures(plan, failed);
        const valid: TrackerPlan = {
          trackedEntities: plan.trackedEntities.filter((p) => p.errors.length === 0),
          enrollments: plan.enrollments.filter((p) => p.errors.length === 0),
          events: plan.events.filter((p) => p.errors.length === 0),
          relationships: plan.relationships.filter((p) => p.errors.length === 0),
        };
        await dedupe?.filter(valid);
        const counts = await writeTrackerPlan(tx, valid, preheat, {
          now: new Date().toISOString(),
          username: principal?.username ?? null,
          jobId: options.jobId ?? null,
        });
        accumulator.add(plan, counts, dedupe?.droppedUids);
        processed += allPlanned(plan).length;
        options.progress?.({ stage: 'Importing tracker objects', processed });
        return !(params.validationMode === 'FAIL_FAST' && accumulator.failed);
      }
    });
  } catch (error) {
    if (!(error instanceof RollBack)) throw error;
  } finally {
    await restorePageCache?.();
  }
  options.progress?.({ stage: 'Tracker import done', processed, total: processed });
  const report = trimTrackerReport(accumulator.report(params, committed), params.reportMode);
  if (committed) {
    const types = report.bundleReport.typeReportMap;
    const created = (type: TrackerType) => types[type]?.stats.created ?? 0;
    await refreshTrackerStatistics(context.storage, {
      TRACKED_ENTITY: created('TRACKED_ENTITY'),
      ENROLLMENT: created('ENROLLMENT'),
      EVENT: created('EVENT'),
      RELATIONSHIP: created('RELATIONSHIP'),
    });
  }
  return dedupe ? { ...report, dedupe: dedupe.report() } : report;
}

function allObjects(bundle: TrackerBundle): number {
  return (
    bundle.trackedEntities.length +
    bundle.enrollments.length +
    bundle.events.length +
    bundle.relationships.length
  );
}

/**
 * A chunk without the objects that refer forward: an enrollment whose tracked entity, or an event
 * whose enrollment, is neither earlier in the payload nor stored (it may come later in the file: a
 * flat payload may list events before enrollments), and every relationship (its ends may be
 * anywhere). Those wait in `deferred`, with their own children, and are imported last. In the
 * usual order (parents first) nothing but relationships waits, so memory holds one chunk.
 */
async function withoutForwardReferences(
  db: SqlExecutor,
  chunk: TrackerBundle,
  known: Set<string>,
  deferred: TrackerBundle,
): Promise<TrackerBundle> {
  for (const te of chunk.trackedEntities) known.add(te.trackedEntity);
  const store = new TrackerStore(db);
  const unknown = (uid: string | undefined) => uid !== undefined && !known.has(uid);
  const storedTe = await store.trackedEntities(
    chunk.enrollments.map((e) => e.trackedEntity).filter(unknown) as string[],
  );
  const waiting = new Set<string>();
  const enrollments = chunk.enrollments.filter((e) => {
    if (!unknown(e.trackedEntity) || storedTe.has(e.trackedEntity!)) return (known.add(e.enrollment), true);
    deferred.enrollments.push(e);
    waiting.add(e.enrollment);
    return false;
  });
  const storedEn = await store.enrollments(
    chunk.events.map((e) => e.enrollment).filter((u) => unknown(u) && !waiting.has(u!)) as string[],
  );
  const events = chunk.events.filter((e) => {
    if (!unknown(e.enrollment) || (storedEn.has(e.enrollment!) && !waiting.has(e.enrollment!)))
      return (known.add(e.event), true);
    deferred.events.push(e);
    return false;
  });
  deferred.relationships.push(...chunk.relationships);
  return { trackedEntities: chunk.trackedEntities, enrollments, events, relationships: [] };
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
function propagateFailures(plan: TrackerPlan, failed: Set<string>): void {
  for (const p of plan.trackedEntities) if (p.errors.length > 0) failed.add(p.uid);
  for (const p of plan.enrollments) {
    const te = p.input.trackedEntity;
    if (p.errors.length === 0 && te && failed.has(te))
      p.errors.push(trackerError('E5000', 'ENROLLMENT', p.uid, ['ENROLLMENT', p.uid, 'TRACKED_ENTITY', te]));
    if (p.errors.length > 0) failed.add(p.uid);
  }
  for (const p of plan.events) {
    const en = p.input.enrollment;
    if (p.errors.length === 0 && en && failed.has(en))
      p.errors.push(trackerError('E5000', 'EVENT', p.uid, ['EVENT', p.uid, 'ENROLLMENT', en]));
    if (p.errors.length > 0) failed.add(p.uid);
  }
}

/** The report of a chunked import: per type, the object lines and what was written. */
class ReportAccumulator {
  private readonly types = new Map<
    TrackerType,
    {
      stats: TrackerStats;
      planned: { create: number; update: number; delete: number };
      objects: TrackerObjectReport[];
    }
  >(
    TRACKER_TYPES.map((t) => [
      t,
      { stats: emptyTrackerStats(), planned: { create: 0, update: 0, delete: 0 }, objects: [] },
    ]),
  );
  private readonly errors: TrackerErrorReport[] = [];
  private readonly warnings: TrackerErrorReport[] = [];

  get failed(): boolean {
    return this.errors.length > 0;
  }

  /** `dropped`: UIDs a de-duplication pool kept from being written (counted as ignored). */
  add(plan: TrackerPlan, counts: WriteCounts, dropped?: ReadonlySet<string>): void {
    const lists: Record<TrackerType, Planned<unknown>[]> = {
      TRACKED_ENTITY: plan.trackedEntities as Planned<unknown>[],
      ENROLLMENT: plan.enrollments as Planned<unknown>[],
      EVENT: plan.events as Planned<unknown>[],
      RELATIONSHIP: plan.relationships as Planned<unknown>[],
    };
    for (const type of TRACKER_TYPES) {
      const entry = this.types.get(type)!;
      const written = counts[type];
      entry.stats.total += lists[type].length;
      entry.stats.created += written.created;
      entry.stats.updated += written.updated;
      entry.stats.deleted += written.deleted;
      entry.stats.ignored += lists[type].length - written.created - written.updated - written.deleted;
      for (const p of lists[type]) {
        // An event read from CSV: its reports name the line of its first row.
        const line = (p.input as { line?: number }).line;
        if (line !== undefined) for (const e of [...p.errors, ...(p.warnings ?? [])]) e.line = line;
        entry.objects.push({ trackerType: type, uid: p.uid, errorReports: p.errors });
        this.errors.push(...p.errors);
        this.warnings.push(...(p.warnings ?? []));
        if (p.errors.length === 0 && !dropped?.has(p.uid)) entry.planned[p.action]++;
      }
    }
  }

  /**
   * DHIS2's ImportReport. Committed: what was written. Rolled back under atomicMode ALL: everything
   * ignored. A dry run without errors: what a commit would have done.
   */
  report(params: TrackerImportParams, committed: boolean): TrackerImportReport {
    const stats = emptyTrackerStats();
    const typeReportMap: Record<string, TrackerTypeReport> = {};
    for (const type of TRACKER_TYPES) {
      const entry = this.types.get(type)!;
      let typeStats = entry.stats;
      if (!committed) {
        typeStats = { ...emptyTrackerStats(), total: entry.stats.total };
        if (params.importMode === 'VALIDATE' && !this.failed) {
          typeStats.created = entry.planned.create;
          typeStats.updated = type === 'RELATIONSHIP' ? 0 : entry.planned.update;
          typeStats.deleted = entry.planned.delete;
          typeStats.ignored = typeStats.total - typeStats.created - typeStats.updated - typeStats.deleted;
        } else typeStats.ignored = entry.stats.total;
      }
      typeReportMap[type] = { trackerType: type, stats: typeStats, objectReports: entry.objects };
      for (const key of ['created', 'updated', 'deleted', 'ignored', 'total'] as const)
        stats[key] += typeStats[key];
    }
    // FAIL_FAST: DHIS2 stops at the first error; Ferry stops after the chunk that has it and reports that one.
    const errorReports = params.validationMode === 'FAIL_FAST' ? this.errors.slice(0, 1) : this.errors;
    return {
      status: errorReports.length > 0 ? 'ERROR' : this.warnings.length > 0 ? 'WARNING' : 'OK',
      validationReport: { errorReports, warningReports: this.warnings },
      stats,
      bundleReport: { typeReportMap },
    };
  }
}
