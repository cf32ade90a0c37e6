import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';

/**
 * The requests DHIS2's Import/Export app (v101.3.1) sends from its four tracker pages (event import,
 * tracked entity import, event export, tracked entity export) and its job overview, with the app's
 * own URLs, parameters and headers (its `form-helper.js` files, `utils/xhr.js`, `hooks/useTasks.js`),
 * and the answer shapes the app reads. docs/apps.md describes the app run against Ferry.
 */

const ROOT = 'ieRootOu001';
const CHILD = 'ieChildOu01';
const TE_TYPE = 'ieTeType001';
const NAME_ATTR = 'ieAttrName1';
const TRACKER_PROGRAM = 'ieTrkProg01';
const TRACKER_STAGE = 'ieTrkStage1';
const EVENT_PROGRAM = 'ieEvtProg01';
const EVENT_STAGE = 'ieEvtStage1';
const WEIGHT = 'ieDeNum0001';

const METADATA = {
  organisationUnits: [
    { id: ROOT, code: 'IE_ROOT', name: 'IE root', shortName: 'IE root', openingDate: '2000-01-01' },
    {
      id: CHILD,
      code: 'IE_CLINIC',
      name: 'IE clinic',
      shortName: 'IE clinic',
      openingDate: '2000-01-01',
      parent: { id: ROOT },
    },
  ],
  dataElements: [
    {
      id: WEIGHT,
      code: 'IE_WEIGHT',
      name: 'IE weight',
      shortName: 'IE weight',
      valueType: 'NUMBER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  trackedEntityAttributes: [
    {
      id: NAME_ATTR,
      name: 'IE given name',
      shortName: 'IE given name',
      valueType: 'TEXT',
      aggregationType: 'NONE',
    },
  ],
  trackedEntityTypes: [
    {
      id: TE_TYPE,
      name: 'IE person',
      trackedEntityTypeAttributes: [{ trackedEntityAttribute: { id: NAME_ATTR } }],
    },
  ],
  programs: [
    {
      id: TRACKER_PROGRAM,
      name: 'IE child programme',
      shortName: 'IE child',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: TE_TYPE },
      organisationUnits: [{ id: ROOT }, { id: CHILD }],
      programTrackedEntityAttributes: [{ trackedEntityAttribute: { id: NAME_ATTR } }],
      programStages: [{ id: TRACKER_STAGE }],
    },
    {
      id: EVENT_PROGRAM,
      code: 'IE_CASE',
      name: 'IE case report',
      shortName: 'IE case',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: ROOT }, { id: CHILD }],
      programStages: [{ id: EVENT_STAGE }],
    },
  ],
  programStages: [
    {
      id: TRACKER_STAGE,
      name: 'IE visit',
      program: { id: TRACKER_PROGRAM },
      enableUserAssignment: true,
      programStageDataElements: [{ dataElement: { id: WEIGHT } }],
    },
    {
      id: EVENT_STAGE,
      code: 'IE_CASE_STAGE',
      name: 'IE case',
      program: { id: EVENT_PROGRAM },
      programStageDataElements: [{ dataElement: { id: WEIGHT } }],
    },
  ],
};

const event = (uid: string, day: string, weight: string) => ({
  event: uid,
  program: EVENT_PROGRAM,
  programStage: EVENT_STAGE,
  orgUnit: CHILD,
  status: 'COMPLETED',
  occurredAt: `2025-${day}`,
  dataValues: [{ dataElement: WEIGHT, value: weight }],
});
const EVENTS_FILE = JSON.stringify({
  events: [
    event('ieEvent0001', '02-01', '3.1'),
    event('ieEvent0002', '02-15', '3.4'),
    event('ieEvent0003', '03-01', '2.9'),
  ],
});
// DHIS2's current event CSV columns, as the app's CSV option sends them (one row per data value).
const CSV_COLUMNS =
  'event,status,program,programStage,enrollment,orgUnit,occurredAt,scheduledAt,geometry,latitude,longitude,followUp,deleted,createdAt,createdAtClient,updatedAt,updatedAtClient,completedBy,completedAt,updatedBy,attributeOptionCombo,attributeCategoryOptions,assignedUser,dataElement,value,providedElsewhere,storedByDataValue,createdAtDataValue,updatedAtDataValue';
const csvRow = (uid: string, value: string) =>
  CSV_COLUMNS.split(',')
    .map(
      (c) =>
        (
          ({
            event: uid,
            status: 'ACTIVE',
            program: EVENT_PROGRAM,
            programStage: EVENT_STAGE,
            orgUnit: CHILD,
            occurredAt: '2025-04-01',
            dataElement: WEIGHT,
            value,
          }) as Record<string, string>
        )[c] ?? '',
    )
    .join(',');
const EVENTS_CSV = `${CSV_COLUMNS}\n${csvRow('ieEvent0004', '4.2')}\n`;

const trackedEntity = (
  uid: string,
  name: string,
  enrollment: Record<string, unknown>,
  eventFields: Record<string, unknown>,
) => ({
  trackedEntity: uid,
  trackedEntityType: TE_TYPE,
  orgUnit: CHILD,
  attributes: [{ attribute: NAME_ATTR, value: name }],
  enrollments: [
    {
      enrollment: `${uid.slice(0, 9)}En`,
      program: TRACKER_PROGRAM,
      orgUnit: CHILD,
      ...enrollment,
      events: [
        {
          event: `${uid.slice(0, 9)}Ev`,
          program: TRACKER_PROGRAM,
          programStage: TRACKER_STAGE,
          orgUnit: CHILD,
          status: 'ACTIVE',
          occurredAt: String(enrollment.enrolledAt),
          dataValues: [{ dataElement: WEIGHT, value: '3.3' }],
          ...eventFields,
        },
      ],
    },
  ],
});

interface TrackerStats {
  created: number;
  updated: number;
  deleted: number;
  ignored: number;
  total: number;
}

/** The parts of DHIS2's tracker ImportReport the app's job summary reads. */
interface TrackerReport {
  status: string;
  stats: TrackerStats;
  validationReport: { errorReports: Record<string, unknown>[]; warningReports: Record<string, unknown>[] };
  bundleReport: { typeReportMap: Record<string, { stats: TrackerStats }> };
}

/** The tracked entity import page's query string, every parameter as v101.3.1 writes it. */
const TEI_IMPORT_QUERY = (importMode: string) =>
  [
    `importMode=${importMode}`,
    'identifier=UID',
    'importReportMode=ERRORS',
    'preheatMode=REFERENCE',
    'strategy=NEW_AND_UPDATES',
    'atomicMode=ALL',
    'mergeMode=MERGE',
    'flushMode=AUTO',
    'skipSharing=false',
    'skipValidation=false',
    'inclusionStrategy=NON_NULL',
    'async=true',
    'dataElementIdScheme=UID',
    'orgUnitIdScheme=UID',
    'idScheme=UID',
  ].join('&');

/** The tracked entity export page's minimum parameters (`valuesToParams`), plus the filters given. */
const teExport = (format: string, extra: string) =>
  `/api/tracker/trackedEntities.${format}?orgUnitMode=DESCENDANTS&format=${format}&includeDeleted=false` +
  `&dataElementIdScheme=UID&orgUnitIdScheme=UID&idScheme=UID&paging=false&totalPages=false&orgUnits=${ROOT}${extra}`;

for (const kind of TEST_DATABASE_KINDS) {
  describe(`The Import/Export app's tracker pages on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    let adminUid = '';
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          const report = await importMetadataObjects(context, METADATA);
          assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        },
      });
      await started.context.jobs.start();
      adminUid = (await asAdmin({ url: '/api/42/me?fields=id' })).json<{ id: string }>().id;
    });
    after(() => stopTestApp(started));

    const asAdmin = (options: InjectOptions): Promise<LightMyRequestResponse> =>
      started!.app.inject({ ...options, headers: { authorization: ADMIN_AUTH, ...options.headers } });

    /** What `utils/xhr.js` sends: the file as the body, its MIME type, a Content-Disposition. */
    const upload = (url: string, body: string, mime: string, fileName: string) =>
      asAdmin({
        method: 'POST',
        url,
        payload: body,
        headers: { 'content-type': mime, 'content-disposition': `attachment filename="${fileName}"` },
      });

    /**
     * The job overview's polling (`useTasks.js`): `tracker/jobs/{id}` until the newest entry (the
     * first) says completed, then `tracker/jobs/{id}/report`, both under the app's `/api/42/`.
     */
    async function followJob(response: LightMyRequestResponse) {
      assert.equal(response.statusCode, 200, response.body);
      const started_ = response.json<{ message: string; response: { id: string; created?: string } }>();
      // extractIdAndMessage: an async import is recognised by `response.id`.
      assert.match(started_.response.id, /^[A-Za-z][A-Za-z0-9]{10}$/);
      const id = started_.response.id;
      const deadline = Date.now() + 60_000;
      let events: Array<Record<string, unknown>> = [];
      for (;;) {
        const polled = await asAdmin({ url: `/api/42/tracker/jobs/${id}` });
        assert.equal(polled.statusCode, 200, polled.body);
        events = polled.json();
        assert.ok(Array.isArray(events), polled.body);
        // An empty list (the job not started yet) makes the app poll again, as here.
        if (events.length > 0 && events[0].completed === true) break;
        assert.ok(Date.now() < deadline, `job ${id} did not complete`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const entry of events) {
        // The fields the app maps into its log: uid, level, message, time.
        assert.match(String(entry.uid), /^\S+$/);
        assert.ok(['INFO', 'WARN', 'ERROR', 'DEBUG'].includes(String(entry.level)), String(entry.level));
        assert.equal(typeof entry.message, 'string');
        assert.ok(!Number.isNaN(Date.parse(String(entry.time))), String(entry.time));
      }
      const times = events.map((e) => Date.parse(String(e.time)));
      assert.deepEqual(
        times,
        [...times].sort((a, b) => b - a),
        'newest first: the app reads completed from [0]',
      );
      const report = await asAdmin({ url: `/api/42/tracker/jobs/${id}/report` });
      assert.equal(report.statusCode, 200, report.body);
      return { id, events, report: report.json<TrackerReport>() };
    }

    it('fills the pickers the tracker pages open with: programs, program stages, tracked entity types, users', async () => {
      const all = await asAdmin({ url: '/api/42/programs?fields=id%2CdisplayName&paging=false' });
      assert.equal(all.statusCode, 200, all.body);
      assert.deepEqual(
        all
          .json<{ programs: { id: string; displayName: string }[] }>()
          .programs.map((p) => p.id)
          .sort(),
        [EVENT_PROGRAM, TRACKER_PROGRAM],
      );
      assert.equal(all.json().pager, undefined, 'paging=false: no pager');
      const registration = await asAdmin({
        url: '/api/42/programs?fields=id%2CdisplayName&filter=programType%3Aeq%3AWITH_REGISTRATION&paging=false',
      });
      assert.deepEqual(registration.json().programs, [
        { id: TRACKER_PROGRAM, displayName: 'IE child programme' },
      ]);
      const stages = await asAdmin({
        url: `/api/42/programs/${EVENT_PROGRAM}?fields=programStages%5Bid%2CdisplayName%5D&paging=false`,
      });
      assert.equal(stages.statusCode, 200, stages.body);
      assert.deepEqual(stages.json(), { programStages: [{ id: EVENT_STAGE, displayName: 'IE case' }] });
      const types = await asAdmin({ url: '/api/42/trackedEntityTypes?fields=id%2CdisplayName&paging=false' });
      assert.deepEqual(types.json().trackedEntityTypes, [{ id: TE_TYPE, displayName: 'IE person' }]);
      const users = await asAdmin({ url: '/api/42/users?fields=id%2CdisplayName&paging=false' });
      assert.equal(users.statusCode, 200, users.body);
      assert.ok(
        users.json<{ users: { id: string }[] }>().users.some((u) => u.id === adminUid),
        users.body,
      );
    });

    it('event import page: JSON dry run, JSON import and CSV import as TRACKER_IMPORT_JOBs', async () => {
      const url = (mode: string) =>
        `/api/tracker?async=true&importMode=${mode}&dataElementIdScheme=UID&orgUnitIdScheme=UID&idScheme=UID`;
      const dry = await followJob(
        await upload(url('validate'), EVENTS_FILE, 'application/json', 'events.json'),
      );
      assert.equal(dry.report.status, 'OK', JSON.stringify(dry.report));
      assert.deepEqual(dry.report.stats, { created: 3, updated: 0, deleted: 0, ignored: 0, total: 3 });
      assert.deepEqual(dry.report.validationReport, { errorReports: [], warningReports: [] });
      const none = await asAdmin({
        url: `/api/tracker/events?program=${EVENT_PROGRAM}&orgUnit=${ROOT}&orgUnitMode=DESCENDANTS`,
      });
      assert.deepEqual(none.json().events, [], 'a dry run writes nothing');

      const done = await followJob(
        await upload(url('commit'), EVENTS_FILE, 'application/json', 'events.json'),
      );
      assert.deepEqual(done.report.stats, { created: 3, updated: 0, deleted: 0, ignored: 0, total: 3 });
      assert.match(String(done.events[0].message), /3 created/);
      assert.equal(done.report.bundleReport.typeReportMap.EVENT.stats.created, 3);

      // The CSV choice sends `application/csv` (the app's utils/mime.js).
      const csv = await followJob(await upload(url('commit'), EVENTS_CSV, 'application/csv', 'events.csv'));
      assert.equal(csv.report.status, 'OK', JSON.stringify(csv.report));
      assert.deepEqual(csv.report.stats, { created: 1, updated: 0, deleted: 0, ignored: 0, total: 1 });

      // An error shows in the summary's table: errorCode, message, trackerType, uid.
      const bad = JSON.stringify({
        events: [{ ...event('ieEvent0009', '01-01', '1'), orgUnit: 'noSuchOu01' }],
      });
      const failed = await followJob(await upload(url('validate'), bad, 'application/json', 'bad.json'));
      assert.equal(failed.report.status, 'ERROR');
      const [error] = failed.report.validationReport.errorReports as Record<string, unknown>[];
      assert.equal(error.trackerType, 'EVENT');
      assert.equal(error.uid, 'ieEvent0009');
      assert.match(String(error.errorCode), /^E\d{4}$/);
      assert.match(String(error.message), /noSuchOu01/);
    });

    it('tracked entity import page: every parameter it sends, strategy=NEW_AND_UPDATES among them', async () => {
      const payload = JSON.stringify({
        trackedEntities: [
          trackedEntity(
            'ieTeAlpha01',
            'Amie',
            { status: 'ACTIVE', followUp: true, enrolledAt: '2025-03-01', occurredAt: '2025-03-01' },
            { assignedUser: adminUid },
          ),
          trackedEntity(
            'ieTeBravo01',
            'Bintu',
            { status: 'COMPLETED', enrolledAt: '2025-06-01', occurredAt: '2025-06-01' },
            {},
          ),
        ],
      });
      const dry = await followJob(
        await upload(`/api/tracker/?${TEI_IMPORT_QUERY('VALIDATE')}`, payload, 'application/json', 'te.json'),
      );
      assert.equal(dry.report.status, 'OK', JSON.stringify(dry.report));
      assert.deepEqual(dry.report.stats, { created: 6, updated: 0, deleted: 0, ignored: 0, total: 6 });
      const done = await followJob(
        await upload(`/api/tracker/?${TEI_IMPORT_QUERY('COMMIT')}`, payload, 'application/json', 'te.json'),
      );
      assert.deepEqual(done.report.stats, { created: 6, updated: 0, deleted: 0, ignored: 0, total: 6 });
      const map = done.report.bundleReport.typeReportMap;
      assert.deepEqual(
        ['TRACKED_ENTITY', 'ENROLLMENT', 'EVENT'].map((t) => map[t].stats.created),
        [2, 2, 2],
      );
      // The same file again under NEW_AND_UPDATES: all updates.
      const again = await followJob(
        await upload(`/api/tracker/?${TEI_IMPORT_QUERY('COMMIT')}`, payload, 'application/json', 'te.json'),
      );
      assert.deepEqual(again.report.stats, { created: 0, updated: 6, deleted: 0, ignored: 0, total: 6 });
      // The page's other strategies: NEW (Append) refuses what exists; an unknown one is a 400.
      const append = await followJob(
        await upload(
          `/api/tracker/?${TEI_IMPORT_QUERY('VALIDATE').replace('NEW_AND_UPDATES', 'NEW')}`,
          payload,
          'application/json',
          'te.json',
        ),
      );
      assert.equal(append.report.status, 'ERROR');
      assert.ok(
        (append.report.validationReport.errorReports as { errorCode: string }[]).some(
          (e) => e.errorCode === 'E1002',
        ),
        JSON.stringify(append.report.validationReport),
      );
      const unknown = await upload(
        `/api/tracker/?${TEI_IMPORT_QUERY('VALIDATE').replace('NEW_AND_UPDATES', 'SOMETIMES')}`,
        payload,
        'application/json',
        'te.json',
      );
      assert.equal(unknown.statusCode, 400);
      assert.match(unknown.json().message, /strategy/);
    });

    it('event export page: JSON zip, CSV gzip and plain JSON with its parameters', async () => {
      const url = (extension: string, extra = '') =>
        `/api/tracker/events.${extension}?paging=false&totalPages=false&orgUnit=${ROOT}&program=${EVENT_PROGRAM}` +
        `&includeDeleted=false&dataElementIdScheme=UID&orgUnitIdScheme=UID&idScheme=UID` +
        `&occurredAfter=2025-01-01&occurredBefore=2025-12-31${extra}`;
      const plain = await asAdmin({ url: url('json', '&orgUnitMode=DESCENDANTS') });
      assert.equal(plain.statusCode, 200, plain.body);
      const uids = plain
        .json<{ events: { event: string }[] }>()
        .events.map((e) => e.event)
        .sort();
      assert.deepEqual(uids, ['ieEvent0001', 'ieEvent0002', 'ieEvent0003', 'ieEvent0004']);
      assert.equal(plain.json().pager, undefined);
      // "Selected" on the root: its own events only (none); "Directly below": the clinic's.
      assert.deepEqual((await asAdmin({ url: url('json', '&orgUnitMode=SELECTED') })).json().events, []);
      assert.equal((await asAdmin({ url: url('json', '&orgUnitMode=CHILDREN') })).json().events.length, 4);
      // The date range and a program stage narrow it.
      const narrow = await asAdmin({
        url: url('json', `&orgUnitMode=DESCENDANTS&programStage=${EVENT_STAGE}`).replace(
          'occurredBefore=2025-12-31',
          'occurredBefore=2025-02-20',
        ),
      });
      assert.equal(narrow.json().events.length, 2);

      // The app downloads by the URL's name: a zip holding events.json, a gzip of the CSV.
      const zip = await asAdmin({ url: url('json.zip', '&orgUnitMode=DESCENDANTS') });
      assert.equal(zip.statusCode, 200);
      assert.equal(zip.headers['content-type'], 'application/json+zip');
      assert.match(String(zip.headers['content-disposition']), /filename="events\.json\.zip"/);
      const dir = mkdtempSync(join(tmpdir(), 'ie-app-'));
      try {
        writeFileSync(join(dir, 'events.json.zip'), zip.rawPayload);
        const listed = execFileSync('unzip', ['-Z1', join(dir, 'events.json.zip')], { encoding: 'utf8' });
        assert.equal(listed.trim(), 'events.json');
        const inner = execFileSync('unzip', ['-p', join(dir, 'events.json.zip'), 'events.json'], {
          encoding: 'utf8',
        });
        assert.equal(JSON.parse(inner).events.length, 4);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const gz = await asAdmin({ url: url('csv.gz', '&orgUnitMode=DESCENDANTS') });
      assert.equal(gz.statusCode, 200);
      assert.equal(gz.headers['content-type'], 'application/csv+gzip');
      assert.match(String(gz.headers['content-disposition']), /filename="events\.csv\.gz"/);
      const lines = gunzipSync(gz.rawPayload).toString('utf8').trim().split('\n');
      assert.match(lines[0], /^event,status,program,programStage,enrollment,orgUnit,occurredAt,/);
      assert.equal(lines.length, 5, 'a header and one row per data value');
    });

    it("the export pages' id schemes (More options): codes and names instead of UIDs, or 422 naming what has none", async () => {
      const url = (extension: string, schemes: string, program = EVENT_PROGRAM) =>
        `/api/tracker/events.${extension}?paging=false&totalPages=false&orgUnit=${ROOT}&program=${program}` +
        `&includeDeleted=false&${schemes}&occurredAfter=2025-01-01&occurredBefore=2025-12-31&orgUnitMode=DESCENDANTS`;
      const coded = await asAdmin({
        url: url('json', 'dataElementIdScheme=CODE&orgUnitIdScheme=NAME&idScheme=CODE'),
      });
      assert.equal(coded.statusCode, 200, coded.body);
      const events = coded.json<{ events: Record<string, unknown>[] }>().events;
      assert.equal(events.length, 4);
      for (const ev of events) {
        assert.equal(ev.orgUnit, 'IE clinic');
        assert.equal(ev.program, 'IE_CASE');
        assert.equal(ev.programStage, 'IE_CASE_STAGE');
        assert.deepEqual(
          (ev.dataValues as { dataElement: string }[]).map((dv) => dv.dataElement),
          ['IE_WEIGHT'],
        );
        assert.match(String(ev.event), /^ieEvent000\d$/, 'events keep their UIDs');
      }
      const csv = await asAdmin({
        url: url('csv', 'dataElementIdScheme=NAME&orgUnitIdScheme=CODE&idScheme=UID'),
      });
      assert.equal(csv.statusCode, 200, csv.body);
      const [header, row] = csv.body.split('\n');
      const cells = row.split(',');
      assert.equal(cells[header.split(',').indexOf('orgUnit')], 'IE_CLINIC');
      assert.equal(cells[header.split(',').indexOf('program')], EVENT_PROGRAM);
      assert.equal(cells[header.split(',').indexOf('dataElement')], 'IE weight');
      // The tracker program's stage has no code: DHIS2's 422, naming it, and nothing sent.
      const missing = await asAdmin({ url: url('json', 'idScheme=CODE', TRACKER_PROGRAM) });
      assert.equal(missing.statusCode, 422, missing.body);
      assert.equal(missing.json().errorCode, 'F1202');
      assert.match(missing.json().message, new RegExp(`ProgramStage\\[CODE\\]=${TRACKER_STAGE}`));
      // The single-object routes take the same schemes.
      const one = await asAdmin({
        url: '/api/tracker/events/ieEvent0001?orgUnitIdScheme=CODE&dataElementIdScheme=NAME',
      });
      assert.equal(one.statusCode, 200, one.body);
      assert.equal(one.json().orgUnit, 'IE_CLINIC');
      assert.equal(one.json().program, EVENT_PROGRAM);
      assert.deepEqual(
        one.json().dataValues.map((dv: { dataElement: string }) => dv.dataElement),
        ['IE weight'],
      );
      const oneTe = await asAdmin({ url: '/api/tracker/trackedEntities/ieTeAlpha01?idScheme=NAME' });
      assert.equal(oneTe.statusCode, 200, oneTe.body);
      assert.equal(oneTe.json().trackedEntityType, 'IE person');
      assert.equal(oneTe.json().orgUnit, 'IE clinic');
      const badScheme = await asAdmin({ url: url('json', 'idScheme=LABEL') });
      assert.equal(badScheme.statusCode, 400);

      // Tracked entities: the type, org unit and attributes follow the schemes; enrollments keep UIDs.
      const te = await asAdmin({
        url: teExport('json', `&program=${TRACKER_PROGRAM}&fields=*`).replace(
          'orgUnitIdScheme=UID&idScheme=UID',
          'orgUnitIdScheme=CODE&idScheme=NAME',
        ),
      });
      assert.equal(te.statusCode, 200, te.body);
      const alpha = te
        .json<{ trackedEntities: Record<string, unknown>[] }>()
        .trackedEntities.find((t) => t.trackedEntity === 'ieTeAlpha01')!;
      assert.equal(alpha.orgUnit, 'IE_CLINIC');
      assert.equal(alpha.trackedEntityType, 'IE person');
      assert.deepEqual(
        (alpha.attributes as { attribute: string }[]).map((a) => a.attribute),
        ['IE given name'],
      );
      assert.equal((alpha.enrollments as { program: string }[])[0].program, TRACKER_PROGRAM);
      const teCsv = await asAdmin({
        url: teExport('csv', `&program=${TRACKER_PROGRAM}`).replace(
          'idScheme=UID&paging',
          'idScheme=NAME&paging',
        ),
      });
      assert.match(teCsv.body, /\nieTeAlpha01,IE person,.*,IE given name,IE given name,Amie,TEXT\n/);
    });

    it('tracked entity export page: JSON and CSV, its org unit modes and every filter it offers', async () => {
      const ids = async (extra: string) => {
        const response = await asAdmin({ url: teExport('json', extra) });
        assert.equal(response.statusCode, 200, `${extra}: ${response.body}`);
        return response
          .json<{ trackedEntities: { trackedEntity: string }[] }>()
          .trackedEntities.map((t) => t.trackedEntity)
          .sort();
      };
      const both = ['ieTeAlpha01', 'ieTeBravo01'];
      const program = `&program=${TRACKER_PROGRAM}`;
      assert.deepEqual(await ids(program), both);
      assert.deepEqual(await ids(`&trackedEntityType=${TE_TYPE}`), both);
      // "Program status", "follow-up", enrollment dates: enrollments in the program that meet them.
      assert.deepEqual(await ids(`${program}&programStatus=ACTIVE`), ['ieTeAlpha01']);
      assert.deepEqual(await ids(`${program}&programStatus=COMPLETED`), ['ieTeBravo01']);
      assert.deepEqual(await ids(`${program}&followUp=true`), ['ieTeAlpha01']);
      assert.deepEqual(await ids(`${program}&followUp=false`), ['ieTeBravo01']);
      assert.deepEqual(await ids(`${program}&enrollmentEnrolledAfter=2025-05-01`), ['ieTeBravo01']);
      assert.deepEqual(
        await ids(`${program}&enrollmentEnrolledAfter=2025-01-01&enrollmentEnrolledBefore=2025-04-01`),
        ['ieTeAlpha01'],
      );
      // "Last updated": start/end dates, or a duration in the app's 00d00h00m00s form.
      assert.deepEqual(await ids(`${program}&updatedAfter=2000-01-01&updatedBefore=2001-01-01`), []);
      assert.deepEqual(await ids(`${program}&updatedAfter=2000-01-01`), both);
      assert.deepEqual(await ids(`${program}&updatedWithin=1d`), both);
      // The app's compound form (its placeholder is 100d5h30m) is accepted.
      assert.deepEqual(await ids(`${program}&updatedWithin=100d5h30m`), both);
      const badDuration = await asAdmin({ url: teExport('json', `${program}&updatedWithin=soon`) });
      assert.equal(badDuration.statusCode, 400);
      assert.match(badDuration.json().message, /updatedWithin/);
      // "Assigned user": events assigned to the caller, to picked users, to nobody, to anybody.
      assert.deepEqual(await ids(`${program}&assignedUserMode=CURRENT`), ['ieTeAlpha01']);
      assert.deepEqual(await ids(`${program}&assignedUserMode=PROVIDED&assignedUsers=${adminUid}`), [
        'ieTeAlpha01',
      ]);
      assert.deepEqual(await ids(`${program}&assignedUserMode=NONE`), ['ieTeBravo01']);
      assert.deepEqual(await ids(`${program}&assignedUserMode=ANY`), ['ieTeAlpha01']);
      // As DHIS2: enrollment filters need a program.
      const noProgram = await asAdmin({
        url: teExport('json', `&trackedEntityType=${TE_TYPE}&programStatus=ACTIVE`),
      });
      assert.equal(noProgram.statusCode, 400);
      // "Accessible", "Capture", "All": no orgUnits sent.
      for (const mode of ['ACCESSIBLE', 'CAPTURE', 'ALL']) {
        const response = await asAdmin({
          url: `/api/tracker/trackedEntities.json?orgUnitMode=${mode}&format=json&includeDeleted=false&dataElementIdScheme=UID&orgUnitIdScheme=UID&idScheme=UID&paging=false&totalPages=false${program}`,
        });
        assert.equal(response.statusCode, 200, `${mode}: ${response.body}`);
        assert.equal(response.json().trackedEntities.length, 2, mode);
      }

      // CSV: DHIS2's columns, one row per attribute value.
      const csv = await asAdmin({ url: teExport('csv', program) });
      assert.equal(csv.statusCode, 200, csv.body);
      assert.match(String(csv.headers['content-type']), /^application\/csv/);
      assert.match(String(csv.headers['content-disposition']), /filename="trackedEntities\.csv"/);
      const [header, ...rows] = csv.body.trim().split('\n');
      assert.equal(
        header,
        'trackedEntity,trackedEntityType,createdAt,createdAtClient,updatedAt,updatedAtClient,orgUnit,inactive,deleted,potentialDuplicate,geometry,latitude,longitude,createdBy,updatedBy,attrCreatedAt,attrUpdatedAt,attribute,displayName,value,valueType',
      );
      assert.equal(rows.length, 2);
      const columns = header.split(',');
      const alpha = rows.map((r) => r.split(',')).find((r) => r[0] === 'ieTeAlpha01')!;
      const cell = (name: string) => alpha[columns.indexOf(name)];
      assert.equal(cell('trackedEntityType'), TE_TYPE);
      assert.equal(cell('orgUnit'), CHILD);
      assert.equal(cell('attribute'), NAME_ATTR);
      assert.equal(cell('displayName'), 'IE given name');
      assert.equal(cell('value'), 'Amie');
      assert.equal(cell('valueType'), 'TEXT');
      assert.equal(cell('inactive'), 'false');
      const gz = await asAdmin({ url: teExport('csv.gz', program) });
      assert.equal(gz.headers['content-type'], 'application/csv+gzip');
      assert.equal(gunzipSync(gz.rawPayload).toString('utf8'), csv.body);
    });
  });
}
