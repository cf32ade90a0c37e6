import type { MetadataObject } from '../../storage/metadata-store.ts';
import { uidFromSeed } from '../../domain/identifiers/uid.ts';
import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
  defaultCategoryModel,
} from '../../domain/category/default-category-model.ts';
import { planCategoryOptionCombos } from '../../domain/category/category-option-combos.ts';
import { createRandom, pick } from './demo-random.ts';
import {
  DEMO_DATA_SETS,
  DEMO_OPTION_SETS,
  DEMO_TRACKER_DATA_ELEMENTS,
  FACILITY_TYPES,
  type DemoComboKey,
  type DemoValueModel,
  type FacilityType,
} from './demo-catalogue.ts';
import { demoPeriods, type DemoPeriod } from './demo-periods.ts';

/**
 * The demo database's metadata, generated deterministically: the same options always give the same
 * objects with the same UIDs. A fictional country (Kolanda) the size of Sierra Leone, with DHIS2's
 * usual shape: country, 4 regions, 16 districts, 100 chiefdoms, facilities; the default category
 * model plus Sex, Age and a funding attribute; four aggregate data sets; an event and a tracker
 * program; a dashboard; roles and users with different org unit scopes.
 */

export interface DemoOptions {
  /** Number of facilities (level 5), spread evenly over the 100 chiefdoms. The full demo has 1,200. */
  facilities: number;
  /** Seed for UIDs and values; a different seed gives a different but equally valid demo. */
  seed: string;
}

export const FULL_DEMO_OPTIONS: DemoOptions = { facilities: 1200, seed: 'ferry-demo' };

/** The demo users' password, as on DHIS2's public demo (play.dhis2.org: admin / district). */
export const DEMO_PASSWORD = 'district';

/** `created`/`lastUpdated` of every demo object: fixed, so that two runs store identical objects. */
export const DEMO_TIMESTAMP = '2023-01-15T09:00:00.000';

export const DEMO_COUNTRY_CODE = 'OU_KOLANDA';

/** The demo's users, all with password DEMO_PASSWORD. */
export const DEMO_USERNAMES = ['admin', 'district_manager', 'facility_clerk', 'analyst'] as const;

export interface DemoFacility {
  uid: string;
  /** Position among facilities, from 0: the stable key for value hashing. */
  index: number;
  type: FacilityType;
  /** Catchment population, which scales the counts reported. */
  population: number;
}

export interface DemoElementPlan {
  uid: string;
  /** Stable key for value hashing. */
  key: number;
  model: DemoValueModel;
  zeroIsSignificant: boolean;
  /** Category option combos with their share of the data element's total. */
  categoryOptionCombos: ReadonlyArray<{ uid: string; key: number; share: number }>;
}

export interface DemoDataSetPlan {
  uid: string;
  key: number;
  code: string;
  periodType: 'Monthly' | 'Quarterly';
  reportingRate: number;
  attributeOptionCombos: ReadonlyArray<{ uid: string; key: number; share: number }>;
  elements: readonly DemoElementPlan[];
  /** Indexes of the facilities the data set is assigned to. */
  facilityIndexes: ReadonlySet<number>;
}

export interface DemoUser {
  uid: string;
  username: string;
  role: string;
  scope: string;
}

export interface DemoDatabase {
  options: DemoOptions;
  /** Objects by collection, in the order they are saved. */
  metadata: ReadonlyMap<string, MetadataObject[]>;
  countryUid: string;
  facilities: readonly DemoFacility[];
  dataSets: readonly DemoDataSetPlan[];
  periods: readonly DemoPeriod[];
  users: readonly DemoUser[];
}

/** Longitude and latitude bounds of the fictional country (about Sierra Leone's extent). */
const BOUNDS = { west: -13.3, east: -10.3, south: 6.9, north: 10.0 };
const REGIONS = ['Western', 'Northern', 'Southern', 'Eastern'] as const;
/** Chiefdoms per district: 100 in all, uneven as real districts are. */
const CHIEFDOMS_PER_DISTRICT = [6, 7, 6, 5, 7, 6, 8, 6, 5, 7, 6, 6, 7, 5, 6, 7];
const SYLLABLES = [
  'ba', 'bo', 'da', 'di', 'ga', 'go', 'ka', 'ke', 'ko', 'la', 'lo', 'ma', 'me', 'mo', 'na', 'ni',
  'pa', 'ro', 'sa', 'se', 'ta', 'to', 'wa', 'ya', 'ju', 'fu', 'gbe', 'kpa', 'nja', 'mba', 'hun', 'ri',
]; // prettier-ignore

interface Box {
  west: number;
  east: number;
  south: number;
  north: number;
}

function round(value: number, decimals = 4): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** A rectangle as a GeoJSON polygon: one closed ring, counter-clockwise (RFC 7946's right-hand rule). */
function boxPolygon(box: Box): Record<string, unknown> {
  const w = round(box.west);
  const e = round(box.east);
  const s = round(box.south);
  const n = round(box.north);
  return {
    type: 'Polygon',
    coordinates: [
      [
        [w, s],
        [e, s],
        [e, n],
        [w, n],
        [w, s],
      ],
    ],
  };
}

function split(box: Box, columns: number, rows: number, index: number): Box {
  const col = index % columns;
  const row = Math.floor(index / columns);
  const width = (box.east - box.west) / columns;
  const height = (box.north - box.south) / rows;
  return {
    west: box.west + col * width,
    east: box.west + (col + 1) * width,
    north: box.north - row * height,
    south: box.north - (row + 1) * height,
  };
}

function capitalise(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}

/** Builds the whole demo in memory (a few thousand objects; data values are generated separately). */
export function generateDemoDatabase(options: DemoOptions = FULL_DEMO_OPTIONS): DemoDatabase {
  if (!Number.isInteger(options.facilities) || options.facilities < 1) {
    throw new Error(`The demo needs at least one facility, not ${options.facilities}`);
  }
  const random = createRandom(`${options.seed}:metadata`);
  const uid = (kind: string, key: string | number) => uidFromSeed(`${options.seed}:${kind}:${key}`);
  const stamp = { created: DEMO_TIMESTAMP, lastUpdated: DEMO_TIMESTAMP };
  const ref = (id: string) => ({ id });
  const metadata = new Map<string, MetadataObject[]>();
  const add = (collection: string, ...objects: MetadataObject[]) => {
    let list = metadata.get(collection);
    if (!list) metadata.set(collection, (list = []));
    for (const object of objects) list.push({ ...object, ...stamp });
  };
  const usedNames = new Set<string>();
  const placeName = (minSyllables: number) => {
    for (;;) {
      const n = minSyllables + Math.floor(random() * 2);
      let word = '';
      for (let i = 0; i < n; i++) word += pick(SYLLABLES, random());
      const name = capitalise(word);
      if (!usedNames.has(name)) {
        usedNames.add(name);
        return name;
      }
    }
  };

  // Default category model first: every DHIS2 database has it.
  for (const [collection, objects] of Object.entries(defaultCategoryModel(DEMO_TIMESTAMP))) {
    add(collection, ...objects);
  }

  // Org unit hierarchy.
  const orgUnitLevels = ['National', 'Region', 'District', 'Chiefdom', 'Facility'];
  add(
    'organisationUnitLevels',
    ...orgUnitLevels.map((name, i) => ({ id: uid('level', i + 1), name, level: i + 1, offlineLevels: 1 })),
  );
  const openingDate = '1994-01-01T00:00:00.000';
  const countryUid = uid('ou', 'country');
  const orgUnit = (
    id: string,
    code: string,
    name: string,
    parent: { uid: string; path: string } | undefined,
    level: number,
    geometry?: Record<string, unknown>,
  ) => ({
    id,
    code,
    name,
    shortName: name.slice(0, 50),
    openingDate,
    ...(parent ? { parent: ref(parent.uid) } : {}),
    path: `${parent ? parent.path : ''}/${id}`,
    level,
    ...(geometry ? { geometry } : {}),
  });
  const countryObject = orgUnit(countryUid, DEMO_COUNTRY_CODE, 'Kolanda', undefined, 1, boxPolygon(BOUNDS));
  add('organisationUnits', countryObject);
  const country = { uid: countryUid, path: countryObject.path };

  interface Place {
    uid: string;
    path: string;
    box: Box;
  }
  const regions: Place[] = [];
  const districts: Place[] = [];
  const chiefdoms: Place[] = [];
  REGIONS.forEach((regionName, r) => {
    const box = split(BOUNDS, 2, 2, r);
    const id = uid('ou', `region:${r}`);
    const object = orgUnit(id, `OU_R${r + 1}`, `${regionName} Region`, country, 2, boxPolygon(box));
    add('organisationUnits', object);
    regions.push({ uid: id, path: object.path, box });
  });
  for (let d = 0; d < 16; d++) {
    const region = regions[Math.floor(d / 4)];
    const box = split(region.box, 2, 2, d % 4);
    const id = uid('ou', `district:${d}`);
    const name = `${placeName(2)} District`;
    const object = orgUnit(id, `OU_D${String(d + 1).padStart(2, '0')}`, name, region, 3, boxPolygon(box));
    add('organisationUnits', object);
    districts.push({ uid: id, path: object.path, box });
  }
  let c = 0;
  districts.forEach((district, d) => {
    const n = CHIEFDOMS_PER_DISTRICT[d];
    for (let i = 0; i < n; i++, c++) {
      const box = split(district.box, n, 1, i);
      const id = uid('ou', `chiefdom:${c}`);
      const object = orgUnit(id, `OU_C${String(c + 1).padStart(3, '0')}`, placeName(2), district, 4);
      add('organisationUnits', object);
      chiefdoms.push({ uid: id, path: object.path, box });
    }
  });

  const facilities: DemoFacility[] = [];
  const facilitiesByType = new Map<FacilityType, string[]>(FACILITY_TYPES.map((t) => [t, []]));
  const populationRange: Record<FacilityType, [number, number]> = {
    Hospital: [20_000, 40_000],
    CHC: [6_000, 15_000],
    MCHP: [1_500, 5_000],
    Clinic: [1_000, 4_000],
  };
  for (let f = 0; f < options.facilities; f++) {
    const chiefdom = chiefdoms[Math.floor((f * chiefdoms.length) / options.facilities)];
    const draw = random();
    const type: FacilityType =
      draw < 0.04 ? 'Hospital' : draw < 0.3 ? 'CHC' : draw < 0.85 ? 'MCHP' : 'Clinic';
    const [low, high] = populationRange[type];
    const population = Math.round(low + random() * (high - low));
    const { box } = chiefdom;
    const margin = 0.1;
    const lon = box.west + (margin + random() * (1 - 2 * margin)) * (box.east - box.west);
    const lat = box.south + (margin + random() * (1 - 2 * margin)) * (box.north - box.south);
    const id = uid('ou', `facility:${f}`);
    const name = `${placeName(2)} ${type}`;
    add('organisationUnits', {
      ...orgUnit(id, `OU_F${String(f + 1).padStart(4, '0')}`, name, chiefdom, 5, {
        type: 'Point',
        coordinates: [round(lon), round(lat)],
      }),
      featureType: 'POINT',
    });
    facilities.push({ uid: id, index: f, type, population });
    facilitiesByType.get(type)!.push(id);
  }

  const groupUids = FACILITY_TYPES.map((type) => uid('ouGroup', type));
  add(
    'organisationUnitGroups',
    ...FACILITY_TYPES.map((type, i) => ({
      id: groupUids[i],
      code: `OUG_${type.toUpperCase()}`,
      name: type,
      shortName: type,
      organisationUnits: facilitiesByType.get(type)!.map(ref),
      groupSets: [ref(uid('ouGroupSet', 'type'))],
    })),
  );
  add('organisationUnitGroupSets', {
    id: uid('ouGroupSet', 'type'),
    code: 'OUGS_FACILITY_TYPE',
    name: 'Facility type',
    shortName: 'Facility type',
    compulsory: true,
    dataDimension: true,
    includeSubhierarchyInAnalytics: false,
    organisationUnitGroups: groupUids.map(ref),
  });

  // Categories: Sex and Age for disaggregation, funding mechanism as an attribute.
  interface CategorySpec {
    key: string;
    code: string;
    name: string;
    type: 'DISAGGREGATION' | 'ATTRIBUTE';
    options: ReadonlyArray<readonly [code: string, name: string, share: number]>;
  }
  const categorySpecs: CategorySpec[] = [
    {
      key: 'sex',
      code: 'SEX',
      name: 'Sex',
      type: 'DISAGGREGATION',
      options: [
        ['MALE', 'Male', 0.48],
        ['FEMALE', 'Female', 0.52],
      ],
    },
    {
      key: 'age',
      code: 'AGE',
      name: 'Age',
      type: 'DISAGGREGATION',
      options: [
        ['AGE_UNDER_5', '<5 years', 0.3],
        ['AGE_5_14', '5-14 years', 0.2],
        ['AGE_15_PLUS', '15+ years', 0.5],
      ],
    },
    {
      key: 'funding',
      code: 'FUNDING',
      name: 'Funding mechanism',
      type: 'ATTRIBUTE',
      options: [
        ['FUNDING_GOVERNMENT', 'Government', 0.8],
        ['FUNDING_NGO', 'NGO partner', 0.2],
      ],
    },
  ];
  const comboSpecs: Array<{ key: DemoComboKey; code: string; name: string; categories: string[] }> = [
    { key: 'sex', code: 'CC_SEX', name: 'Sex', categories: ['sex'] },
    { key: 'age', code: 'CC_AGE', name: 'Age', categories: ['age'] },
    { key: 'ageSex', code: 'CC_AGE_SEX', name: 'Age and sex', categories: ['age', 'sex'] },
    { key: 'funding', code: 'CC_FUNDING', name: 'Funding mechanism', categories: ['funding'] },
  ];
  const optionShares = new Map<string, number>();
  const categoryUid = (key: string) => uid('category', key);
  const comboUid = (key: DemoComboKey) =>
    key === 'default' ? DEFAULT_CATEGORY_COMBO_UID : uid('combo', key);
  for (const category of categorySpecs) {
    for (const [code, name, share] of category.options) {
      optionShares.set(uid('categoryOption', code), share);
      add('categoryOptions', {
        id: uid('categoryOption', code),
        code,
        name,
        shortName: name,
        categories: [ref(categoryUid(category.key))],
      });
    }
    add('categories', {
      id: categoryUid(category.key),
      code: category.code,
      name: category.name,
      shortName: category.name,
      dataDimensionType: category.type,
      dataDimension: true,
      categoryOptions: category.options.map(([code]) => ref(uid('categoryOption', code))),
      categoryCombos: comboSpecs
        .filter((cc) => cc.categories.includes(category.key))
        .map((cc) => ref(comboUid(cc.key))),
    });
  }
  /** Option combos per combo key, in DHIS2's order, with their share of a total. */
  const combos = new Map<DemoComboKey, Array<{ uid: string; key: number; share: number }>>([
    ['default', [{ uid: DEFAULT_CATEGORY_OPTION_COMBO_UID, key: 0, share: 1 }]],
  ]);
  let comboOptionKey = 1;
  for (const combo of comboSpecs) {
    const categories = combo.categories.map((key) => {
      const spec = categorySpecs.find((s) => s.key === key)!;
      return {
        id: categoryUid(key),
        categoryOptions: spec.options.map(([code, name]) => ({ id: uid('categoryOption', code), name })),
      };
    });
    const plan = planCategoryOptionCombos(categories, [], (optionIds) =>
      uid('categoryOptionCombo', `${combo.key}:${optionIds.join(',')}`),
    );
    const type = combo.key === 'funding' ? 'ATTRIBUTE' : 'DISAGGREGATION';
    add('categoryCombos', {
      id: comboUid(combo.key),
      code: combo.code,
      name: combo.name,
      dataDimensionType: type,
      skipTotal: false,
      categories: categories.map((category) => ref(category.id)),
      categoryOptionCombos: plan.all.map((coc) => ref(coc.id)),
    });
    add(
      'categoryOptionCombos',
      ...plan.create.map((coc) => ({
        id: coc.id,
        name: coc.name,
        ignoreApproval: false,
        categoryCombo: ref(comboUid(combo.key)),
        categoryOptions: coc.categoryOptions,
      })),
    );
    combos.set(
      combo.key,
      plan.all.map((coc) => ({
        uid: coc.id,
        key: comboOptionKey++,
        share: coc.optionIds.reduce((product, id) => product * (optionShares.get(id) ?? 1), 1),
      })),
    );
  }

  // Option sets.
  const optionSetUid = (key: string) => uid('optionSet', key);
  for (const [key, spec] of Object.entries(DEMO_OPTION_SETS)) {
    const options = spec.options.map(([code, name], i) => ({
      id: uid('option', `${key}:${code}`),
      code,
      name,
      sortOrder: i + 1,
      optionSet: ref(optionSetUid(key)),
    }));
    add('options', ...options);
    add('optionSets', {
      id: optionSetUid(key),
      code: spec.code,
      name: spec.name,
      valueType: 'TEXT',
      version: 1,
      options: options.map((o) => ref(o.id)),
    });
  }

  // Aggregate data elements, data sets, sections, groups.
  const dataElementUid = (code: string) => uid('dataElement', code);
  const dataSets: DemoDataSetPlan[] = [];
  let elementKey = 0;
  const groupMembers = new Map<string, string[]>();
  DEMO_DATA_SETS.forEach((spec, dataSetKey) => {
    const dataSetUid = uid('dataSet', spec.code);
    const elements: DemoElementPlan[] = [];
    for (const de of spec.dataElements) {
      const id = dataElementUid(de.code);
      add('dataElements', {
        id,
        code: de.code,
        name: de.name,
        shortName: de.name.slice(0, 50),
        formName: de.name,
        domainType: 'AGGREGATE',
        valueType: de.valueType,
        aggregationType: de.aggregationType,
        categoryCombo: ref(comboUid(de.combo)),
        ...(de.optionSet ? { optionSet: ref(optionSetUid(de.optionSet)) } : {}),
        zeroIsSignificant: de.zeroIsSignificant ?? false,
        dataElementGroups: [ref(uid('dataElementGroup', spec.group))],
      });
      elements.push({
        uid: id,
        key: elementKey++,
        model: de.model,
        zeroIsSignificant: de.zeroIsSignificant ?? false,
        categoryOptionCombos: combos.get(de.combo)!,
      });
    }
    groupMembers.set(spec.group, [...(groupMembers.get(spec.group) ?? []), ...elements.map((e) => e.uid)]);
    const assigned = facilities.filter(
      (f) =>
        spec.facilityTypes.includes(f.type) && (spec.assignedShare >= 1 || random() < spec.assignedShare),
    );
    const sectionUids = spec.sections.map((name) => uid('section', `${spec.code}:${name}`));
    add('dataSets', {
      id: dataSetUid,
      code: spec.code,
      name: spec.name,
      shortName: spec.shortName,
      periodType: spec.periodType,
      categoryCombo: ref(comboUid(spec.attributeCombo)),
      dataSetElements: elements.map((e) => ({ dataSet: ref(dataSetUid), dataElement: ref(e.uid) })),
      organisationUnits: assigned.map((f) => ref(f.uid)),
      sections: sectionUids.map(ref),
      expiryDays: spec.expiryDays,
      openFuturePeriods: spec.openFuturePeriods,
      timelyDays: 15,
      formType: 'SECTION',
      version: 1,
      mobile: false,
      renderAsTabs: true,
      compulsoryFieldsCompleteOnly: false,
    });
    add(
      'sections',
      ...spec.sections.map((name, i) => ({
        id: sectionUids[i],
        code: `${spec.code}_S${i + 1}`,
        name,
        sortOrder: i + 1,
        dataSet: ref(dataSetUid),
        dataElements: spec.dataElements
          .filter((de) => de.section === name)
          .map((de) => ref(dataElementUid(de.code))),
        showRowTotals: false,
        showColumnTotals: false,
      })),
    );
    dataSets.push({
      uid: dataSetUid,
      key: dataSetKey,
      code: spec.code,
      periodType: spec.periodType,
      reportingRate: spec.reportingRate,
      attributeOptionCombos: combos.get(spec.attributeCombo)!,
      elements,
      facilityIndexes: new Set(assigned.map((f) => f.index)),
    });
  });

  // Tracker data elements (captured in programs, not in data sets).
  const tracker = DEMO_TRACKER_DATA_ELEMENTS;
  for (const de of Object.values(tracker)) {
    const optionSet = 'optionSet' in de ? de.optionSet : undefined;
    add('dataElements', {
      id: dataElementUid(de.code),
      code: de.code,
      name: de.name,
      shortName: de.name.slice(0, 50),
      domainType: 'TRACKER',
      valueType: de.valueType,
      aggregationType: de.valueType === 'NUMBER' ? 'AVERAGE' : 'NONE',
      categoryCombo: ref(DEFAULT_CATEGORY_COMBO_UID),
      ...(optionSet ? { optionSet: ref(optionSetUid(optionSet)) } : {}),
      zeroIsSignificant: false,
      dataElementGroups: [ref(uid('dataElementGroup', 'Case-based'))],
    });
  }
  groupMembers.set(
    'Case-based',
    Object.values(tracker).map((de) => dataElementUid(de.code)),
  );
  const groupNames = [...groupMembers.keys()];
  add(
    'dataElementGroups',
    ...groupNames.map((name) => ({
      id: uid('dataElementGroup', name),
      code: `DEG_${name.toUpperCase().replace(/[^A-Z]+/g, '_')}`,
      name,
      shortName: name,
      dataElements: groupMembers.get(name)!.map(ref),
      groupSets: [ref(uid('dataElementGroupSet', 'programme'))],
    })),
  );
  add('dataElementGroupSets', {
    id: uid('dataElementGroupSet', 'programme'),
    code: 'DEGS_PROGRAMME',
    name: 'Programme area',
    shortName: 'Programme area',
    compulsory: false,
    dataDimension: true,
    dataElementGroups: groupNames.map((name) => ref(uid('dataElementGroup', name))),
  });

  // Indicators.
  const indicatorTypes = [
    { key: 'percent', name: 'Percent', factor: 100, number: false },
    { key: 'number', name: 'Number (factor 1)', factor: 1, number: true },
  ];
  add(
    'indicatorTypes',
    ...indicatorTypes.map((t) => ({
      id: uid('indicatorType', t.key),
      name: t.name,
      factor: t.factor,
      number: t.number,
    })),
  );
  const de = (code: string) => `#{${dataElementUid(code)}}`;
  const indicators = [
    {
      code: 'IN_ANC_DROPOUT',
      name: 'ANC 1-4 dropout rate',
      type: 'percent',
      numerator: `${de('ANC_1ST_VISIT')}-${de('ANC_4TH_VISIT')}`,
      numeratorDescription: 'ANC 1st visits minus ANC 4th visits',
      denominator: de('ANC_1ST_VISIT'),
      denominatorDescription: 'ANC 1st visits',
      group: 'Maternal health',
    },
    {
      code: 'IN_PENTA_DROPOUT',
      name: 'Penta 1-3 dropout rate',
      type: 'percent',
      numerator: `${de('PENTA1')}-${de('PENTA3')}`,
      numeratorDescription: 'Penta 1 minus Penta 3 doses',
      denominator: de('PENTA1'),
      denominatorDescription: 'Penta 1 doses',
      group: 'Immunisation',
    },
    {
      code: 'IN_MAL_POSITIVITY',
      name: 'Malaria test positivity rate',
      type: 'percent',
      numerator: de('MAL_CONFIRMED'),
      numeratorDescription: 'Confirmed malaria cases',
      denominator: `${de('MAL_RDT_TESTED')}+${de('MAL_MICROSCOPY_TESTED')}`,
      denominatorDescription: 'Tested by RDT or microscopy',
      group: 'Malaria',
    },
    {
      code: 'IN_FULLY_IMMUNISED',
      name: 'Fully immunised children',
      type: 'number',
      numerator: de('FULLY_IMMUNISED'),
      numeratorDescription: 'Fully immunised children',
      denominator: '1',
      denominatorDescription: 'One',
      group: 'Immunisation',
    },
  ];
  add(
    'indicators',
    ...indicators.map((i) => ({
      id: uid('indicator', i.code),
      code: i.code,
      name: i.name,
      shortName: i.name,
      indicatorType: ref(uid('indicatorType', i.type)),
      numerator: i.numerator,
      numeratorDescription: i.numeratorDescription,
      denominator: i.denominator,
      denominatorDescription: i.denominatorDescription,
      annualized: false,
      decimals: 1,
      indicatorGroups: [ref(uid('indicatorGroup', i.group))],
    })),
  );
  const indicatorGroupNames = [...new Set(indicators.map((i) => i.group))];
  add(
    'indicatorGroups',
    ...indicatorGroupNames.map((name) => ({
      id: uid('indicatorGroup', name),
      name,
      indicators: indicators.filter((i) => i.group === name).map((i) => ref(uid('indicator', i.code))),
    })),
  );

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
  const t = tracker;
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

  // A dashboard with a pivot table, a chart and a facility map (stored whole, in DHIS2's shape).
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

  // Roles and users with different scopes, so that access rules can be seen at work.
  const roles = [
    { key: 'superuser', name: 'Superuser', description: 'Every authority (ALL)', authorities: ['ALL'] },
    {
      key: 'clerk',
      name: 'Data entry clerk',
      description: 'Enters aggregate data for their facility',
      authorities: ['F_DATAVALUE_ADD'],
    },
    {
      key: 'analyst',
      name: 'M&E analyst',
      description: 'Reads and exports data and metadata',
      authorities: ['F_EXPORT_DATA', 'F_METADATA_EXPORT'],
    },
    {
      key: 'manager',
      name: 'Data manager',
      description: 'Imports and exports data and follows import jobs',
      // F_EDIT_EXPIRED as DHIS2's demo data manager: corrects values in periods past expiry days.
      authorities: ['F_DATAVALUE_ADD', 'F_TRACKER_IMPORT', 'F_EXPORT_DATA', 'F_VIEW_JOBS', 'F_EDIT_EXPIRED'],
    },
  ];
  add(
    'userRoles',
    ...roles.map((r) => ({
      id: uid('userRole', r.key),
      name: r.name,
      description: r.description,
      authorities: r.authorities,
    })),
  );
  const firstDistrict = districts[0];
  const clerkFacility = facilities[0];
  const users = [
    {
      username: 'admin',
      firstName: 'System',
      surname: 'Administrator',
      role: 'superuser',
      capture: [countryUid],
      view: [countryUid],
      scope: 'Kolanda (whole country): capture and view',
    },
    {
      username: 'district_manager',
      firstName: 'Fatmata',
      surname: 'Kamara',
      role: 'manager',
      capture: [firstDistrict.uid],
      view: [firstDistrict.uid],
      scope: `${metadataName(metadata, firstDistrict.uid)}: capture and view`,
    },
    {
      username: 'facility_clerk',
      firstName: 'Mohamed',
      surname: 'Sesay',
      role: 'clerk',
      capture: [clerkFacility.uid],
      view: [clerkFacility.uid],
      scope: `${metadataName(metadata, clerkFacility.uid)}: capture and view`,
    },
    {
      username: 'analyst',
      firstName: 'Aminata',
      surname: 'Conteh',
      role: 'analyst',
      capture: [],
      view: [countryUid],
      scope: 'Kolanda: view only (no capture scope)',
    },
  ];
  add(
    'users',
    ...users.map((u) => ({
      id: uid('user', u.username),
      username: u.username,
      firstName: u.firstName,
      surname: u.surname,
      name: `${u.firstName} ${u.surname}`,
      disabled: false,
      passwordLastUpdated: DEMO_TIMESTAMP,
      userRoles: [ref(uid('userRole', u.role))],
      organisationUnits: u.capture.map(ref),
      dataViewOrganisationUnits: u.view.map(ref),
      teiSearchOrganisationUnits: u.view.map(ref),
    })),
  );
  add('userGroups', {
    id: uid('userGroup', 'data-team'),
    code: 'UG_DATA_TEAM',
    name: 'Demo data team',
    users: users.filter((u) => u.username !== 'admin').map((u) => ref(uid('user', u.username))),
  });

  if (users.map((u) => u.username).join() !== DEMO_USERNAMES.join()) {
    throw new Error('DEMO_USERNAMES is out of step with the demo users');
  }
  assertUniqueUids(metadata);
  return {
    options,
    metadata,
    countryUid,
    facilities,
    dataSets,
    periods: demoPeriods(),
    users: users.map((u) => ({
      uid: uid('user', u.username),
      username: u.username,
      role: roles.find((r) => r.key === u.role)!.name,
      scope: u.scope,
    })),
  };
}

/** The demo's users without generating the rest (cheap: used on every start of `serve --demo`). */
export function demoUsers(
  options: DemoOptions = FULL_DEMO_OPTIONS,
): Array<{ uid: string; username: string }> {
  return DEMO_USERNAMES.map((username) => ({
    uid: uidFromSeed(`${options.seed}:user:${username}`),
    username,
  }));
}

function metadataName(metadata: ReadonlyMap<string, MetadataObject[]>, orgUnitUid: string): string {
  const unit = metadata.get('organisationUnits')?.find((o) => o.id === orgUnitUid);
  return typeof unit?.name === 'string' ? unit.name : orgUnitUid;
}

/** Seeded UIDs could collide in principle; a collision would silently merge two objects, so refuse. */
function assertUniqueUids(metadata: ReadonlyMap<string, MetadataObject[]>): void {
  const seen = new Map<string, string>();
  const visit = (collection: string, value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(collection, item);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    // Only objects with more than an id are definitions; `{ id }` alone is a reference.
    if (typeof record.id === 'string' && Object.keys(record).length > 1) {
      const previous = seen.get(record.id);
      if (previous !== undefined && previous !== collection) {
        throw new Error(`Demo UID collision: ${record.id} in ${previous} and ${collection}`);
      }
      seen.set(record.id, collection);
    }
    for (const [key, child] of Object.entries(record)) if (key !== 'id') visit(key, child);
  };
  for (const [collection, objects] of metadata) {
    const ids = new Set<string>();
    for (const object of objects) {
      if (ids.has(object.id)) throw new Error(`Demo UID collision: ${object.id} twice in ${collection}`);
      ids.add(object.id);
      visit(collection, object);
    }
  }
}
