import { ACCESS_WITHOUT_SHARING, readSharing, type ObjectSharing } from './data-sharing.ts';

// DHIS2's rules for changing an object's sharing through the metadata import (its AclService's
// `verifySharing`, `canMakePublic`, `canMakePrivate`): sharing is read the way data sharing reads it
// (data-sharing.ts), so what the import guards is exactly what the data checks will later grant.
// Pure: the metadata import's sharing stage (metadata-sharing-validator.ts) applies them.

/** DHIS2's "no access" string: an object with this public access is private. */
export const PRIVATE_ACCESS = '--------';

/**
 * DHIS2's authorities to make objects of a type public and to make them private (the schema
 * descriptors' CREATE_PUBLIC and CREATE_PRIVATE), for the shareable types Ferry imports. A type not
 * listed has no authority Ferry knows of, so only a superuser changes its objects' sharing.
 */
export const SHARING_AUTHORITIES: Readonly<Record<string, { public: string; private?: string }>> = {
  userRoles: { public: 'F_USERROLE_PUBLIC_ADD', private: 'F_USERROLE_PRIVATE_ADD' },
  userGroups: { public: 'F_USERGROUP_PUBLIC_ADD', private: 'F_USERGROUP_PRIVATE_ADD' },
  optionSets: { public: 'F_OPTIONSET_PUBLIC_ADD', private: 'F_OPTIONSET_PRIVATE_ADD' },
  optionGroups: { public: 'F_OPTIONGROUP_PUBLIC_ADD', private: 'F_OPTIONGROUP_PRIVATE_ADD' },
  optionGroupSets: { public: 'F_OPTIONGROUPSET_PUBLIC_ADD', private: 'F_OPTIONGROUPSET_PRIVATE_ADD' },
  legendSets: { public: 'F_LEGEND_SET_PUBLIC_ADD', private: 'F_LEGEND_SET_PRIVATE_ADD' },
  categoryOptions: { public: 'F_CATEGORY_OPTION_PUBLIC_ADD', private: 'F_CATEGORY_OPTION_PRIVATE_ADD' },
  categories: { public: 'F_CATEGORY_PUBLIC_ADD', private: 'F_CATEGORY_PRIVATE_ADD' },
  categoryCombos: { public: 'F_CATEGORY_COMBO_PUBLIC_ADD', private: 'F_CATEGORY_COMBO_PRIVATE_ADD' },
  categoryOptionGroups: {
    public: 'F_CATEGORY_OPTION_GROUP_PUBLIC_ADD',
    private: 'F_CATEGORY_OPTION_GROUP_PRIVATE_ADD',
  },
  categoryOptionGroupSets: {
    public: 'F_CATEGORY_OPTION_GROUP_SET_PUBLIC_ADD',
    private: 'F_CATEGORY_OPTION_GROUP_SET_PRIVATE_ADD',
  },
  dataElements: { public: 'F_DATAELEMENT_PUBLIC_ADD', private: 'F_DATAELEMENT_PRIVATE_ADD' },
  dataElementGroups: { public: 'F_DATAELEMENTGROUP_PUBLIC_ADD', private: 'F_DATAELEMENTGROUP_PRIVATE_ADD' },
  dataElementGroupSets: {
    public: 'F_DATAELEMENTGROUPSET_PUBLIC_ADD',
    private: 'F_DATAELEMENTGROUPSET_PRIVATE_ADD',
  },
  indicators: { public: 'F_INDICATOR_PUBLIC_ADD', private: 'F_INDICATOR_PRIVATE_ADD' },
  indicatorGroups: { public: 'F_INDICATORGROUP_PUBLIC_ADD', private: 'F_INDICATORGROUP_PRIVATE_ADD' },
  indicatorGroupSets: {
    public: 'F_INDICATORGROUPSET_PUBLIC_ADD',
    private: 'F_INDICATORGROUPSET_PRIVATE_ADD',
  },
  dataSets: { public: 'F_DATASET_PUBLIC_ADD', private: 'F_DATASET_PRIVATE_ADD' },
  programs: { public: 'F_PROGRAM_PUBLIC_ADD', private: 'F_PROGRAM_PRIVATE_ADD' },
  dashboards: { public: 'F_DASHBOARD_PUBLIC_ADD' },
};

/**
 * DHIS2's authority to add members to a user group without write access to the group itself
 * (its "managing relationships" authority).
 */
export const MANAGE_GROUP_MEMBERS_AUTHORITY = 'F_USERGROUP_MANAGING_RELATIONSHIPS_ADD';

function sortedEntries(map: ReadonlyMap<string, readonly string[]>): Array<[string, string[]]> {
  return [...map]
    .map(([uid, list]): [string, string[]] => [uid, [...new Set(list)].sort()])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The access an object's sharing grants, in one comparable form. An object without any sharing
 * information grants `ACCESS_WITHOUT_SHARING` to everyone (data-sharing.ts), so dropping an
 * object's sharing is making it public.
 */
function canonical(sharing: ObjectSharing | undefined): string {
  if (!sharing) return JSON.stringify([ACCESS_WITHOUT_SHARING, [], []]);
  return JSON.stringify([
    sharing.public ?? PRIVATE_ACCESS,
    sortedEntries(sharing.users),
    sortedEntries(sharing.userGroups),
  ]);
}

/** Whether the access an object's sharing grants differs between two versions of it. */
export function sharingChanged(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): boolean {
  return canonical(readSharing(before)) !== canonical(readSharing(after));
}

/** The public access string an object grants: `ACCESS_WITHOUT_SHARING` when it has no sharing. */
export function effectivePublicAccess(object: Readonly<Record<string, unknown>>): string {
  const sharing = readSharing(object);
  if (!sharing) return ACCESS_WITHOUT_SHARING;
  return sharing.public ?? PRIVATE_ACCESS;
}

/** Whether a public access string grants anything (DHIS2: anything but `--------` is public). */
export function isPublicAccess(access: string): boolean {
  return /[rw]/.test(access);
}

/**
 * DHIS2's `verifySharing` for a user who changes an object's sharing: making (or keeping) it public
 * needs the type's public authority (E3008), private needs the public or the private one (E3009).
 * Undefined when the user may; a superuser (ALL) always may.
 */
export function sharingChangeRefusal(
  granted: ReadonlySet<string>,
  collection: string,
  after: Readonly<Record<string, unknown>>,
): { code: 'E3008' | 'E3009'; publicAccess: string } | undefined {
  if (granted.has('ALL')) return undefined;
  const authorities = SHARING_AUTHORITIES[collection];
  const publicAccess = effectivePublicAccess(after);
  const canMakePublic = authorities !== undefined && granted.has(authorities.public);
  if (isPublicAccess(publicAccess)) return canMakePublic ? undefined : { code: 'E3008', publicAccess };
  const canMakePrivate =
    canMakePublic || (authorities?.private !== undefined && granted.has(authorities.private));
  return canMakePrivate ? undefined : { code: 'E3009', publicAccess };
}
