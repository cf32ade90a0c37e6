import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { importMetadataObjects } from '../../src/services/metadata/metadata-import-service.ts';
import { allErrorReports } from '../../src/domain/metadata-import/import-report.ts';
import { readTrackerFileChunks } from '../../src/services/tracker/legacy-tracker-import-service.ts';
import { readTrackerChunks } from '../../src/services/tracker/tracker-import-reader.ts';
import { FerryError } from '../../src/errors.ts';

/**
 * The older tracker formats (`POST /api/events` JSON, XML, 2.40 CSV; `POST /api/trackedEntityInstances`)
 * are read as a stream, a chunk at a time, and imported chunk by chunk: the first chunk reaches the
 * importer after a small part of a large file has been read, and a file larger than one chunk
 * imports whole with one summary per event.
 */
const METADATA = {
  organisationUnits: [
    { id: 'strmOrgUn01', name: 'Stream clinic', shortName: 'Stream clinic', openingDate: '2000-01-01' },
  ],
  dataElements: [
    {
      id: 'strmDeNum01',
      name: 'Stream count',
      shortName: 'Stream count',
      valueType: 'INTEGER',
      aggregationType: 'NONE',
      domainType: 'TRACKER',
    },
  ],
  programs: [
    {
      id: 'strmProg001',
      name: 'Stream visits',
      shortName: 'Stream visits',
      programType: 'WITHOUT_REGISTRATION',
      organisationUnits: [{ id: 'strmOrgUn01' }],
    },
  ],
  programStages: [
    {
      id: 'strmStage01',
      name: 'Stream visit',
      program: { id: 'strmProg001' },
      programStageDataElements: [{ dataElement: { id: 'strmDeNum01' } }],
    },
  ],
};

/** A UID for event number `i`: a letter, then ten characters from the number. */
const uidOf = (i: number) => `s${i.toString(36).padStart(10, '0')}`;

type Format = 'json' | 'xml' | 'csv';

/** Writes `count` 2.40 events in `format` to `path` piece by piece (the test never holds the file). */
async function writeEvents(path: string, format: Format, count: number, csvHeader = ''): Promise<void> {
  const file = await open(path, 'w');
  const event = (i: number) => ({
    event: uidOf(i),
    program: 'strmProg001',
    programStage: 'strmStage01',
    orgUnit: 'strmOrgUn01',
    eventDate: `2024-0${(i % 9) + 1}-1${i % 10}`,
    status: 'COMPLETED',
  });
  const head = { json: '{"events":[', xml: '<?xml version="1.0"?><events>', csv: csvHeader }[format];
  await file.write(head);
  let piece = '';
  for (let i = 0; i < count; i++) {
    const e = event(i);
    if (format === 'json')
      piece += `${i ? ',' : ''}${JSON.stringify({ ...e, dataValues: [{ dataElement: 'strmDeNum01', value: String(i) }] })}`;
    else if (format === 'xml')
      piece +=
        `<event event="${e.event}" program="${e.program}" programStage="${e.programStage}" orgUnit="${e.orgUnit}"` +
        ` eventDate="${e.eventDate}" status="${e.status}"><dataValues><dataValue dataElement="strmDeNum01" value="${i}"/></dataValues></event>`;
    else
      piece += `${e.event},${e.status},${e.program},${e.programStage},,${e.orgUnit},${e.eventDate},,,,strmDeNum01,${i},,false,,,\n`;
    if (piece.length > 1 << 20) {
      await file.write(piece);
      piece = '';
    }
  }
  await file.write(piece + { json: ']}', xml: '</events>', csv: '' }[format]);
  await file.close();
}

describe('older tracker formats are read incrementally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-legacy-stream-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const format of ['json', 'xml', 'csv'] as const) {
    it(`${format}: the first chunk comes after a small part of a large file is read, and every event comes`, async () => {
      const path = join(dir, `events.${format}`);
      const count = 120_000;
      await writeEvents(path, format, count);
      const size = statSync(path).size;
      let bytesRead = 0;
      let atFirstChunk: number | undefined;
      let events = 0;
      let chunks = 0;
      let largestChunk = 0;
      for await (const chunk of readTrackerFileChunks({ path, fileName: `events.${format}` }, 'events', {
        chunkObjects: 2_000,
        onBytesRead: (read) => (bytesRead = read),
      })) {
        atFirstChunk ??= bytesRead;
        chunks++;
        events += chunk.bundle.events.length;
        largestChunk = Math.max(largestChunk, chunk.bundle.events.length);
        assert.equal(chunk.groups.length, chunk.bundle.events.length);
      }
      assert.equal(events, count);
      assert.equal(chunks, count / 2_000);
      assert.equal(largestChunk, 2_000);
      assert.ok(atFirstChunk! < size / 10, `first chunk after ${atFirstChunk} of ${size} bytes`);
    });
  }
});

describe('POST /api/tracker reads event CSV incrementally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-tracker-csv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('yields its chunks as it reads: a bad last line is found after 59 chunks went to the importer', async () => {
    const path = join(dir, 'events.csv');
    // 2.40's columns, named by a header: read by name on POST /api/tracker too.
    const header =
      'event,status,program,programStage,enrollment,orgUnit,eventDate,dueDate,latitude,longitude,' +
      'dataElement,value,storedBy,providedElsewhere,completedDate,completedBy,geometry\n';
    await writeEvents(path, 'csv', 60_000, header);
    const file = await open(path, 'a');
    await file.write('sBroken0001,ACTIVE\n');
    await file.close();
    let chunks = 0;
    let events = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of readTrackerChunks(
          { path, fileName: 'events.csv', contentType: 'text/csv' },
          undefined,
          1_000,
        )) {
          chunks++;
          events += chunk.events.length;
          assert.equal(chunk.events[0].line, events - chunk.events.length + 2, 'each event knows its line');
        }
      })(),
      (error: unknown) => error instanceof FerryError && /events\.csv \(line 60002\)/.test(error.message),
    );
    assert.ok(chunks >= 59, `${chunks} chunks before the error`);
    assert.equal(events, chunks * 1_000);
  });
});

for (const kind of TEST_DATABASE_KINDS) {
  describe(`POST /api/events with a file of several chunks on ${kind}`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    const dir = mkdtempSync(join(tmpdir(), 'ferry-legacy-import-'));
    before(async () => {
      started = await startTestApp(kind, {
        seed: async (context) => {
          const report = await importMetadataObjects(context, METADATA);
          assert.equal(report.status, 'OK', JSON.stringify(allErrorReports(report)));
        },
      });
    });
    after(async () => {
      await stopTestApp(started);
      rmSync(dir, { recursive: true, force: true });
    });

    it('imports a 2.40 CSV of 25,000 events (several chunks) with one summary per event', async () => {
      const path = join(dir, 'events.csv');
      await writeEvents(path, 'csv', 25_000);
      const res = await started!.app.inject({
        method: 'POST',
        url: '/api/events',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/csv' },
        payload: createReadStream(path),
      });
      assert.equal(res.statusCode, 200, res.body.slice(0, 2000));
      const body = res.json();
      assert.equal(body.response.imported, 25_000, JSON.stringify(body).slice(0, 2000));
      assert.equal(body.response.importSummaries.length, 25_000);
      assert.equal(body.response.importSummaries[24_999].reference, uidOf(24_999));
      const again = await started!.app.inject({
        method: 'POST',
        url: '/api/events',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/csv' },
        payload: createReadStream(path),
      });
      assert.equal(again.json().response.updated, 25_000, 'the summaries say updated for stored events');
    });
  });
}
