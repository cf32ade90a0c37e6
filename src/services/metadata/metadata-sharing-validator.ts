import { hasSharingPermission } from '../../domain/access/data-sharing.ts';
import { referenceIds, sharingSubjectOf } from '../../domain/access/principal.ts';
import {
  MANAGE_GROUP_MEMBERS_AUTHORITY,
  sharingChanged,
  sharingChangeRefusal,
} from '../../domain/access/metadata-sharing-rules.ts';
import { SHARING_PROPERTIES } from '../../domain/metadata-import/import-params.ts';
import { describeObject, errorReport } from '../../domain/metadata-import/import-report.ts';
import type { ImportEntry, MetadataImportBundle } from './metadata-import-bundle.ts';

// The stage of a metadata import that keeps sharing from being a way to raise one's own rights: an
// object is changed or deleted only by a user its current sharing gives metadata write, and its
// sharing is changed only under DHIS2's public/private rules (metadata-sharing-rules.ts). Like the
// user-access stage it runs whatever skipValidation says, and only for a principal without ALL:
// the operator (`ferry import metadata`, the demo seeder) and superusers keep every right.

/** Properties that change on every write or are derived, so they say nothing about an edit. */
const BOOKKEEPING = new Set(['lastUpdated', 'lastUpdatedBy', 'created', 'createdBy', 'href', 'access']);

/**
 * Refuses, object by object: an update (E3001) or deletion (E3002) of a stored object whose sharing
 * does not give the importing user metadata write, except a user group that only gains members,
 * for a holder of F_USERGROUP_MANAGING_RELATIONSHIPS_ADD; and a change of sharing (public access,
 * user or user group accesses) that makes the object public without the type's public authority
 * (E3008) or private without its public or private one (E3009). New objects are not checked here:
 * they have no sharing yet to respect.
 */
export function validateSharingAccess(bundle: MetadataImportBundle): void {
  const principal = bundle.principal;
  if (!principal || principal.authorities.has('ALL')) return;
  const subject = sharingSubjectOf(principal);
  for (const entry of bundle.allEntries()) {
    const existing = entry.existing;
    if (!existing || entry.action === 'create' || bundle.virtualDefaults.has(existing)) continue;
    // The user-access stage has already refused it; one rights error per object is enough.
    if (entry.errors.some((e) => e.errorCode.startsWith('E30'))) continue;
    const after = entry.action === 'delete' ? undefined : storedShape(bundle, entry);
    if (!hasSharingPermission(existing, subject, 'metadataWrite')) {
      const membersOnly =
        entry.collection === 'userGroups' &&
        after !== undefined &&
        principal.authorities.has(MANAGE_GROUP_MEMBERS_AUTHORITY) &&
        onlyAddsMembers(existing, after);
      if (!membersOnly) {
        entry.errors.push(noWriteAccess(bundle, entry));
        continue;
      }
    }
    if (after === undefined || !sharingChanged(existing, after)) continue;
    const refused = sharingChangeRefusal(principal.authorities, entry.collection, after);
    if (refused) {
      entry.errors.push(
        errorReport(refused.code, [principal.username, entry.schema.klass], {
          ...bundle.main(entry),
          errorProperty: 'sharing',
          value: refused.publicAccess,
        }),
      );
    }
  }
}

/** The object's sharing-relevant shape as the writer will store it (metadata-import-writer.ts). */
function storedShape(bundle: MetadataImportBundle, entry: ImportEntry): Record<string, unknown> {
  const existing = entry.existing!;
  if (bundle.membershipProperty) {
    const property = bundle.membershipProperty;
    const added = referenceIds(entry.object[property]).map((id) => ({ id }));
    const current = Array.isArray(existing[property]) ? (existing[property] as unknown[]) : [];
    return { ...existing, [property]: [...current, ...added] };
  }
  const object = { ...bundle.mergedObject(entry) };
  if (bundle.params.skipSharing) {
    for (const property of SHARING_PROPERTIES) {
      if (existing[property] !== undefined) object[property] = existing[property];
      else delete object[property];
    }
  }
  return object;
}

/** Whether `after` differs from `before` only by users added to the group's `users` list. */
function onlyAddsMembers(before: Record<string, unknown>, after: Record<string, unknown>): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (BOOKKEEPING.has(key) || key === 'users') continue;
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) return false;
  }
  const members = new Set(referenceIds(after.users));
  return referenceIds(before.users).every((uid) => members.has(uid));
}

/** E3001 for an update, E3002 for a deletion, naming what is missing. */
function noWriteAccess(bundle: MetadataImportBundle, entry: ImportEntry) {
  const described = describeObject(entry.schema.klass, entry.uid, entry.object.name ?? entry.existing?.name);
  return errorReport(
    entry.action === 'delete' ? 'E3002' : 'E3001',
    [bundle.principal?.username ?? '', described],
    { ...bundle.main(entry), errorProperty: 'sharing', value: 'metadata write sharing' },
  );
}
