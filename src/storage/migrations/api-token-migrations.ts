import type { DatabaseKind } from '../storage.ts';

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
export const API_TOKEN_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [
  {
    version: 47,
    // The token's limits (allowed IPs, methods, referrers, scopes) as the JSON list DHIS2's
    // `attributes` is; NULL for a token without limits (every token made before this migration).
    name: 'api token attributes',
    sql: {
      sqlite: 'ALTER TABLE api_token ADD COLUMN attributes TEXT;',
      postgres: 'ALTER TABLE api_token ADD COLUMN attributes TEXT;',
    },
  },
];
