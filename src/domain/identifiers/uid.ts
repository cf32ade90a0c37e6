import { randomInt } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const ALPHANUMERIC = `0123456789${LETTERS}`;
export const UID_LENGTH = 11;
const UID_PATTERN = /^[A-Za-z][A-Za-z0-9]{10}$/;

/** DHIS2's identifier: 11 characters, a letter first, then letters or digits. */
export function isValidUid(value: unknown): value is string {
  return typeof value === 'string' && UID_PATTERN.test(value);
}

/** A new random UID, drawn from a cryptographic source so UIDs made offline at two sites don't collide. */
export function generateUid(): string {
  let uid = LETTERS[randomInt(LETTERS.length)];
  for (let i = 1; i < UID_LENGTH; i++) uid += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return uid;
}

/**
 * A deterministic UID derived from a seed string, for the demo database and tests that must be
 * reproducible. Not for real objects: two seeds can collide in principle (FNV-1a, 64 bits of state).
 */
export function uidFromSeed(seed: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < seed.length; i++) {
    const c = seed.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
  }
  let uid = LETTERS[h1 % LETTERS.length];
  let state = h1 ^ h2;
  for (let i = 1; i < UID_LENGTH; i++) {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) >>> 0;
    state = (state + Math.imul(h2, i + 1)) >>> 0;
    uid += ALPHANUMERIC[state % ALPHANUMERIC.length];
  }
  return uid;
}
