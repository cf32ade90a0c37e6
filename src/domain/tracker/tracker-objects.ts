/**
 * DHIS2's tracker objects as the current API carries them (`/api/tracker`, 2.41+ view models), and
 * the flattening of a nested payload into the four flat lists DHIS2's `BodyConverter` produces.
 */
export const TRACKER_TYPES = ['TRACKED_ENTITY', 'ENROLLMENT', 'EVENT', 'RELATIONSHIP'] as const;
export type TrackerType = (typeof TRACKER_TYPES)[number];

export const ENROLLMENT_STATUSES = ['ACTIVE', 'COMPLETED', 'CANCELLED'] as const;
export const EVENT_STATUSES = ['ACTIVE', 'COMPLETED', 'VISITED', 'SCHEDULE', 'OVERDUE', 'SKIPPED'] as const;

/** A JSON object as read from the payload: every field is checked before it is trusted. */
export type RawObject = Record<string, unknown>;

export interface TrackerAttributeValue {
  attribute: string;
  value: string;
}

export interface TrackerDataValue {
  dataElement: string;
  value: string | null;
  providedElsewhere: boolean;
}

export interface TrackerNote {
  note?: string;
  value: string;
  storedAt?: string;
}

export interface TrackedEntityInput {
  trackedEntity: string;
  trackedEntityType?: string;
  orgUnit?: string;
  inactive: boolean;
  potentialDuplicate: boolean;
  geometry?: unknown;
  createdAtClient?: string;
  updatedAtClient?: string;
  attributes: TrackerAttributeValue[];
}

export interface EnrollmentInput {
  enrollment: string;
  trackedEntity?: string;
  program?: string;
  orgUnit?: string;
  status: string;
  enrolledAt?: string;
  occurredAt?: string;
  completedAt?: string;
  completedBy?: string;
  followUp: boolean;
  geometry?: unknown;
  createdAtClient?: string;
  updatedAtClient?: string;
  attributes: TrackerAttributeValue[];
  notes: TrackerNote[];
}

export interface EventInput {
  event: string;
  program?: string;
  programStage?: string;
  enrollment?: string;
  trackedEntity?: string;
  orgUnit?: string;
  status: string;
  occurredAt?: string;
  scheduledAt?: string;
  completedAt?: string;
  completedBy?: string;
  followUp: boolean;
  geometry?: unknown;
  attributeOptionCombo?: string;
  /** The program category options the attribute option combo is made of (DHIS2's `a;b` text). */
  attributeCategoryOptions?: string[];
  assignedUser?: string;
  createdAtClient?: string;
  updatedAtClient?: string;
  dataValues: TrackerDataValue[];
  notes: TrackerNote[];
  /** The line of the event's first row, when it came from a CSV file (named in its error reports). */
  line?: number;
}

export interface RelationshipEnd {
  kind: TrackerType;
  uid: string;
}

export interface RelationshipInput {
  relationship: string;
  relationshipType?: string;
  from?: RelationshipEnd;
  to?: RelationshipEnd;
  /** Why an end could not be read (E4001), if one could not. */
  endProblem?: string;
  bidirectional: boolean;
  createdAtClient?: string;
}

/** The four flat lists of one payload, in payload order. */
export interface TrackerBundle {
  trackedEntities: TrackedEntityInput[];
  enrollments: EnrollmentInput[];
  events: EventInput[];
  relationships: RelationshipInput[];
}

export function emptyBundle(): TrackerBundle {
  return { trackedEntities: [], enrollments: [], events: [], relationships: [] };
}

function text(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function bool(value: unknown): boolean {
  return value === true || value === 'true';
}

function list(value: unknown): RawObject[] {
  return Array.isArray(value)
    ? value.filter((v): v is RawObject => v !== null && typeof v === 'object' && !Array.isArray(v))
    : [];
}

/** A reference given as a UID string or as `{id}`/`{<field>}` (older clients). */
function reference(value: unknown, field: string): string | undefined {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as RawObject;
    return text(object[field]) ?? text(object.id);
  }
  return text(value);
}

/** DHIS2's `attributeCategoryOptions`: `a;b` (its JSON and CSV), or a list of UIDs or `{id}`. */
function categoryOptions(value: unknown): string[] | undefined {
  const items = Array.isArray(value) ? value.map((v) => reference(v, 'id')) : (text(value)?.split(';') ?? []);
  const out = items.map((v) => v?.trim()).filter((v): v is string => !!v);
  return out.length > 0 ? out : undefined;
}

function attributes(value: unknown): TrackerAttributeValue[] {
  return list(value).map((a) => ({
    attribute: reference(a.attribute, 'attribute') ?? '',
    value: text(a.value) ?? '',
  }));
}

function notes(value: unknown): TrackerNote[] {
  return list(value).map((n) => ({
    note: text(n.note),
    value: text(n.value) ?? '',
    storedAt: text(n.storedAt),
  }));
}

/**
 * GeoJSON as given. The payload is read with numbers as their source text (so that a data value
 * `12.50` stays `12.50`); GeoJSON coordinates are always numbers, so they are turned back.
 */
function geometry(value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  const numbers = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(numbers)
      : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
        ? Number(v)
        : v;
  if (typeof value === 'object' && !Array.isArray(value) && 'coordinates' in value)
    return { ...(value as RawObject), coordinates: numbers((value as RawObject).coordinates) };
  return value;
}

/**
 * The UID the importer uses for an object without one: DHIS2 generates a UID, which then appears in
 * the report. `generate` is injected so this module stays pure.
 */
type UidSource = () => string;

export function readTrackedEntity(raw: RawObject, newUid: UidSource): TrackedEntityInput {
  return {
    trackedEntity: text(raw.trackedEntity) ?? newUid(),
    trackedEntityType: reference(raw.trackedEntityType, 'trackedEntityType'),
    orgUnit: reference(raw.orgUnit, 'orgUnit'),
    inactive: bool(raw.inactive),
    potentialDuplicate: bool(raw.potentialDuplicate),
    geometry: geometry(raw.geometry),
    createdAtClient: text(raw.createdAtClient),
    updatedAtClient: text(raw.updatedAtClient),
    attributes: attributes(raw.attributes),
  };
}

export function readEnrollment(raw: RawObject, newUid: UidSource, parent?: string): EnrollmentInput {
  return {
    enrollment: text(raw.enrollment) ?? newUid(),
    trackedEntity: parent ?? reference(raw.trackedEntity, 'trackedEntity'),
    program: reference(raw.program, 'program'),
    orgUnit: reference(raw.orgUnit, 'orgUnit'),
    status: (text(raw.status) ?? 'ACTIVE').toUpperCase(),
    enrolledAt: text(raw.enrolledAt),
    occurredAt: text(raw.occurredAt),
    completedAt: text(raw.completedAt),
    completedBy: text(raw.completedBy),
    followUp: bool(raw.followUp),
    geometry: geometry(raw.geometry),
    createdAtClient: text(raw.createdAtClient),
    updatedAtClient: text(raw.updatedAtClient),
    attributes: attributes(raw.attributes),
    notes: notes(raw.notes),
  };
}

export function readEvent(
  raw: RawObject,
  newUid: UidSource,
  parent?: { enrollment: string; trackedEntity?: string; program?: string },
): EventInput {
  return {
    event: text(raw.event) ?? newUid(),
    program: reference(raw.program, 'program') ?? parent?.program,
    programStage: reference(raw.programStage, 'programStage'),
    enrollment: parent?.enrollment ?? reference(raw.enrollment, 'enrollment'),
    trackedEntity: parent?.trackedEntity ?? reference(raw.trackedEntity, 'trackedEntity'),
    orgUnit: reference(raw.orgUnit, 'orgUnit'),
    status: (text(raw.status) ?? 'ACTIVE').toUpperCase(),
    occurredAt: text(raw.occurredAt),
    scheduledAt: text(raw.scheduledAt),
    completedAt: text(raw.completedAt),
    completedBy: text(raw.completedBy),
    followUp: bool(raw.followUp),
    geometry: geometry(raw.geometry),
    attributeOptionCombo: reference(raw.attributeOptionCombo, 'attributeOptionCombo'),
    attributeCategoryOptions: categoryOptions(raw.attributeCategoryOptions),
    assignedUser: reference(raw.assignedUser, 'uid'),
    createdAtClient: text(raw.createdAtClient),
    updatedAtClient: text(raw.updatedAtClient),
    dataValues: list(raw.dataValues).map((dv) => ({
      dataElement: reference(dv.dataElement, 'dataElement') ?? '',
      value: text(dv.value) ?? null,
      providedElsewhere: bool(dv.providedElsewhere),
    })),
    notes: notes(raw.notes),
  };
}

const END_FIELDS: ReadonlyArray<[string, TrackerType]> = [
  ['trackedEntity', 'TRACKED_ENTITY'],
  ['enrollment', 'ENROLLMENT'],
  ['event', 'EVENT'],
];

/** `{trackedEntity: {trackedEntity: uid}}` (or `{trackedEntity: uid}`): exactly one kind. */
function relationshipEnd(value: unknown): RelationshipEnd | string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const item = value as RawObject;
  const found: RelationshipEnd[] = [];
  for (const [field, kind] of END_FIELDS) {
    if (item[field] === undefined || item[field] === null) continue;
    const uid = reference(item[field], field);
    if (uid) found.push({ kind, uid });
  }
  if (found.length !== 1) return found.length === 0 ? undefined : 'more than one object';
  return found[0];
}

export function readRelationship(raw: RawObject, newUid: UidSource): RelationshipInput {
  const from = relationshipEnd(raw.from);
  const to = relationshipEnd(raw.to);
  return {
    relationship: text(raw.relationship) ?? newUid(),
    relationshipType: reference(raw.relationshipType, 'relationshipType'),
    from: typeof from === 'object' ? from : undefined,
    to: typeof to === 'object' ? to : undefined,
    endProblem: typeof from === 'string' ? 'from' : typeof to === 'string' ? 'to' : undefined,
    bidirectional: bool(raw.bidirectional),
    createdAtClient: text(raw.createdAtClient),
  };
}

/**
 * Adds one top-level item of a payload to the bundle, flattening what it nests: a tracked entity's
 * enrollments (and their events and relationships) and relationships; an enrollment's events.
 * Children take their parent's UID, as DHIS2's BodyConverter links them.
 */
export function addPayloadItem(
  bundle: TrackerBundle,
  collection: string,
  raw: RawObject,
  newUid: UidSource,
): void {
  if (collection === 'trackedEntities') {
    const te = readTrackedEntity(raw, newUid);
    bundle.trackedEntities.push(te);
    for (const e of list(raw.enrollments)) addEnrollment(bundle, e, newUid, te.trackedEntity);
    for (const r of list(raw.relationships)) bundle.relationships.push(readRelationship(r, newUid));
  } else if (collection === 'enrollments') {
    addEnrollment(bundle, raw, newUid);
  } else if (collection === 'events') {
    bundle.events.push(readEvent(raw, newUid));
    for (const r of list(raw.relationships)) bundle.relationships.push(readRelationship(r, newUid));
  } else if (collection === 'relationships') {
    bundle.relationships.push(readRelationship(raw, newUid));
  }
}

function addEnrollment(bundle: TrackerBundle, raw: RawObject, newUid: UidSource, parent?: string): void {
  const enrollment = readEnrollment(raw, newUid, parent);
  bundle.enrollments.push(enrollment);
  for (const ev of list(raw.events)) {
    bundle.events.push(
      readEvent(ev, newUid, {
        enrollment: enrollment.enrollment,
        trackedEntity: enrollment.trackedEntity,
        program: enrollment.program,
      }),
    );
    for (const r of list(ev.relationships)) bundle.relationships.push(readRelationship(r, newUid));
  }
  for (const r of list(raw.relationships)) bundle.relationships.push(readRelationship(r, newUid));
}

/** The collections of a tracker payload; anything else at the top level is ignored. */
export const TRACKER_COLLECTIONS = ['trackedEntities', 'enrollments', 'events', 'relationships'] as const;
