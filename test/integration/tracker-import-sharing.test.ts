import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createTestDatabase,
  skipReasonFor,
  TEST_DATABASE_KINDS,
  type TestDatabase,
} from '../support/test-databases.ts';
import { contextFor, ORG_UNITS, seedAccessFixtures } from '../support/access-fixtures.ts';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import type { Principal } from '../../src/domain/access/principal.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { importTrackerBundle } from '../../src/services/tracker/tracker-import-service.ts';
import { parseTrackerImportParams } from '../../src/domain/tracker/tracker-import-params.ts';
import {
  addPayloadItem,
  emptyBundle,
  TRACKER_COLLECTIONS,
} from '../../src/domain/tracker/tracker-objects.ts';
import { generateUid } from '../../src/domain/identifiers/uid.ts';
import {
  nestedFields,
  parseEnrollmentExport,
  parseEventExport,
  parseTrackedEntityExport,
  readEvents,
  readTrackedEntities,
} from '../../src/services/tracker/tracker-export-service.ts';

/**
 * The tracker import checks data sharing as DHIS2's TrackerImportAccessManager does: E1001 data
 * write on a tracked entity's type, E1091 data write on an enrollment's program or an event's
 * program without registration, E1095 data write on a tracker event's stage, E1096 data read on its
 * program, E1104 data read on the type of an enrollment's program, E1099 data write on each
 * category option of an event's attribute option combo. A user's own sharing entry grants; users
 * with ALL and the operator pass.
 */

const { bo } = ORG_UNITS;
const CLERK = 'shrClerk001';
const READ_ONLY = { public: 'rwr-----' };
const NO_DATA = { public: 'rw------' };

const METADATA = {
  categoryOptions: [
    { id: 'shrOptOpen1', name: 'Shr open', shortName: 'Shr open' },
    { id: 'shrOptShut1', name: 'Shr shut', shortName: 'Shr shut', sharing: READ_ONLY },
  ],
  categories: [
    {
      id: 'shrCateg001',
      name: 'Shr partner',
      shortName: 'Shr partner',
      dataDimensionType: 'ATTRIBUTE',
      categoryOptions: [{ id: 'shrOptOpen1' }, { id: 'shrOptShut1' }],
    },
  ],
  categoryCombos: [
    {
      id: 'shrCatCmb01',
      name: 'Shr partners',
      dataDimensionType: 'ATTRIBUTE',
      categories: [{ id: 'shrCateg001' }],
    },
  ],
  trackedEntityAttributes: [
    {
      id: 'shrAttrTxt1',
      name: 'Shr text',
      shortName: 'Shr text',
      valueType: 'LONG_TEXT',
      aggregationType: 'NONE',
    },
  ],
  trackedEntityTypes: [
    {
      id: 'shrTypeOpen',
      name: 'Shr open type',
      trackedEntityTypeAttributes: [{ trackedEntityAttribute: { id: 'shrAttrTxt1' } }],
    },
    { id: 'shrTypeShut', name: 'Shr shut type', sharing: NO_DATA },
    { id: 'shrTypeRead', name: 'Shr read type', sharing: READ_ONLY },
  ],
  programs: [
    {
      id: 'shrPrgOpen1',
      name: 'Shr open',
      shortName: 'Shr open',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'shrTypeOpen' },
      organisationUnits: [{ id: bo }],
    },
    {
      id: 'shrPrgRead1',
      name: 'Shr read only',
      shortName: 'Shr read only',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'shrTypeOpen' },
      organisationUnits: [{ id: bo }],
      sharing: READ_ONLY,
    },
    {
      id: 'shrPrgNoRd1',
      name: 'Shr no data',
      shortName: 'Shr no data',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'shrTypeOpen' },
      organisationUnits: [{ id: bo }],
      sharing: NO_DATA,
    },
    {
      id: 'shrPrgShTy1',
      name: 'Shr shut type',
      shortName: 'Shr shut type',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'shrTypeShut' },
      organisationUnits: [{ id: bo }],
    },
    {
      id: 'shrEvRead01',
      name: 'Shr events read only',
      shortName: 'Shr ev read',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: bo }],
      sharing: READ_ONLY,
    },
    {
      id: 'shrEvUser01',
      name: 'Shr events for the clerk',
      shortName: 'Shr ev user',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: bo }],
      sharing: { public: 'rw------', users: { [CLERK]: { id: CLERK, access: 'rwrw----' } } },
    },
    {
      id: 'shrEvCat001',
      name: 'Shr events by partner',
      shortName: 'Shr ev cat',
      programType: 'WITHOUT_REGISTRATION',
      categoryCombo: { id: 'shrCatCmb01' },
      organisationUnits: [{ id: bo }],
    },
  ],
  programStages: [
    { id: 'shrStgOpen1', name: 'Shr open stage', program: { id: 'shrPrgOpen1' }, repeatable: true },
    {
      id: 'shrStgRead1',
      name: 'Shr read stage',
      program: { id: 'shrPrgOpen1' },
      repeatable: true,
      sharing: READ_ONLY,
    },
    { id: 'shrStgNoRd1', name: 'Shr stage of no-data', program: { id: 'shrPrgNoRd1' }, repeatable: true },
    { id: 'shrStgEvRd1', name: 'Shr ev read stage', program: { id: 'shrEvRead01' } },
    { id: 'shrStgEvUs1', name: 'Shr ev user stage', program: { id: 'shrEvUser01' } },
    { id: 'shrStgEvCt1', name: 'Shr ev cat stage', program: { id: 'shrEvCat001' } },
  ],
};

function bundleOf(payload: Record<string, unknown[]>) {
  const bundle = emptyBundle();
  for (const collection of TRACKER_COLLECTIONS)
    for (const item of payload[collection] ?? [])
      addPayloadItem(bundle, collection, item as Record<string, unknown>, generateUid);
  return bundle;
}

const codes = (report: { validationReport: { errorReports: Array<{ errorCode: string; uid: string }> } }) =>
  report.validationReport.errorReports.map((e) => `${e.errorCode} ${e.uid}`).sort();

const te = (uid: string, type: string, enrollments: unknown[] = []) => ({
  trackedEntity: uid,
  trackedEntityType: type,
  orgUnit: bo,
  enrollments,
});
const enrollment = (uid: string, program: string, events: unknown[] = []) => ({
  enrollment: uid,
  program,
  orgUnit: bo,
  enrolledAt: '2024-01-01',
  events,
});
const event = (uid: string, programStage: string, extra: Record<string, unknown> = {}) => ({
  event: uid,
  programStage,
  orgUnit: bo,
  occurredAt: '2024-01-02',
  status: 'ACTIVE',
  ...extra,
});

/** One object per check, each refused by exactly one code, and the objects the clerk may write. */
const PAYLOAD = {
  trackedEntities: [
    te('shrTeShut01', 'shrTypeShut'), // E1001
    te('shrTeRead01', 'shrTypeRead'), // E1001: data read is not enough
    te('shrTeOpen01', 'shrTypeOpen', [
      enrollment('shrEnOpen01', 'shrPrgOpen1', [
        event('shrEvOpen01', 'shrStgOpen1'), // allowed
        event('shrEvStRd01', 'shrStgRead1'), // E1095
      ]),
      enrollment('shrEnRead01', 'shrPrgRead1'), // E1091
    ]),
  ],
  // The operator stored shrTeShutOp (a type the clerk may not even read).
  enrollments: [{ ...enrollment('shrEnShTy01', 'shrPrgShTy1'), trackedEntity: 'shrTeShutOp' }], // E1104
  events: [
    event('shrEvPrRd01', 'shrStgEvRd1', { program: 'shrEvRead01' }), // E1091
    event('shrEvUser01', 'shrStgEvUs1', { program: 'shrEvUser01' }), // allowed by the clerk's own entry
    event('shrEvCatOp1', 'shrStgEvCt1', { program: 'shrEvCat001', attributeCategoryOptions: 'shrOptOpen1' }), // allowed
    event('shrEvCatSh1', 'shrStgEvCt1', { program: 'shrEvCat001', attributeCategoryOptions: 'shrOptShut1' }), // E1099
  ],
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker data sharing and access codes on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let clerk: Principal;
    const run = (
      payload: Record<string, unknown[]>,
      who: Principal | undefined,
      query: Record<string, string> = {},
    ) =>
      importTrackerBundle(
        context,
        bundleOf(payload),
        parseTrackerImportParams({ async: 'false', atomicMode: 'OBJECT', ...query }),
        who,
      );

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      await seedAccessFixtures(db.storage, context.metadata);
      const report = await importMetadataObjects(context, {
        ...METADATA,
        userRoles: [{ id: 'shrRole0001', name: 'Shr clerk', authorities: ['F_TRACKER_IMPORT'] }],
      });
      assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
      await context.users.createUser({
        id: CLERK,
        username: 'shr.clerk',
        password: 'Sharing-pass-1',
        roles: ['shrRole0001'],
        orgUnits: [bo],
      });
      clerk = await context.auth.principalFor(CLERK);
      const stored = await run({ trackedEntities: [te('shrTeShutOp', 'shrTypeShut')] }, undefined);
      assert.equal(stored.status, 'OK', JSON.stringify(stored.validationReport));
    });
    after(() => db.dispose());

    it('refuses what sharing does not let the clerk write, with DHIS2 codes, and writes the rest', async () => {
      const report = await run(PAYLOAD, clerk);
      assert.deepEqual(codes(report), [
        'E1001 shrTeRead01',
        'E1001 shrTeShut01',
        'E1091 shrEnRead01',
        'E1091 shrEvPrRd01',
        'E1095 shrEvStRd01',
        'E1099 shrEvCatSh1',
        'E1104 shrEnShTy01',
      ]);
      const messages = report.validationReport.errorReports.map((e) => e.message);
      assert.ok(
        messages.includes('User: `shr.clerk`, has no data write access to TrackedEntityType: `shrTypeShut`.'),
      );
      assert.ok(
        messages.includes('User: `shr.clerk`, has no write access to CategoryOption: `shrOptShut1`.'),
      );
      const created = (type: 'TRACKED_ENTITY' | 'ENROLLMENT' | 'EVENT') =>
        report.bundleReport.typeReportMap[type]?.stats.created;
      assert.equal(created('TRACKED_ENTITY'), 1);
      assert.equal(created('ENROLLMENT'), 1);
      assert.equal(created('EVENT'), 3); // shrEvOpen01, shrEvUser01, shrEvCatOp1
    });

    it('refuses a tracker event when the program gives no data read (E1096), also on delete', async () => {
      // The operator writes the event; the clerk may neither change nor delete it.
      const setup = await run(
        {
          enrollments: [{ ...enrollment('shrEnNoRd01', 'shrPrgNoRd1'), trackedEntity: 'shrTeOpen01' }],
          events: [{ ...event('shrEvNoRd01', 'shrStgNoRd1'), enrollment: 'shrEnNoRd01' }],
        },
        undefined,
      );
      assert.equal(setup.status, 'OK', JSON.stringify(setup.validationReport));
      const update = await run(
        {
          events: [
            { ...event('shrEvNoRd01', 'shrStgNoRd1'), enrollment: 'shrEnNoRd01', status: 'COMPLETED' },
          ],
        },
        clerk,
      );
      assert.deepEqual(codes(update), ['E1096 shrEvNoRd01']);
      const removal = await run({ events: [{ event: 'shrEvNoRd01' }] }, clerk, { importStrategy: 'DELETE' });
      assert.deepEqual(codes(removal), ['E1096 shrEvNoRd01']);
    });

    it('refuses an attribute value over 1,200 characters (E1077)', async () => {
      const withText = (uid: string, length: number) => ({
        ...te(uid, 'shrTypeOpen'),
        attributes: [{ attribute: 'shrAttrTxt1', value: 'x'.repeat(length) }],
      });
      const report = await run(
        { trackedEntities: [withText('shrTeLong01', 1201), withText('shrTeLong02', 1200)] },
        clerk,
      );
      assert.deepEqual(codes(report), ['E1077 shrTeLong01']);
      assert.equal(report.stats.created, 1);
    });

    it('lets only F_UNCOMPLETE_EVENT (or ALL) take an event out of COMPLETED (E1083)', async () => {
      const completed = {
        ...event('shrEvDone01', 'shrStgOpen1', { status: 'COMPLETED' }),
        enrollment: 'shrEnOpen01',
      };
      assert.equal((await run({ events: [completed] }, undefined)).status, 'OK');
      const reopened = { ...completed, status: 'ACTIVE' };
      assert.deepEqual(codes(await run({ events: [reopened] }, clerk)), ['E1083 shrEvDone01']);
      // Still completed, changed otherwise: allowed.
      assert.deepEqual(codes(await run({ events: [{ ...completed, occurredAt: '2024-01-05' }] }, clerk)), []);
      const uncompleter = { ...clerk, authorities: new Set(['F_TRACKER_IMPORT', 'F_UNCOMPLETE_EVENT']) };
      assert.deepEqual(codes(await run({ events: [reopened] }, uncompleter)), []);
    });

    it('leaves out a note whose UID is taken, with warning E1119', async () => {
      const noted = (uid: string, note: string) => ({
        ...event(uid, 'shrStgOpen1'),
        enrollment: 'shrEnOpen01',
        notes: [{ note, value: `note of ${uid}` }],
      });
      assert.equal((await run({ events: [noted('shrEvNote01', 'shrNote0001')] }, clerk)).status, 'OK');
      const report = await run({ events: [noted('shrEvNote02', 'shrNote0001')] }, clerk, {
        reportMode: 'WARNINGS',
      });
      assert.equal(report.status, 'WARNING');
      assert.deepEqual(
        report.validationReport.warningReports.map((w) => `${w.errorCode} ${w.uid} ${w.args.join()}`),
        ['E1119 shrEvNote02 shrNote0001'],
      );
      assert.equal(report.stats.created, 1);
      const notes = await db.storage.query<{ value: string }>(
        `SELECT value FROM tracker_note WHERE uid = ?`,
        ['shrNote0001'],
      );
      assert.deepEqual(
        notes.map((n) => n.value),
        ['note of shrEvNote01'],
      );
    });

    it('exports only what program and type sharing let the clerk read', async () => {
      const events = async (query: Record<string, string>, who: Principal | undefined) => {
        const out: Array<{ event: string; program?: unknown }> = [];
        const request = await parseEventExport(context, { paging: 'false', ...query }, who);
        for await (const batch of readEvents(context, request)) out.push(...batch);
        return out;
      };
      // The operator stored shrEvNoRd01 in shrPrgNoRd1, whose data the clerk may not read.
      assert.ok((await events({}, undefined)).some((e) => e.event === 'shrEvNoRd01'));
      const seen = await events({}, clerk);
      assert.ok(seen.some((e) => e.program === 'shrPrgOpen1'));
      assert.ok(!seen.some((e) => e.program === 'shrPrgNoRd1'));
      await assert.rejects(
        parseEventExport(context, { program: 'shrPrgNoRd1' }, clerk),
        /no data read access to program: `shrPrgNoRd1`/,
      );
      await assert.rejects(
        parseEnrollmentExport(context, { program: 'shrPrgNoRd1' }, clerk),
        /no data read access to program/,
      );
      await assert.rejects(
        parseTrackedEntityExport(context, { trackedEntityType: 'shrTypeShut' }, clerk),
        /no data read access to tracked entity type: `shrTypeShut`/,
      );
      const entities: string[] = [];
      const request = await parseTrackedEntityExport(
        context,
        { trackedEntities: 'shrTeShutOp,shrTeOpen01' },
        clerk,
      );
      for await (const batch of readTrackedEntities(context, request, nestedFields({})))
        entities.push(...batch.map((t) => String(t.trackedEntity)));
      assert.deepEqual(entities, ['shrTeOpen01']);
      // Nested enrollments: shrEnNoRd01 (the operator's, in shrPrgNoRd1) is left out for the clerk.
      const nestedOf = async (who: Principal | undefined) => {
        const out: string[] = [];
        const query = { trackedEntities: 'shrTeOpen01', fields: '*' };
        const one = await parseTrackedEntityExport(context, query, who);
        for await (const batch of readTrackedEntities(context, one, nestedFields(query)))
          for (const t of batch)
            for (const en of t.enrollments as Array<{ enrollment: string }>) out.push(en.enrollment);
        return out.sort();
      };
      assert.ok((await nestedOf(undefined)).includes('shrEnNoRd01'));
      const clerkSees = await nestedOf(clerk);
      assert.ok(clerkSees.includes('shrEnOpen01'));
      assert.ok(!clerkSees.includes('shrEnNoRd01'));
    });

    it('lets users with ALL and the operator write everything', async () => {
      const admin = { ...clerk, authorities: new Set(['ALL']) };
      const again = {
        ...PAYLOAD,
        trackedEntities: PAYLOAD.trackedEntities.filter((t) => t.trackedEntity !== 'shrTeOpen01'),
      };
      const byAdmin = await run(again, admin);
      assert.deepEqual(codes(byAdmin), []);
      const byOperator = await run({ trackedEntities: [te('shrTeShut02', 'shrTypeShut')] }, undefined);
      assert.equal(byOperator.status, 'OK');
    });
  });
}
