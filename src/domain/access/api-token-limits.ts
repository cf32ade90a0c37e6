import { BlockList, isIP } from 'node:net';

/**
 * The limits a personal access token carries, in DHIS2's shape (`POST /api/apiToken` with
 * `attributes: [{type, ...}]`): `IpAllowedList` (`allowedIps`: addresses, and in Ferry also CIDR
 * ranges), `MethodAllowedList` (`allowedMethods`) and `RefererAllowedList` (`allowedReferrers`).
 * Ferry adds `ScopeAllowedList` (`allowedScopes: ["read"]`): a read-only token, which DHIS2 has not.
 * A token without an attribute of a type is not limited by it. Pure: the auth service stores the
 * attributes with the token and checks every request the token authenticates against them.
 */

export const API_TOKEN_ATTRIBUTE_TYPES = [
  'IpAllowedList',
  'MethodAllowedList',
  'RefererAllowedList',
  'ScopeAllowedList',
] as const;
export type ApiTokenAttributeType = (typeof API_TOKEN_ATTRIBUTE_TYPES)[number];

/** DHIS2's allowed values for `allowedMethods`. HEAD is let through wherever GET is. */
export const API_TOKEN_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/** Ferry's scopes: `read` lets only requests that change nothing (GET, HEAD) through. */
export const API_TOKEN_SCOPES = ['read'] as const;

/** Bounds that keep a token row and the per-request check small. */
export const API_TOKEN_LIMITS = { maxEntries: 100, maxEntryLength: 2048 } as const;

export type ApiTokenAttribute =
  | { readonly type: 'IpAllowedList'; readonly allowedIps: readonly string[] }
  | { readonly type: 'MethodAllowedList'; readonly allowedMethods: readonly string[] }
  | { readonly type: 'RefererAllowedList'; readonly allowedReferrers: readonly string[] }
  | { readonly type: 'ScopeAllowedList'; readonly allowedScopes: readonly string[] };

/** Why a request body's attributes were refused: the field, the offending value, what is allowed. */
export interface ApiTokenAttributeIssue {
  readonly field: string;
  readonly value: string;
  readonly allowed: string;
}

/** What a request shows that the limits look at. */
export interface ApiTokenRequest {
  /** The client's address as the server sees it (IPv4-mapped IPv6 is compared as IPv4). */
  readonly address: string;
  readonly method: string;
  /** The `Referer` header, if any. */
  readonly referrer?: string;
}

const LIST_KEY: Readonly<Record<ApiTokenAttributeType, string>> = {
  IpAllowedList: 'allowedIps',
  MethodAllowedList: 'allowedMethods',
  RefererAllowedList: 'allowedReferrers',
  ScopeAllowedList: 'allowedScopes',
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) as the IPv4 address it stands for. */
function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

/** Whether `entry` is an IP address or a CIDR range (`10.1.0.0/16`, `2001:db8::/32`). */
export function isIpOrRange(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function checkEntry(type: ApiTokenAttributeType, entry: string): string | undefined {
  switch (type) {
    case 'IpAllowedList':
      return isIpOrRange(entry) ? undefined : 'IP addresses or CIDR ranges (10.0.0.0/8)';
    case 'MethodAllowedList':
      return (API_TOKEN_METHODS as readonly string[]).includes(entry)
        ? undefined
        : API_TOKEN_METHODS.join(', ');
    case 'RefererAllowedList':
      return entry.length > 0 && !/[\s\0]/.test(entry) ? undefined : 'referrer URLs without spaces';
    case 'ScopeAllowedList':
      return (API_TOKEN_SCOPES as readonly string[]).includes(entry)
        ? undefined
        : API_TOKEN_SCOPES.join(', ');
  }
}

/**
 * The attributes of a token creation body (`attributes` as DHIS2 sends them), checked and normalised:
 * one attribute per type, each a non-empty list of valid entries (methods upper-cased, duplicates
 * dropped). An empty list would allow nothing, which is never what a client means, so it is refused.
 */
export function parseApiTokenAttributes(
  value: unknown,
): { attributes: ApiTokenAttribute[] } | { issue: ApiTokenAttributeIssue } {
  if (value === undefined || value === null) return { attributes: [] };
  if (!Array.isArray(value)) {
    return { issue: { field: 'attributes', value: typeof value, allowed: 'a list of {type, ...}' } };
  }
  const byType = new Map<ApiTokenAttributeType, string[]>();
  for (const item of value) {
    const type = isRecord(item) ? item.type : undefined;
    if (typeof type !== 'string' || !(API_TOKEN_ATTRIBUTE_TYPES as readonly string[]).includes(type)) {
      return {
        issue: {
          field: 'attributes.type',
          value: String(type),
          allowed: API_TOKEN_ATTRIBUTE_TYPES.join(', '),
        },
      };
    }
    const known = type as ApiTokenAttributeType;
    const key = LIST_KEY[known];
    const field = `attributes.${key}`;
    if (byType.has(known))
      return { issue: { field: 'attributes.type', value: type, allowed: 'each type once' } };
    const list = (item as Record<string, unknown>)[key];
    if (!Array.isArray(list) || list.length === 0 || list.length > API_TOKEN_LIMITS.maxEntries) {
      return {
        issue: {
          field,
          value: Array.isArray(list) ? `${list.length} entries` : String(list),
          allowed: `a list of 1 to ${API_TOKEN_LIMITS.maxEntries} entries`,
        },
      };
    }
    const entries: string[] = [];
    for (const raw of list) {
      if (typeof raw !== 'string' || raw.length > API_TOKEN_LIMITS.maxEntryLength) {
        return { issue: { field, value: String(raw).slice(0, 40), allowed: 'strings' } };
      }
      const entry = known === 'MethodAllowedList' ? raw.trim().toUpperCase() : raw.trim();
      const refused = checkEntry(known, entry);
      if (refused) return { issue: { field, value: entry.slice(0, 80), allowed: refused } };
      if (!entries.includes(entry)) entries.push(entry);
    }
    byType.set(known, entries);
  }
  return {
    attributes: [...byType].map(
      ([type, entries]) => ({ type, [LIST_KEY[type]]: entries }) as unknown as ApiTokenAttribute,
    ),
  };
}

/** Stored attributes read back; anything unreadable limits the token to nothing (fails closed). */
export function storedApiTokenAttributes(text: string | null): ApiTokenAttribute[] | undefined {
  if (text === null || text === '') return [];
  try {
    const parsed = parseApiTokenAttributes(JSON.parse(text));
    return 'attributes' in parsed ? parsed.attributes : undefined;
  } catch {
    return undefined;
  }
}

function addressAllowed(allowed: readonly string[], address: string): boolean {
  const plain = plainAddress(address);
  const family = isIP(plain);
  if (family === 0) return false;
  const list = new BlockList();
  for (const entry of allowed) {
    const [base, prefix] = entry.split('/');
    const type = isIP(base) === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) list.addAddress(plainAddress(base), type);
    else list.addSubnet(base, Number(prefix), type);
  }
  return list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Why the token's limits refuse a request, naming the limit, or undefined when they let it through.
 * Every attribute must pass.
 */
export function apiTokenRefusal(
  attributes: readonly ApiTokenAttribute[],
  request: ApiTokenRequest,
): string | undefined {
  const method = request.method.toUpperCase();
  const asMethod = method === 'HEAD' ? 'GET' : method;
  for (const attribute of attributes) {
    switch (attribute.type) {
      case 'IpAllowedList':
        if (!addressAllowed(attribute.allowedIps, request.address)) {
          return `the request's IP address ${plainAddress(request.address)} is not in the token's allowed IPs`;
        }
        break;
      case 'MethodAllowedList':
        if (!attribute.allowedMethods.includes(asMethod)) {
          return `HTTP method ${method} is not in the token's allowed methods (${attribute.allowedMethods.join(', ')})`;
        }
        break;
      case 'RefererAllowedList':
        if (request.referrer === undefined || !attribute.allowedReferrers.includes(request.referrer)) {
          return request.referrer === undefined
            ? 'the request has no Referer header and the token allows only listed referrers'
            : `referrer ${request.referrer.slice(0, 200)} is not in the token's allowed referrers`;
        }
        break;
      case 'ScopeAllowedList':
        // `read` is the only scope: a token with a scope list reads and never writes.
        if (asMethod !== 'GET') {
          return `the token is read-only (scope read): HTTP method ${method} is not allowed`;
        }
        break;
    }
  }
  return undefined;
}
