import { Readable } from 'node:stream';
import { join } from 'node:path';
import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { parsePeriod } from '../../domain/periods/periods.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../domain/category/default-category-model.ts';
import type { SqlValue } from '../../storage/storage.ts';
import { FerryError, parseBooleanParameter } from '../../errors.ts';
import { importDataValues } from './data-value-import-service.ts';
import { spoolToFile } from '../jobs/upload-spool.ts';

/**
 * DHIS2's `DELETE /api/completeDataSetRegistrations?ds=&pe=&ou=&cc=&cp=&multiOu=`: un-registers
 * the data sets `ds` (one or more) as complete for the org unit `ou` (and, with `multiOu=true`,
 * its children), period `pe` and the attribute option combo `cc` + `cp` (default: the default
 * combo), for each unit the data set is assigned to. DHIS2's refusals, each a 409 with its
 * message: an unknown data set, period or org unit, and a locked period ("Locked Data set(s)").
 *
 * Ferry checks more than DHIS2 2.42, as it does for registering: each un-registration is first
 * tried as the registration it undoes (a dry-run import of a header with `completeDate`), so the
 * capture scope, data write sharing, closed options, expiry days and future periods bind it as they
 * bind registering; any refusal stops the request with nothing removed.
 */

type Query = Record<string, unknown>;

function texts(query: Query, name: string): string[] {
  const raw = query[name];
  const values = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

function one(query: Query, name: string): string {
  const value = texts(query, name).at(-1);
  if (value === undefined) throw new FerryError('F1004', [name]);
  return value;
}

/** The one registration a dry run tries: the header a data value set would carry. */
interface Trial {
  dataSet: string;
  period: string;
  orgUnit: string;
  attributeOptionCombo: string;
}

/** The attribute option combo `cc` + `cp` name (options `;`-separated); neither: the default. */
async function attributeOptionComboOf(context: FerryContext, query: Query): Promise<string> {
  const cc = texts(query, 'cc').at(-1);
  const cp = typeof query.cp === 'string' ? query.cp : undefined;
  if (cc === undefined && (cp === undefined || cp === '')) return DEFAULT_CATEGORY_OPTION_COMBO_UID;
  if (cc === undefined || cp === undefined || cp === '') {
    throw new FerryError('F1000', [cc === undefined ? 'cp' : 'cc', cc ?? cp ?? '', 'cc and cp together']);
  }
  const wanted = [...new Set(cp.split(';').filter((o) => o !== ''))].sort().join(';');
  const comboUids = await context.metadata.referrerUids(
    'categoryCombos',
    cc,
    'categoryOptionCombos',
    'categoryCombo',
  );
  for (const found of await context.metadata.findBy('categoryOptionCombos', 'uid', comboUids)) {
    const options = Array.isArray(found.object.categoryOptions) ? found.object.categoryOptions : [];
    const have = options
      .map((o) => (o as { id?: unknown } | null)?.id)
      .filter((id): id is string => typeof id === 'string')
      .sort()
      .join(';');
    if (have === wanted) return found.object.id;
  }
  throw new FerryError('F1300', [`Illegal attribute option combo identifier: ${cc} ${cp}`]);
}

/** The refusal of one trial registration, or undefined when it would be accepted. */
async function refusalOf(context: FerryContext, trial: Trial, principal: Principal | undefined) {
  const file = await spoolToFile(
    Readable.from([JSON.stringify({ ...trial, completeDate: 'true', dataValues: [] })]),
    join(context.config.dataDir, 'uploads'),
    64 * 1024,
  );
  try {
    const summary = await importDataValues(
      context,
      { path: file.path, fileName: 'completeDataSetRegistrations', format: 'json' },
      { dryRun: 'true' },
      principal,
    );
    return summary.dataSetComplete !== 'false' ? undefined : summary.conflicts;
  } finally {
    await file.remove();
  }
}

/** Un-registers as DHIS2's DELETE does; resolves with the number of registrations removed. */
export async function removeCompleteRegistrations(
  context: FerryContext,
  query: Query,
  principal: Principal | undefined,
): Promise<number> {
  const dataSetUids = [...new Set(texts(query, 'ds'))];
  if (dataSetUids.length === 0) throw new FerryError('F1004', ['ds']);
  const periodText = one(query, 'pe');
  const orgUnitUid = one(query, 'ou');
  const multiOu = parseBooleanParameter('multiOu', texts(query, 'multiOu').at(-1));

  const dataSets = await context.metadata.findBy('dataSets', 'uid', dataSetUids);
  if (dataSets.length !== dataSetUids.length) {
    throw new FerryError('F1300', [`Illegal data set identifier in this list: [${dataSetUids.join(', ')}]`]);
  }
  if (!parsePeriod(periodText)) throw new FerryError('F1300', [`Illegal period identifier: ${periodText}`]);
  const [orgUnit] = await context.metadata.findBy('organisationUnits', 'uid', [orgUnitUid]);
  if (!orgUnit) throw new FerryError('F1300', [`Illegal organisation unit identifier: ${orgUnitUid}`]);
  const aocUid = await attributeOptionComboOf(context, query);
  const [aoc] = await context.metadata.findBy('categoryOptionCombos', 'uid', [aocUid]);
  if (!aoc) return 0;

  const units = [orgUnit];
  if (multiOu) {
    const children = await context.metadata.referrerUids(
      'organisationUnits',
      orgUnitUid,
      'organisationUnits',
      'parent',
    );
    units.push(...(await context.metadata.findBy('organisationUnits', 'uid', children)));
  }

  // Each data set with the units it is assigned to, as DHIS2 removes only those.
  const targets: { dataSet: (typeof dataSets)[number]; units: typeof units }[] = [];
  for (const dataSet of dataSets) {
    const assigned = new Set(
      (Array.isArray(dataSet.object.organisationUnits) ? dataSet.object.organisationUnits : [])
        .map((o) => (o as { id?: unknown } | null)?.id)
        .filter((id): id is string => typeof id === 'string'),
    );
    targets.push({ dataSet, units: units.filter((u) => assigned.has(u.object.id)) });
  }

  // Every un-registration is checked before any is removed. A closed period is DHIS2's "Locked".
  const locked: string[] = [];
  for (const { dataSet, units: assignedUnits } of targets) {
    for (const unit of assignedUnits) {
      const conflicts = await refusalOf(
        context,
        {
          dataSet: dataSet.object.id,
          period: periodText,
          orgUnit: unit.object.id,
          attributeOptionCombo: aocUid,
        },
        principal,
      );
      if (!conflicts) continue;
      if (conflicts.some((c) => c.errorCode === 'E7640' || c.errorCode === 'E7641')) {
        locked.push(dataSet.object.id);
        break;
      }
      const reason = conflicts.map((c) => `${c.errorCode} ${c.value}`).join('; ');
      throw new FerryError('F1300', [
        `Data set ${dataSet.object.id} cannot be un-registered for ${unit.object.id}, ${periodText}: ${reason}`,
      ]);
    }
  }
  if (locked.length > 0) throw new FerryError('F1300', [`Locked Data set(s) : ${locked.join(', ')}`]);

  let removed = 0;
  await context.storage.transaction(async (tx) => {
    for (const { dataSet, units: assignedUnits } of targets) {
      if (assignedUnits.length === 0) continue;
      const params: SqlValue[] = [dataSet.sid, periodText, aoc.sid, ...assignedUnits.map((u) => u.sid)];
      const result = await tx.execute(
        `DELETE FROM complete_registration
          WHERE data_set_id = ?
            AND period_id = (SELECT period_id FROM period WHERE iso = ?)
            AND attribute_option_combo_id = ?
            AND org_unit_id IN (${assignedUnits.map(() => '?').join(', ')})`,
        params,
      );
      removed += result.changes;
    }
  });
  return removed;
}

/** One registration a `completed: false` item of `POST /api/completeDataSetRegistrations` names. */
export interface Uncompletion {
  dataSet: string;
  period: string;
  orgUnit: string;
  /** Default: the default combo. */
  attributeOptionCombo?: string;
}

/**
 * Un-completes one registration, as DHIS2 2.42 does for an imported registration with
 * `completed: false`: checked first as the registration it undoes (capture scope, data write
 * sharing, closed options, expiry and future periods; the refusal's conflicts are returned and
 * nothing is removed), then removed unless `dryRun`. `removed` says whether there was one.
 */
export async function uncompleteRegistration(
  context: FerryContext,
  target: Uncompletion,
  principal: Principal | undefined,
  dryRun: boolean,
): Promise<{ removed: boolean; conflicts?: Awaited<ReturnType<typeof refusalOf>> }> {
  const trial: Trial = {
    ...target,
    attributeOptionCombo: target.attributeOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID,
  };
  const conflicts = await refusalOf(context, trial, principal);
  if (conflicts) return { removed: false, conflicts };
  const [dataSet] = await context.metadata.findBy('dataSets', 'uid', [trial.dataSet]);
  const [orgUnit] = await context.metadata.findBy('organisationUnits', 'uid', [trial.orgUnit]);
  const [aoc] = await context.metadata.findBy('categoryOptionCombos', 'uid', [trial.attributeOptionCombo]);
  if (!dataSet || !orgUnit || !aoc) return { removed: false };
  const where = `data_set_id = ? AND period_id = (SELECT period_id FROM period WHERE iso = ?)
     AND org_unit_id = ? AND attribute_option_combo_id = ?`;
  const params: SqlValue[] = [dataSet.sid, trial.period, orgUnit.sid, aoc.sid];
  if (dryRun) {
    const row = await context.storage.queryOne(
      `SELECT 1 AS found FROM complete_registration WHERE ${where}`,
      params,
    );
    return { removed: row !== undefined };
  }
  const result = await context.storage.execute(`DELETE FROM complete_registration WHERE ${where}`, params);
  return { removed: result.changes > 0 };
}
