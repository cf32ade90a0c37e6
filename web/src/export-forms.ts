/**
 * Where each export kind is asked for, so that an export can be recreated with changed options:
 * the job overview's **Recreate job** and the export card's **Change and export again** open the
 * kind's page with the old request's parameters, format and compression in the URL, and the page
 * starts from them (every field editable). A password is never stored, so it is asked for again.
 */
const EXPORT_PAGES: Record<string, string> = {
  dataValues: '#/export',
  metadata: '#/export/metadata',
  metadataDependencies: '#/export/dependencies',
  events: '#/export/events',
  trackedEntities: '#/export/trackedEntities',
  analysis: '#/export/analysis',
};

/** The export queue's job types (src/services/*-jobs.ts) by the kind they make. */
const EXPORT_JOB_KINDS: Record<string, string> = {
  DATAVALUE_EXPORT: 'dataValues',
  METADATA_EXPORT: 'metadata',
  METADATA_DEPENDENCY_EXPORT: 'metadataDependencies',
  EVENTS_EXPORT: 'events',
  TRACKED_ENTITIES_EXPORT: 'trackedEntities',
  ANALYSIS_EXPORT: 'analysis',
};

/** A parameter as the form reads it back: lists joined by commas; nested objects are left out. */
function text(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(String).join(',');
  return typeof value === 'object' ? undefined : String(value);
}

/** The page that asks for this export, pre-filled; null for a kind no page asks for. */
export function exportFormHref(
  kind: string,
  params: Record<string, unknown> | undefined,
  format?: string,
  compression?: string,
): string | null {
  const page = EXPORT_PAGES[kind];
  if (!page) return null;
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    const given = text(value);
    if (given) query.set(key, given);
  }
  if (format) query.set('format', format);
  if (compression) query.set('compression', compression);
  return `${page}?${query.toString()}`;
}

/** For an export job (its stored `{kind, format, compression, params}`): its pre-filled page. */
export function exportJobFormHref(
  type: string,
  jobParams: Record<string, unknown> | undefined,
): string | null {
  const kind = EXPORT_JOB_KINDS[type] ?? (typeof jobParams?.kind === 'string' ? jobParams.kind : '');
  if (!kind || !jobParams) return null;
  const params = jobParams.params;
  return exportFormHref(
    kind,
    params && typeof params === 'object' ? (params as Record<string, unknown>) : {},
    text(jobParams.format),
    text(jobParams.compression),
  );
}
