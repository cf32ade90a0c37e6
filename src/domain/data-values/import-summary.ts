import type { ImportConflict } from './import-conflicts.ts';

export const IMPORT_STATUSES = ['SUCCESS', 'WARNING', 'ERROR'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

export interface ImportCount {
  imported: number;
  updated: number;
  ignored: number;
  deleted: number;
}

/** DHIS2's ImportSummary for a data value import (`dhis-api/.../dxf2/importsummary`). */
export interface ImportSummary {
  responseType: 'ImportSummary';
  status: ImportStatus;
  importOptions: Record<string, unknown>;
  description: string;
  importCount: ImportCount;
  conflicts: ImportConflict[];
  rejectedIndexes: number[];
  /** `"false"`, or the completion date when the file registered its data set as complete. */
  dataSetComplete: string;
  /**
   * Ferry: conflict occurrences and rejected rows left out of `conflicts` / `rejectedIndexes`
   * because a listing limit was reached. Absent when nothing was left out.
   */
  omitted?: { conflictOccurrences: number; rejectedIndexes: number };
}

/** DHIS2's HTTP reply for an import summary: ERROR is 409, the rest 200. */
export function importSummaryHttp(summary: ImportSummary): {
  httpStatusCode: number;
  status: 'OK' | 'WARNING' | 'ERROR';
  message: string;
} {
  switch (summary.status) {
    case 'ERROR':
      return {
        httpStatusCode: 409,
        status: 'ERROR',
        message: 'An error occurred, please check import summary.',
      };
    case 'WARNING':
      return {
        httpStatusCode: 200,
        status: 'WARNING',
        message: 'One more conflicts encountered, please check import summary.',
      };
    case 'SUCCESS':
      return { httpStatusCode: 200, status: 'OK', message: 'Import was successful.' };
  }
}
