import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { ENROLLMENT_STATUSES } from '../../domain/tracker/tracker-objects.ts';
import type { AnalysisVariable } from '../../domain/analysis/analysis-variables.ts';
import type { AnalysisSpool, SpooledRow } from './analysis-table.ts';
import type { ProgramShape, ProgramStageShape } from './analysis-program-metadata.ts';
import type { ProgramAnalysisRequest } from './analysis-program-request.ts';
import {
  BOOLEAN_VARIABLE,
  cell,
  combine,
  dateRange,
  eventRow,
  eventSelect,
  eventTable,
  inList,
  ORG_UNIT_VARIABLES,
  orgUnitCondition,
  OrgUnitsBySid,
  pointSql,
  queryRows,
  statusVariable,
  type Condition,
  type EventTable,
  type SpoolProgress,
} from './analysis-event-tables.ts';

/**
 * A tracker program's files, linked by id columns as Survey Solutions links roster files to their
 * parents: the tracked entities (a row each, with the program's attributes), their enrollments in
 * the program (a row each, with `tracked_entity_id`), and a file per program stage (a row per event,
 * with `enrollment_id`, `tracked_entity_id` and `occurrence`, the event's place among its
 * enrollment's events of that stage: 1, 2, ... for a repeatable stage).
 *
 * Read by keyset on tracked entities (BATCH at a time) that have an enrollment in the program
 * matching the filters; then those entities' matching enrollments, attribute values and, per stage,
 * their enrollments' events, each one query per batch. The org unit filter and view scope apply to
 * the enrollment's org unit; the date range to the enrollment date; `programStatus` to enrollments
 * and `status` to events.
 */

const BATCH = 500;

const ENROLLMENT_STATUS_LABELS: Record<string, string> = {
  ACTIVE: 'Active',
  COMPLETED: 'Completed',
  CANCELLED: 'Cancelled',
};

export interface TrackerTables {
  trackedEntities: { cellVariables: AnalysisVariable[] };
  enrollments: { cellVariables: AnalysisVariable[] };
  stages: { stage: ProgramStageShape; table: EventTable }[];
}

const ID = (name: string, label: string): AnalysisVariable => ({ name, label, kind: 'string' });

export function trackerTables(shape: ProgramShape): TrackerTables {
  const teLead = [ID('tracked_entity_id', 'Tracked entity ID')];
  const enLead = [ID('enrollment_id', 'Enrollment ID'), ID('tracked_entity_id', 'Tracked entity ID')];
  const stageLead = [
    ID('event_id', 'Event ID'),
    ID('enrollment_id', 'Enrollment ID'),
    ID('tracked_entity_id', 'Tracked entity ID'),
    {
      name: 'occurrence',
      label: 'Occurrence of the stage in the enrollment (1, 2, ...)',
      kind: 'integer',
    } as AnalysisVariable,
  ];
  return {
    trackedEntities: {
      cellVariables: [
        ...ORG_UNIT_VARIABLES,
        ...teLead,
        ID('tracked_entity_type', 'Tracked entity type'),
        BOOLEAN_VARIABLE('inactive', 'Inactive'),
        { name: 'latitude', label: 'Latitude', kind: 'number' },
        { name: 'longitude', label: 'Longitude', kind: 'number' },
        { name: 'created', label: 'Created on the server', kind: 'datetime' },
        { name: 'last_updated', label: 'Last updated on the server', kind: 'datetime' },
        ...shape.attributes.map((a) => a.variable),
      ],
    },
    enrollments: {
      cellVariables: [
        ...ORG_UNIT_VARIABLES,
        ...enLead,
        statusVariable('status', 'Enrollment status', ENROLLMENT_STATUSES, ENROLLMENT_STATUS_LABELS),
        {
          name: 'enrollment_date',
          label: String(shape.program.enrollmentDateLabel ?? '') || 'Enrollment date',
          kind: 'date',
        },
        {
          name: 'incident_date',
          label: String(shape.program.incidentDateLabel ?? '') || 'Incident date',
          kind: 'date',
        },
        { name: 'completed_date', label: 'Completed on', kind: 'date' },
        ID('completed_by', 'Completed by'),
        BOOLEAN_VARIABLE('follow_up', 'Marked for follow-up'),
        { name: 'latitude', label: 'Latitude', kind: 'number' },
        { name: 'longitude', label: 'Longitude', kind: 'number' },
        ID('stored_by', 'Stored by'),
        { name: 'created', label: 'Created on the server', kind: 'datetime' },
        { name: 'last_updated', label: 'Last updated on the server', kind: 'datetime' },
      ],
    },
    stages: shape.stages.map((stage) => ({ stage, table: eventTable(stageLead, stage.elements) })),
  };
}

export interface TrackerSpools {
  trackedEntities: AnalysisSpool;
  enrollments: AnalysisSpool;
  /** By stage UID. */
  stages: Map<string, AnalysisSpool>;
}

export interface TrackerCounts {
  trackedEntities: number;
  enrollments: number;
  events: number;
}

const flag = (value: unknown) =>
  value === null || value === undefined ? null : Number(value) === 1 ? 'true' : 'false';
const marks = (n: number) => Array.from({ length: n }, () => '?').join(', ');

/**
 * The enrollments a tracker program export takes (alias `en`: program, status, enrollment date, org
 * units within the view scope) and the tracked entity type's condition (alias `t`).
 */
async function trackerSelection(
  context: FerryContext,
  shape: ProgramShape,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
): Promise<{ enrollmentWhere: Condition; typeCondition: Condition }> {
  const enrollmentWhere = combine([
    { sql: 'en.program_id = ?', params: [shape.sid] },
    { sql: 'en.deleted = 0', params: [] },
    inList('en.status', request.programStatuses),
    dateRange('en.enrolled_at', request.startDate, request.endDate),
    await orgUnitCondition(context, 'en.org_unit_id', request.orgUnits, principal),
  ]);
  const typeCondition = shape.trackedEntityType
    ? { sql: 't.tracked_entity_type_id = ?', params: [shape.trackedEntityType.sid] }
    : { sql: '', params: [] };
  return { enrollmentWhere, typeCondition };
}

/**
 * The stage events a tracker program export takes (alias `e`), as `spoolTrackerProgram` reaches
 * them: readable stages and statuses, of the selected enrollments of tracked entities not deleted.
 */
export async function trackerEventCondition(
  context: FerryContext,
  shape: ProgramShape,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
): Promise<Condition> {
  const { enrollmentWhere, typeCondition } = await trackerSelection(context, shape, request, principal);
  const owners = combine([enrollmentWhere, { sql: 't.deleted = 0', params: [] }, typeCondition]);
  return combine([
    { sql: 'e.deleted = 0', params: [] },
    inList(
      'e.program_stage_id',
      shape.stages.map((s) => s.sid),
    ),
    inList('e.status', request.statuses),
    {
      sql: `e.enrollment_id IN (SELECT en.enrollment_id FROM enrollment en JOIN tracked_entity t ON t.tracked_entity_id = en.tracked_entity_id WHERE ${owners.sql})`,
      params: owners.params,
    },
  ]);
}

export async function spoolTrackerProgram(
  context: FerryContext,
  shape: ProgramShape,
  tables: TrackerTables,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
  spools: TrackerSpools,
  options: SpoolProgress,
): Promise<TrackerCounts> {
  const db = context.storage;
  const { enrollmentWhere, typeCondition } = await trackerSelection(context, shape, request, principal);
  const teWhere = combine([
    { sql: 't.deleted = 0', params: [] },
    typeCondition,
    {
      sql: `EXISTS (SELECT 1 FROM enrollment en WHERE en.tracked_entity_id = t.tracked_entity_id AND ${enrollmentWhere.sql})`,
      params: enrollmentWhere.params,
    },
  ]);
  const teSql =
    `SELECT t.tracked_entity_id, t.uid, t.org_unit_id, t.inactive, ${pointSql(db, 't.geometry', 1)} AS lat, ` +
    `${pointSql(db, 't.geometry', 0)} AS lng, t.created, t.updated FROM tracked_entity t ` +
    `WHERE ${teWhere.sql} AND t.tracked_entity_id > ? ORDER BY t.tracked_entity_id LIMIT ${BATCH}`;
  const orgUnits = new OrgUnitsBySid(db);
  const stageNames = new Map(shape.stages.map((s) => [s.sid, { uid: s.uid, name: s.name }]));
  const attributeColumn = new Map(shape.attributes.map((a, i) => [a.sid, i]));
  const counts: TrackerCounts = { trackedEntities: 0, enrollments: 0, events: 0 };
  let last = 0;
  let lastProgress = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const entities = await queryRows(db, teSql, [...teWhere.params, last]);
    if (entities.length === 0) break;
    last = Number(entities[entities.length - 1][0]);
    const ids = entities.map((t) => Number(t[0]));
    const teUid = new Map(entities.map((t) => [Number(t[0]), String(t[1])]));
    // Attribute values of the batch, by entity.
    const values = new Map<number, (string | null)[]>();
    if (shape.attributes.length > 0) {
      for (const [te, attribute, value] of await queryRows(
        db,
        `SELECT tracked_entity_id, attribute_id, value FROM tracked_entity_attribute_value WHERE tracked_entity_id IN (${marks(ids.length)})`,
        ids,
      )) {
        const column = attributeColumn.get(Number(attribute));
        if (column === undefined) continue;
        let row = values.get(Number(te));
        if (!row)
          values.set(Number(te), (row = new Array<string | null>(shape.attributes.length).fill(null)));
        row[column] = cell(value);
      }
    }
    const enrollments = await queryRows(
      db,
      `SELECT en.enrollment_id, en.uid, en.tracked_entity_id, en.org_unit_id, en.status, en.enrolled_at, en.occurred_at, ` +
        `en.completed_at, en.completed_by, en.follow_up, ${pointSql(db, 'en.geometry', 1)} AS lat, ` +
        `${pointSql(db, 'en.geometry', 0)} AS lng, en.stored_by, en.created, en.updated FROM enrollment en ` +
        `WHERE ${enrollmentWhere.sql} AND en.tracked_entity_id IN (${marks(ids.length)}) ORDER BY en.tracked_entity_id, en.enrollment_id`,
      [...enrollmentWhere.params, ...ids],
    );
    await orgUnits.load([...entities.map((t) => t[2]), ...enrollments.map((e) => e[3])]);
    for (const t of entities) {
      const unit = orgUnits.get(t[2]);
      const row: SpooledRow = [
        unit.levels,
        unit.uid,
        unit.code,
        unit.name,
        String(t[1]),
        shape.trackedEntityType?.name ?? null,
        flag(t[3]),
        cell(t[4]),
        cell(t[5]),
        cell(t[6]),
        cell(t[7]),
        ...(values.get(Number(t[0])) ?? new Array<string | null>(shape.attributes.length).fill(null)),
      ];
      await spools.trackedEntities.add(row);
    }
    const enrollmentUid = new Map<number, { uid: string; te: string }>();
    for (const e of enrollments) {
      const unit = orgUnits.get(e[3]);
      const te = teUid.get(Number(e[2])) ?? String(e[2]);
      enrollmentUid.set(Number(e[0]), { uid: String(e[1]), te });
      await spools.enrollments.add([
        unit.levels,
        unit.uid,
        unit.code,
        unit.name,
        String(e[1]),
        te,
        cell(e[4]),
        cell(e[5]),
        cell(e[6]),
        cell(e[7]),
        cell(e[8]),
        flag(e[9]),
        cell(e[10]),
        cell(e[11]),
        cell(e[12]),
        cell(e[13]),
        cell(e[14]),
      ]);
    }
    counts.trackedEntities += entities.length;
    counts.enrollments += enrollments.length;
    const enrollmentIds = [...enrollmentUid.keys()];
    if (enrollmentIds.length > 0) {
      for (const { stage, table } of tables.stages) {
        const where = combine([
          inList('e.enrollment_id', enrollmentIds),
          { sql: 'e.program_stage_id = ?', params: [stage.sid] },
          { sql: 'e.deleted = 0', params: [] },
          inList('e.status', request.statuses),
        ]);
        const events = await queryRows(
          db,
          `SELECT ${eventSelect(db, table.elements)} FROM event e WHERE ${where.sql} ` +
            'ORDER BY e.enrollment_id, COALESCE(e.occurred_at, e.scheduled_at), e.event_id',
          where.params,
        );
        await orgUnits.load(events.map((e) => e[2]));
        const spool = spools.stages.get(stage.uid)!;
        let previous = -1;
        let occurrence = 0;
        for (const event of events) {
          const enrollment = Number(event[14]);
          occurrence = enrollment === previous ? occurrence + 1 : 1;
          previous = enrollment;
          const owner = enrollmentUid.get(enrollment)!;
          await spool.add(
            eventRow(
              event,
              [cell(event[1]), owner.uid, owner.te, String(occurrence)],
              orgUnits,
              stageNames,
              table.elements.length,
            ),
          );
        }
        counts.events += events.length;
      }
    }
    if (Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      options.progress?.(`Reading tracked entities of ${shape.stem}`, counts.trackedEntities);
    }
    if (entities.length < BATCH) break;
  }
  return counts;
}
