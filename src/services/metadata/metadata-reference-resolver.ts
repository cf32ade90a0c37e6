import type { MetadataObject } from '../../storage/metadata-store.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import { describeObject, errorReport } from '../../domain/metadata-import/import-report.ts';
import { forEachReference, isCheckedReference } from '../../domain/metadata-import/reference-walk.ts';
import { defaultCategoryModel } from '../../domain/category/default-category-model.ts';
import type { ImportEntry, MetadataImportBundle } from './metadata-import-bundle.ts';

// The resolving stages of a metadata import: load what the payload refers to (preheat), match
// payload objects to stored ones, rewrite references to UIDs (E5002 for a missing one) and derive
// org unit paths from the parent chain.

/** Loads, in bulk, the stored objects the payload names or refers to, and the default category model. */

export async function preheatReferences(bundle: MetadataImportBundle): Promise<void> {
  const identifier = bundle.params.identifier;
  const wants = new Map<string, { uids: Set<string>; codes: Set<string> }>();
  const want = (collection: string) => {
    let w = wants.get(collection);
    if (!w) wants.set(collection, (w = { uids: new Set(), codes: new Set() }));
    return w;
  };
  for (const [collection, list] of bundle.entries) {
    const w = want(collection);
    for (const entry of list) {
      if (typeof entry.object.id === 'string') w.uids.add(entry.object.id);
      if (identifier !== 'UID' && typeof entry.object.code === 'string') w.codes.add(entry.object.code);
      forEachReference(bundle.context.registry, collection, entry.object, ({ property, ref }) => {
        if (!property.target || !isCheckedReference(property)) return;
        const t = want(property.target);
        if (typeof ref.id === 'string') {
          t.uids.add(ref.id);
          if (identifier !== 'UID') t.codes.add(ref.id);
        }
        if (typeof ref.code === 'string') t.codes.add(ref.code);
      });
    }
  }
  // Category option combos are replanned on commit; categories need their options' names.
  await bundle.preheat.load(bundle.context.metadata, bundle.params.preheatMode, wants);
  for (const [collection, objects] of Object.entries(defaultCategoryModel(bundle.now))) {
    for (const object of objects) {
      if (bundle.preheat.get(collection, object.id)) continue;
      const stored = await bundle.context.metadata.get(collection, object.id);
      if (stored) bundle.preheat.add(collection, stored);
      else {
        bundle.preheat.add(collection, object);
        bundle.missingDefaults.push({ collection, object });
        bundle.virtualDefaults.add(object);
      }
    }
  }
}

/** Matches payload objects to stored ones (E5000/E5001/E5004) and gives new objects UIDs. */
export function settleIdentifiers(bundle: MetadataImportBundle): void {
  const identifier = bundle.params.identifier;
  const strategy = bundle.params.importStrategy;
  for (const [collection, list] of bundle.entries) {
    const seenIds = new Set<string>();
    const byUid = new Map<string, ImportEntry>();
    const byCode = new Map<string, ImportEntry>();
    bundle.payloadByUid.set(collection, byUid);
    bundle.payloadByCode.set(collection, byCode);
    for (const entry of list) {
      const object = entry.object;
      const id = typeof object.id === 'string' ? object.id : undefined;
      const code = typeof object.code === 'string' ? object.code : undefined;
      let existing: MetadataObject | undefined;
      if (identifier !== 'CODE' && id) existing = bundle.preheat.get(collection, id);
      if (!existing && identifier !== 'UID' && code) existing = bundle.preheat.getByCode(collection, code);
      if (!existing && identifier === 'CODE' && !code && id) existing = bundle.preheat.get(collection, id);
      if (existing) {
        entry.existing = existing;
        entry.uid = existing.id;
      } else if (id) {
        entry.uid = id;
      } else {
        entry.uid = generateUid();
      }
      object.id = entry.uid;
      if (seenIds.has(entry.uid)) {
        entry.errors.push(errorReport('E5004', [entry.uid, entry.schema.klass], bundle.main(entry)));
        continue;
      }
      seenIds.add(entry.uid);
      byUid.set(entry.uid, entry);
      if (code && !byCode.has(code)) byCode.set(code, entry);
      const described = `${entry.uid}${code ? `/${code}` : ''}`;
      if (strategy === 'DELETE') {
        entry.action = 'delete';
        if (!existing) {
          entry.errors.push(
            errorReport(
              'E5001',
              [described, describeObject(entry.schema.klass, entry.uid, object.name)],
              bundle.main(entry),
            ),
          );
        }
      } else if (existing) {
        entry.action = 'update';
        if (strategy === 'CREATE') {
          entry.errors.push(
            errorReport(
              'E5000',
              [described, describeObject(entry.schema.klass, entry.uid, object.name)],
              bundle.main(entry),
            ),
          );
        }
      } else {
        entry.action = 'create';
        if (strategy === 'UPDATE') {
          entry.errors.push(
            errorReport(
              'E5001',
              [described, describeObject(entry.schema.klass, entry.uid, object.name)],
              bundle.main(entry),
            ),
          );
        }
      }
    }
  }
}

/** Resolves every checked reference to a payload or stored object (E5002) and rewrites it to the UID. */
export function resolveReferences(bundle: MetadataImportBundle): void {
  const identifier = bundle.params.identifier;
  for (const entry of bundle.allEntries()) {
    if (entry.action === 'delete') continue;
    forEachReference(bundle.context.registry, entry.collection, entry.object, ({ property, path, ref }) => {
      if (!property.target || !isCheckedReference(property)) return;
      const target = property.target;
      const id = typeof ref.id === 'string' ? ref.id : undefined;
      const code = typeof ref.code === 'string' ? ref.code : undefined;
      let uid: string | undefined;
      if (id) {
        uid = bundle.payloadByUid.get(target)?.get(id)?.uid ?? bundle.preheat.get(target, id)?.id;
        if (!uid && identifier !== 'UID') {
          uid = bundle.payloadByCode.get(target)?.get(id)?.uid ?? bundle.preheat.getByCode(target, id)?.id;
        }
      } else if (code) {
        uid = bundle.payloadByCode.get(target)?.get(code)?.uid ?? bundle.preheat.getByCode(target, code)?.id;
      }
      if (uid) {
        // An association is stored as the UID alone, as DHIS2 stores it: a file's `name` or `code`
        // beside the id is display state and may disagree with the object itself.
        for (const key of Object.keys(ref)) if (key !== 'id') delete ref[key];
        ref.id = uid;
        return;
      }
      if (path === 'user') {
        // The creator is a soft reference, as DHIS2 treats it: a creator who is not a user here is
        // no error; the importing user owns the object instead (the operator leaves it without one).
        // One unknown creator would otherwise refuse every object of an older package.
        if (bundle.principal) entry.object.user = { id: bundle.principal.uid };
        else delete entry.object.user;
        return;
      }
      if (bundle.params.skipValidation) return;
      const targetSchema = bundle.context.registry.byCollection(target);
      const key = id ?? code ?? '';
      entry.errors.push(
        errorReport(
          'E5002',
          [
            describeObject(targetSchema?.klass ?? target, key),
            describeObject(entry.schema.klass, entry.uid, entry.object.name),
            path,
          ],
          { ...bundle.main(entry), errorKlass: targetSchema?.klass, errorProperty: path, value: key },
        ),
      );
    });
  }
}

/**
 * Under atomicMode NONE, an object that refers to a payload object which will not be written
 * (it has errors and is not stored already) would be written with a dangling reference; it gets
 * E5002 too, until nothing changes.
 */
export function propagateInvalidReferences(bundle: MetadataImportBundle): void {
  if (bundle.params.atomicMode !== 'NONE') return;
  for (let changed = true; changed;) {
    changed = false;
    for (const entry of bundle.allEntries()) {
      if (entry.errors.length > 0 || entry.action === 'delete') continue;
      forEachReference(bundle.context.registry, entry.collection, entry.object, ({ property, path, ref }) => {
        if (!property.target || !isCheckedReference(property) || typeof ref.id !== 'string') return;
        const target = bundle.payloadByUid.get(property.target)?.get(ref.id);
        if (!target || target.errors.length === 0 || target.existing) return;
        if (
          entry.errors.some((e) => e.errorCode === 'E5002' && e.errorProperty === path && e.value === ref.id)
        )
          return;
        changed = true;
        entry.errors.push(
          errorReport(
            'E5002',
            [
              describeObject(target.schema.klass, ref.id),
              describeObject(entry.schema.klass, entry.uid, entry.object.name),
              path,
            ],
            { ...bundle.main(entry), errorKlass: target.schema.klass, errorProperty: path, value: ref.id },
          ),
        );
      });
    }
  }
}

/** Org unit `path` and `level` from the parent chain, whether parents are stored or in the payload. */
export async function computeHierarchyPaths(bundle: MetadataImportBundle): Promise<void> {
  for (const [collection, list] of bundle.entries) {
    const property = list[0].schema.hierarchyProperty;
    if (!property) continue;
    // Parents kept from the stored object (MERGE) were not in the payload, so not preheated.
    const unknownParents = list
      .map((e) => (bundle.mergedObject(e)[property] as { id?: string } | undefined)?.id)
      .filter(
        (id): id is string =>
          typeof id === 'string' &&
          !bundle.payloadByUid.get(collection)?.has(id) &&
          !bundle.preheat.get(collection, id),
      );
    if (unknownParents.length > 0) {
      for (const row of await bundle.context.metadata.findBy(collection, 'uid', [
        ...new Set(unknownParents),
      ])) {
        bundle.preheat.add(collection, row.object);
      }
    }
    const paths = new Map<string, string | null>();
    const cyclic = new Set<string>();
    const pathOf = (uid: string, chain: string[]): string | null => {
      const known = paths.get(uid);
      if (known !== undefined) return known;
      if (chain.includes(uid)) {
        for (const member of chain.slice(chain.indexOf(uid))) cyclic.add(member);
        return null;
      }
      const entry = bundle.payloadByUid.get(collection)?.get(uid);
      const object =
        entry && entry.action !== 'delete' ? bundle.mergedObject(entry) : bundle.preheat.get(collection, uid);
      if (!object) return null;
      if (!entry && typeof object.path === 'string') {
        paths.set(uid, object.path);
        return object.path;
      }
      const parent = (object[property] as { id?: string } | undefined)?.id;
      let path: string | null;
      if (!parent) path = `/${uid}`;
      else {
        const parentPath = pathOf(parent, [...chain, uid]);
        path = parentPath === null ? null : `${parentPath}/${uid}`;
      }
      paths.set(uid, path);
      return path;
    };
    for (const entry of list) {
      if (entry.action === 'delete') continue;
      const path = pathOf(entry.uid, []);
      const parent = (bundle.mergedObject(entry)[property] as { id?: string } | undefined)?.id;
      if (path === null) {
        // A missing parent is already E5002; a cycle gets its own report.
        if (parent && cyclic.has(entry.uid)) {
          entry.errors.push(
            errorReport('E6022', [entry.uid, parent], {
              ...bundle.main(entry),
              errorProperty: property,
              value: parent,
            }),
          );
        }
        continue;
      }
      entry.object.path = path;
      entry.object.level = path.split('/').length - 1;
    }
  }
}
