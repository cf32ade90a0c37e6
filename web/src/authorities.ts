import type { Me } from './api.ts';

/** The authorities each page needs, as the server checks them on the actions behind it. */
export const PAGE_AUTHORITIES = {
  importData: 'F_DATAVALUE_ADD',
  importMetadata: 'F_METADATA_IMPORT',
  importTracker: 'F_TRACKER_IMPORT',
  exportData: 'F_EXPORT_DATA',
  exportMetadata: 'F_METADATA_EXPORT',
} as const;

export type Page = keyof typeof PAGE_AUTHORITIES;

/** `ALL` is DHIS2's superuser authority: it allows everything. */
export function may(me: Me, page: Page): boolean {
  return me.authorities.includes('ALL') || me.authorities.includes(PAGE_AUTHORITIES[page]);
}
