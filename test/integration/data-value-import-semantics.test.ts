import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { importDataValues } from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import { DEFAULT_CONFLICT_LIMITS } from '../../src/domain/data-values/import-conflicts.ts';
import type { JobRecord } from '../../src/jobs/job-types.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH, basicAuth } from '../support/access-fixtures.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { valueFiles, type ValueFiles } from '../support/data-value-imports.ts';
import { storedDataValue, type StoredDataValue } from '../support/stored-values.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';

/**
 * DHIS2's data value import semantics that the validation tests don't reach: audit rows and
 * skipAudit, conflict grouping and its caps, the HTTP status of each import status, soft deletes
 * and revival, E7620 / E7635, and the value types TIME, LONG_TEXT, TRUE_ONLY, EMAIL and
 * PHONE_NUMBER. Expected behaviour is DHIS2 2.42's (its DataValueSetImportValidator) as
 * docs/formats/data-values.md states it.
 */

const DEFAULT = 'HllvX50cXC0';
const OU = 'DiszpKrYNg8'; // Ngelehun CHC, under ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I
const FIXTURE_DATA_SET = 'qNtxTrp56wV'; // Yearly, default category combo
const FIXTURE_DE = 'FRbgzTZ74Hh'; // INTEGER_ZERO_OR_POSITIVE, in FIXTURE_DATA_SET
const AGE_COC = 'oPcWGgS2Liz'; // an option combo of the disaggregation combo BwnnrV1AkNj
const ATTRIBUTE_COMBO = 'p0bh43XdKy5'; // the fixtures' attribute category combo
const ATTRIBUTE_AOC = 'igZVvNyxlTM'; // its one option combo

const DE_NUMBER = 'SemNumber01';
const DE_TIME = 'SemTime0001';
const DE_LONG_TEXT = 'SemLongTxt1';
const DE_TRUE_ONLY = 'SemTrueOnly';
const DE_EMAIL = 'SemEmail001';
const DE_PHONE = 'SemPhone001';
const DE_ATTRIBUTED = 'SemAttrDE01';
const DE_OPTIONS = 'vbZ5LGNfGyy'; // TEXT with option set TA_YES/TA_NO, in no data set
const ATTRIBUTED_DATA_SET = 'SemAttrDS01';

const ROLE_CAPTURE = 'SemRoleCap1';
const ROLE_SKIP_AUDIT = 'SemRoleSkip';
const CLERK = { id: 'SemClerk001', username: 'sem.clerk', password: 'Clerk-password-1' };
const AUDITOR = { id: 'SemSkipper1', username: 'sem.skipper', password: 'Skipper-password-1' };
const CLERK_AUTH = basicAuth(CLERK.username, CLERK.password);
const AUDITOR_AUTH = basicAuth(AUDITOR.username, AUDITOR.password);

const HEADER = 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\n';
const HEADER_FULL =
  'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted\n';

const row = (de: string, pe: string, value: string, coc = DEFAULT, aoc = DEFAULT, ou = OU): string =>
  `${de},${pe},${ou},${coc},${aoc},${value}`;

function dataElement(id: string, valueType: string, categoryCombo = 'bjDvmb4bfuf') {
  return {
    id,
    name: `Semantics ${id}`,
    shortName: id,
    valueType,
    domainType: 'AGGREGATE',
    aggregationType: valueType === 'NUMBER' ? 'SUM' : 'NONE',
    zeroIsSignificant: true,
    categoryCombo: { id: categoryCombo },
  };
}

const TEST_METADATA = {
  dataElements: [
    dataElement(DE_NUMBER, 'NUMBER'),
    dataElement(DE_TIME, 'TIME'),
    dataElement(DE_LONG_TEXT, 'LONG_TEXT'),
    dataElement(DE_TRUE_ONLY, 'TRUE_ONLY'),
    dataElement(DE_EMAIL, 'EMAIL'),
    dataElement(DE_PHONE, 'PHONE_NUMBER'),
    dataElement(DE_ATTRIBUTED, 'NUMBER'),
  ],
  dataSets: [
    {
      id: ATTRIBUTED_DATA_SET,
      name: 'Semantics attributed data set',
      shortName: 'Semantics attributed',
      periodType: 'Yearly',
      expiryDays: 0,
      openFuturePeriods: 0,
      categoryCombo: { id: ATTRIBUTE_COMBO },
      dataSetElements: [{ dataElement: { id: DE_ATTRIBUTED } }],
    },
  ],
};

/** A migrated database with DHIS2's aggregate e2e metadata, this file's own, two users and the app. */
function harness(kind: 'sqlite' | 'postgres'): Promise<TestApp> {
  return startTestApp(kind, {
    seed: (_context, db) => loadAggregateE2eMetadata(db.storage, [TEST_METADATA]),
    setup: async (context) => {
      await context.metadata.save('userRoles', [
        { id: ROLE_CAPTURE, name: 'Semantics data capture', authorities: ['F_DATAVALUE_ADD'] },
        {
          id: ROLE_SKIP_AUDIT,
          name: 'Semantics data capture without audit',
          authorities: ['F_DATAVALUE_ADD', 'F_SKIP_DATA_IMPORT_AUDIT'],
        },
      ]);
      for (const [user, role] of [
        [CLERK, ROLE_CAPTURE],
        [AUDITOR, ROLE_SKIP_AUDIT],
      ] as const) {
        await context.users.createUser({
          ...user,
          firstName: 'Semantics',
          surname: user.username,
          roles: [role],
          orgUnits: ['ImspTQPwCqd'],
        });
      }
    },
  });
}

interface ImportReply {
  httpStatus: string;
  httpStatusCode: number;
  status: string;
  message: string;
  errorCode?: string;
  response: ImportSummary;
}

function post(
  h: TestApp,
  query: string,
  body: string,
  options: { auth?: string; contentType?: string } = {},
) {
  return h.app.inject({
    method: 'POST',
    url: `/api/dataValueSets${query}`,
    headers: {
      authorization: options.auth ?? ADMIN_AUTH,
      'content-type': options.contentType ?? 'application/csv',
    },
    payload: body,
  });
}

function stored(
  h: TestApp,
  de: string,
  pe: string,
  aoc = DEFAULT,
  coc = DEFAULT,
): Promise<StoredDataValue | undefined> {
  return storedDataValue(h.db.storage, {
    dataElement: de,
    period: pe,
    orgUnit: OU,
    categoryOptionCombo: coc,
    attributeOptionCombo: aoc,
  });
}

interface AuditRow {
  audit_type: string;
  previous_value: string | null;
  new_value: string | null;
  modified_by: string | null;
  job_id: string | null;
}

async function auditsOf(h: TestApp, de: string, pe: string): Promise<AuditRow[]> {
  const rows = await h.db.storage.query<AuditRow>(
    `SELECT a.audit_type, a.previous_value, a.new_value, a.modified_by, a.job_id
       FROM data_value_audit a
       JOIN metadata_object de ON de.sid = a.data_element_id
       JOIN period p ON p.period_id = a.period_id
      WHERE de.uid = ? AND p.iso = ?
      ORDER BY a.audit_id`,
    [de, pe],
  );
  // node:sqlite rows have a null prototype; plain objects compare with deepEqual.
  return rows.map((r) => ({ ...r }));
}

async function countOf(h: TestApp, table: 'data_value' | 'data_value_audit'): Promise<number> {
  return Number((await h.db.storage.queryOne<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n);
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`data value import semantics (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let h: TestApp;
    let files: ValueFiles;

    before(async () => {
      h = await harness(kind);
      files = valueFiles(h.context, h.db.dataDir, 'semantics');
    });
    after(async () => {
      await stopTestApp(h);
    });

    /** Imports through the service as the CLI operator (no user): for tests of pure semantics. */
    const importCsv = (csv: string, params: Record<string, string> = {}) =>
      files.importText(csv, 'csv', params);
    const importJson = (json: unknown, params: Record<string, string> = {}) =>
      files.importText(JSON.stringify(json), 'json', params);

    // -------------------------------------------------------------------------------------------
    // 1. skipAudit

    it('skipAudit=true writes no audit rows, on a first load and on updates and deletes', async () => {
      // A database of its own, so that the first import is a load into an empty table (the path
      // that writes CREATE audit rows at the end).
      const fresh = await harness(kind);
      try {
        const first = await post(
          fresh,
          '?skipAudit=true',
          HEADER + [row(DE_NUMBER, '2001', '1'), row(DE_NUMBER, '2002', '2')].join('\n'),
        );
        assert.equal(first.statusCode, 200, first.body);
        const firstSummary = first.json<ImportReply>().response;
        assert.deepEqual(firstSummary.importCount, { imported: 2, updated: 0, ignored: 0, deleted: 0 });
        assert.equal(firstSummary.importOptions.skipAudit, true);
        assert.equal(await countOf(fresh, 'data_value'), 2);
        assert.equal(await countOf(fresh, 'data_value_audit'), 0);

        const second = await post(
          fresh,
          '?skipAudit=true',
          HEADER +
            [row(DE_NUMBER, '2001', '10'), row(DE_NUMBER, '2002', ''), row(DE_NUMBER, '2003', '3')].join(
              '\n',
            ),
        );
        assert.equal(second.statusCode, 200, second.body);
        assert.deepEqual(second.json<ImportReply>().response.importCount, {
          imported: 1,
          updated: 1,
          ignored: 0,
          deleted: 1,
        });
        assert.equal((await stored(fresh, DE_NUMBER, '2001'))?.value, '10');
        assert.equal(await countOf(fresh, 'data_value_audit'), 0);

        // A user with F_SKIP_DATA_IMPORT_AUDIT (and not ALL) may skip too.
        const skipper = await post(fresh, '?skipAudit=true', HEADER + row(DE_NUMBER, '2001', '11'), {
          auth: AUDITOR_AUTH,
        });
        assert.equal(skipper.statusCode, 200, skipper.body);
        assert.equal(skipper.json<ImportReply>().response.importCount.updated, 1);
        assert.equal(await countOf(fresh, 'data_value_audit'), 0);

        // The control: the same kind of change without skipAudit is audited.
        const audited = await post(fresh, '', HEADER + row(DE_NUMBER, '2001', '12'));
        assert.equal(audited.statusCode, 200, audited.body);
        assert.deepEqual(await auditsOf(fresh, DE_NUMBER, '2001'), [
          { audit_type: 'UPDATE', previous_value: '11', new_value: '12', modified_by: 'admin', job_id: null },
        ]);
      } finally {
        await stopTestApp(fresh);
      }
    });

    it('skipAudit=true by a user without F_SKIP_DATA_IMPORT_AUDIT (or ALL) is 403 F1102 and writes nothing', async () => {
      const before = await countOf(h, 'data_value');
      const denied = await post(h, '?skipAudit=true', HEADER + row(DE_NUMBER, '2010', '1'), {
        auth: CLERK_AUTH,
      });
      assert.equal(denied.statusCode, 403, denied.body);
      const body = denied.json<ImportReply>();
      assert.equal(body.errorCode, 'F1102');
      assert.equal(body.status, 'ERROR');
      assert.match(body.message, /F_SKIP_DATA_IMPORT_AUDIT/);
      assert.equal(await countOf(h, 'data_value'), before);

      // The same user may import when audited.
      const allowed = await post(h, '', HEADER + row(DE_NUMBER, '2010', '1'), { auth: CLERK_AUTH });
      assert.equal(allowed.statusCode, 200, allowed.body);
      assert.equal(allowed.json<ImportReply>().response.importCount.imported, 1);
    });

    it('skipAudit=true with async=true by a user without the authority is refused before a job is queued', async () => {
      const jobsBefore = await h.context.jobs.list(
        { uid: 'x', authorities: new Set(['ALL']) },
        { types: ['DATAVALUE_IMPORT'] },
      );
      const denied = await post(h, '?async=true&skipAudit=true', HEADER + row(DE_NUMBER, '2011', '1'), {
        auth: CLERK_AUTH,
      });
      assert.equal(denied.statusCode, 403, denied.body);
      assert.equal(denied.json<ImportReply>().errorCode, 'F1102');
      const jobsAfter = await h.context.jobs.list(
        { uid: 'x', authorities: new Set(['ALL']) },
        { types: ['DATAVALUE_IMPORT'] },
      );
      assert.equal(jobsAfter.length, jobsBefore.length);
    });

    // -------------------------------------------------------------------------------------------
    // 2. Conflict grouping and caps

    it('groups one bad data element on many rows into ONE conflict listing every row', async () => {
      const rows = [];
      const badRows: number[] = [];
      for (let i = 0; i < 40; i++) {
        if (i % 3 === 1) {
          rows.push(row('noSuchDE001', String(1900 + i), '1'));
          badRows.push(i);
        } else {
          rows.push(row(DE_NUMBER, String(1900 + i), String(i)));
        }
      }
      const summary = await importCsv(HEADER + rows.join('\n'));
      assert.equal(summary.status, 'WARNING');
      assert.equal(summary.conflicts.length, 1);
      const [conflict] = summary.conflicts;
      assert.equal(conflict.errorCode, 'E7610');
      assert.equal(conflict.object, 'noSuchDE001');
      assert.deepEqual(conflict.objects, { dataElement: 'noSuchDE001' });
      assert.equal(conflict.property, 'dataElement');
      assert.deepEqual(conflict.indexes, badRows);
      assert.deepEqual(summary.rejectedIndexes, badRows);
      assert.deepEqual(summary.importCount, {
        imported: 40 - badRows.length,
        updated: 0,
        ignored: badRows.length,
        deleted: 0,
      });
      assert.equal(summary.omitted, undefined);
    });

    it('caps conflicts at 1,000 distinct ones and counts the rest in omitted', async () => {
      assert.equal(DEFAULT_CONFLICT_LIMITS.maxConflicts, 1000);
      const distinct = 1003;
      const rows = Array.from({ length: distinct }, (_, i) =>
        row(`bad${String(i).padStart(8, '0')}`, '2020', '1'),
      );
      const summary = await importCsv(HEADER + rows.join('\n'));
      assert.equal(summary.status, 'WARNING');
      assert.equal(summary.conflicts.length, 1000);
      // The first 1,000 distinct data elements are listed, in file order, each with its one row.
      assert.equal(summary.conflicts[0].object, 'bad00000000');
      assert.equal(summary.conflicts[999].object, 'bad00000999');
      assert.deepEqual(summary.conflicts[999].indexes, [999]);
      assert.ok(!summary.conflicts.some((c) => c.object === 'bad00001000'));
      // Every rejected row is still listed: 1,003 is under the 10,000 rejected-index cap.
      assert.equal(summary.rejectedIndexes.length, distinct);
      assert.deepEqual(summary.omitted, { conflictOccurrences: 3, rejectedIndexes: 0 });
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: distinct, deleted: 0 });
    });

    it('caps the row indexes of one conflict at 1,000 and rejectedIndexes at 10,000, counting what is left out', async () => {
      assert.equal(DEFAULT_CONFLICT_LIMITS.maxIndexesPerConflict, 1000);
      assert.equal(DEFAULT_CONFLICT_LIMITS.maxRejectedIndexes, 10_000);
      const total = 10_050;
      const rows = Array.from({ length: total }, (_, i) => row('noSuchDE002', String(1000 + (i % 900)), '1'));
      const summary = await importCsv(HEADER + rows.join('\n'));
      assert.equal(summary.conflicts.length, 1);
      assert.deepEqual(
        summary.conflicts[0].indexes,
        Array.from({ length: 1000 }, (_, i) => i),
      );
      assert.equal(summary.rejectedIndexes.length, 10_000);
      assert.equal(summary.rejectedIndexes[9_999], 9_999);
      assert.deepEqual(summary.omitted, { conflictOccurrences: total - 1000, rejectedIndexes: 50 });
      assert.deepEqual(summary.importCount, { imported: 0, updated: 0, ignored: total, deleted: 0 });
    });

    // -------------------------------------------------------------------------------------------
    // 3. HTTP status codes

    it('answers ERROR with 409, WARNING and SUCCESS with 200, each with the ImportSummary', async () => {
      const before = await countOf(h, 'data_value');
      const file =
        HEADER +
        [
          row(DE_NUMBER, '1801', '1'),
          row(DE_NUMBER, '1802', 'not a number'),
          row(DE_NUMBER, '1803', '3'),
        ].join('\n');

      const error = await post(h, '?atomic=true', file);
      assert.equal(error.statusCode, 409, error.body);
      const errorBody = error.json<ImportReply>();
      assert.equal(errorBody.httpStatus, 'Conflict');
      assert.equal(errorBody.httpStatusCode, 409);
      assert.equal(errorBody.status, 'ERROR');
      assert.equal(errorBody.message, 'An error occurred, please check import summary.');
      assert.equal(errorBody.response.responseType, 'ImportSummary');
      assert.equal(errorBody.response.status, 'ERROR');
      assert.deepEqual(errorBody.response.importCount, { imported: 0, updated: 0, ignored: 3, deleted: 0 });
      assert.deepEqual(
        errorBody.response.conflicts.map((c) => [c.errorCode, c.indexes]),
        [['E7619', [1]]],
      );
      assert.equal(await countOf(h, 'data_value'), before);

      const warning = await post(h, '', file);
      assert.equal(warning.statusCode, 200, warning.body);
      const warningBody = warning.json<ImportReply>();
      assert.equal(warningBody.httpStatus, 'OK');
      assert.equal(warningBody.status, 'WARNING');
      assert.equal(warningBody.response.status, 'WARNING');
      assert.deepEqual(warningBody.response.importCount, { imported: 2, updated: 0, ignored: 1, deleted: 0 });
      assert.equal(await countOf(h, 'data_value'), before + 2);

      const success = await post(h, '', HEADER + row(DE_NUMBER, '1802', '2'));
      assert.equal(success.statusCode, 200, success.body);
      const successBody = success.json<ImportReply>();
      assert.equal(successBody.status, 'OK');
      assert.equal(successBody.message, 'Import was successful.');
      assert.equal(successBody.response.status, 'SUCCESS');
      assert.deepEqual(successBody.response.conflicts, []);

      // A file that can't be read is an ERROR too: 409, nothing written.
      const unreadable = await post(h, '', '{"dataValues": [', { contentType: 'application/json' });
      assert.equal(unreadable.statusCode, 409, unreadable.body);
      assert.equal(unreadable.json<ImportReply>().response.status, 'ERROR');
    });

    // -------------------------------------------------------------------------------------------
    // 4. deleted=true

    it('deleted=true soft-deletes a stored value (counted deleted, DELETE audit with the previous value); re-sending it revives it as imported', async () => {
      const created = await importJson({
        dataValues: [
          { dataElement: DE_NUMBER, period: '1701', orgUnit: OU, value: '17', comment: 'first' },
          { dataElement: DE_NUMBER, period: '1702', orgUnit: OU, value: '18' },
        ],
      });
      assert.deepEqual(created.importCount, { imported: 2, updated: 0, ignored: 0, deleted: 0 });

      const deleted = await importJson({
        dataValues: [
          // The value in a deleting row does not matter: the row asks for deletion.
          { dataElement: DE_NUMBER, period: '1701', orgUnit: OU, value: '99', deleted: true },
          // Nothing stored: nothing to delete.
          { dataElement: DE_NUMBER, period: '1703', orgUnit: OU, value: '5', deleted: true },
        ],
      });
      assert.equal(deleted.status, 'SUCCESS');
      assert.deepEqual(deleted.importCount, { imported: 0, updated: 0, ignored: 1, deleted: 1 });
      // Soft: the row is kept, flagged, with its value and comment.
      assert.deepEqual(await stored(h, DE_NUMBER, '1701'), {
        value: '17',
        comment: 'first',
        deleted: 1,
        stored_by: 'ferry-cli',
      });
      assert.equal(await stored(h, DE_NUMBER, '1703'), undefined);
      assert.deepEqual((await auditsOf(h, DE_NUMBER, '1701')).at(-1), {
        audit_type: 'DELETE',
        previous_value: '17',
        new_value: null,
        modified_by: 'ferry-cli',
        job_id: null,
      });

      // CSV's deleted column does the same.
      const csvDelete = await importCsv(
        `${HEADER_FULL}${DE_NUMBER},1702,${OU},${DEFAULT},${DEFAULT},18,,,,,true\n`,
      );
      assert.deepEqual(csvDelete.importCount, { imported: 0, updated: 0, ignored: 0, deleted: 1 });
      assert.equal((await stored(h, DE_NUMBER, '1702'))?.deleted, 1);

      // Deleting what is already deleted changes nothing.
      const again = await importJson({
        dataValues: [{ dataElement: DE_NUMBER, period: '1701', orgUnit: OU, value: '17', deleted: true }],
      });
      assert.deepEqual(again.importCount, { imported: 0, updated: 0, ignored: 1, deleted: 0 });

      // Soft-deleted values are not exported (without includeDeleted).
      const exported = await h.app.inject({
        url: `/api/dataValueSets.json?dataElement=${DE_NUMBER}&orgUnit=${OU}&period=1701`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(exported.statusCode, 200, exported.body);
      assert.deepEqual(exported.json<{ dataValues?: unknown[] }>().dataValues ?? [], []);

      // DHIS2 2.42: re-creating a soft-deleted value counts as imported.
      const revived = await importJson({
        dataValues: [{ dataElement: DE_NUMBER, period: '1701', orgUnit: OU, value: '19' }],
      });
      assert.deepEqual(revived.importCount, { imported: 1, updated: 0, ignored: 0, deleted: 0 });
      const row1701 = await stored(h, DE_NUMBER, '1701');
      assert.equal(row1701?.deleted, 0);
      assert.equal(row1701?.value, '19');
      assert.deepEqual(
        (await auditsOf(h, DE_NUMBER, '1701')).map((a) => [a.audit_type, a.new_value]),
        [
          ['CREATE', '17'],
          ['DELETE', null],
          ['CREATE', '19'],
        ],
      );
    });

    // -------------------------------------------------------------------------------------------
    // 5. Audit rows

    it('audits UPDATE and DELETE with the previous and new value and the importing user', async () => {
      const pe = '1601';
      const create = await post(h, '', HEADER + row(DE_NUMBER, pe, '5'), { auth: CLERK_AUTH });
      assert.equal(create.statusCode, 200, create.body);
      const update = await post(h, '', HEADER + row(DE_NUMBER, pe, '6'), { auth: CLERK_AUTH });
      assert.equal(update.json<ImportReply>().response.importCount.updated, 1);
      assert.equal((await stored(h, DE_NUMBER, pe))?.stored_by, CLERK.username);
      const same = await post(h, '', HEADER + row(DE_NUMBER, pe, '6'), { auth: CLERK_AUTH });
      assert.equal(same.json<ImportReply>().response.importCount.ignored, 1);
      const remove = await post(h, '?importStrategy=DELETE', HEADER + row(DE_NUMBER, pe, '6'));
      assert.equal(remove.json<ImportReply>().response.importCount.deleted, 1);

      // An unchanged value writes no audit row.
      assert.deepEqual(await auditsOf(h, DE_NUMBER, pe), [
        {
          audit_type: 'CREATE',
          previous_value: null,
          new_value: '5',
          modified_by: CLERK.username,
          job_id: null,
        },
        {
          audit_type: 'UPDATE',
          previous_value: '5',
          new_value: '6',
          modified_by: CLERK.username,
          job_id: null,
        },
        { audit_type: 'DELETE', previous_value: '6', new_value: null, modified_by: 'admin', job_id: null },
      ]);
    });

    it('records the job id on audit rows of an import run as an async job (first load and update)', async () => {
      // A database of its own: the first job loads into an empty table (CREATE audits written at
      // the end), the second updates.
      const fresh = await harness(kind);
      try {
        await fresh.context.jobs.start();
        const runJob = async (csv: string, auth: string): Promise<{ id: string; job: JobRecord }> => {
          const reply = await post(fresh, '?async=true', csv, { auth });
          assert.equal(reply.statusCode, 200, reply.body);
          const id = reply.json<{ response: { id: string } }>().response.id;
          const job = await waitForJob(fresh.context, id);
          assert.equal(job.status, 'COMPLETED', job.error ?? '');
          return { id, job };
        };
        const first = await runJob(
          HEADER + [row(DE_NUMBER, '1501', '1'), row(DE_NUMBER, '1502', '2')].join('\n'),
          CLERK_AUTH,
        );
        assert.deepEqual((first.job.summary as ImportSummary).importCount, {
          imported: 2,
          updated: 0,
          ignored: 0,
          deleted: 0,
        });
        const second = await runJob(
          HEADER + [row(DE_NUMBER, '1501', '10'), row(DE_NUMBER, '1502', '')].join('\n'),
          ADMIN_AUTH,
        );
        assert.notEqual(first.id, second.id);
        assert.deepEqual(await auditsOf(fresh, DE_NUMBER, '1501'), [
          {
            audit_type: 'CREATE',
            previous_value: null,
            new_value: '1',
            modified_by: CLERK.username,
            job_id: first.id,
          },
          {
            audit_type: 'UPDATE',
            previous_value: '1',
            new_value: '10',
            modified_by: 'admin',
            job_id: second.id,
          },
        ]);
        assert.deepEqual(await auditsOf(fresh, DE_NUMBER, '1502'), [
          {
            audit_type: 'CREATE',
            previous_value: null,
            new_value: '2',
            modified_by: CLERK.username,
            job_id: first.id,
          },
          {
            audit_type: 'DELETE',
            previous_value: '2',
            new_value: null,
            modified_by: 'admin',
            job_id: second.id,
          },
        ]);
      } finally {
        await stopTestApp(fresh);
      }
    });

    // -------------------------------------------------------------------------------------------
    // 6. E7620 and E7635

    it('E7620: a comment longer than 50,000 characters is refused; 50,000 is kept', async () => {
      const summary = await importJson({
        dataValues: [
          { dataElement: DE_NUMBER, period: '1401', orgUnit: OU, value: '1', comment: 'c'.repeat(50_001) },
          { dataElement: DE_NUMBER, period: '1402', orgUnit: OU, value: '2', comment: 'k'.repeat(50_000) },
          // A comment alone (no value) is stored, not a delete.
          { dataElement: DE_NUMBER, period: '1403', orgUnit: OU, comment: 'only a comment' },
        ],
      });
      assert.deepEqual(summary.importCount, { imported: 2, updated: 0, ignored: 1, deleted: 0 });
      assert.equal(summary.conflicts.length, 1);
      const [conflict] = summary.conflicts;
      assert.equal(conflict.errorCode, 'E7620');
      assert.equal(conflict.property, 'comment');
      assert.deepEqual(conflict.indexes, [0]);
      assert.match(conflict.value, /^Invalid comment: /);
      assert.deepEqual(summary.rejectedIndexes, [0]);
      assert.equal(await stored(h, DE_NUMBER, '1401'), undefined);
      assert.equal((await stored(h, DE_NUMBER, '1402'))?.comment?.length, 50_000);
      assert.deepEqual(
        { ...(await stored(h, DE_NUMBER, '1403')), stored_by: undefined },
        { value: null, comment: 'only a comment', deleted: 0, stored_by: undefined },
      );
    });

    it("E7635: an attribute option combo not of the data set's category combo is refused; one of it is imported", async () => {
      const summary = await importCsv(
        HEADER +
          [
            // Of the attributed data set's combo: fine.
            row(DE_ATTRIBUTED, '2018', '1', DEFAULT, ATTRIBUTE_AOC),
            // A disaggregation option combo used as attribute option combo.
            row(DE_ATTRIBUTED, '2017', '2', DEFAULT, AGE_COC),
          ].join('\n'),
        { dataSet: ATTRIBUTED_DATA_SET },
      );
      assert.deepEqual(summary.importCount, { imported: 1, updated: 0, ignored: 1, deleted: 0 });
      assert.deepEqual(
        summary.conflicts.map((c) => ({ ...c, value: undefined })),
        [
          {
            object: AGE_COC,
            objects: { attributeOptionCombo: AGE_COC, dataSet: ATTRIBUTED_DATA_SET },
            value: undefined,
            errorCode: 'E7635',
            property: 'attributeOptionCombo',
            indexes: [1],
          },
        ],
      );
      assert.equal(
        summary.conflicts[0].value,
        `Attribute option combo: \`${AGE_COC}\` must be part of category combo of data set: \`${ATTRIBUTED_DATA_SET}\``,
      );
      assert.equal((await stored(h, DE_ATTRIBUTED, '2018', ATTRIBUTE_AOC))?.value, '1');

      // The attribute option combo of another combo, against a data set with the default combo.
      const other = await importCsv(HEADER + row(FIXTURE_DE, '2016', '1', DEFAULT, ATTRIBUTE_AOC), {
        dataSet: FIXTURE_DATA_SET,
      });
      assert.deepEqual(
        other.conflicts.map((c) => [c.errorCode, c.object, c.objects.dataSet]),
        [['E7635', ATTRIBUTE_AOC, FIXTURE_DATA_SET]],
      );
      assert.equal(other.importCount.imported, 0);
    });

    it("reports a row's first problem in DHIS2 2.42's order (DataValueSetImportValidator)", async () => {
      // Not a number, and an attribute option combo of another combo: E7619 comes first.
      const valueFirst = await importJson(
        {
          dataValues: [
            {
              dataElement: DE_ATTRIBUTED,
              period: '1301',
              orgUnit: OU,
              attributeOptionCombo: AGE_COC,
              value: 'abc',
            },
          ],
        },
        { dataSet: ATTRIBUTED_DATA_SET },
      );
      // Rows with two problems each; the comment says which comes first.
      const constraintRows = [
        // E7620 before E7621: a long comment on a value not in the option set.
        { dataElement: DE_OPTIONS, period: '1302', value: 'maybe', comment: 'c'.repeat(50_001) },
        // E7621 before E7633: a value not in the option set, of an element not in the data set.
        { dataElement: DE_OPTIONS, period: '1303', value: 'maybe' },
        // E7633 before E7634: not in the data set, and a combo of another category combo.
        { dataElement: DE_NUMBER, period: '1304', value: '1', categoryOptionCombo: AGE_COC },
        // E7633 before E7635: not in the data set, and an attribute combo of another combo.
        { dataElement: DE_NUMBER, period: '1305', value: '1', attributeOptionCombo: AGE_COC },
        // E7634 before E7635.
        {
          dataElement: DE_ATTRIBUTED,
          period: '1306',
          value: '1',
          categoryOptionCombo: AGE_COC,
          attributeOptionCombo: AGE_COC,
        },
        // E7635 before E7641 (after the latest open future period).
        { dataElement: DE_ATTRIBUTED, period: '2999', value: '1', attributeOptionCombo: AGE_COC },
        // E7619 before E7641.
        { dataElement: DE_ATTRIBUTED, period: '2998', value: 'abc' },
      ];
      const constraints = await importJson(
        { dataValues: constraintRows.map((value) => ({ orgUnit: OU, ...value })) },
        { dataSet: ATTRIBUTED_DATA_SET },
      );
      const firstProblems: string[] = [];
      for (const conflict of constraints.conflicts) {
        for (const index of conflict.indexes) firstProblems[index] = conflict.errorCode;
      }
      assert.deepEqual(firstProblems, ['E7620', 'E7621', 'E7633', 'E7633', 'E7634', 'E7635', 'E7619']);
      // An unknown category option combo outside the capture scope: E7613 comes before E7617.
      const path = files.write(
        HEADER + row(DE_NUMBER, '1301', '1', 'noSuchCoc01', DEFAULT, 'g8upMTyEZGZ'),
        'csv',
      );
      const comboFirst = await importDataValues(
        h.context,
        { path, fileName: 'values.csv', contentType: 'application/csv' },
        {},
        {
          uid: CLERK.id,
          username: CLERK.username,
          authorities: new Set(['F_DATAVALUE_ADD']),
          captureOrgUnits: [OU],
          userGroupUids: [],
        },
      );
      assert.deepEqual(
        [valueFirst, comboFirst].map((summary) => summary.conflicts.map((c) => c.errorCode)),
        [['E7619'], ['E7613']],
      );
    });

    // -------------------------------------------------------------------------------------------
    // 7. Value types

    const valueTypeCase = async (
      de: string,
      good: string[],
      bad: string[],
      stores: (text: string) => string = (text) => text,
    ): Promise<void> => {
      const values = [...good, ...bad];
      const summary = await importJson({
        dataValues: values.map((value, i) => ({
          dataElement: de,
          period: String(1100 + i),
          orgUnit: OU,
          value,
        })),
      });
      const badIndexes = bad.map((_, i) => good.length + i);
      assert.deepEqual(
        summary.importCount,
        { imported: good.length, updated: 0, ignored: bad.length, deleted: 0 },
        JSON.stringify(summary.conflicts),
      );
      assert.deepEqual(
        summary.conflicts.map((c) => [c.errorCode, c.object, c.property, c.indexes]),
        bad.length === 0 ? [] : [['E7619', de, 'value', badIndexes]],
      );
      for (let i = 0; i < good.length; i++) {
        assert.equal((await stored(h, de, String(1100 + i)))?.value, stores(good[i]), good[i]);
      }
      for (const index of badIndexes) assert.equal(await stored(h, de, String(1100 + index)), undefined);
    };

    it('TIME: accepts H:MM and HH:MM, refuses other times', async () => {
      await valueTypeCase(
        DE_TIME,
        ['00:00', '09:05', '7:45', '23:59'],
        ['24:00', '12:60', '2pm', '12-30', '7:5'],
      );
    });

    it('LONG_TEXT: accepts long text with line breaks, quotes and commas verbatim, up to 50,000 characters', async () => {
      const paragraph = 'Line one, with a comma; "quoted" text\nline two\r\n\ttabbed — ünïcødé ✓ ';
      const long = paragraph.repeat(Math.floor(50_000 / paragraph.length));
      const exactly = 'x'.repeat(50_000);
      await valueTypeCase(DE_LONG_TEXT, [long, exactly], ['y'.repeat(50_001)]);
      // Through CSV as well: a quoted field with line breaks and doubled quotes.
      const summary = await importCsv(
        `${HEADER}${DE_LONG_TEXT},1099,${OU},${DEFAULT},${DEFAULT},"${paragraph.replaceAll('"', '""')}"\n`,
      );
      assert.equal(summary.importCount.imported, 1, JSON.stringify(summary.conflicts));
      assert.equal((await stored(h, DE_LONG_TEXT, '1099'))?.value, paragraph);
    });

    it("created: a new value gets the import time, not the file's (DHIS2 2.42); an update keeps the stored one; keepCreated=true takes the file's", async () => {
      const createdOf = async (pe: string): Promise<string | undefined> => {
        const found = await h.db.storage.queryOne<{ created: string }>(
          `SELECT dv.created FROM data_value dv
             JOIN metadata_object de ON de.sid = dv.data_element_id
             JOIN period p ON p.period_id = dv.period_id
            WHERE de.uid = ? AND p.iso = ?`,
          [DE_NUMBER, pe],
        );
        return found?.created;
      };
      const before = Date.now();
      const first = await importJson({
        dataValues: [
          {
            dataElement: DE_NUMBER,
            period: '1451',
            orgUnit: OU,
            value: '1',
            created: '2001-02-03T04:05:06.000',
          },
        ],
      });
      assert.equal(first.importCount.imported, 1, JSON.stringify(first.conflicts));
      const stamped = await createdOf('1451');
      assert.ok(stamped && Date.parse(stamped) >= before - 1000, `created ${stamped} is not the import time`);

      // An update (with another created in the file) keeps the stored created.
      const update = await importJson({
        dataValues: [
          {
            dataElement: DE_NUMBER,
            period: '1451',
            orgUnit: OU,
            value: '2',
            created: '1999-01-01T00:00:00.000',
          },
        ],
      });
      assert.equal(update.importCount.updated, 1);
      assert.equal(await createdOf('1451'), stamped);

      // The export gives it back as created, beside lastUpdated.
      const exported = await h.app.inject({
        method: 'GET',
        url: `/api/dataValueSets.json?dataElement=${DE_NUMBER}&period=1451&orgUnit=${OU}`,
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(exported.statusCode, 200, exported.body);
      const values = exported.json<{ dataValues: { created: string; lastUpdated: string }[] }>().dataValues;
      assert.equal(values.length, 1, exported.body);
      assert.equal(Date.parse(values[0].created), Date.parse(stamped));

      // keepCreated=true: Ferry's opt-in to the file's created, echoed in importOptions.
      const kept = await importJson(
        {
          dataValues: [
            {
              dataElement: DE_NUMBER,
              period: '1452',
              orgUnit: OU,
              value: '3',
              created: '2001-02-03T04:05:06.000',
            },
          ],
        },
        { keepCreated: 'true' },
      );
      assert.equal(kept.importCount.imported, 1, JSON.stringify(kept.conflicts));
      assert.equal(await createdOf('1452'), '2001-02-03T04:05:06.000');
    });

    it('TRUE_ONLY: accepts true (stored as "true"), refuses false', async () => {
      await valueTypeCase(DE_TRUE_ONLY, ['true', 'TRUE', '1'], ['false', '0', 'yes'], () => 'true');
    });

    it('EMAIL: accepts addresses, refuses text that is not one', async () => {
      await valueTypeCase(
        DE_EMAIL,
        ['someone@example.org', 'first.last+tag@health.gov.sl'],
        ['not-an-email', 'someone@', '@example.org', 'some one@example.org', 'a@b'],
      );
    });

    it('PHONE_NUMBER: accepts phone numbers, refuses letters and too-short numbers', async () => {
      await valueTypeCase(
        DE_PHONE,
        ['+232 76 123456', '(076) 123-456', '076123456 ext 12'],
        ['call me', '12345', '+232 76 12345A', '1'.repeat(51)],
      );
    });
  });
}
