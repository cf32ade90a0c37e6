/**
 * DHIS2's user and system setting keys that Ferry knows, each with its default and the kind of value
 * it takes. Keys are DHIS2's (`UserSettingKey`, `SettingKey`), so DHIS2's apps find what they read:
 * the app platform stops with "Failed to fetch user locale" without `keyUiLocale`, the header bar
 * reads `applicationTitle` and `helpPageLink`. A key not listed here is unknown (404, as in DHIS2).
 */

/** A setting's value as stored and served: JSON scalars; `null` for "not set" where DHIS2 has none. */
export type SettingValue = string | number | boolean | null;

export type SettingKind = 'string' | 'boolean' | 'number' | 'locale' | 'nullableLocale';

export interface SettingDefinition {
  readonly kind: SettingKind;
  readonly default: SettingValue;
  /** For strings: the values DHIS2 accepts, when it has a closed set. */
  readonly allowed?: readonly string[];
}

/** The longest text a setting takes (a footer or an intro text is HTML of a few KiB in DHIS2). */
export const MAX_SETTING_TEXT_LENGTH = 10_000;

const text = (value: string): SettingDefinition => ({ kind: 'string', default: value });
const flag = (value: boolean): SettingDefinition => ({ kind: 'boolean', default: value });

// Maps, not objects: the key is user text (`__proto__`, `toString`).
export const USER_SETTINGS: ReadonlyMap<string, SettingDefinition> = new Map<string, SettingDefinition>([
  ['keyUiLocale', { kind: 'locale', default: 'en' }],
  ['keyDbLocale', { kind: 'nullableLocale', default: null }],
  // Not a DHIS2 key; some clients read it as the interface language. Same values as keyUiLocale.
  ['keyUiLanguage', { kind: 'locale', default: 'en' }],
  ['keyStyle', text('light_blue/light_blue.css')],
  ['keyAnalysisDisplayProperty', { kind: 'string', default: 'name', allowed: ['name', 'shortName'] }],
  ['keyMessageEmailNotification', flag(true)],
  ['keyMessageSmsNotification', flag(true)],
  ['keyAutoSaveCaseEntryForm', flag(false)],
  ['keyAutoSaveTrackedEntityForm', flag(false)],
  ['keyAutoSaveDataEntryForm', flag(false)],
  ['keyTrackerDashboardLayout', { kind: 'string', default: null }],
]);

export const SYSTEM_SETTINGS: ReadonlyMap<string, SettingDefinition> = new Map<string, SettingDefinition>([
  ['applicationTitle', text('Ferry')],
  ['keyApplicationIntro', text('')],
  ['keyApplicationNotification', text('')],
  ['keyApplicationFooter', text('')],
  ['keyApplicationRightFooter', text('')],
  ['helpPageLink', text('https://docs.dhis2.org/en/use/use.html')],
  ['keyUiLocale', { kind: 'locale', default: 'en' }],
  ['keyDbLocale', { kind: 'nullableLocale', default: null }],
  ['keyAnalysisDisplayProperty', { kind: 'string', default: 'name', allowed: ['name', 'shortName'] }],
  ['keyStyle', text('light_blue/light_blue.css')],
  ['keyFlag', text('dhis2')],
  ['keyCalendar', { kind: 'string', default: 'iso8601', allowed: ['iso8601'] }],
  ['keyDateFormat', { kind: 'string', default: 'yyyy-MM-dd', allowed: ['yyyy-MM-dd'] }],
  ['startModule', text('dhis-web-dashboard')],
  ['keyUseCustomLogoFront', flag(false)],
  ['keyUseCustomLogoBanner', flag(false)],
  ['keyCustomLoginPageLogo', flag(false)],
  ['keyCustomTopMenuLogo', flag(false)],
  ['keyAccountRecovery', flag(false)],
  ['keySelfRegistrationNoRecaptcha', flag(false)],
  ['keyRequireAddToView', flag(false)],
  ['keyAllowObjectAssignment', flag(false)],
  ['keyHideDailyPeriods', flag(false)],
  ['keyHideWeeklyPeriods', flag(false)],
  ['keyHideBiWeeklyPeriods', flag(false)],
  ['keyHideMonthlyPeriods', flag(false)],
  ['keyHideBiMonthlyPeriods', flag(false)],
  ['keyIgnoreAnalyticsApprovalYearThreshold', { kind: 'number', default: -1 }],
  ['keyAnalysisRelativePeriod', text('LAST_12_MONTHS')],
  ['keyEmailConfigured', flag(false)],
  ['keyOpenIdProvider', { kind: 'string', default: null }],
]);

// `en`, `fr`, `pt_BR`, `uz_UZ_Cyrl`, `en-GB`: DHIS2's locale codes.
const LOCALE = /^[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8}){0,3}$/;

/** Why a value is refused for a setting; the route turns it into a 400 naming the key. */
export class SettingValueError extends Error {}

/**
 * `raw` (text from `?value=` or a text body, or a JSON value) as the setting's value; a
 * `SettingValueError` saying what the key takes otherwise. An empty text clears a setting whose
 * default is null.
 */
export function coerceSettingValue(definition: SettingDefinition, raw: unknown): SettingValue {
  if (raw === null || (raw === '' && definition.default === null)) {
    if (definition.default === null) return null;
    throw new SettingValueError('a value');
  }
  switch (definition.kind) {
    case 'boolean':
      if (raw === true || raw === 'true') return true;
      if (raw === false || raw === 'false') return false;
      throw new SettingValueError('true or false');
    case 'number': {
      const number =
        typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
      if (!Number.isFinite(number)) throw new SettingValueError('a number');
      return number;
    }
    case 'locale':
    case 'nullableLocale':
      if (typeof raw !== 'string' || !LOCALE.test(raw))
        throw new SettingValueError('a locale such as en, fr or pt_BR');
      return raw;
    case 'string':
      if (typeof raw !== 'string') throw new SettingValueError('a text');
      if (definition.allowed && !definition.allowed.includes(raw))
        throw new SettingValueError(`one of ${definition.allowed.join(', ')}`);
      if (raw.length > MAX_SETTING_TEXT_LENGTH)
        throw new SettingValueError(`a text of at most ${MAX_SETTING_TEXT_LENGTH} characters`);
      return raw;
  }
}
