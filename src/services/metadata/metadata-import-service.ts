import type { FerryContext } from '../ferry-context-types.ts';
import type { PropertyDescriptor, SchemaDescriptor } from '../../domain/schema/schema-types.ts';
import type { MetadataObject, MetadataStore } from '../../storage/metadata-store.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import { withoutUserSecrets } from '../../domain/access/user-secrets.ts';
import { FerryError } from '../../errors.ts';
import { generateUid, isValidUid } from '../../domain/identifiers/uid.ts';
import { openInput } from '../../codecs/input/open-input.ts';
import { decodeUtf8 } from '../../codecs/input/utf8-text.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { decodeMetadataJson, type MetadataItem } from '../../codecs/metadata-json/metadata-json-decoder.ts';
import { decodeMetadataXml } from '../../codecs/metadata-xml/metadata-xml-decoder.ts';
import { decodeMetadataCsv, csvImportClass } from '../../codecs/metadata-csv/metadata-csv-decoder.ts';
import {
  DEFAULT_IMPORT_PARAMS,
  SHARING_PROPERTIES,
  type MetadataFormat,
  type MetadataImportParams,
} from '../../domain/metadata-import/import-params.ts';
import {
  describeObject,
  emptyStats,
  errorReport,
  finishReport,
  type ErrorReport,
  type ImportReport,
  type ImportStatus,
  type ObjectReport,
  type TypeReport,
} from '../../domain/metadata-import/import-report.ts';
import {
  isValidAttributeValue,
  validateObjectShape,
} from '../../domain/metadata-import/object-validation.ts';
import { forEachReference, isCheckedReference } from '../../domain/metadata-import/reference-walk.ts';
import {
  owningSideOf,
  schemasWithUniqueTogether,
  uniqueKeyPart,
  uniqueTogetherInstances,
  uniqueTogetherKey,
  type UniqueTogetherInstance,
} from '../../domain/metadata-import/unique-together.ts';
import { isReference } from '../../domain/schema/schema-registry.ts';
import {
  defaultCategoryModel,
  DEFAULT_CATEGORY_COMBO_UID,
} from '../../domain/category/default-category-model.ts';
import { planCategoryOptionCombos } from '../../domain/category/category-option-combos.ts';

export interface MetadataImportInput {
  /** The body, spooled to disk (gzip or zip detected by magic bytes). */
  path: string;
  /** For messages and for guessing the format from the extension. */
  fileName: string;
  contentType?: string;
}

export interface ImportProgress {
  stage: string;
  processed: number;
  total?: number;
}

export interface ImportRunOptions {
  signal?: AbortSignal;
  progress?: (progress: ImportProgress) => void;
  /** Runs last inside the commit transaction; a job passes its lease check here (fencing). */
  beforeCommit?: (tx: SqlExecutor) => Promise<void>;
}

type Action = 'create' | 'update' | 'delete';

interface Entry {
  collection: string;
  schema: SchemaDescriptor;
  index: number;
  object: Record<string, unknown>;
  uid: string;
  existing?: MetadataObject;
  action: Action;
  errors: ErrorReport[];
}

/** Objects loaded from the database, by type, under their UID and code. */
class Preheat {
  private readonly byUid = new Map<string, Map<string, MetadataObject>>();
  private readonly byCode = new Map<string, Map<string, MetadataObject>>();

  add(collection: string, object: MetadataObject): void {
    let uids = this.byUid.get(collection);
    if (!uids) this.byUid.set(collection, (uids = new Map()));
    uids.set(object.id, object);
    if (typeof object.code === 'string') {
      let codes = this.byCode.get(collection);
      if (!codes) this.byCode.set(collection, (codes = new Map()));
      codes.set(object.code, object);
    }
  }

  get(collection: string, uid: string): MetadataObject | undefined {
    return this.byUid.get(collection)?.get(uid);
  }

  getByCode(collection: string, code: string): MetadataObject | undefined {
    return this.byCode.get(collection)?.get(code);
  }

  async load(
    store: MetadataStore,
    mode: MetadataImportParams['preheatMode'],
    wants: Map<string, { uids: Set<string>; codes: Set<string> }>,
  ): Promise<void> {
    for (const [collection, want] of wants) {
      if (mode === 'ALL') {
        for await (const batch of store.stream(collection))
          for (const row of batch) this.add(collection, row.object);
        continue;
      }
      // NONE: no bulk preheat; every identifier is looked up on its own, as DHIS2 does without a cache.
      const groups = mode === 'NONE' ? [...want.uids].map((u) => [u]) : [[...want.uids]];
      for (const uids of groups) {
        if (uids.length > 0)
          for (const row of await store.findBy(collection, 'uid', uids)) this.add(collection, row.object);
      }
      const codeGroups = mode === 'NONE' ? [...want.codes].map((c) => [c]) : [[...want.codes]];
      for (const codes of codeGroups) {
        if (codes.length > 0)
          for (const row of await store.findBy(collection, 'code', codes)) this.add(collection, row.object);
      }
    }
  }
}

/**
 * DHIS2's metadata import (`POST /api/metadata`): decode (JSON, XML or CSV, streamed) → preheat
 * references in bulk → validate with DHIS2's error codes → commit in import order in one
 * transaction. Written so that a job runner can call it as a handler: the principal, cancellation
 * and progress are parameters; the result is DHIS2's ImportReport.
 */
export async function importMetadata(
  context: FerryContext,
  input: MetadataImportInput,
  params: MetadataImportParams = DEFAULT_IMPORT_PARAMS,
  principal?: Principal,
  options: ImportRunOptions = {},
): Promise<ImportReport> {
  if (principal && !principalHasAuthority(principal, 'F_METADATA_IMPORT')) {
    throw new FerryError('F1102', ['F_METADATA_IMPORT']);
  }
  const format = params.format ?? (await detectFormat(input));
  if (format === 'csv' && !params.classKey) throw new FerryError('F1004', ['classKey']);
  const membership = format === 'csv' ? csvImportClass(context.registry, params.classKey!) : undefined;
  if (format === 'csv' && !membership) {
    throw new FerryError('F1000', ['classKey', params.classKey!, csvClassKeys(context).join(', ')]);
  }
  const effective: MetadataImportParams =
    membership?.membershipProperty !== undefined ? { ...params, importStrategy: 'UPDATE' } : params;
  const importer = new BundleImporter(context, effective, principal, options, membership?.membershipProperty);
  try {
    const opened = await openInput(input.path, input.fileName);
    const text = decodeUtf8(opened.chunks, input.fileName);
    const items =
      format === 'json'
        ? decodeMetadataJson(text, input.fileName)
        : format === 'xml'
          ? decodeMetadataXml(text, input.fileName, context.registry)
          : decodeMetadataCsv(
              text,
              input.fileName,
              context.registry,
              params.classKey!,
              params.firstRowIsHeader,
            );
    for await (const item of items) {
      importer.add(item);
      if (options.signal?.aborted) throw new FerryError('F1300', ['Import cancelled']);
    }
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
  return importer.run();
}

/** The same pipeline over objects already in memory (tests, the demo seeder, other services). */
export async function importMetadataObjects(
  context: FerryContext,
  payload: Record<string, readonly Record<string, unknown>[]>,
  params: Partial<MetadataImportParams> = {},
  principal?: Principal,
): Promise<ImportReport> {
  const importer = new BundleImporter(context, { ...DEFAULT_IMPORT_PARAMS, ...params }, principal, {});
  for (const [collection, objects] of Object.entries(payload)) {
    if (!Array.isArray(objects)) continue;
    objects.forEach((object, index) =>
      importer.add({
        collection,
        index,
        object: structuredClone(object) as Record<string, unknown>,
        line: 0,
      }),
    );
  }
  return importer.run();
}

/** The WebMessage for an import report: 200 when OK, otherwise 409, as DHIS2 replies. */
export function importReportHttpStatus(report: ImportReport): number {
  return report.status === 'OK' ? 200 : 409;
}

function csvClassKeys(context: FerryContext): string[] {
  return [
    ...context.registry.schemas.filter((s) => s.csvClassKey).map((s) => s.csvClassKey!),
    'ORGANISATION_UNIT_GROUP_MEMBERSHIP',
    'DATA_ELEMENT_GROUP_MEMBERSHIP',
    'INDICATOR_GROUP_MEMBERSHIP',
    'OPTION_GROUP_SET_MEMBERSHIP',
  ];
}

async function detectFormat(input: MetadataImportInput): Promise<MetadataFormat> {
  const type = (input.contentType ?? '').toLowerCase();
  if (type.includes('json')) return 'json';
  if (type.includes('xml')) return 'xml';
  if (type.includes('csv')) return 'csv';
  const name = input.fileName.toLowerCase().replace(/\.(gz|zip)$/, '');
  if (name.endsWith('.json')) return 'json';
  if (name.endsWith('.xml')) return 'xml';
  if (name.endsWith('.csv')) return 'csv';
  // Sniff the first non-blank character of the (possibly compressed) body.
  const opened = await openInput(input.path, input.fileName);
  for await (const text of decodeUtf8(opened.chunks, input.fileName)) {
    const first = text.trimStart()[0];
    if (first === undefined) continue;
    return first === '<' ? 'xml' : first === '{' ? 'json' : 'csv';
  }
  return 'json';
}

class BundleImporter {
  private readonly entries = new Map<string, Entry[]>();
  private readonly unsupported = new Map<string, number>();
  private readonly context: FerryContext;
  private readonly params: MetadataImportParams;
  private readonly principal?: Principal;
  private readonly options: ImportRunOptions;
  private readonly membershipProperty?: string;
  private readonly preheat = new Preheat();
  /** The payload's own objects after identifiers are settled, by type, UID and code. */
  private readonly payloadByUid = new Map<string, Map<string, Entry>>();
  private readonly payloadByCode = new Map<string, Map<string, Entry>>();
  /** Default category model objects missing from the database, created on commit. */
  private readonly missingDefaults: Array<{ collection: string; object: MetadataObject }> = [];
  private readonly virtualDefaults = new Set<MetadataObject>();
  private readonly now = new Date().toISOString();

  constructor(
    context: FerryContext,
    params: MetadataImportParams,
    principal: Principal | undefined,
    options: ImportRunOptions,
    membershipProperty?: string,
  ) {
    this.context = context;
    this.params = params;
    this.principal = principal;
    this.options = options;
    this.membershipProperty = membershipProperty;
  }

  add(item: MetadataItem): void {
    const schema = this.context.registry.byCollection(item.collection);
    if (!schema || schema.embeddedOnly) {
      this.unsupported.set(item.collection, (this.unsupported.get(item.collection) ?? 0) + 1);
      return;
    }
    let list = this.entries.get(item.collection);
    if (!list) this.entries.set(item.collection, (list = []));
    const object = item.collection === 'users' ? withoutUserSecrets(item.object) : item.object;
    list.push({
      collection: item.collection,
      schema,
      index: item.index,
      object,
      uid: typeof object.id === 'string' ? object.id : '',
      action: 'create',
      errors: [],
    });
  }

  private progress(stage: string, processed: number, total?: number): void {
    this.options.progress?.({ stage, processed, total });
    if (this.options.signal?.aborted) throw new FerryError('F1300', ['Import cancelled']);
  }

  private orderedCollections(): string[] {
    const order = this.context.registry.importOrder();
    return order.filter((c) => this.entries.has(c));
  }

  async run(): Promise<ImportReport> {
    const total = [...this.entries.values()].reduce((n, l) => n + l.length, 0);
    this.progress('Creating bundle', 0, total);
    await this.preheatAll();
    this.progress('Validating bundle', 0, total);
    this.settleIdentifiers();
    if (!this.params.skipValidation) this.validateShapes();
    this.resolveReferences();
    if (!this.params.skipValidation) {
      await this.checkUniqueness();
      await this.checkUniqueTogether();
      this.checkAttributeValues();
      await this.checkUniqueAttributes();
      await this.checkDeletions();
    }
    await this.computeHierarchyPaths();
    this.propagateInvalidReferences();

    const hasErrors = this.unsupported.size > 0 || this.allEntries().some((e) => e.errors.length > 0);
    const status: ImportStatus = !hasErrors ? 'OK' : this.params.atomicMode === 'ALL' ? 'ERROR' : 'WARNING';
    const writeNothing = this.params.importMode === 'VALIDATE' || status === 'ERROR';
    if (this.params.importMode === 'COMMIT' && status !== 'ERROR') {
      this.progress('Committing', 0, total);
      await this.commit();
    }
    this.progress('Done', total, total);
    return this.report(status, writeNothing);
  }

  private allEntries(): Entry[] {
    return [...this.entries.values()].flat();
  }

  private main(entry: Entry): { mainKlass: string; mainId?: string } {
    return { mainKlass: entry.schema.klass, mainId: entry.uid || undefined };
  }

  private async preheatAll(): Promise<void> {
    const identifier = this.params.identifier;
    const wants = new Map<string, { uids: Set<string>; codes: Set<string> }>();
    const want = (collection: string) => {
      let w = wants.get(collection);
      if (!w) wants.set(collection, (w = { uids: new Set(), codes: new Set() }));
      return w;
    };
    for (const [collection, list] of this.entries) {
      const w = want(collection);
      for (const entry of list) {
        if (typeof entry.object.id === 'string') w.uids.add(entry.object.id);
        if (identifier !== 'UID' && typeof entry.object.code === 'string') w.codes.add(entry.object.code);
        forEachReference(this.context.registry, collection, entry.object, ({ property, ref }) => {
          if (!property.target || !isCheckedReference(property)) return;
          const t = want(property.target);
          if (typeof ref.id === 'string') {
            t.uids.add(ref.id);
            if (identifier !== 'UID') t.codes.add(ref.id);
          }
          if (typeof ref.code === 'string') t.codes.add(ref.code);
        });
      }
    }
    // Category option combos are replanned on commit; categories need their options' names.
    await this.preheat.load(this.context.metadata, this.params.preheatMode, wants);
    for (const [collection, objects] of Object.entries(defaultCategoryModel(this.now))) {
      for (const object of objects) {
        if (this.preheat.get(collection, object.id)) continue;
        const stored = await this.context.metadata.get(collection, object.id);
        if (stored) this.preheat.add(collection, stored);
        else {
          this.preheat.add(collection, object);
          this.missingDefaults.push({ collection, object });
          this.virtualDefaults.add(object);
        }
      }
    }
  }

  /** Matches payload objects to stored ones (E5000/E5001/E5004) and gives new objects UIDs. */
  private settleIdentifiers(): void {
    const identifier = this.params.identifier;
    const strategy = this.params.importStrategy;
    for (const [collection, list] of this.entries) {
      const seenIds = new Set<string>();
      const byUid = new Map<string, Entry>();
      const byCode = new Map<string, Entry>();
      this.payloadByUid.set(collection, byUid);
      this.payloadByCode.set(collection, byCode);
      for (const entry of list) {
        const object = entry.object;
        const id = typeof object.id === 'string' ? object.id : undefined;
        const code = typeof object.code === 'string' ? object.code : undefined;
        let existing: MetadataObject | undefined;
        if (identifier !== 'CODE' && id) existing = this.preheat.get(collection, id);
        if (!existing && identifier !== 'UID' && code) existing = this.preheat.getByCode(collection, code);
        if (!existing && identifier === 'CODE' && !code && id) existing = this.preheat.get(collection, id);
        if (existing) {
          entry.existing = existing;
          entry.uid = existing.id;
        } else if (id) {
          entry.uid = id;
        } else {
          entry.uid = generateUid();
        }
        object.id = entry.uid;
        if (seenIds.has(entry.uid)) {
          entry.errors.push(errorReport('E5004', [entry.uid, entry.schema.klass], this.main(entry)));
          continue;
        }
        seenIds.add(entry.uid);
        byUid.set(entry.uid, entry);
        if (code && !byCode.has(code)) byCode.set(code, entry);
        const described = `${entry.uid}${code ? `/${code}` : ''}`;
        if (strategy === 'DELETE') {
          entry.action = 'delete';
          if (!existing) {
            entry.errors.push(
              errorReport(
                'E5001',
                [described, describeObject(entry.schema.klass, entry.uid, object.name)],
                this.main(entry),
              ),
            );
          }
        } else if (existing) {
          entry.action = 'update';
          if (strategy === 'CREATE') {
            entry.errors.push(
              errorReport(
                'E5000',
                [described, describeObject(entry.schema.klass, entry.uid, object.name)],
                this.main(entry),
              ),
            );
          }
        } else {
          entry.action = 'create';
          if (strategy === 'UPDATE') {
            entry.errors.push(
              errorReport(
                'E5001',
                [described, describeObject(entry.schema.klass, entry.uid, object.name)],
                this.main(entry),
              ),
            );
          }
        }
      }
    }
  }

  private validateShapes(): void {
    for (const entry of this.allEntries()) {
      if (entry.action === 'delete' || entry.errors.some((e) => e.errorCode === 'E5004')) continue;
      if (this.membershipProperty) continue;
      const shape =
        this.params.mergeMode === 'MERGE' && entry.existing
          ? { ...entry.existing, ...entry.object }
          : entry.object;
      entry.errors.push(
        ...validateObjectShape(this.context.registry, entry.schema, shape, {
          klass: entry.schema.klass,
          uid: entry.uid || undefined,
        }),
      );
    }
  }

  /** Resolves every checked reference to a payload or stored object (E5002) and rewrites it to the UID. */
  private resolveReferences(): void {
    const identifier = this.params.identifier;
    for (const entry of this.allEntries()) {
      if (entry.action === 'delete') continue;
      forEachReference(this.context.registry, entry.collection, entry.object, ({ property, path, ref }) => {
        if (!property.target || !isCheckedReference(property)) return;
        const target = property.target;
        const id = typeof ref.id === 'string' ? ref.id : undefined;
        const code = typeof ref.code === 'string' ? ref.code : undefined;
        let uid: string | undefined;
        if (id) {
          uid = this.payloadByUid.get(target)?.get(id)?.uid ?? this.preheat.get(target, id)?.id;
          if (!uid && identifier !== 'UID') {
            uid = this.payloadByCode.get(target)?.get(id)?.uid ?? this.preheat.getByCode(target, id)?.id;
          }
        } else if (code) {
          uid = this.payloadByCode.get(target)?.get(code)?.uid ?? this.preheat.getByCode(target, code)?.id;
        }
        if (uid) {
          // An association is stored as the UID alone, as DHIS2 stores it: a file's `name` or `code`
          // beside the id is display state and may disagree with the object itself.
          for (const key of Object.keys(ref)) if (key !== 'id') delete ref[key];
          ref.id = uid;
          return;
        }
        if (this.params.skipValidation) return;
        const targetSchema = this.context.registry.byCollection(target);
        const key = id ?? code ?? '';
        entry.errors.push(
          errorReport(
            'E5002',
            [
              describeObject(targetSchema?.klass ?? target, key),
              describeObject(entry.schema.klass, entry.uid, entry.object.name),
              path,
            ],
            { ...this.main(entry), errorKlass: targetSchema?.klass, errorProperty: path, value: key },
          ),
        );
      });
    }
  }

  /**
   * Under atomicMode NONE, an object that refers to a payload object which will not be written
   * (it has errors and is not stored already) would be written with a dangling reference; it gets
   * E5002 too, until nothing changes.
   */
  private propagateInvalidReferences(): void {
    if (this.params.atomicMode !== 'NONE') return;
    for (let changed = true; changed;) {
      changed = false;
      for (const entry of this.allEntries()) {
        if (entry.errors.length > 0 || entry.action === 'delete') continue;
        forEachReference(this.context.registry, entry.collection, entry.object, ({ property, path, ref }) => {
          if (!property.target || !isCheckedReference(property) || typeof ref.id !== 'string') return;
          const target = this.payloadByUid.get(property.target)?.get(ref.id);
          if (!target || target.errors.length === 0 || target.existing) return;
          if (
            entry.errors.some(
              (e) => e.errorCode === 'E5002' && e.errorProperty === path && e.value === ref.id,
            )
          )
            return;
          changed = true;
          entry.errors.push(
            errorReport(
              'E5002',
              [
                describeObject(target.schema.klass, ref.id),
                describeObject(entry.schema.klass, entry.uid, entry.object.name),
                path,
              ],
              { ...this.main(entry), errorKlass: target.schema.klass, errorProperty: path, value: ref.id },
            ),
          );
        });
      }
    }
  }

  /** Unique properties within the payload (E5005) and against the database (E5003). */
  private async checkUniqueness(): Promise<void> {
    for (const [collection, list] of this.entries) {
      const schema = list[0].schema;
      const uniqueProperties = schema.properties.filter((p) => p.unique).map((p) => p.name);
      for (const property of uniqueProperties) {
        const seen = new Map<string, Entry>();
        const candidates: Entry[] = [];
        for (const entry of list) {
          if (entry.action === 'delete' || this.membershipProperty) continue;
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
                { ...this.main(entry), errorProperty: property, value: key },
              ),
            );
            continue;
          }
          seen.set(key, entry);
          candidates.push(entry);
        }
        if (candidates.length === 0) continue;
        const clashes = await this.storedWithValues(collection, property, [...seen.keys()]);
        for (const entry of candidates) {
          const other = clashes.get(String(entry.object[property]));
          if (!other || other.id === entry.uid) continue;
          // An object being deleted or renamed in this payload frees its value.
          const otherEntry = this.payloadByUid.get(collection)?.get(other.id);
          if (
            otherEntry &&
            (otherEntry.action === 'delete' || otherEntry.object[property] !== other[property])
          )
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
              { ...this.main(entry), errorProperty: property, value: String(entry.object[property]) },
            ),
          );
        }
      }
    }
  }

  /**
   * The registry's `uniqueTogether` groups, for every type at once: within the payload (E5005),
   * including embedded items (a data set listing one data element twice), and against the database
   * for top-level objects (E5003). Embedded items are stored inside their holder and replaced with
   * it, so only the file decides their uniqueness.
   */
  private async checkUniqueTogether(): Promise<void> {
    if (this.membershipProperty) return;
    const registry = this.context.registry;
    const relevant = schemasWithUniqueTogether(registry);
    const found: Array<{ entry: Entry; instance: UniqueTogetherInstance }> = [];
    for (const [collection, list] of this.entries) {
      if (!relevant.has(collection)) continue;
      for (const entry of list) {
        if (entry.action === 'delete' || entry.errors.some((e) => e.errorCode === 'E5004')) continue;
        for (const instance of uniqueTogetherInstances(registry, collection, entry.object, entry.uid))
          found.push({ entry, instance });
      }
    }
    if (found.length === 0) return;
    const derived = await this.inverseReferences(found.map((f) => f.instance));

    const byGroup = new Map<
      string,
      Array<{ entry: Entry; instance: UniqueTogetherInstance; parts: string[] }>
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
      const seen = new Map<string, Entry>();
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
            this.uniqueTogetherError('E5005', item, first.uid, first.object.name, first.schema.klass),
          );
          continue;
        }
        seen.set(key, item.entry);
        seenUid.set(key, item.instance.object.id);
        firstOfKey.push(item);
      }
      if (!schema.embeddedOnly) {
        const topLevel = firstOfKey.filter((item) => item.instance.path === '');
        if (topLevel.length > 0) await this.checkStoredUniqueTogether(schema.collection, group, topLevel);
      }
    }
  }

  private uniqueTogetherError(
    code: 'E5003' | 'E5005',
    item: { entry: Entry; instance: UniqueTogetherInstance; parts: string[] },
    otherUid: string,
    otherName: unknown,
    otherKlass: string,
  ): ErrorReport {
    const { entry, instance, parts } = item;
    const label = instance.path
      ? `${instance.path}(${instance.group.join(', ')})`
      : instance.group.join(', ');
    const value = parts.join(', ');
    const report = errorReport(
      code,
      [
        label,
        value,
        describeObject(entry.schema.klass, entry.uid, entry.object.name),
        describeObject(otherKlass, otherUid, otherName),
      ],
      { ...this.main(entry), errorKlass: instance.schema.klass, errorProperty: label, value },
    );
    return {
      ...report,
      errorProperties: instance.group.map((p) => (instance.path ? `${instance.path}.${p}` : p)),
    };
  }

  /** Stored objects of `collection` with the same key as a payload object, which is not itself in the payload. */
  private async checkStoredUniqueTogether(
    collection: string,
    group: readonly string[],
    items: Array<{ entry: Entry; instance: UniqueTogetherInstance; parts: string[] }>,
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
        for (const row of await this.context.metadata.findBy(collection, lookup.name, chunk))
          candidates.push(row.object);
      } else if (!isReference(lookup)) {
        candidates.push(
          ...(
            await this.context.metadata.list(collection, {
              filters: [{ property: lookup.name, operator: 'in', value: chunk }],
            })
          ).objects,
        );
      } else {
        const rows = await this.context.storage.query<{ body: unknown }>(
          `SELECT DISTINCT o.sid AS sid, o.body AS body FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
            WHERE r.property = ? AND r.target_type = ? AND o.type = ? AND r.target_uid IN (${chunk.map(() => '?').join(', ')})`,
          [lookup.name, lookup.target!, collection, ...chunk],
        );
        for (const row of rows)
          candidates.push((typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as MetadataObject);
      }
    }
    // An object in the payload is checked as the payload has it (renamed, moved or deleted there).
    const outside = candidates.filter((c) => !this.payloadByUid.get(collection)?.has(c.id));
    if (outside.length === 0) return;
    const instances = outside.map<UniqueTogetherInstance>((object) => ({ schema, group, object, path: '' }));
    const derived = await this.inverseReferences(instances);
    const stored = new Map<string, MetadataObject>();
    instances.forEach((instance, i) => {
      const parts = uniqueTogetherKey(instance, derived(instance));
      if (parts) stored.set(JSON.stringify(parts), outside[i]);
    });
    for (const item of items) {
      const other = stored.get(JSON.stringify(item.parts));
      if (other && other.id !== item.entry.uid)
        item.entry.errors.push(this.uniqueTogetherError('E5003', item, other.id, other.name, schema.klass));
    }
  }

  /**
   * Values of inverse references a group needs but objects do not carry (an option's option set is
   * known from the set's `options` list): from the payload's owners first, then from stored owners
   * that the payload does not replace.
   */
  private async inverseReferences(
    instances: readonly UniqueTogetherInstance[],
  ): Promise<(instance: UniqueTogetherInstance) => (property: PropertyDescriptor) => string | undefined> {
    const registry = this.context.registry;
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
      for (const entry of this.entries.get(want.target) ?? []) {
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
        const rows = await this.context.storage.query<{ owner: string; target: string }>(
          `SELECT o.uid AS owner, r.target_uid AS target FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
            WHERE r.property = ? AND r.target_type = ? AND o.type = ? AND r.target_uid IN (${chunk.map(() => '?').join(', ')})`,
          [want.owner, want.schema, want.target, ...chunk],
        );
        for (const row of rows) {
          if (this.payloadByUid.get(want.target)?.has(row.owner)) continue;
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

  private async storedWithValues(
    collection: string,
    property: string,
    values: string[],
  ): Promise<Map<string, MetadataObject>> {
    const out = new Map<string, MetadataObject>();
    for (let i = 0; i < values.length; i += 500) {
      const chunk = values.slice(i, i + 500);
      const found =
        property === 'code' || property === 'name'
          ? (await this.context.metadata.findBy(collection, property, chunk)).map((r) => r.object)
          : (
              await this.context.metadata.list(collection, {
                filters: [{ property, operator: 'in', value: chunk }],
              })
            ).objects;
      for (const object of found) out.set(String(object[property]), object);
    }
    return out;
  }

  private attribute(uid: string): Record<string, unknown> | undefined {
    return this.payloadByUid.get('attributes')?.get(uid)?.object ?? this.preheat.get('attributes', uid);
  }

  /** Attribute values must suit their attribute's value type (E6004). */
  private checkAttributeValues(): void {
    for (const entry of this.allEntries()) {
      if (entry.action === 'delete') continue;
      const values = entry.object.attributeValues;
      if (!Array.isArray(values)) continue;
      for (const av of values as Array<{ attribute?: { id?: string }; value?: unknown }>) {
        const uid = av?.attribute?.id;
        if (!uid) continue;
        const attribute = this.attribute(uid);
        if (!attribute) continue;
        const value = av.value === undefined || av.value === null ? '' : String(av.value);
        const valueType = String(attribute.valueType ?? 'TEXT');
        if (!isValidAttributeValue(valueType, value)) {
          entry.errors.push(
            errorReport('E6004', [uid, value, valueType], {
              ...this.main(entry),
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
  private async checkUniqueAttributes(): Promise<void> {
    for (const [collection, list] of this.entries) {
      const byAttribute = new Map<string, Map<string, Entry>>();
      for (const entry of list) {
        if (entry.action === 'delete' || !Array.isArray(entry.object.attributeValues)) continue;
        for (const av of entry.object.attributeValues as Array<{
          attribute?: { id?: string };
          value?: unknown;
        }>) {
          const uid = av?.attribute?.id;
          if (!uid || this.attribute(uid)?.unique !== true) continue;
          const value = String(av.value ?? '');
          let seen = byAttribute.get(uid);
          if (!seen) byAttribute.set(uid, (seen = new Map()));
          const first = seen.get(value);
          if (first && first.uid !== entry.uid) {
            entry.errors.push(
              errorReport('E4009', [uid, value], {
                ...this.main(entry),
                errorProperty: 'attributeValues',
                value,
              }),
            );
          } else seen.set(value, entry);
        }
      }
      for (const [attributeUid, seen] of byAttribute) {
        const rows = await this.context.storage.query<{ uid: string; body: unknown }>(
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
                ...this.main(entry),
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
  private async checkDeletions(): Promise<void> {
    for (const entry of this.allEntries()) {
      if (entry.action !== 'delete' || !entry.existing) continue;
      const referrers = await this.context.metadata.referrers(entry.collection, entry.uid);
      const blocking = referrers.filter((r) => {
        const other = this.payloadByUid.get(r.collection)?.get(r.uid);
        const property = this.context.registry.property(r.collection, r.property.split('.')[0]);
        return !(other && other.action === 'delete') && property?.owner !== false;
      });
      if (blocking.length > 0) {
        const first = blocking[0];
        entry.errors.push(
          errorReport('E4030', [`${first.collection} ${first.uid} (${first.property})`], {
            ...this.main(entry),
            errorKlass: this.context.registry.byCollection(first.collection)?.klass,
            errorProperty: first.property,
            value: first.uid,
          }),
        );
      }
    }
  }

  /** Org unit `path` and `level` from the parent chain, whether parents are stored or in the payload. */
  private async computeHierarchyPaths(): Promise<void> {
    for (const [collection, list] of this.entries) {
      const property = list[0].schema.hierarchyProperty;
      if (!property) continue;
      // Parents kept from the stored object (MERGE) were not in the payload, so not preheated.
      const unknownParents = list
        .map((e) => (this.mergedObject(e)[property] as { id?: string } | undefined)?.id)
        .filter(
          (id): id is string =>
            typeof id === 'string' &&
            !this.payloadByUid.get(collection)?.has(id) &&
            !this.preheat.get(collection, id),
        );
      if (unknownParents.length > 0) {
        for (const row of await this.context.metadata.findBy(collection, 'uid', [
          ...new Set(unknownParents),
        ])) {
          this.preheat.add(collection, row.object);
        }
      }
      const paths = new Map<string, string | null>();
      const cyclic = new Set<string>();
      const pathOf = (uid: string, chain: string[]): string | null => {
        const known = paths.get(uid);
        if (known !== undefined) return known;
        if (chain.includes(uid)) {
          for (const member of chain.slice(chain.indexOf(uid))) cyclic.add(member);
          return null;
        }
        const entry = this.payloadByUid.get(collection)?.get(uid);
        const object =
          entry && entry.action !== 'delete' ? this.mergedObject(entry) : this.preheat.get(collection, uid);
        if (!object) return null;
        if (!entry && typeof object.path === 'string') {
          paths.set(uid, object.path);
          return object.path;
        }
        const parent = (object[property] as { id?: string } | undefined)?.id;
        let path: string | null;
        if (!parent) path = `/${uid}`;
        else {
          const parentPath = pathOf(parent, [...chain, uid]);
          path = parentPath === null ? null : `${parentPath}/${uid}`;
        }
        paths.set(uid, path);
        return path;
      };
      for (const entry of list) {
        if (entry.action === 'delete') continue;
        const path = pathOf(entry.uid, []);
        const parent = (this.mergedObject(entry)[property] as { id?: string } | undefined)?.id;
        if (path === null) {
          // A missing parent is already E5002; a cycle gets its own report.
          if (parent && cyclic.has(entry.uid)) {
            entry.errors.push(
              errorReport('E6022', [entry.uid, parent], {
                ...this.main(entry),
                errorProperty: property,
                value: parent,
              }),
            );
          }
          continue;
        }
        entry.object.path = path;
        entry.object.level = path.split('/').length - 1;
      }
    }
  }

  private mergedObject(entry: Entry): Record<string, unknown> {
    return this.params.mergeMode === 'MERGE' && entry.existing
      ? { ...entry.existing, ...entry.object }
      : entry.object;
  }

  /** The object as it will be stored, per mergeMode and skipSharing. */
  private finalObject(entry: Entry): MetadataObject {
    const existing = entry.existing;
    let object: Record<string, unknown>;
    if (this.membershipProperty && existing) {
      const property = this.membershipProperty;
      const current = Array.isArray(existing[property]) ? (existing[property] as Array<{ id: string }>) : [];
      const ids = new Set(current.map((r) => r.id));
      const added = ((entry.object[property] as Array<{ id: string }> | undefined) ?? []).filter(
        (r) => !ids.has(r.id),
      );
      object = { ...existing, [property]: [...current, ...added] };
    } else {
      object = this.mergedObject(entry);
    }
    if (this.params.skipSharing) {
      for (const property of SHARING_PROPERTIES) {
        if (existing && existing[property] !== undefined) object[property] = existing[property];
        else delete object[property];
      }
    }
    for (const property of entry.schema.properties) {
      // DHIS2 gives objects without a category combo the default one.
      if (
        property.name === 'categoryCombo' &&
        property.target === 'categoryCombos' &&
        object.categoryCombo == null
      ) {
        object.categoryCombo = { id: DEFAULT_CATEGORY_COMBO_UID };
      }
    }
    object.id = entry.uid;
    const stored = existing && !this.virtualDefaults.has(existing) ? existing : undefined;
    object.created = stored?.created ?? (typeof object.created === 'string' ? object.created : this.now);
    object.lastUpdated = this.now;
    if (this.principal) {
      object.lastUpdatedBy = { id: this.principal.uid };
      if (!existing) object.createdBy = { id: this.principal.uid };
    }
    return object as MetadataObject;
  }

  private async commit(): Promise<void> {
    const order = this.orderedCollections();
    await this.context.storage.transaction(async (tx) => {
      const store = this.context.metadata.withExecutor(tx);
      for (const { collection, object } of this.missingDefaults)
        await store.save(collection, [object], this.now);
      const writtenCombos = new Set<string>();
      const writtenCategories = new Set<string>();
      let processed = 0;
      for (const collection of order) {
        const list = this.entries.get(collection)!;
        const writable = list.filter((e) => e.errors.length === 0 && e.action !== 'delete');
        const objects = writable.map((e) => this.finalObject(e));
        if (this.params.flushMode === 'OBJECT') {
          for (const object of objects) await store.save(collection, [object], this.now);
        } else {
          await store.saveMany(collection, objects, this.now);
        }
        if (collection === 'categoryCombos') for (const o of objects) writtenCombos.add(o.id);
        if (collection === 'categories') for (const o of objects) writtenCategories.add(o.id);
        if (list[0].schema.hierarchyProperty) await this.rewriteDescendantPaths(store, collection, writable);
        processed += list.length;
        this.progress('Committing', processed);
      }
      for (const collection of [...order].reverse()) {
        const deletions = this.entries
          .get(collection)!
          .filter((e) => e.errors.length === 0 && e.action === 'delete');
        if (deletions.length > 0)
          await store.delete(
            collection,
            deletions.map((e) => e.uid),
          );
      }
      for (const category of writtenCategories) {
        for (const r of await store.referrers('categories', category)) {
          if (r.collection === 'categoryCombos' && r.property === 'categories') writtenCombos.add(r.uid);
        }
      }
      for (const combo of writtenCombos) await this.replanOptionCombos(store, tx, combo);
      await this.options.beforeCommit?.(tx);
    });
  }

  /** Descendants of a moved org unit keep their paths in step with it. */
  private async rewriteDescendantPaths(
    store: MetadataStore,
    collection: string,
    written: Entry[],
  ): Promise<void> {
    for (const entry of written) {
      const oldPath = entry.existing?.path;
      const newPath = entry.object.path;
      if (typeof oldPath !== 'string' || typeof newPath !== 'string' || oldPath === newPath) continue;
      const { objects } = await store.list(collection, {
        filters: [{ property: 'path', operator: 'startsWith', value: `${oldPath}/` }],
      });
      const moved = objects
        .filter((o) => !this.payloadByUid.get(collection)?.has(o.id))
        .map((o) => {
          const path = newPath + String(o.path).slice(oldPath.length);
          return { ...o, path, level: path.split('/').length - 1, lastUpdated: this.now };
        });
      await store.saveMany(collection, moved, this.now);
    }
  }

  /** Creates, keeps and retires a category combo's option combos after its model changed. */
  private async replanOptionCombos(store: MetadataStore, tx: SqlExecutor, comboUid: string): Promise<void> {
    const combo = await store.get('categoryCombos', comboUid);
    if (!combo) return;
    const categoryIds = ((combo.categories as Array<{ id: string }> | undefined) ?? []).map((c) => c.id);
    const categories = new Map(
      (await store.findBy('categories', 'uid', categoryIds)).map((r) => [r.object.id, r.object]),
    );
    const optionIds = new Set<string>();
    for (const category of categories.values()) {
      for (const o of (category.categoryOptions as Array<{ id: string }> | undefined) ?? [])
        optionIds.add(o.id);
    }
    const options = new Map(
      (await store.findBy('categoryOptions', 'uid', [...optionIds])).map((r) => [r.object.id, r.object]),
    );
    const comboCategories = categoryIds
      .map((id) => categories.get(id))
      .filter((c): c is MetadataObject => c !== undefined)
      .map((c) => ({
        id: c.id,
        categoryOptions: ((c.categoryOptions as Array<{ id: string }> | undefined) ?? []).map((o) => ({
          id: o.id,
          name: typeof options.get(o.id)?.name === 'string' ? (options.get(o.id)!.name as string) : o.id,
        })),
      }));
    const existingUids = (await store.referrers('categoryCombos', comboUid))
      .filter((r) => r.collection === 'categoryOptionCombos' && r.property === 'categoryCombo')
      .map((r) => r.uid);
    const existing = (await store.findBy('categoryOptionCombos', 'uid', existingUids)).map((r) => ({
      id: r.object.id,
      categoryOptions: (r.object.categoryOptions as Array<{ id: string }> | undefined) ?? [],
    }));
    const plan = planCategoryOptionCombos(comboCategories, existing);
    await store.saveMany(
      'categoryOptionCombos',
      plan.create.map((c) => ({
        id: c.id,
        name: c.name,
        ignoreApproval: false,
        categoryCombo: { id: comboUid },
        categoryOptions: c.categoryOptions,
        created: this.now,
        lastUpdated: this.now,
      })),
      this.now,
    );
    if (plan.retire.length === 0) return;
    // Retired combos that data values still use are kept, so no data is orphaned.
    const sids = await store.sids('categoryOptionCombos', plan.retire);
    const removable: string[] = [];
    for (const [uid, sid] of sids) {
      const used = await tx.queryOne(
        'SELECT 1 AS used FROM data_value WHERE category_option_combo_id = ? OR attribute_option_combo_id = ? LIMIT 1',
        [sid, sid],
      );
      if (!used) removable.push(uid);
    }
    await store.delete('categoryOptionCombos', removable);
  }

  private report(status: ImportStatus, writeNothing: boolean): ImportReport {
    const typeReports: TypeReport[] = [];
    for (const collection of this.orderedCollections()) {
      const list = this.entries.get(collection)!;
      const stats = emptyStats();
      const objectReports: ObjectReport[] = [];
      for (const entry of list) {
        const failed = entry.errors.length > 0;
        if (writeNothing || failed) stats.ignored++;
        else if (entry.action === 'create') stats.created++;
        else if (entry.action === 'update') stats.updated++;
        else stats.deleted++;
        const name = entry.object.displayName ?? entry.object.name ?? entry.existing?.name;
        objectReports.push({
          klass: entry.schema.klass,
          index: entry.index,
          ...(isValidUid(entry.uid) || entry.uid ? { uid: entry.uid } : {}),
          ...(typeof name === 'string' ? { displayName: name } : {}),
          errorReports: entry.errors,
        });
      }
      typeReports.push({ klass: list[0].schema.klass, stats, objectReports });
    }
    for (const [collection, count] of this.unsupported) {
      const stats = { ...emptyStats(), ignored: count };
      typeReports.push({
        klass: collection,
        stats,
        objectReports: [
          {
            klass: collection,
            index: 0,
            errorReports: [errorReport('E6002', [collection], { mainKlass: collection })],
          },
        ],
      });
    }
    const report = finishReport(typeReports, this.params.importReportMode, status);
    return {
      importParams: {
        importMode: this.params.importMode,
        identifier: this.params.identifier,
        preheatMode: this.params.preheatMode,
        importStrategy: this.params.importStrategy,
        atomicMode: this.params.atomicMode,
        mergeMode: this.params.mergeMode,
        flushMode: this.params.flushMode,
        skipSharing: this.params.skipSharing,
        skipValidation: this.params.skipValidation,
        async: this.params.async,
        firstRowIsHeader: this.params.firstRowIsHeader,
        ...(this.params.classKey ? { classKey: this.params.classKey } : {}),
        ...(this.principal ? { username: this.principal.username } : {}),
      },
      ...report,
    };
  }
}
