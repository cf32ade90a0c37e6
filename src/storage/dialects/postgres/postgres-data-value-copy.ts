import type { SqlExecutor, SqlValue } from '../../storage.ts';

/**
 * PostgreSQL's data value write path for imports into a table that already holds values: the
 * batch is loaded by `COPY` into a temporary staging table and merged by one set-based statement
 * that compares each staged value with the stored one, inserts the new keys, updates the changed
 * ones and writes their audit rows, and answers with the counts. The alternative it replaces sent
 * every key to the server as arrays, read the stored rows back into JavaScript, compared them there
 * and sent the changed rows again (three passes of every value over the connection, and one core
 * doing most of the work while the server waited).
 *
 * Only CREATE_AND_UPDATE values that ask for no delete come here: the other strategies and deletes
 * report per-value conflicts, which the caller works out from the stored rows as before.
 */

/** The staging table: one per session, dropped with the import's transaction (ON COMMIT DROP). */
const STAGE = 'ferry_data_value_stage';

const KEY_COLUMNS = [
  'org_unit_id',
  'period_id',
  'data_element_id',
  'category_option_combo_id',
  'attribute_option_combo_id',
] as const;

/** The columns a staged row carries, in `DataValueRow` order (see `stageRow`). */
export const STAGE_COLUMNS = [
  ...KEY_COLUMNS,
  'value',
  'stored_by',
  'created',
  'last_updated',
  'comment',
  'follow_up',
] as const;

const CREATE_STAGE = `CREATE TEMP TABLE IF NOT EXISTS ${STAGE} (
  org_unit_id BIGINT NOT NULL,
  period_id BIGINT NOT NULL,
  data_element_id BIGINT NOT NULL,
  category_option_combo_id BIGINT NOT NULL,
  attribute_option_combo_id BIGINT NOT NULL,
  value TEXT,
  stored_by TEXT,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  comment TEXT,
  follow_up SMALLINT NOT NULL
) ON COMMIT DROP`;

const KEYS = KEY_COLUMNS.join(', ');
const JOIN_ON = KEY_COLUMNS.map((c) => `d.${c} = s.${c}`).join(' AND ');

/**
 * `s`: each staged row beside the stored one (if any), found by a primary-key probe per staged row:
 * the LATERAL subquery (kept from being flattened by OFFSET 0) forces that plan. As a plain join the
 * planner hashed the whole of `data_value` for every batch (200,000 stored values: 0.84 s for 10,000
 * staged rows, and growing with the table). `live` when a value is stored and not
 * deleted, `same` when that value, comment and follow-up equal the staged ones (IS NOT DISTINCT FROM:
 * NULL equals NULL, as the import's comparison in JavaScript had it; text equality is byte-wise).
 * `changed` is what gets written: new keys, keys stored as deleted, and changed values.
 */
function mergeSql(audit: boolean, fresh: boolean): string {
  const audited = audit
    ? `, audited AS (
    INSERT INTO data_value_audit (${KEYS}, audit_type, previous_value, new_value, modified_by, created, job_id)
    SELECT ${KEYS}, CASE WHEN live THEN 'UPDATE' ELSE 'CREATE' END,
           CASE WHEN live THEN old_value END, value, ?, ?, ?
      FROM changed ORDER BY ${KEYS})`
    : '';
  // Into a table that was empty when the import began (and whose keys the import lets through once)
  // every staged row is new: no probe, and a plain INSERT (ON CONFLICT probes the index first).
  const compared = fresh
    ? `SELECT s.*, NULL::text AS old_value, FALSE AS live, FALSE AS same FROM ${STAGE} s`
    : `SELECT s.*, d.value AS old_value,
           (d.deleted = 0) IS TRUE AS live,
           (d.deleted = 0 AND d.value IS NOT DISTINCT FROM s.value
             AND d.comment IS NOT DISTINCT FROM s.comment AND d.follow_up = s.follow_up) IS TRUE AS same
      FROM ${STAGE} s
      LEFT JOIN LATERAL (SELECT d.value, d.comment, d.follow_up, d.deleted FROM data_value d
                          WHERE ${JOIN_ON} OFFSET 0) d ON TRUE`;
  const conflict = fresh
    ? ''
    : `ON CONFLICT (${KEYS}) DO UPDATE SET value = excluded.value, stored_by = excluded.stored_by,
      last_updated = excluded.last_updated, comment = excluded.comment,
      follow_up = excluded.follow_up, deleted = excluded.deleted`;
  return `WITH s AS (${compared}),
  changed AS (SELECT * FROM s WHERE NOT same),
  written AS (
    INSERT INTO data_value (${KEYS}, value, stored_by, created, last_updated, comment, follow_up, deleted)
    SELECT ${KEYS}, value, stored_by, created, last_updated, comment, follow_up, 0
      FROM changed ORDER BY ${KEYS}
    ${conflict})${audited}
  SELECT count(*) FILTER (WHERE same)::int AS ignored,
         count(*) FILTER (WHERE NOT same AND live)::int AS updated,
         count(*) FILTER (WHERE NOT same AND NOT live)::int AS imported
    FROM s`;
}

export interface MergeAudit {
  modifiedBy: string | null;
  created: string;
  jobId: string | null;
}

export interface MergeCounts {
  imported: number;
  updated: number;
  ignored: number;
}

/**
 * Loads `rows` (tuples in `STAGE_COLUMNS` order, keys unique) into the staging table and merges
 * them into `data_value`, with an audit row per written value unless `audit` is undefined; `fresh`
 * when the table was empty as the import began (every row is then new). Must run
 * on the import's transaction: the staging table lives in its session until the commit.
 */
export async function mergeDataValues(
  db: SqlExecutor,
  rows: Iterable<readonly SqlValue[]>,
  audit: MergeAudit | undefined,
  fresh: boolean,
): Promise<MergeCounts> {
  if (!db.copyRows) throw new Error('mergeDataValues needs a PostgreSQL executor');
  await db.executeScript(`${CREATE_STAGE}; TRUNCATE ${STAGE}`);
  await db.copyRows(STAGE, STAGE_COLUMNS, rows);
  const params: SqlValue[] = audit ? [audit.modifiedBy, audit.created, audit.jobId] : [];
  const counts = await db.queryOne<MergeCounts>(mergeSql(audit !== undefined, fresh), params);
  return {
    imported: Number(counts?.imported ?? 0),
    updated: Number(counts?.updated ?? 0),
    ignored: Number(counts?.ignored ?? 0),
  };
}
