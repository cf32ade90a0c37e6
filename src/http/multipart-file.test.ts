import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { multipartBoundary, multipartFilePart, type MultipartFileInfo } from './multipart-file.ts';

const BOUNDARY = '----ferryBoundary7MA4YWxkTrZu0gW';

function form(parts: { name: string; fileName?: string; data: Buffer }[]): Buffer {
  const pieces: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const part of parts) {
    const fileName = part.fileName === undefined ? '' : `; filename="${part.fileName}"`;
    pieces.push(
      Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"${fileName}\r\n`),
      Buffer.from(part.fileName === undefined ? '\r\n' : 'Content-Type: application/zip\r\n\r\n'),
      part.data,
      Buffer.from('\r\n'),
    );
  }
  pieces.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(pieces);
}

async function* chunks(body: Buffer, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < body.length; i += size) yield body.subarray(i, i + size);
}

async function read(
  body: Buffer,
  size: number,
  field = 'file',
): Promise<{ data: Buffer; info: MultipartFileInfo }> {
  const info: MultipartFileInfo = { found: false };
  const out: Buffer[] = [];
  for await (const piece of multipartFilePart(chunks(body, size), BOUNDARY, field, info)) out.push(piece);
  return { data: Buffer.concat(out), info };
}

describe('multipart file part', () => {
  it('reads the boundary from the content type, quoted or not', () => {
    assert.equal(multipartBoundary(`multipart/form-data; boundary=${BOUNDARY}`), BOUNDARY);
    assert.equal(multipartBoundary('multipart/form-data; charset=utf-8; boundary="a b"'), 'a b');
    assert.equal(multipartBoundary('application/zip'), undefined);
    assert.equal(multipartBoundary('multipart/form-data'), undefined);
  });

  it('streams the named part whatever the chunk size, skipping other fields', async () => {
    // Bytes that look like the start of a delimiter, and a CR LF at the end of the content.
    const data = Buffer.concat([
      Buffer.from('PK\x03\x04'),
      Buffer.from(`\r\n--${BOUNDARY.slice(0, 10)}`),
      Buffer.alloc(5000, 7),
      Buffer.from('\r\n'),
    ]);
    const body = form([
      { name: 'note', data: Buffer.from('a form field') },
      { name: 'file', fileName: 'app.zip', data },
      { name: 'after', data: Buffer.from('ignored') },
    ]);
    for (const size of [1, 2, 7, 37, 64, 1000, body.length]) {
      const { data: got, info } = await read(body, size);
      assert.ok(got.equals(data), `chunk size ${size}`);
      assert.deepEqual(info, { found: true, fileName: 'app.zip', contentType: 'application/zip' });
    }
  });

  it('refuses a form without the part, an unclosed part, and a flood before it', async () => {
    const without = form([{ name: 'other', fileName: 'x.zip', data: Buffer.from('x') }]);
    await assert.rejects(read(without, 16), /no `file` part/);
    const unclosed = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"\r\n\r\nPK and no end`,
    );
    await assert.rejects(read(unclosed, 16), /not closed/);
    const flood = form([
      { name: 'big', data: Buffer.alloc(2 * 1024 * 1024, 1) },
      { name: 'file', data: Buffer.from('x') },
    ]);
    await assert.rejects(read(flood, 65536), /bytes before the `file` part/);
  });
});
