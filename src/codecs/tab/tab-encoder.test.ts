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
