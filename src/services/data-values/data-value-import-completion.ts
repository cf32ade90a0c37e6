import type { DataValueSetHeader } from '../../domain/data-values/data-value-input.ts';
import type { DataValueImportOptions } from '../../domain/data-values/data-value-import-options.ts';
import type { ConflictCollector, DataValueConflictCode } from '../../domain/data-values/import-conflicts.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { parseDay } from '../../domain/periods/calendar-days.ts';
import type { DataValueStore } from '../../storage/data-value-store.ts';
import type { OptionComboInfo } from './data-value-import-preheat.ts';
import { isComboMiss, missConflict, type DataValueImportResolver } from './data-value-import-resolver.ts';

// A file's `completeDate`: which headers ask for their data set to be registered complete, and
// registering each after the values, checked as a value is checked.

/** `completeDate` of a header: a date or `true` asks to register completion; absent or `false` not. */
function asksForCompletion(header: DataValueSetHeader): boolean {
  const completeDate = header.completeDate;
  return completeDate !== undefined && completeDate !== '' && completeDate.toLowerCase() !== 'false';
}

export class DataValueImportCompletion {
  private readonly conflicts: ConflictCollector;
  private readonly options: DataValueImportOptions;
  private readonly username: string;
  private readonly now: string;
  /** The last header of each data value set that asks for completion, in file order. */
  private readonly headers: DataValueSetHeader[] = [];
  /** The date of the last completion registered (DHIS2 has one header, so one date, per file). */
  dataSetComplete = 'false';
  /** Completions a header asked for and that were refused with a conflict. */
  refused = 0;

  constructor(conflicts: ConflictCollector, options: DataValueImportOptions, username: string, now: string) {
    this.conflicts = conflicts;
    this.options = options;
    this.username = username;
    this.now = now;
  }

  /**
   * Notes a header of the file. A header refining the set in force (`group` false) replaces it as
   * the set's completion (see DataValueItem); `current` is the header in force before this one.
   */
  noteHeader(header: DataValueSetHeader, group: boolean | undefined, current: DataValueSetHeader): void {
    if (!group && this.headers[this.headers.length - 1] === current) this.headers.pop();
    if (asksForCompletion(header)) this.headers.push(header);
  }

  /** Registers every completion the file asked for, after its values. */
  async registerAll(
    resolver: DataValueImportResolver,
    store: DataValueStore,
    dryRun: boolean,
  ): Promise<void> {
    for (const header of this.headers) await this.register(header, resolver, store, dryRun);
  }

  /**
   * `completeDate` in the file's header registers its data set as complete for the header's org
   * unit, period and attribute option combo (DHIS2 clamps a future date to today). The header is
   * checked as a value would be: each refusal is a conflict with property `completeDate` (no row
   * index) and nothing is registered. DHIS2 2.42 checks neither the capture scope nor the expiry
   * here; Ferry does, so a clerk cannot complete another district's form or a locked period.
   */
  private async register(
    header: DataValueSetHeader,
    resolver: DataValueImportResolver,
    store: DataValueStore,
    dryRun: boolean,
  ): Promise<void> {
    const completeDate = header.completeDate!;
    if (this.options.atomic && this.conflicts.size > 0) return;
    const refuse = (code: DataValueConflictCode, args: string[], objects: Record<string, string>): void => {
      this.conflicts.add(code, undefined, args, objects, 'completeDate');
      this.refused++;
    };
    const today = resolver.today;
    let date = completeDate.toLowerCase() === 'true' ? today : completeDate.slice(0, 10);
    if (parseDay(date) === undefined) return refuse('F7104', [completeDate], { completeDate });
    if (date > today) date = today;

    const ctx = await resolver.contextFor(header);
    const dataSet = ctx.dataSet;
    if (!dataSet) return refuse('F7103', ['dataSet'], {});
    const periodText = header.period;
    if (periodText === undefined) return refuse('F7103', ['period'], { dataSet: dataSet.uid });
    const ouText = header.orgUnit;
    if (ouText === undefined) return refuse('F7103', ['orgUnit'], { dataSet: dataSet.uid });
    const period = await resolver.periodFor(periodText);
    if (!period) return refuse('E7611', [periodText], { period: periodText });
    const orgUnit = ctx.orgUnits.get(ouText);
    if (!orgUnit) return refuse('E7603', [ouText], { orgUnit: ouText, dataSet: dataSet.uid });
    if (!resolver.inScope(orgUnit)) return refuse('E7617', [ouText, this.username], { orgUnit: ouText });

    // Resolved as the header's values resolve theirs: ADX category attributes, else the combo's id.
    let aoc: OptionComboInfo | undefined;
    let aocText: string;
    if (header.attributeOptions) {
      const found = resolver.comboByOptions(dataSet.categoryComboUid, header.attributeOptions, ctx);
      if (isComboMiss(found)) {
        const [code, objects] = missConflict(found, 'E7604', 'attributeOptionCombo');
        return refuse(code, found.args, { ...objects, dataSet: dataSet.uid });
      }
      aoc = found;
      aocText = found.uid;
    } else {
      aocText = header.attributeOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
      aoc =
        header.attributeOptionCombo === undefined
          ? resolver.optionComboByUid(aocText)
          : ctx.attributeOptionCombos.get(aocText);
    }
    if (!aoc) return refuse('E7604', [aocText], { attributeOptionCombo: aocText, dataSet: dataSet.uid });
    if (aoc.uid !== DEFAULT_CATEGORY_OPTION_COMBO_UID && aoc.categoryComboUid !== dataSet.categoryComboUid) {
      return refuse('E7635', [aocText, dataSet.uid], { attributeOptionCombo: aocText, dataSet: dataSet.uid });
    }
    const closed = resolver.preheat.writeSharing?.closedOptions(aoc) ?? [];
    if (closed.length > 0) {
      // One conflict per closed option, as for a value; one refused completion.
      for (const option of closed) {
        this.conflicts.add(
          'E7616',
          undefined,
          [aocText, option],
          { attributeOptionCombo: aocText, categoryOption: option },
          'completeDate',
          option,
        );
      }
      this.refused++;
      return;
    }
    const problem = resolver.timelinessFor(dataSet, period);
    if (problem) return refuse(problem.code, problem.args, { period: periodText, dataSet: dataSet.uid });

    this.dataSetComplete = date;
    if (dryRun) return;
    await store.registerComplete({
      dataSet: dataSet.sid,
      period: period.id,
      orgUnit: orgUnit.sid,
      attributeOptionCombo: aoc.sid,
      completedDate: date,
      storedBy: this.username,
      lastUpdated: this.now,
    });
  }
}
