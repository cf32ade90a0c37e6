import i18n from '@dhis2/d2-i18n';
import { FR } from './locales/fr.ts';
import { ES } from './locales/es.ts';
import { PT } from './locales/pt.ts';

// The app's language: the user's `keyUiLocale` (DHIS2's user setting, `GET/POST /api/userSettings`),
// or before sign-in the browser's. @dhis2/d2-i18n is the i18next instance @dhis2/ui's controls
// translate themselves with (DHIS2's own translations of the org unit tree, selects, file input,
// pagination and tables, in some 30 locales), so one `changeLanguage` switches both them and the
// app's own words. The app's words are keyed by their English text, as in DHIS2's apps; a word
// without a translation stays English.

const NAMESPACE = 'default';

/** The locales the app's own words are translated into, each named in its own language. */
export const APP_LOCALES = [
  ['en', 'English'],
  ['fr', 'Français'],
  ['es', 'Español'],
  ['pt', 'Português'],
] as const;

// @dhis2/ui's packages add their translations under this namespace, as DHIS2's app platform reads them.
i18n.setDefaultNamespace(NAMESPACE);
i18n.addResources('fr', NAMESPACE, FR);
i18n.addResources('es', NAMESPACE, ES);
i18n.addResources('pt', NAMESPACE, PT);

/** A word or sentence in the current language; `{{name}}` takes `values.name`. */
export function t(key: string, values?: Record<string, string | number>): string {
  // React escapes what it renders; i18next's own HTML escaping would show `&#x2F;` for a `/`.
  return values ? i18n.t(key, { ...values, interpolation: { escapeValue: false } }) : i18n.t(key);
}

/** DHIS2's locale code (`pt_BR`) as a BCP 47 tag (`pt-BR`), for `lang` and Intl. */
export function languageTag(locale: string): string {
  return locale.replace(/_/g, '-');
}

/**
 * Switches the app to `locale` (DHIS2's form: `fr`, `pt_BR`; a region falls back to its language,
 * then to English) and marks the document's language for screen readers and Intl.
 */
export function setLocale(locale: string): void {
  const code = locale.replace(/-/g, '_');
  void i18n.changeLanguage(code);
  document.documentElement.lang = languageTag(code);
}

export function currentLocale(): string {
  return i18n.language || 'en';
}

/** Of the app's locales, the one that covers `locale` (`pt_BR` → `pt`), else English. */
export function appLocaleOf(locale: string): string {
  const language = locale.split(/[_-]/)[0]?.toLowerCase() ?? 'en';
  return APP_LOCALES.some(([code]) => code === language) ? language : 'en';
}

/** The browser's preferred language among the app's, for the sign-in page. */
export function browserLocale(): string {
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const locale = appLocaleOf(wanted);
    if (locale !== 'en' || wanted.toLowerCase().startsWith('en')) return locale;
  }
  return 'en';
}
