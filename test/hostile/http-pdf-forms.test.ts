import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { constants, createDeflate } from 'node:zlib';
import { startTestApp, stopTestApp, type TestApp } from '../support/test-app.ts';
import { ADMIN_AUTH } from '../support/access-fixtures.ts';
import { loadAggregateE2eMetadata } from '../support/aggregate-metadata.ts';
import { skipReasonFor, TEST_DATABASE_KINDS } from '../support/test-databases.ts';
import { INPUT_LIMITS } from '../../src/codecs/input/input-limits.ts';

/** Deflated (zlib) zeros, `size` of them, made a MiB at a time so the test never holds them whole. */
async function deflatedZeros(size: number): Promise<Buffer> {
  const deflate = createDeflate({ level: constants.Z_BEST_COMPRESSION });
  const out: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => out.push(chunk));
  const done = new Promise((resolve) => deflate.on('end', resolve));
  const zeros = Buffer.alloc(1024 ** 2);
  for (let written = 0; written < size; written += zeros.length) {
    if (!deflate.write(zeros)) await new Promise((resolve) => deflate.once('drain', resolve));
  }
  deflate.end();
  await done;
  return Buffer.concat(out);
}

/**
 * A PDF whose object 3 is an object stream (`/Type /ObjStm`, which pdf-lib inflates while it
 * loads) holding `data` under `filter`; objects 1 and 2 are a catalog and an empty page tree.
 */
function pdfWithObjectStream(data: Buffer, filter: string): Buffer {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  let size = 0;
  const push = (piece: Buffer | string) => {
    const bytes = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
    parts.push(bytes);
    size += bytes.length;
  };
  push('%PDF-1.5\n');
  offsets[1] = size;
  push('1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n');
  offsets[2] = size;
  push('2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n');
  offsets[3] = size;
  push(`3 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Length ${data.length} /Filter ${filter} >>\nstream\n`);
  push(data);
  push('\nendstream\nendobj\n');
  const xref = size;
  const entries = [1, 2, 3].map((i) => `${String(offsets[i]).padStart(10, '0')} 00000 n \n`).join('');
  push(
    `xref\n0 4\n0000000000 65535 f \n${entries}trailer\n<< /Root 1 0 R /Size 4 >>\nstartxref\n${xref}\n%%EOF\n`,
  );
  return Buffer.concat(parts);
}

interface Summary {
  status: string;
  description?: string;
  conflicts?: Array<{ object?: string; value: string }>;
}

for (const kind of TEST_DATABASE_KINDS) {
  describe(`PDF form uploads (${kind})`, { skip: skipReasonFor(kind) }, () => {
    let started: TestApp | undefined;
    before(async () => {
      started = await startTestApp(kind, { setup: (_context, db) => loadAggregateE2eMetadata(db.storage) });
    });
    after(() => stopTestApp(started));

    const upload = (body: Buffer, name = 'form.pdf') =>
      started!.app.inject({
        method: 'POST',
        url: '/api/dataValueSets',
        headers: { authorization: ADMIN_AUTH, 'content-type': 'application/pdf', 'x-file-name': name },
        payload: body,
      });

    const storedValues = async () =>
      Number(
        (await started!.db.storage.queryOne<{ n: number | string }>('SELECT COUNT(*) AS n FROM data_value'))
          ?.n,
      );

    /** The import's 409 and the text of its conflicts. */
    async function refused(body: Buffer, name: string): Promise<string> {
      const before = await storedValues();
      const response = await upload(body, name);
      assert.equal(response.statusCode, 409, `${name}: ${response.body.slice(0, 400)}`);
      const summary = response.json().response as Summary;
      assert.equal(summary.status, 'ERROR');
      assert.equal(await storedValues(), before, `${name}: nothing written`);
      // A file that cannot be read at all fails the import: its reason is the description.
      return `${summary.description} ${JSON.stringify(summary.conflicts ?? [])}`;
    }

    it('refuses a Flate bomb (1 GiB of zeros in an object stream) quickly and with flat memory', async () => {
      const bomb = pdfWithObjectStream(await deflatedZeros(1024 ** 3), '/FlateDecode');
      assert.ok(bomb.length < 2 * 1024 ** 2, `the bomb is ${bomb.length} bytes`);
      const rssBefore = process.memoryUsage().rss;
      const started = Date.now();
      const conflicts = await refused(bomb, 'bomb.pdf');
      assert.match(conflicts, /bomb\.pdf/);
      assert.match(conflicts, new RegExp(`inflate to more than ${INPUT_LIMITS.maxPdfExpandedBytes} bytes`));
      assert.ok(Date.now() - started < 10_000, `refused after ${Date.now() - started} ms`);
      const grown = process.memoryUsage().rss - rssBefore;
      assert.ok(grown < 256 * 1024 ** 2, `memory grew by ${Math.round(grown / 1024 ** 2)} MiB`);
    });

    it('refuses filters that could hide a bomb from the count (a chain, LZW, a filter by reference)', async () => {
      const zeros = await deflatedZeros(1024 ** 2);
      const hex = Buffer.from(`${zeros.toString('hex')}>`, 'latin1');
      assert.match(
        await refused(pdfWithObjectStream(hex, '[/ASCIIHexDecode /FlateDecode]'), 'chain.pdf'),
        /ASCIIHexDecode/,
      );
      assert.match(
        await refused(pdfWithObjectStream(hex, '[/ASCIIHe#78Decode /Fl]'), 'escaped.pdf'),
        /ASCIIHexDecode/,
      );
      assert.match(await refused(pdfWithObjectStream(zeros, '/LZWDecode'), 'lzw.pdf'), /LZWDecode/);
      assert.match(await refused(pdfWithObjectStream(zeros, '9 0 R'), 'ref.pdf'), /filter by reference/);
    });

    it('answers malformed PDFs with 409 naming the file and the problem, never 500', async () => {
      const form = await started!.app.inject({
        url: '/api/dataSets/VEM58nY22sO/form.pdf?orgUnit=DiszpKrYNg8&period=201912',
        headers: { authorization: ADMIN_AUTH },
      });
      assert.equal(form.statusCode, 200);
      const cases: Record<string, Buffer> = {
        'header-only.pdf': Buffer.from('%PDF-1.7\n'),
        'not-a-pdf.pdf': Buffer.from('this is not a PDF at all'),
        'truncated.pdf': form.rawPayload.subarray(0, Math.floor(form.rawPayload.length / 3)),
        'no-catalog.pdf': Buffer.from(
          '%PDF-1.7\n1 0 obj\n<< /Type /Pages >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
        ),
        'bad-acroform.pdf': Buffer.from(
          '%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields 7 >> >>\nendobj\n' +
            '2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n',
        ),
      };
      for (const [name, body] of Object.entries(cases)) {
        const conflicts = await refused(body, name);
        // A form dictionary of the wrong shape reads as a form without fields.
        const problem =
          name === 'bad-acroform.pdf'
            ? "the form's TXFD_OrgID field is empty"
            : 'not a readable PDF form: \\w';
        assert.match(conflicts, new RegExp(`${name.replace('.', '\\.')}: ${problem}`), name);
      }
    });

    it('still imports a genuine form', async () => {
      const form = await started!.app.inject({
        url: '/api/dataSets/VEM58nY22sO/form.pdf?orgUnit=DiszpKrYNg8&period=201912',
        headers: { authorization: ADMIN_AUTH },
      });
      const response = await upload(form.rawPayload, 'blank.pdf');
      assert.equal(response.statusCode, 200, response.body.slice(0, 400));
    });
  });
}
