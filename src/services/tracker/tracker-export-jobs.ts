import type { FerryContext } from '../ferry-context-types.ts';
import type { JobParams } from '../../jobs/job-types.ts';
import type { ExportProducerContext } from '../jobs/export-queue-service.ts';
import type { JobViewer } from '../jobs/job-service.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { FerryError, parseBooleanParameter, parseEnumParameter } from '../../errors.ts';
import { ASSIGNED_USER_MODES, combine, type TrackerExportRequest } from './tracker-export-query.ts';
import { copyTo, listed, principalOf, stringList } from '../jobs/job-helpers.ts';
import { trackerExportIdentifiers } from './tracker-export-identifiers.ts';
import {
  TRACKED_ENTITY_CSV_COLUMNS,
  trackedEntityCsvLines,
} from '../../codecs/tracker-csv/tracked-entity-csv-encoder.ts';
import {
  eventCsvLines,
  EVENT_CSV_COLUMNS,
  nestedFields,
  parseEventExport,
  parseTrackedEntityExport,
  readEvents,
  readTrackedEntities,
} from './tracker-export-service.ts';

/** The job types of the two tracker exports in the export queue. */
export const TRACKER_EXPORT_JOBS = {
  events: 'EVENTS_EXPORT',
  trackedEntities: 'TRACKED_ENTITIES_EXPORT',
} as const;

const FORMATS = ['json', 'csv'] as const;

/**
 * The export's parameters as `GET /api/tracker/events|trackedEntities` takes them. The queue's
 * format and compression win over any given here, and the file is every matching object: paging
 * is always off (a page of a queued export would be a surprise).
 */
function trackerQuery(params: JobParams): Record<string, unknown> {
  const {
    format: _format,
    compression: _compression,
    attachment: _attachment,
    page: _page,
    pageSize: _pageSize,
    totalPages: _totalPages,
    ...query
  } = params;
  return { ...query, paging: 'false' };
}

const UID = /^[A-Za-z][A-Za-z0-9]{10}$/;

/**
 * DHIS2's `assignedUserMode` and `assignedUsers` on the event export: assigned to the caller
 * (CURRENT), to one of `assignedUsers` (PROVIDED, which `assignedUsers` alone implies), to nobody
 * (NONE) or to anybody (ANY); ALL, the default, is no filter. `parseEventExport` does not read them
 * (only the tracked entity export does), so the queued event export adds the condition here.
 */
function withEventAssignedUser(
  request: TrackerExportRequest,
  query: Record<string, unknown>,
  principal: Principal | undefined,
): TrackerExportRequest {
  const users = stringList(query.assignedUsers ?? query.assignedUser).flatMap((v) => v.split(';'));
  for (const uid of users)
    if (!UID.test(uid)) throw new FerryError('F1000', ['assignedUsers', uid, 'user UIDs (11 characters)']);
  const mode = parseEnumParameter(
    'assignedUserMode',
    stringList(query.assignedUserMode)[0],
    ASSIGNED_USER_MODES,
    users.length > 0 ? 'PROVIDED' : 'ALL',
  );
  if (users.length > 0 && mode !== 'PROVIDED')
    throw new FerryError('F1000', ['assignedUsers', users.join(','), 'only with assignedUserMode=PROVIDED']);
  let condition;
  if (mode === 'ALL') return request;
  else if (mode === 'NONE') condition = { sql: 'e.assigned_user IS NULL', params: [] };
  else if (mode === 'ANY') condition = { sql: 'e.assigned_user IS NOT NULL', params: [] };
  else if (mode === 'CURRENT') {
    // The CLI operator is nobody: as the tracked entity export, CURRENT needs a signed-in user.
    if (!principal) throw new FerryError('F1000', ['assignedUserMode', mode, 'ALL, PROVIDED, NONE, ANY']);
    condition = { sql: 'e.assigned_user = ?', params: [principal.uid] };
  } else {
    if (users.length === 0) throw new FerryError('F1004', ['assignedUsers']);
    condition = { sql: `e.assigned_user IN (${users.map(() => '?').join(', ')})`, params: users };
  }
  return { ...request, where: combine([request.where, condition]) };
}

/** The event export's request with the assigned-user filter the parser leaves out. */
async function parseQueuedEventExport(
  context: FerryContext,
  query: Record<string, unknown>,
  principal: Principal | undefined,
): Promise<TrackerExportRequest> {
  return withEventAssignedUser(await parseEventExport(context, query, principal), query, principal);
}

/**
 * The request's user as the GET routes see them: a queued export gives the same rights as the
 * download (signed in, then the view scope and sharing the parsers apply), read afresh when the
 * job runs so that a scope taken away since counts.
 */
async function viewerPrincipal(context: FerryContext, viewer: JobViewer | null) {
  return viewer ? principalOf(context, viewer.uid) : undefined;
}

/** Card text: "Events of program P, stage S; org units A, B and all below; …; (CSV)". */
export function describeTrackerExport(
  kind: 'events' | 'trackedEntities',
  params: JobParams,
  format: string,
): string {
  const first = (key: string) => stringList(params[key])[0];
  const parts: string[] = [];
  const program = first('program');
  const stage = first('programStage');
  const type = first('trackedEntityType');
  if (program) parts.push(`program ${program}${stage ? `, stage ${stage}` : ''}`);
  if (type) parts.push(`tracked entity type ${type}`);
  const orgUnits = [...stringList(params.orgUnit), ...stringList(params.orgUnits)];
  const mode = first('orgUnitMode') ?? first('ouMode');
  const modeWords: Record<string, string> = {
    SELECTED: '',
    CHILDREN: ' and directly below',
    DESCENDANTS: ' and all below',
  };
  if (orgUnits.length > 0)
    parts.push(
      `org unit${orgUnits.length > 1 ? 's' : ''} ${listed(orgUnits)}${modeWords[mode ?? 'DESCENDANTS'] ?? ''}`,
    );
  else if (mode === 'ACCESSIBLE') parts.push('every org unit the user may see');
  else if (mode === 'CAPTURE') parts.push("the user's data capture org units");
  const range = (label: string, after: string, before: string) => {
    const from = first(after);
    const to = first(before);
    if (from && to) parts.push(`${label} ${from} to ${to}`);
    else if (from) parts.push(`${label} after ${from}`);
    else if (to) parts.push(`${label} before ${to}`);
  };
  range('occurred', 'occurredAfter', 'occurredBefore');
  range('enrolled', 'enrollmentEnrolledAfter', 'enrollmentEnrolledBefore');
  range('updated', 'updatedAfter', 'updatedBefore');
  const within = first('updatedWithin');
  if (within) parts.push(`updated within ${within}`);
  const status = first('status') ?? first('programStatus');
  if (status) parts.push(`status ${status}`);
  const assigned = first('assignedUserMode');
  const users = stringList(params.assignedUsers);
  if (users.length > 0) parts.push(`assigned to ${listed(users)}`);
  else if (assigned && assigned !== 'ALL') parts.push(`assigned user mode ${assigned}`);
  if (first('includeDeleted') === 'true') parts.push('including deleted');
  const scheme = first('idScheme');
  if (scheme) parts.push(`identifiers as ${scheme}`);
  if (first('escapeFormulas') === 'true') parts.push('formulas escaped for a spreadsheet');
  const what = kind === 'events' ? 'Events' : 'Tracked entities';
  return `${what} of ${parts.join('; ') || 'every org unit the user may see'} (${format.toUpperCase()})`;
}

/**
 * Events (`kind: events`, job type EVENTS_EXPORT) and tracked entities (`kind: trackedEntities`,
 * TRACKED_ENTITIES_EXPORT) through the export queue: the same parameters, rows and encoding as
 * `GET /api/tracker/events|trackedEntities` with `paging=false`, streamed into the queue's file
 * (which compresses it), so a large export is made once on the server and downloaded later instead
 * of held in the browser. The parameters are checked when the export is asked for (a bad program
 * or date is refused then, not as a failed job), and again with the user's current rights when it runs.
 */
export function registerTrackerExportJobs(context: FerryContext): void {
  const exports = context.exports;

  const eventsChunks = async function* (
    params: JobParams,
    ctx: ExportProducerContext,
    counted: (n: number) => void,
  ): AsyncIterable<string> {
    const query = trackerQuery(params);
    const principal = await principalOf(context, ctx.userUid);
    const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
    const request = await parseQueuedEventExport(context, query, principal);
    const identifiers = trackerExportIdentifiers(context, query);
    let n = 0;
    if (ctx.format === 'csv') yield `${EVENT_CSV_COLUMNS.join(',')}\n`;
    else yield '{"events":[';
    for await (const read of readEvents(context, request)) {
      const batch = identifiers ? await identifiers.events(read) : read;
      if (ctx.format === 'csv') yield eventCsvLines(batch, { escapeFormulas });
      else yield batch.map((event, i) => (n + i === 0 ? '' : ',') + JSON.stringify(event)).join('');
      n += batch.length;
      counted(n);
    }
    if (ctx.format !== 'csv') yield ']}';
  };

  const trackedEntityChunks = async function* (
    params: JobParams,
    ctx: ExportProducerContext,
    counted: (n: number) => void,
  ): AsyncIterable<string> {
    const query = trackerQuery(params);
    const principal = await principalOf(context, ctx.userUid);
    const escapeFormulas = parseBooleanParameter('escapeFormulas', query.escapeFormulas);
    const request = await parseTrackedEntityExport(context, query, principal);
    const includeDeleted = String(query.includeDeleted ?? '').toLowerCase() === 'true';
    const identifiers = trackerExportIdentifiers(context, query);
    // As the GET route and DHIS2: `fields` has no effect on CSV; one row per attribute value.
    const fields = ctx.format === 'csv' ? { ...nestedFields({}), attributes: true } : nestedFields(query);
    let n = 0;
    if (ctx.format === 'csv') yield `${TRACKED_ENTITY_CSV_COLUMNS.join(',')}\n`;
    else yield '{"trackedEntities":[';
    for await (const read of readTrackedEntities(context, request, fields, includeDeleted)) {
      const batch = identifiers ? await identifiers.trackedEntities(read) : read;
      if (ctx.format === 'csv') yield trackedEntityCsvLines(batch, { escapeFormulas });
      else yield batch.map((entity, i) => (n + i === 0 ? '' : ',') + JSON.stringify(entity)).join('');
      n += batch.length;
      counted(n);
    }
    if (ctx.format !== 'csv') yield ']}';
  };

  const register = (
    kind: 'events' | 'trackedEntities',
    chunks: typeof eventsChunks,
    parse: typeof parseEventExport,
  ) => {
    const label = kind === 'events' ? 'events' : 'tracked entities';
    exports.registerExportProducer(
      kind,
      async (params, out, ctx) => {
        let objects = 0;
        const bytes = await copyTo(
          chunks(params, ctx, (n) => {
            objects = n;
            ctx.progress({ stage: `Writing ${label}`, processed: n });
          }),
          out,
          ctx.signal,
          () => undefined,
        );
        ctx.notify('INFO', `Exported ${objects} ${label} (${ctx.format.toUpperCase()})`);
        return { bytes, objects };
      },
      {
        formats: FORMATS,
        jobType: TRACKER_EXPORT_JOBS[kind],
        contentType: (format) => (format === 'csv' ? 'application/csv' : 'application/json'),
        describe: (params, format) => describeTrackerExport(kind, params, format),
        validate: async (params, _format, viewer) => {
          const query = trackerQuery(params);
          for (const [key, value] of Object.entries(query))
            if (value !== null && typeof value === 'object' && !Array.isArray(value))
              throw new FerryError('F1000', [`params.${key}`, JSON.stringify(value), 'a text or a list']);
          parseBooleanParameter('escapeFormulas', query.escapeFormulas);
          trackerExportIdentifiers(context, query);
          await parse(context, query, await viewerPrincipal(context, viewer));
        },
      },
    );
  };
  register('events', eventsChunks, parseQueuedEventExport);
  register('trackedEntities', trackedEntityChunks, parseTrackedEntityExport);
}
