/**
 * Ferry's one catalog of coded errors. Codes are stable: clients and docs/errors.md rely on them.
 * DHIS2's own codes are used where DHIS2 has one for the same thing; Ferry's start with F.
 */
export const ERROR_CATALOG = {
  // DHIS2's data value export request errors (DataValueSetService.validate / DataExportParams).
  E2001: {
    status: 409,
    message: 'At least one data element, data set or data element group must be specified',
  },
  E2002: {
    status: 409,
    message: 'At least one period, start/end dates, last updated or last updated duration must be specified',
  },
  E2003: { status: 409, message: 'Periods and start/end dates cannot both be specified' },
  E2004: { status: 409, message: 'Start date must be before end date' },
  E2005: { status: 409, message: 'Duration is not valid: `{0}`' },
  E2006: {
    status: 409,
    message: 'At least one organisation unit or organisation unit group must be specified',
  },
  E2007: {
    status: 409,
    message: 'Organisation unit children cannot be included for organisation unit groups',
  },
  E2008: {
    status: 409,
    message: 'At least one organisation unit must be specified when children is included',
  },
  E2009: { status: 409, message: 'Limit cannot be less than zero: `{0}`' },
  E2010: { status: 409, message: 'User is not allowed to read data for data set: `{0}`' },
  E2011: { status: 409, message: 'User is not allowed to read data for attribute option combo: `{0}`' },
  E2012: { status: 409, message: 'User is not allowed to read data for organisation unit: `{0}`' },
  E2013: { status: 409, message: 'At least one data set must be specified' },
  F1000: { status: 400, message: 'Invalid value for parameter `{0}`: `{1}`; allowed: {2}' },
  F1001: { status: 400, message: 'Request body is malformed: {0}' },
  F1002: { status: 413, message: 'Request body is larger than the limit of {0} bytes' },
  F1003: { status: 415, message: 'Unsupported content type `{0}`' },
  F1004: { status: 400, message: 'Missing required parameter `{0}`' },
  F1020: { status: 400, message: 'Unknown property `{0}` in `{1}`; {2} has: {3}' },
  F1021: { status: 400, message: 'Unknown filter operator `{0}` in `{1}`; allowed: {2}' },
  F1022: { status: 400, message: 'Invalid `{0}` expression `{1}`: {2}' },
  F1100: { status: 401, message: 'Authentication required' },
  F1101: { status: 401, message: 'Invalid credentials' },
  F1102: { status: 403, message: 'Access denied: authority `{0}` is required' },
  F1103: { status: 401, message: 'API token has expired' },
  F1104: { status: 429, message: 'Too many failed sign-in attempts; try again in {0} seconds' },
  F1105: { status: 401, message: 'User account is {0}' },
  F1106: { status: 400, message: 'Password is not acceptable: {0}' },
  F1107: { status: 400, message: 'Invalid user: {0}' },
  F1108: { status: 403, message: 'API tokens cannot be managed with an API token; sign in with a password' },
  F1109: { status: 403, message: 'API token does not allow this request: {0}' },
  F1110: {
    status: 403,
    message: 'A request carrying an API token cannot start a session; sign in without the token',
  },
  F1200: { status: 404, message: '{0} with id `{1}` could not be found' },
  F1201: { status: 404, message: 'No such resource: `{0}`' },
  F1202: {
    status: 422,
    message:
      'Not all metadata has an identifier for the requested idScheme. Either change the requested idScheme or add the missing identifiers to the metadata: {0}',
  },
  F1300: { status: 409, message: '{0}' },
  F1400: { status: 410, message: '{0}' },
  F1500: { status: 500, message: 'Internal error; see the server log (reference {0})' },
  F1600: { status: 409, message: '{0} has no usable geometry: {1}' },
  F1601: { status: 409, message: '{0} matches organisation unit `{1}`, already set by feature {2}' },
  F1700: { status: 403, message: 'Access denied to de-duplication pool `{0}`: {1} is required' },
  F1701: { status: 400, message: 'De-duplication pool file `{0}`, line {1}: {2}; nothing was imported' },
  F1602: { status: 409, message: '{0} matches {1} organisation units by {2} `{3}`; use a uid or code' },
  F1800: { status: 409, message: 'App `{0}` is refused: {1}; nothing was installed' },
  F1501: { status: 503, message: 'Service is shutting down' },
  F1502: {
    status: 507,
    message: "The server's disk is full ({0}); nothing was kept. Free space on the server and send it again",
  },
  // Offline sync between sites (docs/sync.md).
  F1900: { status: 409, message: 'This site is not set up for sync: run `ferry sync sites init` first' },
  F1901: { status: 404, message: 'Unknown sync site `{0}`; register it with `ferry sync sites add`' },
  F1902: { status: 400, message: 'Invalid sync site: {0}' },
  F1903: { status: 400, message: 'Sync package `{0}` is corrupt: {1}; nothing was imported' },
  F1904: { status: 409, message: 'Sync package `{0}` fails verification: {1}; nothing was imported' },
  F1905: {
    status: 409,
    message: 'Sync package `{0}` is addressed to `{1}`, not to this site (`{2}`); nothing was imported',
  },
  F1906: {
    status: 409,
    message: 'Sync package `{0}` comes from `{1}`, a site this site does not know; nothing was imported',
  },
  F1907: {
    status: 409,
    message:
      'Sync package `{0}` replays package {1} from `{2}`, already imported with other contents; nothing was imported',
  },
  F1908: {
    status: 409,
    message:
      'Sync package {0} from `{1}` received, but {2} missing (the last package imported from `{1}` is {3}): export it again at `{1}` with `ferry sync export --to {4} --from-ack`; nothing was imported',
  },
  F1909: { status: 409, message: 'Sync package `{0}`, part `{1}`, row {2}: {3}; nothing was imported' },
  F1910: { status: 400, message: 'Acknowledgement `{0}` is refused: {1}' },
  F1911: { status: 400, message: 'Sync package `{0}` is split into {1} pieces; {2} missing' },
  F1912: { status: 502, message: 'Sync with `{0}` failed: {1}' },
  F1913: { status: 409, message: 'Upload of package {0} from `{1}`: {2}' },
  F1950: { status: 400, message: 'Import mapping is not valid: {0}' },
  F1951: { status: 400, message: 'Import source cannot be read: {0}' },
  F1952: { status: 403, message: 'Access denied to import mapping `{0}`: {1} is required' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** An error with a catalog code; the HTTP layer turns it into DHIS2's WebMessage. */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly args: readonly string[];
  readonly details?: unknown;

  constructor(code: ErrorCode, args: readonly (string | number)[] = [], details?: unknown) {
    const entry = ERROR_CATALOG[code];
    const text = args.map(String);
    super(entry.message.replace(/\{(\d+)\}/g, (_, i: string) => text[Number(i)] ?? ''));
    this.code = code;
    this.status = entry.status;
    this.args = text;
    this.details = details;
  }
}

export function isFerryError(error: unknown): error is FerryError {
  return error instanceof FerryError;
}

/** A closed-set query parameter, refused with F1000 when the value is not one of `allowed`. */
export function parseEnumParameter<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === null || value === '') return fallback;
  const text = String(value).toUpperCase();
  const match = allowed.find((candidate) => candidate.toUpperCase() === text);
  if (!match) throw new FerryError('F1000', [name, String(value), allowed.join(', ')]);
  return match;
}

/** A boolean query parameter: true/false (any case); anything else is F1000. */
export function parseBooleanParameter(name: string, value: unknown, fallback = false): boolean {
  if (value === undefined || value === null || value === '') return fallback;
  const text = String(value).toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new FerryError('F1000', [name, String(value), 'true, false']);
}

/** A write that failed because the disk (or the user's quota) is full: ENOSPC, EDQUOT. */
export function isDiskFullError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
