import type { Me } from './api.ts';

/** The authorities each page needs, as the server checks them on the actions behind it. */
export const PAGE_AUTHORITIES = {
  importData: 'F_DATAVALUE_ADD',
  importMetadata: 'F_METADATA_IMPORT',
  importTracker: 'F_TRACKER_IMPORT',
  exportData: 'F_EXPORT_DATA',
  exportMetadata: 'F_METADATA_EXPORT',
  managePools: 'F_DEDUPE_POOL_MANAGE',
} as const;

export type Page = keyof typeof PAGE_AUTHORITIES;

/** `ALL` is DHIS2's superuser authority: it allows everything. */
export function may(me: Me, page: Page): boolean {
  return me.authorities.includes('ALL') || me.authorities.includes(PAGE_AUTHORITIES[page]);
}

/**
 * De-duplication pools: shown to those who create pools and to importers, who use them. Which
 * pools a user sees, and what they may do with each, is the pool's sharing, checked by the server.
 */
export function mayUsePools(me: Me): boolean {
  return may(me, 'managePools') || may(me, 'importData') || may(me, 'importTracker');
}
