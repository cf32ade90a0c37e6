import type { SqlValue } from '../../storage/storage.ts';

/**
 * How tracker rows travel in a package: as DHIS2 tracker JSON objects (`event`, `program`,
 * `occurredAt`, ...) with UIDs for every reference, because integer keys differ between sites.
 * One table of column ↔ property mappings per tracker type serves the writer and the importer.
 */

export type TrackerKind = 'trackedEntity' | 'enrollment' | 'event' | 'relationship';

export interface TrackerColumn {
  column: string;
  property: string;
  /** A reference: to metadata of a collection, or to another tracker table's row by UID. */
  metadata?: string;
  tracker?: 'tracked_entity' | 'enrollment' | 'event';
  kind?: 'flag' | 'json' | 'text';
}

export interface TrackerSpec {
  kind: TrackerKind;
  table: 'tracked_entity' | 'enrollment' | 'event' | 'relationship';
  idColumn: string;
  /** The UID's property name in DHIS2's tracker JSON. */
  uidProperty: string;
  columns: readonly TrackerColumn[];
}

const STAMPS: readonly TrackerColumn[] = [
  { column: 'created', property: 'createdAt' },
  { column: 'updated', property: 'updatedAt' },
  { column: 'created_at_client', property: 'createdAtClient' },
  { column: 'updated_at_client', property: 'updatedAtClient' },
  { column: 'stored_by', property: 'storedBy' },
  { column: 'created_by', property: 'createdBy' },
  { column: 'updated_by', property: 'updatedBy' },
  { column: 'deleted', property: 'deleted', kind: 'flag' },
];

export const TRACKER_SPECS: Readonly<Record<TrackerKind, TrackerSpec>> = {
  trackedEntity: {
    kind: 'trackedEntity',
    table: 'tracked_entity',
    idColumn: 'tracked_entity_id',
    uidProperty: 'trackedEntity',
    columns: [
      { column: 'tracked_entity_type_id', property: 'trackedEntityType', metadata: 'trackedEntityTypes' },
      { column: 'org_unit_id', property: 'orgUnit', metadata: 'organisationUnits' },
      { column: 'inactive', property: 'inactive', kind: 'flag' },
      { column: 'potential_duplicate', property: 'potentialDuplicate', kind: 'flag' },
      { column: 'geometry', property: 'geometry', kind: 'json' },
      ...STAMPS,
    ],
  },
  enrollment: {
    kind: 'enrollment',
    table: 'enrollment',
    idColumn: 'enrollment_id',
    uidProperty: 'enrollment',
    columns: [
      { column: 'tracked_entity_id', property: 'trackedEntity', tracker: 'tracked_entity' },
      { column: 'program_id', property: 'program', metadata: 'programs' },
      { column: 'org_unit_id', property: 'orgUnit', metadata: 'organisationUnits' },
      { column: 'status', property: 'status' },
      { column: 'enrolled_at', property: 'enrolledAt' },
      { column: 'occurred_at', property: 'occurredAt' },
      { column: 'completed_at', property: 'completedAt' },
      { column: 'completed_by', property: 'completedBy' },
      { column: 'follow_up', property: 'followUp', kind: 'flag' },
      { column: 'geometry', property: 'geometry', kind: 'json' },
      ...STAMPS,
    ],
  },
  event: {
    kind: 'event',
    table: 'event',
    idColumn: 'event_id',
    uidProperty: 'event',
    columns: [
      { column: 'program_id', property: 'program', metadata: 'programs' },
      { column: 'program_stage_id', property: 'programStage', metadata: 'programStages' },
      { column: 'enrollment_id', property: 'enrollment', tracker: 'enrollment' },
      { column: 'org_unit_id', property: 'orgUnit', metadata: 'organisationUnits' },
      {
        column: 'attribute_option_combo_id',
        property: 'attributeOptionCombo',
        metadata: 'categoryOptionCombos',
      },
      { column: 'status', property: 'status' },
      { column: 'occurred_at', property: 'occurredAt' },
      { column: 'scheduled_at', property: 'scheduledAt' },
      { column: 'completed_at', property: 'completedAt' },
      { column: 'completed_by', property: 'completedBy' },
      { column: 'follow_up', property: 'followUp', kind: 'flag' },
      { column: 'assigned_user', property: 'assignedUser' },
      { column: 'geometry', property: 'geometry', kind: 'json' },
      // Kept in the stored compact form (tracker-store.ts, eventDataValues): the stamps travel too.
      { column: 'data_values', property: 'dataValues', kind: 'json' },
      ...STAMPS,
    ],
  },
  relationship: {
    kind: 'relationship',
    table: 'relationship',
    idColumn: 'relationship_id',
    uidProperty: 'relationship',
    columns: [
      { column: 'relationship_type_id', property: 'relationshipType', metadata: 'relationshipTypes' },
      { column: 'from_kind', property: 'fromKind' },
      { column: 'to_kind', property: 'toKind' },
      { column: 'bidirectional', property: 'bidirectional', kind: 'flag' },
      ...STAMPS,
    ],
  },
};

/** A relationship end's table by its stored kind. */
export const RELATIONSHIP_END_TABLES: Readonly<Record<string, 'tracked_entity' | 'enrollment' | 'event'>> = {
  TRACKED_ENTITY: 'tracked_entity',
  ENROLLMENT: 'enrollment',
  EVENT: 'event',
};

export function idColumnOf(table: 'tracked_entity' | 'enrollment' | 'event'): string {
  return table === 'tracked_entity'
    ? 'tracked_entity_id'
    : table === 'enrollment'
      ? 'enrollment_id'
      : 'event_id';
}

/** A stored column value as JSON: flags as booleans, JSON columns parsed. */
export function columnToJson(column: TrackerColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (column.kind === 'flag') return Number(value) === 1;
  if (column.kind === 'json') return typeof value === 'string' ? JSON.parse(value) : value;
  return value;
}

/** A JSON property back to a column value (references are resolved by the caller). */
export function jsonToColumn(column: TrackerColumn, value: unknown): SqlValue {
  if (value === null || value === undefined) return null;
  if (column.kind === 'flag') return value === true ? 1 : 0;
  if (column.kind === 'json') return JSON.stringify(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}
