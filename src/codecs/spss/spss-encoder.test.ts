import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSpss, type SpssTable } from './spss-encoder.ts';

async function bytes(table: SpssTable): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of encodeSpss(table)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const LONG = 'ሰላም é'.repeat(600).slice(0, 3000);
const table = (rows: unknown[][], compress = true): SpssTable => ({
  label: 'Données',
  created: new Date(Date.UTC(2026, 11, 7, 9, 5, 1)),
  rowCount: rows.length,
  compress,
  variables: [
    { name: 'nom_unité', label: 'Nom de l’unité', width: 24, format: 'A' },
    {
      name: 'doses',
      label: 'Doses',
      width: 0,
      format: 'F',
      missing: [-999999999],
      valueLabels: [{ value: 1, label: 'Um' }],
    },
    { name: 'dia', label: 'Dia', width: 0, format: 'DATE' },
    { name: 'texte', label: 'Texte', width: Buffer.byteLength(LONG), format: 'A' },
  ],
  rows: async function* () {
    yield* rows as never[][];
  },
});

test('the header announces the case count and the slots a case takes', async () => {
  const file = await bytes(table([['a', 1, 0, LONG]]));
  assert.equal(file.toString('latin1', 0, 4), '$FL2');
  const slots =
    3 +
    1 +
    1 +
    Math.ceil(Buffer.byteLength(LONG) / 252 - 1) * 32 +
    Math.ceil((Buffer.byteLength(LONG) - 252 * Math.floor(Buffer.byteLength(LONG) / 252)) / 8);
  assert.equal(file.readInt32LE(68), slots);
  assert.equal(file.readInt32LE(72), 1, 'bytecode compression');
  assert.equal(file.readInt32LE(80), 1, 'cases');
  assert.equal(file.readDoubleLE(84), 100, 'bias');
});

test('more rows than announced fail', async () => {
  await assert.rejects(bytes({ ...table([['a', 1, 0, '']]), rowCount: 0 }), /More rows than the 0 announced/);
});

const pspp = spawnSync('pspp', ['--version']).error ? 'pspp is not installed (apt-get install pspp)' : false;

for (const compress of [true, false]) {
  test(
    `pspp reads a ${compress ? 'compressed' : 'plain'} file without warnings, a 3,000-byte value whole`,
    { skip: pspp },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ferry-sav-'));
      try {
        const path = join(dir, 't.sav');
        writeFileSync(
          path,
          await bytes(
            table(
              [
                ['Zürich ✓', 1, 13_000_000_000, LONG],
                ['', null, null, ''],
                ['x', 200, -1, 'y'],
              ],
              compress,
            ),
          ),
        );
        writeFileSync(join(dir, 'r.sps'), `GET FILE='${path}'.\nDISPLAY DICTIONARY.\nLIST.\n`);
        const run = spawnSync('pspp', ['-O', 'format=csv', join(dir, 'r.sps'), '-o', join(dir, 'out.csv')], {
          encoding: 'utf8',
        });
        const out = readFileSync(join(dir, 'out.csv'), 'utf8');
        assert.equal(run.status, 0, run.stderr);
        assert.doesNotMatch(out + run.stdout + run.stderr, /warning|error/i);
        assert.ok(out.includes(`Zürich ✓,1,26-SEP-1994,${LONG}`), out.slice(0, 2000));
        assert.ok(out.includes('x,200,'));
        assert.match(out, /nom_unité,1,Nom de l’unité/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

test('cases stream out in blocks of about 256 KB, never the whole file', async () => {
  const rows = 50_000;
  let chunks = 0;
  let largest = 0;
  for await (const chunk of encodeSpss({
    ...table([]),
    rowCount: rows,
    rows: async function* () {
      for (let i = 0; i < rows; i++) yield ['Bo', i, i, i % 100 === 0 ? LONG : ''];
    },
  })) {
    chunks++;
    largest = Math.max(largest, chunk.length);
  }
  assert.ok(chunks > 10, `${chunks} chunks`);
  assert.ok(largest <= 300_000, `largest chunk ${largest} bytes`);
});
