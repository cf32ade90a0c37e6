import type { MetadataObject } from '../../storage/metadata-store.ts';
import { defaultCategoryModel } from '../../domain/category/default-category-model.ts';
import { demoPeriods } from './demo-periods.ts';
import { createDemoBuilder } from './demo-builder.ts';
import { buildDemoOrgUnits } from './demo-org-units.ts';
import { buildDemoCategories } from './demo-categories.ts';
import { buildDemoDataSets } from './demo-data-sets.ts';
import { buildDemoDashboard, buildDemoPrograms } from './demo-programs.ts';
import { buildDemoUsers } from './demo-users.ts';
import { DEMO_TIMESTAMP, FULL_DEMO_OPTIONS, type DemoDatabase, type DemoOptions } from './demo-types.ts';

/**
 * The demo database's metadata, generated deterministically: the same options always give the same
 * objects with the same UIDs. A fictional country (Kolanda) the size of Sierra Leone, with DHIS2's
 * usual shape: country, 4 regions, 16 districts, 100 chiefdoms, facilities; the default category
 * model plus Sex, Age and a funding attribute; four aggregate data sets; an event program (malaria
 * cases) and two tracker programs (ANC follow-up, child health) joined by a mother-child
 * relationship type; a dashboard; roles and users with different org unit scopes.
 */

export {
  DEMO_COUNTRY_CODE,
  DEMO_PASSWORD,
  DEMO_TIMESTAMP,
  DEMO_USERNAMES,
  FULL_DEMO_OPTIONS,
  type DemoDatabase,
  type DemoDataSetPlan,
  type DemoElementPlan,
  type DemoFacility,
  type DemoOptions,
  type DemoTrackerPlan,
  type DemoUser,
} from './demo-types.ts';
export { demoUsers } from './demo-users.ts';

/**
 * Builds the whole demo in memory (a few thousand objects; data values are generated separately),
 * stage by stage in a fixed order: the stages share one seeded random sequence, and each collection
 * keeps its objects in the order they were added.
 */
export function generateDemoDatabase(options: DemoOptions = FULL_DEMO_OPTIONS): DemoDatabase {
  if (!Number.isInteger(options.facilities) || options.facilities < 1) {
    throw new Error(`The demo needs at least one facility, not ${options.facilities}`);
  }
  const b = createDemoBuilder(options);
  // Default category model first: every DHIS2 database has it.
  for (const [collection, objects] of Object.entries(defaultCategoryModel(DEMO_TIMESTAMP))) {
    b.add(collection, ...objects);
  }
  const orgUnits = buildDemoOrgUnits(b);
  const categories = buildDemoCategories(b);
  const dataSets = buildDemoDataSets(b, orgUnits, categories);
  const tracker = buildDemoPrograms(b, orgUnits, dataSets);
  buildDemoDashboard(b, orgUnits, dataSets);
  const users = buildDemoUsers(b, orgUnits);
  assertUniqueUids(b.metadata);
  return {
    options,
    metadata: b.metadata,
    countryUid: orgUnits.countryUid,
    facilities: orgUnits.facilities,
    dataSets: dataSets.dataSets,
    periods: demoPeriods(),
    users,
    tracker,
  };
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
