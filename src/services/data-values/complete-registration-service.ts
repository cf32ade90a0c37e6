import { Readable } from 'node:stream';
import { join } from 'node:path';
import type { FerryContext } from '../ferry-context-types.ts';
import { sharingSubjectOf, type Principal } from '../../domain/access/principal.ts';
import { canDataRead } from '../../domain/access/data-sharing.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';
import type { ImportSummary } from '../../domain/data-values/import-summary.ts';
import type { SqlValue } from '../../storage/storage.ts';
import { FerryError, parseBooleanParameter } from '../../errors.ts';
import { importDataValues } from './data-value-import-service.ts';
import { uncompleteRegistration } from './complete-registration-removal.ts';
import { spoolToFile } from '../jobs/upload-spool.ts';
import { decodeCompleteRegistrationsXml } from '../../codecs/complete-registration-xml/complete-registration-xml-codec.ts';
import { InputError } from '../../codecs/input/input-error.ts';

/**
 * DHIS2's `/api/completeDataSetRegistrations`: registering a data set complete for an org unit,
 * period and attribute option combo, and listing the registrations. A registration is imported as
 * a data value set with only a header and `completeDate`, so the data value import's completion
 * checks (capture scope, data sharing, closed options, expiry and future periods) and its summary
 * apply unchanged; the list applies the data value export's read checks (E2010 data set sharing,
 * E2012 view scope).
 */

export interface CompleteRegistration {
  dataSet: string;
  period: string;
  organisationUnit: string;
  attributeOptionCombo: string;
  date: string;
  storedBy?: string;
  lastUpdated: string;
  completed: true;
}

/** The most registrations one request imports; each is its own small import. */
export const MAX_REGISTRATIONS_PER_REQUEST = 1000;

type Query = Record<string, unknown>;

function list(query: Query, name: string): string[] {
  const raw = query[name];
  const values = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** DHIS2's `GET /api/completeDataSetRegistrations` with `dataSet`, `period` or `startDate`/`endDate`, `orgUnit`, `children`. */
export async function listCompleteRegistrations(
  context: FerryContext,
  query: Query,
  principal: Principal | undefined,
): Promise<CompleteRegistration[]> {
  const dataSetUids = list(query, 'dataSet');
  const periods = list(query, 'period');
  const orgUnitUids = list(query, 'orgUnit');
  const [startDate] = list(query, 'startDate');
  const [endDate] = list(query, 'endDate');
  const children = parseBooleanParameter('children', list(query, 'children').at(-1));
  if (dataSetUids.length === 0) throw new FerryError('E2013');
  if (periods.length === 0 && !(startDate && endDate)) throw new FerryError('E2002');
  if (periods.length > 0 && (startDate || endDate)) throw new FerryError('E2003');
  for (const [name, day] of [
    ['startDate', startDate],
    ['endDate', endDate],
  ] as const) {
    if (day !== undefined && !DAY.test(day)) throw new FerryError('F1000', [name, day, 'a date, YYYY-MM-DD']);
  }
  if (startDate && endDate && startDate > endDate) throw new FerryError('E2004');
  if (orgUnitUids.length === 0) throw new FerryError('E2006');

  const superuser = !principal || principal.authorities.has('ALL');
  const dataSets = await context.metadata.findBy('dataSets', 'uid', dataSetUids);
  if (!superuser) {
    const subject = sharingSubjectOf(principal);
    for (const { object } of dataSets) {
      if (!canDataRead(object, subject)) throw new FerryError('E2010', [object.id]);
    }
  }
  const orgUnits = await context.metadata.findBy('organisationUnits', 'uid', orgUnitUids);
  if (!superuser) {
    for (const { object } of orgUnits) {
      if (!isInScope(typeof object.path === 'string' ? object.path : null, principal.viewOrgUnits)) {
        throw new FerryError('E2012', [object.id]);
      }
    }
  }
  if (dataSets.length === 0 || orgUnits.length === 0) return [];

  const params: SqlValue[] = [];
  const marks = (values: readonly SqlValue[]): string => {
    params.push(...values);
    return values.map(() => '?').join(', ');
  };
  const where = [`ds.sid IN (${marks(dataSets.map((d) => d.sid))})`];
  where.push(
    periods.length > 0
      ? `p.iso IN (${marks(periods)})`
      : `p.start_date >= ${marks([startDate!])} AND p.end_date <= ${marks([endDate!])}`,
  );
  const ouConditions = [`ou.sid IN (${marks(orgUnits.map((o) => o.sid))})`];
  if (children) {
    for (const { object } of orgUnits) {
      // Paths are UIDs and slashes: nothing a LIKE pattern would read specially.
      if (typeof object.path === 'string') ouConditions.push(`ou.path LIKE ${marks([`${object.path}/%`])}`);
    }
  }
  where.push(`(${ouConditions.join(' OR ')})`);
  // Bounded by the request: data sets × periods × org units (and their children).
  const rows = await context.storage.query<{
    data_set: string;
    period: string;
    org_unit: string;
    aoc: string;
    completed_date: string;
    stored_by: string | null;
    last_updated: string;
  }>(
    `SELECT ds.uid AS data_set, p.iso AS period, ou.uid AS org_unit, aoc.uid AS aoc,
            cr.completed_date, cr.stored_by, cr.last_updated
       FROM complete_registration cr
       JOIN metadata_object ds ON ds.sid = cr.data_set_id
       JOIN period p ON p.period_id = cr.period_id
       JOIN metadata_object ou ON ou.sid = cr.org_unit_id
       JOIN metadata_object aoc ON aoc.sid = cr.attribute_option_combo_id
      WHERE ${where.join(' AND ')}
      ORDER BY ds.uid, p.iso, ou.uid, aoc.uid`,
    params,
  );
  return rows.map((row) => ({
    dataSet: row.data_set,
    period: row.period,
    organisationUnit: row.org_unit,
    attributeOptionCombo: row.aoc,
    date: row.completed_date,
    ...(row.stored_by ? { storedBy: row.stored_by } : {}),
    lastUpdated: row.last_updated,
    completed: true,
  }));
}

interface RegistrationInput {
  dataSet: string;
  period: string;
  orgUnit: string;
  attributeOptionCombo?: string;
  completeDate: string;
  /** `completed: false`: un-complete the registration instead (DHIS2 2.39 and later). */
  uncomplete: boolean;
}

function text(item: Record<string, unknown>, name: string): string | undefined {
  const value = item[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'object') {
    // DHIS2's nested references: {"dataSet": {"id": "..."}}.
    const id = (value as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  }
  return String(value);
}

/** The registrations of a request body, each checked for its fields before any is imported. */
function parseRegistrations(body: unknown): RegistrationInput[] {
  const items =
    body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as { completeDataSetRegistrations?: unknown }).completeDataSetRegistrations
      : undefined;
  if (!Array.isArray(items)) {
    throw new FerryError('F1001', ['expected {"completeDataSetRegistrations": [...]}']);
  }
  if (items.length > MAX_REGISTRATIONS_PER_REQUEST) {
    throw new FerryError('F1001', [
      `more than ${MAX_REGISTRATIONS_PER_REQUEST} registrations in one request`,
    ]);
  }
  return items.map((raw: unknown, index) => {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new FerryError('F1001', [`registration ${index} is not an object`]);
    }
    const item = raw as Record<string, unknown>;
    const required = (name: string, value: string | undefined): string => {
      if (!value) throw new FerryError('F1001', [`registration ${index} has no \`${name}\``]);
      return value;
    };
    const completed = item.completed;
    const uncomplete = completed === false || completed === 'false';
    if (
      completed !== undefined &&
      completed !== null &&
      !uncomplete &&
      completed !== true &&
      completed !== 'true'
    ) {
      throw new FerryError('F1000', [
        `completed (registration ${index})`,
        String(completed),
        'true or false',
      ]);
    }
    const attributeOptionCombo = text(item, 'attributeOptionCombo');
    return {
      dataSet: required('dataSet', text(item, 'dataSet')),
      period: required('period', text(item, 'period')),
      orgUnit: required('organisationUnit', text(item, 'organisationUnit') ?? text(item, 'orgUnit')),
      ...(attributeOptionCombo ? { attributeOptionCombo } : {}),
      // No date: today, as DHIS2 registers it.
      completeDate: text(item, 'date') ?? text(item, 'completeDate') ?? 'true',
      uncomplete,
    };
  });
}

/**
 * DHIS2's `POST /api/completeDataSetRegistrations`: each registration a header-only data value set
 * import of its own, and one summary counting registrations (imported) and refusals (ignored, with
 * their conflicts indexed by the registration's position). A registration with `completed: false`
 * un-completes instead: checked as registering it would be, then removed (deleted).
 */
export async function importCompleteRegistrations(
  context: FerryContext,
  body: unknown,
  params: Query,
  principal: Principal | undefined,
): Promise<ImportSummary> {
  const registrations = parseRegistrations(body);
  const summary: ImportSummary = {
    responseType: 'ImportSummary',
    status: 'SUCCESS',
    importOptions: {},
    description: 'Import process completed successfully',
    importCount: { imported: 0, updated: 0, ignored: 0, deleted: 0 },
    conflicts: [],
    rejectedIndexes: [],
    dataSetComplete: 'false',
  };
  const dryRun = parseBooleanParameter('dryRun', params.dryRun, false);
  for (const [index, { uncomplete, ...registration }] of registrations.entries()) {
    if (uncomplete) {
      const outcome = await uncompleteRegistration(context, registration, principal, dryRun);
      if (outcome.conflicts) {
        summary.importCount.ignored++;
        summary.rejectedIndexes.push(index);
        for (const conflict of outcome.conflicts) summary.conflicts.push({ ...conflict, indexes: [index] });
      } else if (outcome.removed) summary.importCount.deleted++;
      // Nothing to un-complete: already incomplete, as asked; counted nowhere, as no row changed.
      continue;
    }
    const file = await spoolToFile(
      Readable.from([JSON.stringify({ ...registration, dataValues: [] })]),
      join(context.config.dataDir, 'uploads'),
      64 * 1024,
    );
    let one: ImportSummary;
    try {
      one = await importDataValues(
        context,
        { path: file.path, fileName: 'completeDataSetRegistrations', format: 'json' },
        { dryRun: params.dryRun },
        principal,
      );
    } finally {
      await file.remove();
    }
    summary.importOptions = one.importOptions;
    if (one.dataSetComplete !== 'false') {
      summary.importCount.imported++;
      summary.dataSetComplete = one.dataSetComplete;
    } else {
      summary.importCount.ignored++;
      summary.rejectedIndexes.push(index);
      for (const conflict of one.conflicts) summary.conflicts.push({ ...conflict, indexes: [index] });
    }
  }
  if (summary.importCount.ignored > 0) {
    summary.status = summary.importCount.imported + summary.importCount.deleted > 0 ? 'WARNING' : 'ERROR';
    summary.description = 'Import process completed with conflicts';
  }
  return summary;
}

/**
 * The body `importCompleteRegistrations` reads, from DHIS2's XML: `{completeDataSetRegistrations:
 * [...]}` with each registration's attributes. Malformed XML is F1001 naming line and column.
 */
export async function completeRegistrationsFromXml(xml: string): Promise<unknown> {
  try {
    const items = await decodeCompleteRegistrationsXml(
      (async function* () {
        yield xml;
      })(),
      'completeDataSetRegistrations.xml',
    );
    return { completeDataSetRegistrations: items };
  } catch (error) {
    if (error instanceof InputError) throw new FerryError('F1001', [error.message]);
    throw error;
  }
}
