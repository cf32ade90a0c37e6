import { DEFAULT_CATEGORY_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { DEMO_DATA_SETS, DEMO_OPTION_SETS, DEMO_TRACKER_DATA_ELEMENTS } from './demo-catalogue.ts';
import type { DemoBuilder } from './demo-builder.ts';
import type { DemoCategories } from './demo-categories.ts';
import type { DemoDataSetPlan, DemoElementPlan, DemoFacility } from './demo-types.ts';

export interface DemoDataSets {
  dataSets: readonly DemoDataSetPlan[];
  dataElementUid(code: string): string;
  optionSetUid(key: string): string;
}

/**
 * Option sets, the aggregate data elements with their data sets (assigned to facilities by type
 * and share), sections, the tracker data elements, data element groups and indicators.
 */
export function buildDemoDataSets(
  b: DemoBuilder,
  { facilities }: { facilities: readonly DemoFacility[] },
  { combos, comboUid }: DemoCategories,
): DemoDataSets {
  const { random, uid, ref, add } = b;
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

  return { dataSets, dataElementUid, optionSetUid };
}
