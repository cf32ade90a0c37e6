import { hasAuthority, type Authority } from './authorities.ts';

// DHIS2's rules for writing users, user roles and user groups: who may write each type at all, which
// roles a user may hand out, and which users it may change. Pure: the metadata import applies them
// (metadata-user-access-validator.ts) to every object of these types it is asked to write.

export const USER_ADMIN_COLLECTIONS = ['users', 'userRoles', 'userGroups'] as const;
export type UserAdminCollection = (typeof USER_ADMIN_COLLECTIONS)[number];

/**
 * The authorities that let a user write each type (DHIS2's schema authorities): any one of a list
 * will do. Updating needs what creating needs; DHIS2's public and private add are not told apart
 * here: which one a change of sharing needs is the sharing stage's rule (metadata-sharing-rules.ts).
 */
export const USER_ADMIN_AUTHORITIES: Readonly<
  Record<UserAdminCollection, { write: readonly Authority[]; delete: readonly Authority[] }>
> = {
  users: { write: ['F_USER_ADD'], delete: ['F_USER_DELETE'] },
  userRoles: { write: ['F_USERROLE_PUBLIC_ADD', 'F_USERROLE_PRIVATE_ADD'], delete: ['F_USERROLE_DELETE'] },
  userGroups: {
    write: ['F_USERGROUP_PUBLIC_ADD', 'F_USERGROUP_PRIVATE_ADD'],
    delete: ['F_USERGROUP_DELETE'],
  },
};

export function isUserAdminCollection(collection: string): collection is UserAdminCollection {
  return (USER_ADMIN_COLLECTIONS as readonly string[]).includes(collection);
}

/** Whether `granted` may create or update (`write`) or delete objects of `collection`. */
export function mayWriteType(
  granted: ReadonlySet<string>,
  collection: UserAdminCollection,
  action: 'write' | 'delete',
): boolean {
  return USER_ADMIN_AUTHORITIES[collection][action].some((authority) => hasAuthority(granted, authority));
}

/** The authority strings of a role body (`authorities: [...]`), skipping anything malformed. */
export function roleAuthorities(role: Record<string, unknown> | undefined): string[] {
  const list = role?.authorities;
  return Array.isArray(list) ? list.filter((a): a is string => typeof a === 'string') : [];
}

/**
 * The authorities in `wanted` that `granted` does not hold; none when it holds `ALL`. Every string
 * counts, known to Ferry or not: a user can only pass on what it has (a role imported from DHIS2
 * with `F_DATAELEMENT_PUBLIC_ADD` is as much a grant as one with an authority Ferry checks).
 */
export function missingAuthorities(granted: ReadonlySet<string>, wanted: Iterable<string>): string[] {
  if (granted.has('ALL')) return [];
  return [...new Set(wanted)].filter((authority) => !granted.has(authority));
}

export interface Granter {
  readonly authorities: ReadonlySet<string>;
  /** UIDs of the granter's own roles. */
  readonly roleUids: ReadonlySet<string>;
}

/**
 * DHIS2's `User.canIssueUserRole` with `keyCanGrantOwnUserAuthorityGroups` at its default (false):
 * a superuser may assign any role; anyone else only a role that exists, is not one of its own roles
 * and has no authority it lacks (so never a role with `ALL`).
 */
export function canIssueUserRole(
  granter: Granter,
  role: { id: string; authorities: readonly string[] } | undefined,
): boolean {
  if (granter.authorities.has('ALL')) return true;
  if (!role || granter.roleUids.has(role.id)) return false;
  return missingAuthorities(granter.authorities, role.authorities).length === 0;
}

/**
 * Why `granter` may not change or delete a user holding `target` authorities, or undefined when it
 * may: a non-superuser can never touch a superuser (DHIS2's E3041), nor a user with an authority it
 * lacks itself. This is the part of DHIS2's "can manage" rule that needs no managed user groups:
 * a user may only manage users with at most its own rights.
 */
export function userManagementRefusal(
  granted: ReadonlySet<string>,
  target: ReadonlySet<string>,
): { reason: 'superuser' } | { reason: 'authorities'; missing: string[] } | undefined {
  if (granted.has('ALL')) return undefined;
  if (target.has('ALL')) return { reason: 'superuser' };
  const missing = missingAuthorities(granted, target);
  return missing.length > 0 ? { reason: 'authorities', missing } : undefined;
}
