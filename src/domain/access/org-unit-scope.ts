/**
 * Org unit scope: an org unit is inside a user's scope when one of the user's assigned org units is
 * the unit itself or one of its ancestors. DHIS2 stores each unit's ancestry as a path of UIDs
 * (`/ImspTQPwCqd/O6uvpzGd5pu/YuQRtpLP10I`), so the check is a membership test on the path's parts
 * with no tree walk. Data capture scope is `organisationUnits`; data view scope is
 * `dataViewOrganisationUnits`, which falls back to the capture scope when empty (as in DHIS2).
 */

/** The UIDs along an org unit path, root first. Empty parts (leading slash) are dropped. */
export function pathUids(orgUnitPath: string): string[] {
  return orgUnitPath.split('/').filter((part) => part.length > 0);
}

/** Whether an org unit, given by its path, lies at or below any of `scopeUids`. */
export function isInScope(orgUnitPath: string | null | undefined, scopeUids: Iterable<string>): boolean {
  if (!orgUnitPath) return false;
  const scope = scopeUids instanceof Set ? (scopeUids as ReadonlySet<string>) : new Set(scopeUids);
  if (scope.size === 0) return false;
  for (const uid of pathUids(orgUnitPath)) if (scope.has(uid)) return true;
  return false;
}

/** The view scope DHIS2 applies: the data view org units, or the capture org units when none are set. */
export function effectiveViewScope(
  captureOrgUnits: readonly string[],
  dataViewOrgUnits: readonly string[],
): readonly string[] {
  return dataViewOrgUnits.length > 0 ? dataViewOrgUnits : captureOrgUnits;
}
