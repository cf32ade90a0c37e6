import { isValidUid } from '../../domain/identifiers/uid.ts';
import {
  emptyStats,
  errorReport,
  finishReport,
  type ImportReport,
  type ImportStatus,
  type ObjectReport,
  type TypeReport,
} from '../../domain/metadata-import/import-report.ts';
import type { MetadataImportBundle } from './metadata-import-bundle.ts';

/**
 * DHIS2's ImportReport for a finished run: stats and object reports per type in import order, a
 * warning (E6002, with the number of objects skipped) for each collection Ferry does not import,
 * and the parameters the run used. `writeNothing` (a dry run
 * or a failed atomic import) counts every object as ignored.
 */

export function buildImportReport(
  bundle: MetadataImportBundle,
  status: ImportStatus,
  writeNothing: boolean,
): ImportReport {
  const typeReports: TypeReport[] = [];
  for (const collection of bundle.orderedCollections()) {
    const list = bundle.entries.get(collection)!;
    const stats = emptyStats();
    const objectReports: ObjectReport[] = [];
    for (const entry of list) {
      const failed = entry.errors.length > 0;
      if (writeNothing || failed) stats.ignored++;
      else if (entry.action === 'create') stats.created++;
      else if (entry.action === 'update') stats.updated++;
      else stats.deleted++;
      const name = entry.object.displayName ?? entry.object.name ?? entry.existing?.name;
      objectReports.push({
        klass: entry.schema.klass,
        index: entry.index,
        ...(isValidUid(entry.uid) || entry.uid ? { uid: entry.uid } : {}),
        ...(typeof name === 'string' ? { displayName: name } : {}),
        errorReports: entry.errors,
      });
    }
    typeReports.push({ klass: list[0].schema.klass, stats, objectReports });
  }
  for (const [collection, count] of bundle.unsupported) {
    const stats = { ...emptyStats(), ignored: count };
    typeReports.push({
      klass: collection,
      stats,
      objectReports: [
        {
          klass: collection,
          index: 0,
          errorReports: [
            errorReport('E6002', [collection, count], { mainKlass: collection, value: String(count) }),
          ],
        },
      ],
    });
  }
  const report = finishReport(typeReports, bundle.params.importReportMode, status);
  return {
    importParams: {
      importMode: bundle.params.importMode,
      identifier: bundle.params.identifier,
      preheatMode: bundle.params.preheatMode,
      importStrategy: bundle.params.importStrategy,
      atomicMode: bundle.params.atomicMode,
      mergeMode: bundle.params.mergeMode,
      flushMode: bundle.params.flushMode,
      skipSharing: bundle.params.skipSharing,
      skipValidation: bundle.params.skipValidation,
      async: bundle.params.async,
      firstRowIsHeader: bundle.params.firstRowIsHeader,
      ...(bundle.params.classKey ? { classKey: bundle.params.classKey } : {}),
      ...(bundle.principal ? { username: bundle.principal.username } : {}),
    },
    ...report,
  };
}
