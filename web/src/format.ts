import { currentLocale, languageTag } from './i18n.ts';

/** Bytes in the unit a reader expects: 16 kB is "16 kB", not "0.0 MB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  // In the app's language (the user's keyUiLocale), not only the browser's.
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(languageTag(currentLocale()));
}

export function formatSeconds(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** A job type in words: `DATAVALUE_IMPORT` → "Data value import". */
export function jobTypeLabel(type: string): string {
  const words = type
    .toLowerCase()
    .replace(/datavalue/g, 'data value')
    .split('_');
  const text = words.join(' ');
  return text.charAt(0).toUpperCase() + text.slice(1);
}
