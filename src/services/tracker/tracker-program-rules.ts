// The package's exports map names no types; tsconfig's `paths` points TypeScript at its .d.ts.
import {
  Option,
  RuleActionJs,
  RuleAttributeValue,
  RuleDataValue,
  RuleEngineContextJs,
  RuleEngineJs,
  RuleEnrollmentJs,
  RuleEnrollmentStatus,
  RuleEventJs,
  RuleEventStatus,
  RuleJs,
  RuleValueType,
  RuleVariableJs,
  RuleVariableType,
  type RuleEffectJs,
} from '@dhis2/rule-engine';
import type { FerryContext } from '../ferry-context-types.ts';
import type { MetadataObject } from '../../storage/metadata-store.ts';
import { jsonValue, TrackerStore, type StoredEvent } from '../../storage/tracker-store.ts';
import type { SqlExecutor } from '../../storage/storage.ts';
import type { EnrollmentInput, EventInput } from '../../domain/tracker/tracker-objects.ts';
import { trackerError, type TrackerErrorReport } from '../../domain/tracker/tracker-import-report.ts';
import type { Planned, TrackerPlan } from './tracker-import-validation.ts';
import type { Meta, TrackerPreheat } from './tracker-import-preheat.ts';

/**
 * Program rules, evaluated by DHIS2's own rule engine (`@dhis2/rule-engine`, the Kotlin engine that
 * DHIS2's server, Capture app and Android app run), with the effects DHIS2's importer acts on:
 * SHOWERROR / ERRORONCOMPLETE block the object (E1300), SHOWWARNING / WARNINGONCOMPLETE warn (E1300),
 * SETMANDATORYFIELD blocks an event without the data element (E1301), ASSIGN fills an empty data
 * element (warning E1308) and refuses a different value already given (E1307); on an enrollment,
 * SETMANDATORYFIELD and ASSIGN on a program attribute do the same (E1306, E1310, E1309). Other actions
 * (display, hide, messages, scheduling) concern a data entry screen or side effects and are not
 * acted on here.
 */

/** One program's rules and variables as the engine takes them, built once per import. */
interface ProgramRules {
  context: RuleEngineContextJs;
  programName: string;
}

const refId = (value: unknown): string | undefined => {
  const id = (value as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
};
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const NUMERIC = new Set([
  'NUMBER',
  'INTEGER',
  'INTEGER_POSITIVE',
  'INTEGER_NEGATIVE',
  'INTEGER_ZERO_OR_POSITIVE',
  'PERCENTAGE',
  'UNIT_INTERVAL',
]);

/** DHIS2's value type to the engine's four kinds (as DHIS2's server maps them). */
function ruleValueType(valueType: unknown): RuleValueType {
  if (typeof valueType !== 'string') return RuleValueType.TEXT;
  if (NUMERIC.has(valueType)) return RuleValueType.NUMERIC;
  if (valueType === 'BOOLEAN' || valueType === 'TRUE_ONLY') return RuleValueType.BOOLEAN;
  if (valueType === 'DATE' || valueType === 'DATETIME' || valueType === 'AGE') return RuleValueType.DATE;
  return RuleValueType.TEXT;
}

/*
 * The engine's JS entry points read dates through js-joda's `toEpochDay()` (LocalDate) and
 * `toEpochMilli()` (Instant) and nothing else; these stand-ins give exactly that, so Ferry needs no
 * date library of its own (the package's types name js-joda's classes without importing them).
 */
function localDate(iso: string | undefined): { toEpochDay(): number } | null {
  if (!iso) return null;
  const ms = Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  return Number.isNaN(ms) ? null : { toEpochDay: () => Math.floor(ms / 86_400_000) };
}
function instant(iso: string | undefined): { toEpochMilli(): number } | null {
  if (!iso) return null;
  const ms = Date.parse(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  return Number.isNaN(ms) ? null : { toEpochMilli: () => ms };
}
type LocalDateArg = ConstructorParameters<typeof RuleEnrollmentJs>[2];
type InstantArg = ConstructorParameters<typeof RuleEventJs>[5];

const EVENT_STATUS = new Set(['ACTIVE', 'COMPLETED', 'SCHEDULE', 'SKIPPED', 'VISITED', 'OVERDUE']);
const eventStatus = (s: string | undefined): RuleEventStatus =>
  s && EVENT_STATUS.has(s) ? RuleEventStatus.valueOf(s) : RuleEventStatus.ACTIVE;
const enrollmentStatus = (s: string | undefined): RuleEnrollmentStatus =>
  s === 'COMPLETED' || s === 'CANCELLED' ? RuleEnrollmentStatus.valueOf(s) : RuleEnrollmentStatus.ACTIVE;

/**
 * Loads and converts each program's rules once per import: the import's chunks share one loader.
 * Reads through `db` (the import's transaction).
 */
export class ProgramRuleLoader {
  private readonly programs = new Map<string, ProgramRules | null>();
  private constants: Map<string, string> | undefined;
  private readonly context: FerryContext;
  constructor(context: FerryContext) {
    this.context = context;
  }

  async rulesFor(program: MetadataObject): Promise<ProgramRules | null> {
    const cached = this.programs.get(program.id);
    if (cached !== undefined) return cached;
    const rules = await this.load(program);
    this.programs.set(program.id, rules);
    return rules;
  }

  private async objects(collection: string, uids: string[]): Promise<MetadataObject[]> {
    if (uids.length === 0) return [];
    return (await this.context.metadata.findBy(collection, 'uid', uids)).map((r) => r.object);
  }

  private async load(program: MetadataObject): Promise<ProgramRules | null> {
    const metadata = this.context.metadata;
    const ruleUids = await metadata.referrerUids('programs', program.id, 'programRules', 'program');
    if (ruleUids.length === 0) return null;
    const rules = await this.objects('programRules', ruleUids);
    const actionUids = new Set<string>();
    for (const rule of rules) {
      for (const a of (rule.programRuleActions as unknown[]) ?? []) {
        const id = refId(a);
        if (id) actionUids.add(id);
      }
      for (const id of await metadata.referrerUids(
        'programRules',
        rule.id,
        'programRuleActions',
        'programRule',
      ))
        actionUids.add(id);
    }
    const actions = await this.objects('programRuleActions', [...actionUids]);
    const variables = await this.objects(
      'programRuleVariables',
      await metadata.referrerUids('programs', program.id, 'programRuleVariables', 'program'),
    );
    // What the variables read: value types and option sets (for option names vs codes).
    const dataElements = new Map(
      (
        await this.objects('dataElements', [
          ...new Set(variables.map((v) => refId(v.dataElement)).filter((u): u is string => !!u)),
        ])
      ).map((o) => [o.id, o]),
    );
    const attributes = new Map(
      (
        await this.objects('trackedEntityAttributes', [
          ...new Set(variables.map((v) => refId(v.trackedEntityAttribute)).filter((u): u is string => !!u)),
        ])
      ).map((o) => [o.id, o]),
    );
    const optionSetUids = new Set<string>();
    for (const o of [...dataElements.values(), ...attributes.values()]) {
      const set = refId(o.optionSet);
      if (set) optionSetUids.add(set);
    }
    const optionSets = await this.objects('optionSets', [...optionSetUids]);
    const optionUids = optionSets.flatMap((s) => ((s.options as unknown[]) ?? []).map(refId));
    const options = new Map(
      (
        await this.objects(
          'options',
          optionUids.filter((u): u is string => !!u),
        )
      ).map((o) => [o.id, o]),
    );
    const optionsOf = new Map(
      optionSets.map((s) => [
        s.id,
        ((s.options as unknown[]) ?? [])
          .map((ref) => options.get(refId(ref) ?? ''))
          .filter((o): o is MetadataObject => !!o)
          .map((o) => new Option(str(o.name) ?? '', str(o.code) ?? '')),
      ]),
    );

    const actionsByRule = new Map<string, RuleActionJs[]>();
    for (const action of actions) {
      const ruleUid = refId(action.programRule);
      const type = str(action.programRuleActionType);
      if (!ruleUid || !type) continue;
      const de = refId(action.dataElement);
      const tea = refId(action.trackedEntityAttribute);
      const values = new Map<string, string>();
      if (str(action.content)) values.set('content', str(action.content)!);
      values.set('field', de ?? tea ?? '');
      values.set('attributeType', de ? 'DATA_ELEMENT' : tea ? 'TRACKED_ENTITY_ATTRIBUTE' : 'UNKNOWN');
      const stage = refId(action.programStage);
      if (stage) values.set('programStage', stage);
      let list = actionsByRule.get(ruleUid);
      if (!list) actionsByRule.set(ruleUid, (list = []));
      list.push(new RuleActionJs(str(action.data) ?? '', type, values));
    }
    const ruleJs = rules.map(
      (rule) =>
        new RuleJs(
          str(rule.condition) ?? 'false',
          actionsByRule.get(rule.id) ?? [],
          rule.id,
          str(rule.name) ?? null,
          refId(rule.programStage) ?? null,
          typeof rule.priority === 'number' ? rule.priority : null,
        ),
    );
    const variableJs = variables.flatMap((v) => {
      const source = str(v.programRuleVariableSourceType);
      if (!source || !str(v.name)) return [];
      const field = refId(v.dataElement) ?? refId(v.trackedEntityAttribute) ?? '';
      const target = dataElements.get(field) ?? attributes.get(field);
      return [
        new RuleVariableJs(
          RuleVariableType.valueOf(source),
          str(v.name)!,
          v.useCodeForOptionSet === true,
          optionsOf.get(refId(target?.optionSet) ?? '') ?? [],
          field,
          ruleValueType(target?.valueType ?? v.valueType),
          refId(v.programStage) ?? null,
        ),
      ];
    });
    const constants = await this.constantValues();
    return {
      context: new RuleEngineContextJs(ruleJs, variableJs, new Map(), constants),
      programName: str(program.name) ?? program.id,
    };
  }

  /** Constants (`C{uid}` in a rule) by UID, read once. */
  private async constantValues(): Promise<Map<string, string>> {
    if (this.constants) return this.constants;
    const out = new Map<string, string>();
    for await (const batch of this.context.metadata.stream('constants'))
      for (const { object } of batch)
        if (object.value !== undefined) out.set(object.id, String(object.value));
    return (this.constants = out);
  }
}

/** An event as the engine sees it: its stage, status, dates and current data values. */
interface EventFacts {
  uid: string;
  stage: string;
  status: string | undefined;
  occurredAt: string | undefined;
  scheduledAt: string | undefined;
  completedAt: string | undefined;
  orgUnit: string;
  values: Map<string, string>;
}

function toRuleEvent(e: EventFacts, preheat: TrackerPreheat, now: string): RuleEventJs {
  const stage = preheat.get('programStages', e.stage);
  return new RuleEventJs(
    e.uid,
    e.stage,
    str(stage?.object.name) ?? e.stage,
    eventStatus(e.status),
    instant(e.occurredAt ?? e.scheduledAt) as InstantArg | null,
    instant(now) as InstantArg,
    localDate(e.scheduledAt) as LocalDateArg | null,
    localDate(e.completedAt) as LocalDateArg | null,
    e.orgUnit,
    str(preheat.get('organisationUnits', e.orgUnit)?.object.code) ?? null,
    [...e.values].map(([de, value]) => new RuleDataValue(de, value)),
  );
}

function storedEventFacts(stored: StoredEvent, preheat: TrackerPreheat): EventFacts {
  const values = new Map<string, string>();
  const raw = (jsonValue(stored.row.data_values) ?? {}) as Record<string, { value?: unknown }>;
  for (const [de, dv] of Object.entries(raw)) if (typeof dv?.value === 'string') values.set(de, dv.value);
  return {
    uid: stored.uid,
    stage: preheat.uidBySid.get(stored.programStageId) ?? '',
    status: str(stored.row.status),
    occurredAt: str(stored.row.occurred_at),
    scheduledAt: str(stored.row.scheduled_at),
    completedAt: str(stored.row.completed_at),
    orgUnit: preheat.uidBySid.get(stored.orgUnitId) ?? '',
    values,
  };
}

/** The payload's event over its stored self: given values replace, a null value removes. */
function eventFacts(input: EventInput, preheat: TrackerPreheat): EventFacts {
  const stored = preheat.events.get(input.event);
  const base = stored ? storedEventFacts(stored, preheat) : undefined;
  const values = new Map(base?.values ?? []);
  for (const dv of input.dataValues) {
    if (dv.value === null || dv.value === '') values.delete(dv.dataElement);
    else values.set(dv.dataElement, dv.value);
  }
  return {
    uid: input.event,
    stage: input.programStage ?? base?.stage ?? '',
    status: input.status,
    occurredAt: input.occurredAt ?? base?.occurredAt,
    scheduledAt: input.scheduledAt ?? base?.scheduledAt,
    completedAt: input.completedAt ?? base?.completedAt,
    orgUnit: input.orgUnit ?? base?.orgUnit ?? '',
    values,
  };
}

/**
 * Evaluates the rules of the plan's valid enrollments and events and applies their effects to the
 * plan in place: errors and warnings on the objects, assigned values into the events' data values.
 * Objects that already failed validation are not evaluated (DHIS2 runs the engine on what passed).
 */
export async function applyProgramRules(
  db: SqlExecutor,
  plan: TrackerPlan,
  preheat: TrackerPreheat,
  loader: ProgramRuleLoader,
  now: string = new Date().toISOString(),
): Promise<void> {
  const events = plan.events.filter((p) => p.errors.length === 0 && p.action !== 'delete');
  const enrollments = plan.enrollments.filter((p) => p.errors.length === 0 && p.action !== 'delete');
  if (events.length === 0 && enrollments.length === 0) return;
  // Most programs have no rules: when none of the chunk's programs has any, nothing is built.
  const programs = new Map<string, Meta>();
  for (const p of enrollments) {
    const program = preheat.get('programs', p.input.program);
    if (program) programs.set(program.object.id, program);
  }
  for (const p of events) {
    const stage = preheat.get('programStages', p.input.programStage);
    const program = preheat.get('programs', p.input.program ?? refId(stage?.object.program));
    if (program) programs.set(program.object.id, program);
  }
  let anyRules = false;
  for (const program of programs.values()) if (await loader.rulesFor(program.object)) anyRules = true;
  if (!anyRules) return;
  const engine = new RuleEngineJs(false);

  // Enrollments in play: the payload's and the stored ones its events belong to.
  const enrollmentInputs = new Map<string, EnrollmentInput>(plan.enrollments.map((p) => [p.uid, p.input]));
  const enrollmentUids = new Set<string>([
    ...enrollments.map((p) => p.uid),
    ...events.map((p) => p.input.enrollment).filter((u): u is string => !!u),
  ]);
  // Their other events, stored and in the payload, feed the NEWEST/PREVIOUS variables.
  const store = new TrackerStore(db);
  const storedIds = [...enrollmentUids]
    .map((u) => preheat.enrollments.get(u)?.id)
    .filter((id): id is number => id !== undefined);
  const byEnrollment = new Map<string, Map<string, EventFacts>>();
  const enrollmentUidById = new Map([...preheat.enrollments.values()].map((e) => [e.id, e.uid]));
  if (storedIds.length > 0) {
    const stages = new Map(
      [...(preheat.metadata.get('programStages')?.values() ?? [])].map((m) => [m.sid, m.object.id]),
    );
    for (const stored of await store.eventsOfEnrollments(storedIds)) {
      const enrollment = enrollmentUidById.get(stored.enrollmentId ?? -1);
      if (!enrollment) continue;
      const facts = storedEventFacts(stored, preheat);
      if (!facts.stage) facts.stage = stages.get(stored.programStageId) ?? '';
      let map = byEnrollment.get(enrollment);
      if (!map) byEnrollment.set(enrollment, (map = new Map()));
      map.set(facts.uid, facts);
    }
  }
  const facts = new Map<string, EventFacts>();
  for (const p of plan.events) {
    if (p.action === 'delete') continue;
    const f = eventFacts(p.input, preheat);
    facts.set(p.uid, f);
    const enrollment = p.input.enrollment;
    if (!enrollment) continue;
    let map = byEnrollment.get(enrollment);
    if (!map) byEnrollment.set(enrollment, (map = new Map()));
    map.set(f.uid, f);
  }

  // Looked up per enrollment below; built once so that a chunk's events cost no scans.
  const attributeUids = new Map(
    [...(preheat.metadata.get('trackedEntityAttributes')?.values() ?? [])].map((m) => [m.sid, m.object.id]),
  );
  const trackedEntityById = new Map([...preheat.trackedEntities.values()].map((t) => [t.id, t]));
  const payloadEntities = new Map(plan.trackedEntities.map((p) => [p.uid, p.input]));
  const enrollmentCache = new Map<string, RuleEnrollmentJs | null>();
  /** Each enrollment's attribute values as the engine saw them (stored, then the payload's). */
  const enrollmentAttributes = new Map<string, Map<string, string>>();
  const ruleEnrollment = (uid: string | undefined, programName: string): RuleEnrollmentJs | null => {
    if (!uid) return null;
    if (!enrollmentCache.has(uid)) enrollmentCache.set(uid, buildEnrollment(uid, programName));
    return enrollmentCache.get(uid)!;
  };
  const buildEnrollment = (uid: string, programName: string): RuleEnrollmentJs | null => {
    const input = enrollmentInputs.get(uid);
    const stored = preheat.enrollments.get(uid);
    if (!input && !stored) return null;
    const attributes = new Map<string, string>();
    enrollmentAttributes.set(uid, attributes);
    const te = input?.trackedEntity;
    const storedTe = te
      ? preheat.trackedEntities.get(te)
      : trackedEntityById.get(stored?.trackedEntityId ?? -1);
    for (const [sid, value] of preheat.attributeValues.get(storedTe?.id ?? -1) ?? []) {
      const attribute = attributeUids.get(sid);
      if (attribute) attributes.set(attribute, value);
    }
    for (const a of payloadEntities.get(te ?? storedTe?.uid ?? '')?.attributes ?? [])
      attributes.set(a.attribute, a.value);
    for (const a of input?.attributes ?? []) attributes.set(a.attribute, a.value);
    const row = stored?.row ?? {};
    const enrolledAt = input?.enrolledAt ?? str(row.enrolled_at) ?? now;
    const orgUnit = input?.orgUnit ?? preheat.uidBySid.get(stored?.orgUnitId ?? -1) ?? '';
    return new RuleEnrollmentJs(
      uid,
      programName,
      localDate(input?.occurredAt ?? str(row.occurred_at) ?? enrolledAt) as LocalDateArg,
      localDate(enrolledAt) as LocalDateArg,
      enrollmentStatus(input?.status ?? str(row.status)),
      orgUnit,
      str(preheat.get('organisationUnits', orgUnit)?.object.code) ?? null,
      [...attributes]
        .filter(([, v]) => v !== '')
        .map(([attribute, value]) => new RuleAttributeValue(attribute, value)),
    );
  };

  // Enrollments first: an attribute a rule assigns there is seen by the rules of their events.
  for (const p of enrollments) {
    const program = preheat.get('programs', p.input.program);
    if (!program) continue;
    const rules = await loader.rulesFor(program.object);
    if (!rules) continue;
    const target = ruleEnrollment(p.uid, rules.programName);
    if (!target) continue;
    const its = [...(byEnrollment.get(p.uid)?.values() ?? [])].map((e) => toRuleEvent(e, preheat, now));
    const effects = engine.evaluateEnrollment(target, its, rules.context);
    const programAttributes = new Set(
      ((program.object.programTrackedEntityAttributes as unknown[]) ?? []).map((ptea) =>
        refId((ptea as Record<string, unknown>).trackedEntityAttribute),
      ),
    );
    const attributes = enrollmentAttributes.get(p.uid) ?? new Map<string, string>();
    if (applyEnrollmentEffects(p, attributes, programAttributes, effects)) enrollmentCache.delete(p.uid);
  }

  for (const p of events) {
    const stage = preheat.get('programStages', p.input.programStage);
    const program = preheat.get('programs', p.input.program ?? refId(stage?.object.program));
    if (!program) continue;
    const rules = await loader.rulesFor(program.object);
    if (!rules) continue;
    const target = facts.get(p.uid)!;
    const inStage = new Set(
      ((stage?.object.programStageDataElements as unknown[]) ?? []).map((psde) =>
        refId((psde as Record<string, unknown>).dataElement),
      ),
    );
    const others = [...(byEnrollment.get(p.input.enrollment ?? '')?.values() ?? [])]
      .filter((e) => e.uid !== p.uid)
      .map((e) => toRuleEvent(e, preheat, now));
    const effects = engine.evaluateEvent(
      toRuleEvent(target, preheat, now),
      ruleEnrollment(p.input.enrollment, rules.programName),
      others,
      rules.context,
    );
    applyEventEffects(p, target, inStage, effects);
  }
}

/** The text DHIS2 reports for a message action: its content, then the evaluated data, if any. */
function messageOf(effect: RuleEffectJs): string {
  const content = effect.ruleAction.values.get('content') ?? '';
  const data = effect.data ?? '';
  return [content, data].filter((s) => s !== '').join(' ');
}

function warn(p: Planned<unknown>, report: TrackerErrorReport): void {
  (p.warnings ??= []).push(report);
}

/** SHOWERROR / ERRORONCOMPLETE / SHOWWARNING / WARNINGONCOMPLETE; true when the effect was one. */
function applyMessage(
  p: Planned<unknown>,
  type: 'EVENT' | 'ENROLLMENT',
  completed: boolean,
  effect: RuleEffectJs,
): boolean {
  const action = effect.ruleAction.type;
  const report = () => trackerError('E1300', type, p.uid, [effect.ruleId, messageOf(effect)]);
  if (action === 'SHOWERROR' || (action === 'ERRORONCOMPLETE' && completed)) p.errors.push(report());
  else if (action === 'SHOWWARNING' || (action === 'WARNINGONCOMPLETE' && completed)) warn(p, report());
  else return action === 'ERRORONCOMPLETE' || action === 'WARNINGONCOMPLETE';
  return true;
}

/**
 * An enrollment's effects: messages, and on the program's attributes SETMANDATORYFIELD (E1306) and
 * ASSIGN (an empty attribute is set, warning E1310; a different given value is error E1309).
 * Assigned values go into the enrollment's attributes, which are written to its tracked entity.
 * True when a value was assigned.
 */
function applyEnrollmentEffects(
  p: Planned<EnrollmentInput>,
  attributes: Map<string, string>,
  programAttributes: ReadonlySet<string | undefined>,
  effects: RuleEffectJs[],
): boolean {
  let assigned = false;
  for (const effect of effects) {
    if (applyMessage(p, 'ENROLLMENT', p.input.status === 'COMPLETED', effect)) continue;
    const action = effect.ruleAction;
    const field = action.values.get('field') ?? '';
    if (action.values.get('attributeType') !== 'TRACKED_ENTITY_ATTRIBUTE' || field === '') continue;
    const given = attributes.get(field);
    const empty = given === undefined || given === '';
    if (action.type === 'SETMANDATORYFIELD') {
      if (empty) p.errors.push(trackerError('E1306', 'ENROLLMENT', p.uid, [effect.ruleId, field]));
    } else if (action.type === 'ASSIGN' && programAttributes.has(field)) {
      const value = effect.data ?? '';
      if (value === '' || (!empty && sameValue(given, value))) continue;
      if (!empty) {
        p.errors.push(trackerError('E1309', 'ENROLLMENT', p.uid, [effect.ruleId, field, value]));
        continue;
      }
      const existing = p.input.attributes.find((a) => a.attribute === field);
      if (existing) existing.value = value;
      else p.input.attributes.push({ attribute: field, value });
      attributes.set(field, value);
      assigned = true;
      warn(p, trackerError('E1310', 'ENROLLMENT', p.uid, [effect.ruleId, field, p.input.trackedEntity]));
    }
  }
  return assigned;
}

/** Numbers compare as numbers ("80" is "80.0"), everything else as text. */
function sameValue(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Number(a);
  const y = Number(b);
  return a.trim() !== '' && b.trim() !== '' && Number.isFinite(x) && Number.isFinite(y) && x === y;
}

function applyEventEffects(
  p: Planned<EventInput>,
  target: EventFacts,
  /** The stage's data elements: a rule assigns only to those (the event cannot hold others). */
  inStage: ReadonlySet<string | undefined>,
  effects: RuleEffectJs[],
): void {
  const completed = p.input.status === 'COMPLETED';
  for (const effect of effects) {
    if (applyMessage(p, 'EVENT', completed, effect)) continue;
    const action = effect.ruleAction;
    const field = action.values.get('field') ?? '';
    if (action.values.get('attributeType') !== 'DATA_ELEMENT' || field === '') continue;
    if (action.type === 'SETMANDATORYFIELD') {
      if (!target.values.has(field))
        p.errors.push(trackerError('E1301', 'EVENT', p.uid, [effect.ruleId, field]));
    } else if (action.type === 'ASSIGN' && inStage.has(field)) {
      const value = effect.data ?? '';
      const given = target.values.get(field);
      if (value === '' || (given !== undefined && sameValue(given, value))) continue;
      if (given !== undefined) {
        p.errors.push(trackerError('E1307', 'EVENT', p.uid, [effect.ruleId, field, value]));
        continue;
      }
      // Written with the event's other values; warned as DHIS2 does when a rule sets a value.
      const existing = p.input.dataValues.find((dv) => dv.dataElement === field);
      if (existing) existing.value = value;
      else p.input.dataValues.push({ dataElement: field, value, providedElsewhere: false });
      target.values.set(field, value);
      warn(p, trackerError('E1308', 'EVENT', p.uid, [effect.ruleId, field, p.uid]));
    }
  }
}
