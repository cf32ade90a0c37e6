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

/**
 * Issue 16's throughput: the entry table rebuilt narrow. What an entry costs to insert is mostly
 * the bytes it writes into B-trees (bench/dedupe-bench.ts), so:
 * - `dedupe_visit` holds one row per pool and import (seen time and job); an entry holds the
 *   visit ids of its first and last sighting (1-3 bytes each) instead of two 24-character ISO
 *   times and the job id (about 60 bytes an entry).
 * - On SQLite the entry table is WITHOUT ROWID with (pool, type, key) as its primary key: the key
 *   is stored once, in the one B-tree every check searches, instead of in the table and again in
 *   its unique index.
 * - The indexes (pool, entry_id) and (pool, last_seen) and the foreign key to dedupe_pool are
 *   dropped. Each cost a B-tree write (or a parent look-up) on every insert, for queries that do
 *   not need them: the entries list (newest first, one page) reads the pool's range of the primary
 *   key and keeps the top rows of a page; the retention sweep scans that range only when an
 *   import's visit has expired and was not swept yet (dedupe_visit.swept); deleting a pool deletes
 *   its entries explicitly (DedupeStore.deletePool).
 * - `entry_id` stays, unindexed, as the entries' order and id: on PostgreSQL from its sequence, on
 *   SQLite from the pool's `next_entry_id` counter (one writer at a time, so no race), which also
 *   tells the rows a statement inserted (id at or past the counter it started from).
 * - On PostgreSQL the key is compared byte by byte (COLLATE "C"): keys are identifiers, not
 *   words, and a locale's collation costs every index comparison and sort a strcoll call (it also
 *   lets a prefix search use the index).
 * Existing entries are carried over with their times, job and ids. On SQLite through a copy, not
 * ALTER TABLE ... RENAME: a rename opens the connection's temp database, after which no
 * transaction of that connection may change temp_store (the data value import's index rebuild
 * does).
 */
/** The visit ids of an old entry's first and last sighting (migration 170). */
const VISIT_OF_ENTRY = `(SELECT f.visit_id FROM dedupe_visit AS f
      WHERE f.pool_id = e.pool_id AND f.seen = e.first_seen AND f.job_id = '') AS first_visit,
    (SELECT l.visit_id FROM dedupe_visit AS l
      WHERE l.pool_id = e.pool_id AND l.seen = e.last_seen AND l.job_id = COALESCE(e.job_id, '')) AS last_visit`;

function dedupeNarrowSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const strict = pg ? '' : ' STRICT';
  return `
CREATE TABLE dedupe_visit (
  visit_id ${serial},
  pool_id ${int} NOT NULL REFERENCES dedupe_pool (pool_id) ON DELETE CASCADE,
  seen TEXT NOT NULL,
  job_id TEXT NOT NULL,
  swept ${int} NOT NULL DEFAULT 0
)${strict};
CREATE UNIQUE INDEX dedupe_visit_key ON dedupe_visit (pool_id, seen, job_id);
INSERT INTO dedupe_visit (pool_id, seen, job_id)
  SELECT pool_id, last_seen, COALESCE(job_id, '') FROM dedupe_entry
  UNION SELECT pool_id, first_seen, '' FROM dedupe_entry;
${
  pg
    ? ''
    : `CREATE TABLE dedupe_entry_carry AS SELECT e.pool_id, e.entity_type_id, e.key, e.entry_id, ${VISIT_OF_ENTRY}
  FROM dedupe_entry AS e;
DROP TABLE dedupe_entry;`
}
CREATE TABLE ${pg ? 'dedupe_entry_narrow' : 'dedupe_entry'} (
  pool_id ${int} NOT NULL,
  entity_type_id ${int} NOT NULL,
  key TEXT${pg ? ' COLLATE "C"' : ''} NOT NULL,
  entry_id ${pg ? 'BIGSERIAL' : 'INTEGER NOT NULL'},
  first_visit ${int} NOT NULL,
  last_visit ${int} NOT NULL,
  PRIMARY KEY (pool_id, entity_type_id, key)
)${pg ? '' : ' STRICT, WITHOUT ROWID'};
${
  pg
    ? `INSERT INTO dedupe_entry_narrow (pool_id, entity_type_id, key, entry_id, first_visit, last_visit)
  SELECT e.pool_id, e.entity_type_id, e.key, e.entry_id, ${VISIT_OF_ENTRY} FROM dedupe_entry AS e;
SELECT setval(pg_get_serial_sequence('dedupe_entry_narrow', 'entry_id'),
  COALESCE((SELECT MAX(entry_id) FROM dedupe_entry_narrow), 0) + 1, false);
DROP TABLE dedupe_entry;
ALTER TABLE dedupe_entry_narrow RENAME TO dedupe_entry;`
    : `INSERT INTO dedupe_entry (pool_id, entity_type_id, key, entry_id, first_visit, last_visit)
  SELECT pool_id, entity_type_id, key, entry_id, first_visit, last_visit FROM dedupe_entry_carry;
DROP TABLE dedupe_entry_carry;
ALTER TABLE dedupe_pool ADD COLUMN next_entry_id INTEGER NOT NULL DEFAULT 1;
UPDATE dedupe_pool SET next_entry_id =
  COALESCE((SELECT MAX(entry_id) FROM dedupe_entry WHERE dedupe_entry.pool_id = dedupe_pool.pool_id), 0) + 1;`
}
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
  {
    version: 170,
    name: 'de-duplication entries narrow: visits, no secondary indexes',
    sql: { sqlite: dedupeNarrowSql('sqlite'), postgres: dedupeNarrowSql('postgres') },
  },
];
