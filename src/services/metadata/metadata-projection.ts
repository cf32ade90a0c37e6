import type { SchemaDescriptor, SchemaRegistry } from '../../domain/schema/schema-types.ts';
import type { MetadataStore } from '../../storage/metadata-store.ts';
import { isEmbedded, isReference } from '../../domain/schema/schema-registry.ts';
import { displayProperty, type FieldSelection } from '../../domain/metadata-query/field-selection.ts';
import { withoutUserSecrets } from '../../domain/access/user-secrets.ts';
import { MetadataQueryError } from '../../domain/metadata-query/metadata-query-error.ts';
import { FerryError } from '../../errors.ts';

type Json = Record<string, unknown>;

/** Up to this many parents, children are found by path; beyond, by one pass over their level. */
const CHILDREN_BY_PATH_MAX = 100;

/** Referenced objects loaded while projecting, by collection and UID; one per request or export batch. */
export type ProjectionCache = Map<string, Map<string, Json>>;

/**
 * DHIS2's `fields=` applied to objects of one type: the one implementation behind the read API
 * (`GET /api/{collection}`) and the metadata export (`GET /api/metadata`). At every nesting level:
 * `*` every stored property (with `displayName`), `:owner` the properties the type owns (inverse
 * references left out, recursing into embedded objects), named fields (display properties derived),
 * nested selections on references (`categoryCombo[id,name]`, the targets loaded in bulk: one query
 * per referenced type and level, never one per object) and on embedded lists
 * (`dataSetElements[dataElement[id,name]]`), and `!property` exclusions. User objects pass through
 * `withoutUserSecrets` wherever they appear.
 */
export class MetadataProjector {
  private readonly metadata: MetadataStore;
  private readonly registry: SchemaRegistry;

  constructor(metadata: MetadataStore, registry: SchemaRegistry) {
    this.metadata = metadata;
    this.registry = registry;
  }

  /** Applies a selection to objects of one schema (a collection or an embedded item schema). */
  async project(
    schemaName: string,
    input: readonly Json[],
    selection: FieldSelection,
    cache: ProjectionCache = new Map(),
  ): Promise<Json[]> {
    const schema = this.registry.byCollection(schemaName);
    const plain =
      schemaName === 'users'
        ? input.map((o) => withoutUserSecrets(o))
        : schema && schema.properties.some((p) => p.writeOnly)
          ? input.map((o) => withoutWriteOnly(schema, o))
          : input;
    const objects = schema ? await this.withInverseLists(schema, plain, selection) : plain;
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
    // An org unit's `children` are not stored (each child stores its parent): DHIS2's org unit
    // tree asks for `children::size` and `children[id,path,displayName]`.
    const childSelection = schemaName === 'organisationUnits' ? selection.fields.get('children') : undefined;
    if (childSelection !== undefined) {
      const children = await this.orgUnitChildren(objects);
      const flat = children.flat();
      const projected =
        childSelection === true
          ? flat.map((child) => ({ id: child.id }))
          : await this.project('organisationUnits', flat, childSelection, cache);
      let at = 0;
      nested.set(
        'children',
        children.map((list) => projected.slice(at, (at += list.length))),
      );
    }
    return objects.map((object, index) => {
      const out: Json = {};
      if (selection.all) {
        for (const [key, value] of Object.entries(object)) out[key] = value;
        if (object.name !== undefined && out.displayName === undefined)
          out.displayName = displayProperty(object, 'displayName');
      }
      if (selection.owner && schema) Object.assign(out, this.ownedProperties(schema, object));
      for (const name of selection.fields.keys()) {
        const expanded = nested.get(name);
        // Own properties only: `fields=toString` or `fields=constructor` names no stored property.
        const stored = Object.hasOwn(object, name) ? object[name] : undefined;
        const value = expanded ? expanded[index] : (stored ?? displayProperty(object, name));
        // `name::size`: the collection's size (0 when there is none), as DHIS2 answers it.
        if (selection.sizes?.has(name)) out[name] = Array.isArray(value) ? value.length : (value ?? 0);
        else if (value !== undefined) out[name] = value;
      }
      for (const name of selection.excluded) delete out[name];
      return out;
    });
  }

  /**
   * The inverse lists a selection shows (a program's `programStages`, a data set's `sections`),
   * completed from the owning side: DHIS2 keeps such an association on the other object (each stage
   * names its program), so a stage imported with its own `program` is one of the program's stages
   * even when the program's file did not list it. The stored list keeps its order; the others
   * follow by `sortOrder`, then as stored. One query per inverse property and batch of objects.
   */
  private async withInverseLists(
    schema: SchemaDescriptor,
    objects: readonly Json[],
    selection: FieldSelection,
  ): Promise<readonly Json[]> {
    if (objects.length === 0) return objects;
    const ids = objects.map((o) => o.id).filter((id): id is string => typeof id === 'string');
    let out: Json[] | undefined;
    for (const property of schema.properties) {
      if (property.kind !== 'references' || property.owner !== false || !property.target) continue;
      if (!selection.all && !selection.fields.has(property.name)) continue;
      const back = this.owningBackReference(property.target, schema.collection);
      if (!back) continue;
      const found = await this.metadata.referringObjects(schema.collection, ids, property.target, back);
      if (found.length === 0) continue;
      const byTarget = new Map<string, Json[]>();
      for (const { targetUid, object } of found) {
        const list = byTarget.get(targetUid);
        if (list) list.push(object);
        else byTarget.set(targetUid, [object]);
      }
      out ??= objects.map((o) => ({ ...o }));
      for (const object of out) {
        const derived = typeof object.id === 'string' ? byTarget.get(object.id) : undefined;
        if (!derived) continue;
        const stored = Array.isArray(object[property.name]) ? (object[property.name] as unknown[]) : [];
        const listed = new Set(stored.map((item) => (item as { id?: unknown } | null)?.id));
        const extra = derived
          .filter((o) => !listed.has(o.id))
          .map((o, index) => ({ o, index }))
          .sort((a, b) => sortOrderOf(a.o) - sortOrderOf(b.o) || a.index - b.index)
          .map(({ o }) => ({ id: o.id }));
        if (extra.length > 0) object[property.name] = [...stored, ...extra];
      }
    }
    return out ?? objects;
  }

  /** The one owning reference of `collection` that points at `target`; none when several could. */
  private owningBackReference(collection: string, target: string): string | undefined {
    const candidates = (this.registry.byCollection(collection)?.properties ?? []).filter(
      (p) => isReference(p) && p.owner !== false && p.target === target,
    );
    return candidates.length === 1 ? candidates[0].name : undefined;
  }

  /**
   * Each org unit's children: the units one level below whose parent it is, with one query per
   * level among the parents (their paths run through the parent, their level is at most its + 1).
   */
  private async orgUnitChildren(parents: readonly Json[]): Promise<Json[][]> {
    const byLevel = new Map<number, string[]>();
    for (const parent of parents) {
      if (typeof parent.id !== 'string') continue;
      const level =
        typeof parent.level === 'number'
          ? parent.level
          : typeof parent.path === 'string'
            ? parent.path.split('/').length - 1
            : undefined;
      if (level === undefined) continue;
      const group = byLevel.get(level);
      if (group) group.push(parent.id);
      else byLevel.set(level, [parent.id]);
    }
    const childrenOf = new Map<string, Json[]>();
    for (const [level, uids] of byLevel) {
      // A few parents: their paths. Many (a `paging=false` list): one pass over the units down to
      // the children's level, as a LIKE per parent would cost units x parents and each parent is
      // two parameters (SQLite takes 32,766).
      const filters = [
        ...(uids.length <= CHILDREN_BY_PATH_MAX
          ? [{ property: 'path', operator: 'pathThrough' as const, value: uids }]
          : []),
        { property: 'level', operator: 'atMost' as const, value: String(level + 1) },
      ];
      const wanted = new Set(uids);
      for await (const batch of this.metadata.streamMatching('organisationUnits', filters)) {
        for (const { object } of batch) {
          const parentId = (object.parent as { id?: unknown } | undefined)?.id;
          if (typeof parentId !== 'string' || !wanted.has(parentId)) continue;
          const siblings = childrenOf.get(parentId);
          if (siblings) siblings.push(object);
          else childrenOf.set(parentId, [object]);
        }
      }
    }
    return parents.map((parent) => (typeof parent.id === 'string' ? (childrenOf.get(parent.id) ?? []) : []));
  }

  /**
   * DHIS2's `:owner`: the properties the registry describes, minus the inverse side of associations,
   * recursing into embedded objects. Display state a file carried (displayName, access) is stored
   * verbatim but not part of it.
   */
  private ownedProperties(schema: SchemaDescriptor, source: Json): Json {
    const out: Json = {};
    if (schema.storedWhole) {
      const described = new Set(schema.properties.map((p) => p.name));
      for (const [key, value] of Object.entries(source)) {
        if (!described.has(key) && !DISPLAY_STATE.has(key)) out[key] = value;
      }
    }
    for (const property of schema.properties) {
      const value = source[property.name];
      if (value === undefined) continue;
      if (isReference(property) && property.owner === false && property.name !== 'user') continue;
      const itemSchema = property.itemSchema ? this.registry.byCollection(property.itemSchema) : undefined;
      if (itemSchema && Array.isArray(value)) {
        out[property.name] = value.map((item) =>
          item && typeof item === 'object' ? this.ownedProperties(itemSchema, item as Json) : item,
        );
      } else if (itemSchema && value && typeof value === 'object') {
        out[property.name] = this.ownedProperties(itemSchema, value as Json);
      } else {
        out[property.name] = value;
      }
    }
    return out;
  }

  /** For each object, its reference(s) at `name` replaced by the projected target object(s). */
  private async expandReferences(
    objects: readonly Json[],
    name: string,
    target: string,
    selection: FieldSelection,
    cache: ProjectionCache,
  ): Promise<unknown[]> {
    const idsOf = (value: unknown): string[] => {
      const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
      return items
        .map((item) => (item as { id?: unknown } | null)?.id)
        .filter((id): id is string => typeof id === 'string');
    };
    let known = cache.get(target);
    if (!known) cache.set(target, (known = new Map()));
    const ids = [...new Set(objects.flatMap((o) => idsOf(o[name])))];
    const wanted = ids.filter((id) => !known.has(id));
    if (wanted.length > 0) {
      for (const found of await this.metadata.findBy(target, 'uid', wanted))
        known.set(found.object.id, found.object);
    }
    const targets = ids.flatMap((id) => {
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
    cache: ProjectionCache,
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

/** What DHIS2 computes per reader and a file may carry: never part of `:owner`. */
const DISPLAY_STATE = new Set([
  'displayName',
  'displayShortName',
  'displayDescription',
  'displayFormName',
  'displayTitle',
  'displaySubtitle',
  'access',
  'href',
  'favorite',
  'favorites',
  'subscribed',
  'subscribers',
  'interpretations',
]);

/** An object without the secrets its schema marks write-only (a route's password, a client secret). */
function withoutWriteOnly(schema: SchemaDescriptor, object: Json): Json {
  const out: Json = { ...object };
  for (const property of schema.properties) {
    if (!property.writeOnly || out[property.name] === undefined) continue;
    if (property.writeOnly === true) delete out[property.name];
    else out[property.name] = withoutKeys(out[property.name], new Set(property.writeOnly));
  }
  return out;
}

function withoutKeys(value: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => withoutKeys(item, keys));
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) if (!keys.has(key)) out[key] = withoutKeys(item, keys);
  return out;
}

function sortOrderOf(object: Json): number {
  return typeof object.sortOrder === 'number' ? object.sortOrder : Number.MAX_SAFE_INTEGER;
}

/** Parsing errors of the pure query modules (`fields`, `filter`), as catalogued errors for callers. */
export function asFerryError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof MetadataQueryError) throw new FerryError(error.code, error.args);
    throw error;
  }
}
