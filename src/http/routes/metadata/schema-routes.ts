import type { FastifyInstance } from 'fastify';
import type { FerryContext } from '../../../services/ferry-context.ts';
import type { SchemaDescriptor } from '../../../domain/schema/schema-types.ts';
import { FerryError } from '../../../errors.ts';

/** DHIS2's `/api/schemas`: the registry as clients see it. */
export async function registerSchemaRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get('/api/schemas', async () => ({
    schemas: context.registry.schemas.map(describeSchema),
  }));
  app.get<{ Params: { type: string } }>('/api/schemas/:type', async (request) => {
    const name = request.params.type.replace(/\.json$/, '');
    const schema = context.registry.bySingular(name) ?? context.registry.byCollection(name);
    if (!schema) throw new FerryError('F1200', ['Schema', name]);
    return describeSchema(schema);
  });
}

function describeSchema(schema: SchemaDescriptor) {
  return {
    name: schema.singular,
    plural: schema.collection,
    singular: schema.singular,
    collectionName: schema.collection,
    klass: schema.klass,
    displayName: schemaDisplayName(schema.klass),
    identifiableObject: schema.identifiable,
    embeddedObject: schema.embeddedOnly ?? false,
    shareable: schema.shareable,
    // DHIS2: only metadata objects of their own; an embedded one (attribute value, data set
    // element) is no collection to export, and the Import/Export app lists only `metadata` ones.
    metadata: !(schema.embeddedOnly ?? false),
    apiEndpoint: schema.embeddedOnly ? undefined : `/api/${schema.collection}`,
    properties: schema.properties.map((p) => ({
      name: p.name,
      propertyType: p.kind,
      required: p.required ?? false,
      unique: p.unique ?? false,
      ...(p.maxLength ? { maxLength: p.maxLength } : {}),
      ...(p.enumValues ? { constants: p.enumValues } : {}),
      ...(p.target ? { itemKlass: p.target, owner: p.owner ?? false } : {}),
      ...(p.itemSchema ? { embeddedSchema: p.itemSchema } : {}),
      collection: p.kind === 'references' || p.kind === 'embeddedList' || p.kind === 'stringList',
    })),
  };
}

/**
 * DHIS2's schema display name: the class's simple name split into words
 * (`org.hisp.dhis.dataelement.DataElement` is "Data Element"); the Import/Export app labels its
 * metadata export checkboxes with it.
 */
export function schemaDisplayName(klass: string): string {
  const simple = klass.slice(klass.lastIndexOf('.') + 1);
  return simple.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
}
