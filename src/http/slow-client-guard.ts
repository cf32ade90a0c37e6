import type { FastifyInstance } from 'fastify';
import type { HttpTimeouts } from '../codecs/input/input-limits.ts';

/**
 * Closes the connection of a request whose body arrives slower than `minBodyBytesPerSecond`,
 * averaged over each `bodyRateWindowMs`: a body trickled at a byte a second would otherwise hold a
 * connection (and, for an upload, a spool file) until the request timeout, minutes later.
 *
 * It reads the socket's byte count and never touches the body stream, so parsers and the upload
 * spool read as before. A window is not judged while the server itself is not reading (the body
 * not yet consumed, or paused by backpressure): then a slow transfer is the server's doing.
 */
export function registerSlowBodyGuard(app: FastifyInstance, timeouts: HttpTimeouts): void {
  const { minBodyBytesPerSecond, bodyRateWindowMs } = timeouts;
  if (minBodyBytesPerSecond <= 0 || bodyRateWindowMs <= 0) return;
  const minBytesPerWindow = (minBodyBytesPerSecond * bodyRateWindowMs) / 1000;
  app.addHook('onRequest', async (request) => {
    const raw = request.raw;
    const hasBody =
      Number(raw.headers['content-length'] ?? 0) > 0 || raw.headers['transfer-encoding'] !== undefined;
    const socket = raw.socket;
    // `inject` has no real socket to count on.
    if (!hasBody || raw.complete || typeof socket?.bytesRead !== 'number') return;
    let lastBytes = socket.bytesRead;
    const timer = setInterval(() => {
      if (raw.complete || socket.destroyed) {
        clearInterval(timer);
        return;
      }
      const bytes = socket.bytesRead;
      const received = bytes - lastBytes;
      lastBytes = bytes;
      if (raw.readableFlowing !== true) return;
      if (received < minBytesPerWindow) {
        clearInterval(timer);
        request.log.warn(
          { received, windowMs: bodyRateWindowMs },
          'request body below the minimum rate; closing the connection',
        );
        socket.destroy();
      }
    }, bodyRateWindowMs);
    timer.unref();
    // Until the request itself is over, not the reply: after an early answer (401, 413) Node still
    // reads and drops the rest of the body, and a trickle there holds the connection just the same.
    raw.once('close', () => clearInterval(timer));
  });
}
