import { InputError } from './input-error.ts';

/**
 * Decodes a byte stream as UTF-8 text, chunk by chunk. A UTF-8 BOM is dropped; invalid UTF-8 is
 * refused with the byte offset of the first bad byte (a file saved as Latin-1 or UTF-16 by a
 * spreadsheet is the usual cause, and guessing would corrupt names silently). A NUL byte is
 * refused too: no text format Ferry reads allows it, PostgreSQL cannot store it, and it is the
 * mark of UTF-16 without a BOM.
 */
export async function* decodeUtf8(
  chunks: AsyncIterable<Uint8Array>,
  fileName: string,
): AsyncIterable<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let offset = 0;
  /** The first bytes, held back until there are two to tell a UTF-16 BOM from the text. */
  let head: Uint8Array | undefined = new Uint8Array(0);
  /** The last bytes of the previous chunk, where a sequence cut by the chunk boundary starts. */
  let previousTail: Uint8Array = new Uint8Array(0);
  for await (const received of chunks) {
    let chunk = received;
    if (head !== undefined) {
      chunk = concatBytes(head, received);
      if (chunk.length < 2) {
        head = chunk;
        continue;
      }
      head = undefined;
      if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
        throw new InputError(fileName, 'is UTF-16 encoded; save it as UTF-8', { byteOffset: 0 });
      }
    }
    const nul = chunk.indexOf(0);
    if (nul !== -1) {
      throw new InputError(fileName, 'contains a NUL byte (is it UTF-16 or binary?); refused', {
        byteOffset: offset + nul,
      });
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      const tail = incompleteTail(previousTail);
      const bad = Math.max(0, firstInvalidUtf8(concatBytes(tail, chunk)));
      throw new InputError(fileName, 'is not valid UTF-8', { byteOffset: offset - tail.length + bad });
    }
    offset += chunk.length;
    previousTail =
      chunk.length >= 3 ? chunk.subarray(chunk.length - 3) : concatBytes(previousTail, chunk).slice(-3);
    if (text.length > 0) yield text;
  }
  if (head !== undefined && head.length > 0) {
    // A one-byte file: decoded on its own.
    const nul = head.indexOf(0);
    if (nul !== -1) throw new InputError(fileName, 'contains a NUL byte; refused', { byteOffset: nul });
    offset = head.length;
    try {
      const text = decoder.decode(head, { stream: true });
      if (text.length > 0) yield text;
    } catch {
      throw new InputError(fileName, 'is not valid UTF-8', { byteOffset: 0 });
    }
    previousTail = head;
  }
  try {
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } catch {
    throw new InputError(fileName, 'ends in the middle of a UTF-8 character', {
      byteOffset: offset - incompleteTail(previousTail).length,
    });
  }
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}

/** The bytes at the end of `bytes` that begin a multi-byte sequence not finished within them. */
function incompleteTail(bytes: Uint8Array): Uint8Array {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const b = bytes[bytes.length - back];
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > back ? bytes.subarray(bytes.length - back) : new Uint8Array(0);
  }
  return new Uint8Array(0);
}

/**
 * The offset of the first byte that starts an invalid UTF-8 sequence (overlong forms, surrogates
 * and code points above U+10FFFF included, per RFC 3629), or -1 when every complete sequence is
 * valid. A sequence cut off by the end of `bytes` counts as valid: the next chunk may finish it.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const length = bytes.length;
  while (i < length) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min = 0x80;
    let max = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) min = 0xa0; // overlong
      if (b === 0xed) max = 0x9f; // UTF-16 surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) min = 0x90; // overlong
      if (b === 0xf4) max = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= length) return -1;
      const c = bytes[i + k];
      if (k === 1 ? c < min || c > max : (c & 0xc0) !== 0x80) return i;
    }
    i += need + 1;
  }
  return -1;
}
