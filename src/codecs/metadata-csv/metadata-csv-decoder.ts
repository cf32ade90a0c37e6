import type { SchemaRegistry } from '../../domain/schema/schema-types.ts';
import type { MetadataItem } from '../metadata-json/metadata-json-decoder.ts';
import { InputError } from '../input/input-error.ts';
import { readCsvRecords } from '../csv/csv-reader.ts';
import { uidFromSeed } from '../../domain/identifiers/uid.ts';

/** DHIS2's membership class keys: two columns, the group's UID and the member's UID. */
export const CSV_MEMBERSHIP_CLASSES: Readonly<Record<string, { collection: string; property: string }>> = {
  ORGANISATION_UNIT_GROUP_MEMBERSHIP: { collection: 'organisationUnitGroups', property: 'organisationUnits' },
  DATA_ELEMENT_GROUP_MEMBERSHIP: { collection: 'dataElementGroups', property: 'dataElements' },
  INDICATOR_GROUP_MEMBERSHIP: { collection: 'indicatorGroups', property: 'indicators' },
  OPTION_GROUP_SET_MEMBERSHIP: { collection: 'optionGroupSets', property: 'optionGroups' },
};

/**
 * Values DHIS2's CSV importer (DefaultCsvImportService) gives properties a row leaves empty, so that
 * a minimal row (name, uid, code) makes a valid object.
 */
const CSV_DEFAULTS: Readonly<Record<string, Record<string, unknown>>> = {
  dataElements: {
    domainType: 'AGGREGATE',
    valueType: 'INTEGER',
    aggregationType: 'SUM',
    zeroIsSignificant: false,
  },
  organisationUnits: { openingDate: '1970-01-01' },
  optionSets: { valueType: 'TEXT' },
  categories: { dataDimensionType: 'DISAGGREGATION', dataDimension: true },
  categoryCombos: { dataDimensionType: 'DISAGGREGATION', skipTotal: false },
  categoryOptionGroups: { dataDimensionType: 'DISAGGREGATION' },
  indicators: { annualized: false },
  validationRules: { importance: 'MEDIUM', periodType: 'Monthly', operator: 'equal_to' },
};

export interface CsvImportClass {
  collection: string;
  /** For membership classes: the reference list rows add to. */
  membershipProperty?: string;
}

export function csvImportClass(registry: SchemaRegistry, classKey: string): CsvImportClass | undefined {
  const key = classKey.toUpperCase();
  const membership = CSV_MEMBERSHIP_CLASSES[key];
  if (membership) return { collection: membership.collection, membershipProperty: membership.property };
  const schema = registry.byCsvClassKey(key);
  return schema ? { collection: schema.collection } : undefined;
}

/**
 * DHIS2's metadata CSV: one class per file, positional columns in the order the registry lists
 * (`csvColumns`, DHIS2's order), the first row skipped when `firstRowIsHeader`. Rows of option sets
 * and option groups are grouped into one object per set (one row per option); membership rows into
 * one group object per group. Other classes yield one object per row as it is read.
 */
export async function* decodeMetadataCsv(
  text: AsyncIterable<string>,
  fileName: string,
  registry: SchemaRegistry,
  classKey: string,
  firstRowIsHeader: boolean,
): AsyncIterable<MetadataItem> {
  const importClass = csvImportClass(registry, classKey);
  if (!importClass) throw new InputError(fileName, `unknown CSV class key ${classKey}`);
  const { collection, membershipProperty } = importClass;
  const schema = registry.byCollection(collection)!;
  const grouped = new Map<string, MetadataItem>();
  let index = 0;
  let first = true;
  for await (const row of readCsvRecords(text, fileName)) {
    if (first && firstRowIsHeader) {
      first = false;
      continue;
    }
    first = false;
    const fields = row.fields.map((f) => f.trim());
    if (membershipProperty) {
      const [groupUid, memberUid] = fields;
      if (!groupUid || !memberUid) {
        throw new InputError(fileName, 'a membership row needs the group UID and the member UID', {
          line: row.line,
        });
      }
      let item = grouped.get(groupUid);
      if (!item) {
        item = {
          collection,
          index: index++,
          object: { id: groupUid, [membershipProperty]: [] },
          line: row.line,
        };
        grouped.set(groupUid, item);
      }
      (item.object[membershipProperty] as Array<{ id: string }>).push({ id: memberUid });
      continue;
    }
    const columns = schema.csvColumns ?? [];
    const object: Record<string, unknown> = { ...CSV_DEFAULTS[collection] };
    const option: Record<string, unknown> = {};
    let latitude: number | undefined;
    let longitude: number | undefined;
    columns.forEach((column, i) => {
      const value = fields[i];
      if (value === undefined || value === '') return;
      if (column === 'uid') object.id = value;
      else if (column === 'optionName') option.name = value;
      else if (column === 'optionUid') option.id = value;
      else if (column === 'optionCode') option.code = value;
      else if (column === 'latitude' || column === 'longitude') {
        const n = Number(value);
        if (!Number.isFinite(n))
          throw new InputError(fileName, `${column} \`${value}\` is not a number`, { line: row.line });
        if (column === 'latitude') latitude = n;
        else longitude = n;
      } else if (/^(left|right)Side(Expression|Description|MissingValueStrategy)$/.test(column)) {
        const side = column.startsWith('left') ? 'leftSide' : 'rightSide';
        const key = column.slice(side.length);
        const part = (object[side] ??= { missingValueStrategy: 'SKIP_IF_ALL_VALUES_MISSING' }) as Record<
          string,
          unknown
        >;
        part[key[0].toLowerCase() + key.slice(1)] = value;
      } else if (column.endsWith('Uid') || column.endsWith('Code')) {
        const suffix = column.endsWith('Uid') ? 'Uid' : 'Code';
        const property = column.slice(0, -suffix.length);
        const ref = { [suffix === 'Uid' ? 'id' : 'code']: value };
        if (property === 'option') option[suffix === 'Uid' ? 'id' : 'code'] = value;
        else object[property] = ref;
      } else {
        const property = registry.property(collection, column);
        if (property?.kind === 'reference') object[column] = { id: value };
        else if (property?.kind === 'boolean') object[column] = value.toLowerCase() === 'true';
        else if (property?.kind === 'integer' || property?.kind === 'number') {
          const n = Number(value);
          object[column] = Number.isFinite(n) ? n : value;
        } else object[column] = value;
      }
    });
    if (latitude !== undefined && longitude !== undefined) {
      object.geometry = { type: 'Point', coordinates: [longitude, latitude] };
    }
    if (
      typeof object.name === 'string' &&
      schema.properties.some((p) => p.name === 'shortName' && p.required)
    ) {
      object.shortName ??= object.name.slice(0, 50);
    }
    if (collection === 'optionSets' || collection === 'optionGroups') {
      // One row per option: the set's rows share its uid (or, without one, its name).
      const key = String(object.id ?? object.name ?? row.line);
      let item = grouped.get(key);
      if (!item) {
        item = { collection, index: index++, object: { ...object, options: [] }, line: row.line };
        grouped.set(key, item);
      }
      const options = item.object.options as Array<Record<string, unknown>>;
      if (collection === 'optionSets' && option.name !== undefined) {
        options.push({ ...option, sortOrder: options.length + 1 });
      } else if (collection === 'optionGroups' && (option.id !== undefined || option.code !== undefined)) {
        options.push(option);
      }
      continue;
    }
    yield { collection, index: index++, object, line: row.line };
  }
  if (collection !== 'optionSets') {
    yield* grouped.values();
    return;
  }
  // Option sets list options by reference; the options themselves are objects of their own.
  const options: MetadataItem[] = [];
  for (const item of grouped.values()) {
    const list = item.object.options as Array<Record<string, unknown>>;
    const setKey = String(item.object.id ?? item.object.name);
    item.object.options = list.map((option) => {
      // An option without a UID gets one derived from its set and code, so two sets may both have
      // a MEDIUM option and importing the same file again updates instead of duplicating.
      option.id ??= uidFromSeed(`optionSet:${setKey}/${String(option.code ?? option.name)}`);
      const ref: Record<string, unknown> = { id: option.id };
      options.push({
        collection: 'options',
        index: options.length,
        object: {
          id: option.id,
          name: option.name,
          code: option.code ?? option.name,
          sortOrder: option.sortOrder,
        },
        line: item.line,
      });
      return ref;
    });
  }
  yield* options;
  yield* grouped.values();
}
