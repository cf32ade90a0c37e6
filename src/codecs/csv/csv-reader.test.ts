import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CsvRecordReader, readCsvRecords, type CsvEntry } from './csv-reader.ts';

function read(chunks: string[], limits = { maxLineChars: 1000, maxFieldChars: 100 }): CsvEntry[] {
  const reader = new CsvRecordReader(limits);
  const out: CsvEntry[] = [];
  for (const chunk of chunks) reader.push(chunk, out);
  reader.end(out);
  return out;
}

describe('CsvRecordReader', () => {
  it('reads plain, quoted, multi-line and CRLF records split anywhere across chunks', () => {
    const text = 'a,b,c\r\n"x, y","say ""hi""",z\n"multi\nline",2,\nlast,row,"q"';
    const whole = read([text]);
    for (let cut = 1; cut < text.length; cut++) {
      assert.deepEqual(read([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
    }
    assert.deepEqual(whole, [
      { fields: ['a', 'b', 'c'], line: 1 },
      { fields: ['x, y', 'say "hi"', 'z'], line: 2 },
      { fields: ['multi\nline', '2', ''], line: 3 },
      { fields: ['last', 'row', 'q'], line: 5 },
    ]);
  });
  it('reports malformed records with line and field and goes on', () => {
    const out = read(['ok,1\n"a"x,2\nb"c,3\nfine,4\n']);
    assert.equal(out.length, 4);
    assert.deepEqual(out[1], {
      problem: "unexpected character 'x' after a closing quote",
      line: 2,
      column: 4,
      field: 1,
    });
    assert.equal((out[2] as { field: number }).field, 1);
    assert.deepEqual(out[3], { fields: ['fine', '4'], line: 4 });
  });
  it('enforces field and line limits; an unclosed quote at the end is fatal', () => {
    const out = read([`${'x'.repeat(200)},1\nshort,2\n"open,3\n`]);
    assert.match((out[0] as { problem: string }).problem, /field 1 is longer/);
    assert.deepEqual(out[1], { fields: ['short', '2'], line: 2 });
    assert.equal((out[2] as { fatal: boolean }).fatal, true);
  });
});

async function* chunked(text: string, size: number): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

async function records(text: string, size: number): Promise<string[][]> {
  const rows: string[][] = [];
  for await (const row of readCsvRecords(chunked(text, size), 't.csv')) rows.push(row.fields);
  return rows;
}

describe('readCsvRecords', () => {
  it('handles quotes, doubled quotes and line breaks across chunk boundaries', async () => {
    const text = 'a,"b ""q"", c","multi\nline"\r\n\r\nx,,z\n';
    for (const size of [1, 2, 3, 5, 100]) {
      assert.deepEqual(
        await records(text, size),
        [
          ['a', 'b "q", c', 'multi\nline'],
          ['x', '', 'z'],
        ],
        `chunk size ${size}`,
      );
    }
  });
  it('refuses the file at the first malformed record, naming line and column', async () => {
    await assert.rejects(records('ok,1\n"a"x,2\nlater,3\n', 4), {
      name: 'Error',
      message: "t.csv (line 2, column 4): field 1: unexpected character 'x' after a closing quote",
    });
    await assert.rejects(
      records('a,"open\n', 3),
      /t\.csv \(line 1, column 3\): field 2: a quoted field is not closed/,
    );
  });
});
