import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUtf8, firstInvalidUtf8 } from './utf8-text.ts';
import { InputError } from './input-error.ts';

async function* pieces(bytes: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function decode(bytes: Uint8Array, size: number): Promise<string> {
  let text = '';
  for await (const chunk of decodeUtf8(pieces(bytes, size), 'in.csv')) text += chunk;
  return text;
}

async function refusal(bytes: Uint8Array, size: number): Promise<InputError> {
  try {
    await decode(bytes, size);
  } catch (error) {
    assert.ok(error instanceof InputError);
    return error;
  }
  assert.fail('expected a refusal');
}

test('multi-byte characters split across chunks decode intact; a UTF-8 BOM is dropped', async () => {
  const text = 'Bô,Ñ,€,😀,日本\n';
  const bytes = Buffer.from(text);
  for (const size of [1, 2, 3, 5, 1000]) {
    assert.equal(await decode(bytes, size), text);
    assert.equal(await decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]), size), text);
  }
});

test('invalid UTF-8 is refused with the offset of the first bad byte, across chunk boundaries', async () => {
  const cases: [number[], number][] = [
    [[0x61, 0x62, 0xff, 0x63], 2], // never valid
    [[0x61, 0xe9, 0x62], 1], // Latin-1 é
    [[0x61, 0xc0, 0x80], 1], // overlong NUL
    [[0x61, 0xe0, 0x80, 0x80], 1], // overlong
    [[0x61, 0x62, 0xed, 0xa0, 0x80], 2], // surrogate U+D800
    [[0x61, 0xf4, 0x90, 0x80, 0x80], 1], // above U+10FFFF
    [[0x61, 0x62, 0x63, 0xe2, 0x82, 0x41], 3], // sequence broken by an ASCII byte
  ];
  for (const [bytes, offset] of cases) {
    for (const size of [1, 2, 4, 100]) {
      const error = await refusal(Uint8Array.from(bytes), size);
      assert.match(error.message, /not valid UTF-8/);
      assert.equal(
        error.byteOffset,
        offset,
        `${bytes.map((b) => b.toString(16)).join(' ')} in chunks of ${size}`,
      );
    }
  }
  const truncated = await refusal(Uint8Array.from([0x61, 0x62, 0xe2, 0x82]), 3);
  assert.match(truncated.message, /ends in the middle of a UTF-8 character/);
  assert.equal(truncated.byteOffset, 2);
});

test('UTF-16 is refused (with a BOM, and without one by its NUL bytes)', async () => {
  const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b', 'utf16le')]);
  assert.match((await refusal(le, 1)).message, /UTF-16/);
  const be = Buffer.from([0xfe, 0xff, 0x00, 0x61]);
  assert.match((await refusal(be, 100)).message, /UTF-16/);
  const bare = Buffer.from('ab', 'utf16le');
  const error = await refusal(bare, 100);
  assert.match(error.message, /NUL byte/);
  assert.equal(error.byteOffset, 1);
});

test('firstInvalidUtf8 treats a sequence cut at the end as unfinished, not invalid', () => {
  assert.equal(firstInvalidUtf8(Uint8Array.from([0x61, 0xe2, 0x82])), -1);
  assert.equal(firstInvalidUtf8(Buffer.from('ok 😀')), -1);
  assert.equal(firstInvalidUtf8(Uint8Array.from([0x80])), 0);
});

test('one-byte files', async () => {
  assert.equal(await decode(Buffer.from('7'), 1), '7');
  assert.match((await refusal(Uint8Array.from([0xe2]), 1)).message, /middle of a UTF-8 character|not valid/);
  assert.equal(await decode(new Uint8Array(0), 1), '');
});
