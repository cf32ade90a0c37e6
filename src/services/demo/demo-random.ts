/**
 * Deterministic randomness for the demo database. Two kinds:
 * - `createRandom(seed)`: a sequential generator, for metadata built in one fixed order;
 * - `hashToUnit(seed, ...keys)`: a stateless hash of integer keys, for data values. A value then
 *   depends only on what it is (facility, period, data element, option combo), not on the order
 *   rows are produced in, which follows database surrogate ids that differ between databases.
 */

/** A 32-bit hash of a string (FNV-1a), used to turn a text seed into a number. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** mulberry32: small, fast and good enough for picking names and coordinates. Returns [0, 1). */
export function createRandom(seed: string): () => number {
  let state = hashString(seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The final mix of murmur3: spreads every input bit over the output. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A number in [0, 1) determined by the seed and up to four integer keys. */
export function hashToUnit(seed: number, a: number, b = 0, c = 0, d = 0): number {
  let h = mix(seed ^ 0x9e3779b9);
  h = mix(h ^ Math.imul(a + 1, 0x27d4eb2f));
  h = mix(h ^ Math.imul(b + 1, 0x165667b1));
  h = mix(h ^ Math.imul(c + 1, 0x61c88647));
  h = mix(h ^ Math.imul(d + 1, 0x7feb352d));
  return h / 4294967296;
}

/** Picks one item by a unit draw. */
export function pick<T>(items: readonly T[], unit: number): T {
  return items[Math.min(items.length - 1, Math.floor(unit * items.length))];
}
