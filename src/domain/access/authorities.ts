/**
 * The authorities Ferry checks, with DHIS2's names so that roles imported from DHIS2 keep working.
 * A user's authorities are the union of its roles' `authorities` lists; `ALL` implies every one.
 */
export const AUTHORITIES = [
  /** Superuser: implies every other authority. */
  'ALL',
  /** Import metadata (`POST /api/metadata`, JSON/CSV/GML/GeoJSON). */
  'F_METADATA_IMPORT',
  /** Export metadata in bulk (`GET /api/metadata`, dependency exports). Plain reads need no authority. */
  'F_METADATA_EXPORT',
  /** Import or write aggregate data values (`POST /api/dataValueSets`, `/api/dataValues`). */
  'F_DATAVALUE_ADD',
  /** Export aggregate data values (`GET /api/dataValueSets`). */
  'F_EXPORT_DATA',
  /** Import tracker data: tracked entities, enrollments, events (`POST /api/tracker`). */
  'F_TRACKER_IMPORT',
  /** Ask a data import to skip the audit trail (`skipAudit=true`). */
  'F_SKIP_DATA_IMPORT_AUDIT',
  /** Write data values in periods past their data set's expiry days (E7640 does not apply). */
  'F_EDIT_EXPIRED',
  /** See every user's jobs and their notifications, not only one's own. */
  'F_VIEW_JOBS',
  /** Create and update users (metadata import of `users`) and set other users' passwords. */
  'F_USER_ADD',
  /** Delete users (metadata import with importStrategy DELETE). */
  'F_USER_DELETE',
  /** Create and update user roles; either of the two will do (DHIS2's public and private add). */
  'F_USERROLE_PUBLIC_ADD',
  'F_USERROLE_PRIVATE_ADD',
  /** Delete user roles. */
  'F_USERROLE_DELETE',
  /** Create and update user groups; either of the two will do. */
  'F_USERGROUP_PUBLIC_ADD',
  'F_USERGROUP_PRIVATE_ADD',
  /** Delete user groups. */
  'F_USERGROUP_DELETE',
  /** Maintenance: clear caches, prune audits and expired sessions, re-run migrations. */
  'F_PERFORM_MAINTENANCE',
  /** Manage the export queue between sites (schedule, retry, discard queued exports). */
  'F_EXPORT_QUEUE',
  /** Read the audit log (`GET /api/audits`). Ferry's own: DHIS2 has no authority for it. */
  'F_AUDIT_VIEW',
  /** Create de-duplication pools (`POST /api/dedupe/pools`); using and changing one is by its sharing. Ferry's own. */
  'F_DEDUPE_POOL_MANAGE',
  /** Write sync packages for other sites and serve pulls (docs/sync.md). Ferry's own. */
  'F_SYNC_EXPORT',
  /** Import sync packages and acknowledgements, take pushes (docs/sync.md). Ferry's own. */
  'F_SYNC_IMPORT',
  /** Set up this site's sync identity and register parent and child sites (trusting their keys). Ferry's own. */
  'F_SYNC_MANAGE',
  /** Install and uninstall apps hosted by Ferry (`POST`/`DELETE /api/apps`): DHIS2's App Management app's authority. */
  'M_dhis-web-app-management',
] as const;

export type Authority = (typeof AUTHORITIES)[number];

const KNOWN = new Set<string>(AUTHORITIES);

export function isAuthority(value: unknown): value is Authority {
  return typeof value === 'string' && KNOWN.has(value);
}

/**
 * Whether a set of granted authorities includes `required`. `ALL` grants everything. Roles may
 * carry authorities Ferry does not know (a DHIS2 role imported whole); they are kept but unused.
 */
export function hasAuthority(granted: ReadonlySet<string>, required: Authority): boolean {
  return granted.has('ALL') || granted.has(required);
}
