import type { FerryContext } from '../ferry-context-types.ts';
import type { SchemaDescriptor } from '../../domain/schema/schema-types.ts';
import type { MetadataObject, MetadataStore } from '../../storage/metadata-store.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { Principal } from '../../domain/access/principal.ts';
import type { MetadataItem } from '../../codecs/metadata-json/metadata-json-decoder.ts';
import type { MetadataImportParams } from '../../domain/metadata-import/import-params.ts';
import type { ErrorReport } from '../../domain/metadata-import/import-report.ts';
import { withoutUserSecrets } from '../../domain/access/user-secrets.ts';
import { FerryError } from '../../errors.ts';

// The state one metadata import carries from stage to stage: the payload's objects (entries), what
// was preheated from the database, and the run's parameters. The stages live in files of their own
// (metadata-reference-resolver, metadata-object-validator, metadata-unique-together-validator,
// metadata-import-writer, metadata-import-report-builder) and take this bundle as their argument.

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

export type ImportAction = 'create' | 'update' | 'delete';

/** One payload object on its way through the stages. */
export interface ImportEntry {
  collection: string;
  schema: SchemaDescriptor;
  index: number;
  object: Record<string, unknown>;
  uid: string;
  existing?: MetadataObject;
  action: ImportAction;
  errors: ErrorReport[];
}

/** Objects loaded from the database, by type, under their UID and code. */
export class PreheatCache {
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

/** The payload and everything the stages learn about it. */
export class MetadataImportBundle {
  readonly entries = new Map<string, ImportEntry[]>();
  /** Objects of collections Ferry does not import, counted by collection: skipped with a warning (E6002). */
  readonly unsupported = new Map<string, number>();
  readonly context: FerryContext;
  readonly params: MetadataImportParams;
  readonly principal?: Principal;
  readonly options: ImportRunOptions;
  /** Set for a CSV membership class: the list property whose members are added to stored objects. */
  readonly membershipProperty?: string;
  readonly preheat = new PreheatCache();
  /** The payload's own objects after identifiers are settled, by type, UID and code. */
  readonly payloadByUid = new Map<string, Map<string, ImportEntry>>();
  readonly payloadByCode = new Map<string, Map<string, ImportEntry>>();
  /** Default category model objects missing from the database, created on commit. */
  readonly missingDefaults: Array<{ collection: string; object: MetadataObject }> = [];
  readonly virtualDefaults = new Set<MetadataObject>();
  readonly now = new Date().toISOString();

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

  progress(stage: string, processed: number, total?: number): void {
    this.options.progress?.({ stage, processed, total });
    if (this.options.signal?.aborted) throw new FerryError('F1300', ['Import cancelled']);
  }

  orderedCollections(): string[] {
    const order = this.context.registry.importOrder();
    return order.filter((c) => this.entries.has(c));
  }

  allEntries(): ImportEntry[] {
    return [...this.entries.values()].flat();
  }

  main(entry: ImportEntry): { mainKlass: string; mainId?: string } {
    return { mainKlass: entry.schema.klass, mainId: entry.uid || undefined };
  }

  mergedObject(entry: ImportEntry): Record<string, unknown> {
    return this.params.mergeMode === 'MERGE' && entry.existing
      ? { ...entry.existing, ...entry.object }
      : entry.object;
  }

  attribute(uid: string): Record<string, unknown> | undefined {
    return this.payloadByUid.get('attributes')?.get(uid)?.object ?? this.preheat.get('attributes', uid);
  }
}
