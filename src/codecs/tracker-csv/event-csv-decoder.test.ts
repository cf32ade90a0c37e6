import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readEventCsv, type CsvEvent } from './event-csv-decoder.ts';

async function* pieces(text: string, size = 5): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function read(text: string): Promise<CsvEvent[]> {
  const out: CsvEvent[] = [];
  for await (const batch of readEventCsv(pieces(text), 'events.csv')) out.push(...batch);
  return out;
}

const ROW_240 = (event: string, de: string, value: string) =>
  `${event},ACTIVE,Pr000000001,Ps000000001,,Ou000000001,2019-01-01,,1.5,2.5,${de},${value},admin,,,,`;

describe('event CSV decoder', () => {
  it("groups consecutive rows of one event; 2.40's columns by position without a header", async () => {
    const events = await read(
      [
        ROW_240('EvA00000001', 'De000000001', '1'),
        ROW_240('EvA00000001', 'De000000002', '2'),
        ROW_240('EvA00000002', '', ''),
      ].join('\r\n'),
    );
    assert.equal(events.length, 2);
    assert.deepEqual(events[0], {
      line: 1,
      value: {
        event: 'EvA00000001',
        status: 'ACTIVE',
        program: 'Pr000000001',
        programStage: 'Ps000000001',
        orgUnit: 'Ou000000001',
        occurredAt: '2019-01-01',
        coordinate: { latitude: '1.5', longitude: '2.5' },
        dataValues: [
          { dataElement: 'De000000001', value: '1' },
          { dataElement: 'De000000002', value: '2' },
        ],
      },
    });
    assert.deepEqual(events[1].value.dataValues, [], 'a row without a data element adds none');
    assert.equal(events[1].line, 3);
  });

  it('reads the current columns by header name, in any order, and groups rows without a UID by their columns', async () => {
    const events = await read(
      'dataElement,value,occurredAt,orgUnit,event,storedByDataValue\nDe000000001,5,2020-01-01,Ou000000001,,x\nDe000000002,6,2020-01-01,Ou000000001,,y\nDe000000001,7,2020-01-02,Ou000000001,,z\n',
    );
    assert.deepEqual(
      events.map((e) => [e.line, e.value.occurredAt, (e.value.dataValues as unknown[]).length]),
      [
        [2, '2020-01-01', 2],
        [4, '2020-01-02', 1],
      ],
    );
  });

  it('refuses unknown columns, short rows and values without a data element, naming the line', async () => {
    await assert.rejects(
      read('event,dataElement,colour\n'),
      /events\.csv \(line 1\): unknown column `colour` \(column 3\)/,
    );
    await assert.rejects(read('event,dataElement,constructor\n'), /unknown column `constructor`/);
    await assert.rejects(
      read(`${ROW_240('EvA00000001', 'De000000001', '1')}\nEvA00000002,ACTIVE\n`),
      /line 2\): 2 columns/,
    );
    await assert.rejects(
      read('event,dataElement,value\nEvA00000001,,5\n'),
      /line 2\): a value without a dataElement/,
    );
  });
});
