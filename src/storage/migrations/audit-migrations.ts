import type { DatabaseKind } from '../storage.ts';

/**
 * The audit log (docs/security.md, "Audit log"): one row per import, export, sign-in, denial,
 * administrative change and internal error. Append-only for the application; an async import's row
 * is completed by its job (outcome, counts) through `job_id`. Never holds passwords, tokens or cell
 * values: `options` are the request's parameters with secrets removed, `counts` are numbers.
 */
function auditMigrationSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const strict = pg ? '' : ' STRICT';
  return `
CREATE TABLE audit_log (
  id ${serial},
  created TEXT NOT NULL,
  updated TEXT NOT NULL,
  type TEXT NOT NULL,
  outcome TEXT NOT NULL,
  username TEXT,
  user_uid TEXT,
  auth_kind TEXT,
  client_ip TEXT,
  request_id TEXT,
  job_id TEXT,
  method TEXT,
  path TEXT,
  status ${int},
  format TEXT,
  file_name TEXT,
  file_size ${int},
  file_sha256 TEXT,
  options TEXT,
  counts TEXT,
  message TEXT
)${strict};
CREATE INDEX audit_log_created ON audit_log (created);
CREATE INDEX audit_log_type_created ON audit_log (type, created);
CREATE INDEX audit_log_username_created ON audit_log (username, created);
-- One row per job: its request and its outcome meet here (AuditService.write upserts on it).
CREATE UNIQUE INDEX audit_log_job ON audit_log (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX audit_log_request ON audit_log (request_id) WHERE request_id IS NOT NULL;
`;
}

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
export const AUDIT_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [
  {
    version: 5,
    name: 'audit log',
    sql: { sqlite: auditMigrationSql('sqlite'), postgres: auditMigrationSql('postgres') },
  },
];
