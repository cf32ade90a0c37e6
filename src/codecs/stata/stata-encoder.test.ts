import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeStata, type StataTable } from './stata-encoder.ts';

async function bytes(table: StataTable): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of encodeStata(table)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const LONG = 'ሰላም é'.repeat(600);
const table = (rows: unknown[][]): StataTable => ({
  label: 'Données de test',
  timestamp: new Date(Date.UTC(2026, 11, 7, 9, 5)),
  rowCount: rows.length,
  variables: [
    { name: 'nom', label: 'Nom de l’unité', storage: { type: 'str', width: 12 }, format: '%12s' },
    { name: 'doses', label: 'Doses', storage: { type: 'long' }, format: '%12.0g', valueLabels: 'doses' },
    { name: 'taux', label: 'Taxa', storage: { type: 'double' }, format: '%10.0g' },
    { name: 'dia', label: 'Dia', storage: { type: 'long' }, format: '%td' },
    { name: 'texte', label: 'Texte', storage: { type: 'strL' }, format: '%9s' },
  ],
  valueLabelSets: [
    {
      name: 'doses',
      entries: [
        { value: 1, label: 'Un' },
        { value: 'a', label: 'not a valid value' },
      ],
    },
  ],
  rows: async function* () {
    yield* rows as never[][];
  },
});

test('the map points at each section and the last entry is the file length', async () => {
  const file = await bytes(
    table([
      ['Zürich', 1, 2.5, 23000, LONG],
      ['Lisboa', 'a', null, null, ''],
    ]),
  );
  const mapAt = file.indexOf('<map>') + 5;
  const offsets = Array.from({ length: 14 }, (_, i) => Number(file.readBigUInt64LE(mapAt + 8 * i)));
  const tags = [
    '<stata_dta>',
    '<map>',
    '<variable_types>',
    '<varnames>',
    '<sortlist>',
    '<formats>',
    '<value_label_names>',
    '<variable_labels>',
    '<characteristics>',
    '<data>',
    '<strls>',
    '<value_labels>',
    '</stata_dta>',
  ];
  tags.forEach((tag, i) =>
    assert.equal(file.toString('latin1', offsets[i], offsets[i] + tag.length), tag, tag),
  );
  assert.equal(offsets[13], file.length);
  // N is a u64 after <N>; K a u16.
  assert.equal(Number(file.readBigUInt64LE(file.indexOf('<N>') + 3)), 2);
  assert.equal(file.readUInt16LE(file.indexOf('<K>') + 3), 5);
  // One GSO for the one non-empty strL, with (v, o) = (5, 1).
  const gso = file.indexOf('GSO');
  assert.equal(file.readUInt32LE(gso + 3), 5);
  assert.equal(Number(file.readBigUInt64LE(gso + 7)), 1);
  assert.equal(file.readUInt32LE(gso + 16), Buffer.byteLength(LONG) + 1);
  assert.equal(file.indexOf('GSO', gso + 3), -1);
  // `.a` in a long is 0x7FFFFFE6; system missing in a double is 0x7FE0000000000000.
  assert.ok(file.includes(Buffer.from([0xe6, 0xff, 0xff, 0x7f])));
});

test('announcing a different row count than the rows given fails', async () => {
  const bad = { ...table([['a', 1, 1, 1, '']]), rowCount: 2 };
  await assert.rejects(bytes(bad), /1 rows written, 2 announced/);
});

test('a str width over 2045 is refused before anything is written', async () => {
  const bad = table([]);
  const variables = [{ name: 'x', label: '', storage: { type: 'str', width: 2046 }, format: '%9s' }] as const;
  await assert.rejects(bytes({ ...bad, variables }), /outside 1\.\.2045/);
});

const readstat = spawnSync('readstat', ['--version']).error
  ? 'readstat is not installed (apt-get install readstat)'
  : false;

test('readstat reads the file with nothing on stderr and the values intact', { skip: readstat }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-dta-'));
  try {
    const path = join(dir, 't.dta');
    writeFileSync(path, await bytes(table([['São Tomé', 1, 2.5, 23000, LONG]])));
    const run = spawnSync('readstat', [path, '-'], { encoding: 'utf8' });
    assert.equal(run.stderr.replace(/^Converted .*\n?/m, ''), '');
    assert.match(run.stdout, /"São Tomé",1,2\.500000,2022-12-21,/);
    assert.ok(run.stdout.includes(LONG));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rows stream out in blocks of about 256 KB, never the whole file', async () => {
  const rows = 100_000;
  let chunks = 0;
  let largest = 0;
  let total = 0;
  for await (const chunk of encodeStata({
    ...table([]),
    rowCount: rows,
    rows: async function* () {
      for (let i = 0; i < rows; i++) yield ['Bo', i, i / 2, i, i % 1000 === 0 ? LONG : ''];
    },
  })) {
    chunks++;
    largest = Math.max(largest, chunk.length);
    total += chunk.length;
  }
  assert.ok(total > 3_000_000, `${total} bytes`);
  assert.ok(chunks > 10, `${chunks} chunks`);
  assert.ok(largest <= 300_000, `largest chunk ${largest} bytes`);
});
