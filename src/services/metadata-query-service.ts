import type { SchemaDescriptor, SchemaRegistry } from '../domain/schema/schema-types.ts';
import type { MetadataStore } from '../storage/metadata-store.ts';
import { isEmbedded, isReference } from '../domain/schema/schema-registry.ts';
import {
  DEFAULT_LIST_FIELDS,
  DEFAULT_OBJECT_FIELDS,
  displayProperty,
  parseFieldSelection,
  type FieldSelection,
} from '../domain/metadata-query/field-selection.ts';
import { parseMetadataFilter, type ParsedFilter } from '../domain/metadata-query/metadata-filter.ts';
import { withoutUserSecrets } from '../domain/access/user-secrets.ts';
import { MetadataQueryError } from '../domain/metadata-query/metadata-query-error.ts';
import { FerryError } from '../errors.ts';

export const DEFAULT_PAGE_SIZE = 50;
/** DHIS2 has no upper bound; Ferry caps one page so that a single request cannot hold a whole table. */
export const MAX_PAGE_SIZE = 10_000;

export interface MetadataListRequest {
  fields?: string;
  filters?: readonly string[];
  paging?: boolean;
  page?: number;
  pageSize?: number;
}

export interface Pager {
  page: number;
  pageCount: number;
  total: number;
  pageSize: number;
}

export interface MetadataListResult {
  pager?: Pager;
  objects: Record<string, unknown>[];
}

type Json = Record<string, unknown>;

/**
 * The metadata read API behind `GET /api/{collection}`: DHIS2's `fields`, `filter` and paging over
 * any registered type. Nested field selections on references (`categoryCombo[id,name]`) are
 * resolved in bulk, one query per referenced type and nesting level, never one per object. User
 * objects pass through `withoutUserSecrets` wherever they appear.
 */
export class MetadataQueryService {
  private readonly metadata: MetadataStore;
  private readonly registry: SchemaRegistry;

  constructor(metadata: MetadataStore, registry: SchemaRegistry) {
    this.metadata = metadata;
    this.registry = registry;
  }

  /** The schema of a collection that has its own endpoint; undefined for unknown or embedded types. */
  readableSchema(collection: string): SchemaDescriptor | undefined {
    const schema = this.registry.byCollection(collection);
    return schema && !schema.embeddedOnly ? schema : undefined;
  }

  async list(collection: string, request: MetadataListRequest = {}): Promise<MetadataListResult> {
    const schema = this.requireSchema(collection);
    const selection = asFerryError(() => parseFieldSelection(request.fields || DEFAULT_LIST_FIELDS));
    const filters: ParsedFilter[] = (request.filters ?? []).map((f) =>
      asFerryError(() => parseMetadataFilter(f, schema)),
    );
    const paging = request.paging ?? true;
    const pageSize = request.pageSize ?? DEFAULT_PAGE_SIZE;
    const page = request.page ?? 1;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new FerryError('F1000', [
        'pageSize',
        String(request.pageSize),
        `an integer from 1 to ${MAX_PAGE_SIZE}`,
      ]);
    }
    if (!Number.isInteger(page) || page < 1) {
      throw new FerryError('F1000', ['page', String(request.page), 'an integer from 1']);
    }
    const { objects, total } = await this.metadata.list(collection, {
      filters,
      ...(paging ? { page, pageSize } : {}),
    });
    const projected = await this.project(collection, objects, selection, new Map());
    if (!paging) return { objects: projected };
    return {
      pager: { page, pageCount: Math.max(1, Math.ceil(total / pageSize)), total, pageSize },
      objects: projected,
    };
  }

  async get(collection: string, uid: string, fields?: string): Promise<Json> {
    this.requireSchema(collection);
    const selection = asFerryError(() => parseFieldSelection(fields || DEFAULT_OBJECT_FIELDS));
    const object = await this.metadata.get(collection, uid);
    if (!object) throw new FerryError('F1200', [this.requireSchema(collection).singular, uid]);
    const [projected] = await this.project(collection, [object], selection, new Map());
    return projected;
  }

  private requireSchema(collection: string): SchemaDescriptor {
    const schema = this.readableSchema(collection);
    if (!schema) throw new FerryError('F1201', [`/api/${collection}`]);
    return schema;
  }

  /**
   * Applies a field selection to objects of one schema (a collection or an embedded item schema).
   * `cache` holds referenced objects already loaded during this request, by collection and UID.
   */
  private async project(
    schemaName: string,
    input: readonly Json[],
    selection: FieldSelection,
    cache: Map<string, Map<string, Json>>,
  ): Promise<Json[]> {
    const schema = this.registry.byCollection(schemaName);
    const objects = schemaName === 'users' ? input.map((o) => withoutUserSecrets(o)) : input;
    // Nested selections are resolved first, for all objects at once, into per-object values.
    const nested = new Map<string, unknown[]>();
    for (const [name, sub] of selection.fields) {
      if (sub === true) continue;
      const property = schema?.properties.find((p) => p.name === name);
      if (property && isReference(property) && property.target) {
        nested.set(name, await this.expandReferences(objects, name, property.target, sub, cache));
      } else if (property && isEmbedded(property) && property.itemSchema) {
        nested.set(name, await this.expandEmbedded(objects, name, property.itemSchema, sub, cache));
      }
    }
    const ownerNames = selection.owner && schema ? ownedPropertyNames(schema) : undefined;
    return objects.map((object, index) => {
      const out: Json = {};
      if (selection.all) {
        for (const [key, value] of Object.entries(object)) out[key] = value;
        if (object.name !== undefined && out.displayName === undefined)
          out.displayName = displayProperty(object, 'displayName');
      }
      if (ownerNames) {
        for (const name of ownerNames) if (object[name] !== undefined) out[name] = object[name];
      }
      for (const name of selection.fields.keys()) {
        const expanded = nested.get(name);
        const value = expanded ? expanded[index] : (object[name] ?? displayProperty(object, name));
        if (value !== undefined) out[name] = value;
      }
      for (const name of selection.excluded) delete out[name];
      return out;
    });
  }

  /** For each object, its reference(s) at `name` replaced by the projected target object(s). */
  private async expandReferences(
    objects: readonly Json[],
    name: string,
    target: string,
    selection: FieldSelection,
    cache: Map<string, Map<string, Json>>,
  ): Promise<unknown[]> {
    const idsOf = (value: unknown): string[] => {
      const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
      return items
        .map((item) => (item as { id?: unknown } | null)?.id)
        .filter((id): id is string => typeof id === 'string');
    };
    let known = cache.get(target);
    if (!known) cache.set(target, (known = new Map()));
    const wanted = [...new Set(objects.flatMap((o) => idsOf(o[name])))].filter((id) => !known.has(id));
    if (wanted.length > 0) {
      for (const found of await this.metadata.findBy(target, 'uid', wanted))
        known.set(found.object.id, found.object);
    }
    const targets = [...new Set(objects.flatMap((o) => idsOf(o[name])))].flatMap((id) => {
      const object = known.get(id);
      return object ? [object] : [];
    });
    const projected = await this.project(target, targets, selection, cache);
    const byId = new Map(targets.map((t, i) => [t.id as string, projected[i]]));
    return objects.map((object) => {
      const value = object[name];
      if (value === undefined || value === null) return undefined;
      const expand = (item: unknown) => {
        const id = (item as { id?: unknown } | null)?.id;
        return (typeof id === 'string' && byId.get(id)) || item;
      };
      return Array.isArray(value) ? value.map(expand) : expand(value);
    });
  }

  /** For each object, its embedded object(s) at `name` projected with the item schema. */
  private async expandEmbedded(
    objects: readonly Json[],
    name: string,
    itemSchema: string,
    selection: FieldSelection,
    cache: Map<string, Map<string, Json>>,
  ): Promise<unknown[]> {
    const items: Json[] = [];
    const shapes = objects.map((object) => {
      const value = object[name];
      if (Array.isArray(value)) {
        const start = items.length;
        for (const item of value) items.push(item && typeof item === 'object' ? (item as Json) : {});
        return { list: true, start, count: value.length };
      }
      if (value && typeof value === 'object') {
        items.push(value as Json);
        return { list: false, start: items.length - 1, count: 1 };
      }
      return undefined;
    });
    const projected = await this.project(itemSchema, items, selection, cache);
    return shapes.map((shape) => {
      if (!shape) return undefined;
      const slice = projected.slice(shape.start, shape.start + shape.count);
      return shape.list ? slice : slice[0];
    });
  }
}

/** Parsing errors of the pure query modules, as catalogued errors for the HTTP layer. */
function asFerryError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof MetadataQueryError) throw new FerryError(error.code, error.args);
    throw error;
  }
}

/** `:owner`: properties the type owns; inverse (non-owning) references are left out, as in DHIS2. */
function ownedPropertyNames(schema: SchemaDescriptor): string[] {
  return schema.properties.filter((p) => !isReference(p) || p.owner !== false).map((p) => p.name);
}
