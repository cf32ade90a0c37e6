import type { PropertyDescriptor, SchemaDescriptor } from './schema-types.ts';
import { AGGREGATION_TYPES, VALUE_TYPES } from '../value-types/value-types.ts';
import { PERIOD_TYPE_NAMES } from './period-type-names.ts';

/*
 * Every metadata type Ferry knows, described once with DHIS2's property names. Storage, import,
 * export, validation and dependency export read these descriptors; nothing is written per type.
 * Properties that DHIS2 computes for display (displayName, access, href, ...) are not described:
 * they are kept verbatim when a file carries them (see docs/architecture.md, "stored whole").
 */

const str = (name: string, extra: Partial<PropertyDescriptor> = {}): PropertyDescriptor => ({
  name,
  kind: 'string',
  maxLength: 230,
  ...extra,
});
const text = (name: string, extra: Partial<PropertyDescriptor> = {}): PropertyDescriptor => ({
  name,
  kind: 'text',
  ...extra,
});
const int = (name: string, extra: Partial<PropertyDescriptor> = {}): PropertyDescriptor => ({
  name,
  kind: 'integer',
  ...extra,
});
const num = (name: string): PropertyDescriptor => ({ name, kind: 'number' });
const bool = (name: string): PropertyDescriptor => ({ name, kind: 'boolean' });
const date = (name: string, extra: Partial<PropertyDescriptor> = {}): PropertyDescriptor => ({
  name,
  kind: 'date',
  ...extra,
});
const json = (name: string): PropertyDescriptor => ({ name, kind: 'json' });
const oneOf = (
  name: string,
  enumValues: readonly string[],
  extra: Partial<PropertyDescriptor> = {},
): PropertyDescriptor => ({ name, kind: 'enum', enumValues, ...extra });
const ref = (name: string, target: string, extra: Partial<PropertyDescriptor> = {}): PropertyDescriptor => ({
  name,
  kind: 'reference',
  target,
  owner: true,
  ...extra,
});
const refs = (name: string, target: string, extra: Partial<PropertyDescriptor> = {}): PropertyDescriptor => ({
  name,
  kind: 'references',
  target,
  owner: true,
  ...extra,
});
const embeddedList = (name: string, itemSchema: string): PropertyDescriptor => ({
  name,
  kind: 'embeddedList',
  itemSchema,
  owner: true,
});

const DATA_DIMENSION_TYPES = ['DISAGGREGATION', 'ATTRIBUTE'] as const;
const DOMAIN_TYPES = ['AGGREGATE', 'TRACKER'] as const;
const FEATURE_TYPES = ['NONE', 'MULTI_POLYGON', 'POLYGON', 'POINT', 'SYMBOL'] as const;

/** Properties every identifiable object has (DHIS2's BaseIdentifiableObject). */
const IDENTIFIABLE: readonly PropertyDescriptor[] = [
  { name: 'id', kind: 'string', maxLength: 11 },
  str('code', { maxLength: 50, unique: true }),
  str('name'),
  date('created'),
  date('lastUpdated'),
  ref('createdBy', 'users', { owner: false }),
  ref('lastUpdatedBy', 'users', { owner: false }),
  ref('user', 'users', { owner: false }),
  json('sharing'),
  json('translations'),
  embeddedList('attributeValues', 'attributeValues'),
];

interface TypeSpec {
  collection: string;
  singular: string;
  klass: string;
  properties: readonly PropertyDescriptor[];
  shareable?: boolean;
  identifiable?: boolean;
  embeddedOnly?: boolean;
  hasAttributeValues?: boolean;
  /**
   * Name is required and unique (most DHIS2 types); where DHIS2's Hibernate mapping (2.42) has
   * `unique="false"` or no flag (indicators, data sets, programs, visualizations, dashboards, user
   * groups, ...) it is `required`; option combos and embedded items have it `optional`.
   */
  nameRule?: 'uniqueRequired' | 'required' | 'optional';
  /**
   * Add shortName as DHIS2's name-able objects have: `true` required and unique, `'optional'` neither,
   * `'unique'` unique when present (DHIS2 requires it too; Ferry doesn't, for older packages),
   * `'required'` required but shared names allowed (indicators, programs in DHIS2's mapping).
   */
  shortName?: boolean | 'optional' | 'unique' | 'required';
  csvClassKey?: string;
  csvColumns?: readonly string[];
  hierarchyProperty?: string;
  dependencies?: readonly string[];
  dependents?: ReadonlyArray<{ collection: string; property: string }>;
  dependencyExport?: boolean;
  uniqueTogether?: readonly (readonly string[])[];
}

function defineType(spec: TypeSpec): SchemaDescriptor {
  const identifiable = spec.identifiable ?? true;
  const nameRule = spec.nameRule ?? 'uniqueRequired';
  const base: PropertyDescriptor[] = [];
  if (identifiable) {
    for (const property of IDENTIFIABLE) {
      if (property.name === 'name') {
        base.push({
          ...property,
          required: nameRule !== 'optional',
          unique: nameRule === 'uniqueRequired',
        });
      } else {
        base.push(property);
      }
    }
    if (spec.shortName) {
      base.push(
        str('shortName', {
          maxLength: 50,
          required: spec.shortName === true || spec.shortName === 'required',
          unique: spec.shortName === true || spec.shortName === 'unique',
        }),
      );
      base.push(text('description'));
      base.push(str('formName'));
    }
  }
  const ownNames = new Set(spec.properties.map((p) => p.name));
  const properties = [...base.filter((p) => !ownNames.has(p.name)), ...spec.properties];
  return {
    collection: spec.collection,
    singular: spec.singular,
    klass: spec.klass,
    identifiable,
    embeddedOnly: spec.embeddedOnly,
    shareable: spec.shareable ?? identifiable,
    hasAttributeValues: spec.hasAttributeValues ?? identifiable,
    properties,
    csvClassKey: spec.csvClassKey,
    csvColumns: spec.csvColumns,
    hierarchyProperty: spec.hierarchyProperty,
    dependencies: spec.dependencies,
    dependents: spec.dependents,
    dependencyExport: spec.dependencyExport,
    uniqueTogether: spec.uniqueTogether,
  };
}

const P = 'org.hisp.dhis.';

export const METADATA_SCHEMAS: readonly SchemaDescriptor[] = [
  // Embedded objects: no collection of their own in storage.
  defineType({
    collection: 'attributeValues',
    singular: 'attributeValue',
    klass: `${P}attribute.AttributeValue`,
    identifiable: false,
    embeddedOnly: true,
    properties: [ref('attribute', 'attributes', { required: true }), text('value')],
  }),
  defineType({
    collection: 'dataSetElements',
    singular: 'dataSetElement',
    klass: `${P}dataset.DataSetElement`,
    identifiable: false,
    embeddedOnly: true,
    // DHIS2's datasetelement unique key (datasetid, dataelementid).
    uniqueTogether: [['dataSet', 'dataElement']],
    properties: [
      ref('dataSet', 'dataSets', { owner: false }),
      ref('dataElement', 'dataElements', { required: true }),
      ref('categoryCombo', 'categoryCombos'),
    ],
  }),
  defineType({
    collection: 'legends',
    singular: 'legend',
    klass: `${P}legend.Legend`,
    embeddedOnly: true,
    nameRule: 'optional',
    properties: [num('startValue'), num('endValue'), str('color'), str('image')],
  }),
  defineType({
    collection: 'dashboardItems',
    singular: 'dashboardItem',
    klass: `${P}dashboard.DashboardItem`,
    embeddedOnly: true,
    nameRule: 'optional',
    properties: [
      str('type'),
      ref('visualization', 'visualizations'),
      ref('map', 'maps'),
      ref('eventChart', 'eventCharts'),
      ref('eventReport', 'eventReports'),
      ref('eventVisualization', 'eventVisualizations'),
      refs('reports', 'reports'),
      refs('resources', 'documents'),
      refs('users', 'users', { owner: false }),
      text('text'),
      str('appKey'),
      int('x'),
      int('y'),
      num('height'),
      num('width'),
      str('shape'),
    ],
  }),
  defineType({
    collection: 'trackedEntityTypeAttributes',
    singular: 'trackedEntityTypeAttribute',
    klass: `${P}trackedentity.TrackedEntityTypeAttribute`,
    embeddedOnly: true,
    nameRule: 'optional',
    uniqueTogether: [['trackedEntityType', 'trackedEntityAttribute']],
    properties: [
      ref('trackedEntityAttribute', 'trackedEntityAttributes', { required: true }),
      ref('trackedEntityType', 'trackedEntityTypes', { owner: false }),
      bool('displayInList'),
      bool('mandatory'),
      bool('searchable'),
    ],
  }),

  // Users and access.
  defineType({
    collection: 'userRoles',
    singular: 'userRole',
    klass: `${P}user.UserRole`,
    properties: [
      text('description'),
      { name: 'authorities', kind: 'stringList' },
      refs('dataSets', 'dataSets', { owner: false }),
      refs('programs', 'programs', { owner: false }),
      refs('users', 'users', { owner: false }),
    ],
  }),
  defineType({
    collection: 'userGroups',
    singular: 'userGroup',
    klass: `${P}user.UserGroup`,
    nameRule: 'required',
    properties: [refs('users', 'users'), refs('managedGroups', 'userGroups')],
  }),
  defineType({
    collection: 'users',
    singular: 'user',
    klass: `${P}user.User`,
    nameRule: 'optional',
    properties: [
      str('username', { required: true, unique: true, maxLength: 255 }),
      str('firstName', { required: true, maxLength: 160 }),
      str('surname', { required: true, maxLength: 160 }),
      str('email'),
      str('phoneNumber'),
      bool('disabled'),
      bool('externalAuth'),
      bool('selfRegistered'),
      bool('invitation'),
      date('lastLogin'),
      date('passwordLastUpdated'),
      date('accountExpiry'),
      refs('userRoles', 'userRoles'),
      refs('userGroups', 'userGroups', { owner: false }),
      refs('organisationUnits', 'organisationUnits'),
      refs('dataViewOrganisationUnits', 'organisationUnits'),
      refs('teiSearchOrganisationUnits', 'organisationUnits'),
      refs('catDimensionConstraints', 'categories'),
      refs('cogsDimensionConstraints', 'categoryOptionGroupSets'),
    ],
  }),

  // Attributes, option sets, legends.
  defineType({
    collection: 'attributes',
    singular: 'attribute',
    klass: `${P}attribute.Attribute`,
    shortName: 'optional',
    properties: [
      oneOf('valueType', VALUE_TYPES, { required: true }),
      bool('unique'),
      bool('mandatory'),
      int('sortOrder'),
      ref('optionSet', 'optionSets'),
      { name: 'objectTypes', kind: 'stringList' },
      ...attributeTargetFlags().map(bool),
    ],
  }),
  defineType({
    collection: 'optionSets',
    singular: 'optionSet',
    klass: `${P}option.OptionSet`,
    csvClassKey: 'OPTION_SET',
    // DHIS2's columns; the value type is TEXT for sets made from CSV.
    csvColumns: ['name', 'uid', 'code', 'optionName', 'optionUid', 'optionCode'],
    properties: [
      oneOf('valueType', VALUE_TYPES, { required: true }),
      int('version'),
      text('description'),
      refs('options', 'options', { ordered: true }),
    ],
    dependencies: ['options', 'attributeValues'],
    dependencyExport: true,
  }),
  defineType({
    collection: 'options',
    singular: 'option',
    klass: `${P}option.Option`,
    nameRule: 'required',
    // Codes are unique per option set, not per type (two sets may both have MEDIUM); migration 4.
    uniqueTogether: [['optionSet', 'code']],
    properties: [
      str('code', { required: true, maxLength: 230 }),
      ref('optionSet', 'optionSets', { owner: false }),
      int('sortOrder'),
      text('description'),
      str('formName'),
      json('style'),
    ],
  }),
  defineType({
    collection: 'optionGroups',
    singular: 'optionGroup',
    klass: `${P}option.OptionGroup`,
    csvClassKey: 'OPTION_GROUP',
    csvColumns: [
      'name',
      'uid',
      'code',
      'shortName',
      'optionSetUid',
      'optionSetCode',
      'optionUid',
      'optionCode',
    ],
    shortName: true,
    properties: [ref('optionSet', 'optionSets', { required: true }), refs('options', 'options')],
  }),
  defineType({
    collection: 'optionGroupSets',
    singular: 'optionGroupSet',
    klass: `${P}option.OptionGroupSet`,
    csvClassKey: 'OPTION_GROUP_SET',
    csvColumns: ['name', 'uid', 'code', 'description', 'dataDimension', 'optionSetUid', 'optionSetCode'],
    shortName: 'optional',
    properties: [ref('optionSet', 'optionSets'), bool('dataDimension'), refs('optionGroups', 'optionGroups')],
  }),
  defineType({
    collection: 'legendSets',
    singular: 'legendSet',
    klass: `${P}legend.LegendSet`,
    properties: [str('symbolizer'), embeddedList('legends', 'legends')],
  }),

  // Organisation units.
  defineType({
    collection: 'organisationUnits',
    singular: 'organisationUnit',
    klass: `${P}organisationunit.OrganisationUnit`,
    nameRule: 'required',
    shortName: 'optional',
    csvClassKey: 'ORGANISATION_UNIT',
    csvColumns: [
      'name',
      'uid',
      'code',
      'parent',
      'shortName',
      'description',
      'openingDate',
      'closedDate',
      'comment',
      'url',
      'contactPerson',
      'address',
      'email',
      'phoneNumber',
      'latitude',
      'longitude',
    ],
    hierarchyProperty: 'parent',
    properties: [
      ref('parent', 'organisationUnits'),
      str('path', { computed: true, maxLength: 255 }),
      int('level', { computed: true }),
      date('openingDate', { required: true }),
      date('closedDate'),
      text('comment'),
      str('url', { maxLength: 255 }),
      str('contactPerson', { maxLength: 255 }),
      str('address', { maxLength: 255 }),
      str('email', { maxLength: 150 }),
      str('phoneNumber', { maxLength: 150 }),
      { name: 'geometry', kind: 'geometry' },
      oneOf('featureType', FEATURE_TYPES),
      str('uuid'),
      str('image'),
    ],
  }),
  defineType({
    collection: 'organisationUnitLevels',
    singular: 'organisationUnitLevel',
    klass: `${P}organisationunit.OrganisationUnitLevel`,
    nameRule: 'required',
    properties: [int('level', { required: true, unique: true }), int('offlineLevels')],
  }),
  defineType({
    collection: 'organisationUnitGroups',
    singular: 'organisationUnitGroup',
    klass: `${P}organisationunit.OrganisationUnitGroup`,
    shortName: true,
    csvClassKey: 'ORGANISATION_UNIT_GROUP',
    csvColumns: ['name', 'uid', 'code', 'shortName'],
    properties: [
      refs('organisationUnits', 'organisationUnits'),
      refs('groupSets', 'organisationUnitGroupSets', { owner: false }),
      str('symbol'),
      str('color'),
      { name: 'geometry', kind: 'geometry' },
    ],
  }),
  defineType({
    collection: 'organisationUnitGroupSets',
    singular: 'organisationUnitGroupSet',
    klass: `${P}organisationunit.OrganisationUnitGroupSet`,
    shortName: true,
    properties: [
      bool('compulsory'),
      bool('dataDimension'),
      bool('includeSubhierarchyInAnalytics'),
      refs('organisationUnitGroups', 'organisationUnitGroups'),
    ],
  }),

  // The category model.
  defineType({
    collection: 'categoryOptions',
    singular: 'categoryOption',
    klass: `${P}category.CategoryOption`,
    shortName: true,
    csvClassKey: 'CATEGORY_OPTION',
    csvColumns: ['name', 'uid', 'code', 'shortName', 'description'],
    properties: [
      date('startDate'),
      date('endDate'),
      refs('organisationUnits', 'organisationUnits'),
      refs('categories', 'categories', { owner: false }),
      json('style'),
    ],
  }),
  defineType({
    collection: 'categories',
    singular: 'category',
    klass: `${P}category.Category`,
    shortName: 'unique',
    csvClassKey: 'CATEGORY',
    csvColumns: ['name', 'uid', 'code', 'shortName', 'description', 'dataDimensionType', 'dataDimension'],
    properties: [
      oneOf('dataDimensionType', DATA_DIMENSION_TYPES, { required: true }),
      bool('dataDimension'),
      refs('categoryOptions', 'categoryOptions', { ordered: true }),
      refs('categoryCombos', 'categoryCombos', { owner: false }),
    ],
    dependencies: ['categoryOptions', 'attributeValues'],
  }),
  defineType({
    collection: 'categoryCombos',
    singular: 'categoryCombo',
    klass: `${P}category.CategoryCombo`,
    csvClassKey: 'CATEGORY_COMBO',
    csvColumns: ['name', 'uid', 'code', 'dataDimensionType', 'skipTotal'],
    properties: [
      oneOf('dataDimensionType', DATA_DIMENSION_TYPES, { required: true }),
      bool('skipTotal'),
      refs('categories', 'categories', { ordered: true }),
      refs('categoryOptionCombos', 'categoryOptionCombos', { owner: false }),
    ],
    dependencies: ['categories', 'categoryOptionCombos', 'attributeValues'],
    // Option combos point at their combo; the combo's own list is the inverse side and may be absent.
    dependents: [{ collection: 'categoryOptionCombos', property: 'categoryCombo' }],
    dependencyExport: true,
  }),
  defineType({
    collection: 'categoryOptionCombos',
    singular: 'categoryOptionCombo',
    klass: `${P}category.CategoryOptionCombo`,
    nameRule: 'optional',
    // One option combo per set of options in a combo, whatever the order of the options.
    uniqueTogether: [['categoryCombo', 'categoryOptions']],
    properties: [
      ref('categoryCombo', 'categoryCombos', { required: true }),
      refs('categoryOptions', 'categoryOptions'),
      bool('ignoreApproval'),
    ],
    dependencies: ['categoryOptions'],
  }),
  defineType({
    collection: 'categoryOptionGroups',
    singular: 'categoryOptionGroup',
    klass: `${P}category.CategoryOptionGroup`,
    shortName: true,
    csvClassKey: 'CATEGORY_OPTION_GROUP',
    csvColumns: ['name', 'uid', 'code', 'shortName', 'dataDimensionType'],
    properties: [
      oneOf('dataDimensionType', DATA_DIMENSION_TYPES),
      refs('categoryOptions', 'categoryOptions'),
      refs('groupSets', 'categoryOptionGroupSets', { owner: false }),
    ],
  }),
  defineType({
    collection: 'categoryOptionGroupSets',
    singular: 'categoryOptionGroupSet',
    klass: `${P}category.CategoryOptionGroupSet`,
    shortName: 'unique',
    properties: [
      oneOf('dataDimensionType', DATA_DIMENSION_TYPES),
      bool('dataDimension'),
      refs('categoryOptionGroups', 'categoryOptionGroups'),
    ],
  }),

  // Data elements, indicators.
  defineType({
    collection: 'dataElements',
    singular: 'dataElement',
    klass: `${P}dataelement.DataElement`,
    shortName: true,
    csvClassKey: 'DATA_ELEMENT',
    csvColumns: [
      'name',
      'uid',
      'code',
      'shortName',
      'description',
      'formName',
      'domainType',
      'valueType',
      'aggregationType',
      'categoryComboUid',
      'url',
      'zeroIsSignificant',
      'optionSetUid',
      'commentOptionSetUid',
    ],
    properties: [
      oneOf('valueType', VALUE_TYPES, { required: true }),
      oneOf('aggregationType', AGGREGATION_TYPES, { required: true }),
      oneOf('domainType', DOMAIN_TYPES, { required: true }),
      ref('categoryCombo', 'categoryCombos'),
      ref('optionSet', 'optionSets'),
      ref('commentOptionSet', 'optionSets'),
      bool('zeroIsSignificant'),
      refs('legendSets', 'legendSets'),
      { name: 'aggregationLevels', kind: 'json' },
      str('url', { maxLength: 255 }),
      str('fieldMask'),
      json('style'),
      refs('dataElementGroups', 'dataElementGroups', { owner: false }),
    ],
    dependencies: ['categoryCombo', 'optionSet', 'commentOptionSet', 'legendSets', 'attributeValues'],
  }),
  defineType({
    collection: 'dataElementGroups',
    singular: 'dataElementGroup',
    klass: `${P}dataelement.DataElementGroup`,
    shortName: 'unique',
    csvClassKey: 'DATA_ELEMENT_GROUP',
    csvColumns: ['name', 'uid', 'code', 'shortName'],
    properties: [
      refs('dataElements', 'dataElements'),
      refs('groupSets', 'dataElementGroupSets', { owner: false }),
    ],
    dependencies: ['dataElements', 'attributeValues'],
    dependencyExport: true,
  }),
  defineType({
    collection: 'dataElementGroupSets',
    singular: 'dataElementGroupSet',
    klass: `${P}dataelement.DataElementGroupSet`,
    shortName: 'unique',
    properties: [bool('compulsory'), bool('dataDimension'), refs('dataElementGroups', 'dataElementGroups')],
  }),
  defineType({
    collection: 'indicatorTypes',
    singular: 'indicatorType',
    klass: `${P}indicator.IndicatorType`,
    properties: [int('factor', { required: true }), bool('number')],
  }),
  defineType({
    collection: 'indicators',
    singular: 'indicator',
    klass: `${P}indicator.Indicator`,
    shortName: 'required',
    csvClassKey: 'INDICATOR',
    csvColumns: [
      'name',
      'uid',
      'code',
      'shortName',
      'annualized',
      'indicatorTypeUid',
      'numerator',
      'numeratorDescription',
      'denominator',
      'denominatorDescription',
    ],
    nameRule: 'required',
    properties: [
      ref('indicatorType', 'indicatorTypes', { required: true }),
      text('numerator', { required: true }),
      text('numeratorDescription'),
      text('denominator', { required: true }),
      text('denominatorDescription'),
      bool('annualized'),
      int('decimals'),
      str('url'),
      refs('legendSets', 'legendSets'),
      json('style'),
      refs('indicatorGroups', 'indicatorGroups', { owner: false }),
    ],
    dependencies: ['indicatorType', 'legendSets', 'attributeValues'],
  }),
  defineType({
    collection: 'indicatorGroups',
    singular: 'indicatorGroup',
    klass: `${P}indicator.IndicatorGroup`,
    nameRule: 'required',
    properties: [
      refs('indicators', 'indicators'),
      ref('groupSet', 'indicatorGroupSets', { owner: false }),
      text('description'),
    ],
  }),
  defineType({
    collection: 'indicatorGroupSets',
    singular: 'indicatorGroupSet',
    klass: `${P}indicator.IndicatorGroupSet`,
    shortName: 'unique',
    nameRule: 'required',
    properties: [bool('compulsory'), refs('indicatorGroups', 'indicatorGroups')],
  }),
  defineType({
    collection: 'constants',
    singular: 'constant',
    klass: `${P}constant.Constant`,
    shortName: 'unique',
    properties: [num('value')],
  }),

  // Data sets.
  defineType({
    collection: 'dataEntryForms',
    singular: 'dataEntryForm',
    klass: `${P}dataentryform.DataEntryForm`,
    properties: [
      oneOf('style', ['COMFORTABLE', 'NORMAL', 'COMPACT', 'NONE']),
      text('htmlCode'),
      int('format'),
    ],
  }),
  defineType({
    collection: 'dataSets',
    singular: 'dataSet',
    klass: `${P}dataset.DataSet`,
    shortName: true,
    nameRule: 'required',
    properties: [
      oneOf('periodType', PERIOD_TYPE_NAMES, { required: true }),
      embeddedList('dataSetElements', 'dataSetElements'),
      refs('organisationUnits', 'organisationUnits'),
      refs('sections', 'sections', { owner: false }),
      ref('categoryCombo', 'categoryCombos'),
      ref('dataEntryForm', 'dataEntryForms'),
      refs('indicators', 'indicators'),
      refs('legendSets', 'legendSets'),
      ref('workflow', 'dataApprovalWorkflows'),
      { name: 'compulsoryDataElementOperands', kind: 'json' },
      { name: 'dataInputPeriods', kind: 'json' },
      num('expiryDays'),
      int('openFuturePeriods'),
      int('timelyDays'),
      int('version'),
      oneOf('formType', ['DEFAULT', 'SECTION', 'CUSTOM', 'SECTION_MULTIORG']),
      bool('mobile'),
      bool('skipOffline'),
      bool('renderAsTabs'),
      bool('renderHorizontally'),
      bool('dataElementDecoration'),
      bool('notifyCompletingUser'),
      bool('noValueRequiresComment'),
      bool('validCompleteOnly'),
      bool('compulsoryFieldsCompleteOnly'),
      bool('fieldCombinationRequired'),
      json('style'),
    ],
    dependencies: [
      'dataSetElements',
      'indicators',
      'categoryCombo',
      'dataEntryForm',
      'legendSets',
      'attributeValues',
    ],
    dependents: [{ collection: 'sections', property: 'dataSet' }],
    dependencyExport: true,
  }),
  defineType({
    collection: 'sections',
    singular: 'section',
    klass: `${P}dataset.Section`,
    nameRule: 'required',
    // DHIS2's key_sectionnamedataset.
    uniqueTogether: [['dataSet', 'name']],
    properties: [
      ref('dataSet', 'dataSets', { required: true }),
      int('sortOrder'),
      text('description'),
      refs('dataElements', 'dataElements', { ordered: true }),
      refs('indicators', 'indicators'),
      { name: 'greyedFields', kind: 'json' },
      bool('showRowTotals'),
      bool('showColumnTotals'),
      bool('disableDataElementAutoGroup'),
    ],
    dependencies: ['dataElements', 'indicators'],
  }),
  defineType({
    collection: 'dataApprovalWorkflows',
    singular: 'dataApprovalWorkflow',
    klass: `${P}dataapproval.DataApprovalWorkflow`,
    properties: [
      oneOf('periodType', PERIOD_TYPE_NAMES, { required: true }),
      ref('categoryCombo', 'categoryCombos'),
      refs('dataApprovalLevels', 'dataApprovalLevels'),
    ],
  }),
  defineType({
    collection: 'dataApprovalLevels',
    singular: 'dataApprovalLevel',
    klass: `${P}dataapproval.DataApprovalLevel`,
    properties: [
      int('orgUnitLevel', { required: true }),
      ref('categoryOptionGroupSet', 'categoryOptionGroupSets'),
    ],
  }),

  // Validation.
  defineType({
    collection: 'validationRules',
    singular: 'validationRule',
    klass: `${P}validation.ValidationRule`,
    shortName: 'unique',
    csvClassKey: 'VALIDATION_RULE',
    csvColumns: [
      'name',
      'uid',
      'code',
      'description',
      'instruction',
      'importance',
      'periodType',
      'operator',
      'leftSideExpression',
      'leftSideDescription',
      'leftSideMissingValueStrategy',
      'rightSideExpression',
      'rightSideDescription',
      'rightSideMissingValueStrategy',
    ],
    properties: [
      text('instruction'),
      oneOf('importance', ['HIGH', 'MEDIUM', 'LOW']),
      oneOf('periodType', PERIOD_TYPE_NAMES, { required: true }),
      oneOf(
        'operator',
        [
          'equal_to',
          'not_equal_to',
          'greater_than',
          'greater_than_or_equal_to',
          'less_than',
          'less_than_or_equal_to',
          'compulsory_pair',
          'exclusive_pair',
        ],
        { required: true },
      ),
      { name: 'leftSide', kind: 'json', required: true },
      { name: 'rightSide', kind: 'json', required: true },
      { name: 'organisationUnitLevels', kind: 'json' },
      bool('skipFormValidation'),
    ],
  }),
  defineType({
    collection: 'validationRuleGroups',
    singular: 'validationRuleGroup',
    klass: `${P}validation.ValidationRuleGroup`,
    properties: [text('description'), refs('validationRules', 'validationRules')],
  }),

  // Tracker metadata.
  defineType({
    collection: 'trackedEntityAttributes',
    singular: 'trackedEntityAttribute',
    klass: `${P}trackedentity.TrackedEntityAttribute`,
    shortName: true,
    properties: [
      oneOf('valueType', VALUE_TYPES, { required: true }),
      oneOf('aggregationType', AGGREGATION_TYPES, { required: true }),
      ref('optionSet', 'optionSets'),
      bool('unique'),
      bool('generated'),
      str('pattern'),
      bool('inherit'),
      bool('confidential'),
      bool('orgunitScope'),
      bool('displayInListNoProgram'),
      bool('displayOnVisitSchedule'),
      bool('skipSynchronization'),
      bool('optionSetValue'),
      str('fieldMask'),
      refs('legendSets', 'legendSets'),
      json('style'),
    ],
    dependencies: ['optionSet', 'legendSets', 'attributeValues'],
  }),
  defineType({
    collection: 'trackedEntityTypes',
    singular: 'trackedEntityType',
    klass: `${P}trackedentity.TrackedEntityType`,
    shortName: 'unique',
    properties: [
      embeddedList('trackedEntityTypeAttributes', 'trackedEntityTypeAttributes'),
      oneOf('featureType', FEATURE_TYPES),
      bool('allowAuditLog'),
      int('maxTeiCountToReturn'),
      int('minAttributesRequiredToSearch'),
      json('style'),
    ],
    dependencies: ['trackedEntityTypeAttributes', 'attributeValues'],
  }),
  defineType({
    collection: 'relationshipTypes',
    singular: 'relationshipType',
    klass: `${P}relationship.RelationshipType`,
    properties: [
      { name: 'fromConstraint', kind: 'json', required: true },
      { name: 'toConstraint', kind: 'json', required: true },
      str('fromToName'),
      str('toFromName'),
      bool('bidirectional'),
      text('description'),
      bool('referral'),
    ],
  }),
  defineType({
    collection: 'programs',
    singular: 'program',
    klass: `${P}program.Program`,
    shortName: 'required',
    nameRule: 'required',
    properties: [
      oneOf('programType', ['WITH_REGISTRATION', 'WITHOUT_REGISTRATION'], { required: true }),
      ref('trackedEntityType', 'trackedEntityTypes'),
      ref('categoryCombo', 'categoryCombos'),
      ref('enrollmentCategoryCombo', 'categoryCombos'),
      refs('programStages', 'programStages', { owner: false }),
      refs('programSections', 'programSections', { owner: false }),
      { ...embeddedList('programTrackedEntityAttributes', 'programTrackedEntityAttributes') },
      refs('organisationUnits', 'organisationUnits'),
      refs('programIndicators', 'programIndicators', { owner: false }),
      refs('programRuleVariables', 'programRuleVariables', { owner: false }),
      refs('notificationTemplates', 'programNotificationTemplates'),
      int('version'),
      int('expiryDays'),
      str('expiryPeriodType'),
      int('completeEventsExpiryDays'),
      oneOf('accessLevel', ['OPEN', 'AUDITED', 'PROTECTED', 'CLOSED']),
      bool('displayIncidentDate'),
      bool('onlyEnrollOnce'),
      bool('selectEnrollmentDatesInFuture'),
      bool('selectIncidentDatesInFuture'),
      bool('ignoreOverdueEvents'),
      bool('displayFrontPageList'),
      bool('useFirstStageDuringRegistration'),
      bool('skipOffline'),
      int('maxTeiCountToReturn'),
      int('minAttributesRequiredToSearch'),
      int('openDaysAfterCoEndDate'),
      str('enrollmentDateLabel'),
      str('incidentDateLabel'),
      oneOf('featureType', FEATURE_TYPES),
      json('style'),
    ],
    dependencies: [
      'trackedEntityType',
      'categoryCombo',
      'programTrackedEntityAttributes',
      'notificationTemplates',
      'attributeValues',
    ],
    dependents: [
      { collection: 'programStages', property: 'program' },
      { collection: 'programSections', property: 'program' },
      { collection: 'programIndicators', property: 'program' },
      { collection: 'programRules', property: 'program' },
      { collection: 'programRuleVariables', property: 'program' },
    ],
    dependencyExport: true,
  }),
  defineType({
    collection: 'programTrackedEntityAttributes',
    singular: 'programTrackedEntityAttribute',
    klass: `${P}program.ProgramTrackedEntityAttribute`,
    nameRule: 'optional',
    uniqueTogether: [['program', 'trackedEntityAttribute']],
    properties: [
      ref('program', 'programs', { owner: false }),
      ref('trackedEntityAttribute', 'trackedEntityAttributes', { required: true }),
      bool('displayInList'),
      bool('mandatory'),
      bool('searchable'),
      bool('allowFutureDate'),
      bool('renderOptionsAsRadio'),
      int('sortOrder'),
      json('renderType'),
    ],
    dependencies: ['trackedEntityAttribute'],
  }),
  defineType({
    collection: 'programSections',
    singular: 'programSection',
    klass: `${P}program.ProgramSection`,
    nameRule: 'required',
    properties: [
      ref('program', 'programs', { required: true }),
      refs('trackedEntityAttributes', 'trackedEntityAttributes', { ordered: true }),
      int('sortOrder'),
      text('description'),
      json('renderType'),
    ],
  }),
  defineType({
    collection: 'programStages',
    singular: 'programStage',
    klass: `${P}program.ProgramStage`,
    nameRule: 'required',
    shortName: 'optional',
    properties: [
      ref('program', 'programs', { required: true }),
      embeddedList('programStageDataElements', 'programStageDataElements'),
      refs('programStageSections', 'programStageSections', { owner: false }),
      refs('notificationTemplates', 'programNotificationTemplates'),
      int('sortOrder'),
      bool('repeatable'),
      bool('autoGenerateEvent'),
      bool('generatedByEnrollmentDate'),
      bool('openAfterEnrollment'),
      bool('blockEntryForm'),
      bool('remindCompleted'),
      bool('allowGenerateNextVisit'),
      bool('displayGenerateEventBox'),
      bool('hideDueDate'),
      bool('enableUserAssignment'),
      bool('preGenerateUID'),
      int('minDaysFromStart'),
      int('standardInterval'),
      str('periodType'),
      oneOf('formType', ['DEFAULT', 'SECTION', 'CUSTOM']),
      oneOf('validationStrategy', ['ON_COMPLETE', 'ON_UPDATE_AND_INSERT']),
      oneOf('featureType', FEATURE_TYPES),
      str('executionDateLabel'),
      str('dueDateLabel'),
      ref('dataEntryForm', 'dataEntryForms'),
      json('style'),
    ],
    dependencies: ['programStageDataElements', 'notificationTemplates', 'dataEntryForm', 'attributeValues'],
    dependents: [{ collection: 'programStageSections', property: 'programStage' }],
  }),
  defineType({
    collection: 'programStageDataElements',
    singular: 'programStageDataElement',
    klass: `${P}program.ProgramStageDataElement`,
    nameRule: 'optional',
    uniqueTogether: [['programStage', 'dataElement']],
    properties: [
      ref('programStage', 'programStages', { owner: false }),
      ref('dataElement', 'dataElements', { required: true }),
      bool('compulsory'),
      bool('allowProvidedElsewhere'),
      bool('allowFutureDate'),
      bool('displayInReports'),
      bool('renderOptionsAsRadio'),
      bool('skipAnalytics'),
      bool('skipSynchronization'),
      int('sortOrder'),
      json('renderType'),
    ],
    dependencies: ['dataElement'],
  }),
  defineType({
    collection: 'programStageSections',
    singular: 'programStageSection',
    klass: `${P}program.ProgramStageSection`,
    nameRule: 'required',
    properties: [
      ref('programStage', 'programStages', { required: true }),
      refs('dataElements', 'dataElements', { ordered: true }),
      refs('programIndicators', 'programIndicators'),
      int('sortOrder'),
      text('description'),
      json('renderType'),
    ],
  }),
  defineType({
    collection: 'programIndicators',
    singular: 'programIndicator',
    klass: `${P}program.ProgramIndicator`,
    shortName: true,
    properties: [
      ref('program', 'programs', { required: true }),
      text('expression'),
      text('filter'),
      oneOf('analyticsType', ['EVENT', 'ENROLLMENT']),
      oneOf('aggregationType', AGGREGATION_TYPES),
      int('decimals'),
      ref('categoryCombo', 'categoryCombos'),
      ref('attributeCombo', 'categoryCombos'),
      { name: 'analyticsPeriodBoundaries', kind: 'json' },
      refs('legendSets', 'legendSets'),
      bool('displayInForm'),
      json('style'),
    ],
    dependencies: ['legendSets', 'categoryCombo', 'attributeCombo', 'attributeValues'],
  }),
  defineType({
    collection: 'programRuleVariables',
    singular: 'programRuleVariable',
    klass: `${P}programrule.ProgramRuleVariable`,
    nameRule: 'required',
    properties: [
      ref('program', 'programs', { required: true }),
      oneOf(
        'programRuleVariableSourceType',
        [
          'DATAELEMENT_NEWEST_EVENT_PROGRAM_STAGE',
          'DATAELEMENT_NEWEST_EVENT_PROGRAM',
          'DATAELEMENT_CURRENT_EVENT',
          'DATAELEMENT_PREVIOUS_EVENT',
          'CALCULATED_VALUE',
          'TEI_ATTRIBUTE',
        ],
        { required: true },
      ),
      ref('dataElement', 'dataElements'),
      ref('trackedEntityAttribute', 'trackedEntityAttributes'),
      ref('programStage', 'programStages'),
      bool('useCodeForOptionSet'),
      oneOf('valueType', VALUE_TYPES),
    ],
  }),
  defineType({
    collection: 'programRules',
    singular: 'programRule',
    klass: `${P}programrule.ProgramRule`,
    nameRule: 'required',
    properties: [
      ref('program', 'programs', { required: true }),
      ref('programStage', 'programStages'),
      text('condition'),
      text('description'),
      int('priority'),
      refs('programRuleActions', 'programRuleActions', { owner: false }),
    ],
    dependents: [{ collection: 'programRuleActions', property: 'programRule' }],
  }),
  defineType({
    collection: 'programRuleActions',
    singular: 'programRuleAction',
    klass: `${P}programrule.ProgramRuleAction`,
    nameRule: 'optional',
    properties: [
      ref('programRule', 'programRules', { required: true }),
      oneOf(
        'programRuleActionType',
        [
          'DISPLAYTEXT',
          'DISPLAYKEYVALUEPAIR',
          'HIDEFIELD',
          'HIDESECTION',
          'HIDEPROGRAMSTAGE',
          'ASSIGN',
          'SHOWWARNING',
          'WARNINGONCOMPLETE',
          'SHOWERROR',
          'ERRORONCOMPLETE',
          'CREATEEVENT',
          'SETMANDATORYFIELD',
          'SENDMESSAGE',
          'SCHEDULEMESSAGE',
          'HIDEOPTION',
          'SHOWOPTIONGROUP',
          'HIDEOPTIONGROUP',
          'SCHEDULEEVENT',
        ],
        { required: true },
      ),
      ref('dataElement', 'dataElements'),
      ref('trackedEntityAttribute', 'trackedEntityAttributes'),
      ref('programStage', 'programStages'),
      ref('programStageSection', 'programStageSections'),
      ref('option', 'options'),
      ref('optionGroup', 'optionGroups'),
      text('content'),
      text('data'),
      str('location'),
      str('evaluationTime'),
      { name: 'evaluationEnvironments', kind: 'stringList' },
    ],
  }),
  defineType({
    collection: 'programNotificationTemplates',
    singular: 'programNotificationTemplate',
    klass: `${P}program.notification.ProgramNotificationTemplate`,
    nameRule: 'required',
    properties: [
      text('messageTemplate'),
      text('subjectTemplate'),
      str('notificationTrigger'),
      { name: 'deliveryChannels', kind: 'stringList' },
      str('notificationRecipient'),
      int('relativeScheduledDays'),
    ],
  }),

  // Dashboards and what they show; the shown objects are stored whole (their own analytics shape).
  defineType({
    collection: 'dashboards',
    singular: 'dashboard',
    klass: `${P}dashboard.Dashboard`,
    nameRule: 'required',
    properties: [text('description'), embeddedList('dashboardItems', 'dashboardItems'), json('layout')],
    dependencies: ['dashboardItems'],
    dependencyExport: true,
  }),
  ...(
    [
      ['visualizations', 'visualization', 'visualization.Visualization'],
      ['maps', 'map', 'mapping.Map'],
      ['eventCharts', 'eventChart', 'eventchart.EventChart'],
      ['eventReports', 'eventReport', 'eventreport.EventReport'],
      ['eventVisualizations', 'eventVisualization', 'eventvisualization.EventVisualization'],
      ['reports', 'report', 'report.Report'],
      ['documents', 'document', 'document.Document'],
    ] as const
  ).map(([collection, singular, klass]) =>
    defineType({
      collection,
      singular,
      klass: `${P}${klass}`,
      // DHIS2 maps these names without a unique flag: two charts may share a name.
      nameRule: 'required',
      properties: [text('description'), str('type')],
    }),
  ),
];

/** DHIS2's attribute "applies to" flags, one boolean per type. */
function attributeTargetFlags(): string[] {
  return [
    'dataElementAttribute',
    'dataElementGroupAttribute',
    'indicatorAttribute',
    'indicatorGroupAttribute',
    'dataSetAttribute',
    'organisationUnitAttribute',
    'organisationUnitGroupAttribute',
    'organisationUnitGroupSetAttribute',
    'userAttribute',
    'userGroupAttribute',
    'programAttribute',
    'programStageAttribute',
    'trackedEntityTypeAttribute',
    'trackedEntityAttributeAttribute',
    'categoryOptionAttribute',
    'categoryOptionComboAttribute',
    'categoryAttribute',
    'categoryComboAttribute',
    'categoryOptionGroupAttribute',
    'categoryOptionGroupSetAttribute',
    'optionAttribute',
    'optionSetAttribute',
    'sectionAttribute',
    'legendSetAttribute',
    'constantAttribute',
    'documentAttribute',
    'validationRuleAttribute',
    'programIndicatorAttribute',
    'relationshipTypeAttribute',
    'visualizationAttribute',
    'mapAttribute',
    'eventChartAttribute',
    'eventReportAttribute',
  ];
}
