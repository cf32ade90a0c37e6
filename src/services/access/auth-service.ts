import { createHmac, randomBytes } from 'node:crypto';
import type { Storage } from '../../storage/storage.ts';
import type { MetadataStore } from '../../storage/metadata-store.ts';
import { generateUid } from '../../domain/identifiers/uid.ts';
import {
  decoyPasswordHash,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../domain/access/password-hash.ts';
import { MAX_PASSWORD_LENGTH } from '../../domain/access/password-policy.ts';
import {
  generateApiToken,
  generateSessionToken,
  hashSecret,
  isWellFormedApiToken,
} from '../../domain/access/api-token-format.ts';
import {
  accountRefusal,
  buildPrincipal,
  referenceIds,
  type Principal,
} from '../../domain/access/principal.ts';
import {
  apiTokenRefusal,
  storedApiTokenAttributes,
  type ApiTokenAttribute,
  type ApiTokenRequest,
} from '../../domain/access/api-token-limits.ts';
import { FerryError } from '../../errors.ts';
import type { UserService } from './user-service.ts';
import { HTTP_LIMITS } from '../../codecs/input/input-limits.ts';
import { LoginThrottle, throttleAddress } from './login-throttle.ts';

export interface AuthServiceOptions {
  /** How long a verified Basic username/password pair is trusted without running scrypt again. */
  credentialCacheMs?: number;
  /** How long a resolved principal (user, roles, scope, user groups) is reused. */
  principalCacheMs?: number;
  /** Web session lifetime (absolute, not sliding). */
  sessionLifetimeMs?: number;
  /**
   * Failed sign-ins of one username from one address before backoff starts (the first delay is
   * `backoffBaseMs`, doubling with each failure); a key is forgotten `failureWindowMs` after its
   * last failure. Defaults in `HTTP_LIMITS`.
   */
  maxFailures?: number;
  failureWindowMs?: number;
  backoffBaseMs?: number;
  now?: () => number;
}

export interface ApiTokenInfo {
  id: string;
  name: string | null;
  created: string;
  /** ISO time, or null for a token that does not expire. */
  expires: string | null;
  /** The token's limits in DHIS2's shape (api-token-limits.ts); empty for an unlimited token. */
  attributes: ApiTokenAttribute[];
}

/** Bounds on the in-memory caches: enough for every active user, never unbounded. */
const MAX_CACHE_ENTRIES = 10_000;

/**
 * Turns presented credentials (Basic, `ApiToken`, session cookie) into a `Principal`, and manages
 * web sessions and personal access tokens. Only hashes of secrets are stored.
 *
 * Basic auth would run scrypt (~0.4 s, 128 MiB) on every request, so a verified pair is remembered
 * for `credentialCacheMs` as an HMAC under a key that lives only in this process: the cache never
 * holds the password, and a dump of it cannot be checked offline. Principals are cached for
 * `principalCacheMs`; `forgetUser` drops both at once when a user changes in this process (a change
 * made by another process, e.g. the CLI, takes effect within those windows).
 */
export class AuthService {
  private readonly storage: Storage;
  private readonly metadata: MetadataStore;
  private readonly users: UserService;
  private readonly credentialCacheMs: number;
  private readonly principalCacheMs: number;
  private readonly sessionLifetimeMs: number;
  private readonly now: () => number;
  private readonly cacheKey = randomBytes(32);
  private readonly verifiedCredentials = new Map<string, { uid: string; until: number }>();
  private readonly principals = new Map<string, { principal: Principal; until: number }>();
  /** Backoff per username and address, and per address over all usernames (a password spray). */
  private readonly byUser: LoginThrottle;
  private readonly byAddress: LoginThrottle;

  constructor(
    storage: Storage,
    metadata: MetadataStore,
    users: UserService,
    options: AuthServiceOptions = {},
  ) {
    this.storage = storage;
    this.metadata = metadata;
    this.users = users;
    this.credentialCacheMs = options.credentialCacheMs ?? 60_000;
    this.principalCacheMs = options.principalCacheMs ?? 30_000;
    this.sessionLifetimeMs = options.sessionLifetimeMs ?? 8 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
    const throttle = {
      baseDelayMs: options.backoffBaseMs ?? HTTP_LIMITS.loginBaseDelayMs,
      maxDelayMs: HTTP_LIMITS.loginMaxDelayMs,
      forgetAfterMs: options.failureWindowMs ?? HTTP_LIMITS.loginForgetAfterMs,
      maxKeys: HTTP_LIMITS.loginMaxKeys,
      now: this.now,
    };
    this.byUser = new LoginThrottle({
      ...throttle,
      freeFailures: options.maxFailures ?? HTTP_LIMITS.loginFreeFailures,
    });
    this.byAddress = new LoginThrottle({
      ...throttle,
      freeFailures: HTTP_LIMITS.loginFreeFailuresPerAddress,
    });
  }

  /** Keys the sign-in throttles hold (bounded by `HTTP_LIMITS.loginMaxKeys` each). */
  get throttledKeys(): number {
    return this.byUser.size + this.byAddress.size;
  }

  /**
   * Checks a username and password. Unknown user and wrong password fail alike (same error, same
   * time: an unknown user is verified against a decoy hash). Disabled or expired accounts are
   * refused only after a correct password, so their state is not revealed to a guesser.
   *
   * `address` is the client's (the HTTP layer passes the socket's address): failures slow down
   * that username from that address, and that address overall, never the user everywhere.
   */
  async verifyPassword(username: string, password: string, clientAddress = 'local'): Promise<Principal> {
    const address = throttleAddress(clientAddress);
    // Refused before anything about it is kept: the throttle's keys hold usernames.
    if (username.length > HTTP_LIMITS.maxUsernameChars) {
      throw new FerryError('F1000', [
        'username',
        `${username.slice(0, 40)}…`,
        `at most ${HTTP_LIMITS.maxUsernameChars} characters`,
      ]);
    }
    // PostgreSQL cannot compare text holding NUL (a database error, not a failed sign-in).
    if (username.includes('\0')) {
      throw new FerryError('F1000', ['username', username.replaceAll('\0', '\\0'), 'no NUL characters']);
    }
    const userKey = `${address}\0${username}`;
    this.byAddress.check(address);
    this.byUser.check(userKey);
    const fail = (): never => {
      this.byUser.fail(userKey);
      this.byAddress.fail(address);
      throw new FerryError('F1101');
    };
    if (password.length > MAX_PASSWORD_LENGTH * 4) return fail();
    const user = await this.users.findByUsername(username);
    const row = user
      ? await this.storage.queryOne<{ password_hash: string }>(
          'SELECT password_hash FROM user_credential WHERE user_uid = ?',
          [user.id],
        )
      : undefined;
    const matches = await verifyPassword(password, row?.password_hash ?? (await decoyPasswordHash()));
    if (!user || !row || !matches) return fail();
    this.byUser.succeed(userKey);
    const principal = await this.principalFor(user.id);
    if (needsRehash(row.password_hash)) {
      // A hash made with older, weaker parameters is upgraded now that the password is known.
      await this.storage.execute(
        'UPDATE user_credential SET password_hash = ?, updated = ? WHERE user_uid = ?',
        [await hashPassword(password), new Date(this.now()).toISOString(), user.id],
      );
    }
    this.remember(this.verifiedCredentials, this.credentialKey(username, password), {
      uid: user.id,
      until: this.now() + this.credentialCacheMs,
    });
    return principal;
  }

  /** HTTP Basic: a cached verification when one is fresh, else a full password check. */
  async authenticateBasic(username: string, password: string, address?: string): Promise<Principal> {
    const cached = this.verifiedCredentials.get(this.credentialKey(username, password));
    if (cached && cached.until > this.now()) return this.principalFor(cached.uid);
    return this.verifyPassword(username, password, address);
  }

  /**
   * The principal of a personal access token, read from the database on every request so that a
   * revoked token stops at once. Unknown or revoked: 401 F1101; expired: 401 F1103; a request the
   * token's limits refuse (IP, method, referrer, read scope): 403 F1109 naming the limit. Without
   * `request` a token that has limits is refused: they cannot be checked.
   */
  async authenticateApiToken(token: string, request?: ApiTokenRequest): Promise<Principal> {
    if (!isWellFormedApiToken(token)) throw new FerryError('F1101');
    const row = await this.storage.queryOne<{
      user_uid: string;
      expires: string | null;
      attributes: string | null;
    }>('SELECT user_uid, expires, attributes FROM api_token WHERE token_hash = ?', [hashSecret(token)]);
    if (!row) throw new FerryError('F1101');
    if (row.expires !== null && Date.parse(row.expires) <= this.now()) throw new FerryError('F1103');
    const attributes = storedApiTokenAttributes(row.attributes);
    if (!attributes) throw new FerryError('F1109', ["the token's stored limits cannot be read"]);
    if (attributes.length > 0) {
      if (!request) throw new FerryError('F1109', ['the request cannot be checked against its limits']);
      const refusal = apiTokenRefusal(attributes, request);
      if (refusal) throw new FerryError('F1109', [refusal]);
    }
    return this.principalFor(row.user_uid);
  }

  /** Signs in for the web app: returns the session token for the cookie (only its hash is stored). */
  async createSession(
    username: string,
    password: string,
    address?: string,
  ): Promise<{ token: string; expires: Date; principal: Principal }> {
    const principal = await this.verifyPassword(username, password, address);
    const token = generateSessionToken();
    const created = new Date(this.now());
    const expires = new Date(created.getTime() + this.sessionLifetimeMs);
    await this.storage.transaction(async (tx) => {
      await tx.execute('DELETE FROM web_session WHERE expires < ?', [created.toISOString()]);
      await tx.execute(
        'INSERT INTO web_session (session_hash, user_uid, created, expires) VALUES (?, ?, ?, ?)',
        [hashSecret(token), principal.uid, created.toISOString(), expires.toISOString()],
      );
    });
    return { token, expires, principal };
  }

  /** The principal of a session cookie; `undefined` when the session is unknown or over. */
  async authenticateSession(token: string): Promise<Principal | undefined> {
    if (token.length === 0 || token.length > 128) return undefined;
    const row = await this.storage.queryOne<{ user_uid: string; expires: string }>(
      'SELECT user_uid, expires FROM web_session WHERE session_hash = ?',
      [hashSecret(token)],
    );
    if (!row || Date.parse(row.expires) <= this.now()) return undefined;
    return this.principalFor(row.user_uid);
  }

  async endSession(token: string): Promise<void> {
    await this.storage.execute('DELETE FROM web_session WHERE session_hash = ?', [hashSecret(token)]);
  }

  /** A new personal access token for `userUid`; the token itself is returned once and never stored. */
  async createApiToken(
    userUid: string,
    options: { name?: string; expires?: Date; attributes?: readonly ApiTokenAttribute[] } = {},
  ): Promise<ApiTokenInfo & { token: string }> {
    const token = generateApiToken();
    const info: ApiTokenInfo = {
      id: generateUid(),
      name: options.name ?? null,
      created: new Date(this.now()).toISOString(),
      expires: options.expires ? options.expires.toISOString() : null,
      attributes: [...(options.attributes ?? [])],
    };
    await this.storage.execute(
      'INSERT INTO api_token (token_id, user_uid, token_hash, name, created, expires, attributes) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [
        info.id,
        userUid,
        hashSecret(token),
        info.name,
        info.created,
        info.expires,
        info.attributes.length > 0 ? JSON.stringify(info.attributes) : null,
      ],
    );
    return { ...info, token };
  }

  async listApiTokens(userUid: string): Promise<ApiTokenInfo[]> {
    const rows = await this.storage.query<{
      token_id: string;
      name: string | null;
      created: string;
      expires: string | null;
      attributes: string | null;
    }>(
      'SELECT token_id, name, created, expires, attributes FROM api_token WHERE user_uid = ? ORDER BY created, token_id',
      [userUid],
    );
    return rows.map((r) => ({
      id: r.token_id,
      name: r.name,
      created: r.created,
      expires: r.expires,
      attributes: storedApiTokenAttributes(r.attributes) ?? [],
    }));
  }

  /** Revokes one of the user's own tokens; false when the user has no token with that id. */
  async revokeApiToken(userUid: string, tokenId: string): Promise<boolean> {
    const result = await this.storage.execute('DELETE FROM api_token WHERE token_id = ? AND user_uid = ?', [
      tokenId,
      userUid,
    ]);
    return result.changes > 0;
  }

  /** The principal of a user by UID, refused (F1105) when the account is disabled or expired. */
  async principalFor(userUid: string): Promise<Principal> {
    const cached = this.principals.get(userUid);
    if (cached && cached.until > this.now()) return cached.principal;
    return this.currentPrincipal(userUid);
  }

  /**
   * The principal as stored now, never taken from the cache (it replaces the cached one): for a
   * queued job that starts long after its request, when the user may have lost a role, an
   * authority or scope since, in this process or another one. Refused as `principalFor` is.
   */
  async currentPrincipal(userUid: string): Promise<Principal> {
    const user = await this.metadata.get('users', userUid);
    if (!user) throw new FerryError('F1101');
    const refusal = accountRefusal(user, new Date(this.now()));
    if (refusal) throw new FerryError('F1105', [refusal]);
    const roleIds = referenceIds(user.userRoles);
    const roles = roleIds.length > 0 ? await this.metadata.findBy('userRoles', 'uid', roleIds) : [];
    const groups = await this.metadata.referrerUids('users', user.id, 'userGroups', 'users');
    const principal = buildPrincipal(
      user,
      roles.map((r) => r.object),
      groups,
    );
    this.remember(this.principals, userUid, { principal, until: this.now() + this.principalCacheMs });
    return principal;
  }

  /** Drops cached credentials and principal of a user (password changed, disabled, roles edited). */
  forgetUser(userUid: string): void {
    this.principals.delete(userUid);
    for (const [key, entry] of this.verifiedCredentials) {
      if (entry.uid === userUid) this.verifiedCredentials.delete(key);
    }
  }

  /** Drops every cached principal and credential: after an import that changed users or roles. */
  forgetAll(): void {
    this.principals.clear();
    this.verifiedCredentials.clear();
  }

  private credentialKey(username: string, password: string): string {
    return createHmac('sha256', this.cacheKey)
      .update(username)
      .update('\0')
      .update(password)
      .digest('base64');
  }

  /** Map insert with a bound: the oldest entry goes first (Maps iterate in insertion order). */
  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    if (map.size >= MAX_CACHE_ENTRIES) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
    }
    map.set(key, value);
  }
}
