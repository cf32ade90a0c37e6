import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
} from '../../domain/category/default-category-model.ts';
import { planCategoryOptionCombos } from '../../domain/category/category-option-combos.ts';
import type { DemoComboKey } from './demo-catalogue.ts';
import type { DemoBuilder } from './demo-builder.ts';

/** Option combos of a category combo, in DHIS2's order, with their share of a total. */
export type DemoOptionCombos = Array<{ uid: string; key: number; share: number }>;

export interface DemoCategories {
  combos: ReadonlyMap<DemoComboKey, DemoOptionCombos>;
  comboUid(key: DemoComboKey): string;
}

/**
 * The categories beside DHIS2's default model: Sex and Age for disaggregation, a funding mechanism
 * as an attribute, their combos and option combos (planned as an import would).
 */
export function buildDemoCategories(b: DemoBuilder): DemoCategories {
  const { uid, ref, add } = b;
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
  const combos = new Map<DemoComboKey, DemoOptionCombos>([
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

  return { combos, comboUid };
}
