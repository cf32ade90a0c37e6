import type { Principal } from '../../domain/access/principal.ts';
import { canDataRead, canDataWrite, type SharingSubject } from '../../domain/access/data-sharing.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';
import { checkValue } from '../../domain/data-values/data-value-validation.ts';
import { isValueType } from '../../domain/value-types/value-types.ts';
import { isValidUid } from '../../domain/identifiers/uid.ts';
import {
  ENROLLMENT_STATUSES,
  EVENT_STATUSES,
  type EnrollmentInput,
  type EventInput,
  type RelationshipInput,
  type TrackedEntityInput,
  type TrackerAttributeValue,
  type TrackerBundle,
  type TrackerNote,
  type TrackerType,
} from '../../domain/tracker/tracker-objects.ts';
import {
  trackerError,
  type TrackerErrorReport,
  type TrackerValidationCode,
} from '../../domain/tracker/tracker-import-report.ts';
import type { TrackerImportParams } from '../../domain/tracker/tracker-import-params.ts';
import { TrackerStore, type StoredEnrollment, type StoredEvent } from '../../storage/tracker-store.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { Meta, TrackerPreheat } from './tracker-import-preheat.ts';
import { checkEventCategories, loadEventCategories } from './tracker-import-categories.ts';
import { checkEventDates } from './tracker-import-dates.ts';

export type TrackerAction = 'create' | 'update' | 'delete';

export interface Planned<T> {
  input: T;
  uid: string;
  action: TrackerAction;
  errors: TrackerErrorReport[];
  /** Warnings (program rules'); they do not stop the object. */
  warnings?: TrackerErrorReport[];
}

export interface TrackerPlan {
  trackedEntities: Planned<TrackedEntityInput>[];
  enrollments: Planned<EnrollmentInput>[];
  events: Planned<EventInput>[];
  relationships: Planned<RelationshipInput>[];
}

const refId = (value: unknown): string | undefined => {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
};

const CASCADE_TE = 'F_TEI_CASCADE_DELETE';
const UNCOMPLETE_EVENT = 'F_UNCOMPLETE_EVENT';
const MAX_ATTRIBUTE_VALUE_LENGTH = 1200;
const CASCADE_ENROLLMENT = 'F_ENROLLMENT_CASCADE_DELETE';

/** DHIS2's relationship constraint entity names for each tracker type. */
const CONSTRAINT_ENTITY: Record<TrackerType, string> = {
  TRACKED_ENTITY: 'TRACKED_ENTITY_INSTANCE',
  ENROLLMENT: 'PROGRAM_INSTANCE',
  EVENT: 'PROGRAM_STAGE_INSTANCE',
  RELATIONSHIP: '',
};

/**
 * Validates a flattened payload with DHIS2's codes, type by type in dependency order, so that a child
 * whose parent failed gets E5000. Reads only the preheat and, for cascade and uniqueness checks, the
 * store; writes nothing.
 */
export async function validateTrackerBundle(
  db: SqlExecutor,
  bundle: TrackerBundle,
  preheat: TrackerPreheat,
  params: TrackerImportParams,
  principal: Principal | undefined,
  /** UIDs seen in the payload's earlier chunks, by type (a UID given twice is refused). */
  seen: Map<TrackerType, Set<string>> = new Map(),
  /** UIDs of objects that failed in earlier chunks: their children get E5000. */
  failedEarlier: ReadonlySet<string> = new Set(),
): Promise<TrackerPlan> {
  const store = new TrackerStore(db);
  const strategy = params.importStrategy;
  const who = principal?.username ?? 'system';
  const superuser = !principal || principal.authorities.has('ALL');
  const has = (authority: string) => superuser || principal!.authorities.has(authority);
  // DHIS2's validationMode=SKIP, honoured for superusers only (others get FULL, as in DHIS2). Ferry
  // still checks everything its writer relies on (references, existence, access, value types) and
  // skips the data-quality rules: event dates and category option dates.
  const skipDataQuality = params.validationMode === 'SKIP' && superuser;
  // Data sharing of programs, stages, tracked entity types and category options, as DHIS2's
  // TrackerImportAccessManager checks it (users with ALL and the operator pass).
  const sharing: SharingSubject | undefined =
    principal && !superuser
      ? { userUid: principal.uid, userGroupUids: principal.userGroupUids, superuser: false }
      : undefined;
  const canWrite = (meta: Meta | undefined) => !sharing || !meta || canDataWrite(meta.object, sharing);
  const canRead = (meta: Meta | undefined) => !sharing || !meta || canDataRead(meta.object, sharing);

  const inCaptureScope = (orgUnitUid: string | undefined): boolean =>
    superuser ||
    (orgUnitUid !== undefined && isInScope(preheat.orgUnitPaths.get(orgUnitUid), principal!.captureOrgUnits));
  const inScopeBySid = (sid: number): boolean => {
    const uid = preheat.uidBySid.get(sid);
    return (
      superuser || (uid !== undefined && isInScope(preheat.orgUnitPaths.get(uid), principal!.captureOrgUnits))
    );
  };

  /** The action a strategy gives an object, or the error when the object's existence contradicts it. */
  const decide = (
    type: TrackerType,
    uid: string,
    stored: { deleted: boolean } | undefined,
    codes: { exists: TrackerValidationCode; missing: TrackerValidationCode; deleted: TrackerValidationCode },
  ): { action: TrackerAction; error?: TrackerErrorReport } => {
    if (!isValidUid(uid)) return { action: 'create', error: trackerError('E1048', type, uid, [type, uid]) };
    const action: TrackerAction =
      strategy === 'DELETE'
        ? 'delete'
        : strategy === 'CREATE'
          ? 'create'
          : strategy === 'UPDATE'
            ? 'update'
            : stored
              ? 'update'
              : 'create';
    if (action === 'create' && stored) return { action, error: trackerError(codes.exists, type, uid, [uid]) };
    if (action !== 'create' && !stored)
      return { action, error: trackerError(codes.missing, type, uid, [uid]) };
    if (action !== 'create' && stored?.deleted)
      return { action, error: trackerError(codes.deleted, type, uid, [uid]) };
    return { action };
  };

  const duplicate = (type: TrackerType, uid: string) => {
    let set = seen.get(type);
    if (!set) seen.set(type, (set = new Set()));
    if (set.has(uid)) return true;
    set.add(uid);
    return false;
  };

  const checkAttributeValue = (
    type: TrackerType,
    uid: string,
    a: TrackerAttributeValue,
    errors: TrackerErrorReport[],
  ): Meta | undefined => {
    const attribute = preheat.get('trackedEntityAttributes', a.attribute);
    if (!attribute) {
      errors.push(trackerError('E1006', type, uid, [a.attribute]));
      return undefined;
    }
    if (a.value === '') return attribute; // an empty value removes the attribute value
    // DHIS2's E1077: an attribute value is at most 1,200 characters (its Constant.MAX_ATTR_VALUE_LENGTH).
    if (a.value.length > MAX_ATTRIBUTE_VALUE_LENGTH)
      errors.push(trackerError('E1077', type, uid, [a.value, MAX_ATTRIBUTE_VALUE_LENGTH]));
    const valueType = attribute.object.valueType;
    if (isValueType(valueType)) {
      const check = checkValue(valueType, a.value);
      if (!check.ok) errors.push(trackerError('E1007', type, uid, [valueType, check.reason]));
    }
    const optionSet = refId(attribute.object.optionSet);
    if (optionSet && !preheat.optionCodes.get(optionSet)?.has(a.value))
      errors.push(trackerError('E1125', type, uid, [a.value, optionSet]));
    return attribute;
  };

  // DHIS2's E1119, a warning: a note whose UID is taken is left out (notes are never changed); the
  // writer skips it. Looked up once for the chunk.
  const noteUids = [...bundle.enrollments, ...bundle.events].flatMap((o) =>
    o.notes.filter((n) => n.value !== '' && n.note).map((n) => n.note!),
  );
  const takenNotes = noteUids.length > 0 ? await store.noteUids(noteUids) : new Set<string>();
  const noteWarnings = (type: TrackerType, uid: string, notes: readonly TrackerNote[]) => {
    const out: TrackerErrorReport[] = [];
    for (const n of notes)
      if (n.value !== '' && n.note && takenNotes.has(n.note))
        out.push(trackerError('E1119', type, uid, [n.note]));
    return out.length > 0 ? out : undefined;
  };

  // Tracked entities ----------------------------------------------------------------------------
  const trackedEntities: Planned<TrackedEntityInput>[] = [];
  for (const te of bundle.trackedEntities) {
    const uid = te.trackedEntity;
    const errors: TrackerErrorReport[] = [];
    const stored = preheat.trackedEntities.get(uid);
    const { action, error } = decide('TRACKED_ENTITY', uid, stored, {
      exists: 'E1002',
      missing: 'E1063',
      deleted: 'E1114',
    });
    if (duplicate('TRACKED_ENTITY', uid)) errors.push(trackerError('E1002', 'TRACKED_ENTITY', uid, [uid]));
    else if (error) errors.push(error);
    if (stored && !stored.deleted && !inScopeBySid(stored.orgUnitId))
      errors.push(
        trackerError('E1000', 'TRACKED_ENTITY', uid, [who, preheat.uidBySid.get(stored.orgUnitId)]),
      );
    if (!error) {
      // DHIS2's E1001: creating, changing or deleting a tracked entity takes data write on its type.
      const typeUid =
        action === 'delete' && stored
          ? preheat.uidBySid.get(stored.trackedEntityTypeId)
          : (te.trackedEntityType ?? (stored ? preheat.uidBySid.get(stored.trackedEntityTypeId) : undefined));
      const type = preheat.get('trackedEntityTypes', typeUid);
      if (type && !canWrite(type))
        errors.push(trackerError('E1001', 'TRACKED_ENTITY', uid, [who, type.object.id]));
    }
    if (error) {
      // Existence decided it: nothing more to check (DHIS2 stops here too).
    } else if (action === 'delete') {
      if (stored && !stored.deleted && !has(CASCADE_TE)) {
        const live = await store.enrollmentsOfTrackedEntities([stored.id]);
        if (live.length > 0) errors.push(trackerError('E1100', 'TRACKED_ENTITY', uid, [who, uid]));
      }
    } else {
      const type = preheat.get('trackedEntityTypes', te.trackedEntityType);
      if (!te.trackedEntityType)
        errors.push(trackerError('E1121', 'TRACKED_ENTITY', uid, ['trackedEntityType']));
      else if (!type) errors.push(trackerError('E1005', 'TRACKED_ENTITY', uid, [te.trackedEntityType]));
      if (!te.orgUnit) errors.push(trackerError('E1121', 'TRACKED_ENTITY', uid, ['orgUnit']));
      else if (!preheat.get('organisationUnits', te.orgUnit))
        errors.push(trackerError('E1049', 'TRACKED_ENTITY', uid, [te.orgUnit]));
      else if (!inCaptureScope(te.orgUnit))
        errors.push(trackerError('E1000', 'TRACKED_ENTITY', uid, [who, te.orgUnit]));
      for (const a of te.attributes) checkAttributeValue('TRACKED_ENTITY', uid, a, errors);
      // DHIS2's E1126: an update may not change what the tracked entity is.
      if (
        action === 'update' &&
        stored &&
        te.trackedEntityType &&
        te.trackedEntityType !== preheat.uidBySid.get(stored.trackedEntityTypeId)
      )
        errors.push(trackerError('E1126', 'TRACKED_ENTITY', uid, ['trackedEntityType']));
      if (type) {
        const given = new Set(te.attributes.filter((a) => a.value !== '').map((a) => a.attribute));
        const storedValues = stored ? preheat.attributeValues.get(stored.id) : undefined;
        for (const teta of (type.object.trackedEntityTypeAttributes as Record<string, unknown>[]) ?? []) {
          const attributeUid = refId(teta.trackedEntityAttribute);
          if (teta.mandatory !== true || !attributeUid || given.has(attributeUid)) continue;
          const sid = preheat.get('trackedEntityAttributes', attributeUid)?.sid;
          if (sid !== undefined && storedValues?.has(sid)) continue;
          errors.push(trackerError('E1090', 'TRACKED_ENTITY', uid, [attributeUid, type.object.id, uid]));
        }
      }
    }
    trackedEntities.push({ input: te, uid, action, errors });
  }
  const teByUid = new Map(trackedEntities.map((p) => [p.uid, p]));

  // Enrollments ---------------------------------------------------------------------------------
  const enrollments: Planned<EnrollmentInput>[] = [];
  const enrolledPrograms = new Map<string, string[]>(); // "te|program" → statuses in this payload
  // Stored enrollments of the payload's stored tracked entities, read once (E1015, E1016).
  let storedEnrollments: Map<number, StoredEnrollment[]> | undefined;
  const storedEnrollmentsOf = async () => {
    if (!storedEnrollments) {
      storedEnrollments = new Map();
      const ids = bundle.enrollments
        .map((e) => (e.trackedEntity ? preheat.trackedEntities.get(e.trackedEntity)?.id : undefined))
        .filter((id): id is number => id !== undefined);
      for (const e of await store.enrollmentsOfTrackedEntities(ids)) {
        const list = storedEnrollments.get(e.trackedEntityId) ?? [];
        list.push(e);
        storedEnrollments.set(e.trackedEntityId, list);
      }
    }
    return storedEnrollments;
  };
  for (const en of bundle.enrollments) {
    const uid = en.enrollment;
    const errors: TrackerErrorReport[] = [];
    const stored = preheat.enrollments.get(uid);
    const { action, error } = decide('ENROLLMENT', uid, stored, {
      exists: 'E1080',
      missing: 'E1081',
      deleted: 'E1113',
    });
    if (duplicate('ENROLLMENT', uid)) errors.push(trackerError('E1080', 'ENROLLMENT', uid, [uid]));
    else if (error) errors.push(error);
    if (stored && !stored.deleted && !inScopeBySid(stored.orgUnitId))
      errors.push(trackerError('E1000', 'ENROLLMENT', uid, [who, preheat.uidBySid.get(stored.orgUnitId)]));
    if (!error) {
      // DHIS2's E1091 and E1104: an enrollment takes data write on its program and data read on
      // the program's tracked entity type.
      const program = preheat.get(
        'programs',
        action === 'delete' && stored ? preheat.uidBySid.get(stored.programId) : (en.program ?? undefined),
      );
      if (program && !canWrite(program))
        errors.push(trackerError('E1091', 'ENROLLMENT', uid, [who, program.object.id]));
      const type = program
        ? preheat.get('trackedEntityTypes', refId(program.object.trackedEntityType))
        : undefined;
      if (program && type && !canRead(type))
        errors.push(trackerError('E1104', 'ENROLLMENT', uid, [who, program.object.id, type.object.id]));
    }
    if (error) {
      // Existence decided it.
    } else if (action === 'delete') {
      if (stored && !stored.deleted && !has(CASCADE_ENROLLMENT)) {
        const live = await store.eventsOfEnrollments([stored.id]);
        if (live.length > 0) errors.push(trackerError('E1103', 'ENROLLMENT', uid, [who, uid]));
      }
    } else {
      const program = preheat.get('programs', en.program);
      if (!en.program) errors.push(trackerError('E1122', 'ENROLLMENT', uid, ['program']));
      else if (!program) errors.push(trackerError('E1069', 'ENROLLMENT', uid, [en.program]));
      else if (program.object.programType !== 'WITH_REGISTRATION')
        errors.push(trackerError('E1014', 'ENROLLMENT', uid, [en.program]));
      // DHIS2's E1127: an update may not move the enrollment to another program or tracked entity.
      if (action === 'update' && stored) {
        if (en.program && en.program !== preheat.uidBySid.get(stored.programId))
          errors.push(trackerError('E1127', 'ENROLLMENT', uid, ['program']));
        if (en.trackedEntity && preheat.trackedEntities.get(en.trackedEntity)?.id !== stored.trackedEntityId)
          errors.push(trackerError('E1127', 'ENROLLMENT', uid, ['trackedEntity']));
      }
      if (!(ENROLLMENT_STATUSES as readonly string[]).includes(en.status))
        errors.push(trackerError('E1122', 'ENROLLMENT', uid, ['status']));
      const parent = en.trackedEntity ? teByUid.get(en.trackedEntity) : undefined;
      const storedTe = en.trackedEntity ? preheat.trackedEntities.get(en.trackedEntity) : undefined;
      if (!en.trackedEntity) errors.push(trackerError('E1122', 'ENROLLMENT', uid, ['trackedEntity']));
      else if ((parent && parent.errors.length > 0) || failedEarlier.has(en.trackedEntity)) {
        // DHIS2 sets aside the children of a failed object: E5000 alone.
        errors.push(
          trackerError('E5000', 'ENROLLMENT', uid, ['ENROLLMENT', uid, 'TRACKED_ENTITY', en.trackedEntity]),
        );
        enrollments.push({ input: en, uid, action, errors });
        continue;
      } else if ((!parent || parent.action === 'delete') && (!storedTe || storedTe.deleted))
        errors.push(trackerError('E1068', 'ENROLLMENT', uid, [en.trackedEntity]));
      if (!en.orgUnit) errors.push(trackerError('E1122', 'ENROLLMENT', uid, ['orgUnit']));
      else if (!preheat.get('organisationUnits', en.orgUnit))
        errors.push(trackerError('E1070', 'ENROLLMENT', uid, [en.orgUnit]));
      else {
        if (!inCaptureScope(en.orgUnit))
          errors.push(trackerError('E1000', 'ENROLLMENT', uid, [who, en.orgUnit]));
        if (program && !programHasOrgUnit(program, en.orgUnit))
          errors.push(trackerError('E1041', 'ENROLLMENT', uid, [en.orgUnit, program.object.id]));
      }
      if (!en.enrolledAt) errors.push(trackerError('E1025', 'ENROLLMENT', uid, []));
      else if (
        Date.parse(en.enrolledAt) > Date.now() &&
        program?.object.selectEnrollmentDatesInFuture !== true
      )
        errors.push(trackerError('E1020', 'ENROLLMENT', uid, [en.enrolledAt]));
      if (
        en.occurredAt &&
        Date.parse(en.occurredAt) > Date.now() &&
        program?.object.selectIncidentDatesInFuture !== true
      )
        errors.push(trackerError('E1021', 'ENROLLMENT', uid, [en.occurredAt]));
      if (program?.object.displayIncidentDate === true && !en.occurredAt)
        errors.push(trackerError('E1023', 'ENROLLMENT', uid, []));
      if (program) {
        const teType =
          parent?.input.trackedEntityType ??
          (storedTe ? preheat.uidBySid.get(storedTe.trackedEntityTypeId) : undefined);
        const programType = refId(program.object.trackedEntityType);
        if (programType && teType && teType !== programType)
          errors.push(trackerError('E1022', 'ENROLLMENT', uid, [en.trackedEntity, program.object.id]));
        const programAttributes = new Map<string, Record<string, unknown>>();
        for (const ptea of (program.object.programTrackedEntityAttributes as Record<string, unknown>[]) ??
          []) {
          const a = refId(ptea.trackedEntityAttribute);
          if (a) programAttributes.set(a, ptea);
        }
        for (const a of en.attributes) {
          if (!programAttributes.has(a.attribute))
            errors.push(trackerError('E1019', 'ENROLLMENT', uid, [a.attribute]));
          else checkAttributeValue('ENROLLMENT', uid, a, errors);
        }
        const given = new Set(
          [...en.attributes, ...(parent?.input.attributes ?? [])]
            .filter((a) => a.value !== '')
            .map((a) => a.attribute),
        );
        const storedValues = storedTe ? preheat.attributeValues.get(storedTe.id) : undefined;
        for (const [attributeUid, ptea] of programAttributes) {
          if (ptea.mandatory !== true || given.has(attributeUid)) continue;
          const sid = preheat.get('trackedEntityAttributes', attributeUid)?.sid;
          if (sid !== undefined && storedValues?.has(sid)) continue;
          errors.push(trackerError('E1018', 'ENROLLMENT', uid, [attributeUid, program.object.id, uid]));
        }
        if (en.trackedEntity && action === 'create') {
          // Enrolled before: in this payload, or stored (not deleted, not cancelled).
          const key = `${en.trackedEntity}|${program.object.id}`;
          const earlier = [
            ...(enrolledPrograms.get(key) ?? []),
            ...(storedTe ? ((await storedEnrollmentsOf()).get(storedTe.id) ?? []) : [])
              .filter((e) => e.programId === program.sid && e.status !== 'CANCELLED')
              .map((e) => e.status),
          ];
          if (program.object.onlyEnrollOnce === true && earlier.length > 0)
            errors.push(trackerError('E1016', 'ENROLLMENT', uid, [en.trackedEntity, program.object.id]));
          else if (en.status === 'ACTIVE' && earlier.includes('ACTIVE'))
            errors.push(trackerError('E1015', 'ENROLLMENT', uid, [en.trackedEntity, program.object.id]));
          enrolledPrograms.set(key, [...(enrolledPrograms.get(key) ?? []), en.status]);
        }
      }
    }
    enrollments.push({ input: en, uid, action, errors, warnings: noteWarnings('ENROLLMENT', uid, en.notes) });
  }
  const enByUid = new Map(enrollments.map((p) => [p.uid, p]));

  // Events --------------------------------------------------------------------------------------
  const events: Planned<EventInput>[] = [];
  const categories = await loadEventCategories(db, bundle, preheat);
  const stagesTaken = new Set<string>(); // "enrollment|stage" of events created in this payload
  // Stored events of the payload's stored enrollments, read once (E1039).
  let storedEvents: Map<number, StoredEvent[]> | undefined;
  const storedEventsOf = async () => {
    if (!storedEvents) {
      storedEvents = new Map();
      const ids = bundle.events
        .map((e) => (e.enrollment ? preheat.enrollments.get(e.enrollment)?.id : undefined))
        .filter((id): id is number => id !== undefined);
      for (const e of await store.eventsOfEnrollments(ids)) {
        const list = storedEvents.get(e.enrollmentId!) ?? [];
        list.push(e);
        storedEvents.set(e.enrollmentId!, list);
      }
    }
    return storedEvents;
  };
  for (const ev of bundle.events) {
    const uid = ev.event;
    const errors: TrackerErrorReport[] = [];
    const stored = preheat.events.get(uid);
    const { action, error } = decide('EVENT', uid, stored, {
      exists: 'E1030',
      missing: 'E1032',
      deleted: 'E1082',
    });
    if (duplicate('EVENT', uid)) errors.push(trackerError('E1030', 'EVENT', uid, [uid]));
    else if (error) errors.push(error);
    if (stored && !stored.deleted && !inScopeBySid(stored.orgUnitId))
      errors.push(trackerError('E1000', 'EVENT', uid, [who, preheat.uidBySid.get(stored.orgUnitId)]));
    if (!error && sharing) {
      // DHIS2's E1091, E1095, E1096: an event of a program without registration takes data write on
      // the program; one of a tracker program data write on its stage and data read on the program.
      const deleting = action === 'delete' && stored;
      const stage = preheat.get(
        'programStages',
        deleting ? preheat.uidBySid.get(stored.programStageId) : ev.programStage,
      );
      const program = preheat.get(
        'programs',
        deleting ? preheat.uidBySid.get(stored.programId) : (ev.program ?? refId(stage?.object.program)),
      );
      if (program?.object.programType === 'WITH_REGISTRATION') {
        if (stage && !canWrite(stage))
          errors.push(trackerError('E1095', 'EVENT', uid, [who, stage.object.id]));
        if (!canRead(program)) errors.push(trackerError('E1096', 'EVENT', uid, [who, program.object.id]));
      } else if (program && !canWrite(program))
        errors.push(trackerError('E1091', 'EVENT', uid, [who, program.object.id]));
    }
    if (action !== 'delete' && !error) {
      const stage = preheat.get('programStages', ev.programStage);
      if (!ev.programStage) errors.push(trackerError('E1123', 'EVENT', uid, ['programStage']));
      else if (!stage) errors.push(trackerError('E1013', 'EVENT', uid, [ev.programStage]));
      const programUid = ev.program ?? refId(stage?.object.program);
      const program = preheat.get('programs', programUid);
      if (!programUid) errors.push(trackerError('E1123', 'EVENT', uid, ['program']));
      else if (!program) errors.push(trackerError('E1010', 'EVENT', uid, [programUid]));
      else if (stage && refId(stage.object.program) !== program.object.id)
        errors.push(trackerError('E1089', 'EVENT', uid, [uid, stage.object.id, program.object.id]));
      if (!(EVENT_STATUSES as readonly string[]).includes(ev.status))
        errors.push(trackerError('E1123', 'EVENT', uid, ['status']));
      if (!ev.orgUnit) errors.push(trackerError('E1123', 'EVENT', uid, ['orgUnit']));
      else if (!preheat.get('organisationUnits', ev.orgUnit))
        errors.push(trackerError('E1011', 'EVENT', uid, [ev.orgUnit]));
      else {
        if (!inCaptureScope(ev.orgUnit)) errors.push(trackerError('E1000', 'EVENT', uid, [who, ev.orgUnit]));
        if (program && !programHasOrgUnit(program, ev.orgUnit))
          errors.push(trackerError('E1029', 'EVENT', uid, [ev.orgUnit, program.object.id]));
      }
      if (program?.object.programType === 'WITH_REGISTRATION') {
        const parent = ev.enrollment ? enByUid.get(ev.enrollment) : undefined;
        const storedEn = ev.enrollment ? preheat.enrollments.get(ev.enrollment) : undefined;
        if (!ev.enrollment) errors.push(trackerError('E1033', 'EVENT', uid, [uid]));
        else if ((parent && parent.errors.length > 0) || failedEarlier.has(ev.enrollment)) {
          errors.push(trackerError('E5000', 'EVENT', uid, ['EVENT', uid, 'ENROLLMENT', ev.enrollment]));
          events.push({ input: ev, uid, action, errors });
          continue;
        } else if ((!parent || parent.action === 'delete') && (!storedEn || storedEn.deleted))
          errors.push(trackerError('E1081', 'EVENT', uid, [ev.enrollment]));
        else {
          const enrollmentProgram =
            parent?.input.program ?? (storedEn ? preheat.uidBySid.get(storedEn.programId) : undefined);
          if (enrollmentProgram && enrollmentProgram !== program.object.id)
            errors.push(trackerError('E1079', 'EVENT', uid, [uid, program.object.id, ev.enrollment]));
        }
      }
      // DHIS2's E1083: only F_UNCOMPLETE_EVENT (or ALL) takes a completed event out of COMPLETED.
      if (
        action === 'update' &&
        stored &&
        stored.row.status === 'COMPLETED' &&
        ev.status !== 'COMPLETED' &&
        !has(UNCOMPLETE_EVENT)
      )
        errors.push(trackerError('E1083', 'EVENT', uid, [who]));
      // DHIS2's E1128: an update may not move the event to another stage or enrollment.
      if (action === 'update' && stored) {
        if (stage && stage.sid !== stored.programStageId)
          errors.push(trackerError('E1128', 'EVENT', uid, ['programStage']));
        if (ev.enrollment && (preheat.enrollments.get(ev.enrollment)?.id ?? null) !== stored.enrollmentId)
          errors.push(trackerError('E1128', 'EVENT', uid, ['enrollment']));
      }
      if (!skipDataQuality) checkEventDates(ev, uid, program, errors, has('F_EDIT_EXPIRED'));
      checkEventCategories(
        ev,
        uid,
        program,
        categories,
        errors,
        skipDataQuality,
        sharing && { sharing, who },
      );
      if (ev.assignedUser !== undefined) {
        if (!isValidUid(ev.assignedUser)) errors.push(trackerError('E1118', 'EVENT', uid, [ev.assignedUser]));
        else if (stage && stage.object.enableUserAssignment !== true)
          errors.push(trackerError('E1120', 'EVENT', uid, [stage.object.id]));
      }
      if (
        action === 'create' &&
        stage &&
        stage.object.repeatable !== true &&
        ev.enrollment &&
        program?.object.programType === 'WITH_REGISTRATION'
      ) {
        // A non-repeatable stage takes one event per enrollment (stored or earlier in this payload).
        const key = `${ev.enrollment}|${stage.object.id}`;
        const storedEn = preheat.enrollments.get(ev.enrollment);
        const stored = storedEn ? ((await storedEventsOf()).get(storedEn.id) ?? []) : [];
        if (stagesTaken.has(key) || stored.some((e) => e.programStageId === stage.sid))
          errors.push(trackerError('E1039', 'EVENT', uid, [stage.object.id]));
        stagesTaken.add(key);
      }
      const stageElements = stage ? elementsOfStage(stage) : new Set<string>();
      for (const dv of ev.dataValues) {
        const element = preheat.get('dataElements', dv.dataElement);
        if (!element) {
          errors.push(trackerError('E1304', 'EVENT', uid, [dv.dataElement]));
          continue;
        }
        if (stage && !stageElements.has(dv.dataElement)) {
          errors.push(trackerError('E1305', 'EVENT', uid, [dv.dataElement, stage.object.id]));
          continue;
        }
        if (dv.value === null) continue;
        const valueType = element.object.valueType;
        if (isValueType(valueType)) {
          const check = checkValue(valueType, dv.value);
          if (!check.ok) errors.push(trackerError('E1302', 'EVENT', uid, [dv.dataElement, check.reason]));
        }
        const optionSet = refId(element.object.optionSet);
        if (optionSet && !preheat.optionCodes.get(optionSet)?.has(dv.value))
          errors.push(trackerError('E1125', 'EVENT', uid, [dv.value, optionSet]));
      }
    }
    events.push({ input: ev, uid, action, errors, warnings: noteWarnings('EVENT', uid, ev.notes) });
  }
  const evByUid = new Map(events.map((p) => [p.uid, p]));

  // Relationships -------------------------------------------------------------------------------
  const relationships: Planned<RelationshipInput>[] = [];
  for (const rel of bundle.relationships) {
    const uid = rel.relationship;
    const errors: TrackerErrorReport[] = [];
    const stored = preheat.relationships.get(uid);
    const { action, error } = decide('RELATIONSHIP', uid, stored, {
      exists: 'E4015',
      missing: 'E4016',
      deleted: 'E4017',
    });
    if (duplicate('RELATIONSHIP', uid)) errors.push(trackerError('E4015', 'RELATIONSHIP', uid, [uid]));
    else if (error) errors.push(error);
    if (action !== 'delete' && !error) {
      const type = preheat.get('relationshipTypes', rel.relationshipType);
      if (!rel.relationshipType)
        errors.push(trackerError('E1124', 'RELATIONSHIP', uid, ['relationshipType']));
      else if (!type) errors.push(trackerError('E4006', 'RELATIONSHIP', uid, [rel.relationshipType]));
      if (rel.endProblem) errors.push(trackerError('E4001', 'RELATIONSHIP', uid, [rel.endProblem, uid]));
      else if (!rel.from) errors.push(trackerError('E1124', 'RELATIONSHIP', uid, ['from']));
      else if (!rel.to) errors.push(trackerError('E1124', 'RELATIONSHIP', uid, ['to']));
      else if (rel.from.kind === rel.to.kind && rel.from.uid === rel.to.uid)
        errors.push(trackerError('E4000', 'RELATIONSHIP', uid, [uid]));
      for (const [end, side] of [
        [rel.from, 'fromConstraint'],
        [rel.to, 'toConstraint'],
      ] as const) {
        if (!end) continue;
        const planned =
          end.kind === 'TRACKED_ENTITY'
            ? teByUid.get(end.uid)
            : end.kind === 'ENROLLMENT'
              ? enByUid.get(end.uid)
              : evByUid.get(end.uid);
        const storedEnd =
          end.kind === 'TRACKED_ENTITY'
            ? preheat.trackedEntities.get(end.uid)
            : end.kind === 'ENROLLMENT'
              ? preheat.enrollments.get(end.uid)
              : preheat.events.get(end.uid);
        if ((planned && planned.errors.length > 0) || failedEarlier.has(end.uid))
          errors.push(trackerError('E5000', 'RELATIONSHIP', uid, ['RELATIONSHIP', uid, end.kind, end.uid]));
        else if ((!planned || planned.action === 'delete') && (!storedEnd || storedEnd.deleted))
          errors.push(trackerError('E4012', 'RELATIONSHIP', uid, [end.kind, end.uid]));
        const constraint = type?.object[side] as Record<string, unknown> | undefined;
        const entity = constraint?.relationshipEntity;
        if (typeof entity === 'string' && entity !== CONSTRAINT_ENTITY[end.kind])
          errors.push(
            trackerError('E4010', 'RELATIONSHIP', uid, [
              type!.object.id,
              entity,
              CONSTRAINT_ENTITY[end.kind],
            ]),
          );
        else if (end.kind === 'TRACKED_ENTITY' && refId(constraint?.trackedEntityType)) {
          const wanted = refId(constraint!.trackedEntityType);
          const actual =
            (planned as Planned<TrackedEntityInput> | undefined)?.input.trackedEntityType ??
            (storedEnd
              ? preheat.uidBySid.get((storedEnd as { trackedEntityTypeId: number }).trackedEntityTypeId)
              : undefined);
          if (actual && actual !== wanted)
            errors.push(trackerError('E4014', 'RELATIONSHIP', uid, [type!.object.id, wanted, actual]));
        }
      }
    }
    relationships.push({ input: rel, uid, action, errors });
  }

  await checkUniqueAttributes(store, trackedEntities, enrollments, preheat);
  return { trackedEntities, enrollments, events, relationships };
}

// Sets built once per program or stage (a national program lists thousands of org units, and a
// payload has hundreds of thousands of events), kept beside the metadata object they describe.
const orgUnitSets = new WeakMap<object, Set<string>>();
const elementSets = new WeakMap<object, Set<string>>();

function programHasOrgUnit(program: Meta, orgUnit: string): boolean {
  let set = orgUnitSets.get(program.object);
  if (!set) {
    const units = program.object.organisationUnits;
    set = new Set(Array.isArray(units) ? units.map(refId).filter((u): u is string => u !== undefined) : []);
    orgUnitSets.set(program.object, set);
  }
  return set.has(orgUnit);
}

function elementsOfStage(stage: Meta): Set<string> {
  let set = elementSets.get(stage.object);
  if (!set) {
    set = new Set<string>();
    for (const psde of (stage.object.programStageDataElements as Record<string, unknown>[]) ?? []) {
      const de = refId(psde.dataElement);
      if (de) set.add(de);
    }
    elementSets.set(stage.object, set);
  }
  return set;
}

/**
 * E1064: a unique attribute's value may be held by one tracked entity only, across the system or,
 * when the attribute has `orgunitScope`, within the entity's org unit (DHIS2's two scopes). Values
 * are compared within the payload and against stored entities in one query per attribute.
 */
async function checkUniqueAttributes(
  store: TrackerStore,
  trackedEntities: Planned<TrackedEntityInput>[],
  enrollments: Planned<EnrollmentInput>[],
  preheat: TrackerPreheat,
): Promise<void> {
  const teOrgUnit = new Map(trackedEntities.map((p) => [p.uid, p.input.orgUnit]));
  const claims: Array<{
    planned: Planned<unknown>;
    type: TrackerType;
    teUid: string;
    attribute: Meta;
    value: string;
  }> = [];
  const consider = (
    planned: Planned<unknown>,
    type: TrackerType,
    teUid: string | undefined,
    values: TrackerAttributeValue[],
  ) => {
    if (!teUid || planned.action === 'delete') return;
    for (const a of values) {
      const attribute = preheat.get('trackedEntityAttributes', a.attribute);
      if (attribute?.object.unique === true && a.value !== '')
        claims.push({ planned, type, teUid, attribute, value: a.value });
    }
  };
  for (const p of trackedEntities)
    consider(p as Planned<unknown>, 'TRACKED_ENTITY', p.uid, p.input.attributes);
  for (const p of enrollments)
    consider(p as Planned<unknown>, 'ENROLLMENT', p.input.trackedEntity, p.input.attributes);
  const byAttribute = new Map<number, typeof claims>();
  for (const c of claims) {
    const list = byAttribute.get(c.attribute.sid) ?? [];
    list.push(c);
    byAttribute.set(c.attribute.sid, list);
  }
  for (const [sid, list] of byAttribute) {
    const perOrgUnit = list[0].attribute.object.orgunitScope === true;
    const orgUnitOf = (teUid: string) =>
      teOrgUnit.get(teUid) ?? preheat.uidBySid.get(preheat.trackedEntities.get(teUid)?.orgUnitId ?? -1);
    const holders = await store.attributeValueHolders(
      sid,
      list.map((c) => c.value),
    );
    const payloadHolder = new Map<string, string>();
    for (const c of list) {
      const scopeKey = perOrgUnit ? `${orgUnitOf(c.teUid)}|${c.value}` : c.value;
      const clash =
        holders.some(
          (h) =>
            h.value === c.value &&
            h.uid !== c.teUid &&
            (!perOrgUnit || preheat.uidBySid.get(h.orgUnitId) === orgUnitOf(c.teUid)),
        ) ||
        (payloadHolder.has(scopeKey) && payloadHolder.get(scopeKey) !== c.teUid);
      if (clash)
        c.planned.errors.push(trackerError('E1064', c.type, c.planned.uid, [c.value, c.attribute.object.id]));
      else payloadHolder.set(scopeKey, c.teUid);
    }
  }
}
