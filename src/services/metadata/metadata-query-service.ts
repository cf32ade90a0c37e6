import type { SchemaDescriptor, SchemaRegistry } from '../../domain/schema/schema-types.ts';
import type { MetadataStore } from '../../storage/metadata-store.ts';
import {
  DEFAULT_LIST_FIELDS,
  DEFAULT_OBJECT_FIELDS,
  parseFieldSelection,
} from '../../domain/metadata-query/field-selection.ts';
import { parseMetadataFilter, type ParsedFilter } from '../../domain/metadata-query/metadata-filter.ts';
import {
  orgUnitListFilters,
  type OrgUnitListParameters,
  type UserOrgUnits,
} from '../../domain/metadata-query/org-unit-list-parameters.ts';
import { asFerryError, MetadataProjector } from './metadata-projection.ts';
import { FerryError } from '../../errors.ts';

export const DEFAULT_PAGE_SIZE = 50;
/** DHIS2 has no upper bound; Ferry caps one page so that a single request cannot hold a whole table. */
export const MAX_PAGE_SIZE = 10_000;

export interface MetadataListRequest {
  fields?: string;
  filters?: readonly string[];
  paging?: boolean;
  page?: number;
  pageSize?: number;
  /**
   * DHIS2's org unit list parameters and the org units of the user asking; applied to
   * `organisationUnits` only and ignored for every other collection, as in DHIS2.
   */
  orgUnits?: { parameters: OrgUnitListParameters; user: UserOrgUnits };
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
 * any registered type. The selection is applied by `MetadataProjector`, the same implementation
 * the metadata export uses (nested selections resolved in bulk, user secrets never shown).
 */
export class MetadataQueryService {
  private readonly metadata: MetadataStore;
  private readonly registry: SchemaRegistry;
  private readonly projector: MetadataProjector;

  constructor(metadata: MetadataStore, registry: SchemaRegistry) {
    this.metadata = metadata;
    this.registry = registry;
    this.projector = new MetadataProjector(metadata, registry);
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
    if (collection === 'organisationUnits' && request.orgUnits) {
      filters.push(...orgUnitListFilters(request.orgUnits.parameters, request.orgUnits.user));
    }
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
    const projected = await this.projector.project(collection, objects, selection);
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
    const [projected] = await this.projector.project(collection, [object], selection);
    return projected;
  }

  private requireSchema(collection: string): SchemaDescriptor {
    const schema = this.readableSchema(collection);
    if (!schema) throw new FerryError('F1201', [`/api/${collection}`]);
    return schema;
  }
}
