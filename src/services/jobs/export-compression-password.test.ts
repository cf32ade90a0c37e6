import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { BlobReader, TextWriter, ZipReader, type FileEntry } from '@zip.js/zip.js';
import { compressStream, exportPasswordProblem, EXPORT_PASSWORD_MIN_LENGTH } from './export-compression.ts';

const TEXT = 'dataelement,period,orgunit,value\n'.repeat(5000);
const PASSWORD = 'Kenema-district-2024';

function source(): Readable {
  return Readable.from([TEXT.slice(0, 777), TEXT.slice(777, 50_000), TEXT.slice(50_000)]);
}

async function readOnlyEntry(bytes: Buffer, password: string): Promise<{ name: string; text: string }> {
  const reader = new ZipReader(new BlobReader(new Blob([new Uint8Array(bytes)])), { useWebWorkers: false });
  try {
    const entries = await reader.getEntries();
    assert.equal(entries.length, 1);
    const entry = entries[0] as FileEntry;
    assert.equal(entry.encrypted, true, 'the entry is marked encrypted');
    assert.equal(entry.zipCrypto, false, 'never legacy ZipCrypto');
    return { name: entry.filename, text: await entry.getData(new TextWriter(), { password }) };
  } finally {
    await reader.close();
  }
}

describe('compressStream with a password (AES-256 zip)', () => {
  it('writes one AES-256 entry that only the password opens', async () => {
    const bytes = await buffer(compressStream(source(), 'zip', 'dataValues.csv', { password: PASSWORD }));
    assert.equal(bytes.readUInt32LE(0), 0x04034b50, 'a zip local file header');
    // AES entries carry method 99 and the 0x9901 extra field whose strength byte 3 means 256 bits.
    assert.equal(bytes.readUInt16LE(8), 99);
    const extraStart = 30 + bytes.readUInt16LE(26);
    const extra = bytes.subarray(extraStart, extraStart + bytes.readUInt16LE(28));
    const aes = extra.indexOf(Buffer.from([0x01, 0x99]));
    assert.ok(aes >= 0, 'the AES extra field is present');
    assert.equal(extra.readUInt16LE(aes + 4), 2, 'AE-2');
    assert.equal(extra[aes + 8], 3, 'AES-256');
    assert.equal(bytes.includes(Buffer.from('dataelement,period')), false, 'no plaintext in the archive');
    const entry = await readOnlyEntry(bytes, PASSWORD);
    assert.equal(entry.name, 'dataValues.csv');
    assert.equal(entry.text, TEXT);
    await assert.rejects(readOnlyEntry(bytes, `${PASSWORD}x`), /password/i);
  });

  it('fails the stream when the source fails instead of ending a valid-looking archive', async () => {
    const failing = new Readable({
      read() {
        this.push(TEXT.slice(0, 100));
        this.destroy(new Error('database went away'));
      },
    });
    await assert.rejects(
      buffer(compressStream(failing, 'zip', 'x.csv', { password: PASSWORD })),
      /database went away/,
    );
  });

  it('stops reading the source when the reader of the archive goes away (no producer left hanging)', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 65536;
        this.push(Buffer.alloc(65536, 'a'));
      },
    });
    const zipped = compressStream(endless, 'zip', 'x.csv', { password: PASSWORD });
    for await (const _chunk of zipped) break; // destroys the archive stream after its first chunk
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the source was never destroyed')), 5000);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      if (endless.destroyed) done();
      else endless.once('close', done);
    });
    assert.ok(produced < 64 * 1024 * 1024, 'backpressure held the source back');
  });

  it('checks the password rules', () => {
    assert.equal(exportPasswordProblem('x'.repeat(EXPORT_PASSWORD_MIN_LENGTH)), undefined);
    assert.match(exportPasswordProblem('short') ?? '', /at least 8 characters/);
    // Characters, not bytes: seven two-byte letters are still too short.
    assert.match(exportPasswordProblem('ééééééé') ?? '', /at least 8/);
    assert.match(exportPasswordProblem('x'.repeat(257)) ?? '', /at most 256/);
    assert.equal(exportPasswordProblem(12345678), 'a string');
    assert.throws(() => compressStream(source(), 'zip', 'x', { password: 'short' }), /at least 8/);
  });
});
