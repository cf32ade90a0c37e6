/**
 * What may go into an audit row. The log must never hold a password, a token or a cell value, so
 * parameters are copied by name through a deny-list of secret-looking names, values are cut short,
 * and counts keep numbers only.
 */

/** Parameter names whose values are secrets (password, apiToken, access_token, secret, key...). */
const SECRET_NAME = /pass|secret|token|key|auth|credential|session|cookie/i;

/** Longest option value kept: parameters are identifiers and flags, not free text. */
const MAX_OPTION_CHARS = 200;
const MAX_OPTIONS = 50;

/** Request parameters (a query object), with secrets dropped and long values cut. */
export function redactOptions(params: unknown, depth = 0): Record<string, unknown> | null {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return null;
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    if (SECRET_NAME.test(name)) {
      out[name] = '(redacted)';
      continue;
    }
    if (++n > MAX_OPTIONS) break;
    out[name] = Array.isArray(value)
      ? value.slice(0, 20).map((v) => shortValue(v, depth))
      : shortValue(value, depth);
  }
  return Object.keys(out).length > 0 ? out : null;
}

function shortValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  // Nested parameters (an export's `params`) are redacted by name too, a level or two deep.
  if (typeof value === 'object' && !Array.isArray(value) && depth < 2) return redactOptions(value, depth + 1);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  // A URL with credentials in it (postgres://user:password@host) keeps its shape, not the secret.
  if (/\/\/[^/\s:@]*:[^/\s@]*@/.test(text)) return '(redacted)';
  return text.length > MAX_OPTION_CHARS ? `${text.slice(0, MAX_OPTION_CHARS)}…` : text;
}

/** The numeric fields of an import count or stats object (imported, updated, ignored, ...). */
export function numericCounts(value: unknown): Record<string, number> | null {
  if (!value || typeof value !== 'object') return null;
  const out: Record<string, number> = {};
  for (const [name, count] of Object.entries(value as Record<string, unknown>)) {
    if (typeof count === 'number' && Number.isFinite(count)) out[name] = count;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/**
 * The counts and status of an import summary or report as DHIS2 shapes them: `importCount`
 * (data values), `stats` (metadata import report), at the top or under `response`.
 */
export function summaryCounts(summary: unknown): { counts: Record<string, number> | null; status?: string } {
  if (!summary || typeof summary !== 'object') return { counts: null };
  const top = summary as Record<string, unknown>;
  const inner = (top.response && typeof top.response === 'object' ? top.response : {}) as Record<
    string,
    unknown
  >;
  const counts = numericCounts(inner.importCount ?? inner.stats ?? top.importCount ?? top.stats);
  const status =
    typeof inner.status === 'string' ? inner.status : typeof top.status === 'string' ? top.status : undefined;
  return { counts, status };
}

/** A short format name from a content type or a file name: json, csv, xml, adx, pdf, zip, ... */
export function formatOf(contentType: string | null | undefined, fileName?: string | null): string | null {
  const type = (contentType ?? '').split(';', 1)[0].trim().toLowerCase();
  const byType: Record<string, string> = {
    'application/json': 'json',
    'application/csv': 'csv',
    'text/csv': 'csv',
    'application/xml': 'xml',
    'text/xml': 'xml',
    'application/adx+xml': 'adx',
    'application/pdf': 'pdf',
    'application/zip': 'zip',
    'application/gzip': 'gzip',
    'application/x-gzip': 'gzip',
    'application/geo+json': 'geojson',
    'application/gml+xml': 'gml',
  };
  if (byType[type]) return byType[type];
  const name = (fileName ?? '').toLowerCase();
  const extension = /\.(adx\.xml|json|csv|xml|pdf|zip|gz|geojson|gml)$/.exec(name)?.[1];
  if (extension) return extension === 'adx.xml' ? 'adx' : extension === 'gz' ? 'gzip' : extension;
  return type === '' ? null : type.slice(0, 60);
}
