/**
 * The shape of the schema registry: one descriptor per metadata type, read by storage, import,
 * export, validation and dependency walks. Nothing here knows about a particular type.
 */

export const PROPERTY_KINDS = [
  'string',
  'text',
  'integer',
  'number',
  'boolean',
  'date',
  'enum',
  'geometry',
  'json',
  'stringList',
  'reference',
  'references',
  'embedded',
  'embeddedList',
] as const;
export type PropertyKind = (typeof PROPERTY_KINDS)[number];

export interface PropertyDescriptor {
  /** DHIS2's JSON property name, e.g. `categoryCombo`. */
  readonly name: string;
  readonly kind: PropertyKind;
  readonly required?: boolean;
  /** Unique among all objects of the type (DHIS2's UniquenessCheck, E5003). */
  readonly unique?: boolean;
  readonly maxLength?: number;
  readonly enumValues?: readonly string[];
  /** For `reference`/`references`: the collection referred to, e.g. `categoryCombos`. */
  readonly target?: string;
  /**
   * For references: whether this side owns the association. Exports and imports carry the owning
   * side; the inverse side is derived and not required to match (DHIS2's `owner` flag).
   */
  readonly owner?: boolean;
  /** For `embedded`/`embeddedList`: the schema (by collection name) of the embedded objects. */
  readonly itemSchema?: string;
  /** Computed by the server (path, level); accepted in files, recomputed on import. */
  readonly computed?: boolean;
  /** Order matters (options of an option set, stages of a program). */
  readonly ordered?: boolean;
  /**
   * Secrets DHIS2 accepts but never writes back (`@JsonProperty(access = WRITE_ONLY)`): `true` for
   * the whole property, or the keys dropped at any depth inside a JSON value (a route's
   * `auth.password`). Reads and exports leave them out; imports store them.
   */
  readonly writeOnly?: true | readonly string[];
}

export interface SchemaDescriptor {
  /** Plural collection name used as JSON key and API path, e.g. `dataElements`. */
  readonly collection: string;
  /** Singular name, e.g. `dataElement`; also the XML element name. */
  readonly singular: string;
  /** DHIS2's Java class name, as it appears in import reports (`klass`). */
  readonly klass: string;
  /** Has id/code/name/created/lastUpdated and can be referred to by identifier. */
  readonly identifiable: boolean;
  /** Lives only inside another object (dataSetElements); has no collection of its own in storage. */
  readonly embeddedOnly?: boolean;
  readonly shareable: boolean;
  /** Carries `attributeValues` (DHIS2's metadata attributes). */
  readonly hasAttributeValues: boolean;
  readonly properties: readonly PropertyDescriptor[];
  /** DHIS2's CSV import class key, where DHIS2 has one. */
  readonly csvClassKey?: string;
  /** Positional CSV columns for `csvClassKey`, in DHIS2's order. */
  readonly csvColumns?: readonly string[];
  /** The property that forms a hierarchy (org unit `parent`); path and level derive from it. */
  readonly hierarchyProperty?: string;
  /** Which properties a dependency export follows from an object of this type. */
  readonly dependencies?: readonly string[];
  /**
   * Reverse dependencies a dependency export also collects: objects of `collection` whose `property`
   * points at this object (sections of a data set, stages of a program).
   */
  readonly dependents?: ReadonlyArray<{ collection: string; property: string }>;
  /** Types whose objects a dependency export may be asked for (`/api/{collection}/{uid}/metadata`). */
  readonly dependencyExport?: boolean;
  /**
   * Properties whose combination is unique (E5005 in a file, E5003 against the database), e.g. a data
   * set element's data set and data element. On embedded items, a reference to the holder's type
   * defaults to the holder; an inverse reference (an option's set) is derived from the owning side.
   */
  readonly uniqueTogether?: readonly (readonly string[])[];
  /**
   * The registry describes only part of the type (analytics favourites: their dimensions, layout
   * and options are many and change each release): an `:owner` export carries every stored
   * property but the display ones, not only the described ones, so the object re-imports whole.
   */
  readonly storedWhole?: boolean;
}

export interface SchemaRegistry {
  readonly schemas: readonly SchemaDescriptor[];
  byCollection(collection: string): SchemaDescriptor | undefined;
  byKlass(klass: string): SchemaDescriptor | undefined;
  bySingular(singular: string): SchemaDescriptor | undefined;
  byCsvClassKey(key: string): SchemaDescriptor | undefined;
  /** Top-level (not embedded-only) collections in an order where every referenced type comes first. */
  importOrder(): readonly string[];
  property(collection: string, name: string): PropertyDescriptor | undefined;
}
