import type { DatabaseKind } from '../storage.ts';

/**
 * Offline sync between Ferry sites (issue 18, docs/sync.md).
 *
 * - `sync_identity`: this site's one row: its id and its Ed25519 (signing) and X25519 (encryption)
 *   key pairs, PEM. Whoever can read the database can sign as the site, as with any server key.
 * - `sync_site`: the parent and the children this site trusts, with their public keys, and the
 *   state of each link: what was last sent and acknowledged (outgoing), what was last imported
 *   (incoming) and the local change sequence right after that import (the conflict horizon).
 * - `sync_change`: the change log, one row per written row of data (data values, completions,
 *   tracker objects) or metadata, appended by triggers in the writing transaction (installed when
 *   the site is initialised, see sync-change-store.ts). `seq` is the cursor packages cover.
 * - `sync_package`: every package written for or imported from a site, by sequence, with its digest
 *   (replays are recognised by it).
 * - `sync_conflict`: values changed at both ends, with both versions and what the rule kept.
 * - `sync_upload`: resumable pushes: how many bytes of a site's package have arrived.
 */
function syncSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const strict = pg ? '' : ' STRICT';
  return `
CREATE TABLE sync_identity (
  site_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  signing_public TEXT NOT NULL,
  signing_private TEXT NOT NULL,
  box_public TEXT NOT NULL,
  box_private TEXT NOT NULL,
  created TEXT NOT NULL
)${strict};

CREATE TABLE sync_site (
  site_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  signing_public TEXT NOT NULL,
  box_public TEXT NOT NULL,
  url TEXT,
  encrypt ${int} NOT NULL DEFAULT 0,
  sent_package ${int} NOT NULL DEFAULT 0,
  sent_to_seq ${int} NOT NULL DEFAULT 0,
  sent_at TEXT,
  acked_package ${int} NOT NULL DEFAULT 0,
  acked_to_seq ${int} NOT NULL DEFAULT 0,
  acked_at TEXT,
  received_package ${int} NOT NULL DEFAULT 0,
  received_to_seq ${int} NOT NULL DEFAULT 0,
  received_at TEXT,
  local_seq_after_import ${int} NOT NULL DEFAULT 0,
  created TEXT NOT NULL
)${strict};

CREATE TABLE sync_change (
  seq ${serial},
  kind TEXT NOT NULL,
  k1 ${int},
  k2 ${int},
  k3 ${int},
  k4 ${int},
  k5 ${int},
  type TEXT,
  uid TEXT
)${strict};
CREATE INDEX sync_change_kind ON sync_change (kind, seq);
CREATE INDEX sync_change_key ON sync_change (kind, k1, k2, k3, k4, k5);

CREATE TABLE sync_package (
  package_id ${serial},
  direction TEXT NOT NULL,
  site_id TEXT NOT NULL,
  sequence ${int} NOT NULL,
  from_seq ${int} NOT NULL,
  to_seq ${int} NOT NULL,
  digest TEXT NOT NULL,
  counts TEXT NOT NULL,
  bytes ${int} NOT NULL,
  file_path TEXT,
  created TEXT NOT NULL
)${strict};
CREATE UNIQUE INDEX sync_package_sequence ON sync_package (direction, site_id, sequence);

CREATE TABLE sync_conflict (
  conflict_id ${serial},
  site_id TEXT NOT NULL,
  package_sequence ${int} NOT NULL,
  kind TEXT NOT NULL,
  object_key TEXT NOT NULL,
  local_value TEXT,
  local_updated TEXT,
  incoming_value TEXT,
  incoming_updated TEXT,
  rule TEXT NOT NULL,
  kept TEXT NOT NULL,
  detected TEXT NOT NULL
)${strict};
CREATE INDEX sync_conflict_site ON sync_conflict (site_id, conflict_id);

CREATE TABLE sync_upload (
  site_id TEXT NOT NULL,
  sequence ${int} NOT NULL,
  total ${int} NOT NULL,
  received ${int} NOT NULL,
  path TEXT NOT NULL,
  created TEXT NOT NULL,
  PRIMARY KEY (site_id, sequence)
)${strict};
`;
}

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
export const SYNC_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [
  {
    version: 180,
    name: 'offline sync between sites',
    sql: { sqlite: syncSql('sqlite'), postgres: syncSql('postgres') },
  },
];
