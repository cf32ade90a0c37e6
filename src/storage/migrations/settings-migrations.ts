import type { DatabaseKind } from '../storage.ts';

/**
 * DHIS2's user settings (`/api/userSettings`: locale, style, display property, per user) and system
 * settings (`/api/systemSettings`: application title, footer, help link, ...). Only values someone
 * set are stored; the defaults live in code (src/domain/settings/setting-catalog.ts), so a new key
 * or a changed default needs no migration. `value` is the setting's JSON text. A user's rows are
 * keyed by the user's UID, as web sessions and API tokens are.
 */
function settingsSql(kind: DatabaseKind): string {
  const strict = kind === 'postgres' ? '' : ' STRICT';
  return `
CREATE TABLE user_setting (
  user_uid TEXT NOT NULL,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  updated TEXT NOT NULL,
  PRIMARY KEY (user_uid, name)
)${strict};

CREATE TABLE system_setting (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated TEXT NOT NULL,
  updated_by TEXT
)${strict};
`;
}

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
export const SETTINGS_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [
  {
    version: 30,
    name: 'user and system settings',
    sql: { sqlite: settingsSql('sqlite'), postgres: settingsSql('postgres') },
  },
];
