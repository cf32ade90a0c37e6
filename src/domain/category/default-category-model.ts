/**
 * DHIS2's default category model. Every DHIS2 database has these objects with these UIDs, and
 * files from DHIS2 refer to them without carrying them (03_dataValues_bulk.json uses HllvX50cXC0).
 */
export const DEFAULT_CATEGORY_OPTION_UID = 'xYerKDKCefk';
export const DEFAULT_CATEGORY_UID = 'GLevLNI9wkl';
export const DEFAULT_CATEGORY_COMBO_UID = 'bjDvmb4bfuf';
export const DEFAULT_CATEGORY_OPTION_COMBO_UID = 'HllvX50cXC0';
export const DEFAULT_NAME = 'default';

/** The four default objects in DHIS2's JSON shape, keyed by collection. */
export function defaultCategoryModel(
  now: string,
): Record<string, Array<Record<string, unknown> & { id: string }>> {
  const stamp = { created: now, lastUpdated: now };
  return {
    categoryOptions: [
      {
        id: DEFAULT_CATEGORY_OPTION_UID,
        code: 'default',
        name: DEFAULT_NAME,
        shortName: DEFAULT_NAME,
        ...stamp,
      },
    ],
    categories: [
      {
        id: DEFAULT_CATEGORY_UID,
        code: 'default',
        name: DEFAULT_NAME,
        shortName: DEFAULT_NAME,
        dataDimensionType: 'DISAGGREGATION',
        dataDimension: false,
        categoryOptions: [{ id: DEFAULT_CATEGORY_OPTION_UID }],
        ...stamp,
      },
    ],
    categoryCombos: [
      {
        id: DEFAULT_CATEGORY_COMBO_UID,
        code: 'default',
        name: DEFAULT_NAME,
        dataDimensionType: 'DISAGGREGATION',
        skipTotal: false,
        categories: [{ id: DEFAULT_CATEGORY_UID }],
        ...stamp,
      },
    ],
    categoryOptionCombos: [
      {
        id: DEFAULT_CATEGORY_OPTION_COMBO_UID,
        code: 'default',
        name: DEFAULT_NAME,
        ignoreApproval: false,
        categoryCombo: { id: DEFAULT_CATEGORY_COMBO_UID },
        categoryOptions: [{ id: DEFAULT_CATEGORY_OPTION_UID }],
        ...stamp,
      },
    ],
  };
}
