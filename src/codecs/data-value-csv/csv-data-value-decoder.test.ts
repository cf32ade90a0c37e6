import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DataValueItem } from '../../domain/data-values/data-value-input.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { decodeDataValueCsv, repeatedColumn } from './csv-data-value-decoder.ts';

async function decode(csv: string, firstRowIsHeader = true): Promise<DataValueItem[]> {
  async function* chunks(): AsyncIterable<Uint8Array> {
    yield new TextEncoder().encode(csv);
  }
  const items: DataValueItem[] = [];
  for await (const chunk of decodeDataValueCsv(
    { path: 'values.csv', fileName: 'values.csv', chunks: chunks() },
    { firstRowIsHeader, limits: { ...INPUT_LIMITS } },
  )) {
    items.push(...chunk);
  }
  return items;
}

/** Each item as `value <index> <value>` or `issue <index> <message>`. */
function outline(items: DataValueItem[]): string[] {
  return items.map((item) =>
    item.kind === 'value'
      ? `value ${item.position.index} ${item.value.value}`
      : item.kind === 'issue'
        ? `issue ${item.position?.index ?? '-'} ${item.fatal ? 'fatal ' : ''}${item.message}`
        : 'header',
  );
}

describe('decodeDataValueCsv: rows that do not fit the columns', () => {
  it('reads rows as wide as the header, and trailing empty fields; refuses short rows and extra content', async () => {
    const items = await decode(
      'dataelement,period,orgunit,value\nde1,202401,ou1,1\nde2,202401,ou1\nde3,202401,ou1,3,x\nde4,202401,ou1,4,,\n',
    );
    assert.deepEqual(outline(items), [
      'value 0 1',
      'issue 1 line 3: 3 fields where the header has 4; the row is not read',
      'issue 2 line 4: 5 fields where the header has 4; field 5 (`x`) has no column, the row is not read',
      'value 3 4',
    ]);
  });

  it('without a header, needs the value column (6 fields) and allows up to DHIS2s 11', async () => {
    const items = await decode(
      'de1,202401,ou1,coc,aoc,1\nde2,202401,ou1,coc,aoc\nde3,202401,ou1,coc,aoc,3,admin,2024-01-01,note,false,false\nde4,202401,ou1,coc,aoc,4,a,b,c,d,e,f\n',
      false,
    );
    assert.deepEqual(outline(items), [
      'value 0 1',
      "issue 1 line 2: 5 fields where DHIS2's column order (no header) takes 6; the row is not read",
      'value 2 3',
      "issue 3 line 4: 12 fields where DHIS2's column order (no header) takes 11; field 12 (`f`) has no column, the row is not read",
    ]);
  });

  it('ends the file at a header naming a column twice, with the column as the issue property', async () => {
    const items = await decode('dataelement,period,orgunit,value,Value\nde1,202401,ou1,1,2\n');
    assert.deepEqual(outline(items), [
      'issue - fatal line 1: the header names value twice (columns 4 and 5); which one holds the data is unknown, so no row is read',
    ]);
    assert.equal(items[0].kind === 'issue' && items[0].property, 'value');
    assert.deepEqual(repeatedColumn(['DE', 'pe', 'dataElement']), {
      property: 'dataElement',
      first: 1,
      second: 3,
    });
    assert.equal(repeatedColumn(['dataelement', 'period', 'orgunit', 'notes', 'notes']), undefined);
  });
});
