import type { SqlExecutor } from '../../storage/storage.ts';
import { FerryError } from '../../errors.ts';
import {
  coerceSettingValue,
  SettingValueError,
  SYSTEM_SETTINGS,
  USER_SETTINGS,
  type SettingDefinition,
  type SettingValue,
} from '../../domain/settings/setting-catalog.ts';

export type Settings = Record<string, SettingValue>;

interface StoredSetting {
  name: string;
  value: string;
}

/**
 * DHIS2's user settings (per signed-in user) and system settings: the catalogue's defaults
 * overlaid with what was set (tables `user_setting`, `system_setting`, migration 30). Who may set
 * a system setting is the route's to check; a user only ever reaches their own user settings.
 */
export class SettingsService {
  private readonly db: SqlExecutor;

  constructor(db: SqlExecutor) {
    this.db = db;
  }

  /** Every user setting of `userUid` (or those named in `keys`), defaults where none was set. */
  async userSettings(userUid: string, keys?: readonly string[]): Promise<Settings> {
    const stored = await this.db.query<StoredSetting>(
      'SELECT name, value FROM user_setting WHERE user_uid = ?',
      [userUid],
    );
    return overlay(USER_SETTINGS, stored, keys, 'User setting');
  }

  async userSetting(userUid: string, key: string): Promise<SettingValue> {
    return (await this.userSettings(userUid, [key]))[key];
  }

  /** Sets one user setting; `null` (or an empty text for a key without a default) resets it. */
  async setUserSetting(userUid: string, key: string, raw: unknown): Promise<SettingValue> {
    const value = coerce(USER_SETTINGS, 'User setting', key, raw);
    const now = new Date().toISOString();
    if (value === null) {
      await this.db.execute('DELETE FROM user_setting WHERE user_uid = ? AND name = ?', [userUid, key]);
    } else {
      await this.db.execute(
        `INSERT INTO user_setting (user_uid, name, value, updated) VALUES (?, ?, ?, ?)
         ON CONFLICT (user_uid, name) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
        [userUid, key, JSON.stringify(value), now],
      );
    }
    return value;
  }

  /** Back to the default (DHIS2's `DELETE /api/userSettings/{key}`). */
  async resetUserSetting(userUid: string, key: string): Promise<void> {
    definitionOf(USER_SETTINGS, 'User setting', key);
    await this.db.execute('DELETE FROM user_setting WHERE user_uid = ? AND name = ?', [userUid, key]);
  }

  async systemSettings(keys?: readonly string[]): Promise<Settings> {
    const stored = await this.db.query<StoredSetting>('SELECT name, value FROM system_setting');
    return overlay(SYSTEM_SETTINGS, stored, keys, 'System setting');
  }

  async systemSetting(key: string): Promise<SettingValue> {
    return (await this.systemSettings([key]))[key];
  }

  /** Sets one system setting, recording who did; the caller has checked the right to. */
  async setSystemSetting(key: string, raw: unknown, username: string): Promise<SettingValue> {
    const value = coerce(SYSTEM_SETTINGS, 'System setting', key, raw);
    const now = new Date().toISOString();
    await this.db.execute(
      `INSERT INTO system_setting (name, value, updated, updated_by) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated = excluded.updated,
         updated_by = excluded.updated_by`,
      [key, JSON.stringify(value), now, username],
    );
    return value;
  }

  async resetSystemSetting(key: string): Promise<void> {
    definitionOf(SYSTEM_SETTINGS, 'System setting', key);
    await this.db.execute('DELETE FROM system_setting WHERE name = ?', [key]);
  }
}

function definitionOf(
  catalog: ReadonlyMap<string, SettingDefinition>,
  what: string,
  key: string,
): SettingDefinition {
  const definition = catalog.get(key);
  if (!definition) throw new FerryError('F1200', [what, key]);
  return definition;
}

function coerce(
  catalog: ReadonlyMap<string, SettingDefinition>,
  what: string,
  key: string,
  raw: unknown,
): SettingValue {
  const definition = definitionOf(catalog, what, key);
  try {
    return coerceSettingValue(definition, raw);
  } catch (error) {
    if (!(error instanceof SettingValueError)) throw error;
    const shown = typeof raw === 'string' ? raw.slice(0, 80) : JSON.stringify(raw);
    throw new FerryError('F1000', [key, shown, error.message]);
  }
}

/** The defaults of `catalog` (all, or `keys`, each of which must exist) overlaid with stored values. */
function overlay(
  catalog: ReadonlyMap<string, SettingDefinition>,
  stored: readonly StoredSetting[],
  keys: readonly string[] | undefined,
  what: string,
): Settings {
  const names = keys ?? [...catalog.keys()];
  const out: Settings = {};
  for (const name of names) out[name] = definitionOf(catalog, what, name).default;
  for (const row of stored) {
    // A key no longer in the catalogue stays stored but is not served.
    if (!Object.hasOwn(out, row.name)) continue;
    out[row.name] = JSON.parse(row.value) as SettingValue;
  }
  return out;
}
