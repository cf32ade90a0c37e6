import type { DatabaseKind } from '../storage.ts';

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
// DHIS2 file resources (POST /api/fileResources; services/file-resources/): the bytes are on disk
// under the files directory, named by uid; this row holds what DHIS2's FileResource object shows
// (name, content type, length) plus the SHA-256 and who uploaded it.
function sql(kind: DatabaseKind): string {
  const int = kind === 'postgres' ? 'BIGINT' : 'INTEGER';
  return `
CREATE TABLE file_resource (
  uid TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  content_type TEXT NOT NULL,
  content_length ${int} NOT NULL,
  sha256 TEXT NOT NULL,
  domain TEXT NOT NULL,
  owner_uid TEXT,
  created TEXT NOT NULL
)${kind === 'sqlite' ? ' STRICT' : ''};
`;
}

export const FILE_RESOURCE_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [{ version: 157, name: 'file resources', sql: { sqlite: sql('sqlite'), postgres: sql('postgres') } }];
