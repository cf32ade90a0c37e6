/** DHIS2's value types (`org.hisp.dhis.common.ValueType`). */
export const VALUE_TYPES = [
  'TEXT',
  'LONG_TEXT',
  'MULTI_TEXT',
  'LETTER',
  'PHONE_NUMBER',
  'EMAIL',
  'BOOLEAN',
  'TRUE_ONLY',
  'DATE',
  'DATETIME',
  'TIME',
  'NUMBER',
  'UNIT_INTERVAL',
  'PERCENTAGE',
  'INTEGER',
  'INTEGER_POSITIVE',
  'INTEGER_NEGATIVE',
  'INTEGER_ZERO_OR_POSITIVE',
  'TRACKER_ASSOCIATE',
  'USERNAME',
  'COORDINATE',
  'ORGANISATION_UNIT',
  'REFERENCE',
  'AGE',
  'URL',
  'FILE_RESOURCE',
  'IMAGE',
  'GEOJSON',
] as const;
export type ValueType = (typeof VALUE_TYPES)[number];

/** DHIS2's aggregation types (`org.hisp.dhis.analytics.AggregationType`). */
export const AGGREGATION_TYPES = [
  'SUM',
  'AVERAGE',
  'AVERAGE_SUM_ORG_UNIT',
  'LAST',
  'LAST_AVERAGE_ORG_UNIT',
  'LAST_LAST_ORG_UNIT',
  'LAST_IN_PERIOD',
  'LAST_IN_PERIOD_AVERAGE_ORG_UNIT',
  'FIRST',
  'FIRST_AVERAGE_ORG_UNIT',
  'FIRST_FIRST_ORG_UNIT',
  'COUNT',
  'STDDEV',
  'VARIANCE',
  'MIN',
  'MAX',
  'MIN_SUM_ORG_UNIT',
  'MAX_SUM_ORG_UNIT',
  'NONE',
  'CUSTOM',
  'DEFAULT',
] as const;
export type AggregationType = (typeof AGGREGATION_TYPES)[number];

export function isValueType(value: unknown): value is ValueType {
  return typeof value === 'string' && (VALUE_TYPES as readonly string[]).includes(value);
}
