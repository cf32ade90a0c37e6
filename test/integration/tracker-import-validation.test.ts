import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { importTracker, importTrackerBundle } from '../../src/services/tracker/tracker-import-service.ts';
import { parseTrackerImportParams } from '../../src/domain/tracker/tracker-import-params.ts';
import {
  addPayloadItem,
  emptyBundle,
  TRACKER_COLLECTIONS,
} from '../../src/domain/tracker/tracker-objects.ts';
import { generateUid } from '../../src/domain/identifiers/uid.ts';
import {
  countEvents,
  eventCsvLines,
  parseEventExport,
  readEvents,
} from '../../src/services/tracker/tracker-export-service.ts';

const { bo, badjia, otherRoot } = ORG_UNITS;
const TET = 'tetPerson01';
const UNIQUE_ID = 'teaNatId001'; // unique system-wide
const LOCAL_ID = 'teaLocId001'; // unique per org unit
const NAME = 'teaName0001'; // mandatory in the program
const PROGRAM = 'prgChild001';
const STAGE = 'stgVisit001';
const EVENT_PROGRAM = 'prgCase0001';
const EVENT_STAGE = 'stgCase0001';
const DE_INT = 'deWeight001';
const DE_OPT = 'deResult001';
const DE_OTHER = 'deOther0001';

const METADATA = {
  optionSets: [
    {
      id: 'osResult001',
      name: 'Result',
      valueType: 'TEXT',
      options: [{ id: 'optPos00001' }, { id: 'optNeg00001' }],
    },
  ],
  options: [
    { id: 'optPos00001', name: 'Positive', code: 'POS' },
    { id: 'optNeg00001', name: 'Negative', code: 'NEG' },
  ],
  dataElements: [
    {
      id: DE_INT,
      name: 'Weight',
      shortName: 'Weight',
      valueType: 'INTEGER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
    {
      id: DE_OPT,
      name: 'Result',
      shortName: 'Result',
      valueType: 'TEXT',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
      optionSet: { id: 'osResult001' },
    },
    {
      id: DE_OTHER,
      name: 'Other',
      shortName: 'Other',
      valueType: 'TEXT',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  trackedEntityAttributes: [
    {
      id: UNIQUE_ID,
      name: 'National id',
      shortName: 'National id',
      valueType: 'TEXT',
      aggregationType: 'NONE',
      unique: true,
    },
    {
      id: LOCAL_ID,
      name: 'Local id',
      shortName: 'Local id',
      valueType: 'TEXT',
      aggregationType: 'NONE',
      unique: true,
      orgunitScope: true,
    },
    { id: NAME, name: 'Name', shortName: 'Name', valueType: 'TEXT', aggregationType: 'NONE' },
  ],
  trackedEntityTypes: [
    {
      id: TET,
      name: 'Person',
      trackedEntityTypeAttributes: [
        { trackedEntityAttribute: { id: UNIQUE_ID } },
        { trackedEntityAttribute: { id: LOCAL_ID } },
        { trackedEntityAttribute: { id: NAME } },
      ],
    },
  ],
  programs: [
    {
      id: PROGRAM,
      name: 'Child programme',
      shortName: 'Child',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: TET },
      organisationUnits: [{ id: bo }, { id: badjia }, { id: otherRoot }],
      programTrackedEntityAttributes: [{ trackedEntityAttribute: { id: NAME }, mandatory: true }],
    },
    {
      id: EVENT_PROGRAM,
      name: 'Case report',
      shortName: 'Case report',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: bo }, { id: badjia }, { id: otherRoot }],
    },
  ],
  programStages: [
    {
      id: STAGE,
      name: 'Visit',
      program: { id: PROGRAM },
      repeatable: true,
      programStageDataElements: [{ dataElement: { id: DE_INT } }, { dataElement: { id: DE_OPT } }],
    },
    { id: 'stgOnce0001', name: 'Birth', program: { id: PROGRAM }, programStageDataElements: [] },
    {
      id: EVENT_STAGE,
      name: 'Case',
      program: { id: EVENT_PROGRAM },
      programStageDataElements: [{ dataElement: { id: DE_INT } }],
    },
  ],
};

function bundleOf(payload: Record<string, unknown[]>) {
  const bundle = emptyBundle();
  for (const collection of TRACKER_COLLECTIONS)
    for (const item of payload[collection] ?? [])
      addPayloadItem(bundle, collection, item as Record<string, unknown>, generateUid);
  return bundle;
}

const person = (
  uid: string,
  orgUnit: string,
  attributes: Record<string, string>,
  enrollments: unknown[] = [],
) => ({
  trackedEntity: uid,
  trackedEntityType: TET,
  orgUnit,
  attributes: Object.entries(attributes).map(([attribute, value]) => ({ attribute, value })),
  enrollments,
});
const enrollment = (uid: string, orgUnit: string, events: unknown[] = []) => ({
  enrollment: uid,
  program: PROGRAM,
  orgUnit,
  enrolledAt: '2024-01-01',
  events,
});
const visit = (uid: string, orgUnit: string, dataValues: Array<[string, string]>) => ({
  event: uid,
  programStage: STAGE,
  orgUnit,
  occurredAt: '2024-01-02',
  dataValues: dataValues.map(([dataElement, value]) => ({ dataElement, value })),
});

const codes = (report: { validationReport: { errorReports: Array<{ errorCode: string; uid: string }> } }) =>
  report.validationReport.errorReports.map((e) => `${e.errorCode} ${e.uid}`).sort();

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker import validation and export scope on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    let clerk: Principal;
    /** Imports as the clerk, or as the operator (no user: every right) when `who` is 'operator'. */
    const run = (
      payload: Record<string, unknown[]>,
      query: Record<string, string> = {},
      who: Principal | 'operator' = clerk,
    ) =>
      importTrackerBundle(
        context,
        bundleOf(payload),
        parseTrackerImportParams({ async: 'false', ...query }),
        who === 'operator' ? undefined : who,
      );

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      await seedAccessFixtures(db.storage, context.metadata);
      const report = await importMetadataObjects(context, {
        ...METADATA,
        userRoles: [{ id: 'roleTrack01', name: 'Tracker clerk', authorities: ['F_TRACKER_IMPORT'] }],
      });
      assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
      await context.users.createUser({
        id: 'trkClerk001',
        username: 'bo.tracker',
        password: 'Tracker-pass-1',
        roles: ['roleTrack01'],
        orgUnits: [bo],
      });
      clerk = await context.auth.principalFor('trkClerk001');
    });
    after(() => db.dispose());

    it('keeps a clerk inside the capture scope (E1000) and checks the authority', async () => {
      const report = await run(
        {
          trackedEntities: [
            person('teOutside01', otherRoot, { [NAME]: 'A' }),
            person('teInside001', badjia, { [NAME]: 'B' }),
          ],
        },
        { atomicMode: 'OBJECT' },
      );
      assert.deepEqual(codes(report), ['E1000 teOutside01']);
      assert.equal(report.stats.created, 1);
      const noRole = { ...clerk, authorities: new Set<string>() };
      await assert.rejects(run({ trackedEntities: [] }, {}, noRole), /F_TRACKER_IMPORT/);
    });

    it('refuses a unique attribute value held by another entity, system-wide or per org unit (E1064)', async () => {
      const first = await run({
        trackedEntities: [person('teUniq00001', bo, { [UNIQUE_ID]: 'N-1', [LOCAL_ID]: 'L-1' })],
      });
      assert.equal(first.status, 'OK', JSON.stringify(first.validationReport));
      const clash = await run(
        {
          trackedEntities: [
            person('teUniq00002', badjia, { [UNIQUE_ID]: 'N-1' }),
            person('teUniq00003', badjia, { [LOCAL_ID]: 'L-1' }), // another org unit: allowed
            person('teUniq00004', badjia, { [LOCAL_ID]: 'L-1' }), // same org unit as 3 in this payload
          ],
        },
        { atomicMode: 'OBJECT' },
      );
      assert.deepEqual(codes(clash), ['E1064 teUniq00002', 'E1064 teUniq00004']);
      // An update of the holder itself keeps its value.
      const again = await run({ trackedEntities: [person('teUniq00001', bo, { [UNIQUE_ID]: 'N-1' })] });
      assert.equal(again.status, 'OK', JSON.stringify(again.validationReport));
      assert.equal(again.stats.updated, 1);
    });

    it('under atomicMode OBJECT writes the valid objects and gives E5000 to children of a failed parent', async () => {
      const report = await run(
        {
          trackedEntities: [
            {
              ...person('teBadType01', bo, { [NAME]: 'X' }, [
                enrollment('enOfBad0001', bo, [visit('evOfBad0001', bo, [])]),
              ]),
              trackedEntityType: 'noSuchTet01',
            },
            person('teGood00001', bo, { [NAME]: 'Y' }, [
              enrollment('enGood00001', bo, [
                visit('evGood00001', bo, [
                  [DE_INT, '12'],
                  [DE_OPT, 'POS'],
                ]),
              ]),
            ]),
          ],
        },
        { atomicMode: 'OBJECT' },
      );
      assert.equal(report.status, 'ERROR');
      assert.deepEqual(codes(report), ['E1005 teBadType01', 'E5000 enOfBad0001', 'E5000 evOfBad0001']);
      assert.deepEqual(report.stats, { created: 3, updated: 0, deleted: 0, ignored: 3, total: 6 });
    });

    it('checks mandatory program attributes, data values, option sets, stages and program org units', async () => {
      const report = await run(
        {
          trackedEntities: [
            person('teNoName001', bo, {}, [enrollment('enNoName001', bo)]),
            person('teValues001', bo, { [NAME]: 'Z' }, [
              enrollment('enValues001', bo, [
                visit('evBadInt001', bo, [[DE_INT, '12.5']]),
                visit('evBadOpt001', bo, [[DE_OPT, 'MAYBE']]),
                visit('evNotStg001', bo, [[DE_OTHER, 'x']]),
                visit('evNoDe00001', bo, [['deMissing01', 'x']]),
              ]),
            ]),
          ],
          events: [
            {
              event: 'evWrongOu01',
              programStage: EVENT_STAGE,
              orgUnit: ORG_UNITS.sierraLeone,
              occurredAt: '2024-01-01',
            },
          ],
        },
        { atomicMode: 'OBJECT' },
        'operator',
      );
      assert.deepEqual(codes(report), [
        'E1018 enNoName001',
        'E1029 evWrongOu01',
        'E1125 evBadOpt001',
        'E1302 evBadInt001',
        'E1304 evNoDe00001',
        'E1305 evNotStg001',
      ]);
    });

    it('refuses malformed UIDs (E1048) and a UID given twice in one payload', async () => {
      const report = await run(
        {
          trackedEntities: [
            person('not-a-uid', bo, { [NAME]: 'A' }),
            person('teTwice0001', bo, { [NAME]: 'B' }),
            person('teTwice0001', bo, { [NAME]: 'C' }),
          ],
        },
        { atomicMode: 'OBJECT' },
      );
      assert.deepEqual(codes(report), ['E1002 teTwice0001', 'E1048 not-a-uid']);
      assert.equal(report.stats.created, 1);
    });

    it('enrols once while active (E1015), not in the future (E1020), one event per non-repeatable stage (E1039)', async () => {
      const birth = (uid: string) => ({
        event: uid,
        programStage: 'stgOnce0001',
        orgUnit: bo,
        occurredAt: '2024-01-02',
      });
      const report = await run(
        {
          trackedEntities: [
            person('teRules0001', bo, { [NAME]: 'R' }, [
              enrollment('enRules0001', bo, [birth('evBirth0001'), birth('evBirth0002')]),
              enrollment('enRules0002', bo),
            ]),
            person('teRules0002', bo, { [NAME]: 'S' }, [
              { ...enrollment('enRules0003', bo), enrolledAt: '2999-01-01' },
            ]),
          ],
        },
        { atomicMode: 'OBJECT' },
      );
      assert.deepEqual(codes(report), ['E1015 enRules0002', 'E1020 enRules0003', 'E1039 evBirth0002']);
      // Against what is stored: a second birth event in the stored enrollment, a second active enrollment.
      const again = await run(
        {
          enrollments: [{ ...enrollment('enRules0004', bo), trackedEntity: 'teRules0001' }],
          events: [{ ...birth('evBirth0003'), enrollment: 'enRules0001' }],
        },
        { atomicMode: 'OBJECT' },
      );
      assert.deepEqual(codes(again), ['E1015 enRules0004', 'E1039 evBirth0003']);
    });

    it('imports a file in chunks: forward references wait for their parents, atomicMode ALL undoes earlier chunks', async () => {
      const file = join(db.dataDir, 'chunked.json');
      // Events first, then enrollments, then tracked entities: every reference points forward.
      const payload = {
        events: [visit('evChunk0001', bo, [[DE_INT, '1']]), visit('evChunk0002', bo, [[DE_INT, '2']])].map(
          (e, i) => ({
            ...e,
            enrollment: `enChunk000${i + 1}`,
          }),
        ),
        enrollments: [1, 2].map((i) => ({
          ...enrollment(`enChunk000${i}`, bo),
          trackedEntity: `teChunk000${i}`,
        })),
        trackedEntities: [1, 2].map((i) => person(`teChunk000${i}`, bo, { [NAME]: `C${i}` })),
      };
      writeFileSync(file, JSON.stringify(payload));
      const input = { path: file, fileName: 'chunked.json' };
      const params = { async: 'false', atomicMode: 'ALL' };
      const bad = structuredClone(payload);
      bad.trackedEntities[1].trackedEntityType = 'noSuchTet01';
      writeFileSync(join(db.dataDir, 'bad.json'), JSON.stringify(bad));
      const refused = await importTracker(
        context,
        { path: join(db.dataDir, 'bad.json'), fileName: 'bad.json' },
        params,
        undefined,
        { chunkObjects: 1 },
      );
      assert.deepEqual(codes(refused), ['E1005 teChunk0002', 'E5000 enChunk0002', 'E5000 evChunk0002']);
      assert.equal(refused.stats.ignored, 6);
      const none = await db.storage.query("SELECT uid FROM tracked_entity WHERE uid LIKE 'teChunk%'");
      assert.deepEqual(none, [], 'the first chunks were rolled back');
      const report = await importTracker(context, input, params, undefined, { chunkObjects: 1 });
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
      assert.deepEqual(report.stats, { created: 6, updated: 0, deleted: 0, ignored: 0, total: 6 });
    });

    it('deletes with cascade only for the authority (E1100), softly', async () => {
      const refused = await run(
        { trackedEntities: [{ trackedEntity: 'teGood00001' }] },
        { importStrategy: 'delete' },
      );
      assert.deepEqual(codes(refused), ['E1100 teGood00001']);
      const done = await run(
        { trackedEntities: [{ trackedEntity: 'teGood00001' }] },
        { importStrategy: 'DELETE' },
        'operator',
      );
      assert.equal(done.status, 'OK', JSON.stringify(done.validationReport));
      const rows = await db.storage.query<{ uid: string; deleted: number | string }>(
        "SELECT uid, deleted FROM event WHERE uid = 'evGood00001' UNION ALL SELECT uid, deleted FROM enrollment WHERE uid = 'enGood00001'",
      );
      assert.deepEqual(
        rows.map((r) => Number(r.deleted)),
        [1, 1],
      );
      const audit = await db.storage.query<{ audit_type: string }>(
        "SELECT audit_type FROM tracker_audit WHERE uid = 'evGood00001'",
      );
      assert.deepEqual(
        audit.map((a) => a.audit_type),
        ['DELETE'],
      );
    });

    it('streams events by keyset within the view scope, pages and counts them, and writes CSV', async () => {
      const events = Array.from({ length: 2300 }, (_, i) => ({
        event: `evBulk${String(i).padStart(5, '0')}`,
        programStage: EVENT_STAGE,
        orgUnit: i % 3 === 0 ? otherRoot : badjia,
        occurredAt: '2024-02-01',
        dataValues: [{ dataElement: DE_INT, value: String(i) }],
      }));
      const report = await run({ events }, {}, 'operator');
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport.errorReports.slice(0, 3)));
      const all = async (query: Record<string, string>, who: Principal | undefined) => {
        const out: string[] = [];
        for await (const batch of readEvents(
          context,
          await parseEventExport(context, { program: EVENT_PROGRAM, paging: 'false', ...query }, who),
        ))
          out.push(...batch.map((e) => e.event));
        return out;
      };
      const everything = await all({}, undefined);
      assert.equal(everything.length, 2300);
      assert.deepEqual(everything, [...everything].sort().reverse(), 'newest first');
      const clerkSees = await all({}, clerk);
      assert.equal(clerkSees.length, 2300 - 767);
      assert.deepEqual(await all({ orgUnit: otherRoot, orgUnitMode: 'DESCENDANTS' }, clerk), []);
      assert.equal((await all({ orgUnit: bo, orgUnitMode: 'CHILDREN' }, undefined)).length, 2300 - 767);
      assert.equal((await all({ orgUnit: bo, orgUnitMode: 'SELECTED' }, undefined)).length, 0);
      const page = await parseEventExport(
        context,
        { program: EVENT_PROGRAM, page: '2', pageSize: '1000', totalPages: 'true' },
        undefined,
      );
      const pageEvents: string[] = [];
      for await (const batch of readEvents(context, page)) pageEvents.push(...batch.map((e) => e.event));
      assert.deepEqual(pageEvents, everything.slice(1000, 2000));
      assert.equal(await countEvents(context, page), 2300);
      const first = await parseEventExport(context, { events: 'evBulk00007' }, undefined);
      for await (const batch of readEvents(context, first)) {
        const line = eventCsvLines(batch).trim().split(',');
        assert.equal(line[0], 'evBulk00007');
        assert.equal(line[23], DE_INT);
        assert.equal(line[24], '7');
      }
    });
  });
}
