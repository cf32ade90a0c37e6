/**
 * DHIS2's data sharing, read from metadata bodies as DHIS2 writes them, and evaluated for a user.
 *
 * An access string has eight characters: metadata read and write (`rw` at positions 1-2), data read
 * and write (`rw` at positions 3-4), and four unused (`--------` is no access, `rwrw----` full).
 * Sharing grants an access string to everyone (public), to single users and to user groups, in
 * one of two shapes:
 * - DHIS2 2.36 and later: `sharing: {owner, external, public, users: {uid: {id, access}},
 *   userGroups: {uid: {id, access}}}`;
 * - before: `publicAccess`, `userAccesses: [{id|userUid|user: {id}, access}]` and
 *   `userGroupAccesses: [{id|userGroupUid|userGroup: {id}, access}]`.
 * When a body has a `sharing` object it wins: 2.36+ exports carry both shapes, generated from it.
 *
 * Decided here, unlike DHIS2 (docs/formats/data-values.md, "Differences from DHIS2"): an object with
 * no sharing information at all (neither shape; an export made with `skipSharing`, an older or
 * hand-written file, Ferry's own default category model) is treated as public data read and write
 * (`rwrw----`). DHIS2 would reset it to its default on import, public metadata access without data
 * access, which would refuse every non-superuser's data access on such a database. An object that
 * has sharing information but no public access string has no public access, as in DHIS2.
 *
 * As DHIS2's AclService: users with authority ALL pass every check; data write implies data read;
 * the owner (`sharing.owner`, `user`) gets metadata access only, not data access; an attribute option
 * combo is data-readable when every one of its category options is (the default combo, and a combo
 * without options, always are). Pure: callers load the objects.
 */

import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../category/default-category-model.ts';

/** The access given to an object that carries no sharing information (see above). */
export const ACCESS_WITHOUT_SHARING = 'rwrw----';

export const SHARING_PERMISSIONS = ['metadataRead', 'metadataWrite', 'dataRead', 'dataWrite'] as const;
export type SharingPermission = (typeof SHARING_PERMISSIONS)[number];

/** Position and letter of each permission in an access string. */
const PERMISSION_AT: Readonly<Record<SharingPermission, readonly [number, string]>> = {
  metadataRead: [0, 'r'],
  metadataWrite: [1, 'w'],
  dataRead: [2, 'r'],
  dataWrite: [3, 'w'],
};

/** Who a sharing check is for. */
export interface SharingSubject {
  readonly userUid: string;
  readonly userGroupUids: readonly string[];
  /** Authority ALL: every check passes. */
  readonly superuser: boolean;
}

/** Sharing in one shape whichever the body used; absent entries grant nothing. */
export interface ObjectSharing {
  /** Public access string; undefined means no public access. */
  readonly public: string | undefined;
  /** User UID → its access strings (usually one). */
  readonly users: ReadonlyMap<string, readonly string[]>;
  /** User group UID → its access strings (usually one). */
  readonly userGroups: ReadonlyMap<string, readonly string[]>;
}

/**
 * Whether an access string grants a permission. A malformed string grants only what its characters
 * at the permission's position say: DHIS2 reads access strings by position too.
 */
export function accessGrants(access: unknown, permission: SharingPermission): boolean {
  if (typeof access !== 'string') return false;
  const [position, letter] = PERMISSION_AT[permission];
  return access[position] === letter;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function idOf(value: unknown): string | undefined {
  return isRecord(value) && typeof value.id === 'string' ? value.id : undefined;
}

/**
 * Access entries of either shape: the 2.36+ map `{uid: {id, access}}` (the key stands in for a
 * missing `id`), or a list `[{id | <uidKey> | <refKey>: {id}, access}]`. Entries without a UID or an
 * access string are skipped; a UID listed twice keeps every access string (any of them may grant).
 */
function accessEntries(value: unknown, uidKey: string, refKey: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const add = (uid: unknown, access: unknown): void => {
    if (typeof uid !== 'string' || typeof access !== 'string') return;
    const list = out.get(uid);
    if (list) list.push(access);
    else out.set(uid, [access]);
  };
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (!isRecord(entry)) continue;
      add(typeof entry.id === 'string' ? entry.id : (entry[uidKey] ?? idOf(entry[refKey])), entry.access);
    }
  } else if (isRecord(value)) {
    for (const [key, entry] of Object.entries(value)) {
      if (isRecord(entry)) add(typeof entry.id === 'string' ? entry.id : key, entry.access);
    }
  }
  return out;
}

/**
 * The sharing an object carries, or undefined when it carries none: no `sharing` object, no
 * `publicAccess` string and no user or user group access entries.
 */
export function readSharing(object: Readonly<Record<string, unknown>>): ObjectSharing | undefined {
  const sharing = object.sharing;
  if (isRecord(sharing)) {
    return {
      public: typeof sharing.public === 'string' ? sharing.public : undefined,
      users: accessEntries(sharing.users, 'userUid', 'user'),
      userGroups: accessEntries(sharing.userGroups, 'userGroupUid', 'userGroup'),
    };
  }
  const users = accessEntries(object.userAccesses, 'userUid', 'user');
  const userGroups = accessEntries(object.userGroupAccesses, 'userGroupUid', 'userGroup');
  const publicAccess = typeof object.publicAccess === 'string' ? object.publicAccess : undefined;
  if (publicAccess === undefined && users.size === 0 && userGroups.size === 0) return undefined;
  return { public: publicAccess, users, userGroups };
}

/** Whether the subject has a permission on an object through its sharing (ALL: always). */
export function hasSharingPermission(
  object: Readonly<Record<string, unknown>>,
  subject: SharingSubject,
  permission: SharingPermission,
): boolean {
  if (subject.superuser) return true;
  const sharing = readSharing(object);
  if (!sharing) return accessGrants(ACCESS_WITHOUT_SHARING, permission);
  if (accessGrants(sharing.public, permission)) return true;
  const anyGrants = (list: readonly string[] | undefined): boolean =>
    list !== undefined && list.some((access) => accessGrants(access, permission));
  if (anyGrants(sharing.users.get(subject.userUid))) return true;
  return subject.userGroupUids.some((group) => anyGrants(sharing.userGroups.get(group)));
}

/** DHIS2's `canDataRead`: data read, or data write (which implies it). */
export function canDataRead(object: Readonly<Record<string, unknown>>, subject: SharingSubject): boolean {
  return (
    hasSharingPermission(object, subject, 'dataRead') || hasSharingPermission(object, subject, 'dataWrite')
  );
}

/** DHIS2's `canDataWrite`. */
export function canDataWrite(object: Readonly<Record<string, unknown>>, subject: SharingSubject): boolean {
  return hasSharingPermission(object, subject, 'dataWrite');
}

/** UIDs of an option combo's `categoryOptions` references. */
export function categoryOptionUidsOf(combo: Readonly<Record<string, unknown>>): string[] {
  const options = combo.categoryOptions;
  if (!Array.isArray(options)) return [];
  return options.map(idOf).filter((id): id is string => id !== undefined);
}

/**
 * Whether the subject may read data of an attribute option combo: every category option of it must
 * be data-readable (DHIS2 checks each option's sharing, not the combo's). `optionOf` looks options
 * up by UID; an option Ferry does not hold carries no sharing information, so it does not refuse
 * (consistent with the rule for objects without sharing). DHIS2 asks for all options readable or
 * all writable; here each option may be either, a difference only for write-only access strings
 * (`---w----`), which DHIS2's own sharing dialogs never produce.
 */
export function canDataReadOptionCombo(
  combo: Readonly<Record<string, unknown>> & { id: string },
  optionOf: (uid: string) => Readonly<Record<string, unknown>> | undefined,
  subject: SharingSubject,
): boolean {
  return everyOption(combo, optionOf, subject, canDataRead);
}

/**
 * Whether the subject may write data of an option combo (category or attribute): every category
 * option data-writable, as DHIS2 2.42's import checks per value (E7614-E7616). Options Ferry does not
 * hold, the default combo and a combo without options, as for reading.
 */
export function canDataWriteOptionCombo(
  combo: Readonly<Record<string, unknown>> & { id: string },
  optionOf: (uid: string) => Readonly<Record<string, unknown>> | undefined,
  subject: SharingSubject,
): boolean {
  return everyOption(combo, optionOf, subject, canDataWrite);
}

function everyOption(
  combo: Readonly<Record<string, unknown>> & { id: string },
  optionOf: (uid: string) => Readonly<Record<string, unknown>> | undefined,
  subject: SharingSubject,
  allowed: (option: Readonly<Record<string, unknown>>, subject: SharingSubject) => boolean,
): boolean {
  if (subject.superuser || combo.id === DEFAULT_CATEGORY_OPTION_COMBO_UID) return true;
  for (const uid of categoryOptionUidsOf(combo)) {
    const option = optionOf(uid);
    if (option && !allowed(option, subject)) return false;
  }
  return true;
}
