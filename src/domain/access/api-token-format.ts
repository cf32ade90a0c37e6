import { createHash, randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * Personal access tokens, shaped like DHIS2's (`d2p_` + random + checksum) with Ferry's prefix:
 * `fry_` + 43 base64url characters (32 random bytes) + 8 hex digits of CRC-32 over the rest. The
 * checksum lets a malformed or mistyped token be refused before any database look-up, and the
 * prefix lets secret scanners recognise leaked tokens. Only the SHA-256 of a token is stored.
 */
export const API_TOKEN_PREFIX = 'fry_';
const RANDOM_BYTES = 32;
const BODY_LENGTH = 43;

function checksum(text: string): string {
  return crc32(text).toString(16).padStart(8, '0');
}

export function generateApiToken(): string {
  const body = API_TOKEN_PREFIX + randomBytes(RANDOM_BYTES).toString('base64url');
  return body + checksum(body);
}

/** Whether a token has Ferry's shape and a correct checksum. */
export function isWellFormedApiToken(token: string): boolean {
  if (token.length !== API_TOKEN_PREFIX.length + BODY_LENGTH + 8 || !token.startsWith(API_TOKEN_PREFIX))
    return false;
  const body = token.slice(0, -8);
  return /^[A-Za-z0-9_-]+$/.test(body.slice(API_TOKEN_PREFIX.length)) && checksum(body) === token.slice(-8);
}

/** What is stored for a token or a session: SHA-256, hex. The secret has 256 bits, so no salt is needed. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A random session token for the web app's cookie. */
export function generateSessionToken(): string {
  return randomBytes(RANDOM_BYTES).toString('base64url');
}
