import type { SqlExecutor, SqlValue } from './storage.ts';
import { MAX_IN_LIST, type DataValueExportSelection } from './data-value-export-query.ts';

/**
 * The audit trail of selected data values (`data_value_audit`: every create, update and delete
 * with the value before and after, who made it, when, and the import job), for an analysis export's
 * paradata. The selection is the data value export's own, so the trail covers exactly the records
 * the export may read (deleted values' trails included: their history is part of the record).
 */

export const DATA_VALUE_AUDIT_FIELDS = [
  'auditId',
  'orgUnit',
  'period',
  'dataElement',
  'categoryOptionCombo',
  'attributeOptionCombo',
  'auditType',
  'previousValue',
  'newValue',
  'modifiedBy',
  'created',
  'jobId',
] as const;

/** One audit row, the fields in DATA_VALUE_AUDIT_FIELDS order (identifiers as UIDs). */
export type DataValueAuditRow = (string | null)[];

const BATCH = 5000;

function placeholders(values: readonly unknown[]): string {
  return values.map(() => '?').join(', ');
}

/** Streams the audit rows of the selected values in the order they were written. */
export async function* streamDataValueAudits(
  db: SqlExecutor,
  selection: DataValueExportSelection,
): AsyncIterable<DataValueAuditRow[]> {
  const clauses: string[] = [];
  const params: SqlValue[] = [];
  const inList = (column: string, ids: readonly number[]) => {
    if (ids.length > MAX_IN_LIST) throw new Error(`Too many ids in one audit filter (${ids.length})`);
    clauses.push(ids.length === 0 ? '1 = 0' : `${column} IN (${placeholders(ids)})`);
    params.push(...ids);
  };
  inList('a.data_element_id', selection.dataElementIds);
  const orgUnits: string[] = [];
  if (selection.orgUnitIds && selection.orgUnitIds.length > 0) {
    if (selection.orgUnitIds.length > MAX_IN_LIST) throw new Error('Too many org units in one audit filter');
    orgUnits.push(`a.org_unit_id IN (${placeholders(selection.orgUnitIds)})`);
    params.push(...selection.orgUnitIds);
  }
  for (const prefix of selection.orgUnitPathPrefixes ?? []) {
    // substr, not LIKE: LIKE is case-insensitive on SQLite and UIDs are case-sensitive.
    orgUnits.push(`substr(ou.path, 1, ${prefix.length}) = ?`);
    params.push(prefix);
  }
  clauses.push(orgUnits.length === 0 ? '1 = 0' : `(${orgUnits.join(' OR ')})`);
  if (selection.periodIds) inList('a.period_id', selection.periodIds);
  if (selection.startDate !== undefined) {
    clauses.push('p.start_date >= ?');
    params.push(selection.startDate);
  }
  if (selection.endDate !== undefined) {
    clauses.push('p.end_date <= ?');
    params.push(selection.endDate);
  }
  if (selection.attributeOptionComboIds)
    inList('a.attribute_option_combo_id', selection.attributeOptionComboIds);
  const excluded = selection.excludedAttributeOptionComboIds ?? [];
  if (excluded.length > 0) {
    if (excluded.length > MAX_IN_LIST)
      throw new Error(`Too many ids in one audit filter (${excluded.length})`);
    clauses.push(`a.attribute_option_combo_id NOT IN (${placeholders(excluded)})`);
    params.push(...excluded);
  }
  const sql = `SELECT a.audit_id AS f0, ou.uid AS f1, p.iso AS f2, de.uid AS f3, coc.uid AS f4, aoc.uid AS f5,
      a.audit_type AS f6, a.previous_value AS f7, a.new_value AS f8, a.modified_by AS f9, a.created AS f10,
      a.job_id AS f11
    FROM data_value_audit a
    JOIN metadata_object de ON de.sid = a.data_element_id
    JOIN period p ON p.period_id = a.period_id
    JOIN metadata_object ou ON ou.sid = a.org_unit_id
    JOIN metadata_object coc ON coc.sid = a.category_option_combo_id
    JOIN metadata_object aoc ON aoc.sid = a.attribute_option_combo_id
    WHERE ${clauses.join(' AND ')}
    ORDER BY a.audit_id`;
  for await (const batch of db.stream<Record<string, unknown>>(sql, params, BATCH)) {
    yield batch.map((row) =>
      DATA_VALUE_AUDIT_FIELDS.map((_, i) => {
        const value = row[`f${i}`];
        return value === null || value === undefined ? null : String(value);
      }),
    );
  }
}
