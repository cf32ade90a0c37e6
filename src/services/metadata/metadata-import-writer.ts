import type { MetadataObject, MetadataStore } from '../../storage/metadata-store.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import { SHARING_PROPERTIES } from '../../domain/metadata-import/import-params.ts';
import { DEFAULT_CATEGORY_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { planCategoryOptionCombos } from '../../domain/category/category-option-combos.ts';
import type { ImportEntry, MetadataImportBundle } from './metadata-import-bundle.ts';

// The writing stage of a metadata import: every object without errors, in import order, in one
// transaction; then deletions in reverse order, moved org units' descendants and the option combos
// of category combos whose model changed.

/** The object as it will be stored, per mergeMode and skipSharing. */
function finalObject(bundle: MetadataImportBundle, entry: ImportEntry): MetadataObject {
  const existing = entry.existing;
  let object: Record<string, unknown>;
  if (bundle.membershipProperty && existing) {
    const property = bundle.membershipProperty;
    const current = Array.isArray(existing[property]) ? (existing[property] as Array<{ id: string }>) : [];
    const ids = new Set(current.map((r) => r.id));
    const added = ((entry.object[property] as Array<{ id: string }> | undefined) ?? []).filter(
      (r) => !ids.has(r.id),
    );
    object = { ...existing, [property]: [...current, ...added] };
  } else {
    object = bundle.mergedObject(entry);
  }
  if (bundle.params.skipSharing) {
    for (const property of SHARING_PROPERTIES) {
      if (existing && existing[property] !== undefined) object[property] = existing[property];
      else delete object[property];
    }
  }
  for (const property of entry.schema.properties) {
    // DHIS2 gives objects without a category combo the default one.
    if (
      property.name === 'categoryCombo' &&
      property.target === 'categoryCombos' &&
      object.categoryCombo == null
    ) {
      object.categoryCombo = { id: DEFAULT_CATEGORY_COMBO_UID };
    }
  }
  object.id = entry.uid;
  const stored = existing && !bundle.virtualDefaults.has(existing) ? existing : undefined;
  object.created = stored?.created ?? (typeof object.created === 'string' ? object.created : bundle.now);
  object.lastUpdated = bundle.now;
  if (bundle.principal) {
    object.lastUpdatedBy = { id: bundle.principal.uid };
    if (!existing) object.createdBy = { id: bundle.principal.uid };
  }
  return object as MetadataObject;
}

/**
 * Writes every object without errors in one transaction (a job's `beforeCommit` runs last inside
 * it), so a failure or a lost lease leaves the database as it was.
 */
export async function writeBundle(bundle: MetadataImportBundle): Promise<void> {
  const order = bundle.orderedCollections();
  await bundle.context.storage.transaction(async (tx) => {
    const store = bundle.context.metadata.withExecutor(tx);
    for (const { collection, object } of bundle.missingDefaults)
      await store.save(collection, [object], bundle.now);
    const writtenCombos = new Set<string>();
    const writtenCategories = new Set<string>();
    let processed = 0;
    for (const collection of order) {
      const list = bundle.entries.get(collection)!;
      const writable = list.filter((e) => e.errors.length === 0 && e.action !== 'delete');
      const objects = writable.map((e) => finalObject(bundle, e));
      if (bundle.params.flushMode === 'OBJECT') {
        for (const object of objects) await store.save(collection, [object], bundle.now);
      } else {
        await store.saveMany(collection, objects, bundle.now);
      }
      if (collection === 'categoryCombos') for (const o of objects) writtenCombos.add(o.id);
      if (collection === 'categories') for (const o of objects) writtenCategories.add(o.id);
      if (list[0].schema.hierarchyProperty) await rewriteDescendantPaths(bundle, store, collection, writable);
      processed += list.length;
      bundle.progress('Committing', processed);
    }
    for (const collection of [...order].reverse()) {
      const deletions = bundle.entries
        .get(collection)!
        .filter((e) => e.errors.length === 0 && e.action === 'delete');
      if (deletions.length > 0)
        await store.delete(
          collection,
          deletions.map((e) => e.uid),
        );
    }
    for (const category of writtenCategories) {
      for (const r of await store.referrers('categories', category)) {
        if (r.collection === 'categoryCombos' && r.property === 'categories') writtenCombos.add(r.uid);
      }
    }
    for (const combo of writtenCombos) await replanOptionCombos(bundle, store, tx, combo);
    await bundle.options.beforeCommit?.(tx);
  });
}

/** Descendants of a moved org unit keep their paths in step with it. */
async function rewriteDescendantPaths(
  bundle: MetadataImportBundle,
  store: MetadataStore,
  collection: string,
  written: ImportEntry[],
): Promise<void> {
  for (const entry of written) {
    const oldPath = entry.existing?.path;
    const newPath = entry.object.path;
    if (typeof oldPath !== 'string' || typeof newPath !== 'string' || oldPath === newPath) continue;
    const { objects } = await store.list(collection, {
      filters: [{ property: 'path', operator: 'startsWith', value: `${oldPath}/` }],
    });
    const moved = objects
      .filter((o) => !bundle.payloadByUid.get(collection)?.has(o.id))
      .map((o) => {
        const path = newPath + String(o.path).slice(oldPath.length);
        return { ...o, path, level: path.split('/').length - 1, lastUpdated: bundle.now };
      });
    await store.saveMany(collection, moved, bundle.now);
  }
}

/** Creates, keeps and retires a category combo's option combos after its model changed. */
async function replanOptionCombos(
  bundle: MetadataImportBundle,
  store: MetadataStore,
  tx: SqlExecutor,
  comboUid: string,
): Promise<void> {
  const combo = await store.get('categoryCombos', comboUid);
  if (!combo) return;
  const categoryIds = ((combo.categories as Array<{ id: string }> | undefined) ?? []).map((c) => c.id);
  const categories = new Map(
    (await store.findBy('categories', 'uid', categoryIds)).map((r) => [r.object.id, r.object]),
  );
  const optionIds = new Set<string>();
  for (const category of categories.values()) {
    for (const o of (category.categoryOptions as Array<{ id: string }> | undefined) ?? [])
      optionIds.add(o.id);
  }
  const options = new Map(
    (await store.findBy('categoryOptions', 'uid', [...optionIds])).map((r) => [r.object.id, r.object]),
  );
  const comboCategories = categoryIds
    .map((id) => categories.get(id))
    .filter((c): c is MetadataObject => c !== undefined)
    .map((c) => ({
      id: c.id,
      categoryOptions: ((c.categoryOptions as Array<{ id: string }> | undefined) ?? []).map((o) => ({
        id: o.id,
        name: typeof options.get(o.id)?.name === 'string' ? (options.get(o.id)!.name as string) : o.id,
      })),
    }));
  const existingUids = (await store.referrers('categoryCombos', comboUid))
    .filter((r) => r.collection === 'categoryOptionCombos' && r.property === 'categoryCombo')
    .map((r) => r.uid);
  const existing = (await store.findBy('categoryOptionCombos', 'uid', existingUids)).map((r) => ({
    id: r.object.id,
    categoryOptions: (r.object.categoryOptions as Array<{ id: string }> | undefined) ?? [],
  }));
  const plan = planCategoryOptionCombos(comboCategories, existing);
  await store.saveMany(
    'categoryOptionCombos',
    plan.create.map((c) => ({
      id: c.id,
      name: c.name,
      ignoreApproval: false,
      categoryCombo: { id: comboUid },
      categoryOptions: c.categoryOptions,
      created: bundle.now,
      lastUpdated: bundle.now,
    })),
    bundle.now,
  );
  if (plan.retire.length === 0) return;
  // Retired combos that data values still use are kept, so no data is orphaned.
  const sids = await store.sids('categoryOptionCombos', plan.retire);
  const removable: string[] = [];
  for (const [uid, sid] of sids) {
    const used = await tx.queryOne(
      'SELECT 1 AS used FROM data_value WHERE category_option_combo_id = ? OR attribute_option_combo_id = ? LIMIT 1',
      [sid, sid],
    );
    if (!used) removable.push(uid);
  }
  await store.delete('categoryOptionCombos', removable);
}
