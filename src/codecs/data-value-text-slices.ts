/** Text handed to a record reader at a time by the data value decoders. */
export const DECODE_SLICE_CHARS = 64 * 1024;

/**
 * Re-chunks text into slices of at most `size` characters. A 1 MB read holds thousands of values;
 * handed on a slice at a time, only about a thousand are alive at once, so fewer outlive a
 * young-generation collection and swell the old generation.
 */
export async function* sliceText(
  chunks: AsyncIterable<string>,
  size: number = DECODE_SLICE_CHARS,
): AsyncIterable<string> {
  for await (const chunk of chunks) {
    if (chunk.length <= size) {
      yield chunk;
      continue;
    }
    for (let start = 0; start < chunk.length; start += size) yield chunk.slice(start, start + size);
  }
}
