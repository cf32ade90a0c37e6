import { generateUid } from '../identifiers/uid.ts';

export interface ComboCategory {
  id: string;
  categoryOptions: ReadonlyArray<{ id: string; name?: string }>;
}

export interface ExistingOptionCombo {
  id: string;
  categoryOptions: ReadonlyArray<{ id: string }>;
}

export interface OptionComboPlan {
  /** Option combos to create, in DHIS2's order (first category varies slowest). */
  create: Array<{ id: string; name: string; categoryOptions: Array<{ id: string }> }>;
  /** Existing option combos that still match a combination: kept with their UIDs (data refers to them). */
  keep: string[];
  /** Existing option combos whose combination no longer exists. */
  retire: string[];
  /** Every combination with the UID it has after the plan, in order. */
  all: Array<{ id: string; name: string; optionIds: string[] }>;
}

/** The key of a combination: option UIDs sorted, so order in a file doesn't matter. */
export function optionSetKey(optionIds: readonly string[]): string {
  return [...optionIds].sort().join('|');
}

/**
 * The category option combos a category combo must have: the cartesian product of its categories'
 * options. Existing combos are matched by their option set, so their UIDs survive (stored data
 * values refer to them); missing ones are created; ones that match nothing are retired.
 * Names follow DHIS2: option names joined with ", ".
 */
export function planCategoryOptionCombos(
  categories: readonly ComboCategory[],
  existing: readonly ExistingOptionCombo[],
  newUid: (optionIds: readonly string[]) => string = () => generateUid(),
): OptionComboPlan {
  let combinations: Array<Array<{ id: string; name?: string }>> = [[]];
  for (const category of categories) {
    const next: typeof combinations = [];
    for (const prefix of combinations) {
      for (const option of category.categoryOptions) next.push([...prefix, option]);
    }
    combinations = next;
  }
  if (categories.length === 0) combinations = [];
  const existingByKey = new Map(
    existing.map((coc) => [optionSetKey(coc.categoryOptions.map((o) => o.id)), coc.id]),
  );
  const plan: OptionComboPlan = { create: [], keep: [], retire: [], all: [] };
  const used = new Set<string>();
  for (const combination of combinations) {
    const optionIds = combination.map((o) => o.id);
    const name = combination.map((o) => o.name ?? o.id).join(', ');
    const key = optionSetKey(optionIds);
    const existingId = existingByKey.get(key);
    if (existingId && !used.has(existingId)) {
      used.add(existingId);
      plan.keep.push(existingId);
      plan.all.push({ id: existingId, name, optionIds });
    } else {
      const id = newUid(optionIds);
      plan.create.push({ id, name, categoryOptions: optionIds.map((oid) => ({ id: oid })) });
      plan.all.push({ id, name, optionIds });
    }
  }
  for (const coc of existing) if (!used.has(coc.id)) plan.retire.push(coc.id);
  return plan;
}
