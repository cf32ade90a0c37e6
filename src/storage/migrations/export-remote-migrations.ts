import type { DatabaseKind } from '../storage.ts';

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
// Cloud destinations of exports (docs/jobs.md, "Cloud destinations"): an rclone remote, per user
// (owner_uid) or for the whole server (owner_uid NULL). `options` holds the non-secret settings as
// JSON (a WebDAV URL, an SFTP host and user); `secrets` the secret ones (passwords, keys, OAuth
// tokens) as JSON sealed with the server key (AES-256-GCM, services/jobs/destinations/server-key.ts),
// never in plain text and never returned by the API.
function sql(kind: DatabaseKind): string {
  return `
CREATE TABLE export_remote (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  owner_uid TEXT,
  type TEXT NOT NULL,
  options TEXT NOT NULL,
  secrets TEXT NOT NULL,
  created TEXT NOT NULL,
  created_by TEXT
)${kind === 'sqlite' ? ' STRICT' : ''};
CREATE UNIQUE INDEX export_remote_name ON export_remote (COALESCE(owner_uid, ''), name);
`;
}

export const EXPORT_REMOTE_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [{ version: 151, name: 'export remotes', sql: { sqlite: sql('sqlite'), postgres: sql('postgres') } }];
