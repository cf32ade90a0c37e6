/**
 * Conflicts of a data value import, DHIS2's codes and wording (≤2.42 `ErrorCode` E76xx), plus the
 * few Ferry adds where DHIS2 has no code for the same thing (docs/errors.md lists them all).
 */
export const DATA_VALUE_CONFLICTS = {
  E7600: 'Data set not found or not accessible: `{0}`',
  /** The data set (parameter or header) is not data-writable by the importing user: the import aborts. */
  E7601: 'User does not have write access for DataSet: `{0}`',
  /** The header's org unit, when completing its data set (DHIS2's data-set-level code). */
  E7603: 'Org unit not found or not accessible: `{0}`',
  /** The header's attribute option combo, when completing its data set. */
  E7604: 'Attribute option combo not found or not accessible: `{0}`',
  E7610: 'Data element not found or not accessible: `{0}`',
  E7611: 'Period not valid: `{0}`',
  E7612: 'Organisation unit not found or not accessible: `{0}`',
  E7613: 'Category option combo not found or not accessible for writing data: `{0}`',
  /** One conflict per category option of the combo the importing user may not write data of. */
  E7614: 'Category option combo: `{0}` option not accessible: `{1}`',
  E7615: 'Attribute option combo not found or not accessible for writing data: `{0}`',
  /** One conflict per category option of the combo the importing user may not write data of. */
  E7616: 'Attribute option combo: `{0}` option not accessible: `{1}`',
  E7617: 'Organisation unit: `{0}` not in hierarchy of current user: `{1}`',
  E7619: "Value must match data element's `{0}` type constraints: {1}",
  E7620: 'Invalid comment: {0}',
  E7621: 'Data value is not a valid option of the data element option set: `{0}`',
  E7633: 'Data element: `{0}` is not part of dataset: `{1}`',
  E7634: 'Category option combo: `{0}` must be part of category combo of data element: `{1}`',
  E7635: 'Attribute option combo: `{0}` must be part of category combo of data set: `{1}`',
  E7640: 'Current date is past expiry days for period: `{0}` and data set: `{1}`',
  E7641: 'Period: `{0}` is after latest open future period: `{1}` for data set: `{2}`',
  /** CREATE against a value that exists. */
  E7650: 'Data value exists and import strategy is CREATE: `{0}`',
  /** UPDATE or DELETE against a value that does not exist. */
  E7651: 'Data value does not exist and import strategy is {1}: `{0}`',
  /** DHIS2 2.43's code for several values in one file affecting the same stored value. */
  E8128: 'Data value appears more than once in the file: `{0}`',
  /** A row that could not be read (CSV quoting, field limits, a JSON value of the wrong shape). */
  F7100: 'Malformed row: {0}',
  /** ADX / 2.43 JSON `{category: option}`: no category by that identifier under `categoryIdScheme`. */
  F7101: 'Category not found: `{0}` (categoryIdScheme {1})',
  /** ADX / 2.43 JSON `{category: option}`: the option (under `categoryOptionIdScheme`) is not one of the category's. */
  F7102: 'Category option: `{0}` is not an option of category: `{1}`',
  /** `completeDate` without the data set, period or org unit it completes (DHIS2: no code, same words). */
  F7103: 'Must be provided to complete data set: `{0}`',
  /** `completeDate` that is neither a date, `true` nor `false` (DHIS2 fails the whole import). */
  F7104: 'Complete date is not a date (YYYY-MM-DD), `true` or `false`: `{0}`',
} as const;

export type DataValueConflictCode = keyof typeof DATA_VALUE_CONFLICTS;

/** One conflict of DHIS2's ImportSummary: the same (code, objects) reported once with every row. */
export interface ImportConflict {
  object: string;
  objects: Record<string, string>;
  value: string;
  errorCode: string;
  property?: string;
  indexes: number[];
}

export function conflictMessage(code: DataValueConflictCode, args: readonly string[]): string {
  return DATA_VALUE_CONFLICTS[code].replace(/\{(\d+)\}/g, (_, i: string) => args[Number(i)] ?? '');
}

export interface ConflictLimits {
  /** Distinct conflicts listed; the rest are counted in `omitted`. */
  maxConflicts: number;
  /** Row indexes listed per conflict. */
  maxIndexesPerConflict: number;
  /** Entries of `rejectedIndexes` listed. */
  maxRejectedIndexes: number;
}

/** Big enough to diagnose a file, small enough that a million bad rows don't make a 20 MB reply. */
export const DEFAULT_CONFLICT_LIMITS: ConflictLimits = {
  maxConflicts: 1000,
  maxIndexesPerConflict: 1000,
  maxRejectedIndexes: 10_000,
};

/**
 * Collects conflicts grouped by code and object, each with the 0-based row indexes it affects, and
 * the set of rejected rows. Memory stays bounded by the limits however many rows are bad; what is
 * left out is counted.
 */
export class ConflictCollector {
  private readonly limits: ConflictLimits;
  private readonly byKey = new Map<string, ImportConflict>();
  private readonly rejected: number[] = [];
  private lastRejected = -1;
  /** Occurrences (a conflict on a row) not listed because a limit was reached. */
  omittedOccurrences = 0;
  /** Rows rejected in total, listed or not. */
  rejectedCount = 0;
  /** Conflict occurrences in total. */
  total = 0;

  constructor(limits: ConflictLimits = DEFAULT_CONFLICT_LIMITS) {
    this.limits = limits;
  }

  /**
   * Records a conflict on a row. `object` is what the conflict is about (an identifier from the
   * file); `objects` names it by type, as DHIS2 does (`{ dataElement: 'abc' }`). Occurrences with
   * the same code, object and property are one conflict; `distinct` separates those that differ in
   * a second identifier (E7614/E7616: each category option of one combo is a conflict, as in DHIS2).
   */
  add(
    code: DataValueConflictCode,
    index: number | undefined,
    args: readonly string[],
    objects: Record<string, string>,
    property?: string,
    distinct?: string,
  ): void {
    this.total++;
    const object = args[0] ?? '';
    const key = `${code}\u0000${object}\u0000${property ?? ''}\u0000${distinct ?? ''}`;
    let conflict = this.byKey.get(key);
    if (!conflict) {
      if (this.byKey.size >= this.limits.maxConflicts) {
        this.omittedOccurrences++;
        return;
      }
      conflict = {
        object,
        objects,
        value: conflictMessage(code, args),
        errorCode: code,
        ...(property !== undefined ? { property } : {}),
        indexes: [],
      };
      this.byKey.set(key, conflict);
    }
    if (index === undefined) return;
    if (conflict.indexes.length < this.limits.maxIndexesPerConflict) conflict.indexes.push(index);
    else this.omittedOccurrences++;
  }

  /** Marks a row as rejected (not written). Rows arrive in order, so a repeat is the last one. */
  reject(index: number): void {
    if (index === this.lastRejected) return;
    this.lastRejected = index;
    this.rejectedCount++;
    if (this.rejected.length < this.limits.maxRejectedIndexes) this.rejected.push(index);
  }

  get size(): number {
    return this.total;
  }

  conflicts(): ImportConflict[] {
    return [...this.byKey.values()];
  }

  rejectedIndexes(): number[] {
    return this.rejected;
  }
}
