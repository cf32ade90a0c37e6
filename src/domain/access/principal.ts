import { effectiveViewScope } from './org-unit-scope.ts';
import { hasAuthority, type Authority } from './authorities.ts';
import { withoutUserSecrets } from './user-secrets.ts';
import type { SharingSubject } from './data-sharing.ts';

type MetadataObject = Record<string, unknown> & { id: string };

/** Who is making a request, resolved once per request from a user object and its roles. */
export interface Principal {
  readonly uid: string;
  readonly username: string;
  /** The user object as stored, without secrets. */
  readonly user: MetadataObject;
  /** Union of the authorities of the user's roles. */
  readonly authorities: ReadonlySet<string>;
  /** Data capture scope: the user's `organisationUnits`. */
  readonly captureOrgUnits: readonly string[];
  /** Data view scope: `dataViewOrganisationUnits`, or the capture scope when that is empty. */
  readonly viewOrgUnits: readonly string[];
  /**
   * The user groups the user is a member of: groups whose `users` list the user. That list is the
   * owning side in DHIS2 (a user's own `userGroups` is derived from it and may be stale in a file),
   * so only it grants group sharing.
   */
  readonly userGroupUids: readonly string[];
}

/** UIDs of a `[{id}]` reference list, skipping anything malformed. */
export function referenceIds(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const item of value) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'string') out.push(id);
  }
  return out;
}

export function buildPrincipal(
  user: MetadataObject,
  roles: readonly Record<string, unknown>[],
  userGroupUids: readonly string[] = [],
): Principal {
  const authorities = new Set<string>();
  for (const role of roles) {
    if (Array.isArray(role.authorities)) {
      for (const authority of role.authorities) if (typeof authority === 'string') authorities.add(authority);
    }
  }
  const captureOrgUnits = referenceIds(user.organisationUnits);
  return {
    uid: user.id,
    username: String(user.username ?? ''),
    user: withoutUserSecrets(user),
    authorities,
    captureOrgUnits,
    viewOrgUnits: effectiveViewScope(captureOrgUnits, referenceIds(user.dataViewOrganisationUnits)),
    userGroupUids: [...new Set(userGroupUids)],
  };
}

/** The principal as a sharing check sees it: user, groups, and whether it holds ALL. */
export function sharingSubjectOf(
  principal: Pick<Principal, 'uid' | 'userGroupUids' | 'authorities'>,
): SharingSubject {
  return {
    userUid: principal.uid,
    userGroupUids: principal.userGroupUids,
    superuser: principal.authorities.has('ALL'),
  };
}

export function principalHasAuthority(principal: Principal, authority: Authority): boolean {
  return hasAuthority(principal.authorities, authority);
}

/** Why a user may not sign in, or undefined: disabled, or past `accountExpiry`. */
export function accountRefusal(user: Record<string, unknown>, now = new Date()): string | undefined {
  if (user.disabled === true) return 'disabled';
  if (typeof user.accountExpiry === 'string') {
    const expiry = Date.parse(user.accountExpiry);
    if (Number.isFinite(expiry) && expiry <= now.getTime()) return 'expired';
  }
  return undefined;
}
