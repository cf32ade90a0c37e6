import type { FerryContext } from '../ferry-context-types.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import { FerryError } from '../../errors.ts';
import { isEmbedded, isReference } from '../../domain/schema/schema-registry.ts';
import { forEachReference, isCheckedReference } from '../../domain/metadata-import/reference-walk.ts';

/**
 * A dependency package (`GET /api/{collection}/{uid}/metadata`): the object, what its type's
 * `dependencies` name (followed transitively through each collected type's own `dependencies`), and
 * the objects its type's `dependents` name (sections of a data set, stages of a program). Any type
 * gets this by setting `dependencyExport: true` in the registry.
 *
 * So that the package imports cleanly into an empty Ferry, a required reference to an object outside
 * the package pulls that object in, and an optional one (a data set's org units, an object's `user`)
 * is left out of the exported copy: such assignments belong to the site, not to the package.
 */
export async function collectDependencies(
  context: FerryContext,
  collection: string,
  uid: string,
): Promise<Map<string, MetadataObject[]>> {
  const registry = context.registry;
  const schema = registry.byCollection(collection);
  if (!schema?.dependencyExport) throw new FerryError('F1201', [`/api/${collection}/${uid}/metadata`]);
  const root = await context.metadata.get(collection, uid);
  if (!root) throw new FerryError('F1200', [schema.klass.slice(schema.klass.lastIndexOf('.') + 1), uid]);

  const collected = new Map<string, Map<string, MetadataObject>>();
  const queue: Array<{ collection: string; uid: string }> = [];
  const has = (c: string, u: string) => collected.get(c)?.has(u) ?? false;
  const enqueue = (c: string, u: string) => {
    if (has(c, u) || queue.some((q) => q.collection === c && q.uid === u)) return;
    queue.push({ collection: c, uid: u });
  };
  const add = (c: string, object: MetadataObject) => {
    let map = collected.get(c);
    if (!map) collected.set(c, (map = new Map()));
    map.set(object.id, object);
  };

  const follow = async (c: string, object: MetadataObject) => {
    const objectSchema = registry.byCollection(c);
    if (!objectSchema) return;
    for (const name of objectSchema.dependencies ?? []) {
      const property = objectSchema.properties.find((p) => p.name === name);
      const value = object[name];
      if (!property || value === undefined || value === null) continue;
      if (isReference(property) && property.target) {
        for (const ref of Array.isArray(value) ? value : [value]) {
          const id = (ref as { id?: unknown })?.id;
          if (typeof id === 'string') enqueue(property.target, id);
        }
      } else if (isEmbedded(property) && property.itemSchema) {
        for (const item of Array.isArray(value) ? value : [value]) {
          if (!item || typeof item !== 'object') continue;
          forEachReference(
            registry,
            property.itemSchema,
            item as Record<string, unknown>,
            ({ property: p, ref }) => {
              if (p.target && p.owner && typeof ref.id === 'string') enqueue(p.target, ref.id);
            },
          );
        }
      }
    }
    for (const dependent of objectSchema.dependents ?? []) {
      for (const referrer of await context.metadata.referrers(c, object.id)) {
        if (referrer.collection === dependent.collection && referrer.property === dependent.property) {
          enqueue(referrer.collection, referrer.uid);
        }
      }
    }
    // Required references always come along, or the package could not be imported on its own.
    forEachReference(registry, c, object, ({ property, ref }) => {
      if (property.required && property.target && typeof ref.id === 'string')
        enqueue(property.target, ref.id);
    });
  };

  add(collection, root);
  await follow(collection, root);
  while (queue.length > 0) {
    const batch = queue.splice(0);
    const byCollection = new Map<string, string[]>();
    for (const item of batch) {
      if (has(item.collection, item.uid)) continue;
      let list = byCollection.get(item.collection);
      if (!list) byCollection.set(item.collection, (list = []));
      list.push(item.uid);
    }
    for (const [c, uids] of byCollection) {
      for (const row of await context.metadata.findBy(c, 'uid', uids)) {
        if (has(c, row.object.id)) continue;
        add(c, row.object);
        await follow(c, row.object);
      }
    }
  }

  // Leave out optional references to objects outside the package.
  const out = new Map<string, MetadataObject[]>();
  for (const c of registry.importOrder()) {
    const objects = collected.get(c);
    if (!objects) continue;
    out.set(
      c,
      [...objects.values()].map((object) => withoutOutsideReferences(context, c, object, has)),
    );
  }
  return out;
}

function withoutOutsideReferences(
  context: FerryContext,
  collection: string,
  object: MetadataObject,
  has: (collection: string, uid: string) => boolean,
): MetadataObject {
  const copy = structuredClone(object);
  const drop = new Set<Record<string, unknown>>();
  forEachReference(context.registry, collection, copy, ({ property, ref }) => {
    if (!property.target || property.required || !isCheckedReference(property)) return;
    if (typeof ref.id === 'string' && !has(property.target, ref.id)) drop.add(ref);
  });
  if (drop.size === 0) return copy;
  const prune = (value: Record<string, unknown>, schemaName: string) => {
    const schema = context.registry.byCollection(schemaName);
    if (!schema) return;
    for (const property of schema.properties) {
      const raw = value[property.name];
      if (raw === undefined || raw === null) continue;
      if (isReference(property)) {
        if (Array.isArray(raw))
          value[property.name] = raw.filter((r) => !drop.has(r as Record<string, unknown>));
        else if (drop.has(raw as Record<string, unknown>)) delete value[property.name];
      } else if (isEmbedded(property) && property.itemSchema) {
        for (const item of Array.isArray(raw) ? raw : [raw]) {
          if (item && typeof item === 'object') prune(item as Record<string, unknown>, property.itemSchema);
        }
      }
    }
  };
  prune(copy, collection);
  return copy;
}
