import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import yauzl from 'yauzl';
import { attachmentDisposition, compressStream } from './export-compression.ts';

const TEXT = 'dataelement,period,orgunit\n'.repeat(2000);

function source(): Readable {
  return Readable.from([TEXT.slice(0, 1000), TEXT.slice(1000)]);
}

async function unzipOne(bytes: Buffer): Promise<{ name: string; text: string; entries: number }> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true }, (error, file) => (error ? reject(error) : resolve(file))),
  );
  return new Promise((resolve, reject) => {
    let found: { name: string; text: string } | undefined;
    zip.on('entry', (entry: yauzl.Entry) => {
      if (found) return reject(new Error('more than one entry'));
      zip.openReadStream(entry, (error, stream) => {
        if (error) return reject(error);
        buffer(stream).then((data) => {
          found = { name: entry.fileName, text: data.toString('utf8') };
          zip.readEntry();
        }, reject);
      });
    });
    zip.on('end', () => (found ? resolve({ ...found, entries: 1 }) : reject(new Error('empty zip'))));
    zip.readEntry();
  });
}

describe('compressStream', () => {
  it('passes text through, gzips it, or zips it as one named entry', async () => {
    assert.equal((await buffer(compressStream(source(), 'none', 'x'))).toString('utf8'), TEXT);
    const gzipped = await buffer(compressStream(source(), 'gzip', 'x', { level: 3 }));
    assert.equal(gunzipSync(gzipped).toString('utf8'), TEXT);
    const zipped = await unzipOne(await buffer(compressStream(source(), 'zip', 'dataValues.csv')));
    assert.deepEqual(zipped, { name: 'dataValues.csv', text: TEXT, entries: 1 });
  });

  it('fails the compressed stream when the source fails', async () => {
    for (const compression of ['gzip', 'zip'] as const) {
      const failing = Readable.from(
        (async function* () {
          yield 'first rows\n';
          throw new Error('database went away');
        })(),
      );
      await assert.rejects(
        buffer(compressStream(failing, compression, 'x')),
        /database went away/,
        compression,
      );
    }
  });
});

describe('attachmentDisposition', () => {
  it('quotes safely and keeps the real name in filename*', () => {
    assert.equal(
      attachmentDisposition('données "a".csv'),
      `attachment; filename="donn_es _a_.csv"; filename*=UTF-8''donn%C3%A9es%20%22a%22.csv`,
    );
  });
});
