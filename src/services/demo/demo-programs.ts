import { DEFAULT_CATEGORY_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { DEMO_TRACKER_DATA_ELEMENTS } from './demo-catalogue.ts';
import type { DemoBuilder } from './demo-builder.ts';
import type { DemoDataSets } from './demo-data-sets.ts';
import { BOUNDS, round } from './demo-org-units.ts';
import type { DemoFacility, DemoTrackerPlan } from './demo-types.ts';

/**
 * The tracked entity type Person with its attributes, the malaria case event program, the ANC and
 * child health tracker programs with their stages, program indicators, program rules, and the
 * mother-child relationship type. Returns the UIDs the tracker data generator writes against.
 */
export function buildDemoPrograms(
  b: DemoBuilder,
  { facilities }: { facilities: readonly DemoFacility[] },
  { dataSets, dataElementUid, optionSetUid }: DemoDataSets,
): DemoTrackerPlan {
  const { uid, ref, add } = b;
  // Tracked entity type and attributes.
  const teaUid = (key: string) => uid('trackedEntityAttribute', key);
  const attributes = [
    { key: 'firstName', code: 'TEA_FIRST_NAME', name: 'First name', valueType: 'TEXT' },
    { key: 'lastName', code: 'TEA_LAST_NAME', name: 'Last name', valueType: 'TEXT' },
    { key: 'sex', code: 'TEA_SEX', name: 'Sex (person)', valueType: 'TEXT', optionSet: 'sex' },
    { key: 'birthDate', code: 'TEA_BIRTH_DATE', name: 'Date of birth', valueType: 'DATE' },
    { key: 'nationalId', code: 'TEA_NATIONAL_ID', name: 'National ID', valueType: 'TEXT', unique: true },
  ];
  add(
    'trackedEntityAttributes',
    ...attributes.map((a) => ({
      id: teaUid(a.key),
      code: a.code,
      name: a.name,
      shortName: a.name,
      valueType: a.valueType,
      aggregationType: 'NONE',
      ...(a.optionSet ? { optionSet: ref(optionSetUid(a.optionSet)) } : {}),
      unique: a.unique ?? false,
      generated: false,
      confidential: false,
      inherit: false,
    })),
  );
  const personUid = uid('trackedEntityType', 'person');
  add('trackedEntityTypes', {
    id: personUid,
    code: 'TET_PERSON',
    name: 'Person',
    shortName: 'Person',
    featureType: 'NONE',
    allowAuditLog: false,
    minAttributesRequiredToSearch: 1,
    maxTeiCountToReturn: 50,
    trackedEntityTypeAttributes: attributes.map((a) => ({
      id: uid('trackedEntityTypeAttribute', a.key),
      trackedEntityType: ref(personUid),
      trackedEntityAttribute: ref(teaUid(a.key)),
      displayInList: a.key !== 'nationalId',
      mandatory: a.key === 'firstName' || a.key === 'lastName',
      searchable: true,
    })),
  });

  // Programs: a malaria case event program and an ANC tracker program.
  const malariaProgram = uid('program', 'malaria-case');
  const ancProgram = uid('program', 'anc-follow-up');
  const malariaStage = uid('programStage', 'malaria-case');
  const ancStage = uid('programStage', 'anc-visit');
  const stageElements = (stage: string, codes: readonly string[], compulsory: readonly string[]) =>
    codes.map((code, i) => ({
      id: uid('programStageDataElement', `${stage}:${code}`),
      programStage: ref(stage),
      dataElement: ref(dataElementUid(code)),
      compulsory: compulsory.includes(code),
      allowProvidedElsewhere: false,
      allowFutureDate: false,
      displayInReports: true,
      sortOrder: i + 1,
    }));
  const hbVariable = uid('programRuleVariable', 'haemoglobin');
  const anaemiaRule = uid('programRule', 'severe-anaemia');
  const programIndicatorUids = {
    imported: uid('programIndicator', 'imported-malaria'),
    lowHb: uid('programIndicator', 'low-haemoglobin'),
  };
  const malariaFacilities = facilities.map((f) => ref(f.uid));
  const ancFacilities = dataSets[0].facilityIndexes;
  add(
    'programs',
    {
      id: malariaProgram,
      code: 'PR_MALARIA_CASE',
      name: 'Malaria case investigation',
      shortName: 'Malaria case',
      programType: 'WITHOUT_REGISTRATION',
      categoryCombo: ref(DEFAULT_CATEGORY_COMBO_UID),
      programStages: [ref(malariaStage)],
      programIndicators: [ref(programIndicatorUids.imported)],
      organisationUnits: malariaFacilities,
      version: 1,
      expiryDays: 0,
      completeEventsExpiryDays: 0,
      accessLevel: 'OPEN',
      featureType: 'POINT',
    },
    {
      id: ancProgram,
      code: 'PR_ANC_FOLLOW_UP',
      name: 'Antenatal care follow-up',
      shortName: 'ANC follow-up',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: ref(personUid),
      categoryCombo: ref(DEFAULT_CATEGORY_COMBO_UID),
      programStages: [ref(ancStage)],
      programIndicators: [ref(programIndicatorUids.lowHb)],
      programRuleVariables: [ref(hbVariable)],
      programTrackedEntityAttributes: attributes.map((a, i) => ({
        id: uid('programTrackedEntityAttribute', a.key),
        program: ref(ancProgram),
        trackedEntityAttribute: ref(teaUid(a.key)),
        displayInList: a.key !== 'nationalId',
        mandatory: a.key === 'firstName' || a.key === 'lastName',
        searchable: true,
        allowFutureDate: false,
        sortOrder: i + 1,
      })),
      organisationUnits: facilities.filter((f) => ancFacilities.has(f.index)).map((f) => ref(f.uid)),
      version: 1,
      accessLevel: 'OPEN',
      displayIncidentDate: true,
      incidentDateLabel: 'Last menstrual period',
      enrollmentDateLabel: 'Date of first ANC visit',
      onlyEnrollOnce: false,
      selectEnrollmentDatesInFuture: false,
      selectIncidentDatesInFuture: false,
      featureType: 'NONE',
      minAttributesRequiredToSearch: 1,
      maxTeiCountToReturn: 50,
    },
  );
  const t = DEMO_TRACKER_DATA_ELEMENTS;
  add(
    'programStages',
    {
      id: malariaStage,
      name: 'Malaria case',
      program: ref(malariaProgram),
      sortOrder: 1,
      repeatable: false,
      executionDateLabel: 'Date of diagnosis',
      programStageDataElements: stageElements(
        malariaStage,
        [t.rdtResult.code, t.caseClassification.code, t.travelled.code, t.patientAge.code],
        [t.rdtResult.code],
      ),
      featureType: 'POINT',
      validationStrategy: 'ON_COMPLETE',
    },
    {
      id: ancStage,
      name: 'ANC visit',
      program: ref(ancProgram),
      sortOrder: 1,
      repeatable: true,
      minDaysFromStart: 0,
      standardInterval: 28,
      executionDateLabel: 'Visit date',
      programStageDataElements: stageElements(
        ancStage,
        [t.haemoglobin.code, t.weight.code, t.hivResult.code],
        [t.haemoglobin.code],
      ),
      featureType: 'NONE',
      validationStrategy: 'ON_COMPLETE',
    },
  );
  add(
    'programIndicators',
    {
      id: programIndicatorUids.imported,
      code: 'PI_IMPORTED_MALARIA',
      name: 'Imported malaria cases',
      shortName: 'Imported malaria cases',
      program: ref(malariaProgram),
      analyticsType: 'EVENT',
      aggregationType: 'COUNT',
      expression: 'V{event_count}',
      filter: `#{${malariaStage}.${dataElementUid(t.caseClassification.code)}} == 'IMPORTED'`,
      decimals: 0,
    },
    {
      id: programIndicatorUids.lowHb,
      code: 'PI_LOW_HAEMOGLOBIN',
      name: 'ANC visits with haemoglobin below 11',
      shortName: 'ANC visits with low Hb',
      program: ref(ancProgram),
      analyticsType: 'EVENT',
      aggregationType: 'COUNT',
      expression: 'V{event_count}',
      filter: `#{${ancStage}.${dataElementUid(t.haemoglobin.code)}} < 11`,
      decimals: 0,
    },
  );
  add('programRuleVariables', {
    id: hbVariable,
    name: 'haemoglobin',
    program: ref(ancProgram),
    programStage: ref(ancStage),
    programRuleVariableSourceType: 'DATAELEMENT_CURRENT_EVENT',
    dataElement: ref(dataElementUid(t.haemoglobin.code)),
    useCodeForOptionSet: false,
    valueType: 'NUMBER',
  });
  const anaemiaAction = uid('programRuleAction', 'severe-anaemia-warning');
  add('programRules', {
    id: anaemiaRule,
    name: 'Warn on severe anaemia',
    description: 'Haemoglobin below 8 g/dl needs referral',
    program: ref(ancProgram),
    programStage: ref(ancStage),
    condition: '#{haemoglobin} < 8',
    priority: 1,
    programRuleActions: [ref(anaemiaAction)],
  });
  add('programRuleActions', {
    id: anaemiaAction,
    programRule: ref(anaemiaRule),
    programRuleActionType: 'SHOWWARNING',
    dataElement: ref(dataElementUid(t.haemoglobin.code)),
    content: 'Severe anaemia: refer to the nearest hospital',
    evaluationTime: 'ALWAYS',
    evaluationEnvironments: ['WEB', 'ANDROID'],
  });

  const child = buildChildProgramme(b, { facilities, personUid, teaUid, stageElements, dataElementUid });
  const relationshipType = uid('relationshipType', 'mother-child');
  add('relationshipTypes', {
    id: relationshipType,
    code: 'RT_MOTHER_CHILD',
    name: 'Mother-child',
    fromToName: 'Mother of',
    toFromName: 'Child of',
    bidirectional: true,
    referral: false,
    description: 'A mother followed in ANC and her child in the child health programme',
    fromConstraint: {
      relationshipEntity: 'TRACKED_ENTITY_INSTANCE',
      trackedEntityType: ref(personUid),
      program: ref(ancProgram),
    },
    toConstraint: {
      relationshipEntity: 'TRACKED_ENTITY_INSTANCE',
      trackedEntityType: ref(personUid),
      program: ref(child.program),
    },
  });
  return {
    personType: personUid,
    attributes: {
      firstName: teaUid('firstName'),
      lastName: teaUid('lastName'),
      sex: teaUid('sex'),
      birthDate: teaUid('birthDate'),
      nationalId: teaUid('nationalId'),
    },
    dataElements: Object.fromEntries(Object.entries(t).map(([key, de]) => [key, dataElementUid(de.code)])),
    malaria: { program: malariaProgram, stage: malariaStage },
    anc: { program: ancProgram, stage: ancStage, facilityIndexes: ancFacilities },
    child,
    motherChild: relationshipType,
  };
}

/**
 * The child health programme: a child enrolled at birth, a birth stage, repeatable immunisation and
 * growth monitoring stages, two program rules (low birth weight, severe acute malnutrition).
 */
function buildChildProgramme(
  b: DemoBuilder,
  {
    facilities,
    personUid,
    teaUid,
    stageElements,
    dataElementUid,
  }: {
    facilities: readonly DemoFacility[];
    personUid: string;
    teaUid: (key: string) => string;
    stageElements: (stage: string, codes: readonly string[], compulsory: readonly string[]) => unknown[];
    dataElementUid: (code: string) => string;
  },
): DemoTrackerPlan['child'] {
  const { uid, ref, add } = b;
  const t = DEMO_TRACKER_DATA_ELEMENTS;
  const program = uid('program', 'child-health');
  const birthStage = uid('programStage', 'child-birth');
  const immunisationStage = uid('programStage', 'child-immunisation');
  const growthStage = uid('programStage', 'child-growth');
  const birthWeightVariable = uid('programRuleVariable', 'birth-weight');
  const nutritionVariable = uid('programRuleVariable', 'nutrition-status');
  const lowBirthWeightRule = uid('programRule', 'low-birth-weight');
  const samRule = uid('programRule', 'severe-acute-malnutrition');
  const lowBirthWeightAction = uid('programRuleAction', 'low-birth-weight-warning');
  const samAction = uid('programRuleAction', 'severe-acute-malnutrition-error');
  const vaccinatedIndicator = uid('programIndicator', 'measles-vaccinated');
  const childAttributes = ['firstName', 'lastName', 'sex', 'birthDate'];
  add('programs', {
    id: program,
    code: 'PR_CHILD_HEALTH',
    name: 'Child health programme',
    shortName: 'Child health',
    programType: 'WITH_REGISTRATION',
    trackedEntityType: ref(personUid),
    categoryCombo: ref(DEFAULT_CATEGORY_COMBO_UID),
    programStages: [ref(birthStage), ref(immunisationStage), ref(growthStage)],
    programIndicators: [ref(vaccinatedIndicator)],
    programRuleVariables: [ref(birthWeightVariable), ref(nutritionVariable)],
    programTrackedEntityAttributes: childAttributes.map((key, i) => ({
      id: uid('programTrackedEntityAttribute', `child:${key}`),
      program: ref(program),
      trackedEntityAttribute: ref(teaUid(key)),
      displayInList: true,
      mandatory: true,
      searchable: true,
      allowFutureDate: false,
      sortOrder: i + 1,
    })),
    organisationUnits: facilities.map((f) => ref(f.uid)),
    version: 1,
    accessLevel: 'OPEN',
    displayIncidentDate: true,
    incidentDateLabel: 'Date of birth',
    enrollmentDateLabel: 'Date of enrollment',
    onlyEnrollOnce: true,
    selectEnrollmentDatesInFuture: false,
    selectIncidentDatesInFuture: false,
    featureType: 'NONE',
    minAttributesRequiredToSearch: 1,
    maxTeiCountToReturn: 50,
  });
  add(
    'programStages',
    {
      id: birthStage,
      name: 'Birth',
      program: ref(program),
      sortOrder: 1,
      repeatable: false,
      minDaysFromStart: 0,
      executionDateLabel: 'Date of birth visit',
      programStageDataElements: stageElements(
        birthStage,
        [t.birthWeight.code, t.deliveryPlace.code, t.breastfed.code],
        [t.birthWeight.code],
      ),
      featureType: 'NONE',
      validationStrategy: 'ON_COMPLETE',
    },
    {
      id: immunisationStage,
      name: 'Immunisation',
      program: ref(program),
      sortOrder: 2,
      repeatable: true,
      minDaysFromStart: 42,
      standardInterval: 28,
      executionDateLabel: 'Vaccination date',
      programStageDataElements: stageElements(
        immunisationStage,
        [t.vaccine.code, t.dose.code, t.nextVisit.code],
        [t.vaccine.code, t.dose.code],
      ),
      featureType: 'NONE',
      validationStrategy: 'ON_COMPLETE',
    },
    {
      id: growthStage,
      name: 'Growth monitoring',
      program: ref(program),
      sortOrder: 3,
      repeatable: true,
      minDaysFromStart: 30,
      standardInterval: 60,
      executionDateLabel: 'Visit date',
      programStageDataElements: stageElements(
        growthStage,
        [t.childWeight.code, t.muac.code, t.nutritionStatus.code],
        [t.childWeight.code],
      ),
      featureType: 'NONE',
      validationStrategy: 'ON_COMPLETE',
    },
  );
  add('programIndicators', {
    id: vaccinatedIndicator,
    code: 'PI_MEASLES_VACCINATED',
    name: 'Children vaccinated against measles',
    shortName: 'Measles vaccinated',
    program: ref(program),
    analyticsType: 'EVENT',
    aggregationType: 'COUNT',
    expression: 'V{event_count}',
    filter: `#{${immunisationStage}.${dataElementUid(t.vaccine.code)}} == 'MEASLES'`,
    decimals: 0,
  });
  add(
    'programRuleVariables',
    {
      id: birthWeightVariable,
      name: 'birthWeight',
      program: ref(program),
      programStage: ref(birthStage),
      programRuleVariableSourceType: 'DATAELEMENT_CURRENT_EVENT',
      dataElement: ref(dataElementUid(t.birthWeight.code)),
      useCodeForOptionSet: false,
      valueType: 'NUMBER',
    },
    {
      id: nutritionVariable,
      name: 'nutritionStatus',
      program: ref(program),
      programStage: ref(growthStage),
      programRuleVariableSourceType: 'DATAELEMENT_CURRENT_EVENT',
      dataElement: ref(dataElementUid(t.nutritionStatus.code)),
      useCodeForOptionSet: true,
      valueType: 'TEXT',
    },
  );
  add(
    'programRules',
    {
      id: lowBirthWeightRule,
      name: 'Warn on low birth weight',
      description: 'A baby under 2.5 kg needs kangaroo care and follow-up',
      program: ref(program),
      programStage: ref(birthStage),
      condition: '#{birthWeight} < 2.5',
      priority: 1,
      programRuleActions: [ref(lowBirthWeightAction)],
    },
    {
      id: samRule,
      name: 'Refer severe acute malnutrition',
      description: 'A child with SAM is referred to a stabilisation centre',
      program: ref(program),
      programStage: ref(growthStage),
      condition: "#{nutritionStatus} == 'SAM'",
      priority: 2,
      programRuleActions: [ref(samAction)],
    },
  );
  add(
    'programRuleActions',
    {
      id: lowBirthWeightAction,
      programRule: ref(lowBirthWeightRule),
      programRuleActionType: 'SHOWWARNING',
      dataElement: ref(dataElementUid(t.birthWeight.code)),
      content: 'Low birth weight: kangaroo mother care and a visit within 3 days',
      evaluationTime: 'ALWAYS',
      evaluationEnvironments: ['WEB', 'ANDROID'],
    },
    {
      id: samAction,
      programRule: ref(samRule),
      programRuleActionType: 'DISPLAYTEXT',
      location: 'feedback',
      content: 'Severe acute malnutrition: refer to the stabilisation centre',
      evaluationTime: 'ALWAYS',
      evaluationEnvironments: ['WEB', 'ANDROID'],
    },
  );
  return { program, birthStage, immunisationStage, growthStage };
}

/** A dashboard with a pivot table, a chart and a facility map (stored whole, in DHIS2's shape). */
export function buildDemoDashboard(
  b: DemoBuilder,
  { countryUid }: { countryUid: string },
  { dataElementUid }: Pick<DemoDataSets, 'dataElementUid'>,
): void {
  const { uid, ref, add } = b;
  const ancVisits = uid('visualization', 'anc-visits');
  const malariaChart = uid('visualization', 'malaria-by-region');
  const facilityMap = uid('map', 'facilities');
  const dataItem = (code: string) => ({
    dataDimensionItemType: 'DATA_ELEMENT',
    dataElement: ref(dataElementUid(code)),
  });
  add(
    'visualizations',
    {
      id: ancVisits,
      name: 'ANC visits by month',
      type: 'PIVOT_TABLE',
      dataDimensionItems: ['ANC_1ST_VISIT', 'ANC_2ND_VISIT', 'ANC_3RD_VISIT', 'ANC_4TH_VISIT'].map(dataItem),
      columns: [{ dimension: 'dx' }],
      rows: [{ dimension: 'pe' }],
      filters: [{ dimension: 'ou' }],
      organisationUnits: [ref(countryUid)],
      periods: [],
      relativePeriods: { last12Months: true },
    },
    {
      id: malariaChart,
      name: 'Malaria confirmed cases by region',
      type: 'COLUMN',
      dataDimensionItems: [dataItem('MAL_CONFIRMED')],
      columns: [{ dimension: 'ou' }],
      rows: [{ dimension: 'pe' }],
      filters: [{ dimension: 'dx' }],
      organisationUnits: [ref(countryUid)],
      organisationUnitLevels: [2],
      periods: [],
      relativePeriods: { last12Months: true },
    },
  );
  add('maps', {
    id: facilityMap,
    name: 'Health facilities by type',
    longitude: round((BOUNDS.west + BOUNDS.east) / 2),
    latitude: round((BOUNDS.south + BOUNDS.north) / 2),
    zoom: 7,
    basemap: 'osmLight',
    mapViews: [
      {
        id: uid('mapView', 'facilities'),
        layer: 'facility',
        organisationUnits: [ref(countryUid)],
        organisationUnitLevels: [5],
        organisationUnitGroupSet: ref(uid('ouGroupSet', 'type')),
      },
    ],
  });
  add('dashboards', {
    id: uid('dashboard', 'overview'),
    code: 'DB_OVERVIEW',
    name: 'Programme overview',
    description: 'ANC, malaria and facilities at a glance',
    dashboardItems: [
      { id: uid('dashboardItem', 'anc'), type: 'VISUALIZATION', visualization: ref(ancVisits), x: 0, y: 0 },
      {
        id: uid('dashboardItem', 'malaria'),
        type: 'VISUALIZATION',
        visualization: ref(malariaChart),
        x: 29,
        y: 0,
      },
      { id: uid('dashboardItem', 'map'), type: 'MAP', map: ref(facilityMap), x: 0, y: 20 },
    ],
  });
}
