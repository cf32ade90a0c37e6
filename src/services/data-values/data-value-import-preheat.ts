import type { ValueType } from '../../domain/value-types/value-types.ts';
import { isValueType } from '../../domain/value-types/value-types.ts';
import { formatIdScheme, identifierUnderScheme, type IdScheme } from '../../domain/identifiers/id-scheme.ts';
import { DEFAULT_CATEGORY_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { optionSetKey } from '../../domain/category/category-option-combos.ts';
import {
  canDataWrite,
  canDataWriteOptionCombo,
  categoryOptionUidsOf,
  type SharingSubject,
} from '../../domain/access/data-sharing.ts';
import type { DataValueStore, MetadataIdentifiers } from '../../storage/data-value-store.ts';

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
      const built = new Map<string, T>();
      const identifiers = this.entries.map(({ ids }) =>
        identifierUnderScheme(
          {
            id: ids.uid,
            code: ids.code,
            name: ids.name,
            attributeValues: (ids.body?.attributeValues as never) ?? null,
          },
          scheme,
        ),
      );
      // A NAME or CODE shared by two objects is ambiguous: the first (oldest) wins, as sid order.
      this.entries.forEach(({ info }, i) => {
        const identifier = identifiers[i];
        if (identifier !== undefined && !built.has(identifier)) built.set(identifier, info);
      });
      if (scheme.kind !== 'UID') {
        // The export writes an object lacking an identifier under the scheme by its UID (ADX's
        // default CODE scheme and objects without a code): read such a UID back as that object,
        // after every real identifier so a code equal to another object's UID still wins.
        this.entries.forEach(({ ids, info }, i) => {
          if (identifiers[i] === undefined && !built.has(ids.uid)) built.set(ids.uid, info);
        });
      }
      this.maps.set(key, built);
      map = built;
    }
    return map;
  }

  get size(): number {
    return this.entries.length;
  }
}

/**
 * Data write sharing for one import's user (DHIS2 2.42's E7601, E7614 and E7616), decided once per
 * data set and once per option combo the file uses, so a value costs one Map look-up per combo.
 * Built only for a user without ALL: superusers and the command line skip every check.
 */
export class DataWriteSharing {
  private readonly subject: SharingSubject;
  private readonly dataSetBodies: ReadonlyMap<string, Raw>;
  private readonly comboBodies: ReadonlyMap<string, Raw>;
  private readonly optionBodies: ReadonlyMap<string, Raw>;
  private readonly dataSetVerdicts = new Map<DataSetInfo, boolean>();
  private readonly closedByCombo = new Map<OptionComboInfo, readonly string[]>();

  constructor(
    subject: SharingSubject,
    bodies: {
      dataSets: ReadonlyMap<string, Raw>;
      optionCombos: ReadonlyMap<string, Raw>;
      categoryOptions: ReadonlyMap<string, Raw>;
    },
  ) {
    this.subject = subject;
    this.dataSetBodies = bodies.dataSets;
    this.comboBodies = bodies.optionCombos;
    this.optionBodies = bodies.categoryOptions;
  }

  /** Whether the user may write data of the data set (else E7601). */
  canWrite(dataSet: DataSetInfo): boolean {
    let verdict = this.dataSetVerdicts.get(dataSet);
    if (verdict === undefined) {
      verdict = canDataWrite(this.dataSetBodies.get(dataSet.uid) ?? {}, this.subject);
      this.dataSetVerdicts.set(dataSet, verdict);
    }
    return verdict;
  }

  /**
   * UIDs of the combo's category options the user may not write data of, in the combo's order
   * (DHIS2 reports each, E7614 or E7616); empty when the combo is writable.
   */
  closedOptions(combo: OptionComboInfo): readonly string[] {
    let closed = this.closedByCombo.get(combo);
    if (closed === undefined) {
      closed = this.findClosedOptions(combo);
      this.closedByCombo.set(combo, closed);
    }
    return closed;
  }

  private findClosedOptions(combo: OptionComboInfo): readonly string[] {
    const body = { ...this.comboBodies.get(combo.uid), id: combo.uid };
    const optionOf = (uid: string): Raw | undefined => this.optionBodies.get(uid);
    if (canDataWriteOptionCombo(body, optionOf, this.subject)) return NONE;
    // The evaluator decided; this only names the options, for the conflicts.
    return categoryOptionUidsOf(body).filter((uid) => {
      const option = optionOf(uid);
      return option !== undefined && !canDataWrite(option, this.subject);
    });
  }
}

const NONE: readonly string[] = Object.freeze([]);

function bodiesByUid(rows: readonly MetadataIdentifiers[]): Map<string, Raw> {
  return new Map(rows.map((row) => [row.uid, row.body ?? {}]));
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
  /** Undefined when nothing is checked: no user (the command line) or a user with ALL. */
  readonly writeSharing: DataWriteSharing | undefined;
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
      writeSharing: DataWriteSharing | undefined;
    },
  ) {
    this.store = store;
    this.dataElements = parts.dataElements;
    this.dataSets = parts.dataSets;
    this.optionCombos = parts.optionCombos;
    this.categories = parts.categories;
    this.categoryOptions = parts.categoryOptions;
    this.categoryCombos = parts.categoryCombos;
    this.writeSharing = parts.writeSharing;
  }

  /** `subject`: whose data write sharing to check; undefined (or a superuser) checks none. */
  static async load(store: DataValueStore, subject?: SharingSubject): Promise<DataValueImportPreheat> {
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
      writeSharing:
        subject && !subject.superuser
          ? new DataWriteSharing(subject, {
              dataSets: bodiesByUid(dataSets),
              optionCombos: bodiesByUid(optionCombos),
              categoryOptions: bodiesByUid(categoryOptions),
            })
          : undefined,
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
