/**
 * Builders of DHIS2 category metadata for test payloads, every object stamped created and
 * lastUpdated at `timestamp`: options and categories with codes (ADX names them by code), category
 * combos, and option combos named by their UID, with a code where a test gives one.
 */
export function categoryBuilders(timestamp: string) {
  const stamp = { created: timestamp, lastUpdated: timestamp };
  const references = (ids: readonly string[]) => ids.map((id) => ({ id }));
  return {
    option: (id: string, code: string, name: string) => ({ id, code, name, shortName: name, ...stamp }),
    category: (id: string, code: string, name: string, options: string[], type = 'DISAGGREGATION') => ({
      id,
      code,
      name,
      shortName: name,
      dataDimensionType: type,
      categoryOptions: references(options),
      ...stamp,
    }),
    categoryCombo: (id: string, name: string, categories: string[], type = 'DISAGGREGATION') => ({
      id,
      name,
      dataDimensionType: type,
      categories: references(categories),
      ...stamp,
    }),
    optionCombo: (id: string, combo: string, options: string[], code?: string) => ({
      id,
      ...(code ? { code } : {}),
      name: id,
      categoryCombo: { id: combo },
      categoryOptions: references(options),
      ...stamp,
    }),
    stamp,
  };
}
