import type { MetadataObject } from '../../storage/metadata-store.ts';
import { describeObject, errorReport } from '../../domain/metadata-import/import-report.ts';
import {
  isValidAttributeValue,
  validateObjectShape,
} from '../../domain/metadata-import/object-validation.ts';
import {
  DEFAULT_CATEGORY_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_COMBO_UID,
  DEFAULT_CATEGORY_OPTION_UID,
  DEFAULT_CATEGORY_UID,
} from '../../domain/category/default-category-model.ts';
import type { ImportEntry, MetadataImportBundle } from './metadata-import-bundle.ts';
import { checkUniqueTogether } from './metadata-unique-together-validator.ts';

// The validating stages of a metadata import: each object's shape against its schema, then the
// checks that need the whole payload or the database (uniqueness, attribute values, deletions).

/**
 * The checks after references are resolved, in DHIS2's order: unique properties, unique-together
 * groups, attribute values and unique attributes, and deletions of objects still referred to.
 */
export async function validateObjects(bundle: MetadataImportBundle): Promise<void> {
  await checkUniqueness(bundle);
  await checkUniqueTogether(bundle);
  checkAttributeValues(bundle);
  await checkUniqueAttributes(bundle);
  await checkDeletions(bundle);
}

/** Required properties, value types, lengths and patterns (object-validation.ts). */

export function validateShapes(bundle: MetadataImportBundle): void {
  for (const entry of bundle.allEntries()) {
    if (entry.action === 'delete' || entry.errors.some((e) => e.errorCode === 'E5004')) continue;
    if (bundle.membershipProperty) continue;
    const shape =
      bundle.params.mergeMode === 'MERGE' && entry.existing
        ? { ...entry.existing, ...entry.object }
        : entry.object;
    const errors = validateObjectShape(bundle.context.registry, entry.schema, shape, {
      klass: entry.schema.klass,
      uid: entry.uid || undefined,
    });
    // DHIS2 (Preheat.isDefault) skips required-property checks for its default category model:
    // older packages ship the default category option without a shortName.
    const isDefault = DEFAULT_OBJECT_UIDS.get(entry.collection) === entry.uid;
    entry.errors.push(...(isDefault ? errors.filter((e) => e.errorCode !== 'E4000') : errors));
  }
}

/** The default category model's objects by collection, which DHIS2 exempts from E4000. */
const DEFAULT_OBJECT_UIDS: ReadonlyMap<string, string> = new Map([
  ['categoryOptions', DEFAULT_CATEGORY_OPTION_UID],
  ['categories', DEFAULT_CATEGORY_UID],
  ['categoryCombos', DEFAULT_CATEGORY_COMBO_UID],
  ['categoryOptionCombos', DEFAULT_CATEGORY_OPTION_COMBO_UID],
]);

/** Unique properties within the payload (E5005) and against the database (E5003). */
async function checkUniqueness(bundle: MetadataImportBundle): Promise<void> {
  for (const [collection, list] of bundle.entries) {
    const schema = list[0].schema;
    const uniqueProperties = schema.properties.filter((p) => p.unique).map((p) => p.name);
    for (const property of uniqueProperties) {
      const seen = new Map<string, ImportEntry>();
      const candidates: ImportEntry[] = [];
      for (const entry of list) {
        if (entry.action === 'delete' || bundle.membershipProperty) continue;
        const value = entry.object[property];
        if (value === undefined || value === null || value === '') continue;
        const key = String(value);
        const first = seen.get(key);
        if (first && first.uid !== entry.uid) {
          entry.errors.push(
            errorReport(
              'E5005',
              [
                property,
                key,
                describeObject(schema.klass, entry.uid, entry.object.name),
                describeObject(schema.klass, first.uid, first.object.name),
              ],
              { ...bundle.main(entry), errorProperty: property, value: key },
            ),
          );
          continue;
        }
        seen.set(key, entry);
        candidates.push(entry);
      }
      if (candidates.length === 0) continue;
      const clashes = await storedWithValues(bundle, collection, property, [...seen.keys()]);
      for (const entry of candidates) {
        const other = clashes.get(String(entry.object[property]));
        if (!other || other.id === entry.uid) continue;
        // An object being deleted or renamed in this payload frees its value.
        const otherEntry = bundle.payloadByUid.get(collection)?.get(other.id);
        if (otherEntry && (otherEntry.action === 'delete' || otherEntry.object[property] !== other[property]))
          continue;
        entry.errors.push(
          errorReport(
            'E5003',
            [
              property,
              String(entry.object[property]),
              describeObject(schema.klass, entry.uid, entry.object.name),
              describeObject(schema.klass, other.id, other.name),
            ],
            { ...bundle.main(entry), errorProperty: property, value: String(entry.object[property]) },
          ),
        );
      }
    }
  }
}

async function storedWithValues(
  bundle: MetadataImportBundle,
  collection: string,
  property: string,
  values: string[],
): Promise<Map<string, MetadataObject>> {
  const out = new Map<string, MetadataObject>();
  for (let i = 0; i < values.length; i += 500) {
    const chunk = values.slice(i, i + 500);
    const found =
      property === 'code' || property === 'name'
        ? (await bundle.context.metadata.findBy(collection, property, chunk)).map((r) => r.object)
        : (
            await bundle.context.metadata.list(collection, {
              filters: [{ property, operator: 'in', value: chunk }],
            })
          ).objects;
    for (const object of found) out.set(String(object[property]), object);
  }
  return out;
}

/** Attribute values must suit their attribute's value type (E6004). */
function checkAttributeValues(bundle: MetadataImportBundle): void {
  for (const entry of bundle.allEntries()) {
    if (entry.action === 'delete') continue;
    const values = entry.object.attributeValues;
    if (!Array.isArray(values)) continue;
    for (const av of values as Array<{ attribute?: { id?: string }; value?: unknown }>) {
      const uid = av?.attribute?.id;
      if (!uid) continue;
      const attribute = bundle.attribute(uid);
      if (!attribute) continue;
      const value = av.value === undefined || av.value === null ? '' : String(av.value);
      const valueType = String(attribute.valueType ?? 'TEXT');
      if (!isValidAttributeValue(valueType, value)) {
        entry.errors.push(
          errorReport('E6004', [uid, value, valueType], {
            ...bundle.main(entry),
            errorKlass: 'org.hisp.dhis.attribute.Attribute',
            errorProperty: 'attributeValues',
            value,
          }),
        );
      }
    }
  }
}

/** Values of unique attributes may occur once per type, in the payload and the database (E4009). */
async function checkUniqueAttributes(bundle: MetadataImportBundle): Promise<void> {
  for (const [collection, list] of bundle.entries) {
    const byAttribute = new Map<string, Map<string, ImportEntry>>();
    for (const entry of list) {
      if (entry.action === 'delete' || !Array.isArray(entry.object.attributeValues)) continue;
      for (const av of entry.object.attributeValues as Array<{
        attribute?: { id?: string };
        value?: unknown;
      }>) {
        const uid = av?.attribute?.id;
        if (!uid || bundle.attribute(uid)?.unique !== true) continue;
        const value = String(av.value ?? '');
        let seen = byAttribute.get(uid);
        if (!seen) byAttribute.set(uid, (seen = new Map()));
        const first = seen.get(value);
        if (first && first.uid !== entry.uid) {
          entry.errors.push(
            errorReport('E4009', [uid, value], {
              ...bundle.main(entry),
              errorProperty: 'attributeValues',
              value,
            }),
          );
        } else seen.set(value, entry);
      }
    }
    for (const [attributeUid, seen] of byAttribute) {
      const rows = await bundle.context.storage.query<{ uid: string; body: unknown }>(
        `SELECT o.uid AS uid, o.body AS body FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
          WHERE r.target_type = 'attributes' AND r.target_uid = ? AND r.property = 'attributeValues.attribute' AND o.type = ?`,
        [attributeUid, collection],
      );
      for (const row of rows) {
        const body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as Record<
          string,
          unknown
        >;
        const stored = (
          body.attributeValues as Array<{ attribute?: { id?: string }; value?: unknown }> | undefined
        )?.find((av) => av?.attribute?.id === attributeUid);
        const entry = stored ? seen.get(String(stored.value ?? '')) : undefined;
        if (entry && entry.uid !== row.uid) {
          entry.errors.push(
            errorReport('E4009', [attributeUid, String(stored!.value)], {
              ...bundle.main(entry),
              errorProperty: 'attributeValues',
              value: String(stored!.value),
            }),
          );
        }
      }
    }
  }
}

/** An object still referred to by another (not deleted in the same payload) cannot go (E4030). */
async function checkDeletions(bundle: MetadataImportBundle): Promise<void> {
  for (const entry of bundle.allEntries()) {
    if (entry.action !== 'delete' || !entry.existing) continue;
    const referrers = await bundle.context.metadata.referrers(entry.collection, entry.uid);
    const blocking = referrers.filter((r) => {
      const other = bundle.payloadByUid.get(r.collection)?.get(r.uid);
      const property = bundle.context.registry.property(r.collection, r.property.split('.')[0]);
      return !(other && other.action === 'delete') && property?.owner !== false;
    });
    if (blocking.length > 0) {
      const first = blocking[0];
      entry.errors.push(
        errorReport('E4030', [`${first.collection} ${first.uid} (${first.property})`], {
          ...bundle.main(entry),
          errorKlass: bundle.context.registry.byCollection(first.collection)?.klass,
          errorProperty: first.property,
          value: first.uid,
        }),
      );
    }
  }
}
