import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Storage } from '../../src/storage/storage.ts';
import { MetadataStore, type MetadataObject } from '../../src/storage/metadata-store.ts';
import { schemaRegistry } from '../../src/domain/schema/schema-registry.ts';
import { defaultCategoryModel } from '../../src/domain/category/default-category-model.ts';

export const AGGREGATE_E2E_DIR = join(import.meta.dirname, '../fixtures/dhis2/aggregate-e2e');

/** Org unit paths from parent references (`/root/.../self`), as the metadata importer computes them. */
export function withOrgUnitPaths(orgUnits: readonly MetadataObject[]): MetadataObject[] {
  const byId = new Map(orgUnits.map((ou) => [ou.id, ou]));
  const pathOf = (ou: MetadataObject, depth = 0): string => {
    const parentId = (ou.parent as { id?: string } | undefined)?.id;
    const parent = parentId ? byId.get(parentId) : undefined;
    if (!parent || depth > 50) return `/${ou.id}`;
    return `${pathOf(parent, depth + 1)}/${ou.id}`;
  };
  return orgUnits.map((ou) => ({ ...ou, path: pathOf(ou) }));
}

/**
 * Loads metadata straight into the store (no validation), for tests of data value imports: the
 * default category model, then each collection of the given DHIS2 metadata payloads.
 */
export async function loadMetadataPayloads(
  storage: Storage,
  payloads: ReadonlyArray<Record<string, unknown>>,
): Promise<void> {
  const store = new MetadataStore(storage, schemaRegistry);
  const merged = new Map<string, MetadataObject[]>();
  const add = (collection: string, objects: readonly MetadataObject[]): void => {
    const list = merged.get(collection) ?? [];
    list.push(...objects);
    merged.set(collection, list);
  };
  for (const [collection, objects] of Object.entries(defaultCategoryModel(new Date().toISOString()))) {
    add(collection, objects as MetadataObject[]);
  }
  for (const payload of payloads) {
    for (const [collection, objects] of Object.entries(payload)) {
      if (Array.isArray(objects) && schemaRegistry.byCollection(collection)) {
        add(collection, objects as MetadataObject[]);
      }
    }
  }
  await storage.transaction(async (tx) => {
    const txStore = store.withExecutor(tx);
    for (const [collection, objects] of merged) {
      await txStore.save(
        collection,
        collection === 'organisationUnits' ? withOrgUnitPaths(objects) : objects,
      );
    }
  });
}

/**
 * The aggregate end-to-end metadata of DHIS2's own tests (01 setup + 02 aggregate), and a test's
 * `extra` payloads in the same load, so that the paths of its org units run through the fixtures'.
 */
export async function loadAggregateE2eMetadata(
  storage: Storage,
  extra: ReadonlyArray<Record<string, unknown>> = [],
): Promise<void> {
  const read = (name: string) =>
    JSON.parse(readFileSync(join(AGGREGATE_E2E_DIR, name), 'utf8')) as Record<string, unknown>;
  await loadMetadataPayloads(storage, [
    read('01_setup_metadata.json'),
    read('02_aggregate_metadata.json'),
    ...extra,
  ]);
}
