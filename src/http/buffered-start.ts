/** How much of a streamed reply is held back before the status line goes out. */
export const BUFFERED_START_BYTES = 64 * 1024;

/**
 * Reads `chunks` until `maxBytes` have been produced (or the stream ends) before returning, and
 * then yields the same chunks followed by the rest. An error before that point (a query refused by
 * the database, a bad filter found on the first page) is thrown from here, so the route answers
 * with its real status instead of a 200 whose body stops part-way. Later errors still abort the
 * response (Fastify destroys the connection, so a client never mistakes it for a whole body).
 */
export async function bufferedStart<T extends string | Uint8Array>(
  chunks: AsyncIterable<T>,
  maxBytes = BUFFERED_START_BYTES,
): Promise<AsyncIterable<T>> {
  const iterator = chunks[Symbol.asyncIterator]();
  const held: T[] = [];
  let size = 0;
  let done = false;
  while (size < maxBytes) {
    // An error here leaves the source finished already: generators close themselves on throw.
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    held.push(next.value);
    size += next.value.length;
  }
  return (async function* () {
    try {
      yield* held;
      while (!done) {
        const next = await iterator.next();
        if (next.done) done = true;
        else yield next.value;
      }
    } finally {
      // A client that goes away ends this generator early: end the source too (it may hold a
      // database cursor).
      if (!done) await iterator.return?.();
    }
  })();
}
