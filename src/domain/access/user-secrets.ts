/**
 * Properties that may carry a secret in a DHIS2 user payload. Ferry keeps password hashes and tokens
 * in their own tables, so none of these is ever stored in a user's metadata body or sent out; a
 * DHIS2 file that carries them (`password`, legacy `userCredentials.password`) has them dropped.
 */
export const USER_SECRET_PROPERTIES = [
  'password',
  'passwordHash',
  'secret',
  'twoFactorSecret',
  'restoreToken',
  'idToken',
  'apiToken',
] as const;

const SECRET = new Set<string>(USER_SECRET_PROPERTIES);

/** A copy of a user object without secret properties, also inside the legacy `userCredentials`. */
export function withoutUserSecrets<T extends Record<string, unknown>>(user: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(user)) {
    if (SECRET.has(key)) continue;
    if (key === 'userCredentials' && value && typeof value === 'object' && !Array.isArray(value)) {
      out[key] = withoutUserSecrets(value as Record<string, unknown>);
    } else {
      out[key] = value;
    }
  }
  return out as T;
}
