import type { PropertyDescriptor, SchemaRegistry } from '../schema/schema-types.ts';
import { isEmbedded, isReference } from '../schema/schema-registry.ts';

export interface ReferenceVisit {
  property: PropertyDescriptor;
  /** Dotted path from the top object: `dataSetElements.dataElement`. */
  path: string;
  /** The reference object itself (`{ id }` or `{ code }`); the visitor may change it in place. */
  ref: Record<string, unknown>;
}

/** Visits every reference an object makes, including from inside its embedded objects. */
export function forEachReference(
  registry: SchemaRegistry,
  collection: string,
  object: Record<string, unknown>,
  visit: (reference: ReferenceVisit) => void,
  prefix = '',
): void {
  const schema = registry.byCollection(collection);
  if (!schema) return;
  for (const property of schema.properties) {
    const raw = object[property.name];
    if (raw === undefined || raw === null) continue;
    if (isReference(property) && property.target) {
      for (const item of Array.isArray(raw) ? raw : [raw]) {
        if (item && typeof item === 'object' && !Array.isArray(item)) {
          visit({ property, path: prefix + property.name, ref: item as Record<string, unknown> });
        }
      }
    } else if (isEmbedded(property) && property.itemSchema) {
      for (const item of Array.isArray(raw) ? raw : [raw]) {
        if (item && typeof item === 'object' && !Array.isArray(item)) {
          forEachReference(
            registry,
            property.itemSchema,
            item as Record<string, unknown>,
            visit,
            `${prefix}${property.name}.`,
          );
        }
      }
    }
  }
}

/**
 * References an importer must resolve: owning ones, and `user` (the creator), which the importer
 * resolves but treats as soft: an unknown one is replaced by the importing user, never an E5002
 * (DHIS2 2.41's ReferencesCheck exempts `user`, `createdBy` and `lastUpdatedBy`).
 * `createdBy`/`lastUpdatedBy` are stamps the server sets, so a file's values are not checked.
 */
export function isCheckedReference(property: PropertyDescriptor): boolean {
  return property.owner === true || property.name === 'user';
}
