import { referenceIds } from '../../domain/access/principal.ts';
import {
  canIssueUserRole,
  isUserAdminCollection,
  mayWriteType,
  missingAuthorities,
  roleAuthorities,
  userManagementRefusal,
  USER_ADMIN_COLLECTIONS,
  type Granter,
} from '../../domain/access/user-admin-rules.ts';
import { describeObject, errorReport } from '../../domain/metadata-import/import-report.ts';
import type { ImportEntry, MetadataImportBundle } from './metadata-import-bundle.ts';

// The stage of a metadata import that keeps it from being a way to raise one's own rights: users,
// user roles and user groups are written only under DHIS2's rules (user-admin-rules.ts). It runs
// whatever skipValidation says, and only for a principal: the operator (`ferry import metadata`,
// the demo seeder) has every right.

/**
 * Refuses, object by object, what the importing user may not write: a type it lacks the authority
 * for (E3000 create, E3001 update, E3002 delete), a role with an authority it lacks, before or after
 * the change (E3032), a user with more rights than its own (E3041 for a superuser, else E3001 or
 * E3002 naming the authorities), and a role it may not hand out (E3003).
 */
export async function validateUserAccess(bundle: MetadataImportBundle): Promise<void> {
  const principal = bundle.principal;
  if (!principal || principal.authorities.has('ALL')) return;
  const entries = USER_ADMIN_COLLECTIONS.flatMap((collection) => bundle.entries.get(collection) ?? []);
  if (entries.length === 0) return;
  const granter: Granter = {
    authorities: principal.authorities,
    roleUids: new Set(referenceIds(principal.user.userRoles)),
  };
  const roles = await roleAuthoritiesOf(bundle, entries);
  for (const entry of entries) {
    if (!isUserAdminCollection(entry.collection)) continue;
    const action = entry.action === 'delete' ? 'delete' : 'write';
    if (!mayWriteType(granter.authorities, entry.collection, action)) {
      entry.errors.push(refusal(bundle, entry));
      continue;
    }
    if (entry.collection === 'userRoles') checkRole(bundle, entry);
    if (entry.collection === 'users') checkUser(bundle, entry, granter, roles);
  }
}

/** Whether the import writes users, roles or groups, so cached principals must be dropped. */
export function changesUserAccess(bundle: MetadataImportBundle): boolean {
  return USER_ADMIN_COLLECTIONS.some((collection) =>
    (bundle.entries.get(collection) ?? []).some((entry) => entry.errors.length === 0),
  );
}

/** E3000, E3001 or E3002 for the entry's action, with `value` naming what the user lacks, if given. */
function refusal(bundle: MetadataImportBundle, entry: ImportEntry, missing?: readonly string[]) {
  const username = bundle.principal?.username ?? '';
  const described = describeObject(entry.schema.klass, entry.uid, entry.object.name ?? entry.existing?.name);
  const [code, args] =
    entry.action === 'create'
      ? (['E3000', [username, entry.schema.klass]] as const)
      : entry.action === 'update'
        ? (['E3001', [username, described]] as const)
        : (['E3002', [username, described]] as const);
  return errorReport(code, args, {
    ...bundle.main(entry),
    ...(missing ? { errorProperty: 'userRoles', value: missing.join(', ') } : {}),
  });
}

/**
 * A role may be written only by a user holding every authority it has now and will have after the
 * change: nobody grants what it lacks, and only a superuser edits or deletes a role with `ALL`.
 */
function checkRole(bundle: MetadataImportBundle, entry: ImportEntry): void {
  const stored = roleAuthorities(entry.existing);
  const written = entry.action === 'delete' ? [] : roleAuthorities(bundle.mergedObject(entry));
  const missing = missingAuthorities(bundle.principal!.authorities, [...stored, ...written]);
  if (missing.length === 0) return;
  entry.errors.push(
    errorReport('E3032', [bundle.principal!.username], {
      ...bundle.main(entry),
      errorProperty: 'authorities',
      value: missing.join(', '),
    }),
  );
}

/**
 * A stored user may be changed or deleted only if it has no more rights than the importing user;
 * each role newly given to a user must be one the importing user may issue.
 */
function checkUser(
  bundle: MetadataImportBundle,
  entry: ImportEntry,
  granter: Granter,
  roles: ReadonlyMap<string, { stored: string[]; written: string[]; name?: string }>,
): void {
  const username = bundle.principal!.username;
  const previous = referenceIds(entry.existing?.userRoles);
  if (entry.existing) {
    const target = new Set(previous.flatMap((id) => roles.get(id)?.stored ?? []));
    const refused = userManagementRefusal(granter.authorities, target);
    if (refused?.reason === 'superuser') {
      entry.errors.push(
        errorReport('E3041', [username], { ...bundle.main(entry), errorProperty: 'userRoles' }),
      );
      return;
    }
    if (refused) {
      entry.errors.push(refusal(bundle, entry, refused.missing));
      return;
    }
  }
  if (entry.action === 'delete') return;
  const kept = new Set(previous);
  for (const roleUid of referenceIds(bundle.mergedObject(entry).userRoles)) {
    if (kept.has(roleUid)) continue;
    const role = roles.get(roleUid);
    // A role counts with the authorities it has now and those the payload gives it.
    const issued = role ? { id: roleUid, authorities: [...role.stored, ...role.written] } : undefined;
    if (canIssueUserRole(granter, issued)) continue;
    entry.errors.push(
      errorReport('E3003', [username, role?.name ?? roleUid], {
        ...bundle.main(entry),
        errorKlass: 'org.hisp.dhis.user.UserRole',
        errorProperty: 'userRoles',
        value: roleUid,
      }),
    );
  }
}

/**
 * Every role the payload's users have or are given, with its stored authorities and those the
 * payload writes (empty when it deletes or does not touch it); a role found nowhere is absent.
 */
async function roleAuthoritiesOf(
  bundle: MetadataImportBundle,
  entries: readonly ImportEntry[],
): Promise<Map<string, { stored: string[]; written: string[]; name?: string }>> {
  const uids = new Set<string>();
  for (const entry of entries) {
    if (entry.collection !== 'users') continue;
    for (const id of referenceIds(entry.existing?.userRoles)) uids.add(id);
    if (entry.action !== 'delete')
      for (const id of referenceIds(bundle.mergedObject(entry).userRoles)) uids.add(id);
  }
  const out = new Map<string, { stored: string[]; written: string[]; name?: string }>();
  const all = [...uids];
  for (let i = 0; i < all.length; i += 500) {
    for (const row of await bundle.context.metadata.findBy('userRoles', 'uid', all.slice(i, i + 500))) {
      const name = typeof row.object.name === 'string' ? row.object.name : undefined;
      out.set(row.object.id, { stored: roleAuthorities(row.object), written: [], name });
    }
  }
  for (const uid of all) {
    const entry = bundle.payloadByUid.get('userRoles')?.get(uid);
    if (!entry || entry.action === 'delete') continue;
    const object = bundle.mergedObject(entry);
    const known = out.get(uid);
    const name = typeof object.name === 'string' ? object.name : known?.name;
    out.set(uid, { stored: known?.stored ?? [], written: roleAuthorities(object), name });
  }
  return out;
}
