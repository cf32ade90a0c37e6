import type { SqlValue } from '../../storage/storage.ts';
import { uidFromSeed } from '../../domain/identifiers/uid.ts';
import { DEMO_REFERENCE_MONTH, DEMO_MONTH_COUNT } from './demo-periods.ts';
import { hashString, hashToUnit, pick } from './demo-random.ts';
import type { DemoDatabase, DemoFacility } from './demo-types.ts';

/**
 * The demo's tracker data, generated facility by facility as rows of the tracker tables
 * (tracker-migrations.ts): malaria case events (event program), mothers in ANC follow-up with their
 * visits, children in the child health programme (birth, immunisations, growth monitoring), and a
 * mother-child relationship for each child born to a mother followed in ANC.
 *
 * Everything comes from a hash of what it is (seed, facility, person, field), as the data values
 * do: the same demo has the same tracker data whatever order it is written in, and a facility's rows
 * can be generated again alone (to resume a stopped seed, or to check that the seed finished).
 * Amounts scale with each facility's catchment population: at the full size (1,200 facilities)
 * about 230,000 events and 21,000 tracked entities; `--facilities 10` gives about 1/120 of that.
 */

/** Surrogate ids of the metadata the tracker rows refer to. */
export interface DemoTrackerIds {
  orgUnits: ReadonlyMap<string, number>;
  /** Programs, stages, the tracked entity type, attributes and the relationship type, by UID. */
  objects: ReadonlyMap<string, number>;
  defaultAttributeOptionCombo: number;
}

/** A facility's rows, table by table, in the column order of the statements below. */
export interface DemoTrackerRows {
  trackedEntities: SqlValue[][];
  attributeValues: SqlValue[][];
  owners: SqlValue[][];
  enrollments: SqlValue[][];
  /** Events of an enrollment (the enrollment named by UID) and events of the event program. */
  enrollmentEvents: SqlValue[][];
  singleEvents: SqlValue[][];
  relationships: SqlValue[][];
}

// ON CONFLICT DO NOTHING: a seed run again after an interruption leaves what is there alone.
// Parents are named by UID in the generated rows; the seeder puts their surrogate keys in
// (DEMO_TRACKER_PARENTS) once it has written and looked them up, a query per 1,000 parents. A
// scalar subquery per row instead cost PostgreSQL a plan per row of each multi-row INSERT.
const STAMPS = 'created, updated, stored_by, created_by, updated_by';
const TE_ID = '?';
export const DEMO_TRACKER_INSERTS = {
  trackedEntities:
    `INSERT INTO tracked_entity (uid, tracked_entity_type_id, org_unit_id, ${STAMPS}) ` +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING',
  attributeValues:
    'INSERT INTO tracked_entity_attribute_value (tracked_entity_id, attribute_id, value, created, updated, stored_by) ' +
    `VALUES (${TE_ID}, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  owners:
    'INSERT INTO tracked_entity_program_owner (tracked_entity_id, program_id, org_unit_id, created, updated) ' +
    `VALUES (${TE_ID}, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  enrollments:
    'INSERT INTO enrollment (uid, tracked_entity_id, program_id, org_unit_id, status, enrolled_at, occurred_at, ' +
    `completed_at, completed_by, ${STAMPS}) VALUES (?, ${TE_ID}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
    'ON CONFLICT (uid) DO NOTHING',
  enrollmentEvents:
    'INSERT INTO event (uid, program_id, program_stage_id, enrollment_id, org_unit_id, attribute_option_combo_id, ' +
    `status, occurred_at, completed_at, completed_by, data_values, ${STAMPS}) ` +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING',
  singleEvents:
    'INSERT INTO event (uid, program_id, program_stage_id, org_unit_id, attribute_option_combo_id, ' +
    `status, occurred_at, completed_at, completed_by, data_values, ${STAMPS}, geometry) ` +
    'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING',
  relationships:
    `INSERT INTO relationship (uid, relationship_type_id, from_kind, from_id, to_kind, to_id, bidirectional, ${STAMPS}) ` +
    `VALUES (?, ?, 'TRACKED_ENTITY', ${TE_ID}, 'TRACKED_ENTITY', ${TE_ID}, 1, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING`,
} as const satisfies Record<keyof DemoTrackerRows, string>;

/** Which columns of a table's rows name a parent by UID, and the parent's table. */
export const DEMO_TRACKER_PARENTS: Partial<
  Record<keyof DemoTrackerRows, { parent: 'tracked_entity' | 'enrollment'; columns: readonly number[] }>
> = {
  attributeValues: { parent: 'tracked_entity', columns: [0] },
  owners: { parent: 'tracked_entity', columns: [0] },
  enrollments: { parent: 'tracked_entity', columns: [1] },
  enrollmentEvents: { parent: 'enrollment', columns: [3] },
  relationships: { parent: 'tracked_entity', columns: [2, 3] },
};

/** Parents before children, so that the UID look-ups find their rows. */
export const DEMO_TRACKER_TABLE_ORDER: ReadonlyArray<keyof DemoTrackerRows> = [
  'trackedEntities',
  'attributeValues',
  'owners',
  'enrollments',
  'enrollmentEvents',
  'singleEvents',
  'relationships',
];

/** Who the demo's tracker data is stored by (as its data values). */
const STORED_BY = 'admin';
/** The catchment population of an average demo facility: amounts below are for one such facility. */
const REFERENCE_POPULATION = 5_800;
/** Malaria cases investigated over the two years. */
const MALARIA_CASES = 90;
/** Pregnant women enrolled in ANC follow-up over the two years, at facilities offering ANC. */
const MOTHERS = 10.5;
/** Children enrolled at birth whose mother was not followed in ANC here. */
const OTHER_CHILDREN = 6.5;
/** Share of mothers who delivered within the window whose child is enrolled here too. */
const CHILD_ENROLLED_SHARE = 0.8;
/** Days after birth of the immunisation visits, with the vaccine given (and its dose). */
const IMMUNISATIONS: ReadonlyArray<readonly [day: number, vaccine: string, dose: number]> = [
  [0, 'BCG', 1],
  [42, 'PENTA', 1],
  [70, 'PENTA', 2],
  [98, 'PENTA', 3],
  [274, 'MEASLES', 1],
];
/** Days after birth of growth monitoring visits in the first year. */
const GROWTH_VISITS = [30, 90, 150, 210, 270, 330];

const DAY_MS = 86_400_000;
/** The demo's window: the same 24 months its aggregate data covers (demo-periods.ts). */
const WINDOW_START_MS = Date.UTC(
  DEMO_REFERENCE_MONTH.year,
  DEMO_REFERENCE_MONTH.month - 1 - DEMO_MONTH_COUNT,
  1,
);
const WINDOW_DAYS = Math.round(
  (Date.UTC(DEMO_REFERENCE_MONTH.year, DEMO_REFERENCE_MONTH.month - 1, 1) - WINDOW_START_MS) / DAY_MS,
);
const LAST_DAY = WINDOW_DAYS - 1;

const FEMALE_NAMES = [
  'Aminata', 'Fatmata', 'Isatu', 'Mariama', 'Kadiatu', 'Hawa', 'Adama', 'Zainab', 'Musu', 'Jeneba',
  'Ramatu', 'Salamatu', 'Christiana', 'Mabinty', 'Yeabu', 'Kumba', 'Finda', 'Bintu', 'Memuna', 'Tenneh',
]; // prettier-ignore
const MALE_NAMES = [
  'Mohamed', 'Ibrahim', 'Abu', 'Alusine', 'Sahr', 'Foday', 'Sorie', 'Lansana', 'Tamba', 'Momodu',
  'Augustine', 'Osman', 'Santigie', 'Brima', 'Amadu', 'Joseph', 'Komba', 'Unisa', 'Bockarie', 'Sulaiman',
]; // prettier-ignore
const FAMILY_NAMES = [
  'Kamara', 'Sesay', 'Koroma', 'Bangura', 'Conteh', 'Turay', 'Kanu', 'Mansaray', 'Jalloh', 'Fofanah',
  'Kargbo', 'Barrie', 'Koroma', 'Kallon', 'Samura', 'Dumbuya', 'Tarawally', 'Lahai', 'Gbla', 'Moiwo',
]; // prettier-ignore

/** `YYYY-MM-DD` of a day counted from the window's first day (negative: before it). */
function isoDate(day: number): string {
  // Cached: a few thousand distinct days serve a quarter of a million events.
  let date = DATES.get(day);
  if (date === undefined)
    DATES.set(day, (date = new Date(WINDOW_START_MS + day * DAY_MS).toISOString().slice(0, 10)));
  return date;
}
const DATES = new Map<number, string>();
/** DHIS2's tracker date-time, at midnight (as its apps store a date picked without a time). */
function dateTime(day: number): string {
  return `${isoDate(day)}T00:00:00.000`;
}
/** When it was entered: `minutes` after the day began, as the server's ISO time. */
function entered(day: number, minutes: number): string {
  const m = minutes % 1440;
  return `${isoDate(day + Math.floor(minutes / 1440))}T${pad2(Math.floor(m / 60))}:${pad2(m % 60)}:00.000Z`;
}
function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
function oneDecimal(x: number): string {
  return (Math.round(x * 10) / 10).toFixed(1);
}

/** Malaria peaks in the rainy season (July to September), as in the aggregate data. */
const MONTH_WEIGHTS = (() => {
  const startMonth = (DEMO_REFERENCE_MONTH.month - 1 - DEMO_MONTH_COUNT + 24 * 12) % 12;
  const weights = Array.from(
    { length: DEMO_MONTH_COUNT },
    (_, i) => 1 + 0.6 * Math.cos((2 * Math.PI * (((startMonth + i) % 12) + 1 - 8)) / 12),
  );
  const total = weights.reduce((a, b) => a + b, 0);
  let cumulative = 0;
  return weights.map((w) => (cumulative += w / total));
})();
/** First day of each window month, counted from the window's start. */
const MONTH_START_DAYS = Array.from({ length: DEMO_MONTH_COUNT + 1 }, (_, i) => {
  const first = Date.UTC(DEMO_REFERENCE_MONTH.year, DEMO_REFERENCE_MONTH.month - 1 - DEMO_MONTH_COUNT + i, 1);
  return Math.round((first - WINDOW_START_MS) / DAY_MS);
});

function choose(u: number, codes: readonly string[], weights: readonly number[]): string {
  let cumulative = 0;
  for (let i = 0; i < codes.length; i++) {
    cumulative += weights[i];
    if (u < cumulative) return codes[i];
  }
  return codes[codes.length - 1];
}

function requireId(ids: ReadonlyMap<string, number>, uid: string, what: string): number {
  const id = ids.get(uid);
  if (id === undefined) throw new Error(`Demo ${what} ${uid} has no surrogate id; was its metadata saved?`);
  return id;
}

/** How many of something a facility has: the mean scaled by its population, varied by ±20%. */
function amount(mean: number, facility: DemoFacility, u: number): number {
  return Math.round(mean * (facility.population / REFERENCE_POPULATION) * (0.8 + 0.4 * u));
}

/** The tracker rows of one facility. */
export function demoTrackerRows(
  demo: DemoDatabase,
  ids: DemoTrackerIds,
  facility: DemoFacility,
): DemoTrackerRows {
  const { tracker } = demo;
  const seed = hashString(`${demo.options.seed}:tracker`);
  const f = facility.index;
  const uid = (kind: string, key: string | number) => uidFromSeed(`${demo.options.seed}:${kind}:${f}:${key}`);
  const r = (kind: number, n: number, field: number) => hashToUnit(seed, f, kind, n, field);
  const sid = (uid: string, what: string) => requireId(ids.objects, uid, what);
  const ouId = requireId(ids.orgUnits, facility.uid, 'facility');
  const aocId = ids.defaultAttributeOptionCombo;
  const personType = sid(tracker.personType, 'tracked entity type');
  const attribute = {
    firstName: sid(tracker.attributes.firstName, 'attribute'),
    lastName: sid(tracker.attributes.lastName, 'attribute'),
    sex: sid(tracker.attributes.sex, 'attribute'),
    birthDate: sid(tracker.attributes.birthDate, 'attribute'),
    nationalId: sid(tracker.attributes.nationalId, 'attribute'),
  };
  const de = tracker.dataElements;
  const rows: DemoTrackerRows = {
    trackedEntities: [],
    attributeValues: [],
    owners: [],
    enrollments: [],
    enrollmentEvents: [],
    singleEvents: [],
    relationships: [],
  };
  const stamps = (created: string): SqlValue[] => [created, created, STORED_BY, STORED_BY, STORED_BY];
  // The stored form the tracker import writes (tracker-import-writer.ts), built as text: UIDs, codes,
  // numbers, dates and the time hold nothing JSON would escape, and this runs 600,000 times.
  const dataValues = (created: string, values: Record<string, string | undefined>): string => {
    const parts: string[] = [];
    for (const key in values) {
      const value = values[key];
      if (value === undefined) continue;
      parts.push(
        `"${de[key]}":{"value":"${value}","providedElsewhere":false,"createdAt":"${created}",` +
          `"updatedAt":"${created}","storedBy":"${STORED_BY}"}`,
      );
    }
    return `{${parts.join(',')}}`;
  };
  const person = (
    teUid: string,
    created: string,
    attributes: ReadonlyArray<readonly [number, string]>,
  ): void => {
    rows.trackedEntities.push([teUid, personType, ouId, ...stamps(created)]);
    for (const [attributeId, value] of attributes)
      rows.attributeValues.push([teUid, attributeId, value, created, created, STORED_BY]);
  };
  const enroll = (
    teUid: string,
    enUid: string,
    programId: number,
    enrolledDay: number,
    occurredDay: number,
    completedDay: number | undefined,
    created: string,
  ): void => {
    rows.owners.push([teUid, programId, ouId, created, created]);
    rows.enrollments.push([
      enUid,
      teUid,
      programId,
      ouId,
      completedDay === undefined ? 'ACTIVE' : 'COMPLETED',
      dateTime(enrolledDay),
      dateTime(occurredDay),
      completedDay === undefined ? null : dateTime(completedDay),
      completedDay === undefined ? null : STORED_BY,
      ...stamps(created),
    ]);
  };
  const event = (
    evUid: string,
    programId: number,
    stageId: number,
    enUid: string | null,
    day: number,
    values: Record<string, string | undefined>,
    geometry: string | null = null,
  ): void => {
    const created = entered(day, 8 * 60 + Math.floor(hashString(evUid) % (9 * 60)));
    const common = [
      aocId,
      'COMPLETED',
      dateTime(day),
      dateTime(day),
      STORED_BY,
      dataValues(created, values),
      ...stamps(created),
    ];
    if (enUid === null) rows.singleEvents.push([evUid, programId, stageId, ouId, ...common, geometry]);
    else rows.enrollmentEvents.push([evUid, programId, stageId, enUid, ouId, ...common]);
  };

  // Mothers in ANC follow-up, and the children born to them.
  const ancProgram = sid(tracker.anc.program, 'program');
  const ancStage = sid(tracker.anc.stage, 'program stage');
  const childProgram = sid(tracker.child.program, 'program');
  const stages = {
    birth: sid(tracker.child.birthStage, 'program stage'),
    immunisation: sid(tracker.child.immunisationStage, 'program stage'),
    growth: sid(tracker.child.growthStage, 'program stage'),
  };
  const relationshipType = sid(tracker.motherChild, 'relationship type');
  const births: Array<{ day: number; familyName: string; mother?: string }> = [];
  const mothers = tracker.anc.facilityIndexes.has(f) ? amount(MOTHERS, facility, r(1, 0, 0)) : 0;
  for (let m = 0; m < mothers; m++) {
    const u = (field: number) => r(2, m, field);
    const lmp = -60 + Math.floor(u(0) * 620);
    const enrolled = Math.min(LAST_DAY, Math.max(0, lmp + 56 + Math.floor(u(1) * 70)));
    const delivery = lmp + 266 + Math.floor(u(2) * 28);
    const age = 16 + Math.floor(u(3) * u(4) * 30 + u(5) * 6);
    const teUid = uid('mother', m);
    const enUid = uid('ancEnrollment', m);
    const familyName = pick(FAMILY_NAMES, u(6));
    const created = entered(enrolled, 9 * 60 + Math.floor(u(7) * 420));
    person(teUid, created, [
      [attribute.firstName, pick(FEMALE_NAMES, u(8))],
      [attribute.lastName, familyName],
      [attribute.sex, 'FEMALE'],
      [attribute.birthDate, isoDate(lmp - Math.floor(age * 365.25 + u(9) * 365))],
      [attribute.nationalId, `KL${String(f).padStart(5, '0')}${String(m).padStart(4, '0')}`],
    ]);
    const delivered = delivery <= LAST_DAY;
    // The incident date is the last menstrual period, as the program's label says.
    enroll(teUid, enUid, ancProgram, enrolled, lmp, delivered ? delivery : undefined, created);
    const visits = 1 + Math.floor(u(10) * 4);
    for (let v = 0, day = enrolled; v < visits && day <= Math.min(LAST_DAY, delivery - 1); v++) {
      const w = (field: number) => r(3, m * 8 + v, field);
      const hb = 11.3 + (w(0) + w(1) + w(2) - 1.5) * 2.6;
      event(uid('ancVisit', `${m}:${v}`), ancProgram, ancStage, enUid, day, {
        haemoglobin: oneDecimal(hb),
        weight: oneDecimal(50 + u(11) * 30 + v * 1.6),
        hivResult:
          v === 0 ? choose(w(3), ['NEGATIVE', 'POSITIVE', 'INVALID'], [0.95, 0.04, 0.01]) : undefined,
      });
      day += 28 + Math.floor(w(4) * 14);
    }
    if (delivered && u(12) < CHILD_ENROLLED_SHARE) births.push({ day: delivery, familyName, mother: teUid });
  }
  const others = amount(OTHER_CHILDREN, facility, r(1, 0, 1));
  for (let c = 0; c < others; c++)
    births.push({ day: Math.floor(r(4, c, 0) * WINDOW_DAYS), familyName: pick(FAMILY_NAMES, r(4, c, 1)) });

  // Children in the child health programme: birth, immunisations, growth monitoring.
  births.forEach((birth, c) => {
    const u = (field: number) => r(5, c, field);
    const teUid = uid('child', c);
    const enUid = uid('childEnrollment', c);
    const enrolled = Math.min(LAST_DAY, birth.day + Math.floor(u(0) * u(0) * 4));
    const created = entered(enrolled, 8 * 60 + Math.floor(u(1) * 480));
    const male = u(2) < 0.51;
    person(teUid, created, [
      [attribute.firstName, pick(male ? MALE_NAMES : FEMALE_NAMES, u(3))],
      [attribute.lastName, birth.familyName],
      [attribute.sex, male ? 'MALE' : 'FEMALE'],
      [attribute.birthDate, isoDate(birth.day)],
    ]);
    const grownUp = birth.day + 365 <= LAST_DAY ? birth.day + 365 : undefined;
    enroll(teUid, enUid, childProgram, enrolled, birth.day, grownUp, created);
    const lowWeight = u(4) < 0.09;
    const birthWeight = lowWeight ? 1.8 + u(5) * 0.65 : 2.5 + u(5) * 1.7;
    event(uid('birth', c), childProgram, stages.birth, enUid, enrolled, {
      birthWeight: oneDecimal(birthWeight),
      deliveryPlace: choose(u(6), ['FACILITY', 'HOME', 'ON_THE_WAY'], [0.74, 0.22, 0.04]),
      breastfed: u(7) < 0.7 ? 'true' : 'false',
    });
    IMMUNISATIONS.forEach(([after, vaccine, dose], i) => {
      const day = birth.day + after + Math.floor(r(6, c, i) * (after === 0 ? 3 : 12));
      if (day > LAST_DAY || r(6, c, 10 + i) > 0.95 - 0.04 * i) return;
      const next = IMMUNISATIONS[i + 1];
      event(uid('immunisation', `${c}:${i}`), childProgram, stages.immunisation, enUid, day, {
        vaccine,
        dose: String(dose),
        nextVisit: next ? isoDate(birth.day + next[0]) : undefined,
      });
    });
    GROWTH_VISITS.forEach((after, i) => {
      const day = birth.day + after + Math.floor(r(7, c, i) * 14);
      if (day > LAST_DAY || r(7, c, 10 + i) > 0.62) return;
      const months = after / 30.4;
      const weight =
        (birthWeight + Math.min(months, 6) * 0.65 + Math.max(0, months - 6) * 0.3) *
        (0.88 + 0.2 * r(7, c, 20 + i));
      const status =
        months < 6 ? undefined : choose(r(7, c, 30 + i), ['NORMAL', 'MAM', 'SAM'], [0.9, 0.07, 0.03]);
      const muac =
        status === 'SAM'
          ? 10.5 + r(7, c, 40 + i) * 0.9
          : status === 'MAM'
            ? 11.5 + r(7, c, 40 + i) * 0.9
            : 12.5 + r(7, c, 40 + i) * 3;
      event(uid('growth', `${c}:${i}`), childProgram, stages.growth, enUid, day, {
        childWeight: oneDecimal(weight),
        muac: status === undefined ? undefined : oneDecimal(muac),
        nutritionStatus: status,
      });
    });
    if (birth.mother) {
      rows.relationships.push([
        uid('motherChild', c),
        relationshipType,
        birth.mother,
        teUid,
        ...stamps(created),
      ]);
    }
  });

  // Malaria case investigations (the event program), more in the rainy season; at least one, so
  // that every facility's last event marks its rows as written (demo-seeder.ts).
  const malariaProgram = sid(tracker.malaria.program, 'program');
  const malariaStage = sid(tracker.malaria.stage, 'program stage');
  const cases = Math.max(1, amount(MALARIA_CASES, facility, r(1, 0, 2)));
  const [lon, lat] = facilityPoint(demo, facility.uid);
  for (let k = 0; k < cases; k++) {
    const u = (field: number) => r(8, k, field);
    const month = MONTH_WEIGHTS.findIndex((c) => u(0) < c);
    const first = MONTH_START_DAYS[month];
    const day = first + Math.floor(u(1) * (MONTH_START_DAYS[month + 1] - first));
    const result = choose(u(2), ['POSITIVE', 'NEGATIVE', 'INVALID'], [0.82, 0.15, 0.03]);
    const classification =
      result === 'POSITIVE' ? choose(u(3), ['LOCAL', 'IMPORTED', 'RELAPSE'], [0.86, 0.1, 0.04]) : undefined;
    event(
      uid('malariaCase', k),
      malariaProgram,
      malariaStage,
      null,
      day,
      {
        rdtResult: result,
        caseClassification: classification,
        travelled: classification === 'IMPORTED' || u(4) < 0.08 ? 'true' : 'false',
        patientAge: String(Math.floor(u(5) * u(5) * 70)),
      },
      // The stage's feature type is POINT: where the case lives, within about 4 km of the facility.
      `{"type":"Point","coordinates":[${(lon + (u(6) - 0.5) * 0.08).toFixed(5)},${(lat + (u(7) - 0.5) * 0.08).toFixed(5)}]}`,
    );
  }
  return rows;
}

const FACILITY_POINTS = new WeakMap<DemoDatabase, Map<string, [number, number]>>();

/** A facility's coordinates, from its org unit's point geometry. */
function facilityPoint(demo: DemoDatabase, uid: string): [number, number] {
  let points = FACILITY_POINTS.get(demo);
  if (!points) {
    points = new Map();
    for (const unit of demo.metadata.get('organisationUnits') ?? []) {
      const geometry = unit.geometry as { type?: string; coordinates?: [number, number] } | undefined;
      if (geometry?.type === 'Point' && geometry.coordinates) points.set(unit.id, geometry.coordinates);
    }
    FACILITY_POINTS.set(demo, points);
  }
  const point = points.get(uid);
  if (!point) throw new Error(`Demo facility ${uid} has no point geometry`);
  return point;
}

/** The UID of a facility's last event: present once the transaction holding its rows committed. */
export function lastEventUid(rows: DemoTrackerRows): string {
  const last = rows.singleEvents[rows.singleEvents.length - 1];
  return String(last[0]);
}

export function eventCount(rows: DemoTrackerRows): number {
  return rows.enrollmentEvents.length + rows.singleEvents.length;
}
