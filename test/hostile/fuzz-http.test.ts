import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';

// Property-based fuzzing of every decoder behind the import endpoints and of the `fields=` and
// `filter=` languages, through the real HTTP app on a real database. The property: whatever the
// bytes, the server answers with a status below 500, in bounded time, and stays up. Inputs are
// random bytes, random JSON, and valid samples of each format with random edits, which reach far
// deeper into a decoder than noise does. The budget is fixed (runs per case and a seed from the
// environment, FERRY_FUZZ_SEED, printed so a failure can be replayed).

const RUNS = Number(process.env.FERRY_FUZZ_RUNS ?? 60);
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** A request slower than this is a hang for this test's small inputs. */
const SLOW_MS = 5_000;

const TRACKER_NESTED = readFileSync(
  join(import.meta.dirname, '../fixtures/dhis2/tracker/import_nested_payload.json'),
  'utf8',
);

const SAMPLES: Record<string, string> = {
  json: JSON.stringify({
    dataSet: 'pBOMPrpg1QX',
    period: '202401',
    orgUnit: 'DiszpKrYNg8',
    dataValues: [{ dataElement: 'f7n9E0hX8qk', categoryOptionCombo: 'HllvX50cXC0', value: '12' }],
  }),
  csv: 'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value\nf7n9E0hX8qk,202401,DiszpKrYNg8,HllvX50cXC0,HllvX50cXC0,12\n',
  xml: '<?xml version="1.0"?><dataValueSet xmlns="http://dhis2.org/schema/dxf/2.0" period="202401" orgUnit="DiszpKrYNg8"><dataValue dataElement="f7n9E0hX8qk" value="12"/></dataValueSet>',
  adx: '<?xml version="1.0"?><adx xmlns="urn:ihe:qrph:adx:2015"><group orgUnit="DiszpKrYNg8" period="2024-01-01/P1M" dataSet="pBOMPrpg1QX"><dataValue dataElement="f7n9E0hX8qk" value="12"/></group></adx>',
  metadataJson: JSON.stringify({
    dataElements: [
      {
        id: 'f7n9E0hX8qk',
        name: 'A',
        shortName: 'A',
        valueType: 'NUMBER',
        domainType: 'AGGREGATE',
        aggregationType: 'SUM',
      },
    ],
  }),
  metadataXml:
    '<?xml version="1.0"?><metadata xmlns="http://dhis2.org/schema/dxf/2.0"><dataElements><dataElement id="f7n9E0hX8qk" name="A" shortName="A"/></dataElements></metadata>',
  metadataCsv:
    'name,uid,code,shortName,description,formName,domainType,valueType,aggregationType\nA,f7n9E0hX8qk,A,A,,,AGGREGATE,NUMBER,SUM\n',
  gml: '<?xml version="1.0"?><wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs" xmlns:gml="http://www.opengis.net/gml"><gml:featureMember><ou><Name>A</Name><Code>A</Code><gml:Point><gml:coordinates>1,2</gml:coordinates></gml:Point></ou></gml:featureMember></wfs:FeatureCollection>',
  geoJson: JSON.stringify({
    type: 'FeatureCollection',
    features: [{ type: 'Feature', id: 'DiszpKrYNg8', geometry: { type: 'Point', coordinates: [1, 2] } }],
  }),
};

interface FuzzTarget {
  name: string;
  url: string;
  contentType: string;
  sample: string;
}

const TARGETS: FuzzTarget[] = [
  {
    name: 'data values JSON',
    url: '/api/dataValueSets?dryRun=true',
    contentType: 'application/json',
    sample: SAMPLES.json,
  },
  {
    name: 'data values CSV',
    url: '/api/dataValueSets?dryRun=true',
    contentType: 'application/csv',
    sample: SAMPLES.csv,
  },
  {
    name: 'data values XML',
    url: '/api/dataValueSets?dryRun=true',
    contentType: 'application/xml',
    sample: SAMPLES.xml,
  },
  {
    name: 'data values ADX',
    url: '/api/dataValueSets?dryRun=true',
    contentType: 'application/adx+xml',
    sample: SAMPLES.adx,
  },
  {
    name: 'data values PDF',
    url: '/api/dataValueSets?dryRun=true',
    contentType: 'application/pdf',
    sample: '%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF',
  },
  {
    name: 'metadata JSON',
    url: '/api/metadata?importMode=VALIDATE',
    contentType: 'application/json',
    sample: SAMPLES.metadataJson,
  },
  {
    name: 'metadata XML',
    url: '/api/metadata?importMode=VALIDATE',
    contentType: 'application/xml',
    sample: SAMPLES.metadataXml,
  },
  {
    name: 'metadata CSV',
    url: '/api/metadata?importMode=VALIDATE&classKey=DATA_ELEMENT',
    contentType: 'application/csv',
    sample: SAMPLES.metadataCsv,
  },
  { name: 'GML', url: '/api/metadata/gml?dryRun=true', contentType: 'application/xml', sample: SAMPLES.gml },
  {
    name: 'tracker (nested JSON)',
    url: '/api/tracker?async=false&importMode=VALIDATE',
    contentType: 'application/json',
    sample: TRACKER_NESTED,
  },
  {
    name: 'legacy events',
    url: '/api/events?dryRun=true',
    contentType: 'application/json',
    sample: JSON.stringify({
      events: [{ event: 'ZwwuwNp6gVd', program: 'x', orgUnit: 'y', eventDate: '2024-01-01', dataValues: [] }],
    }),
  },
  {
    name: 'GeoJSON',
    url: '/api/organisationUnits/geometry?dryRun=true',
    contentType: 'application/geo+json',
    sample: SAMPLES.geoJson,
  },
];

/** A sample with a few random edits: characters inserted, deleted or replaced. */
function mutated(sample: string): fc.Arbitrary<string> {
  const edit = fc.record({
    at: fc.nat({ max: sample.length }),
    remove: fc.nat({ max: 8 }),
    insert: fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(
        '"',
        '<',
        '>',
        '{',
        '}',
        '[',
        ']',
        ',',
        '\n',
        '\u0000',
        '\uFEFF',
        '&',
        '\\',
        '__proto__',
      ),
    ),
  });
  return fc
    .array(edit, { minLength: 1, maxLength: 6 })
    .map((edits) =>
      edits.reduce((text, e) => text.slice(0, e.at) + e.insert + text.slice(e.at + e.remove), sample),
    );
}

function bodies(sample: string): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 5, arbitrary: mutated(sample).map((text) => Buffer.from(text)) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 6 }).map((text) => Buffer.from(text)) },
  );
}

describe('fuzzing the import endpoints and the query languages (SQLite)', () => {
  let started: TestApp | undefined;
  const figures = { requests: 0, serverErrors: 0, slowest: 0 };

  before(async () => {
    started = await startTestApp('sqlite');
  });
  after(async () => {
    await stopTestApp(started);
  });

  async function send(options: InjectOptions) {
    const begin = performance.now();
    const response = await started!.app.inject(options);
    const took = performance.now() - begin;
    figures.requests++;
    figures.slowest = Math.max(figures.slowest, took);
    if (response.statusCode >= 500) figures.serverErrors++;
    return { response, took };
  }

  for (const target of TARGETS) {
    it(`${target.name}: any body gets an answer below 500, quickly`, async () => {
      await fc.assert(
        fc.asyncProperty(bodies(target.sample), async (body) => {
          const { response, took } = await send({
            method: 'POST' as const,
            url: target.url,
            headers: { authorization: ADMIN_AUTH, 'content-type': target.contentType },
            payload: body,
          });
          assert.ok(response.statusCode < 500, `${response.statusCode}: ${response.body.slice(0, 300)}`);
          assert.ok(took < SLOW_MS, `took ${Math.round(took)} ms`);
        }),
        { numRuns: RUNS, seed: SEED },
      );
    });
  }

  const fieldWords = fc.constantFrom(
    'id',
    'name',
    'displayName',
    '*',
    ':all',
    ':owner',
    ':identifiable',
    'children',
    'parent',
    'dataSetElements',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'prototype',
    '~rename',
    '::size',
    '!id',
    '%00',
    "'",
  );
  const fieldsExpression = fc
    .array(fc.oneof(fieldWords, fc.string({ maxLength: 6 })), { maxLength: 8 })
    .chain((words) =>
      fc
        .array(fc.constantFrom(',', '[', ']', ':', '~', '!', ''), {
          minLength: words.length,
          maxLength: words.length,
        })
        .map((seps) => words.map((w, i) => w + seps[i]).join('')),
    );
  const filterExpression = fc
    .tuple(
      fc.oneof(fieldWords, fc.string({ maxLength: 8 })),
      fc.constantFrom('eq', 'ne', 'like', 'ilike', 'in', '!in', 'gt', 'null', 'token', 'x', ''),
      fc.oneof(
        fc.string({ maxLength: 12 }),
        fc.constantFrom("' OR 1=1--", '1);DROP TABLE x', '$1', '%', '_', '[a,b]'),
      ),
    )
    .map(([property, operator, value]) => `${property}:${operator}:${value}`);

  it('fields= and filter= on metadata lists: any expression gets an answer below 500', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('dataElements', 'organisationUnits', 'dataSets', 'categoryOptionCombos', 'users'),
        fieldsExpression,
        fc.array(filterExpression, { maxLength: 3 }),
        async (collection, fields, filters) => {
          const query = new URLSearchParams({ fields });
          for (const filter of filters) query.append('filter', filter);
          const { response } = await send({
            method: 'GET' as const,
            url: `/api/${collection}?${query}`,
            headers: { authorization: ADMIN_AUTH },
          });
          assert.ok(
            response.statusCode < 500,
            `${response.statusCode} for ${query}: ${response.body.slice(0, 300)}`,
          );
        },
      ),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });

  it('prints the figures', (t) => {
    t.diagnostic(
      `fuzz: ${figures.requests} requests (seed ${SEED}), ${figures.serverErrors} answers of 500 or more, ` +
        `slowest ${Math.round(figures.slowest)} ms`,
    );
    assert.equal(figures.serverErrors, 0);
  });
});
