import {
  describeImportOptions,
  type DataValueImportOptions,
} from '../../domain/data-values/data-value-import-options.ts';
import type { ConflictCollector } from '../../domain/data-values/import-conflicts.ts';
import type { ImportSummary, ImportCount } from '../../domain/data-values/import-summary.ts';
import type { FatalConflict } from './data-value-import-types.ts';

// The ImportSummary a data value import answers with: counts, conflicts and status of a finished,
// cancelled, atomic-failed, aborted or failed import, worded as DHIS2 words them.

/** What an import knows at its end, for its summary. */
export interface DataValueImportOutcome {
  options: DataValueImportOptions;
  /** The option, or a header that asked for a dry run. */
  dryRun: boolean;
  conflicts: ConflictCollector;
  counts: ImportCount;
  /** Rows read (values and row issues). */
  processed: number;
  wasCancelled: boolean;
  /** Completions a header asked for and that were refused. */
  completionsRefused: number;
  /** `"false"` or the date of the completion registered. */
  dataSetComplete: string;
}

/** The summary of an import that ran to its end (or was cancelled with its batches kept). */
export function importSummary(outcome: DataValueImportOutcome): ImportSummary {
  const { options, conflicts, processed } = outcome;
  const atomicFailure = options.atomic && conflicts.size > 0;
  const counts: ImportCount = atomicFailure
    ? { imported: 0, updated: 0, ignored: processed, deleted: 0 }
    : { ...outcome.counts };
  const status = atomicFailure ? 'ERROR' : conflicts.size > 0 || outcome.wasCancelled ? 'WARNING' : 'SUCCESS';
  const description = atomicFailure
    ? `Import was not done: the import is atomic and ${conflicts.rejectedCount} of ${processed} values have conflicts${outcome.completionsRefused > 0 ? ' and the data set completion was refused' : ''}; nothing was written`
    : outcome.wasCancelled
      ? `Import was cancelled after ${processed} values; the values before the cancel were written and are counted here, the rest of the file was not read`
      : outcome.dryRun
        ? 'Dry run: nothing was written; the counts are what the import would do'
        : status === 'SUCCESS'
          ? 'Import process completed successfully'
          : 'Import process completed with conflicts';
  const summary: ImportSummary = {
    responseType: 'ImportSummary',
    status,
    importOptions: { ...describeImportOptions(options), dryRun: outcome.dryRun },
    description,
    importCount: counts,
    conflicts: conflicts.conflicts(),
    rejectedIndexes: [...conflicts.rejectedIndexes()].sort((a, b) => a - b),
    dataSetComplete: atomicFailure ? 'false' : outcome.dataSetComplete,
  };
  const omittedRejected = conflicts.rejectedCount - summary.rejectedIndexes.length;
  if (conflicts.omittedOccurrences > 0 || omittedRejected > 0) {
    summary.omitted = {
      conflictOccurrences: conflicts.omittedOccurrences,
      rejectedIndexes: omittedRejected,
    };
  }
  return summary;
}

/** The summary of an import stopped by a problem with the whole file: ERROR, nothing counted. */
export function failedImportSummary(
  options: DataValueImportOptions,
  dryRun: boolean,
  conflicts: ConflictCollector,
  message: string,
): ImportSummary {
  return {
    responseType: 'ImportSummary',
    status: 'ERROR',
    importOptions: { ...describeImportOptions(options), dryRun },
    description: `The import process failed: ${message}`,
    importCount: { imported: 0, updated: 0, ignored: 0, deleted: 0 },
    conflicts: conflicts.conflicts(),
    rejectedIndexes: [...conflicts.rejectedIndexes()].sort((a, b) => a - b),
    dataSetComplete: 'false',
  };
}

/**
 * DHIS2's summary of an import its data-set-level validation aborted
 * (`DataValueSetImportValidator.abortDataSetImport`): ERROR, "Import process was aborted", the
 * reason as a conflict (E7600), nothing counted.
 */
export function abortedImportSummary(
  options: DataValueImportOptions,
  dryRun: boolean,
  conflicts: ConflictCollector,
  conflict: FatalConflict,
): ImportSummary {
  conflicts.add(conflict.code, undefined, conflict.args, conflict.objects, conflict.property);
  return {
    ...failedImportSummary(options, dryRun, conflicts, ''),
    description: 'Import process was aborted',
  };
}
