import type { ImportReport } from '../../domain/metadata-import/import-report.ts';

/**
 * DHIS2's reply to its GeoJSON import (`GeoJsonImportController`, `GeoJsonImportReport`): always
 * HTTP 200, a WebMessage whose status is OK, WARNING ("Import partially successful.") or ERROR
 * ("Import failed."), and a response with `importCount` and `conflicts` grouped by DHIS2's error
 * codes (E7702-E7711) with the indexes of the features. Built from the import's own report.
 */

export interface GeoJsonImportConflict {
  object?: string;
  objects?: Record<string, string>;
  value: string;
  errorCode: string;
  property?: string;
  indexes?: number[];
}

export interface GeoJsonImportReply {
  httpStatus: 'OK';
  httpStatusCode: 200;
  status: 'OK' | 'WARNING' | 'ERROR';
  message: string;
  response: {
    responseType: 'GeoJsonImportReport';
    status: 'SUCCESS' | 'WARNING' | 'ERROR';
    importCount: { imported: number; updated: number; ignored: number; deleted: number };
    conflicts: GeoJsonImportConflict[];
    totalConflictOccurrenceCount: number;
  };
}

const MESSAGES: Record<string, string> = {
  E7705: 'GeoJSON feature lacks identifier property',
  E7706: 'GeoJSON feature lacks geometry property',
  E7707: 'GeoJSON geometry is not valid',
  E7708: 'GeoJSON target organisation unit does not exist',
  E7711: 'Organisation unit cannot be uniquely identified by its name',
};

/** DHIS2's code for one of the import's refusals; Ferry's own where DHIS2 has none (F1601). */
function dhis2Code(errorCode: string, property: string | undefined, args: readonly string[]): string {
  switch (errorCode) {
    case 'E5001':
      return 'E7708';
    case 'F1602':
      return 'E7711';
    case 'F1600':
      if (property === 'id') return 'E7705';
      return args[1] === 'has no geometry' ? 'E7706' : 'E7707';
    default:
      return errorCode;
  }
}

export function geoJsonImportReply(report: ImportReport): GeoJsonImportReply {
  const grouped = new Map<string, GeoJsonImportConflict>();
  let occurrences = 0;
  for (const typeReport of report.typeReports) {
    for (const objectReport of typeReport.objectReports) {
      for (const error of objectReport.errorReports) {
        occurrences++;
        const args = (error.args ?? []).map(String);
        const code = dhis2Code(error.errorCode, error.errorProperty, args);
        // DHIS2 lists one conflict per code with the indexes of its features; Ferry's own codes
        // (F1601) keep one per message, which names the feature.
        const dhis2 = MESSAGES[code];
        const key = dhis2 !== undefined ? code : `${code}\u0000${error.message}`;
        let conflict = grouped.get(key);
        if (!conflict) {
          conflict = {
            ...(dhis2 === undefined && error.value !== undefined ? { object: error.value } : {}),
            value: dhis2 ?? error.message,
            errorCode: code,
            ...(error.errorProperty !== undefined ? { property: error.errorProperty } : {}),
          };
          grouped.set(key, conflict);
        }
        if (objectReport.index >= 0) (conflict.indexes ??= []).push(objectReport.index);
      }
    }
  }
  const conflicts = [...grouped.values()];
  const imported = report.stats.updated + (report.stats.ignored - occurrences);
  const importCount = { imported, updated: 0, ignored: occurrences, deleted: 0 };
  const failed = report.status === 'ERROR' || (conflicts.length > 0 && imported === 0);
  const status = failed ? 'ERROR' : conflicts.length > 0 ? 'WARNING' : 'OK';
  return {
    httpStatus: 'OK',
    httpStatusCode: 200,
    status,
    message:
      status === 'OK'
        ? 'Import successful.'
        : status === 'WARNING'
          ? 'Import partially successful.'
          : 'Import failed.',
    response: {
      responseType: 'GeoJsonImportReport',
      status: status === 'OK' ? 'SUCCESS' : status,
      importCount,
      conflicts,
      totalConflictOccurrenceCount: occurrences,
    },
  };
}
