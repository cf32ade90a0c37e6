import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { ADMIN_AUTH as ADMIN } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { expectedExportCsv } from '../support/export-csv-oracle.ts';
import { waitForJob } from '../support/wait-for-job.ts';
import { runFerry } from '../support/ferry-cli.ts';
import { readCsvRecords } from '../../src/codecs/csv/csv-reader.ts';
import {
  EVENT_CSV_COLUMNS,
  eventCsvLines,
  type TrackerEvent,
} from '../../src/services/tracker/tracker-export-service.ts';

/**
 * CSV formula injection: text that a spreadsheet runs as a formula, in data values, comments,
 * storedBy and metadata names. The exchange files stay byte-exact unless `escapeFormulas=true`
 * asks for a file meant for a spreadsheet; then each probe gets OWASP's leading `'` and a real
 * negative number does not.
 */
const PROBES = ['=1+1', '+1', '-x', '@SUM(A1)', '\t=1+1', '\r=1+1'] as const;
/** What each probe must become with escapeFormulas=true, written out rather than computed. */
const NEUTRALISED: Readonly<Record<(typeof PROBES)[number], string>> = {
  '=1+1': "'=1+1",
  '+1': "'+1",
  '-x': "'-x",
  '@SUM(A1)': "'@SUM(A1)",
  '\t=1+1': "'\t=1+1",
  '\r=1+1': "'\r=1+1",
};

const BO = 'O6uvpzGd5pu';
const DEFAULT_COC = 'HllvX50cXC0';
const TEXT_DE = 'fxTextDe001';
const NUMBER_DE = 'fxNumberDe1';
const DATA_SET = 'fxProbeSet1';
/** Data elements whose names are the probes, one each. */
const NAMED_DES = PROBES.map((_, i) => `fxNamedDe0${i + 1}`);

const PROBE_METADATA = {
  dataElements: [
    { id: TEXT_DE, name: 'Formula probe text', shortName: 'Formula probe text', valueType: 'TEXT' },
    { id: NUMBER_DE, name: 'Formula probe number', shortName: 'Formula probe number', valueType: 'NUMBER' },
    ...PROBES.map((probe, i) => ({
      id: NAMED_DES[i],
      name: probe,
      shortName: `Formula probe name ${i + 1}`,
      code: `FX_NAMED_${i + 1}`,
      valueType: 'NUMBER',
    })),
  ].map((de) => ({
    ...de,
    domainType: 'AGGREGATE',
    aggregationType: 'SUM',
    categoryCombo: { id: 'bjDvmb4bfuf' },
  })),
  dataSets: [
    {
      id: DATA_SET,
      name: 'Formula probes',
      shortName: 'Formula probes',
      periodType: 'Monthly',
      categoryCombo: { id: 'bjDvmb4bfuf' },
      dataSetElements: [TEXT_DE, NUMBER_DE].map((id) => ({ dataElement: { id }, dataSet: { id: DATA_SET } })),
      organisationUnits: [{ id: BO }],
    },
  ],
};

/** One text value per probe (value, comment and storedBy all the probe) and the number -5. */
const PROBE_VALUES = [
  ...PROBES.map((probe, i) => ({
    dataElement: TEXT_DE,
    period: `20240${i + 1}`,
    orgUnit: BO,
    categoryOptionCombo: DEFAULT_COC,
    attributeOptionCombo: DEFAULT_COC,
    value: probe,
    comment: probe,
    storedBy: probe,
  })),
  {
    dataElement: NUMBER_DE,
    period: '202401',
    orgUnit: BO,
    categoryOptionCombo: DEFAULT_COC,
    attributeOptionCombo: DEFAULT_COC,
    value: '-5',
    comment: 'a real negative number',
    storedBy: 'admin',
  },
];

const EXPORT_QUERY = `dataSet=${DATA_SET}&orgUnit=${BO}&startDate=2024-01-01&endDate=2024-12-31`;
/** Only the probe data elements' values, for the oracle. */
const PROBE_ROWS = `dv.data_element_id IN (SELECT sid FROM metadata_object WHERE uid IN ('${TEXT_DE}', '${NUMBER_DE}'))`;

async function* once(text: string): AsyncIterable<string> {
  yield text;
}

async function records(csv: string): Promise<string[][]> {
  const out: string[][] = [];
  for await (const record of readCsvRecords(once(csv), 'export.csv')) out.push(record.fields);
  return out;
}

/** Data value CSV rows by period and data element: [value, storedby, comment]. */
async function valueFields(csv: string): Promise<Map<string, [string, string, string]>> {
  const [header, ...rows] = await records(csv);
  assert.deepEqual(header.slice(5, 9), ['value', 'storedby', 'lastupdated', 'comment']);
  return new Map(rows.map((r) => [`${r[0]}/${r[1]}`, [r[5], r[6], r[8]]]));
}

async function seed(app: TestApp): Promise<void> {
  const reply = await app.app.inject({
    method: 'POST',
    url: '/api/dataValueSets',
    headers: { authorization: ADMIN, 'content-type': 'application/json' },
    payload: { dataValues: PROBE_VALUES },
  });
  assert.equal(reply.statusCode, 200, reply.body);
  assert.equal(
    reply.json<{ response: { importCount: { imported: number } } }>().response.importCount.imported,
    7,
  );
}

describe('event CSV (tracker)', () => {
  /** One event per probe, its data value the probe; and one whose value is -5. */
  const events: TrackerEvent[] = [...PROBES, '-5'].map((value, i) => ({
    event: `fxEvent0000${i}`,
    status: 'ACTIVE',
    orgUnit: BO,
    completedBy: value,
    dataValues: [{ dataElement: TEXT_DE, value, storedBy: value, providedElsewhere: false }],
  }));
  const columns = (name: (typeof EVENT_CSV_COLUMNS)[number]) => EVENT_CSV_COLUMNS.indexOf(name);
  const read = async (lines: string) => {
    const rows = await records(`${EVENT_CSV_COLUMNS.join(',')}\n${lines}`);
    return rows
      .slice(1)
      .map((r) => [r[columns('completedBy')], r[columns('value')], r[columns('storedByDataValue')]]);
  };

  it('writes the probes exactly by default and neutralised with escapeFormulas, -5 left alone', async () => {
    const exact = await read(eventCsvLines(events));
    const safe = await read(eventCsvLines(events, { escapeFormulas: true }));
    PROBES.forEach((probe, i) => {
      assert.deepEqual(exact[i], [probe, probe, probe], JSON.stringify(probe));
      const quoted = NEUTRALISED[probe];
      assert.deepEqual(safe[i], [quoted, quoted, quoted], JSON.stringify(probe));
    });
    assert.deepEqual(exact[PROBES.length], ['-5', '-5', '-5']);
    assert.deepEqual(safe[PROBES.length], ['-5', '-5', '-5']);
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`CSV formula injection on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let main: TestApp | undefined;
    let twin: TestApp | undefined;

    before(async () => {
      const withProbes = {
        seed: (_: unknown, db: TestApp['db']) => loadAggregateE2eMetadata(db.storage, [PROBE_METADATA]),
      };
      main = await startTestApp(kind, withProbes);
      twin = await startTestApp(kind, withProbes);
      await seed(main);
    });
    after(async () => {
      await stopTestApp(main);
      await stopTestApp(twin);
    });

    it('exports data values byte-exact by default, and the file re-imports unchanged', async () => {
      const { app, db } = main!;
      const reply = await app.inject({
        url: `/api/dataValueSets.csv?${EXPORT_QUERY}`,
        headers: { authorization: ADMIN },
      });
      assert.equal(reply.statusCode, 200, reply.body);
      assert.equal(reply.body, await expectedExportCsv(db.storage, { where: PROBE_ROWS }));
      const fields = await valueFields(reply.body);
      PROBES.forEach((probe, i) => {
        assert.deepEqual(
          fields.get(`${TEXT_DE}/20240${i + 1}`),
          [probe, probe, probe],
          JSON.stringify(probe),
        );
      });
      assert.deepEqual(fields.get(`${NUMBER_DE}/202401`), ['-5', 'admin', 'a real negative number']);
      const explicitFalse = await app.inject({
        url: `/api/dataValueSets.csv?${EXPORT_QUERY}&escapeFormulas=false`,
        headers: { authorization: ADMIN },
      });
      assert.equal(explicitFalse.body, reply.body);

      // Carried to another site: the same values, comments and storedBy arrive.
      const imported = await twin!.app.inject({
        method: 'POST',
        url: '/api/dataValueSets',
        headers: { authorization: ADMIN, 'content-type': 'application/csv' },
        payload: reply.body,
      });
      assert.equal(imported.statusCode, 200, imported.body);
      assert.equal(
        imported.json<{ response: { importCount: { imported: number } } }>().response.importCount.imported,
        7,
      );
      const again = await twin!.app.inject({
        url: `/api/dataValueSets.csv?${EXPORT_QUERY}`,
        headers: { authorization: ADMIN },
      });
      assert.deepEqual(await valueFields(again.body), fields);
    });

    it('neutralises each probe with escapeFormulas=true and leaves -5 alone (GET and the export queue)', async () => {
      const { app, context } = main!;
      const check = async (csv: string): Promise<void> => {
        const fields = await valueFields(csv);
        PROBES.forEach((probe, i) => {
          const safe = NEUTRALISED[probe];
          assert.deepEqual(fields.get(`${TEXT_DE}/20240${i + 1}`), [safe, safe, safe], JSON.stringify(probe));
        });
        assert.deepEqual(fields.get(`${NUMBER_DE}/202401`), ['-5', 'admin', 'a real negative number']);
        // No line of the file starts a formula: the probes were the only cells that did.
        for (const record of await records(csv)) {
          for (const field of record)
            assert.doesNotMatch(field, /^(?!-5$)[=+\-@\t\r]/, JSON.stringify(field));
        }
      };
      const reply = await app.inject({
        url: `/api/dataValueSets.csv?${EXPORT_QUERY}&escapeFormulas=true`,
        headers: { authorization: ADMIN },
      });
      assert.equal(reply.statusCode, 200, reply.body);
      await check(reply.body);

      const bad = await app.inject({
        url: `/api/dataValueSets.csv?${EXPORT_QUERY}&escapeFormulas=maybe`,
        headers: { authorization: ADMIN },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      assert.match(bad.body, /escapeFormulas/);

      const queued = await app.inject({
        method: 'POST',
        url: '/api/exports',
        headers: { authorization: ADMIN },
        payload: {
          kind: 'dataValues',
          format: 'csv',
          compression: 'none',
          params: {
            dataSet: DATA_SET,
            orgUnit: BO,
            startDate: '2024-01-01',
            endDate: '2024-12-31',
            escapeFormulas: 'true',
          },
        },
      });
      assert.equal(queued.statusCode, 201, queued.body);
      const card = queued.json<{ id: string; description: string }>();
      assert.match(card.description, /formulas escaped for a spreadsheet \(CSV\)$/);
      const id = card.id;
      await context.jobs.start();
      assert.equal((await waitForJob(context, id)).status, 'COMPLETED');
      const file = await app.inject({ url: `/api/exports/${id}/file`, headers: { authorization: ADMIN } });
      assert.equal(file.statusCode, 200, file.body);
      assert.equal(file.body, reply.body);
    });

    it('ferry export data --escape-formulas neutralises; without it the file is exact', async () => {
      const { db } = main!;
      const target = db.kind === 'sqlite' ? ['--data-dir', db.dataDir] : ['--database-url', db.databaseUrl!];
      const base = [
        'export',
        'data',
        '--data-set',
        DATA_SET,
        '--org-unit',
        BO,
        '--start',
        '2024-01-01',
        '--end',
        '2024-12-31',
      ];
      const exact = join(db.dataDir, 'exact.csv');
      const safe = join(db.dataDir, 'safe.csv');
      const plain = await runFerry([...base, '-o', exact, ...target]);
      assert.equal(plain.code, 0, plain.stderr);
      const escaped = await runFerry([...base, '--escape-formulas', '-o', safe, ...target]);
      assert.equal(escaped.code, 0, escaped.stderr);
      assert.equal(readFileSync(exact, 'utf8'), await expectedExportCsv(db.storage, { where: PROBE_ROWS }));
      const fields = await valueFields(readFileSync(safe, 'utf8'));
      assert.deepEqual(fields.get(`${TEXT_DE}/202401`), ["'=1+1", "'=1+1", "'=1+1"]);
      assert.deepEqual(fields.get(`${TEXT_DE}/202406`), ["'\r=1+1", "'\r=1+1", "'\r=1+1"]);
      assert.deepEqual(fields.get(`${NUMBER_DE}/202401`), ['-5', 'admin', 'a real negative number']);
    });

    it('exports metadata CSV names exactly by default and neutralised with escapeFormulas=true', async () => {
      const { app } = main!;
      const names = async (query: string): Promise<Map<string, string>> => {
        const reply = await app.inject({
          url: `/api/metadata.csv?dataElements=true${query}`,
          headers: { authorization: ADMIN },
        });
        assert.equal(reply.statusCode, 200, reply.body);
        const [header, ...rows] = await records(reply.body);
        assert.deepEqual(header.slice(0, 2), ['name', 'uid']);
        return new Map(rows.map((r) => [r[1], r[0]]));
      };
      const exact = await names('');
      const safe = await names('&escapeFormulas=true');
      PROBES.forEach((probe, i) => {
        assert.equal(exact.get(NAMED_DES[i]), probe, JSON.stringify(probe));
        assert.equal(safe.get(NAMED_DES[i]), NEUTRALISED[probe], JSON.stringify(probe));
      });
      // Every other name is the same either way.
      assert.equal(exact.get(TEXT_DE), 'Formula probe text');
      assert.equal(safe.get(TEXT_DE), 'Formula probe text');
      const bad = await app.inject({
        url: '/api/metadata.csv?dataElements=true&escapeFormulas=yes',
        headers: { authorization: ADMIN },
      });
      assert.equal(bad.statusCode, 400, bad.body);
      const badEvents = await app.inject({
        url: `/api/tracker/events.csv?orgUnit=${BO}&escapeFormulas=yes`,
        headers: { authorization: ADMIN },
      });
      assert.equal(badEvents.statusCode, 400, badEvents.body);
      assert.match(badEvents.body, /escapeFormulas/);
    });

    it('a default metadata CSV re-imports with the formula-like names unchanged', async () => {
      // The metadata CSV reader trims every field (quoted or not), so names led by a tab or a
      // carriage return do not survive it; only the four other probes are carried here.
      const carried = NAMED_DES.filter((_, i) => !/^\s/.test(PROBES[i]));
      const exported = await main!.app.inject({
        url: `/api/metadata.csv?dataElements=true&filter=id:in:[${carried.join(',')}]`,
        headers: { authorization: ADMIN },
      });
      assert.equal(exported.statusCode, 200, exported.body);
      assert.equal((await records(exported.body)).length, 1 + carried.length);
      const renamed = await twin!.context.metadata.findBy('dataElements', 'uid', carried);
      assert.equal(renamed.length, carried.length);
      // The twin starts from other names, so the import has to write the probes.
      const rename = await twin!.app.inject({
        method: 'POST',
        url: '/api/metadata?importStrategy=UPDATE',
        headers: { authorization: ADMIN, 'content-type': 'application/json' },
        payload: {
          dataElements: renamed.map(({ object }, i) => ({ ...object, name: `Renamed ${i}` })),
        },
      });
      assert.equal(rename.statusCode, 200, rename.body);
      const reply = await twin!.app.inject({
        method: 'POST',
        url: '/api/metadata?classKey=DATA_ELEMENT&importStrategy=CREATE_AND_UPDATE',
        headers: { authorization: ADMIN, 'content-type': 'application/csv' },
        payload: exported.body,
      });
      assert.equal(reply.statusCode, 200, reply.body);
      for (const uid of carried) {
        const object = await twin!.app.inject({
          url: `/api/dataElements/${uid}`,
          headers: { authorization: ADMIN },
        });
        assert.equal(object.json<{ name: string }>().name, PROBES[NAMED_DES.indexOf(uid)]);
      }
    });
  });
}
