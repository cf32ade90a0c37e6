import type { SqlExecutor } from './storage.ts';

/**
 * The sync change log (`sync_change`, docs/sync.md): which rows of data and metadata were written,
 * in commit order, as a cursor a package covers. Rows are appended by triggers, so every write path
 * (imports, single values, completions, tracker, metadata, the COPY bulk path) is captured in its
 * own transaction with no change to the stores, and a rollback takes its log rows with it.
 *
 * The triggers exist only on a site that takes part in sync (`installChangeCapture`, run when the
 * site is initialised): a server that never syncs pays nothing on its imports. At installation the
 * log is seeded with one row per stored row (the baseline), so a first package carries everything.
 *
 * SQLite: a row trigger per table and event (SQLite has no statement triggers); the writer is one
 * connection, so `seq` order is commit order. PostgreSQL: statement triggers with transition tables
 * (one INSERT ... SELECT per statement, COPY included, instead of a function call per row).
 */

/** What a change names. Keys k1..k5 are the row's integer key columns, in the order listed. */
export interface CapturedTable {
  readonly table: string;
  readonly kind: string;
  /** Expressions over the row (NEW/OLD on SQLite, the transition table on PostgreSQL). */
  readonly keys: readonly string[];
  readonly type?: string;
  readonly uid?: string;
  readonly deletes: boolean;
}

export const CAPTURED_TABLES: readonly CapturedTable[] = [
  {
    table: 'data_value',
    kind: 'dataValue',
    keys: [
      'org_unit_id',
      'period_id',
      'data_element_id',
      'category_option_combo_id',
      'attribute_option_combo_id',
    ],
    deletes: true,
  },
  {
    table: 'complete_registration',
    kind: 'completion',
    keys: ['data_set_id', 'period_id', 'org_unit_id', 'attribute_option_combo_id'],
    deletes: true,
  },
  { table: 'tracked_entity', kind: 'trackedEntity', keys: ['tracked_entity_id'], deletes: false },
  // An attribute value or an owner is part of its tracked entity's JSON.
  {
    table: 'tracked_entity_attribute_value',
    kind: 'trackedEntity',
    keys: ['tracked_entity_id'],
    deletes: true,
  },
  {
    table: 'tracked_entity_program_owner',
    kind: 'trackedEntity',
    keys: ['tracked_entity_id'],
    deletes: true,
  },
  { table: 'enrollment', kind: 'enrollment', keys: ['enrollment_id'], deletes: false },
  { table: 'event', kind: 'event', keys: ['event_id'], deletes: false },
  { table: 'relationship', kind: 'relationship', keys: ['relationship_id'], deletes: false },
  { table: 'metadata_object', kind: 'metadata', keys: [], type: 'type', uid: 'uid', deletes: true },
];

function columnsOf(t: CapturedTable): string[] {
  const columns = t.keys.map((_, i) => `k${i + 1}`);
  if (t.type) columns.push('type');
  if (t.uid) columns.push('uid');
  return columns;
}

function valuesOf(t: CapturedTable, row: string): string[] {
  const values = t.keys.map((k) => `${row}.${k}`);
  if (t.type) values.push(`${row}.${t.type}`);
  if (t.uid) values.push(`${row}.${t.uid}`);
  return values;
}

function sqliteTriggers(t: CapturedTable): string {
  const columns = ['kind', ...columnsOf(t)].join(', ');
  const events: Array<[string, string]> = [
    ['INSERT', 'NEW'],
    ['UPDATE', 'NEW'],
  ];
  if (t.deletes) events.push(['DELETE', 'OLD']);
  return events
    .map(
      ([event, row]) =>
        `CREATE TRIGGER IF NOT EXISTS sync_${t.table}_${event.toLowerCase()} AFTER ${event} ON ${t.table} ` +
        `BEGIN INSERT INTO sync_change (${columns}) VALUES ('${t.kind}', ${valuesOf(t, row).join(', ')}); END;`,
    )
    .join('\n');
}

function postgresTriggers(t: CapturedTable): string {
  const columns = ['kind', ...columnsOf(t)].join(', ');
  const fn = `sync_capture_${t.table}`;
  const events: Array<[string, string]> = [
    ['INSERT', 'NEW'],
    ['UPDATE', 'NEW'],
  ];
  if (t.deletes) events.push(['DELETE', 'OLD']);
  // The function is shared by the table's triggers; each names its transition table changed_rows.
  let sql = `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO sync_change (${columns}) SELECT '${t.kind}', ${valuesOf(t, 'c').join(', ')} FROM changed_rows c;
  RETURN NULL;
END $$;\n`;
  for (const [event, row] of events) {
    const name = `sync_${t.table}_${event.toLowerCase()}`;
    sql += `DROP TRIGGER IF EXISTS ${name} ON ${t.table};
CREATE TRIGGER ${name} AFTER ${event} ON ${t.table} REFERENCING ${row} TABLE AS changed_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${fn}();\n`;
  }
  return sql;
}

/**
 * Creates the capture triggers and seeds the log with every stored row, once (the triggers' presence
 * says whether it ran). Call inside a transaction.
 */
export async function installChangeCapture(db: SqlExecutor): Promise<boolean> {
  if (await changeCaptureInstalled(db)) return false;
  for (const t of CAPTURED_TABLES) {
    await db.executeScript(db.kind === 'postgres' ? postgresTriggers(t) : sqliteTriggers(t));
  }
  // The baseline: what is stored already is a change the first package must carry.
  for (const t of CAPTURED_TABLES) {
    if (t.table === 'tracked_entity_attribute_value' || t.table === 'tracked_entity_program_owner') continue;
    await db.execute(
      `INSERT INTO sync_change (${['kind', ...columnsOf(t)].join(', ')})
       SELECT '${t.kind}', ${valuesOf(t, 'r').join(', ')} FROM ${t.table} r`,
    );
  }
  return true;
}

export async function changeCaptureInstalled(db: SqlExecutor): Promise<boolean> {
  const row =
    db.kind === 'postgres'
      ? await db.queryOne(
          "SELECT 1 AS found FROM pg_trigger WHERE tgname = 'sync_data_value_insert' AND tgrelid = to_regclass('data_value')",
        )
      : await db.queryOne(
          "SELECT 1 AS found FROM sqlite_master WHERE type = 'trigger' AND name = 'sync_data_value_insert'",
        );
  return row !== undefined;
}

/**
 * The highest change sequence whose writing transaction has committed. PostgreSQL hands out
 * sequence numbers at insert time, so a transaction holding seq 10 may commit after one holding 11:
 * a SHARE lock on the log waits for every transaction that has written to it (and briefly holds off
 * new ones), so everything at or below the answer is committed. SQLite has one writer.
 */
export async function committedChangeSeq(db: SqlExecutor & { transaction?: unknown }): Promise<number> {
  const storage = db as SqlExecutor & {
    transaction?: <T>(work: (tx: SqlExecutor) => Promise<T>) => Promise<T>;
  };
  if (db.kind === 'postgres' && storage.transaction) {
    return storage.transaction(async (tx) => {
      await tx.execute('LOCK TABLE sync_change IN SHARE MODE');
      return maxSeq(tx);
    });
  }
  return maxSeq(db);
}

export async function maxSeq(db: SqlExecutor): Promise<number> {
  const row = await db.queryOne<{ seq: number | string | null }>('SELECT MAX(seq) AS seq FROM sync_change');
  return Number(row?.seq ?? 0);
}
