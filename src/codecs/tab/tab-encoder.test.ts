import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeDelimited } from './tab-encoder.ts';

async function text(kind: 'tab' | 'csv', rows: (string | null)[][]): Promise<string> {
  let out = '';
  for await (const chunk of encodeDelimited(
    kind,
    ['a', 'b'],
    (async function* () {
      yield* rows;
    })(),
  ))
    out += chunk;
  return out;
}

test('a tab file turns tabs and line breaks inside a cell into spaces; null is empty', async () => {
  assert.equal(
    await text('tab', [
      ['x\ty', null],
      ['São\r\nTomé', 'ሰላም'],
    ]),
    'a\tb\nx y\t\nSão  Tomé\tሰላም\n',
  );
});

test('CSV quotes cells with a comma, quote or line break and keeps them whole', async () => {
  assert.equal(
    await text('csv', [
      ['1,5', 'say "hi"'],
      ['a\nb', null],
    ]),
    'a,b\n"1,5","say ""hi"""\n"a\nb",\n',
  );
});

test('a large table comes out in several chunks that join to the whole', async () => {
  const rows = Array.from({ length: 20_000 }, (_, i) => [String(i), 'x'.repeat(10)]);
  const chunks: string[] = [];
  for await (const chunk of encodeDelimited(
    'tab',
    ['a', 'b'],
    (async function* () {
      yield* rows;
    })(),
  ))
    chunks.push(chunk);
  assert.ok(chunks.length > 1);
  assert.equal(chunks.join('').split('\n').length, 20_002);
});

test('cells that a spreadsheet would run as formulas get a leading quote; real numbers stay', async () => {
  const probes = ['=1+1', '+1', '-x', '@SUM(A1)', '\tx', '\rx'];
  for (const kind of ['tab', 'csv'] as const) {
    const out = await text(kind, [...probes.map((p) => [p, '-5']), ['12', '-0.25']]);
    const cells = out
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(kind === 'tab' ? '\t' : ',')[0].replace(/^"|"$/g, ''));
    for (const cell of cells.slice(0, probes.length)) assert.ok(cell.startsWith("'"), `${kind}: ${cell}`);
    assert.equal(cells[probes.length], '12');
    assert.ok(out.includes('-5') && !out.includes("'-5") && out.includes('-0.25'));
  }
});
