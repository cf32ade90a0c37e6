import { lazy, Suspense, type ReactNode } from 'react';
import { Button } from '@dhis2/ui';
import type { Me } from '../api.ts';
import { may, mayUsePools } from '../authorities.ts';
import { ExportNotices } from './export-notices.tsx';
import { t } from '../i18n.ts';

// Its own chunk: @dhis2/ui's select would otherwise weigh on the sign-in page's first load.
const LanguageSwitch = lazy(() => import('./language-switch.tsx'));

interface Props {
  me: Me;
  current: string;
  title: string;
  onSignOut: () => void;
  /** The app's language (one of APP_LOCALES) and the switch that saves another. */
  locale: string;
  onLocale: (locale: string) => Promise<void>;
  children: ReactNode;
}

/** The header with the pages this user may open, who is signed in, and sign out. */
export function Layout({ me, current, title, onSignOut, locale, onLocale, children }: Props) {
  const links: { href: string; key: string; label: string }[] = [{ href: '#/', key: '', label: t('Home') }];
  if (may(me, 'importData') || may(me, 'importMetadata') || may(me, 'importTracker'))
    links.push({
      href: may(me, 'importData')
        ? '#/import'
        : may(me, 'importMetadata')
          ? '#/import/metadata'
          : '#/import/tracker',
      key: 'import',
      label: t('Import'),
    });
  if (may(me, 'exportData') || may(me, 'exportMetadata'))
    links.push({
      href: may(me, 'exportData') ? '#/export' : '#/export/metadata',
      key: 'export',
      label: t('Export'),
    });
  links.push({ href: '#/jobs', key: 'jobs', label: t('Jobs') });
  links.push({ href: '#/exports', key: 'exports', label: t('Export queue') });
  if (mayUsePools(me)) links.push({ href: '#/pools', key: 'pools', label: t('Pools') });
  if (me.authorities.some((a) => a === 'ALL' || a.startsWith('F_SYNC_')))
    links.push({ href: '#/sync', key: 'sync', label: t('Sync') });
  return (
    <>
      <header className="topbar">
        <a className="brand" href="#/">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          Ferry
        </a>
        <nav aria-label={t('Pages')} className="nav">
          {links.map((link) => (
            <a key={link.key} href={link.href} aria-current={current === link.key ? 'page' : undefined}>
              {link.label}
            </a>
          ))}
        </nav>
        <div className="who">
          <Suspense fallback={null}>
            <LanguageSwitch locale={locale} onChange={onLocale} />
          </Suspense>
          <span id="who" title={t('Signed in as {{username}}', { username: me.username })}>
            {me.displayName || me.name || me.username}
          </span>
          <Button small secondary onClick={onSignOut}>
            {t('Sign out')}
          </Button>
        </div>
      </header>
      <main className="page">
        <ExportNotices />
        <h1>{title}</h1>
        {children}
      </main>
    </>
  );
}
