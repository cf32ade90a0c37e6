import type { PropertyDescriptor } from '../../domain/schema/schema-types.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import { describeObject, errorReport, type ErrorReport } from '../../domain/metadata-import/import-report.ts';
import {
  owningSideOf,
  schemasWithUniqueTogether,
  uniqueKeyPart,
  uniqueTogetherInstances,
  uniqueTogetherKey,
  type UniqueTogetherInstance,
} from '../../domain/metadata-import/unique-together.ts';
import { isReference } from '../../domain/schema/schema-registry.ts';
import type { ImportEntry, MetadataImportBundle } from './metadata-import-bundle.ts';

/**
 * The registry's `uniqueTogether` groups, for every type at once: within the payload (E5005),
 * including embedded items (a data set listing one data element twice), and against the database
 * for top-level objects (E5003). Embedded items are stored inside their holder and replaced with
 * it, so only the file decides their uniqueness.
 */
export async function checkUniqueTogether(bundle: MetadataImportBundle): Promise<void> {
  if (bundle.membershipProperty) return;
  const registry = bundle.context.registry;
  const relevant = schemasWithUniqueTogether(registry);
  const found: Array<{ entry: ImportEntry; instance: UniqueTogetherInstance }> = [];
  for (const [collection, list] of bundle.entries) {
    if (!relevant.has(collection)) continue;
    for (const entry of list) {
      if (entry.action === 'delete' || entry.errors.some((e) => e.errorCode === 'E5004')) continue;
      for (const instance of uniqueTogetherInstances(registry, collection, entry.object, entry.uid))
        found.push({ entry, instance });
    }
  }
  if (found.length === 0) return;
  const derived = await inverseReferences(
    bundle,
    found.map((f) => f.instance),
  );

  const byGroup = new Map<
    string,
    Array<{ entry: ImportEntry; instance: UniqueTogetherInstance; parts: string[] }>
  >();
  for (const { entry, instance } of found) {
    const parts = uniqueTogetherKey(instance, derived(instance));
    if (!parts) continue;
    const groupKey = `${instance.schema.collection}|${instance.group.join(',')}`;
    let list = byGroup.get(groupKey);
    if (!list) byGroup.set(groupKey, (list = []));
    list.push({ entry, instance, parts });
  }
  for (const list of byGroup.values()) {
    const { schema, group } = list[0].instance;
    const seen = new Map<string, ImportEntry>();
    const seenUid = new Map<string, unknown>();
    const firstOfKey: typeof list = [];
    for (const item of list) {
      const key = JSON.stringify(item.parts);
      const first = seen.get(key);
      // DHIS2 identifies metadata by UID: the same object listed twice (inside its program and at
      // the top level, or twice in a stage's list, as DHIS2's own tracker e2e metadata does) is one
      // object, not two that clash. Only a different object with the same key is a conflict.
      const uid = item.instance.object.id;
      if (first && uid !== undefined && seenUid.get(key) === uid) continue;
      if (first) {
        item.entry.errors.push(
          uniqueTogetherError(bundle, 'E5005', item, first.uid, first.object.name, first.schema.klass),
        );
        continue;
      }
      seen.set(key, item.entry);
      seenUid.set(key, item.instance.object.id);
      firstOfKey.push(item);
    }
    if (!schema.embeddedOnly) {
      const topLevel = firstOfKey.filter((item) => item.instance.path === '');
      if (topLevel.length > 0) await checkStoredUniqueTogether(bundle, schema.collection, group, topLevel);
    }
  }
}

function uniqueTogetherError(
  bundle: MetadataImportBundle,
  code: 'E5003' | 'E5005',
  item: { entry: ImportEntry; instance: UniqueTogetherInstance; parts: string[] },
  otherUid: string,
  otherName: unknown,
  otherKlass: string,
): ErrorReport {
  const { entry, instance, parts } = item;
  const label = instance.path ? `${instance.path}(${instance.group.join(', ')})` : instance.group.join(', ');
  const value = parts.join(', ');
  const report = errorReport(
    code,
    [
      label,
      value,
      describeObject(entry.schema.klass, entry.uid, entry.object.name),
      describeObject(otherKlass, otherUid, otherName),
    ],
    { ...bundle.main(entry), errorKlass: instance.schema.klass, errorProperty: label, value },
  );
  return {
    ...report,
    errorProperties: instance.group.map((p) => (instance.path ? `${instance.path}.${p}` : p)),
  };
}

/** Stored objects of `collection` with the same key as a payload object, which is not itself in the payload. */
async function checkStoredUniqueTogether(
  bundle: MetadataImportBundle,
  collection: string,
  group: readonly string[],
  items: Array<{ entry: ImportEntry; instance: UniqueTogetherInstance; parts: string[] }>,
): Promise<void> {
  const schema = items[0].instance.schema;
  const properties = group.map((name) => schema.properties.find((p) => p.name === name)!);
  // Candidates by the most selective part the database indexes: code or name, another scalar,
  // or an owning reference (metadata_reference). A group of inverse references alone is not looked up.
  const lookup =
    properties.find((p) => p.name === 'code' || p.name === 'name') ??
    properties.find((p) => !isReference(p)) ??
    properties.find((p) => isReference(p) && p.owner === true);
  if (!lookup) return;
  const values = [
    ...new Set(
      items.flatMap((item) => {
        const raw = item.instance.object[lookup.name];
        if (!isReference(lookup)) {
          const part = uniqueKeyPart(lookup, raw);
          return part === undefined ? [] : [part];
        }
        return (Array.isArray(raw) ? raw : [raw])
          .map((r) => (r as { id?: unknown } | null)?.id)
          .filter((id): id is string => typeof id === 'string');
      }),
    ),
  ];
  const candidates: MetadataObject[] = [];
  for (let i = 0; i < values.length; i += 500) {
    const chunk = values.slice(i, i + 500);
    if (lookup.name === 'code' || lookup.name === 'name') {
      for (const row of await bundle.context.metadata.findBy(collection, lookup.name, chunk))
        candidates.push(row.object);
    } else if (!isReference(lookup)) {
      candidates.push(
        ...(
          await bundle.context.metadata.list(collection, {
            filters: [{ property: lookup.name, operator: 'in', value: chunk }],
          })
        ).objects,
      );
    } else {
      const rows = await bundle.context.storage.query<{ body: unknown }>(
        `SELECT DISTINCT o.sid AS sid, o.body AS body FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
          WHERE r.property = ? AND r.target_type = ? AND o.type = ? AND r.target_uid IN (${chunk.map(() => '?').join(', ')})`,
        [lookup.name, lookup.target!, collection, ...chunk],
      );
      for (const row of rows)
        candidates.push((typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as MetadataObject);
    }
  }
  // An object in the payload is checked as the payload has it (renamed, moved or deleted there).
  const outside = candidates.filter((c) => !bundle.payloadByUid.get(collection)?.has(c.id));
  if (outside.length === 0) return;
  const instances = outside.map<UniqueTogetherInstance>((object) => ({ schema, group, object, path: '' }));
  const derived = await inverseReferences(bundle, instances);
  const stored = new Map<string, MetadataObject>();
  instances.forEach((instance, i) => {
    const parts = uniqueTogetherKey(instance, derived(instance));
    if (parts) stored.set(JSON.stringify(parts), outside[i]);
  });
  for (const item of items) {
    const other = stored.get(JSON.stringify(item.parts));
    if (other && other.id !== item.entry.uid)
      item.entry.errors.push(uniqueTogetherError(bundle, 'E5003', item, other.id, other.name, schema.klass));
  }
}

/**
 * Values of inverse references a group needs but objects do not carry (an option's option set is
 * known from the set's `options` list): from the payload's owners first, then from stored owners
 * that the payload does not replace.
 */
async function inverseReferences(
  bundle: MetadataImportBundle,
  instances: readonly UniqueTogetherInstance[],
): Promise<(instance: UniqueTogetherInstance) => (property: PropertyDescriptor) => string | undefined> {
  const registry = bundle.context.registry;
  const resolved = new Map<string, Map<string, string>>();
  const wanted = new Map<string, { schema: string; target: string; owner: string; uids: Set<string> }>();
  for (const instance of instances) {
    const uid = instance.object.id;
    if (typeof uid !== 'string') continue;
    for (const name of instance.group) {
      const property = instance.schema.properties.find((p) => p.name === name);
      if (!property || instance.object[name] != null || property.target === instance.container?.collection)
        continue;
      const owner = owningSideOf(registry, instance.schema, property);
      if (!owner) continue;
      const key = `${instance.schema.collection}|${property.target}|${owner}`;
      let want = wanted.get(key);
      if (!want)
        wanted.set(
          key,
          (want = { schema: instance.schema.collection, target: property.target!, owner, uids: new Set() }),
        );
      want.uids.add(uid);
    }
  }
  for (const [key, want] of wanted) {
    const map = new Map<string, string>();
    resolved.set(key, map);
    for (const entry of bundle.entries.get(want.target) ?? []) {
      if (entry.action === 'delete') continue;
      const refs = entry.object[want.owner];
      for (const ref of Array.isArray(refs) ? refs : [refs]) {
        const id = (ref as { id?: unknown } | null)?.id;
        if (typeof id === 'string' && want.uids.has(id) && !map.has(id)) map.set(id, entry.uid);
      }
    }
    const missing = [...want.uids].filter((uid) => !map.has(uid));
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      const rows = await bundle.context.storage.query<{ owner: string; target: string }>(
        `SELECT o.uid AS owner, r.target_uid AS target FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
          WHERE r.property = ? AND r.target_type = ? AND o.type = ? AND r.target_uid IN (${chunk.map(() => '?').join(', ')})`,
        [want.owner, want.schema, want.target, ...chunk],
      );
      for (const row of rows) {
        if (bundle.payloadByUid.get(want.target)?.has(row.owner)) continue;
        if (!map.has(row.target)) map.set(row.target, row.owner);
      }
    }
  }
  return (instance) => (property) => {
    const owner = owningSideOf(registry, instance.schema, property);
    const uid = instance.object.id;
    if (!owner || typeof uid !== 'string') return undefined;
    return resolved.get(`${instance.schema.collection}|${property.target}|${owner}`)?.get(uid);
  };
}
