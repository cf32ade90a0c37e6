import type { RawObject } from '../../domain/tracker/tracker-objects.ts';

/**
 * DHIS2's tracker objects as servers up to 2.40 carried them (`/api/events`,
 * `/api/trackedEntityInstances`, `/api/enrollments`; removed in 2.41), turned into the objects the
 * current importer reads (`/api/tracker`, 2.41+), and an event of the current export turned back
 * into the older shape for `GET /api/events`.
 *
 * Each mapping prefers the older name and falls back to the current one, so a file that already
 * uses current names (`occurredAt`, `trackedEntity`) reads the same; what is not mapped is dropped
 * (server-set fields such as `created`, `lastUpdated`, `storedBy`, `href`, `deleted`).
 */

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function first(...values: unknown[]): unknown {
  return values.find(present);
}

function isObject(value: unknown): value is RawObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function objects(value: unknown): RawObject[] {
  if (isObject(value)) return [value]; // XML: a list of one read as the element itself
  return Array.isArray(value) ? value.filter(isObject) : [];
}

/** Drops undefined fields, so the current reader sees only what the file gave. */
function compact(object: RawObject): RawObject {
  const out: RawObject = {};
  for (const [key, value] of Object.entries(object)) if (value !== undefined) out[key] = value;
  return out;
}

function number(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

/** Text that holds JSON (a CSV cell, an XML element): parsed with `parse`, else left as given. */
export type JsonTextParser = (text: string) => unknown;

/**
 * The location: `geometry` (GeoJSON, or its text from CSV and XML), else the older `coordinate`
 * `{latitude, longitude}` (events before 2.29), else `featureType` with `coordinates` (tracked
 * entity instances and enrollments before 2.29, the coordinates as text).
 */
export function legacyGeometry(raw: RawObject, parseJson: JsonTextParser): unknown {
  const geometry = raw.geometry;
  if (typeof geometry === 'string' && geometry.trim() !== '') return parseJson(geometry);
  if (isObject(geometry)) {
    if (typeof geometry.coordinates === 'string')
      return { ...geometry, coordinates: parseJson(geometry.coordinates) };
    return geometry;
  }
  const coordinate = raw.coordinate;
  if (isObject(coordinate)) {
    const latitude = number(coordinate.latitude);
    const longitude = number(coordinate.longitude);
    if (latitude !== undefined && longitude !== undefined)
      return { type: 'Point', coordinates: [longitude, latitude] };
  }
  if (present(raw.featureType) && present(raw.coordinates) && raw.featureType !== 'NONE') {
    const coordinates = typeof raw.coordinates === 'string' ? parseJson(raw.coordinates) : raw.coordinates;
    const type = String(raw.featureType).toUpperCase() === 'POLYGON' ? 'Polygon' : 'Point';
    return { type, coordinates };
  }
  return undefined;
}

function legacyNotes(value: unknown): RawObject[] | undefined {
  const list = objects(value);
  if (list.length === 0) return undefined;
  return list.map((n) =>
    compact({ note: n.note, value: n.value, storedAt: first(n.storedDate, n.storedAt) }),
  );
}

function legacyAttributes(value: unknown): RawObject[] | undefined {
  const list = objects(value);
  if (list.length === 0) return undefined;
  return list.map((a) => compact({ attribute: a.attribute, value: a.value }));
}

/** An older event (`eventDate`, `dueDate`, `trackedEntityInstance`, ...) as a current one. */
export function legacyEventToCurrent(raw: RawObject, parseJson: JsonTextParser): RawObject {
  return compact({
    event: first(raw.event),
    program: first(raw.program),
    programStage: first(raw.programStage),
    enrollment: first(raw.enrollment),
    trackedEntity: first(raw.trackedEntityInstance, raw.trackedEntity),
    orgUnit: first(raw.orgUnit),
    status: first(raw.status),
    occurredAt: first(raw.eventDate, raw.occurredAt),
    scheduledAt: first(raw.dueDate, raw.scheduledAt),
    completedAt: first(raw.completedDate, raw.completedAt),
    completedBy: first(raw.completedBy),
    followUp: first(raw.followup, raw.followUp),
    geometry: legacyGeometry(raw, parseJson),
    attributeOptionCombo: first(raw.attributeOptionCombo),
    attributeCategoryOptions: first(raw.attributeCategoryOptions),
    assignedUser: first(raw.assignedUser),
    createdAtClient: first(raw.createdAtClient),
    updatedAtClient: first(raw.lastUpdatedAtClient, raw.updatedAtClient),
    dataValues: objects(raw.dataValues).map((dv) =>
      compact({ dataElement: dv.dataElement, value: dv.value, providedElsewhere: dv.providedElsewhere }),
    ),
    notes: legacyNotes(raw.notes),
    relationships:
      raw.relationships === undefined
        ? undefined
        : objects(raw.relationships).map(legacyRelationshipToCurrent),
  });
}

/** An older enrollment (`enrollmentDate`, `incidentDate`, nested older events) as a current one. */
export function legacyEnrollmentToCurrent(raw: RawObject, parseJson: JsonTextParser): RawObject {
  return compact({
    enrollment: first(raw.enrollment),
    trackedEntity: first(raw.trackedEntityInstance, raw.trackedEntity),
    program: first(raw.program),
    orgUnit: first(raw.orgUnit),
    status: first(raw.status),
    enrolledAt: first(raw.enrollmentDate, raw.enrolledAt),
    occurredAt: first(raw.incidentDate, raw.occurredAt),
    completedAt: first(raw.completedDate, raw.completedAt),
    completedBy: first(raw.completedBy),
    followUp: first(raw.followup, raw.followUp),
    geometry: legacyGeometry(raw, parseJson),
    createdAtClient: first(raw.createdAtClient),
    updatedAtClient: first(raw.lastUpdatedAtClient, raw.updatedAtClient),
    attributes: legacyAttributes(raw.attributes),
    notes: legacyNotes(raw.notes),
    events: objects(raw.events).map((e) => legacyEventToCurrent(e, parseJson)),
    relationships:
      raw.relationships === undefined
        ? undefined
        : objects(raw.relationships).map(legacyRelationshipToCurrent),
  });
}

/** An older tracked entity instance, its enrollments and relationships, as a current tracked entity. */
export function legacyTrackedEntityToCurrent(raw: RawObject, parseJson: JsonTextParser): RawObject {
  return compact({
    trackedEntity: first(raw.trackedEntityInstance, raw.trackedEntity),
    trackedEntityType: first(raw.trackedEntityType),
    orgUnit: first(raw.orgUnit),
    inactive: first(raw.inactive),
    potentialDuplicate: first(raw.potentialDuplicate),
    geometry: legacyGeometry(raw, parseJson),
    createdAtClient: first(raw.createdAtClient),
    updatedAtClient: first(raw.lastUpdatedAtClient, raw.updatedAtClient),
    attributes: legacyAttributes(raw.attributes),
    enrollments: objects(raw.enrollments).map((e) => legacyEnrollmentToCurrent(e, parseJson)),
    relationships: objects(raw.relationships).map(legacyRelationshipToCurrent),
  });
}

const END_FIELDS = [
  ['trackedEntityInstance', 'trackedEntity'],
  ['trackedEntity', 'trackedEntity'],
  ['enrollment', 'enrollment'],
  ['event', 'event'],
] as const;

/** `{trackedEntityInstance: {trackedEntityInstance: uid}}` as `{trackedEntity: {trackedEntity: uid}}`. */
function legacyRelationshipEnd(value: unknown): unknown {
  if (!isObject(value)) return value;
  const out: RawObject = {};
  for (const [legacy, current] of END_FIELDS) {
    const item = value[legacy];
    if (!present(item)) continue;
    const uid = isObject(item) ? first(item[legacy], item[current], item.id) : item;
    out[current] = { [current]: uid };
  }
  return out;
}

export function legacyRelationshipToCurrent(raw: RawObject): RawObject {
  return compact({
    relationship: first(raw.relationship),
    relationshipType: first(raw.relationshipType),
    bidirectional: first(raw.bidirectional),
    createdAtClient: first(raw.createdAtClient),
    from: legacyRelationshipEnd(raw.from),
    to: legacyRelationshipEnd(raw.to),
  });
}

/**
 * An event of the current export (`GET /api/tracker/events`) in the shape `GET /api/events` had up
 * to 2.40: `eventDate`, `dueDate`, `completedDate`, `trackedEntityInstance`, `created`,
 * `lastUpdated`, `followup`, notes with `storedDate`, data values with `created`/`lastUpdated`.
 */
export function currentEventToLegacy(event: RawObject): RawObject {
  const user = (value: unknown): unknown => (isObject(value) ? first(value.username, value.uid) : value);
  return compact({
    event: event.event,
    status: event.status,
    program: event.program,
    programStage: event.programStage,
    enrollment: event.enrollment,
    trackedEntityInstance: event.trackedEntity,
    orgUnit: event.orgUnit,
    eventDate: event.occurredAt,
    dueDate: event.scheduledAt,
    completedDate: event.completedAt,
    completedBy: event.completedBy,
    storedBy: event.storedBy,
    created: event.createdAt,
    lastUpdated: event.updatedAt,
    createdAtClient: event.createdAtClient,
    lastUpdatedAtClient: event.updatedAtClient,
    attributeOptionCombo: event.attributeOptionCombo,
    followup: event.followUp,
    deleted: event.deleted,
    geometry: event.geometry ?? undefined,
    assignedUser: isObject(event.assignedUser) ? event.assignedUser.uid : undefined,
    createdByUserInfo: isObject(event.createdBy) ? event.createdBy : undefined,
    lastUpdatedByUserInfo: isObject(event.updatedBy) ? event.updatedBy : undefined,
    dataValues: objects(event.dataValues).map((dv) =>
      compact({
        dataElement: dv.dataElement,
        value: dv.value,
        providedElsewhere: dv.providedElsewhere,
        storedBy: user(dv.storedBy),
        created: dv.createdAt,
        lastUpdated: dv.updatedAt,
      }),
    ),
    notes: objects(event.notes).map((n) =>
      compact({ note: n.note, value: n.value, storedBy: user(n.storedBy), storedDate: n.storedAt }),
    ),
  });
}

/** A relationship of the current export with 2.40's end names (`trackedEntityInstance`). */
export function currentRelationshipToLegacy(relationship: RawObject): RawObject {
  const end = (value: unknown): unknown => {
    if (!isObject(value)) return value;
    const out: RawObject = {};
    for (const [field, inner] of Object.entries(value)) {
      const legacy = field === 'trackedEntity' ? 'trackedEntityInstance' : field;
      const uid = isObject(inner) ? inner[field] : inner;
      out[legacy] = { [legacy]: uid };
    }
    return out;
  };
  return compact({
    relationship: relationship.relationship,
    relationshipType: relationship.relationshipType,
    relationshipName: relationship.relationshipName,
    bidirectional: relationship.bidirectional,
    created: relationship.createdAt,
    lastUpdated: relationship.updatedAt,
    createdAtClient: relationship.createdAtClient,
    from: end(relationship.from),
    to: end(relationship.to),
  });
}

/** An enrollment of the current export as 2.40 wrote it (`enrollmentDate`, `incidentDate`, ...). */
export function currentEnrollmentToLegacy(enrollment: RawObject): RawObject {
  return compact({
    enrollment: enrollment.enrollment,
    trackedEntityInstance: enrollment.trackedEntity,
    program: enrollment.program,
    status: enrollment.status,
    orgUnit: enrollment.orgUnit,
    enrollmentDate: enrollment.enrolledAt,
    incidentDate: enrollment.occurredAt,
    completedDate: enrollment.completedAt,
    completedBy: enrollment.completedBy,
    followup: enrollment.followUp,
    deleted: enrollment.deleted,
    storedBy: enrollment.storedBy,
    created: enrollment.createdAt,
    lastUpdated: enrollment.updatedAt,
    createdAtClient: enrollment.createdAtClient,
    lastUpdatedAtClient: enrollment.updatedAtClient,
    geometry: enrollment.geometry ?? undefined,
    notes: objects(enrollment.notes).map((n) =>
      compact({ note: n.note, value: n.value, storedBy: n.storedBy, storedDate: n.storedAt }),
    ),
    events:
      enrollment.events === undefined ? undefined : objects(enrollment.events).map(currentEventToLegacy),
  });
}

/**
 * A tracked entity of the current export as 2.40's `GET /api/trackedEntityInstances` wrote it; the
 * nested lists are there when the current export gave them (`fields=`).
 */
export function currentTrackedEntityToLegacy(trackedEntity: RawObject): RawObject {
  const list = (value: unknown, map: (o: RawObject) => RawObject) =>
    value === undefined ? undefined : objects(value).map(map);
  return compact({
    trackedEntityInstance: trackedEntity.trackedEntity,
    trackedEntityType: trackedEntity.trackedEntityType,
    orgUnit: trackedEntity.orgUnit,
    created: trackedEntity.createdAt,
    lastUpdated: trackedEntity.updatedAt,
    createdAtClient: trackedEntity.createdAtClient,
    lastUpdatedAtClient: trackedEntity.updatedAtClient,
    inactive: trackedEntity.inactive,
    deleted: trackedEntity.deleted,
    potentialDuplicate: trackedEntity.potentialDuplicate,
    storedBy: trackedEntity.storedBy,
    geometry: trackedEntity.geometry ?? undefined,
    attributes: list(trackedEntity.attributes, (a) =>
      compact({
        attribute: a.attribute,
        displayName: a.displayName,
        valueType: a.valueType,
        value: a.value,
        storedBy: a.storedBy,
        created: a.createdAt,
        lastUpdated: a.updatedAt,
      }),
    ),
    enrollments: list(trackedEntity.enrollments, currentEnrollmentToLegacy),
    relationships: list(trackedEntity.relationships, currentRelationshipToLegacy),
    programOwners: list(trackedEntity.programOwners, (o) =>
      compact({ ownerOrgUnit: o.orgUnit, program: o.program, trackedEntityInstance: o.trackedEntity }),
    ),
  });
}
