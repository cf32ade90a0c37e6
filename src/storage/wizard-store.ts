import type { SqlExecutor } from './storage.ts';

/** A mapping row as stored; `body` and `sharing` are JSON texts. */
export interface WizardMappingRow {
  mappingId: number;
  uid: string;
  name: string;
  version: number;
  body: string;
  sharing: string;
  created: string;
  lastUpdated: string;
  createdBy: string | null;
}

export interface WizardRunRow {
  jobId: string;
  mappingUid: string;
  mappingVersion: number;
  dryRun: boolean;
  userUid: string | null;
  created: string;
}

const MAPPING_COLUMNS = 'mapping_id, uid, name, version, body, sharing, created, last_updated, created_by';

function mappingRow(row: Record<string, unknown>): WizardMappingRow {
  return {
    mappingId: Number(row.mapping_id),
    uid: String(row.uid),
    name: String(row.name),
    version: Number(row.version),
    body: String(row.body),
    sharing: String(row.sharing),
    created: String(row.created),
    lastUpdated: String(row.last_updated),
    createdBy: row.created_by === null || row.created_by === undefined ? null : String(row.created_by),
  };
}

/** The import wizard's tables (migration 195): mappings, their versions, column memory, runs. */
export class WizardStore {
  private readonly db: SqlExecutor;
  constructor(db: SqlExecutor) {
    this.db = db;
  }

  async list(): Promise<WizardMappingRow[]> {
    const rows = await this.db.query(`SELECT ${MAPPING_COLUMNS} FROM wizard_mapping ORDER BY name`);
    return rows.map(mappingRow);
  }

  async byUid(uid: string): Promise<WizardMappingRow | undefined> {
    const row = await this.db.queryOne(`SELECT ${MAPPING_COLUMNS} FROM wizard_mapping WHERE uid = ?`, [uid]);
    return row ? mappingRow(row) : undefined;
  }

  async byName(name: string): Promise<WizardMappingRow | undefined> {
    const row = await this.db.queryOne(`SELECT ${MAPPING_COLUMNS} FROM wizard_mapping WHERE name = ?`, [
      name,
    ]);
    return row ? mappingRow(row) : undefined;
  }

  /** Inserts the mapping and its first version. */
  async insert(row: Omit<WizardMappingRow, 'mappingId'>): Promise<void> {
    await this.db.execute(
      'INSERT INTO wizard_mapping (uid, name, version, body, sharing, created, last_updated, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [row.uid, row.name, row.version, row.body, row.sharing, row.created, row.lastUpdated, row.createdBy],
    );
    const saved = await this.byUid(row.uid);
    await this.insertVersion(saved!.mappingId, row.version, row.body, row.lastUpdated, row.createdBy);
  }

  /** Stores a new body (and sharing) as the next version. */
  async update(row: WizardMappingRow, savedBy: string | null): Promise<void> {
    await this.db.execute(
      'UPDATE wizard_mapping SET name = ?, version = ?, body = ?, sharing = ?, last_updated = ? WHERE mapping_id = ?',
      [row.name, row.version, row.body, row.sharing, row.lastUpdated, row.mappingId],
    );
    await this.insertVersion(row.mappingId, row.version, row.body, row.lastUpdated, savedBy);
  }

  private async insertVersion(
    mappingId: number,
    version: number,
    body: string,
    saved: string,
    savedBy: string | null,
  ): Promise<void> {
    await this.db.execute(
      'INSERT INTO wizard_mapping_version (mapping_id, version, body, saved, saved_by) VALUES (?, ?, ?, ?, ?)',
      [mappingId, version, body, saved, savedBy],
    );
  }

  async versions(
    mappingId: number,
  ): Promise<Array<{ version: number; saved: string; savedBy: string | null }>> {
    const rows = await this.db.query<{ version: number; saved: string; saved_by: string | null }>(
      'SELECT version, saved, saved_by FROM wizard_mapping_version WHERE mapping_id = ? ORDER BY version DESC',
      [mappingId],
    );
    return rows.map((r) => ({
      version: Number(r.version),
      saved: String(r.saved),
      savedBy: r.saved_by ?? null,
    }));
  }

  async versionBody(mappingId: number, version: number): Promise<string | undefined> {
    const row = await this.db.queryOne<{ body: string }>(
      'SELECT body FROM wizard_mapping_version WHERE mapping_id = ? AND version = ?',
      [mappingId, version],
    );
    return row ? String(row.body) : undefined;
  }

  async delete(mappingId: number): Promise<void> {
    await this.db.execute('DELETE FROM wizard_mapping WHERE mapping_id = ?', [mappingId]);
  }

  /** Counts one more use of each (column, target) pair. */
  async remember(
    pairs: ReadonlyArray<{ columnKey: string; targetKind: string; targetId: string }>,
    now: string,
  ): Promise<void> {
    for (const p of pairs) {
      await this.db.execute(
        `INSERT INTO wizard_column_memory (column_key, target_kind, target_id, uses, last_used) VALUES (?, ?, ?, 1, ?)
         ON CONFLICT (column_key, target_kind, target_id) DO UPDATE SET uses = wizard_column_memory.uses + 1, last_used = excluded.last_used`,
        [p.columnKey, p.targetKind, p.targetId, now],
      );
    }
  }

  /** For each column key, its targets of one kind, most used first. */
  async remembered(columnKeys: readonly string[], targetKind: string): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const key of new Set(columnKeys)) {
      const rows = await this.db.query<{ target_id: string }>(
        'SELECT target_id FROM wizard_column_memory WHERE column_key = ? AND target_kind = ? ORDER BY uses DESC, last_used DESC LIMIT 3',
        [key, targetKind],
      );
      if (rows.length > 0)
        out.set(
          key,
          rows.map((r) => String(r.target_id)),
        );
    }
    return out;
  }

  async insertRun(run: WizardRunRow): Promise<void> {
    await this.db.execute(
      'INSERT INTO wizard_run (job_id, mapping_uid, mapping_version, dry_run, user_uid, created) VALUES (?, ?, ?, ?, ?, ?)',
      [run.jobId, run.mappingUid, run.mappingVersion, run.dryRun ? 1 : 0, run.userUid, run.created],
    );
  }

  async runs(mappingUid: string | undefined, limit = 100): Promise<WizardRunRow[]> {
    const rows = await this.db.query<Record<string, unknown>>(
      `SELECT job_id, mapping_uid, mapping_version, dry_run, user_uid, created FROM wizard_run
       ${mappingUid ? 'WHERE mapping_uid = ?' : ''} ORDER BY created DESC LIMIT ?`,
      mappingUid ? [mappingUid, limit] : [limit],
    );
    return rows.map((r) => ({
      jobId: String(r.job_id),
      mappingUid: String(r.mapping_uid),
      mappingVersion: Number(r.mapping_version),
      dryRun: Number(r.dry_run) === 1,
      userUid: r.user_uid === null || r.user_uid === undefined ? null : String(r.user_uid),
      created: String(r.created),
    }));
  }
}
