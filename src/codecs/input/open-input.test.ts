import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip, gzipSync } from 'node:zlib';
import yazl from 'yazl';
import { openInput, type OpenInputOptions } from './open-input.ts';
import { InputError } from './input-error.ts';
import { decodeUtf8 } from './utf8-text.ts';

const dir = await mkdtemp(join(tmpdir(), 'ferry-open-input-'));
after(() => rm(dir, { recursive: true, force: true }));
let counter = 0;

async function file(bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, `f${counter++}`);
  await writeFile(path, bytes);
  return path;
}

async function zipFile(
  entries: { name: string; data?: Buffer | Readable; directory?: boolean }[],
): Promise<string> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) {
    if (entry.directory) zip.addEmptyDirectory(entry.name);
    else if (entry.data instanceof Readable) zip.addReadStream(entry.data, entry.name);
    else zip.addBuffer(entry.data ?? Buffer.alloc(0), entry.name);
  }
  zip.end();
  const path = join(dir, `z${counter++}.zip`);
  await pipeline(zip.outputStream, createWriteStream(path));
  return path;
}

async function readAll(
  path: string,
  limits = {},
  options: OpenInputOptions = {},
): Promise<{ text: string; compression: string }> {
  const opened = await openInput(path, 'upload.json', { ...options, limits });
  let text = '';
  for await (const chunk of decodeUtf8(opened.chunks, 'upload.json')) text += chunk;
  return { text, compression: opened.compression };
}

async function refusal(path: string, limits = {}): Promise<InputError> {
  try {
    await readAll(path, limits);
  } catch (error) {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    assert.equal(error.fileName, 'upload.json');
    return error;
  }
  assert.fail('expected the input to be refused');
}

/** `megabytes` MiB of spaces (valid text), generated as read: nothing large is held in memory. */
function spaces(megabytes: number): Readable {
  const block = Buffer.alloc(1024 * 1024, 0x20);
  let left = megabytes;
  return new Readable({
    read() {
      this.push(left-- > 0 ? block : null);
    },
  });
}

const TEXT = '{"dataValues": [{"value": "é😀"}]}\n';

test('plain, gzip and single-entry zip bodies are detected by magic bytes, whatever their name', async () => {
  assert.deepEqual(await readAll(await file(TEXT)), { text: TEXT, compression: 'none' });
  assert.deepEqual(await readAll(await file(gzipSync(TEXT))), { text: TEXT, compression: 'gzip' });
  const zipped = await zipFile([{ name: 'dataValues.json', data: Buffer.from(TEXT) }]);
  const opened = await openInput(zipped, 'upload.bin');
  assert.equal(opened.entryName, 'dataValues.json');
  assert.deepEqual(await readAll(zipped), { text: TEXT, compression: 'zip' });
  assert.deepEqual(await readAll(await file('')), { text: '', compression: 'none' });
});

test('concatenated gzip members read as one stream', async () => {
  const path = await file(Buffer.concat([gzipSync('a,b\n'), gzipSync('c,d\n')]));
  assert.equal((await readAll(path)).text, 'a,b\nc,d\n');
});

test('NUL bytes (UTF-16 without a BOM, binary files) are refused with their offset', async () => {
  const error = await refusal(await file(gzipSync(Buffer.from('{"a"\u0000: 1}'))));
  assert.match(error.message, /NUL byte/);
  assert.equal(error.byteOffset, 4);
});

test('corrupt, truncated and trailing-junk gzip is refused', async () => {
  const good = gzipSync(TEXT.repeat(100));
  const corrupt = Buffer.from(good);
  corrupt.fill(0x55, 20, 40);
  assert.match((await refusal(await file(corrupt))).message, /compressed data is corrupt/);
  assert.match((await refusal(await file(good.subarray(0, good.length - 10)))).message, /corrupt/);
  assert.match((await refusal(await file(Buffer.concat([good, Buffer.from('junk!')])))).message, /corrupt/);
});

test('a corrupt gzip or zip entry read late (after a pause) is refused, and raises no uncaught error', async () => {
  // An importer opens the file, then begins a transaction, then reads: the bytes flow meanwhile,
  // and a failure in between must wait for the reader, not end the process.
  const good = gzipSync(TEXT.repeat(100));
  const corruptZipPath = await zipFile([{ name: 'values.json', data: Buffer.from(TEXT.repeat(100)) }]);
  const corruptZip = await readFile(corruptZipPath);
  corruptZip.fill(0x55, 60, 90); // inside the deflated entry data
  for (const bytes of [
    good.subarray(0, good.length - 10),
    Buffer.concat([good, Buffer.from('junk!')]),
    corruptZip,
  ]) {
    const opened = await openInput(await file(bytes), 'late.gz');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await assert.rejects(async () => {
      for await (const _chunk of opened.chunks);
    }, InputError);
  }
});

test('zip archives: two entries, empty, a directory, a nested archive and traversal names are refused', async () => {
  const two = await zipFile([
    { name: 'a.json', data: Buffer.from('{}') },
    { name: 'b.json', data: Buffer.from('{}') },
  ]);
  assert.match((await refusal(two)).message, /holds 2 entries/);
  assert.match((await refusal(await zipFile([]))).message, /zip archive is empty/);
  assert.match((await refusal(await zipFile([{ name: 'folder', directory: true }]))).message, /directory/);
  const nested = await zipFile([{ name: 'inner.zip', data: Buffer.from('PK\u0003\u0004') }]);
  assert.match((await refusal(nested)).message, /itself an archive/);

  // yazl refuses to write '../' names, so the name is patched in both headers afterwards.
  const safe = await zipFile([{ name: 'aa/evil.json', data: Buffer.from('{}') }]);
  const bytes = await readFile(safe);
  const patched = Buffer.from(bytes.toString('latin1').replaceAll('aa/evil.json', '../evil.json'), 'latin1');
  assert.match(
    (await refusal(await file(patched))).message,
    /not a readable zip|corrupt|invalid relative path/,
  );
});

test('a zip whose header lies about the entry size is refused', async () => {
  const path = await zipFile([{ name: 'big.json', data: Buffer.alloc(100_000, 0x20) }]);
  const bytes = await readFile(path);
  // Central directory record: uncompressed size at offset 24 from its signature.
  const central = bytes.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bytes.writeUInt32LE(100, central + 24);
  assert.match((await refusal(await file(bytes))).message, /corrupt|too many bytes/);
});

test('expanded-size limit applies to gzip and zip', async () => {
  const limits = { maxExpandedBytes: 10_000 };
  const big = Buffer.alloc(50_000, 0x20);
  assert.match(
    (await refusal(await file(gzipSync(big)), limits)).message,
    /expands to more than 10000 bytes/,
  );
  const zipped = await zipFile([{ name: 'big.json', data: big }]);
  assert.match((await refusal(zipped, limits)).message, /more than the limit|expands to more than/);
});

async function measureRefusal(
  path: string,
): Promise<{ error: InputError; ms: number; rssGrowthMiB: number }> {
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  try {
    const opened = await openInput(path, 'upload.json');
    let characters = 0;
    const error = await (async () => {
      for await (const chunk of decodeUtf8(opened.chunks, 'upload.json')) characters += chunk.length;
    })().then(
      () => assert.fail(`expected a refusal, read ${characters} characters`),
      (failure: unknown) => failure,
    );
    assert.ok(error instanceof InputError);
    return { error, ms: performance.now() - started, rssGrowthMiB: (peak - rssBefore) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

test('a 1 GiB gzip bomb is refused by the ratio limit after about 64 MiB, with flat memory', async () => {
  const path = join(dir, 'bomb.gz');
  await pipeline(spaces(1024), createGzip({ level: constants.Z_BEST_COMPRESSION }), createWriteStream(path));
  const { error, ms, rssGrowthMiB } = await measureRefusal(path);
  assert.match(error.message, /compression bomb/);
  assert.ok(ms < 10_000, `took ${ms} ms`);
  assert.ok(rssGrowthMiB < 100, `memory grew by ${rssGrowthMiB} MiB`);
});

test('a 1 GiB zip bomb is refused by the ratio limit with flat memory', async () => {
  const path = await zipFile([{ name: 'dataValues.json', data: spaces(1024) }]);
  const { error, ms, rssGrowthMiB } = await measureRefusal(path);
  assert.match(error.message, /compression bomb/);
  assert.ok(ms < 10_000, `took ${ms} ms`);
  assert.ok(rssGrowthMiB < 100, `memory grew by ${rssGrowthMiB} MiB`);
});

test('onBytesRead is told the bytes read from the file on disk, up to its size, for that open only', async () => {
  const text = `${'{"dataValues":[]}'.padEnd(300_000, ' ')}\n`;
  const paths = [
    await file(text),
    await file(gzipSync(Buffer.from(text))),
    await zipFile([{ name: 'dataValues.json', data: Buffer.from(text) }]),
  ];
  for (const path of paths) {
    const size = (await stat(path)).size;
    const reports: Array<[number, number]> = [];
    const onBytesRead = (read: number, total: number): void => {
      reports.push([read, total]);
    };
    assert.equal((await readAll(path, {}, { onBytesRead })).text, text);
    assert.ok(reports.length > 0, path);
    assert.ok(
      reports.every(
        ([read, total], i) => total === size && read <= size && (i === 0 || read >= reports[i - 1][0]),
      ),
      `${path}: ${JSON.stringify(reports)}`,
    );
    assert.equal(reports.at(-1)?.[0], size, path);
    // The listener belongs to the open it was given to: reading the same path again tells it nothing.
    const after = reports.length;
    await readAll(path);
    assert.equal(reports.length, after, 'no reports from another open of the same file');
  }
});
