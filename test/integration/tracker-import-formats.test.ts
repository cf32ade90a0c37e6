import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { compressStream } from '../../src/services/jobs/export-compression.ts';
import { waitForJob } from '../support/wait-for-job.ts';

/**
 * POST /api/tracker beyond UID-named JSON: event CSV in DHIS2's current columns (plain, gzip, zip;
 * errors naming the line), metadata named by CODE, NAME and ATTRIBUTE:<uid> (idScheme and the
 * specific schemes), the program's category combo (E1054, E1055, E1056, E1057, E1115, E1116, E1117)
 * and the event dates (E1031).
 */
const METADATA = {
  userRoles: [{ id: 'fmtRole0001', name: 'Format clerk', authorities: ['F_TRACKER_IMPORT'] }],
  attributes: [
    {
      id: 'fmtOuAttr01',
      name: 'Facility register number',
      valueType: 'TEXT',
      organisationUnitAttribute: true,
    },
  ],
  organisationUnits: [
    {
      id: 'fmtOrgUnit1',
      code: 'OU_CLINIC',
      name: 'Format clinic',
      shortName: 'Format clinic',
      openingDate: '2000-01-01',
      attributeValues: [{ attribute: { id: 'fmtOuAttr01' }, value: 'CLINIC-7' }],
    },
  ],
  dataElements: [
    {
      id: 'fmtDeNum001',
      code: 'DE_WEIGHT',
      name: 'Format weight',
      shortName: 'Format weight',
      valueType: 'NUMBER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
    {
      id: 'fmtDeTxt001',
      code: 'DE_NOTE',
      name: 'Format note',
      shortName: 'Format note',
      valueType: 'TEXT',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  categoryOptions: [
    {
      id: 'fmtCoOpt0A1',
      code: 'PARTNER_A',
      name: 'Partner A',
      shortName: 'Partner A',
      startDate: '2024-01-01',
      endDate: '2024-12-31',
    },
    { id: 'fmtCoOpt0B1', code: 'PARTNER_B', name: 'Partner B', shortName: 'Partner B' },
    { id: 'fmtCoOpt0C1', code: 'FUNDER_C', name: 'Funder C', shortName: 'Funder C' },
  ],
  categories: [
    {
      id: 'fmtCateg001',
      name: 'Partner',
      shortName: 'Partner',
      dataDimensionType: 'ATTRIBUTE',
      categoryOptions: [{ id: 'fmtCoOpt0A1' }, { id: 'fmtCoOpt0B1' }],
    },
    {
      id: 'fmtCateg002',
      name: 'Funder',
      shortName: 'Funder',
      dataDimensionType: 'ATTRIBUTE',
      categoryOptions: [{ id: 'fmtCoOpt0C1' }],
    },
  ],
  categoryCombos: [
    {
      id: 'fmtCatCmb01',
      name: 'Partners',
      dataDimensionType: 'ATTRIBUTE',
      categories: [{ id: 'fmtCateg001' }],
    },
    {
      id: 'fmtCatCmb02',
      name: 'Funders',
      dataDimensionType: 'ATTRIBUTE',
      categories: [{ id: 'fmtCateg002' }],
    },
  ],
  trackedEntityTypes: [
    { id: 'fmtTeType01', name: 'Format person' },
    { id: 'fmtTeType02', name: 'Format household' },
  ],
  programs: [
    {
      id: 'fmtEvProg03',
      name: 'Expiring visits',
      shortName: 'Expiring visits',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: 'fmtOrgUnit1' }],
      expiryPeriodType: 'Monthly',
      expiryDays: 5,
      completeEventsExpiryDays: 10,
    },
    {
      id: 'fmtTrProg01',
      name: 'Format follow-up',
      shortName: 'Format follow-up',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'fmtTeType01' },
      organisationUnits: [{ id: 'fmtOrgUnit1' }],
    },
    {
      id: 'fmtTrProg02',
      name: 'Format second follow-up',
      shortName: 'Format second follow-up',
      programType: 'WITH_REGISTRATION',
      trackedEntityType: { id: 'fmtTeType01' },
      organisationUnits: [{ id: 'fmtOrgUnit1' }],
      expiryPeriodType: 'Monthly',
      expiryDays: 5,
    },
    {
      id: 'fmtEvProg01',
      code: 'PRG_PARTNER',
      name: 'Partner visits',
      shortName: 'Partner visits',
      programType: 'WITHOUT_REGISTRATION',
      categoryCombo: { id: 'fmtCatCmb01' },
      organisationUnits: [{ id: 'fmtOrgUnit1' }],
    },
    {
      id: 'fmtEvProg02',
      code: 'PRG_VISIT',
      name: 'Clinic visits',
      shortName: 'Clinic visits',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: 'fmtOrgUnit1' }],
    },
  ],
  programStages: [
    { id: 'fmtEvStag03', name: 'Expiring visit', program: { id: 'fmtEvProg03' } },
    { id: 'fmtTrStag01', name: 'Follow-up visit', program: { id: 'fmtTrProg01' }, repeatable: true },
    { id: 'fmtTrStag02', name: 'Second follow-up visit', program: { id: 'fmtTrProg02' }, repeatable: true },
    {
      id: 'fmtEvStag01',
      code: 'PS_PARTNER',
      name: 'Partner visit',
      program: { id: 'fmtEvProg01' },
      programStageDataElements: [{ dataElement: { id: 'fmtDeNum001' } }],
    },
    {
      id: 'fmtEvStag02',
      code: 'PS_VISIT',
      name: 'Clinic visit',
      program: { id: 'fmtEvProg02' },
      programStageDataElements: [
        { dataElement: { id: 'fmtDeNum001' } },
        { dataElement: { id: 'fmtDeTxt001' } },
      ],
    },
  ],
};

const HEADER =
  'event,status,program,programStage,enrollment,orgUnit,occurredAt,scheduledAt,geometry,latitude,longitude,followUp,deleted,createdAt,createdAtClient,updatedAt,updatedAtClient,completedBy,completedAt,updatedBy,attributeOptionCombo,attributeCategoryOptions,assignedUser,dataElement,value,providedElsewhere,storedByDataValue,updatedAtDataValue,createdAtDataValue';

/** A row in DHIS2's current column order (the docs' example header above). */
function row(event: string, occurredAt: string, dataElement: string, value: string, geometry = ''): string {
  const cells = [event, 'ACTIVE', 'fmtEvProg02', 'fmtEvStag02', '', 'fmtOrgUnit1', occurredAt, '', geometry];
  cells.push('', '', 'false', 'false', '2017-09-08T19:40:22Z', '', '', '', '', '', '', '', '', '');
  cells.push(dataElement, value, 'false', '', '', '');
  return cells.map((c) => (/[",]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
}

const CSV = [
  HEADER,
  row(
    'fmtEvent001',
    '2024-03-01T10:00:00.000',
    'fmtDeNum001',
    '61.5',
    'POINT (-11.468912037323042 7.515913998868316)',
  ),
  row('fmtEvent001', '2024-03-01T10:00:00.000', 'fmtDeTxt001', 'first, "quoted" visit'),
  row('fmtEvent002', '2024-03-02T10:00:00.000', 'fmtDeNum001', '58'),
  row('fmtEvent002', '2024-03-02T10:00:00.000', 'fmtDeTxt001', 'second visit'),
].join('\n');

type Report = {
  status: string;
  stats: Record<string, number>;
  validationReport: {
    errorReports: Array<{ errorCode: string; uid: string; line?: number; args: string[] }>;
  };
};

for (const kind of TEST_DATABASE_KINDS) {
  describe(
    `POST /api/tracker: event CSV, id schemes, category combos on ${kind}`,
    { skip: skipReasonFor(kind) },
    () => {
      let started: TestApp | undefined;
      let cocA = '';
      let cocB = '';
      let cocC = '';
      before(async () => {
        started = await startTestApp(kind, {
          seed: async (context) => {
            const report = await importMetadataObjects(context, METADATA);
            assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
          },
        });
        const combos = await started.context.storage.query<{ uid: string; body: unknown }>(
          `SELECT uid, body FROM metadata_object WHERE type = 'categoryOptionCombos'`,
        );
        for (const c of combos) {
          const body = (typeof c.body === 'string' ? JSON.parse(c.body) : c.body) as {
            categoryOptions: Array<{ id: string }>;
          };
          const options = body.categoryOptions.map((o) => o.id).join();
          if (options === 'fmtCoOpt0A1') cocA = c.uid;
          if (options === 'fmtCoOpt0B1') cocB = c.uid;
          if (options === 'fmtCoOpt0C1') cocC = c.uid;
        }
        assert.ok(cocA && cocB && cocC, 'the metadata import made the option combos');
        // A clerk: may import, may not edit expired events (F_EDIT_EXPIRED), as ALL may.
        await started.context.users.createUser({
          username: 'format.clerk',
          password: 'Format-clerk-pass-1',
          roles: ['fmtRole0001'],
          orgUnits: ['fmtOrgUnit1'],
        });
        await started.context.jobs.start();
      });
      after(() => stopTestApp(started));

      const post = (
        payload: string | Buffer,
        query: string,
        contentType = 'application/json',
        authorization = ADMIN_AUTH,
      ) =>
        started!.app.inject({
          method: 'POST',
          url: `/api/tracker?async=false&${query}`,
          headers: { authorization, 'content-type': contentType },
          payload,
        });
      const CLERK = `Basic ${Buffer.from('format.clerk:Format-clerk-pass-1').toString('base64')}`;
      const event = async (uid: string) => {
        const res = await started!.app.inject({
          method: 'GET',
          url: `/api/tracker/events/${uid}`,
          headers: { authorization: ADMIN_AUTH },
        });
        return res.statusCode === 200 ? res.json() : undefined;
      };
      const codes = (report: Report) =>
        report.validationReport.errorReports.map((e) => [e.errorCode, e.uid]).sort();

      it('imports event CSV in the current columns, one row per event and data value', async () => {
        const res = await post(CSV, 'importStrategy=CREATE', 'text/csv');
        assert.equal(res.statusCode, 200, res.body);
        const report = res.json() as Report;
        assert.equal(report.status, 'OK', res.body);
        assert.deepEqual(report.stats, { created: 2, updated: 0, deleted: 0, ignored: 0, total: 2 });
        const first = await event('fmtEvent001');
        assert.equal(first.program, 'fmtEvProg02');
        assert.equal(first.orgUnit, 'fmtOrgUnit1');
        assert.deepEqual(first.geometry, {
          type: 'Point',
          coordinates: [-11.468912037323042, 7.515913998868316],
        });
        const values = Object.fromEntries(
          first.dataValues.map((dv: { dataElement: string; value: string }) => [dv.dataElement, dv.value]),
        );
        assert.deepEqual(values, { fmtDeNum001: '61.5', fmtDeTxt001: 'first, "quoted" visit' });
        // The same file again: all updates (or unchanged), nothing created.
        const again = (await post(CSV, '', 'application/csv')).json() as Report;
        assert.equal(again.status, 'OK');
        assert.equal(again.stats.created, 0);
        assert.equal(again.stats.updated + again.stats.ignored, 2);
      });

      it('reads gzip and zip CSV bodies, and a file without its header in the current column order', async () => {
        const changed = CSV.replace(/second visit/g, 'second visit gzip');
        const gz = (await post(gzipSync(changed), '', 'application/gzip')).json() as Report;
        assert.equal(gz.status, 'OK', JSON.stringify(gz));
        assert.equal(
          (await event('fmtEvent002')).dataValues.find(
            (d: { dataElement: string }) => d.dataElement === 'fmtDeTxt001',
          ).value,
          'second visit gzip',
        );
        const zipped = await buffer(
          compressStream(
            Readable.from([CSV.replace(/second visit/g, 'second visit zip')]),
            'zip',
            'events.csv',
          ),
        );
        const zip = (await post(zipped, '', 'application/zip')).json() as Report;
        assert.equal(zip.status, 'OK', JSON.stringify(zip));
        assert.match(JSON.stringify((await event('fmtEvent002')).dataValues), /second visit zip/);
        const headless = CSV.split('\n').slice(1).join('\n').replace(/58/, '59');
        const plain = (await post(headless, 'skipFirst=false', 'text/csv')).json() as Report;
        assert.equal(plain.status, 'OK', JSON.stringify(plain));
        assert.match(JSON.stringify((await event('fmtEvent002')).dataValues), /"59"/);
      });

      it('imports gzipped CSV through the default job (TRACKER_IMPORT_JOB)', async () => {
        const changed = CSV.replace(/second visit/g, 'second visit job');
        const res = await post(gzipSync(changed), 'async=true', 'application/csv+gzip');
        assert.equal(res.statusCode, 200, res.body);
        const id = res.json().response.id as string;
        const job = await waitForJob(started!.context, id);
        assert.equal(job.status, 'COMPLETED', job.error ?? '');
        const report = await started!.app.inject({
          method: 'GET',
          url: `/api/tracker/jobs/${id}/report`,
          headers: { authorization: ADMIN_AUTH },
        });
        assert.equal(report.json().status, 'OK', report.body);
        assert.match(JSON.stringify((await event('fmtEvent002')).dataValues), /second visit job/);
      });

      it('takes the id schemes on the older POST /api/events too (2.40 CSV by code)', async () => {
        const csv =
          'fmtEvent501,COMPLETED,PRG_VISIT,PS_VISIT,,OU_CLINIC,2024-04-01,,,,DE_WEIGHT,71,,false,,,\n';
        const res = await started!.app.inject({
          method: 'POST',
          url: '/api/events?idScheme=CODE',
          headers: { authorization: ADMIN_AUTH, 'content-type': 'application/csv' },
          payload: csv,
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.json().response.imported, 1);
        const stored = await event('fmtEvent501');
        assert.equal(stored.program, 'fmtEvProg02');
        assert.equal(stored.dataValues[0].dataElement, 'fmtDeNum001');
      });

      it('names the line: a malformed row is a 400 naming it, an invalid event carries its line', async () => {
        const short = await post(
          `${HEADER}\n${row('fmtEvent003', '2024-03-01', 'fmtDeNum001', '1')}\nfmtEvent004,ACTIVE`,
          '',
          'text/csv',
        );
        assert.equal(short.statusCode, 400);
        assert.match(short.json().message, /line 3\b.*2 columns/);
        const bad = [
          HEADER,
          row('fmtEvent005', '2024-03-01', 'fmtDeNum001', '1'),
          row('fmtEvent006', '2024-03-01', 'fmtDeNum001', 'heavy'),
          row('fmtEvent006', '2024-03-01', 'fmtDeTxt001', 'x'),
          row('fmtEvent007', 'yesterday', 'fmtDeNum001', '2'),
        ].join('\n');
        const res = await post(bad, 'atomicMode=OBJECT', 'text/csv');
        assert.equal(res.statusCode, 409);
        const errors = (res.json() as Report).validationReport.errorReports.map((e) => [
          e.errorCode,
          e.uid,
          e.line,
        ]);
        assert.deepEqual(errors, [
          ['E1302', 'fmtEvent006', 3],
          ['E1031', 'fmtEvent007', 5],
        ]);
        assert.ok(await event('fmtEvent005'), 'the valid event is written under atomicMode OBJECT');
      });

      it('resolves metadata named by CODE, NAME and ATTRIBUTE:<uid>', async () => {
        const payload = (uid: string, orgUnit: string) =>
          JSON.stringify({
            events: [
              {
                event: uid,
                program: 'PRG_PARTNER',
                programStage: 'PS_PARTNER',
                orgUnit,
                occurredAt: '2024-05-01',
                attributeOptionCombo: undefined,
                attributeCategoryOptions: 'PARTNER_B',
                dataValues: [{ dataElement: 'DE_WEIGHT', value: '70' }],
              },
            ],
          });
        const byCode = (await post(payload('fmtEvent101', 'OU_CLINIC'), 'idScheme=code')).json() as Report;
        assert.equal(byCode.status, 'OK', JSON.stringify(byCode));
        const stored = await event('fmtEvent101');
        assert.equal(stored.program, 'fmtEvProg01');
        assert.equal(stored.programStage, 'fmtEvStag01');
        assert.equal(stored.orgUnit, 'fmtOrgUnit1');
        assert.equal(stored.attributeOptionCombo, cocB);
        assert.equal(stored.dataValues[0].dataElement, 'fmtDeNum001');

        const byName = (
          await post(payload('fmtEvent102', 'Format clinic'), 'idScheme=CODE&orgUnitIdScheme=NAME')
        ).json();
        assert.equal(byName.status, 'OK', JSON.stringify(byName));
        const byAttribute = (
          await post(
            payload('fmtEvent103', 'CLINIC-7'),
            'idScheme=CODE&orgUnitIdScheme=ATTRIBUTE:fmtOuAttr01',
          )
        ).json();
        assert.equal(byAttribute.status, 'OK', JSON.stringify(byAttribute));
        assert.equal((await event('fmtEvent103')).orgUnit, 'fmtOrgUnit1');

        // A code that names nothing: DHIS2's "not found" code, naming what was given.
        const wrong = (await post(payload('fmtEvent104', 'OU_NOWHERE'), 'idScheme=CODE')).json() as Report;
        assert.deepEqual(codes(wrong), [['E1011', 'fmtEvent104']]);
        assert.deepEqual(wrong.validationReport.errorReports[0].args, ['OU_NOWHERE']);
        // One that names nothing under the scheme but is a UID is taken as that UID (files that mix).
        const uid = (await post(payload('fmtEvent107', 'fmtOrgUnit1'), 'idScheme=CODE')).json() as Report;
        assert.equal(uid.status, 'OK', JSON.stringify(uid));
        // The specific scheme beats the general one.
        const mixed = JSON.parse(payload('fmtEvent105', 'OU_CLINIC'));
        mixed.events[0].dataValues[0].dataElement = 'fmtDeNum001';
        mixed.events[0].attributeCategoryOptions = 'fmtCoOpt0B1';
        const specific = (
          await post(
            JSON.stringify(mixed),
            'idScheme=CODE&dataElementIdScheme=UID&categoryOptionIdScheme=uid',
          )
        ).json();
        assert.equal(specific.status, 'OK', JSON.stringify(specific));
        const optionCombo = JSON.parse(payload('fmtEvent106', 'OU_CLINIC'));
        delete optionCombo.events[0].attributeCategoryOptions;
        optionCombo.events[0].attributeOptionCombo = 'Partner A';
        optionCombo.events[0].occurredAt = '2024-06-01';
        const named = (
          await post(JSON.stringify(optionCombo), 'idScheme=CODE&categoryOptionComboIdScheme=NAME')
        ).json();
        assert.equal(named.status, 'OK', JSON.stringify(named));
        assert.equal((await event('fmtEvent106')).attributeOptionCombo, cocA);
      });

      it('checks the event against its program category combo and the options dates', async () => {
        const base = {
          program: 'fmtEvProg01',
          programStage: 'fmtEvStag01',
          orgUnit: 'fmtOrgUnit1',
          occurredAt: '2024-05-01',
          dataValues: [],
        };
        const events = [
          { ...base, event: 'fmtEvent201' }, // no option combo: E1055
          { ...base, event: 'fmtEvent202', attributeOptionCombo: 'HllvX50cXC0' }, // the default: E1055
          { ...base, event: 'fmtEvent203', attributeOptionCombo: 'fmtNoSuchCo' }, // E1115
          { ...base, event: 'fmtEvent204', attributeOptionCombo: cocC }, // another combo's: E1054
          { ...base, event: 'fmtEvent205', attributeCategoryOptions: 'fmtNoSuchOp' }, // E1116
          { ...base, event: 'fmtEvent206', attributeCategoryOptions: 'fmtCoOpt0C1' }, // E1117
          {
            ...base,
            event: 'fmtEvent207',
            attributeOptionCombo: cocA,
            attributeCategoryOptions: 'fmtCoOpt0B1',
          }, // E1117
          { ...base, event: 'fmtEvent208', attributeOptionCombo: cocA, occurredAt: '2023-12-31' }, // E1056
          { ...base, event: 'fmtEvent209', attributeOptionCombo: cocA, occurredAt: '2025-01-01T00:00:00' }, // E1057
          { ...base, event: 'fmtEvent210', attributeOptionCombo: cocA, occurredAt: '2024-12-31T23:00:00' }, // OK
          { ...base, event: 'fmtEvent211', attributeCategoryOptions: 'fmtCoOpt0B1', occurredAt: undefined }, // E1031
        ];
        const res = await post(JSON.stringify({ events }), 'atomicMode=OBJECT');
        assert.equal(res.statusCode, 409);
        const report = res.json() as Report;
        assert.deepEqual(codes(report), [
          ['E1031', 'fmtEvent211'],
          ['E1054', 'fmtEvent204'],
          ['E1055', 'fmtEvent201'],
          ['E1055', 'fmtEvent202'],
          ['E1056', 'fmtEvent208'],
          ['E1057', 'fmtEvent209'],
          ['E1115', 'fmtEvent203'],
          ['E1116', 'fmtEvent205'],
          ['E1117', 'fmtEvent206'],
          ['E1117', 'fmtEvent207'],
        ]);
        assert.equal(report.stats.created, 1);
        assert.equal((await event('fmtEvent210')).attributeOptionCombo, cocA);
      });

      it('event dates: E1031, E1050, E1051, E1043, E1046 and E1047 as DHIS2 checks them', async () => {
        const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
        const base = { program: 'fmtEvProg03', programStage: 'fmtEvStag03', orgUnit: 'fmtOrgUnit1' };
        const events = [
          { ...base, event: 'fmtEvent401', occurredAt: day(0), status: 'ACTIVE', completedAt: day(0) }, // E1051
          { ...base, event: 'fmtEvent402', occurredAt: day(-1), status: 'COMPLETED', completedAt: day(-20) }, // E1043
          { ...base, event: 'fmtEvent403', occurredAt: '2001-01-15' }, // E1047 (January 2001 closed long ago)
          { ...base, event: 'fmtEvent404', occurredAt: '2024-02-30' }, // E1031: no such day
          { ...base, event: 'fmtEvent405', occurredAt: day(0), status: 'COMPLETED', completedAt: day(0) }, // OK
          { ...base, event: 'fmtEvent406', status: 'SCHEDULE', occurredAt: day(0) }, // E1050
        ];
        const res = await post(JSON.stringify({ events }), 'atomicMode=OBJECT', 'application/json', CLERK);
        assert.deepEqual(codes(res.json() as Report), [
          ['E1031', 'fmtEvent404'],
          ['E1043', 'fmtEvent402'],
          ['E1047', 'fmtEvent403'],
          ['E1050', 'fmtEvent406'],
          ['E1051', 'fmtEvent401'],
        ]);
        // A tracker event skipped without dates, in a program with an expiry period: E1046.
        const tracker = {
          trackedEntities: [
            {
              trackedEntity: 'fmtTrackd01',
              trackedEntityType: 'fmtTeType01',
              orgUnit: 'fmtOrgUnit1',
              enrollments: [
                {
                  enrollment: 'fmtEnroll01',
                  program: 'fmtTrProg01',
                  orgUnit: 'fmtOrgUnit1',
                  enrolledAt: '2024-01-01',
                  events: [
                    {
                      event: 'fmtEvent411',
                      programStage: 'fmtTrStag01',
                      orgUnit: 'fmtOrgUnit1',
                      occurredAt: '2024-01-02',
                    },
                  ],
                },
                {
                  enrollment: 'fmtEnroll03',
                  program: 'fmtTrProg02',
                  orgUnit: 'fmtOrgUnit1',
                  enrolledAt: '2024-01-01',
                },
              ],
            },
          ],
        };
        const created = (await post(JSON.stringify(tracker), '')).json() as Report;
        assert.equal(created.status, 'OK', JSON.stringify(created));
        const skipped = {
          events: [
            {
              event: 'fmtEvent412',
              program: 'fmtTrProg01',
              programStage: 'fmtTrStag01',
              enrollment: 'fmtEnroll01',
              orgUnit: 'fmtOrgUnit1',
              status: 'SKIPPED',
            },
          ],
        };
        // fmtTrProg01 has no expiry period: a skipped event needs no date.
        assert.equal((await post(JSON.stringify(skipped), 'importMode=VALIDATE')).json().status, 'OK');
        // fmtTrProg02 has one: the event's period is needed.
        Object.assign(skipped.events[0], {
          program: 'fmtTrProg02',
          programStage: 'fmtTrStag02',
          enrollment: 'fmtEnroll03',
        });
        const expiring = (await post(JSON.stringify(skipped), 'importMode=VALIDATE')).json() as Report;
        assert.deepEqual(codes(expiring), [['E1046', 'fmtEvent412']]);
        // The superuser edits expired data (F_EDIT_EXPIRED): no E1043 for the old completion.
        const admin = (await post(JSON.stringify({ events: [events[1]] }), 'importMode=VALIDATE')).json();
        assert.equal(admin.status, 'OK', JSON.stringify(admin));
      });

      it('refuses updates that change what an object is: E1126, E1127, E1128', async () => {
        const tracker = {
          trackedEntities: [
            {
              trackedEntity: 'fmtTrackd02',
              trackedEntityType: 'fmtTeType01',
              orgUnit: 'fmtOrgUnit1',
              enrollments: [
                {
                  enrollment: 'fmtEnroll02',
                  program: 'fmtTrProg01',
                  orgUnit: 'fmtOrgUnit1',
                  enrolledAt: '2024-01-01',
                  events: [
                    {
                      event: 'fmtEvent421',
                      programStage: 'fmtTrStag01',
                      orgUnit: 'fmtOrgUnit1',
                      occurredAt: '2024-01-02',
                    },
                  ],
                },
              ],
            },
          ],
        };
        assert.equal((await post(JSON.stringify(tracker), '')).json().status, 'OK');
        const changed = JSON.parse(JSON.stringify(tracker));
        changed.trackedEntities[0].trackedEntityType = 'fmtTeType02';
        changed.trackedEntities[0].enrollments[0].program = 'fmtTrProg02';
        const res = (await post(JSON.stringify(changed), 'atomicMode=OBJECT')).json() as Report;
        const found = res.validationReport.errorReports.map((e) => [e.errorCode, e.uid, e.args[0]]);
        assert.deepEqual(found.slice(0, 2), [
          ['E1126', 'fmtTrackd02', 'trackedEntityType'],
          ['E1127', 'fmtEnroll02', 'program'],
        ]);
        const moved = {
          events: [
            {
              event: 'fmtEvent001',
              program: 'fmtEvProg03',
              programStage: 'fmtEvStag03',
              orgUnit: 'fmtOrgUnit1',
              occurredAt: new Date().toISOString().slice(0, 10),
            },
          ],
        };
        const event = (await post(JSON.stringify(moved), '')).json() as Report;
        assert.deepEqual(
          event.validationReport.errorReports.map((e) => [e.errorCode, e.uid, e.args[0]]),
          [['E1128', 'fmtEvent001', 'programStage']],
        );
      });

      it('refuses unknown scheme values with 400 and takes validationMode=skip', async () => {
        for (const query of [
          'idScheme=CODEX',
          'orgUnitIdScheme=ATTRIBUTE:nope',
          'eventIdScheme=CODE',
          'skipFirst=maybe',
        ]) {
          const res = await post('{"events":[]}', query);
          assert.equal(res.statusCode, 400, query);
          assert.match(res.json().message, new RegExp(query.split('=')[0]), query);
        }
        const skip = await post(
          JSON.stringify({
            events: [
              {
                event: 'fmtEvent301',
                program: 'fmtEvProg02',
                programStage: 'fmtEvStag02',
                orgUnit: 'fmtOrgUnit1',
              },
            ],
          }),
          'validationMode=skip&eventIdScheme=uid',
        );
        assert.equal(skip.json().status, 'OK', skip.body);
      });
    },
  );
}
