import type { ValueType } from '../domain/value-types/value-types.ts';
import { isValueType } from '../domain/value-types/value-types.ts';
import { formatIdScheme, identifierUnderScheme, type IdScheme } from '../domain/identifiers/id-scheme.ts';
import { DEFAULT_CATEGORY_COMBO_UID } from '../domain/category/default-category-model.ts';
import { optionSetKey } from '../domain/category/category-option-combos.ts';
import type { DataValueStore, MetadataIdentifiers } from '../storage/data-value-store.ts';

export interface DataSetInfo {
  sid: number;
  uid: string;
  periodType: string;
  expiryDays: number;
  openFuturePeriods: number;
  categoryComboUid: string | undefined;
  /** Data element uid → the category combo it has in this data set (an override, or its own). */
  elements: Map<string, string | undefined>;
}

export interface DataElementInfo {
  sid: number;
  uid: string;
  valueType: ValueType;
  zeroIsSignificant: boolean;
  categoryComboUid: string | undefined;
  /** Codes of the option set's options, when the data element has one. */
  optionCodes: Set<string> | undefined;
  dataSets: DataSetInfo[];
}

export interface OrgUnitInfo {
  sid: number;
  uid: string;
  path: string;
}

export interface OptionComboInfo {
  sid: number;
  uid: string;
  categoryComboUid: string | undefined;
}

export interface CategoryInfo {
  uid: string;
  /** Uids of the category's options. */
  options: ReadonlySet<string>;
}

export interface CategoryComboInfo {
  uid: string;
  /** Sorted option uids → option combo. */
  combos: Map<string, OptionComboInfo>;
}

type Raw = Record<string, unknown>;

function refId(value: unknown): string | undefined {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

function refIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.map(refId).filter((id): id is string => id !== undefined);
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

/** Objects of one type indexed by an identifier scheme; one map per scheme, built on first use. */
class IdentifierIndex<T> {
  private readonly entries: Array<{ ids: MetadataIdentifiers; info: T }>;
  private readonly maps = new Map<string, Map<string, T>>();

  constructor(entries: Array<{ ids: MetadataIdentifiers; info: T }>) {
    this.entries = entries;
  }

  under(scheme: IdScheme): Map<string, T> {
    const key = formatIdScheme(scheme);
    let map = this.maps.get(key);
    if (!map) {
      map = new Map();
      for (const { ids, info } of this.entries) {
        const identifier = identifierUnderScheme(
          {
            id: ids.uid,
            code: ids.code,
            name: ids.name,
            attributeValues: (ids.body?.attributeValues as never) ?? null,
          },
          scheme,
        );
        // A NAME or CODE shared by two objects is ambiguous: the first (oldest) wins, as sid order.
        if (identifier !== undefined && !map.has(identifier)) map.set(identifier, info);
      }
      this.maps.set(key, map);
    }
    return map;
  }

  get size(): number {
    return this.entries.length;
  }
}

/**
 * Everything an import resolves identifiers against, loaded once per import in a handful of
 * queries (DHIS2's "preheat"); every row then costs a few Map look-ups and no query.
 */
export class DataValueImportPreheat {
  readonly dataElements: IdentifierIndex<DataElementInfo>;
  readonly dataSets: IdentifierIndex<DataSetInfo>;
  readonly optionCombos: IdentifierIndex<OptionComboInfo>;
  readonly categories: IdentifierIndex<CategoryInfo>;
  readonly categoryOptions: IdentifierIndex<{ uid: string }>;
  readonly categoryCombos: Map<string, CategoryComboInfo>;
  private orgUnitIndex: IdentifierIndex<OrgUnitInfo> | undefined;
  private orgUnitsHaveBodies = false;
  private readonly store: DataValueStore;

  private constructor(
    store: DataValueStore,
    parts: {
      dataElements: IdentifierIndex<DataElementInfo>;
      dataSets: IdentifierIndex<DataSetInfo>;
      optionCombos: IdentifierIndex<OptionComboInfo>;
      categories: IdentifierIndex<CategoryInfo>;
      categoryOptions: IdentifierIndex<{ uid: string }>;
      categoryCombos: Map<string, CategoryComboInfo>;
    },
  ) {
    this.store = store;
    this.dataElements = parts.dataElements;
    this.dataSets = parts.dataSets;
    this.optionCombos = parts.optionCombos;
    this.categories = parts.categories;
    this.categoryOptions = parts.categoryOptions;
    this.categoryCombos = parts.categoryCombos;
  }

  static async load(store: DataValueStore): Promise<DataValueImportPreheat> {
    // One after another: on PostgreSQL they share the transaction's connection.
    const dataElements = await store.loadIdentifiers('dataElements', true);
    const dataSets = await store.loadIdentifiers('dataSets', true);
    const optionCombos = await store.loadIdentifiers('categoryOptionCombos', true);
    const optionSets = await store.loadIdentifiers('optionSets', true);
    const options = await store.loadIdentifiers('options', false);
    const categories = await store.loadIdentifiers('categories', true);
    const categoryOptions = await store.loadIdentifiers('categoryOptions', true);
    const combos = await store.loadIdentifiers('categoryCombos', false);

    const optionCode = new Map(options.map((o) => [o.uid, o.code]));
    const codesByOptionSet = new Map<string, Set<string>>();
    for (const set of optionSets) {
      const codes = new Set<string>();
      for (const id of refIds(set.body?.options)) {
        const code = optionCode.get(id);
        if (code) codes.add(code);
      }
      codesByOptionSet.set(set.uid, codes);
    }

    const dataSetEntries = dataSets.map((ids) => {
      const body = ids.body ?? {};
      const elements = new Map<string, string | undefined>();
      if (Array.isArray(body.dataSetElements)) {
        for (const element of body.dataSetElements as Raw[]) {
          const de = refId(element.dataElement);
          if (de) elements.set(de, refId(element.categoryCombo));
        }
      }
      const info: DataSetInfo = {
        sid: ids.sid,
        uid: ids.uid,
        periodType: typeof body.periodType === 'string' ? body.periodType : 'Monthly',
        expiryDays: numberOr(body.expiryDays, 0),
        openFuturePeriods: numberOr(body.openFuturePeriods, 0),
        categoryComboUid: refId(body.categoryCombo),
        elements,
      };
      return { ids, info };
    });
    const dataSetsByElement = new Map<string, DataSetInfo[]>();
    for (const { info } of dataSetEntries) {
      for (const de of info.elements.keys()) {
        const list = dataSetsByElement.get(de);
        if (list) list.push(info);
        else dataSetsByElement.set(de, [info]);
      }
    }

    const dataElementEntries = dataElements.map((ids) => {
      const body = ids.body ?? {};
      const optionSet = refId(body.optionSet);
      const info: DataElementInfo = {
        sid: ids.sid,
        uid: ids.uid,
        valueType: isValueType(body.valueType) ? body.valueType : 'TEXT',
        zeroIsSignificant: body.zeroIsSignificant === true,
        // DHIS2 gives a data element without a category combo the default one.
        categoryComboUid: refId(body.categoryCombo) ?? DEFAULT_CATEGORY_COMBO_UID,
        optionCodes: optionSet ? (codesByOptionSet.get(optionSet) ?? new Set()) : undefined,
        dataSets: dataSetsByElement.get(ids.uid) ?? [],
      };
      return { ids, info };
    });

    const optionComboEntries = optionCombos.map((ids) => ({
      ids,
      info: {
        sid: ids.sid,
        uid: ids.uid,
        categoryComboUid: refId(ids.body?.categoryCombo),
      } as OptionComboInfo,
    }));
    const categoryCombos = new Map<string, CategoryComboInfo>();
    for (const combo of combos) categoryCombos.set(combo.uid, { uid: combo.uid, combos: new Map() });
    for (const { ids, info } of optionComboEntries) {
      if (!info.categoryComboUid) continue;
      const combo = categoryCombos.get(info.categoryComboUid);
      combo?.combos.set(optionSetKey(refIds(ids.body?.categoryOptions)), info);
    }

    return new DataValueImportPreheat(store, {
      dataElements: new IdentifierIndex(dataElementEntries),
      dataSets: new IdentifierIndex(dataSetEntries),
      optionCombos: new IdentifierIndex(optionComboEntries),
      categories: new IdentifierIndex(
        categories.map((ids) => ({
          ids,
          info: { uid: ids.uid, options: new Set(refIds(ids.body?.categoryOptions)) },
        })),
      ),
      categoryOptions: new IdentifierIndex(categoryOptions.map((ids) => ({ ids, info: { uid: ids.uid } }))),
      categoryCombos,
    });
  }

  /**
   * Org units by a scheme. Loaded on first use and without bodies (geometry can be megabytes)
   * unless the scheme is ATTRIBUTE, which needs their attribute values.
   */
  async orgUnits(scheme: IdScheme): Promise<Map<string, OrgUnitInfo>> {
    const needBodies = scheme.kind === 'ATTRIBUTE';
    if (!this.orgUnitIndex || (needBodies && !this.orgUnitsHaveBodies)) {
      const rows = await this.store.loadIdentifiers('organisationUnits', needBodies);
      this.orgUnitIndex = new IdentifierIndex(
        rows.map((ids) => ({ ids, info: { sid: ids.sid, uid: ids.uid, path: ids.path ?? `/${ids.uid}` } })),
      );
      this.orgUnitsHaveBodies = needBodies;
    }
    return this.orgUnitIndex.under(scheme);
  }
}
