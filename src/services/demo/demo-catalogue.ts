/**
 * What the demo's aggregate data sets contain: data elements with their value types,
 * disaggregation and a model of plausible values. Kept apart from the generator so the content can
 * be read (and changed) without reading the code that turns it into metadata objects.
 */

export const FACILITY_TYPES = ['Hospital', 'CHC', 'MCHP', 'Clinic'] as const;
export type FacilityType = (typeof FACILITY_TYPES)[number];

export const DEMO_COMBOS = ['default', 'sex', 'age', 'ageSex'] as const;
export type DemoComboKey = (typeof DEMO_COMBOS)[number] | 'funding';

/** How a data element's values are drawn. Rates are per 1,000 catchment population per month. */
export type DemoValueModel =
  | { kind: 'count'; perThousand: number; seasonal?: boolean }
  | { kind: 'stock'; mean: number }
  | { kind: 'boolean'; pTrue: number }
  | { kind: 'text'; pPresent: number; texts: readonly string[] }
  | { kind: 'option'; codes: readonly string[]; weights: readonly number[] }
  | { kind: 'staff'; perType: Readonly<Record<FacilityType, number>> };

export interface DemoDataElementSpec {
  code: string;
  name: string;
  valueType: 'INTEGER_ZERO_OR_POSITIVE' | 'NUMBER' | 'TEXT' | 'BOOLEAN' | 'LONG_TEXT';
  aggregationType: 'SUM' | 'AVERAGE' | 'LAST' | 'NONE';
  combo: 'default' | 'sex' | 'age' | 'ageSex';
  section: string;
  model: DemoValueModel;
  /** Key of an option set in DEMO_OPTION_SETS. */
  optionSet?: string;
  zeroIsSignificant?: boolean;
}

export interface DemoDataSetSpec {
  code: string;
  name: string;
  shortName: string;
  periodType: 'Monthly' | 'Quarterly';
  /** Attribute combo: `default` or the funding mechanism. */
  attributeCombo: 'default' | 'funding';
  facilityTypes: readonly FacilityType[];
  /** Share of eligible facilities the data set is assigned to. */
  assignedShare: number;
  /** Chance that an assigned facility reports in a period. */
  reportingRate: number;
  expiryDays: number;
  openFuturePeriods: number;
  sections: readonly string[];
  dataElements: readonly DemoDataElementSpec[];
  /** Data element group it also forms. */
  group: string;
}

export interface DemoOptionSetSpec {
  code: string;
  name: string;
  options: ReadonlyArray<readonly [code: string, name: string]>;
}

export const DEMO_OPTION_SETS: Readonly<Record<string, DemoOptionSetSpec>> = {
  stockStatus: {
    code: 'OS_STOCK_STATUS',
    name: 'Stock status',
    options: [
      ['IN_STOCK', 'In stock'],
      ['LOW_STOCK', 'Low stock'],
      ['STOCKED_OUT', 'Stocked out'],
    ],
  },
  testResult: {
    code: 'OS_TEST_RESULT',
    name: 'Test result',
    options: [
      ['POSITIVE', 'Positive'],
      ['NEGATIVE', 'Negative'],
      ['INVALID', 'Invalid'],
    ],
  },
  caseClassification: {
    code: 'OS_MALARIA_CLASSIFICATION',
    name: 'Malaria case classification',
    options: [
      ['LOCAL', 'Local'],
      ['IMPORTED', 'Imported'],
      ['RELAPSE', 'Relapse'],
    ],
  },
  sex: {
    code: 'OS_SEX',
    name: 'Sex',
    options: [
      ['MALE', 'Male'],
      ['FEMALE', 'Female'],
    ],
  },
  deliveryPlace: {
    code: 'OS_DELIVERY_PLACE',
    name: 'Place of delivery',
    options: [
      ['FACILITY', 'Health facility'],
      ['HOME', 'Home'],
      ['ON_THE_WAY', 'On the way to a facility'],
    ],
  },
  vaccine: {
    code: 'OS_VACCINE',
    name: 'Vaccine',
    options: [
      ['BCG', 'BCG'],
      ['OPV', 'Oral polio vaccine'],
      ['PENTA', 'Pentavalent'],
      ['PCV', 'Pneumococcal conjugate'],
      ['MEASLES', 'Measles'],
    ],
  },
  nutritionStatus: {
    code: 'OS_NUTRITION_STATUS',
    name: 'Nutrition status',
    options: [
      ['NORMAL', 'Normal'],
      ['MAM', 'Moderate acute malnutrition'],
      ['SAM', 'Severe acute malnutrition'],
    ],
  },
};

const count = (
  code: string,
  name: string,
  perThousand: number,
  section: string,
  combo: DemoDataElementSpec['combo'] = 'default',
  seasonal = false,
): DemoDataElementSpec => ({
  code,
  name,
  valueType: 'INTEGER_ZERO_OR_POSITIVE',
  aggregationType: 'SUM',
  combo,
  section,
  model: { kind: 'count', perThousand, seasonal },
});

const ALL_FACILITIES: readonly FacilityType[] = FACILITY_TYPES;
const PUBLIC_FACILITIES: readonly FacilityType[] = ['Hospital', 'CHC', 'MCHP'];

export const DEMO_DATA_SETS: readonly DemoDataSetSpec[] = [
  {
    code: 'DS_ANC',
    name: 'Antenatal care (monthly)',
    shortName: 'ANC monthly',
    periodType: 'Monthly',
    attributeCombo: 'default',
    facilityTypes: PUBLIC_FACILITIES,
    assignedShare: 0.8,
    reportingRate: 0.88,
    expiryDays: 15,
    openFuturePeriods: 0,
    sections: ['Visits', 'Delivery', 'Prevention and testing', 'Facility'],
    group: 'Maternal health',
    dataElements: [
      count('ANC_1ST_VISIT', 'ANC 1st visit', 3.2, 'Visits'),
      count('ANC_2ND_VISIT', 'ANC 2nd visit', 2.8, 'Visits'),
      count('ANC_3RD_VISIT', 'ANC 3rd visit', 2.2, 'Visits'),
      count('ANC_4TH_VISIT', 'ANC 4th or more visits', 1.7, 'Visits'),
      count('DELIVERY_SKILLED', 'Deliveries by skilled personnel', 2.3, 'Delivery'),
      count('LIVE_BIRTHS', 'Live births', 2.2, 'Delivery', 'sex'),
      count('STILL_BIRTHS', 'Still births', 0.06, 'Delivery'),
      count('IPT_1ST_DOSE', 'IPT 1st dose given', 2.6, 'Prevention and testing'),
      count('IPT_2ND_DOSE', 'IPT 2nd dose given', 2.0, 'Prevention and testing'),
      count('LLITN_AT_ANC', 'LLITN given at ANC', 2.7, 'Prevention and testing'),
      count('IRON_FOLATE', 'Iron and folate given at ANC', 3.0, 'Prevention and testing'),
      count('HIV_TESTED_ANC', 'HIV tests at ANC', 2.6, 'Prevention and testing'),
      count('HIV_POSITIVE_ANC', 'HIV positive at ANC', 0.05, 'Prevention and testing'),
      count('SYPHILIS_SCREENED', 'Syphilis screened at ANC', 1.6, 'Prevention and testing'),
      count('ANAEMIA_SEVERE_ANC', 'Severe anaemia at ANC', 0.2, 'Prevention and testing'),
      {
        code: 'ULTRASOUND_AVAILABLE',
        name: 'Ultrasound available',
        valueType: 'BOOLEAN',
        aggregationType: 'NONE',
        combo: 'default',
        section: 'Facility',
        model: { kind: 'boolean', pTrue: 0.35 },
      },
      {
        code: 'ANC_REMARKS',
        name: 'ANC remarks',
        valueType: 'TEXT',
        aggregationType: 'NONE',
        combo: 'default',
        section: 'Facility',
        model: {
          kind: 'text',
          pPresent: 0.05,
          texts: ['Outreach session cancelled (rain)', 'Midwife on leave', 'Register pages missing'],
        },
      },
    ],
  },
  {
    code: 'DS_EPI',
    name: 'Immunisation (monthly)',
    shortName: 'Immunisation monthly',
    periodType: 'Monthly',
    attributeCombo: 'default',
    facilityTypes: PUBLIC_FACILITIES,
    assignedShare: 0.8,
    reportingRate: 0.86,
    expiryDays: 15,
    openFuturePeriods: 0,
    sections: ['Doses given', 'Supplies'],
    group: 'Immunisation',
    dataElements: [
      count('BCG', 'BCG doses given', 2.7, 'Doses given', 'sex'),
      count('OPV0', 'OPV 0 doses given', 2.5, 'Doses given'),
      count('OPV1', 'OPV 1 doses given', 2.6, 'Doses given'),
      count('OPV2', 'OPV 2 doses given', 2.5, 'Doses given'),
      count('OPV3', 'OPV 3 doses given', 2.4, 'Doses given'),
      count('PENTA1', 'Penta 1 doses given', 2.6, 'Doses given', 'sex'),
      count('PENTA2', 'Penta 2 doses given', 2.5, 'Doses given'),
      count('PENTA3', 'Penta 3 doses given', 2.4, 'Doses given', 'sex'),
      count('PCV1', 'PCV 1 doses given', 2.5, 'Doses given'),
      count('PCV3', 'PCV 3 doses given', 2.3, 'Doses given'),
      count('ROTA1', 'Rota 1 doses given', 2.4, 'Doses given'),
      count('ROTA2', 'Rota 2 doses given', 2.2, 'Doses given'),
      count('MEASLES1', 'Measles 1 doses given', 2.3, 'Doses given', 'sex'),
      count('MEASLES2', 'Measles 2 doses given', 1.8, 'Doses given'),
      count('YELLOW_FEVER', 'Yellow fever doses given', 2.2, 'Doses given'),
      count('FULLY_IMMUNISED', 'Fully immunised children', 2.0, 'Doses given', 'sex'),
      count('VITAMIN_A', 'Vitamin A given 6-59 months', 4.0, 'Doses given'),
      {
        code: 'VACCINE_STOCK_STATUS',
        name: 'Vaccine stock status',
        valueType: 'TEXT',
        aggregationType: 'NONE',
        combo: 'default',
        section: 'Supplies',
        optionSet: 'stockStatus',
        model: {
          kind: 'option',
          codes: ['IN_STOCK', 'LOW_STOCK', 'STOCKED_OUT'],
          weights: [0.75, 0.18, 0.07],
        },
      },
      {
        code: 'COLD_CHAIN_WORKING',
        name: 'Cold chain functional',
        valueType: 'BOOLEAN',
        aggregationType: 'NONE',
        combo: 'default',
        section: 'Supplies',
        model: { kind: 'boolean', pTrue: 0.88 },
      },
    ],
  },
  {
    code: 'DS_MALARIA',
    name: 'Malaria (monthly)',
    shortName: 'Malaria monthly',
    periodType: 'Monthly',
    attributeCombo: 'default',
    facilityTypes: ALL_FACILITIES,
    assignedShare: 1,
    reportingRate: 0.9,
    expiryDays: 10,
    openFuturePeriods: 0,
    sections: ['Diagnosis', 'Treatment', 'Commodities'],
    group: 'Malaria',
    dataElements: [
      count('MAL_SUSPECTED', 'Malaria suspected fever cases', 16, 'Diagnosis', 'ageSex', true),
      count('MAL_RDT_TESTED', 'Malaria tested by RDT', 14, 'Diagnosis', 'default', true),
      count('MAL_MICROSCOPY_TESTED', 'Malaria tested by microscopy', 1.5, 'Diagnosis', 'default', true),
      count('MAL_CONFIRMED', 'Malaria confirmed cases', 7, 'Diagnosis', 'ageSex', true),
      count('MAL_ACT_TREATED', 'Malaria cases treated with ACT', 6.5, 'Treatment', 'default', true),
      count('MAL_SEVERE', 'Severe malaria cases', 0.5, 'Treatment', 'age', true),
      count('MAL_DEATHS', 'Malaria deaths', 0.02, 'Treatment', 'age', true),
      count('LLIN_DISTRIBUTED', 'LLIN distributed', 3, 'Commodities'),
      {
        code: 'RDT_STOCK',
        name: 'RDT stock on hand',
        valueType: 'INTEGER_ZERO_OR_POSITIVE',
        aggregationType: 'LAST',
        combo: 'default',
        section: 'Commodities',
        model: { kind: 'stock', mean: 180 },
        zeroIsSignificant: true,
      },
      {
        code: 'ACT_STOCK',
        name: 'ACT stock on hand',
        valueType: 'INTEGER_ZERO_OR_POSITIVE',
        aggregationType: 'LAST',
        combo: 'default',
        section: 'Commodities',
        model: { kind: 'stock', mean: 120 },
        zeroIsSignificant: true,
      },
      {
        code: 'MAL_REMARKS',
        name: 'Malaria remarks',
        valueType: 'LONG_TEXT',
        aggregationType: 'NONE',
        combo: 'default',
        section: 'Commodities',
        model: {
          kind: 'text',
          pPresent: 0.04,
          texts: ['RDT delivery late', 'Outbreak investigated with district team', 'ACT borrowed from CHC'],
        },
      },
    ],
  },
  {
    code: 'DS_STAFFING',
    name: 'Staffing (quarterly)',
    shortName: 'Staffing quarterly',
    periodType: 'Quarterly',
    attributeCombo: 'funding',
    facilityTypes: ALL_FACILITIES,
    assignedShare: 1,
    reportingRate: 0.88,
    expiryDays: 30,
    openFuturePeriods: 0,
    sections: ['Staff in post', 'Training'],
    group: 'Human resources',
    dataElements: [
      staff('STAFF_DOCTORS', 'Doctors in post', { Hospital: 12, CHC: 1, MCHP: 0.1, Clinic: 1 }),
      staff('STAFF_NURSES', 'Nurses in post', { Hospital: 60, CHC: 8, MCHP: 2, Clinic: 3 }),
      staff('STAFF_MIDWIVES', 'Midwives in post', { Hospital: 20, CHC: 4, MCHP: 1, Clinic: 1 }),
      staff('STAFF_CHO', 'Community health officers in post', { Hospital: 4, CHC: 2, MCHP: 1, Clinic: 0.5 }),
      staff('STAFF_LAB', 'Laboratory technicians in post', { Hospital: 8, CHC: 1, MCHP: 0.2, Clinic: 0.5 }),
      staff('STAFF_PHARMACY', 'Pharmacy staff in post', { Hospital: 6, CHC: 1, MCHP: 0.3, Clinic: 1 }),
      staff('STAFF_CHW', 'Community health workers attached', { Hospital: 10, CHC: 12, MCHP: 6, Clinic: 1 }),
      staff('STAFF_VACANT', 'Vacant posts', { Hospital: 15, CHC: 3, MCHP: 1, Clinic: 0.5 }),
      {
        ...staff('STAFF_TRAINED', 'Staff trained this quarter', { Hospital: 10, CHC: 3, MCHP: 1, Clinic: 1 }),
        section: 'Training',
        combo: 'sex',
        aggregationType: 'SUM',
      },
      {
        code: 'STAFF_NOTES',
        name: 'Staffing notes',
        valueType: 'LONG_TEXT',
        aggregationType: 'NONE',
        combo: 'default',
        section: 'Training',
        model: { kind: 'text', pPresent: 0.06, texts: ['Two nurses transferred', 'New midwife posted'] },
      },
    ],
  },
];

function staff(
  code: string,
  name: string,
  perType: Readonly<Record<FacilityType, number>>,
): DemoDataElementSpec {
  return {
    code,
    name,
    valueType: 'INTEGER_ZERO_OR_POSITIVE',
    aggregationType: 'AVERAGE',
    combo: 'default',
    section: 'Staff in post',
    model: { kind: 'staff', perType },
  };
}

/** Data elements captured in the demo's event and tracker programs (domain TRACKER). */
export const DEMO_TRACKER_DATA_ELEMENTS = {
  caseClassification: {
    code: 'MAL_CASE_CLASSIFICATION',
    name: 'Malaria case classification',
    valueType: 'TEXT',
    optionSet: 'caseClassification',
  },
  rdtResult: {
    code: 'MAL_RDT_RESULT',
    name: 'Malaria RDT result',
    valueType: 'TEXT',
    optionSet: 'testResult',
  },
  travelled: { code: 'MAL_TRAVELLED', name: 'Travelled in the last 30 days', valueType: 'BOOLEAN' },
  patientAge: {
    code: 'MAL_PATIENT_AGE',
    name: 'Patient age in years',
    valueType: 'INTEGER_ZERO_OR_POSITIVE',
  },
  haemoglobin: { code: 'ANC_HAEMOGLOBIN', name: 'Haemoglobin (g/dl)', valueType: 'NUMBER' },
  weight: { code: 'ANC_WEIGHT', name: 'Weight (kg)', valueType: 'NUMBER' },
  hivResult: { code: 'ANC_HIV_RESULT', name: 'HIV test result', valueType: 'TEXT', optionSet: 'testResult' },
  birthWeight: { code: 'CH_BIRTH_WEIGHT', name: 'Birth weight (kg)', valueType: 'NUMBER' },
  deliveryPlace: {
    code: 'CH_DELIVERY_PLACE',
    name: 'Place of delivery',
    valueType: 'TEXT',
    optionSet: 'deliveryPlace',
  },
  breastfed: { code: 'CH_BREASTFED_1H', name: 'Breastfed within one hour', valueType: 'BOOLEAN' },
  vaccine: { code: 'CH_VACCINE', name: 'Vaccine given', valueType: 'TEXT', optionSet: 'vaccine' },
  dose: { code: 'CH_VACCINE_DOSE', name: 'Vaccine dose number', valueType: 'INTEGER_POSITIVE' },
  nextVisit: { code: 'CH_NEXT_VISIT', name: 'Next visit date', valueType: 'DATE' },
  childWeight: { code: 'CH_WEIGHT', name: 'Child weight (kg)', valueType: 'NUMBER' },
  muac: { code: 'CH_MUAC', name: 'Mid-upper arm circumference (cm)', valueType: 'NUMBER' },
  nutritionStatus: {
    code: 'CH_NUTRITION_STATUS',
    name: 'Nutrition status',
    valueType: 'TEXT',
    optionSet: 'nutritionStatus',
  },
} as const satisfies Record<string, { code: string; name: string; valueType: string; optionSet?: string }>;
