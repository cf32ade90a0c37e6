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
  eventCsvLines,
  parseEventExport,
  readEvents,
  type TrackerEvent,
} from '../../src/services/tracker/tracker-export-service.ts';
import { readEventText } from '../../src/services/tracker/tracker-event-text.ts';

/**
 * The event export without an output id scheme writes its JSON and CSV text straight from the rows
 * (readEventText); with one it builds event objects (readEvents) to rewrite. Both must give the
 * same text for the same events, whatever the events hold: notes, geometry, an assigned user, data
 * values updated after the event was created (their own stamps), values provided elsewhere, text
 * that needs JSON escapes or CSV quotes, events of enrollments.
 */

const { bo, badjia } = ORG_UNITS;
const TET = 'tetTextPers';
const PROGRAM = 'prgTextChld';
const STAGE = 'stgTextVis1';
const EVENT_PROGRAM = 'prgTextCase';
const EVENT_STAGE = 'stgTextCase';
const DE_NUM = 'deTextNum01';
const DE_TEXT = 'deTextTxt01';

const METADATA = {
  dataElements: [
    {
      id: DE_NUM,
      name: 'Text num',
      shortName: 'Text num',
      valueType: 'NUMBER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
    {
      id: DE_TEXT,
      name: 'Text txt',
      shortName: 'Text txt',
      valueType: 'LONG_TEXT',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  trackedEntityTypes: [{ id: TET, name: 'Text person' }],
  programs: [
    {
      id: PROGRAM,
      name: 'Text child',
      shortName: 'Text child',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: TET },
      organisationUnits: [{ id: bo }, { id: badjia }],
    },
    {
      id: EVENT_PROGRAM,
      name: 'Text cases',
      shortName: 'Text cases',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: bo }, { id: badjia }],
    },
  ],
  programStages: [
    {
      id: STAGE,
      name: 'Text visit',
      program: { id: PROGRAM },
      repeatable: true,
      programStageDataElements: [{ dataElement: { id: DE_NUM } }, { dataElement: { id: DE_TEXT } }],
    },
    {
      id: EVENT_STAGE,
      name: 'Text case',
      program: { id: EVENT_PROGRAM },
      featureType: 'POINT',
      enableUserAssignment: true,
      programStageDataElements: [{ dataElement: { id: DE_NUM } }, { dataElement: { id: DE_TEXT } }],
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

const caseEvent = (i: number, extra: Record<string, unknown> = {}) => ({
  event: `evText${String(i).padStart(5, '0')}`,
  program: EVENT_PROGRAM,
  programStage: EVENT_STAGE,
  orgUnit: i % 2 === 0 ? bo : badjia,
  occurredAt: `2024-02-${String((i % 28) + 1).padStart(2, '0')}`,
  status: i % 3 === 0 ? 'COMPLETED' : 'ACTIVE',
  dataValues: [
    { dataElement: DE_NUM, value: String(i * 1.5) },
    {
      dataElement: DE_TEXT,
      value: `line "${i}", with comma\nand =SUM(A1) é ✓`,
      providedElsewhere: i % 4 === 0,
    },
  ],
  ...extra,
});

async function textOf(
  context: FerryContext,
  query: Record<string, string>,
  format: 'json' | 'csv',
  escapeFormulas = false,
) {
  const request = await parseEventExport(context, { paging: 'false', ...query }, undefined);
  const pieces: Buffer[] = [];
  let events = 0;
  for await (const piece of readEventText(context, request, format, { escapeFormulas })) {
    pieces.push(piece.bytes);
    events += piece.events;
  }
  return { text: Buffer.concat(pieces).toString('utf8'), events };
}

async function objectsOf(context: FerryContext, query: Record<string, string>): Promise<TrackerEvent[]> {
  const request = await parseEventExport(context, { paging: 'false', ...query }, undefined);
  const out: TrackerEvent[] = [];
  for await (const batch of readEvents(context, request)) out.push(...batch);
  return out;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`tracker event export text on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let db: TestDatabase;
    let context: FerryContext;
    const run = async (payload: Record<string, unknown[]>) => {
      const report = await importTrackerBundle(
        context,
        bundleOf(payload),
        parseTrackerImportParams({ async: 'false' }),
        undefined,
      );
      assert.equal(report.status, 'OK', JSON.stringify(report.validationReport));
    };

    before(async () => {
      db = await createTestDatabase(kind);
      context = contextFor(db.storage, db.dataDir);
      await seedAccessFixtures(db.storage, context.metadata);
      const report = await importMetadataObjects(context, METADATA);
      assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
      const events = Array.from({ length: 620 }, (_, i) =>
        caseEvent(
          i,
          i % 5 === 0
            ? {
                geometry: { type: 'Point', coordinates: [-11.5 - i / 1000, 8.1] },
                assignedUser: { uid: 'trkUser0001' },
                notes: [{ value: `note ${i} "quoted"` }],
              }
            : {},
        ),
      );
      await run({ events });
      // A later import changes some values: those values get stamps of their own.
      await run({
        events: events
          .filter((_, i) => i % 7 === 0)
          .map((e) => ({ ...e, dataValues: [{ dataElement: DE_NUM, value: '99' }] })),
      });
      await run({
        trackedEntities: [
          {
            trackedEntity: 'teText00001',
            trackedEntityType: TET,
            orgUnit: bo,
            enrollments: [
              {
                enrollment: 'enText00001',
                program: PROGRAM,
                orgUnit: bo,
                enrolledAt: '2024-01-01',
                events: [
                  {
                    event: 'evTextEnr01',
                    programStage: STAGE,
                    orgUnit: bo,
                    occurredAt: '2024-01-03',
                    dataValues: [{ dataElement: DE_NUM, value: '3.5' }],
                  },
                  { event: 'evTextEnr02', programStage: STAGE, orgUnit: bo, occurredAt: '2024-01-04' },
                ],
              },
            ],
          },
        ],
      });
    });
    after(() => db.dispose());

    const queries: Array<Record<string, string>> = [
      { program: EVENT_PROGRAM },
      { program: PROGRAM },
      { orgUnit: bo, orgUnitMode: 'DESCENDANTS' },
    ];
    for (const query of queries) {
      it(`writes the JSON readEvents gives, for ${JSON.stringify(query)}`, async () => {
        const objects = await objectsOf(context, query);
        assert.ok(objects.length > 0);
        const { text, events } = await textOf(context, query, 'json');
        assert.equal(events, objects.length);
        assert.equal(text, objects.map((e) => JSON.stringify(e)).join(','));
        // Really the data this test meant: stamps of their own, notes, geometry, an enrollment.
        const parsed = JSON.parse(`[${text}]`) as TrackerEvent[];
        if (query.program === PROGRAM) assert.ok(parsed.every((e) => e.enrollment === 'enText00001'));
        if (query.program === EVENT_PROGRAM) {
          assert.equal(parsed.length, 620);
          const updated = parsed.find((e) => e.event === 'evText00007')!;
          const value = updated.dataValues.find((v) => v.dataElement === DE_NUM)!;
          assert.equal(value.value, '99');
          // As DHIS2: an event of a default-combo program is stored with the default option combo.
          assert.ok(parsed.every((e) => e.attributeOptionCombo === 'HllvX50cXC0'));
          assert.notEqual(value.updatedAt, updated.createdAt);
          const noted = parsed.find((e) => e.event === 'evText00005')!;
          assert.equal((noted.notes as Array<{ value: string }>)[0].value, 'note 5 "quoted"');
          assert.deepEqual((noted.geometry as { coordinates: number[] }).coordinates, [-11.505, 8.1]);
        }
      });

      it(`writes the CSV eventCsvLines gives, exact and for a spreadsheet, for ${JSON.stringify(query)}`, async () => {
        const objects = await objectsOf(context, query);
        for (const escapeFormulas of [false, true]) {
          const { text, events } = await textOf(context, query, 'csv', escapeFormulas);
          assert.equal(events, objects.length);
          assert.equal(text, eventCsvLines(objects, { escapeFormulas }));
        }
      });
    }
  });
}
