import type { DatabaseKind } from '../storage.ts';

/**
 * Tracker data (issue 12): tracked entities, their attribute values and program owners,
 * enrollments, events, relationships, notes and the audit of changes.
 *
 * Keys: every table has an integer surrogate key (`*_id`) used by the others, and the DHIS2 UID in a
 * unique column; metadata (org units, programs, stages, types, attributes) is referred to by
 * `metadata_object.sid`, as data values do. Integer keys keep the child tables and their indexes
 * small (an 8-byte key instead of an 11-character UID per reference) at tens of millions of events.
 *
 * Event data values live in one JSON column per event (`event.data_values`, JSONB on PostgreSQL):
 * an object keyed by data element UID, each entry `{value, providedElsewhere, createdAt, updatedAt,
 * storedBy}`. An export and the analysis read an event and all of its values in one row of one
 * keyset-paged scan, with no second query per event and no join that multiplies rows by values; an
 * import writes one row per event. The price is that a query on one data element's value scans
 * events rather than an index, which no DHIS2 tracker export filter needs today (a JSONB
 * expression index can be added later if one does).
 *
 * Times are ISO-8601 text as everywhere else in Ferry: `created`/`updated` are the server's,
 * `*_at_client` the client's. Deletes are soft (`deleted = 1`), as in DHIS2: the UID stays taken.
 */
function trackerSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const flag = pg ? 'SMALLINT' : 'INTEGER';
  const json = pg ? 'JSONB' : 'TEXT';
  const strict = pg ? '' : ' STRICT';
  const stamps = `
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  created_at_client TEXT,
  updated_at_client TEXT,
  stored_by TEXT,
  created_by TEXT,
  updated_by TEXT,
  deleted ${flag} NOT NULL DEFAULT 0`;
  return `
CREATE TABLE tracked_entity (
  tracked_entity_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  tracked_entity_type_id ${int} NOT NULL,
  org_unit_id ${int} NOT NULL,
  inactive ${flag} NOT NULL DEFAULT 0,
  potential_duplicate ${flag} NOT NULL DEFAULT 0,
  geometry ${json},${stamps}
)${strict};
-- Exports name a tracked entity type (or a program) and read newest first by keyset on the key:
-- (type, key) is that order, so each step is a range read with no sort; org unit and time filters
-- are checked on the rows read.
CREATE INDEX tracked_entity_type ON tracked_entity (tracked_entity_type_id, tracked_entity_id);

CREATE TABLE tracked_entity_attribute_value (
  tracked_entity_id ${int} NOT NULL REFERENCES tracked_entity (tracked_entity_id),
  attribute_id ${int} NOT NULL,
  value TEXT NOT NULL,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  stored_by TEXT,
  PRIMARY KEY (tracked_entity_id, attribute_id)
)${strict};
-- E1064: a unique attribute's value must not be held by another tracked entity; the import looks
-- values up by (attribute, value) in bulk.
CREATE INDEX tracked_entity_attribute_value_unique ON tracked_entity_attribute_value (attribute_id, value);

-- The owner org unit of a tracked entity per program (DHIS2's trackedentityprogramowner): the org
-- unit that decides who may see and change the entity's data in that program.
CREATE TABLE tracked_entity_program_owner (
  tracked_entity_id ${int} NOT NULL REFERENCES tracked_entity (tracked_entity_id),
  program_id ${int} NOT NULL,
  org_unit_id ${int} NOT NULL,
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  PRIMARY KEY (tracked_entity_id, program_id)
)${strict};

CREATE TABLE enrollment (
  enrollment_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  tracked_entity_id ${int} NOT NULL REFERENCES tracked_entity (tracked_entity_id),
  program_id ${int} NOT NULL,
  org_unit_id ${int} NOT NULL,
  status TEXT NOT NULL,
  enrolled_at TEXT,
  occurred_at TEXT,
  completed_at TEXT,
  completed_by TEXT,
  follow_up ${flag} NOT NULL DEFAULT 0,
  geometry ${json},${stamps}
)${strict};
-- Nesting enrollments under their tracked entities in an export, and "enrolled once" checks.
CREATE INDEX enrollment_tracked_entity ON enrollment (tracked_entity_id, program_id);
-- GET /api/tracker/enrollments?program=: keyset order within one program, no sort.
CREATE INDEX enrollment_program ON enrollment (program_id, enrollment_id);

CREATE TABLE event (
  event_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  program_id ${int} NOT NULL,
  program_stage_id ${int} NOT NULL,
  enrollment_id ${int} REFERENCES enrollment (enrollment_id),
  org_unit_id ${int} NOT NULL,
  attribute_option_combo_id ${int},
  status TEXT NOT NULL,
  occurred_at TEXT,
  scheduled_at TEXT,
  completed_at TEXT,
  completed_by TEXT,
  follow_up ${flag} NOT NULL DEFAULT 0,
  assigned_user TEXT,
  geometry ${json},
  data_values ${json} NOT NULL,${stamps}
)${strict};
-- GET /api/tracker/events?program=: every export of size names a program (or a stage, which
-- implies it) and is read newest first by keyset on event_id; (program, event_id) is that order, so
-- each step of 1,000 is a range read with no sort (an index led by org unit made SQLite sort the
-- whole program's events for every step). Org unit, stage, status and date filters are checked on
-- the rows read.
CREATE INDEX event_program ON event (program_id, event_id);
-- Nesting events under enrollments (tracked entity exports, fields=enrollments[events]).
CREATE INDEX event_enrollment ON event (enrollment_id) WHERE enrollment_id IS NOT NULL;

-- A relationship end is one of three kinds of object, referred to by the kind and its table's key.
CREATE TABLE relationship (
  relationship_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  relationship_type_id ${int} NOT NULL,
  from_kind TEXT NOT NULL,
  from_id ${int} NOT NULL,
  to_kind TEXT NOT NULL,
  to_id ${int} NOT NULL,
  bidirectional ${flag} NOT NULL DEFAULT 0,${stamps}
)${strict};
-- GET /api/tracker/relationships?trackedEntity=|enrollment=|event= and nesting under an object:
-- relationships are found from either end.
CREATE INDEX relationship_from ON relationship (from_kind, from_id);
CREATE INDEX relationship_to ON relationship (to_kind, to_id);

CREATE TABLE tracker_note (
  note_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  enrollment_id ${int} REFERENCES enrollment (enrollment_id),
  event_id ${int} REFERENCES event (event_id),
  value TEXT NOT NULL,
  stored_by TEXT,
  stored_at TEXT NOT NULL,
  created_by TEXT
)${strict};
-- Notes are read with their enrollment or event.
CREATE INDEX tracker_note_enrollment ON tracker_note (enrollment_id) WHERE enrollment_id IS NOT NULL;
CREATE INDEX tracker_note_event ON tracker_note (event_id) WHERE event_id IS NOT NULL;

-- Who changed what, from what to what, by which job: written on every update and delete (a create
-- is the object's own created/created_by). previous/current are the object's stored form before and
-- after. Read per object (paradata of an event, history of a tracked entity).
CREATE TABLE tracker_audit (
  audit_id ${serial},
  tracker_type TEXT NOT NULL,
  object_id ${int} NOT NULL,
  uid TEXT NOT NULL,
  audit_type TEXT NOT NULL,
  previous ${json},
  current ${json},
  modified_by TEXT,
  job_id TEXT,
  created TEXT NOT NULL
)${strict};
CREATE INDEX tracker_audit_object ON tracker_audit (tracker_type, object_id);
`;
}

/** Shaped as migrations.ts's Migration, which lists these (not imported here: no import circle). */
export const TRACKER_MIGRATIONS: ReadonlyArray<{
  readonly version: number;
  readonly name: string;
  readonly sql: Readonly<Record<DatabaseKind, string>>;
}> = [
  {
    version: 6,
    name: 'tracker data',
    sql: { sqlite: trackerSql('sqlite'), postgres: trackerSql('postgres') },
  },
];
