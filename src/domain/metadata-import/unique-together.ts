import type { PropertyDescriptor, SchemaDescriptor, SchemaRegistry } from '../schema/schema-types.ts';
import { isEmbedded, isReference } from '../schema/schema-registry.ts';

/**
 * Multi-property uniqueness (`uniqueTogether` in the registry; DHIS2's composite unique keys such as
 * a data set's data element, an option set's option code or a category combo's option set). This
 * module finds the objects a group applies to inside one payload object and turns each into a key;
 * the importer compares the keys within the file (E5005) and against the database (E5003).
 */

/** One object a uniqueness group applies to: the top-level object itself or an embedded item. */
export interface UniqueTogetherInstance {
  schema: SchemaDescriptor;
  group: readonly string[];
  object: Record<string, unknown>;
  /** Dotted path of the embedded list (`dataSetElements`), '' for the top-level object. */
  path: string;
  /** The object holding an embedded item, which its inverse reference to the holder defaults to. */
  container?: { collection: string; uid: string };
}

/** Schemas that carry a uniqueness group themselves or embed (at any depth) one that does. */
export function schemasWithUniqueTogether(registry: SchemaRegistry): Set<string> {
  const out = new Set<string>();
  const reaches = (schema: SchemaDescriptor, seen: Set<string>): boolean => {
    if (seen.has(schema.collection)) return false;
    seen.add(schema.collection);
    if (schema.uniqueTogether?.length) return true;
    return schema.properties.some((p) => {
      const item = isEmbedded(p) && p.itemSchema ? registry.byCollection(p.itemSchema) : undefined;
      return item !== undefined && reaches(item, seen);
    });
  };
  for (const schema of registry.schemas) if (reaches(schema, new Set())) out.add(schema.collection);
  return out;
}

/** The instances of every uniqueness group inside one object of `collection` (uid `uid`). */
export function uniqueTogetherInstances(
  registry: SchemaRegistry,
  collection: string,
  object: Record<string, unknown>,
  uid: string,
): UniqueTogetherInstance[] {
  const out: UniqueTogetherInstance[] = [];
  const walk = (
    schema: SchemaDescriptor,
    value: Record<string, unknown>,
    path: string,
    container: UniqueTogetherInstance['container'],
  ): void => {
    for (const group of schema.uniqueTogether ?? [])
      out.push({ schema, group, object: value, path, container });
    for (const property of schema.properties) {
      const item =
        isEmbedded(property) && property.itemSchema ? registry.byCollection(property.itemSchema) : undefined;
      const raw = value[property.name];
      if (!item || raw === undefined || raw === null) continue;
      for (const element of Array.isArray(raw) ? raw : [raw]) {
        if (element && typeof element === 'object' && !Array.isArray(element)) {
          walk(
            item,
            element as Record<string, unknown>,
            `${path}${property.name}.`,
            container ?? {
              collection,
              uid,
            },
          );
        }
      }
    }
  };
  const schema = registry.byCollection(collection);
  if (schema) walk(schema, object, '', undefined);
  return out.map((instance) => ({ ...instance, path: instance.path.replace(/\.$/, '') }));
}

/**
 * One property's part of a key: a reference's UID, a reference list's UIDs as a sorted set (a
 * category option combo is its set of options, in any order), a scalar as text. Undefined when the
 * object lacks the value; an object missing any part of a group is not checked, as in a SQL unique key.
 */
export function uniqueKeyPart(property: PropertyDescriptor, value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (isReference(property)) {
    const ids = (Array.isArray(value) ? value : [value])
      .map((r) => (r as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string');
    if (ids.length === 0) return undefined;
    return property.kind === 'references' ? [...new Set(ids)].sort().join('+') : ids[0];
  }
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A non-owning reference of a group (an option's `optionSet`, which the option set's `options` list
 * owns): the property of the target type that owns the association, so the value can be derived
 * from the owning side when the object does not carry it.
 */
export function owningSideOf(
  registry: SchemaRegistry,
  schema: SchemaDescriptor,
  property: PropertyDescriptor,
): string | undefined {
  if (!isReference(property) || property.owner !== false || !property.target) return undefined;
  return registry
    .byCollection(property.target)
    ?.properties.find((p) => isReference(p) && p.owner === true && p.target === schema.collection)?.name;
}

/**
 * The key parts of an instance, in group order, or undefined when a part is missing. `derived`
 * supplies inverse references the object does not carry.
 */
export function uniqueTogetherKey(
  instance: UniqueTogetherInstance,
  derived: (property: PropertyDescriptor) => string | undefined,
): string[] | undefined {
  const parts: string[] = [];
  for (const name of instance.group) {
    const property = instance.schema.properties.find((p) => p.name === name);
    if (!property) return undefined;
    let part = uniqueKeyPart(property, instance.object[name]);
    if (part === undefined && instance.container && property.target === instance.container.collection) {
      part = instance.container.uid;
    }
    part ??= derived(property);
    if (part === undefined) return undefined;
    parts.push(part);
  }
  return parts;
}
