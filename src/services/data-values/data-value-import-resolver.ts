import type { DataValueItem, DataValueSetHeader } from '../../domain/data-values/data-value-input.ts';
import {
  parseIdSchemes,
  type DataValueImportOptions,
} from '../../domain/data-values/data-value-import-options.ts';
import { conflictMessage, type DataValueConflictCode } from '../../domain/data-values/import-conflicts.ts';
import { optionSetKey } from '../../domain/category/category-option-combos.ts';
import { formatIdScheme, IdSchemes, UID_SCHEME } from '../../domain/identifiers/id-scheme.ts';
import { parsePeriod, periodContaining, nextPeriod, type Period } from '../../domain/periods/periods.ts';
import { parseDay } from '../../domain/periods/calendar-days.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';
import { hasAuthority } from '../../domain/access/authorities.ts';
import type { PeriodStore } from '../../storage/period-store.ts';
import type {
  DataValueImportPreheat,
  CategoryInfo,
  DataElementInfo,
  DataSetInfo,
  OptionComboInfo,
  OrgUnitInfo,
} from './data-value-import-preheat.ts';
import { FatalImportError, type DataValueImportPrincipal } from './data-value-import-types.ts';

// Resolving what a file names: each header's id schemes and data set, the periods (stored once
// per batch), option combos by `{category: option}`, the capture scope, and whether a data set is
// open for a period. Everything is looked up in the metadata the preheat loaded once.

export interface TimelinessProblem {
  code: DataValueConflictCode;
  args: string[];
}

/** A period of the file with its stored id, and whether each data set is open for it. */
export interface ResolvedPeriod {
  id: number;
  period: Period;
  timeliness: Map<DataSetInfo, TimelinessProblem | null>;
}

/** What one header (file defaults and schemes) resolves to; rows under it share it. */
export interface HeaderContext {
  header: DataValueSetHeader;
  dataElements: Map<string, DataElementInfo>;
  orgUnits: Map<string, OrgUnitInfo>;
  categoryOptionCombos: Map<string, OptionComboInfo>;
  attributeOptionCombos: Map<string, OptionComboInfo>;
  categoryOptions: Map<string, { uid: string }>;
  categories: Map<string, CategoryInfo>;
  /** The category id scheme, for conflict messages. */
  categoryScheme: string;
  dataSet: DataSetInfo | undefined;
  dataSetText: string | undefined;
}

/**
 * Why `{category: option}` pairs name no option combo: a category not found (F7101), an option not
 * of its category (F7102), or (code undefined) options that make no combo of the category combo,
 * which the caller reports with its own "not found" code.
 */
export interface ComboMiss {
  code: 'F7101' | 'F7102' | undefined;
  args: string[];
  objects: Record<string, string>;
}

export function isComboMiss(found: OptionComboInfo | ComboMiss): found is ComboMiss {
  return !('sid' in found);
}

export function missConflict(
  miss: ComboMiss,
  notFound: DataValueConflictCode,
  comboType: 'categoryOptionCombo' | 'attributeOptionCombo',
): [DataValueConflictCode, Record<string, string>] {
  return miss.code ? [miss.code, miss.objects] : [notFound, { [comboType]: miss.args[0] }];
}

export class DataValueImportResolver {
  readonly preheat: DataValueImportPreheat;
  private readonly periods: PeriodStore;
  private readonly options: DataValueImportOptions;
  /** Today as YYYY-MM-DD, and as a day number for expiry arithmetic. */
  readonly today: string;
  private readonly todayDay: number;
  private readonly captureScope: ReadonlySet<string> | undefined;
  /** F_EDIT_EXPIRED (or ALL, or the operator at the command line): expiry days do not apply. */
  private readonly mayEditExpired: boolean;

  private readonly headerContexts = new Map<DataValueSetHeader, HeaderContext>();
  private readonly periodCache = new Map<string, ResolvedPeriod | null>();
  private lastComboByOptions:
    | {
        options: Record<string, string>;
        categoryComboUid: string | undefined;
        ctx: HeaderContext;
        result: OptionComboInfo | ComboMiss;
      }
    | undefined;
  private readonly scopeCache = new Map<number, boolean>();

  constructor(
    preheat: DataValueImportPreheat,
    periods: PeriodStore,
    options: DataValueImportOptions,
    principal: DataValueImportPrincipal | undefined,
    today: string,
  ) {
    this.preheat = preheat;
    this.periods = periods;
    this.options = options;
    this.today = today;
    this.todayDay = parseDay(today) ?? 0;
    const unrestricted = !principal || principal.authorities.has('ALL');
    this.captureScope = unrestricted ? undefined : new Set(principal.captureOrgUnits);
    this.mayEditExpired = !principal || hasAuthority(principal.authorities, 'F_EDIT_EXPIRED');
  }

  private schemesOf(header: DataValueSetHeader): IdSchemes {
    const fromFile = parseIdSchemes(header as Record<string, unknown>);
    const base = this.options.formatDefaultIdScheme
      ? new IdSchemes(this.options.formatDefaultIdScheme).overriddenBy(this.options.idSchemes)
      : this.options.idSchemes;
    return base.overriddenBy(fromFile);
  }

  /**
   * The look-up maps under a header's id schemes, and its data set, checked as DHIS2 checks it
   * before any value: not found (E7600) or not writable (E7601) stops the whole import.
   */
  async contextFor(header: DataValueSetHeader): Promise<HeaderContext> {
    let context = this.headerContexts.get(header);
    if (context) return context;
    const preheat = this.preheat;
    let schemes: IdSchemes;
    try {
      schemes = this.schemesOf(header);
    } catch (error) {
      throw new FatalImportError(`the file's id scheme is not valid: ${(error as Error).message}`);
    }
    const dataSetText = header.dataSet ?? this.options.dataSet;
    let dataSet: DataSetInfo | undefined;
    if (dataSetText !== undefined) {
      dataSet =
        preheat.dataSets.under(schemes.schemeFor('dataSet')).get(dataSetText) ??
        preheat.dataSets.under(UID_SCHEME).get(dataSetText);
      if (!dataSet) {
        throw new FatalImportError(conflictMessage('E7600', [dataSetText]), {
          code: 'E7600',
          args: [dataSetText],
          objects: { dataSet: dataSetText },
          property: 'dataSet',
        });
      }
      // DHIS2 2.42 checks it next, at the data set level: it aborts the import as E7600 does.
      if (preheat.writeSharing && !preheat.writeSharing.canWrite(dataSet)) {
        throw new FatalImportError(conflictMessage('E7601', [dataSetText]), {
          code: 'E7601',
          args: [dataSetText],
          objects: { dataSet: dataSetText },
          property: 'dataSet',
        });
      }
    }
    context = {
      header,
      dataElements: preheat.dataElements.under(schemes.schemeFor('dataElement')),
      orgUnits: await preheat.orgUnits(schemes.schemeFor('orgUnit')),
      categoryOptionCombos: preheat.optionCombos.under(schemes.schemeFor('categoryOptionCombo')),
      attributeOptionCombos: preheat.optionCombos.under(schemes.schemeFor('attributeOptionCombo')),
      categoryOptions: preheat.categoryOptions.under(schemes.schemeFor('categoryOption')),
      categories: preheat.categories.under(schemes.schemeFor('category')),
      categoryScheme: formatIdScheme(schemes.schemeFor('category')),
      dataSet,
      dataSetText,
    };
    this.headerContexts.clear();
    this.headerContexts.set(header, context);
    return context;
  }

  /** Stores the periods a batch names that are not known yet, in one round trip. */
  async resolvePeriods(
    items: ReadonlyArray<Extract<DataValueItem, { kind: 'value' }>>,
    headers: readonly DataValueSetHeader[],
  ): Promise<void> {
    const wanted = new Map<string, Period>();
    for (let i = 0; i < items.length; i++) {
      const text = items[i].value.period ?? headers[i].period;
      if (text === undefined || this.periodCache.has(text) || wanted.has(text)) continue;
      const period = parsePeriod(text);
      if (period) wanted.set(text, period);
      else this.periodCache.set(text, null);
    }
    if (wanted.size === 0) return;
    const ids = await this.periods.idsFor(wanted.keys());
    for (const [text, period] of wanted) {
      const id = ids.get(text);
      this.periodCache.set(text, id === undefined ? null : { id, period, timeliness: new Map() });
    }
  }

  /** A period `resolvePeriods` stored for the batch; undefined or null when it is not valid. */
  cachedPeriod(text: string): ResolvedPeriod | null | undefined {
    return this.periodCache.get(text);
  }

  /** One period, from the cache the values filled or else stored now (a header's period). */
  async periodFor(text: string): Promise<ResolvedPeriod | null> {
    const cached = this.periodCache.get(text);
    if (cached !== undefined) return cached;
    const period = parsePeriod(text);
    const id = period ? (await this.periods.idsFor([text])).get(text) : undefined;
    const resolved = period && id !== undefined ? { id, period, timeliness: new Map() } : null;
    this.periodCache.set(text, resolved);
    return resolved;
  }

  inScope(orgUnit: OrgUnitInfo): boolean {
    if (!this.captureScope) return true;
    let allowed = this.scopeCache.get(orgUnit.sid);
    if (allowed === undefined) {
      allowed = isInScope(orgUnit.path, this.captureScope);
      this.scopeCache.set(orgUnit.sid, allowed);
    }
    return allowed;
  }

  /**
   * E7640 (past expiry days) or E7641 (after the latest open future period) for one data set. As
   * in DHIS2 (`DataSet.isLocked`), a user with F_EDIT_EXPIRED may write past the expiry days; the
   * open future periods bind everyone.
   */
  timelinessFor(dataSet: DataSetInfo, resolved: ResolvedPeriod): TimelinessProblem | null {
    const cached = resolved.timeliness.get(dataSet);
    if (cached !== undefined) return cached;
    const period = resolved.period;
    let problem: TimelinessProblem | null = null;
    const endDay = parseDay(period.endDate) ?? 0;
    if (dataSet.expiryDays > 0 && !this.mayEditExpired && this.todayDay > endDay + dataSet.expiryDays) {
      problem = { code: 'E7640', args: [period.iso, dataSet.uid] };
    } else {
      let latest = periodContaining(dataSet.periodType, this.today);
      for (let i = 0; latest && i < dataSet.openFuturePeriods; i++) latest = nextPeriod(latest);
      if (latest && period.startDate > latest.endDate) {
        problem = { code: 'E7641', args: [period.iso, latest.iso, dataSet.uid] };
      }
    }
    resolved.timeliness.set(dataSet, problem);
    return problem;
  }

  /**
   * The combo for ADX / DHIS2 2.43 `{category: option}` disaggregation within a category combo:
   * each category named under `categoryIdScheme`, each option under `categoryOptionIdScheme` and
   * one of its category's. The last answer is kept: an ADX group's values share one options object.
   */
  comboByOptions(
    categoryComboUid: string | undefined,
    options: Record<string, string>,
    ctx: HeaderContext,
  ): OptionComboInfo | ComboMiss {
    const last = this.lastComboByOptions;
    if (last && last.options === options && last.categoryComboUid === categoryComboUid && last.ctx === ctx) {
      return last.result;
    }
    const result = this.findComboByOptions(categoryComboUid, options, ctx);
    this.lastComboByOptions = { options, categoryComboUid, ctx, result };
    return result;
  }

  private findComboByOptions(
    categoryComboUid: string | undefined,
    options: Record<string, string>,
    ctx: HeaderContext,
  ): OptionComboInfo | ComboMiss {
    const optionUids: string[] = [];
    for (const category in options) {
      const option = options[category];
      const resolvedCategory = ctx.categories.get(category);
      if (!resolvedCategory) {
        return {
          code: 'F7101',
          args: [category, ctx.categoryScheme],
          objects: { category },
        };
      }
      const resolved = ctx.categoryOptions.get(option);
      if (!resolved || !resolvedCategory.options.has(resolved.uid)) {
        return {
          code: 'F7102',
          args: [option, category],
          objects: { categoryOption: option, category },
        };
      }
      optionUids.push(resolved.uid);
    }
    const combo = categoryComboUid ? this.preheat.categoryCombos.get(categoryComboUid) : undefined;
    const found = combo?.combos.get(optionSetKey(optionUids));
    if (found) return found;
    const text = Object.entries(options)
      .map(([c, o]) => `${c}=${o}`)
      .join(',');
    return { code: undefined, args: [text], objects: {} };
  }

  /** An option combo by uid: the default combo of a row or header that names none. */
  optionComboByUid(uid: string): OptionComboInfo | undefined {
    return this.preheat.optionCombos.under(UID_SCHEME).get(uid);
  }
}
