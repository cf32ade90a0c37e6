import type { DatabaseKind } from '../storage.ts';

/**
 * De-duplication pools (issue 16). `dedupe_entry` holds one row per (pool, entity type, key): the
 * unique index is what makes a check-and-insert atomic (INSERT ... ON CONFLICT DO NOTHING
 * RETURNING), so two imports never both let one key through. `entry_id` orders entries newest
 * first and is the keyset cursor of the entries list; (pool_id, last_seen) serves the retention
 * sweep. Timestamps are ISO-8601 text, as everywhere in Ferry.
 */
function dedupeSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const strict = pg ? '' : ' STRICT';
  return `
CREATE TABLE dedupe_pool (
  pool_id ${serial},
  uid TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL UNIQUE,
  description TEXT NOT NULL,
  retention_days ${int} NOT NULL,
  sharing TEXT NOT NULL,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL
)${strict};

CREATE TABLE dedupe_entry (
  entry_id ${serial},
  pool_id ${int} NOT NULL REFERENCES dedupe_pool (pool_id) ON DELETE CASCADE,
  entity_type_id ${int} NOT NULL,
  key TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  job_id TEXT
)${strict};
CREATE UNIQUE INDEX dedupe_entry_key ON dedupe_entry (pool_id, entity_type_id, key);
CREATE INDEX dedupe_entry_newest ON dedupe_entry (pool_id, entry_id);
CREATE INDEX dedupe_entry_last_seen ON dedupe_entry (pool_id, last_seen);
`;
}

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
export const DEDUPE_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [
  {
    version: 40,
    name: 'de-duplication pools',
    sql: { sqlite: dedupeSql('sqlite'), postgres: dedupeSql('postgres') },
  },
];
