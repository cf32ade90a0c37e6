import type { DatabaseKind } from '../storage.ts';

/**
 * The import wizard (issue 17). `wizard_mapping` holds a mapping's current body and sharing;
 * `wizard_mapping_version` every saved body (a mapping's history, and what a run used);
 * `wizard_column_memory` how often a source column name (normalised) was mapped to a target, so
 * the next file with the same columns gets the same suggestions; `wizard_run` ties an import job to
 * the mapping and version it ran (the job row keeps status and summary). Timestamps are ISO text.
 */
function wizardSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const strict = pg ? '' : ' STRICT';
  return `
CREATE TABLE wizard_mapping (
  mapping_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  version ${int} NOT NULL,
  body TEXT NOT NULL,
  sharing TEXT NOT NULL,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  created_by TEXT
)${strict};

CREATE TABLE wizard_mapping_version (
  mapping_id ${int} NOT NULL REFERENCES wizard_mapping (mapping_id) ON DELETE CASCADE,
  version ${int} NOT NULL,
  body TEXT NOT NULL,
  saved TEXT NOT NULL,
  saved_by TEXT,
  PRIMARY KEY (mapping_id, version)
)${strict};

CREATE TABLE wizard_column_memory (
  column_key TEXT NOT NULL,
  target_kind TEXT NOT NULL,
  target_id TEXT NOT NULL,
  uses ${int} NOT NULL,
  last_used TEXT NOT NULL,
  PRIMARY KEY (column_key, target_kind, target_id)
)${strict};

CREATE TABLE wizard_run (
  job_id TEXT PRIMARY KEY,
  mapping_uid TEXT NOT NULL,
  mapping_version ${int} NOT NULL,
  dry_run ${int} NOT NULL,
  user_uid TEXT,
  created TEXT NOT NULL
)${strict};
CREATE INDEX wizard_run_mapping ON wizard_run (mapping_uid, created);
`;
}

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
export const WIZARD_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [
  {
    version: 195,
    name: 'import wizard mappings, versions, column memory and runs',
    sql: { sqlite: wizardSql('sqlite'), postgres: wizardSql('postgres') },
  },
];
