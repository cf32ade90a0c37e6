/**
 * DHIS2 metadata translations: an object's `translations` list `{ locale, property, value }`, with
 * the property in DHIS2's upper snake case (`NAME`, `FORM_NAME`, `SHORT_NAME`, `DESCRIPTION`).
 */

interface Translatable {
  translations?: unknown;
  [field: string]: unknown;
}

/** `formName` → `FORM_NAME`. */
function propertyOf(field: string): string {
  return field.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

const normalised = (locale: unknown): string =>
  typeof locale === 'string' ? locale.replace('-', '_').toLowerCase() : '';

/**
 * `field` of `object` in `locale` when its translations hold one (the exact locale, else one of the
 * same language: `pt` for `pt_BR`), else the field itself; '' when neither is a string.
 */
export function translatedField(object: Translatable | undefined, field: string, locale?: string): string {
  if (!object) return '';
  if (locale && Array.isArray(object.translations)) {
    const property = propertyOf(field);
    const entries = (
      object.translations as { property?: unknown; locale?: unknown; value?: unknown }[]
    ).filter((t) => t && t.property === property && typeof t.value === 'string' && t.value !== '');
    const wanted = normalised(locale);
    const hit =
      entries.find((t) => normalised(t.locale) === wanted) ??
      entries.find((t) => normalised(t.locale).split('_')[0] === wanted.split('_')[0]);
    if (hit) return hit.value as string;
  }
  const value = object[field];
  return typeof value === 'string' ? value : '';
}

/** The locales `objects` have translations in, sorted. */
export function translationLocales(objects: Iterable<Translatable | undefined>): string[] {
  const locales = new Set<string>();
  for (const object of objects) {
    if (!object || !Array.isArray(object.translations)) continue;
    for (const t of object.translations as { locale?: unknown }[]) {
      if (t && typeof t.locale === 'string' && /^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/.test(t.locale))
        locales.add(t.locale);
    }
  }
  return [...locales].sort();
}
