import type { PropertyDescriptor, SchemaDescriptor, SchemaRegistry } from './schema-types.ts';
import { METADATA_SCHEMAS } from './metadata-schemas.ts';

export function createSchemaRegistry(
  schemas: readonly SchemaDescriptor[] = METADATA_SCHEMAS,
): SchemaRegistry {
  const byCollection = new Map(schemas.map((s) => [s.collection, s]));
  const byKlass = new Map(schemas.map((s) => [s.klass, s]));
  const bySingular = new Map(schemas.map((s) => [s.singular, s]));
  const byCsvClassKey = new Map(schemas.filter((s) => s.csvClassKey).map((s) => [s.csvClassKey!, s]));
  const properties = new Map(
    schemas.map((s) => [s.collection, new Map(s.properties.map((p) => [p.name, p]))] as const),
  );
  const order = computeImportOrder(schemas, byCollection);
  return {
    schemas,
    byCollection: (collection) => byCollection.get(collection),
    byKlass: (klass) => byKlass.get(klass),
    bySingular: (singular) => bySingular.get(singular),
    byCsvClassKey: (key) => byCsvClassKey.get(key.toUpperCase()),
    importOrder: () => order,
    property: (collection, name) => properties.get(collection)?.get(name),
  };
}

/** The owning references of a schema, including those made from inside its embedded objects. */
export function owningReferenceTargets(
  schema: SchemaDescriptor,
  byCollection: ReadonlyMap<string, SchemaDescriptor>,
  seen = new Set<string>(),
): Set<string> {
  const targets = new Set<string>();
  if (seen.has(schema.collection)) return targets;
  seen.add(schema.collection);
  for (const property of schema.properties) {
    if (isReference(property) && property.owner && property.target) targets.add(property.target);
    if (isEmbedded(property) && property.itemSchema) {
      const item = byCollection.get(property.itemSchema);
      if (item) for (const t of owningReferenceTargets(item, byCollection, seen)) targets.add(t);
    }
  }
  return targets;
}

/**
 * A depth-first topological order over owning references. Cycles (an org unit's parent is an org
 * unit; a user refers to org units while metadata refers to users) are broken where they close, and
 * the importer resolves references within a type and across a cycle after all objects are known.
 */
function computeImportOrder(
  schemas: readonly SchemaDescriptor[],
  byCollection: ReadonlyMap<string, SchemaDescriptor>,
): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (collection: string): void => {
    if (state.has(collection)) return;
    const schema = byCollection.get(collection);
    if (!schema || schema.embeddedOnly) return;
    state.set(collection, 'visiting');
    // `user`, `createdBy` and `lastUpdatedBy` are not owning, so users don't pull in everything.
    for (const target of [...owningReferenceTargets(schema, byCollection)].sort()) {
      if (target !== collection) visit(target);
    }
    state.set(collection, 'done');
    order.push(collection);
  };
  for (const schema of schemas) visit(schema.collection);
  return order;
}

export function isReference(property: PropertyDescriptor): boolean {
  return property.kind === 'reference' || property.kind === 'references';
}

export function isEmbedded(property: PropertyDescriptor): boolean {
  return property.kind === 'embedded' || property.kind === 'embeddedList';
}

/** The one registry of the running process. */
export const schemaRegistry: SchemaRegistry = createSchemaRegistry();
