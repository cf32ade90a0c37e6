/** What an `Authorization` header asks for; `undefined` when it is absent or not understood. */
export type PresentedCredentials =
  | { readonly scheme: 'basic'; readonly username: string; readonly password: string }
  | { readonly scheme: 'apiToken'; readonly token: string };

/** Bound on the header, long before a hash is computed for it. */
const MAX_HEADER_LENGTH = 4096;

/**
 * Parses `Basic base64(user:pass)` (RFC 7617; the password may contain colons) and DHIS2's
 * `ApiToken <token>`. Scheme names are case-insensitive.
 */
export function parseAuthorizationHeader(header: string | undefined): PresentedCredentials | undefined {
  if (!header || header.length > MAX_HEADER_LENGTH) return undefined;
  const match = /^([A-Za-z]+) +(\S+)\s*$/.exec(header);
  if (!match) return undefined;
  const scheme = match[1].toLowerCase();
  if (scheme === 'basic') {
    if (!/^[A-Za-z0-9+/]+=*$/.test(match[2])) return undefined;
    const decoded = Buffer.from(match[2], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return undefined;
    return { scheme: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (scheme === 'apitoken') return { scheme: 'apiToken', token: match[2] };
  return undefined;
}
