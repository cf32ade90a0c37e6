import type { FerryContext } from '../ferry-context-types.ts';
import { DHIS2_VERSION } from '../../domain/system/dhis2-version.ts';
import type { SchemaDescriptor, SchemaRegistry } from '../../domain/schema/schema-types.ts';
import type { MetadataFilter, MetadataObject } from '../../storage/metadata-store.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../errors.ts';
import { parseFieldSelection, type FieldSelection } from '../../domain/metadata-query/field-selection.ts';
import { parseMetadataFilter } from '../../domain/metadata-query/metadata-filter.ts';
import { SHARING_PROPERTIES } from '../../domain/metadata-import/import-params.ts';
import { DXF2_NAMESPACE, escapeXml, objectToXml } from '../../codecs/metadata-xml/metadata-xml-encoder.ts';
import { csvHeader, objectToCsvRows } from '../../codecs/metadata-csv/metadata-csv-encoder.ts';
import { asFerryError, MetadataProjector } from './metadata-projection.ts';
import {
  applyInclusionStrategy,
  INCLUSION_STRATEGIES,
  type IncludedProperty,
  type InclusionStrategy,
} from '../../domain/metadata-query/inclusion-strategy.ts';
import { isReference } from '../../domain/schema/schema-registry.ts';

export const EXPORT_FORMATS = ['json', 'xml', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface MetadataExportRequest {
  format: ExportFormat;
  /** Collections to export, in import order. */
  collections: string[];
  fields: FieldSelection;
  filters: readonly string[];
  skipSharing: boolean;
  /**
   * CSV only: text a spreadsheet would run as a formula gets a leading `'` (`escapeFormulas=true`,
   * for a file meant for a spreadsheet). Off by default: a metadata CSV re-imports exactly.
   */
  escapeFormulas: boolean;
  /** DHIS2's `inclusionStrategy` (JSON and XML): NON_NULL by default, ALWAYS, NON_EMPTY. */
  inclusionStrategy?: InclusionStrategy;
}

/** DHIS2's default export selection: the properties a type owns, as an import reads them back. */
export const DEFAULT_EXPORT_FIELDS = ':owner';

/**
 * The collections `GET /api/metadata` exports: those named `<collection>=true`, or every exportable
 * collection when none is named (`<collection>=false` removes one). Unknown collection names are
 * not an error here: DHIS2 reads every other query parameter too.
 */
export function exportCollections(registry: SchemaRegistry, query: Record<string, unknown>): string[] {
  const order = registry.importOrder();
  const flag = (c: string) => {
    const value = query[c];
    return typeof value === 'string' ? value.toLowerCase() : undefined;
  };
  const chosen = order.filter((c) => flag(c) === 'true');
  const base = chosen.length > 0 ? chosen : order;
  return base.filter((c) => flag(c) !== 'false');
}

export function buildExportRequest(
  registry: SchemaRegistry,
  query: Record<string, unknown>,
  format: ExportFormat,
  skipSharing: boolean,
): MetadataExportRequest {
  const fields = asFerryError(() =>
    parseFieldSelection(typeof query.fields === 'string' ? query.fields : DEFAULT_EXPORT_FIELDS),
  );
  const rawFilters = query.filter;
  const filters = (Array.isArray(rawFilters) ? rawFilters : rawFilters === undefined ? [] : [rawFilters]).map(
    String,
  );
  const collections = exportCollections(registry, query);
  if (format === 'csv') {
    const csv = collections.filter((c) => registry.byCollection(c)?.csvColumns);
    if (csv.length !== 1 || collections.length !== 1) {
      throw new FerryError('F1022', [
        'format',
        'csv',
        `CSV holds one type with a CSV class; choose one, e.g. organisationUnits=true (types with CSV: ${registry.schemas
          .filter((s) => s.csvColumns)
          .map((s) => s.collection)
          .join(', ')})`,
      ]);
    }
  }
  const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
  const inclusionStrategy = parseEnumParameter(
    'inclusionStrategy',
    query.inclusionStrategy,
    INCLUSION_STRATEGIES,
    'NON_NULL',
  );
  return { format, collections, fields, filters, skipSharing, escapeFormulas, inclusionStrategy };
}

export function requireExportAuthority(principal: Principal | undefined): void {
  if (principal && !principalHasAuthority(principal, 'F_METADATA_EXPORT')) {
    throw new FerryError('F1102', ['F_METADATA_EXPORT']);
  }
}

/**
 * Objects as exported: the field selection applied at every nesting level by the same projector as
 * `GET /api/{collection}`, sharing dropped on request, user secrets never. The cache of referenced
 * objects lives for one batch, so an export's memory does not grow with the table.
 */
export async function exportedObjects(
  context: FerryContext,
  collection: string,
  objects: readonly MetadataObject[],
  fields: FieldSelection,
  skipSharing: boolean,
): Promise<Record<string, unknown>[]> {
  const projected = await new MetadataProjector(context.metadata, context.registry).project(
    collection,
    objects,
    fields,
  );
  if (skipSharing) {
    for (const out of projected) for (const name of SKIPPED_SHARING) delete out[name];
  }
  return projected;
}

const SKIPPED_SHARING = new Set<string>([...SHARING_PROPERTIES, 'user']);

const COLLECTION_KINDS = new Set(['references', 'embeddedList', 'stringList']);

/**
 * The top-level properties a field selection asks of a type, for ALWAYS: the type's own (`:owner`,
 * inverse references left out) or all of them (`*`), and the named fields, less the excluded.
 */
export function selectedProperties(schema: SchemaDescriptor, fields: FieldSelection): IncludedProperty[] {
  const out = new Map<string, IncludedProperty>();
  if (fields.all || fields.owner) {
    for (const property of schema.properties) {
      if (!fields.all && isReference(property) && property.owner === false && property.name !== 'user')
        continue;
      out.set(property.name, { name: property.name, collection: COLLECTION_KINDS.has(property.kind) });
    }
  }
  for (const name of fields.fields.keys()) {
    if (out.has(name)) continue;
    const property = schema.properties.find((p) => p.name === name);
    const sized = fields.sizes?.has(name) ?? false;
    out.set(name, { name, collection: !sized && !!property && COLLECTION_KINDS.has(property.kind) });
  }
  for (const name of fields.excluded) out.delete(name);
  return [...out.values()];
}

/** Filters of `filter=` that apply to a type; a type lacking a filtered property matches nothing. */
function filtersFor(schema: SchemaDescriptor, expressions: readonly string[]): MetadataFilter[] | undefined {
  const out: MetadataFilter[] = [];
  for (const expression of expressions) {
    try {
      out.push(parseMetadataFilter(expression, schema));
    } catch {
      return undefined;
    }
  }
  return out;
}

/**
 * The export document as a stream of text chunks, read from storage in batches by a cursor so a
 * 50,000-org-unit export never holds the whole document (or the whole table) in memory.
 */
export async function* streamMetadataExport(
  context: FerryContext,
  request: MetadataExportRequest,
  principal?: Principal,
): AsyncIterable<string> {
  requireExportAuthority(principal);
  const batches = async function* (collection: string): AsyncIterable<MetadataObject[]> {
    const schema = context.registry.byCollection(collection)!;
    if (request.filters.length === 0) {
      for await (const batch of context.metadata.stream(collection)) yield batch.map((r) => r.object);
      return;
    }
    const filters = filtersFor(schema, request.filters);
    if (!filters) return;
    for await (const batch of context.metadata.streamMatching(collection, filters))
      yield batch.map((r) => r.object);
  };
  yield* encodeMetadata(context, request, batches);
}

/**
 * The export's `system` block as DHIS2 writes it (`id`, `rev`, `version`, `date`), with the DHIS2
 * release whose behaviour Ferry follows as `version` (as `/api/system/info` reports it; packages
 * and tools read it to know what they import), Ferry's own in `ferryVersion`.
 */
function exportSystem(ferryVersion: string, date: string) {
  return {
    id: 'ferry',
    rev: `ferry-${ferryVersion}`,
    version: DHIS2_VERSION,
    date,
    product: 'Ferry',
    ferryVersion,
  };
}

/** Encodes batches of objects per collection into the requested format. */
export async function* encodeMetadata(
  context: FerryContext,
  request: MetadataExportRequest,
  batches: (collection: string) => AsyncIterable<MetadataObject[]>,
): AsyncIterable<string> {
  const registry = context.registry;
  const date = new Date().toISOString();
  const exportedBatches = async function* (collection: string): AsyncIterable<Record<string, unknown>[]> {
    for await (const batch of batches(collection)) {
      if (batch.length === 0) continue;
      const objects = await exportedObjects(context, collection, batch, request.fields, request.skipSharing);
      const strategy = request.inclusionStrategy ?? 'NON_NULL';
      const schema = registry.byCollection(collection);
      // ALWAYS writes what the selection asks for, less what skipSharing took away.
      const selected =
        strategy === 'ALWAYS' && schema
          ? selectedProperties(schema, request.fields).filter(
              (p) => !request.skipSharing || !SKIPPED_SHARING.has(p.name),
            )
          : [];
      yield objects.map((o) => applyInclusionStrategy(o, strategy, selected));
    }
  };
  if (request.format === 'json') {
    yield `{"system":${JSON.stringify(exportSystem(context.version, date))}`;
    yield* encodeCollections(request.collections, exportedBatches, {
      open: (collection) => `,${JSON.stringify(collection)}:[`,
      separator: ',',
      object: (_collection, o) => JSON.stringify(o),
      close: () => ']',
    });
    yield '}\n';
    return;
  }
  if (request.format === 'xml') {
    const system = exportSystem(context.version, date);
    yield `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="${DXF2_NAMESPACE}"><system><id>${system.id}</id><rev>${escapeXml(system.rev)}</rev><version>${system.version}</version><date>${date}</date></system>`;
    yield* encodeCollections(request.collections, exportedBatches, {
      open: (collection) => `<${collection}>`,
      separator: '',
      object: (collection, o) => objectToXml(registry, collection, o),
      close: (collection) => `</${collection}>`,
    });
    yield '</metadata>\n';
    return;
  }
  const collection = request.collections[0];
  const schema = registry.byCollection(collection)!;
  yield csvHeader(schema);
  for await (const batch of batches(collection)) {
    const lookups = await csvLookups(context, collection, batch);
    const options = { escapeFormulas: request.escapeFormulas };
    yield batch.map((o) => objectToCsvRows(schema, o, lookups, options)).join('');
  }
}

/** How JSON and XML wrap each collection and write its objects. */
interface CollectionEncoding {
  open(collection: string): string;
  /** Between two objects, also between two batches. */
  separator: string;
  object(collection: string, object: Record<string, unknown>): string;
  close(collection: string): string;
}

/** Each collection that has objects, opened, its objects written batch by batch, and closed; empty ones are left out. */
async function* encodeCollections(
  collections: readonly string[],
  exportedBatches: (collection: string) => AsyncIterable<Record<string, unknown>[]>,
  encoding: CollectionEncoding,
): AsyncIterable<string> {
  for (const collection of collections) {
    let first = true;
    for await (const objects of exportedBatches(collection)) {
      const parts = objects.map((o) => encoding.object(collection, o));
      yield `${first ? encoding.open(collection) : encoding.separator}${parts.join(encoding.separator)}`;
      first = false;
    }
    if (!first) yield encoding.close(collection);
  }
}

/** What CSV rows need beyond the object itself: the options of option sets and option groups. */
async function csvLookups(
  context: FerryContext,
  collection: string,
  batch: readonly MetadataObject[],
): Promise<Map<string, MetadataObject>> {
  const out = new Map<string, MetadataObject>();
  if (collection !== 'optionSets' && collection !== 'optionGroups') return out;
  const ids = batch.flatMap((o) => ((o.options as Array<{ id: string }> | undefined) ?? []).map((r) => r.id));
  for (const row of await context.metadata.findBy('options', 'uid', ids)) out.set(row.object.id, row.object);
  if (collection === 'optionGroups') {
    const sets = batch
      .map((o) => (o.optionSet as { id?: string } | undefined)?.id)
      .filter((x): x is string => !!x);
    for (const row of await context.metadata.findBy('optionSets', 'uid', sets))
      out.set(row.object.id, row.object);
  }
  return out;
}
