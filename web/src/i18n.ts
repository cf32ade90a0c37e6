import { FR } from './locales/fr.ts';
import { ES } from './locales/es.ts';
import { PT } from './locales/pt.ts';

// The app's language: the user's `keyUiLocale` (DHIS2's user setting, `GET/POST /api/userSettings`),
// or before sign-in the browser's. The app's words are keyed by their English text, as in DHIS2's
// apps; a word without a translation stays English. @dhis2/ui's controls translate themselves with
// DHIS2's own translations (org unit tree, selects, file input, pagination, tables, in some 30
// locales) through @dhis2/d2-i18n's i18next instance, which `setLocale` switches too. That instance
// is loaded on demand, with the first control that needs it, not with the sign-in page.

/** The locales the app's own words are translated into, each named in its own language. */
export const APP_LOCALES = [
  ['en', 'English'],
  ['fr', 'Français'],
  ['es', 'Español'],
  ['pt', 'Português'],
] as const;

const WORDS: Record<string, Record<string, string>> = { fr: FR, es: ES, pt: PT };

/** @dhis2/ui's packages add their translations under this namespace, as DHIS2's app platform reads them. */
const DHIS2_UI_NAMESPACE = 'default';

let locale = 'en';

/** A word or sentence in the current language; `{{name}}` takes `values.name`. */
export function t(key: string, values?: Record<string, string | number>): string {
  const text = WORDS[appLocaleOf(locale)]?.[key] ?? key;
  return values
    ? text.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => String(values[name] ?? whole))
    : text;
}

/** DHIS2's locale code (`pt_BR`) as a BCP 47 tag (`pt-BR`), for `lang` and Intl. */
export function languageTag(code: string): string {
  return code.replace(/_/g, '-');
}

/**
 * Switches the app to `code` (DHIS2's form: `fr`, `pt_BR`; a region falls back to its language,
 * then to English), marks the document's language for screen readers, and switches @dhis2/ui's
 * controls; resolves once they are switched, so the next render shows one language throughout.
 */
export async function setLocale(code: string): Promise<void> {
  locale = code.replace(/-/g, '_');
  document.documentElement.lang = languageTag(locale);
  const { default: i18n } = await import('@dhis2/d2-i18n');
  i18n.setDefaultNamespace(DHIS2_UI_NAMESPACE);
  await i18n.changeLanguage(locale);
}

export function currentLocale(): string {
  return locale;
}

/** Of the app's locales, the one that covers `code` (`pt_BR` → `pt`), else English. */
export function appLocaleOf(code: string): string {
  const language = code.split(/[_-]/)[0]?.toLowerCase() ?? 'en';
  return APP_LOCALES.some(([known]) => known === language) ? language : 'en';
}

/** The browser's preferred language among the app's, for the sign-in page. */
export function browserLocale(): string {
  for (const wanted of navigator.languages ?? [navigator.language]) {
    const found = appLocaleOf(wanted);
    if (found !== 'en' || wanted.toLowerCase().startsWith('en')) return found;
  }
  return 'en';
}
