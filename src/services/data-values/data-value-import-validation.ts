import type { DataValueInput, DataValueSetHeader } from '../../domain/data-values/data-value-input.ts';
import type { ConflictCollector, DataValueConflictCode } from '../../domain/data-values/import-conflicts.ts';
import {
  checkValue,
  isInsignificantZero,
  isNumericValueType,
  MAX_COMMENT_LENGTH,
} from '../../domain/data-values/data-value-validation.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../domain/category/default-category-model.ts';
import type { DataValueKey } from '../../storage/data-value-store.ts';
import type {
  DataElementInfo,
  DataSetInfo,
  DataWriteSharing,
  OptionComboInfo,
} from './data-value-import-preheat.ts';
import {
  isComboMiss,
  missConflict,
  type DataValueImportResolver,
  type HeaderContext,
  type TimelinessProblem,
} from './data-value-import-resolver.ts';

// Validating one value: what the row names resolved to ids, its rights, its value and comment,
// and the data set's constraints, in DHIS2's order. A row that fails is a conflict, never an
// exception.

/** A validated row, resolved to ids, waiting to be compared with what is stored. */
export interface ResolvedValue extends DataValueKey {
  index: number;
  value: string | null;
  comment: string | null;
  followUp: boolean;
  /** The row asks for deletion: `deleted=true`, or no value and no comment. */
  deleteRequested: boolean;
  insignificantZero: boolean;
  storedBy: string;
  created: string;
  /** For conflict messages (built only when one is reported): the identifiers as the file gave them. */
  input: DataValueInput;
  header: DataValueSetHeader;
  cocText: string;
}

/** The row's identifiers as the file gave them, for conflict messages: de/pe/ou/coc/aoc. */
export function labelOf(entry: ResolvedValue): string {
  const { input, header } = entry;
  return [
    input.dataElement ?? '',
    input.period ?? header.period ?? '',
    input.orgUnit ?? header.orgUnit ?? '',
    entry.cocText,
    input.attributeOptionCombo ?? header.attributeOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID,
  ].join('/');
}

const TRUE_TEXTS = new Set(['true', 'TRUE', 'True', '1']);

function flag(value: string | boolean | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  return TRUE_TEXTS.has(value.trim());
}

export class DataValueImportValidator {
  private readonly resolver: DataValueImportResolver;
  private readonly conflicts: ConflictCollector;
  /** The preheat's, kept here for the per-value checks; undefined when nothing is checked. */
  private readonly writeSharing: DataWriteSharing | undefined;
  private readonly username: string;
  private readonly now: string;
  private readonly keepCreated: boolean;

  constructor(
    resolver: DataValueImportResolver,
    conflicts: ConflictCollector,
    username: string,
    now: string,
    keepCreated = false,
  ) {
    this.keepCreated = keepCreated;
    this.resolver = resolver;
    this.conflicts = conflicts;
    this.writeSharing = resolver.preheat.writeSharing;
    this.username = username;
    this.now = now;
  }

  /**
   * Validates one row against metadata, stopping at the first problem, in the order DHIS2 2.42
   * registers its checks (`DataValueSetImportValidator.init`): what the row names, each option combo
   * followed by the data write sharing of its category options (E7610-E7616), capture scope
   * (E7617), the value and comment (E7619-E7621), then the constraints (E7633-E7641).
   * The order decides which conflict a row with several problems reports. Returns the resolved
   * value, or undefined after recording the conflict.
   */
  validate(index: number, input: DataValueInput, ctx: HeaderContext): ResolvedValue | undefined {
    const header = ctx.header;
    const resolver = this.resolver;
    const fail = (
      code: DataValueConflictCode,
      args: string[],
      objects: Record<string, string>,
      property: string,
    ): undefined => {
      this.conflicts.add(code, index, args, objects, property);
      this.conflicts.reject(index);
      return undefined;
    };

    const deText = input.dataElement ?? '';
    const dataElement = ctx.dataElements.get(deText);
    if (!dataElement) return fail('E7610', [deText], { dataElement: deText }, 'dataElement');

    const periodText = input.period ?? header.period ?? '';
    const period = resolver.cachedPeriod(periodText);
    if (!period) return fail('E7611', [periodText], { period: periodText }, 'period');

    const ouText = input.orgUnit ?? header.orgUnit ?? '';
    const orgUnit = ctx.orgUnits.get(ouText);
    if (!orgUnit) return fail('E7612', [ouText], { orgUnit: ouText }, 'orgUnit');

    const dataSet = ctx.dataSet;
    // The category combo the element has in the data set (an override), or its own.
    const elementCombo =
      (dataSet ? dataSet.elements.get(dataElement.uid) : undefined) ?? dataElement.categoryComboUid;
    let coc: OptionComboInfo | undefined;
    let cocText: string;
    const categoryOptions = input.categoryOptions;
    if (categoryOptions) {
      // Found within the element's combo, so never E7634.
      const found = resolver.comboByOptions(elementCombo, categoryOptions, ctx);
      if (isComboMiss(found)) {
        const [code, objects] = missConflict(found, 'E7613', 'categoryOptionCombo');
        return fail(code, found.args, objects, 'categoryOptionCombo');
      }
      coc = found;
      cocText = found.uid;
    } else {
      cocText = input.categoryOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
      coc =
        input.categoryOptionCombo === undefined
          ? resolver.optionComboByUid(cocText)
          : ctx.categoryOptionCombos.get(cocText);
      if (!coc) return fail('E7613', [cocText], { categoryOptionCombo: cocText }, 'categoryOptionCombo');
    }
    const writeSharing = this.writeSharing;
    if (writeSharing) {
      const closed = writeSharing.closedOptions(coc);
      if (closed.length > 0)
        return this.refuseOptions(index, 'E7614', 'categoryOptionCombo', cocText, closed);
    }

    let aoc: OptionComboInfo | undefined;
    let aocText: string | undefined;
    const attributeOptions = input.attributeOptions;
    if (attributeOptions) {
      // Found within the data set's combo, so never E7635.
      const found = resolver.comboByOptions(dataSet?.categoryComboUid, attributeOptions, ctx);
      if (isComboMiss(found)) {
        const [code, objects] = missConflict(found, 'E7615', 'attributeOptionCombo');
        return fail(code, found.args, objects, 'attributeOptionCombo');
      }
      aoc = found;
    } else {
      const aocGiven = input.attributeOptionCombo ?? header.attributeOptionCombo;
      aocText = aocGiven ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
      aoc =
        aocGiven === undefined ? resolver.optionComboByUid(aocText) : ctx.attributeOptionCombos.get(aocText);
      if (!aoc) return fail('E7615', [aocText], { attributeOptionCombo: aocText }, 'attributeOptionCombo');
    }
    if (writeSharing) {
      const closed = writeSharing.closedOptions(aoc);
      if (closed.length > 0) {
        return this.refuseOptions(index, 'E7616', 'attributeOptionCombo', aocText ?? aoc.uid, closed);
      }
    }

    if (!resolver.inScope(orgUnit)) {
      return fail('E7617', [ouText, this.username], { orgUnit: ouText }, 'orgUnit');
    }

    let value: string | null = input.value ?? null;
    // ADX: a non-numeric element's value is its annotation; a numeric one's annotation is ignored.
    if (input.annotation !== undefined && !isNumericValueType(dataElement.valueType)) {
      value = input.annotation === '' ? null : input.annotation;
    }
    if (value !== null) {
      const check = checkValue(dataElement.valueType, value);
      if (!check.ok) {
        return fail(
          'E7619',
          [deText, `${dataElement.valueType}: ${check.reason}`],
          { dataElement: deText },
          'value',
        );
      }
      value = check.value;
    }
    const comment = input.comment ?? null;
    if (comment !== null && comment.length > MAX_COMMENT_LENGTH) {
      return fail(
        'E7620',
        [`longer than ${MAX_COMMENT_LENGTH} characters`],
        { dataElement: deText },
        'comment',
      );
    }
    if (value !== null && dataElement.optionCodes && !dataElement.optionCodes.has(value)) {
      return fail('E7621', [value, deText], { dataElement: deText }, 'value');
    }

    if (dataSet && !dataSet.elements.has(dataElement.uid)) {
      return fail(
        'E7633',
        [deText, ctx.dataSetText ?? dataSet.uid],
        { dataElement: deText, dataSet: dataSet.uid },
        'dataElement',
      );
    }
    if (
      coc.categoryComboUid !== elementCombo &&
      !categoryOptions &&
      !this.comboOverrides(dataElement, dataSet, coc)
    ) {
      return fail(
        'E7634',
        [cocText, deText],
        { categoryOptionCombo: cocText, dataElement: deText },
        'categoryOptionCombo',
      );
    }
    if (
      dataSet &&
      aoc.uid !== DEFAULT_CATEGORY_OPTION_COMBO_UID &&
      aoc.categoryComboUid !== dataSet.categoryComboUid &&
      aocText !== undefined
    ) {
      return fail(
        'E7635',
        [aocText, dataSet.uid],
        { attributeOptionCombo: aocText, dataSet: dataSet.uid },
        'attributeOptionCombo',
      );
    }
    if (dataSet) {
      const problem = resolver.timelinessFor(dataSet, period);
      if (problem)
        return fail(problem.code, problem.args, { period: periodText, dataElement: deText }, 'period');
    } else if (dataElement.dataSets.length > 0) {
      // Open in any of the element's data sets is enough; otherwise the first one's problem.
      let first: TimelinessProblem | null = null;
      let open = false;
      for (const candidate of dataElement.dataSets) {
        const problem = resolver.timelinessFor(candidate, period);
        if (!problem) {
          open = true;
          break;
        }
        first ??= problem;
      }
      if (!open && first)
        return fail(first.code, first.args, { period: periodText, dataElement: deText }, 'period');
    }

    const deleted = flag(input.deleted) === true;
    return {
      index,
      orgUnit: orgUnit.sid,
      period: period.id,
      dataElement: dataElement.sid,
      categoryOptionCombo: coc.sid,
      attributeOptionCombo: aoc.sid,
      value,
      comment,
      followUp: flag(input.followUp) ?? false,
      deleteRequested: deleted || (value === null && comment === null),
      insignificantZero:
        value !== null && isInsignificantZero(dataElement.valueType, value, dataElement.zeroIsSignificant),
      storedBy: input.storedBy ?? this.username,
      // DHIS2 2.42 stamps a new value with the import time whatever the file says; keepCreated opts
      // in to the file's. A stored value keeps its own either way (the store never replaces it).
      created:
        this.keepCreated && input.created && !Number.isNaN(Date.parse(input.created))
          ? input.created
          : this.now,
      input,
      header,
      cocText,
    };
  }

  /**
   * E7614 or E7616: one conflict per category option of the combo the user may not write data of,
   * as DHIS2 2.42 reports them; the row is rejected once.
   */
  private refuseOptions(
    index: number,
    code: 'E7614' | 'E7616',
    property: 'categoryOptionCombo' | 'attributeOptionCombo',
    comboText: string,
    closed: readonly string[],
  ): undefined {
    for (const option of closed) {
      this.conflicts.add(
        code,
        index,
        [comboText, option],
        { [property]: comboText, categoryOption: option },
        property,
        option,
      );
    }
    this.conflicts.reject(index);
    return undefined;
  }

  /** An option combo of a data set override of the element's category combo is also fine. */
  private comboOverrides(
    element: DataElementInfo,
    dataSet: DataSetInfo | undefined,
    coc: OptionComboInfo,
  ): boolean {
    if (dataSet) return false;
    for (const candidate of element.dataSets) {
      if (candidate.elements.get(element.uid) === coc.categoryComboUid) return true;
    }
    return false;
  }
}
