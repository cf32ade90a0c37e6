import type { ParsedFilter } from './metadata-filter.ts';

/**
 * The extra list parameters DHIS2's `GET /api/organisationUnits` takes (web API docs, "Get list of
 * organisation units"). DHIS2 reads them in its org unit controller only; every other collection
 * ignores them, and so does Ferry.
 */
export interface OrgUnitListParameters {
  /** Only org units at this level (1 is a root). */
  level?: number;
  /** Only org units at this level or above (closer to a root). */
  maxLevel?: number;
  /** Only the user's data capture org units themselves. */
  userOnly?: boolean;
  /** Only the user's data view org units themselves (no fallback to capture, as in DHIS2). */
  userDataViewOnly?: boolean;
  /** Only org units at or below one of the user's data capture org units. */
  withinUserHierarchy?: boolean;
  /** Only org units at or below one of the user's search org units (capture ones when none). */
  withinUserSearchHierarchy?: boolean;
}

/** The org unit assignments of the user making the request, as UIDs. */
export interface UserOrgUnits {
  capture: readonly string[];
  dataView: readonly string[];
  /** `teiSearchOrganisationUnits`. */
  search: readonly string[];
}

/**
 * The parameters as filters of the ordinary list query, so they combine with `filter=`, `fields`
 * and paging. All conditions are ANDed; DHIS2 instead lets `userOnly` and `userDataViewOnly` replace
 * the others, which silently drops a `level` given with them. As in DHIS2, `withinUserHierarchy`
 * wins over `withinUserSearchHierarchy` when both are true. A user with no org units of the kind
 * asked for gets no org units (DHIS2 would drop the hierarchy restriction for an empty set).
 */
export function orgUnitListFilters(parameters: OrgUnitListParameters, user: UserOrgUnits): ParsedFilter[] {
  const filters: ParsedFilter[] = [];
  // `level` is stored as a number; the list query compares it as text, like `filter=level:eq:2`.
  if (parameters.level !== undefined)
    filters.push({ property: 'level', operator: 'eq', value: String(parameters.level) });
  if (parameters.maxLevel !== undefined)
    filters.push({ property: 'level', operator: 'atMost', value: String(parameters.maxLevel) });
  if (parameters.userOnly) filters.push({ property: 'id', operator: 'in', value: user.capture });
  if (parameters.userDataViewOnly) filters.push({ property: 'id', operator: 'in', value: user.dataView });
  if (parameters.withinUserHierarchy) {
    filters.push({ property: 'path', operator: 'pathThrough', value: user.capture });
  } else if (parameters.withinUserSearchHierarchy) {
    const search = user.search.length > 0 ? user.search : user.capture;
    filters.push({ property: 'path', operator: 'pathThrough', value: search });
  }
  return filters;
}
