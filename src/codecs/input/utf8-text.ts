import { InputError } from './input-error.ts';

/**
 * Decodes a byte stream as UTF-8 text, chunk by chunk. A UTF-8 BOM is dropped; invalid UTF-8 is
 * refused with the byte offset of the first bad byte (a file saved as Latin-1 or UTF-16 by a
 * spreadsheet is the usual cause, and guessing would corrupt names silently).
 */
export async function* decodeUtf8(
  chunks: AsyncIterable<Uint8Array>,
  fileName: string,
): AsyncIterable<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let offset = 0;
  let first = true;
  for await (const chunk of chunks) {
    if (first && chunk.length >= 2) {
      first = false;
      if ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff)) {
        throw new InputError(fileName, 'is UTF-16 encoded; save it as UTF-8', { byteOffset: 0 });
      }
    }
    let text: string;
    try {
      text = decoder.decode(chunk, { stream: true });
    } catch {
      throw new InputError(fileName, 'is not valid UTF-8', { byteOffset: offset + firstInvalidUtf8(chunk) });
    }
    offset += chunk.length;
    if (text.length > 0) yield text;
  }
  try {
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } catch {
    throw new InputError(fileName, 'ends in the middle of a UTF-8 character', { byteOffset: offset });
  }
}

/** The index of the first byte that starts an invalid UTF-8 sequence (best effort within a chunk). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need = 0;
    if (b < 0x80) need = 0;
    else if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) need = 2;
    else if (b >= 0xf0 && b <= 0xf4) need = 3;
    else return i;
    if (i + need >= bytes.length) return i + need >= bytes.length && need > 0 ? i : i;
    for (let k = 1; k <= need; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return Math.max(0, bytes.length - 1);
}
