import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';
import { CSV_EXPORT_HEADER, encodeDataValuesCsv } from './csv-data-value-encoder.ts';

/** A CSV export row (`CSV_EXPORT_FIELDS`) with the given value, storedBy and comment. */
function row(value: string, storedBy = 'admin', comment = ''): string[] {
  return ['de', '202401', 'ou', 'coc', 'aoc', value, storedBy, '2024-01-01', comment, 'false', 'false'];
}

/** One chunk that offers `joined` the way SQLite's rows do, recording whether it was used. */
function chunk(rows: string[][], used: { joined: boolean }): ExportRowChunk {
  return {
    count: rows.length,
    rows: () => rows.map((r) => [...r]),
    joined: (field, line, unsafe) => {
      if (rows.some((r) => r.some((f) => unsafe.test(f)))) return undefined;
      used.joined = true;
      return rows.map((r) => r.join(field) + line).join('');
    },
  };
}

async function encode(rows: string[][], escapeFormulas: boolean): Promise<{ text: string; joined: boolean }> {
  const used = { joined: false };
  async function* chunks(): AsyncIterable<ExportRowChunk> {
    yield chunk(rows, used);
  }
  let text = '';
  for await (const piece of encodeDataValuesCsv(chunks(), undefined, { escapeFormulas })) text += piece;
  return { text, joined: used.joined };
}

describe('encodeDataValuesCsv with escapeFormulas', () => {
  it('keeps the joined fast path for rows with nothing to escape, negative numbers included', async () => {
    const rows = [row('-5'), row('12', 'clerk', 'no formula here'), row('-0.25')];
    const escaped = await encode(rows, true);
    assert.equal(escaped.joined, true);
    assert.equal(escaped.text, (await encode(rows, false)).text);
  });

  it('writes formula-like fields with a leading quote, and the same rows exactly without the option', async () => {
    const rows = [row('=1+1', '@admin', '-x'), row('-5', 'admin', '\r=1+1'), row('+1', 'admin', 'a,b')];
    const escaped = await encode(rows, true);
    assert.equal(escaped.joined, false);
    assert.equal(
      escaped.text,
      [
        CSV_EXPORT_HEADER,
        "de,202401,ou,coc,aoc,'=1+1,'@admin,2024-01-01,'-x,false,false",
        `de,202401,ou,coc,aoc,-5,admin,2024-01-01,"'\r=1+1",false,false`,
        `de,202401,ou,coc,aoc,'+1,admin,2024-01-01,"a,b",false,false`,
        '',
      ].join('\n'),
    );
    const exact = await encode(rows, false);
    assert.equal(
      exact.text,
      [
        CSV_EXPORT_HEADER,
        'de,202401,ou,coc,aoc,=1+1,@admin,2024-01-01,-x,false,false',
        `de,202401,ou,coc,aoc,-5,admin,2024-01-01,"\r=1+1",false,false`,
        'de,202401,ou,coc,aoc,+1,admin,2024-01-01,"a,b",false,false',
        '',
      ].join('\n'),
    );
  });
});
