/**
 * The DHIS2 release whose Web API behaviour Ferry follows (the data value import follows 2.42).
 * `/api/system/info` reports it as `version` because DHIS2's apps read the API version from it:
 * the app platform calls `/api/<minor>/...` (here `/api/42/...`). Ferry's own release is reported
 * separately as `ferryVersion`.
 */
export const DHIS2_VERSION = '2.42.1';

/** The API version DHIS2 2.42 answers under `/api/<n>/`: its minor release number. */
export const DHIS2_API_VERSION = Number(DHIS2_VERSION.split('.')[1]);

/**
 * The oldest versioned path DHIS2 still serves (`/api/28/...`); older numbers and numbers above the
 * release's own are 404 in DHIS2 as in Ferry.
 */
export const OLDEST_DHIS2_API_VERSION = 28;

const VERSIONED_API_PATH = /^\/api\/(\d{2})(?=[/?#]|$)/;

/**
 * `/api/41/dataValueSets?x=1` as `/api/dataValueSets?x=1`: Ferry serves one API, the same under
 * every versioned prefix DHIS2 accepts (DHIS2 too answers every version with the current
 * behaviour, except for a few long-removed fields). Any other URL is returned unchanged, so an
 * unsupported version falls through to the 404 of an unknown path.
 */
export function stripApiVersion(url: string): string {
  const match = VERSIONED_API_PATH.exec(url);
  if (!match) return url;
  const version = Number(match[1]);
  if (version < OLDEST_DHIS2_API_VERSION || version > DHIS2_API_VERSION) return url;
  return `/api${url.slice(match[0].length)}`;
}
