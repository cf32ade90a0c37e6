import type { ImportReportMode } from './import-params.ts';

/** DHIS2's feedback classes (dxf2/metadata/feedback): the shape clients parse, kept exactly. */
export type ImportStatus = 'OK' | 'WARNING' | 'ERROR';

export interface Stats {
  created: number;
  updated: number;
  deleted: number;
  ignored: number;
  total: number;
}

export interface ErrorReport {
  message: string;
  mainKlass: string;
  mainId?: string;
  errorCode: string;
  errorKlass?: string;
  errorProperty?: string;
  errorProperties?: string[];
  value?: string;
  args: string[];
}

export interface ObjectReport {
  klass: string;
  index: number;
  uid?: string;
  displayName?: string;
  errorReports: ErrorReport[];
}

export interface TypeReport {
  klass: string;
  stats: Stats;
  objectReports: ObjectReport[];
}

export interface ImportReport {
  importParams?: Record<string, unknown>;
  status: ImportStatus;
  stats: Stats;
  typeReports: TypeReport[];
}

/** DHIS2's messages for the codes the importer raises; `{n}` are the arguments. */
export const IMPORT_ERROR_MESSAGES: Readonly<Record<string, string>> = {
  E3000: 'User `{0}` is not allowed to create objects of type {1}.',
  E3001: 'User `{0}` is not allowed to update object `{1}`.',
  E3002: 'User `{0}` is not allowed to delete object `{1}`.',
  E3003: 'User `{0}` is not allowed to grant users access to user role `{1}`.',
  E3008: 'User `{0}` is not allowed to make public objects of type `{1}`.',
  E3009: 'User `{0}` is not allowed to make private objects of type `{1}`.',
  E3032: 'User `{0}` does not have access to user role',
  E3041: 'User `{0}` is not allowed to change a user having the ALL authority',
  E4000: 'Missing required property `{0}`',
  E4001: 'Maximum length of property `{0}` is {1}, but given length was {2}',
  E4009: 'Attribute `{0}` unique value `{1}` already exists',
  E4014: 'Invalid UID `{0}` for property `{1}`',
  E4030: 'Object could not be deleted because it is associated with another object: {0}',
  E5000:
    'Found matching object for reference, but import strategy is CREATE. Identifier was {0}, and object was {1}.',
  E5001: 'No matching object for reference. Identifier was {0}, and object was {1}.',
  E5002: 'Invalid reference {0} on object {1} for association `{2}`',
  E5003: 'Property `{0}` with value `{1}` on object {2} already exists on object {3}',
  E5004:
    'Id `{0}` for type `{1}` exists on more than 1 object in the payload, removing all but the first found',
  E5005: 'Property `{0}` with value `{1}` on object {2} is used by object {3} in the same payload',
  E6002: 'Class name {0} is not supported; {1} objects skipped.',
  E6004: 'Attribute `{0}` has invalid value `{1}` for value type `{2}`',
  E6020: 'Property `{0}` has invalid value `{1}`; allowed: {2}',
  E6021: 'Property `{0}` has invalid value `{1}`: expected {2}',
  E6022: 'Organisation unit `{0}` cannot be its own ancestor (parent chain {1})',
};

export function errorReport(
  errorCode: string,
  args: readonly (string | number)[],
  context: {
    mainKlass: string;
    mainId?: string;
    errorKlass?: string;
    errorProperty?: string;
    value?: string;
  },
): ErrorReport {
  const text = args.map(String);
  const template = IMPORT_ERROR_MESSAGES[errorCode] ?? errorCode;
  return {
    message: template.replace(/\{(\d+)\}/g, (_, n: string) => text[Number(n)] ?? ''),
    mainKlass: context.mainKlass,
    ...(context.mainId !== undefined ? { mainId: context.mainId } : {}),
    errorCode,
    ...(context.errorKlass !== undefined ? { errorKlass: context.errorKlass } : {}),
    ...(context.errorProperty !== undefined ? { errorProperty: context.errorProperty } : {}),
    ...(context.value !== undefined ? { value: context.value } : {}),
    args: text,
  };
}

export function emptyStats(): Stats {
  return { created: 0, updated: 0, deleted: 0, ignored: 0, total: 0 };
}

export function addStats(into: Stats, from: Stats): void {
  into.created += from.created;
  into.updated += from.updated;
  into.deleted += from.deleted;
  into.ignored += from.ignored;
  into.total = into.created + into.updated + into.deleted + into.ignored;
}

/** `Name [uid] (SimpleClass)`: how DHIS2's messages name an object. */
export function describeObject(klass: string, uid: string | undefined, name?: unknown): string {
  const simple = klass.slice(klass.lastIndexOf('.') + 1);
  return `${typeof name === 'string' && name ? `${name} ` : ''}[${uid ?? ''}] (${simple})`;
}

/**
 * Applies `importReportMode`: ERRORS keeps only object reports with errors, FULL keeps all, DEBUG
 * keeps all with display names. Type reports keep DHIS2's order (import order).
 */
export function finishReport(
  typeReports: readonly TypeReport[],
  mode: ImportReportMode,
  status: ImportStatus,
): ImportReport {
  const stats = emptyStats();
  const out: TypeReport[] = [];
  for (const report of typeReports) {
    report.stats.total =
      report.stats.created + report.stats.updated + report.stats.deleted + report.stats.ignored;
    addStats(stats, report.stats);
    const objectReports = report.objectReports
      .filter((o) => mode !== 'ERRORS' || o.errorReports.length > 0)
      .map((o) => {
        if (mode === 'DEBUG') return o;
        const { displayName: _displayName, ...rest } = o;
        return rest;
      });
    out.push({ klass: report.klass, stats: report.stats, objectReports });
  }
  return { status, stats, typeReports: out };
}

/** Every error report of an import report, flattened. */
export function allErrorReports(report: ImportReport): ErrorReport[] {
  return report.typeReports.flatMap((t) => t.objectReports.flatMap((o) => o.errorReports));
}
