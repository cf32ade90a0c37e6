import { constants, createInflate } from 'node:zlib';

/**
 * Filters that pdf-lib decodes and that can make a stream larger (LZW, RunLength), or that can
 * hide a deflated stream from the count below when chained before Flate (ASCIIHex, ASCII85).
 * Forms from DHIS2, Acrobat and pypdf use Flate only; image filters (DCT, JPX, ...) are never
 * decoded by pdf-lib and stay allowed. Full and abbreviated names.
 */
const REFUSED_FILTERS = new Set([
  'LZWDecode',
  'LZW',
  'RunLengthDecode',
  'RL',
  'ASCIIHexDecode',
  'AHx',
  'ASCII85Decode',
  'A85',
]);

/** A PDF name token; `#xx` escapes are decoded before comparing, as PDF readers do. */
const NAME = /\/([^\s/<>[\]()%{}\0]*)/g;

/**
 * pdf-lib inflates object streams whole while it loads a file, with no bound: a PDF of a few MB
 * whose object stream is deflated zeros became 2.5 GB in memory. This pass runs first, over the raw
 * bytes, and returns why a file may not be loaded, or undefined:
 *
 * - At every `stream` keyword, the data after it is inflated as zlib (what FlateDecode is),
 *   streaming, output counted and dropped; data that is not zlib fails at once and counts nothing.
 *   The total may not pass `maxExpandedBytes`. The count does not depend on the stream's
 *   dictionary (which can be written to mislead a parser): a deflate stream ends where its own
 *   end marker is, and a truncated or corrupt one counts what it inflated before the fault, as
 *   much as pdf-lib would decode.
 * - The filters above are refused wherever their names appear, and so is a `/Filter` given by
 *   reference, so no chain can put a deflated stream out of the count's sight.
 */
export async function pdfStreamProblem(
  bytes: Uint8Array,
  maxExpandedBytes: number,
): Promise<string | undefined> {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  for (const match of text.matchAll(NAME)) {
    const name = match[1].replace(/#([0-9A-Fa-f]{2})/g, (_, hex: string) =>
      String.fromCharCode(parseInt(hex, 16)),
    );
    if (REFUSED_FILTERS.has(name)) return `it uses the ${name} filter, which PDF forms are not accepted with`;
    if (name === 'Filter') {
      const value = /^\s*(\[[^\]]*\]|\d+\s+\d+\s+R)/.exec(
        text.slice(match.index + match[0].length, match.index + 4096),
      );
      if (value && /\d+\s+\d+\s+R/.test(value[1])) return 'a stream names its filter by reference';
    }
  }
  let expanded = 0;
  for (const match of text.matchAll(/(?<!end)stream/g)) {
    let start = match.index + match[0].length;
    // A zlib stream never starts with white space, so skipping it cannot skip data.
    while (start < text.length && ' \t\r\n\f\0'.includes(text[start])) start++;
    expanded += await inflatedSize(bytes.subarray(start), maxExpandedBytes - expanded);
    if (expanded > maxExpandedBytes) {
      return `its streams inflate to more than ${maxExpandedBytes} bytes (the limit for a PDF form)`;
    }
  }
  return undefined;
}

/** Bytes that `data` inflates to as zlib, counting stopped once past `stopAfter`; 0 when not zlib. */
function inflatedSize(data: Uint8Array, stopAfter: number): Promise<number> {
  return new Promise((resolve) => {
    let size = 0;
    let settled = false;
    // Z_SYNC_FLUSH: a truncated stream yields what it holds instead of failing, as pdf-lib's would.
    const inflate = createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
    const done = () => {
      if (settled) return;
      settled = true;
      inflate.removeAllListeners('data');
      inflate.destroy();
      resolve(size);
    };
    inflate.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > stopAfter) done();
    });
    inflate.on('end', done);
    inflate.on('error', done);
    inflate.end(data);
  });
}
