import type { ReactNode } from 'react';
import { Button } from '@dhis2/ui';
import type { Me } from '../api.ts';
import { may, mayUsePools } from '../authorities.ts';
import { ExportNotices } from './export-notices.tsx';

interface Props {
  me: Me;
  current: string;
  title: string;
  onSignOut: () => void;
  children: ReactNode;
}

/** The header with the pages this user may open, who is signed in, and sign out. */
export function Layout({ me, current, title, onSignOut, children }: Props) {
  const links: { href: string; key: string; label: string }[] = [{ href: '#/', key: '', label: 'Home' }];
  if (may(me, 'importData') || may(me, 'importMetadata') || may(me, 'importTracker'))
    links.push({
      href: may(me, 'importData')
        ? '#/import'
        : may(me, 'importMetadata')
          ? '#/import/metadata'
          : '#/import/tracker',
      key: 'import',
      label: 'Import',
    });
  if (may(me, 'exportData') || may(me, 'exportMetadata'))
    links.push({
      href: may(me, 'exportData') ? '#/export' : '#/export/metadata',
      key: 'export',
      label: 'Export',
    });
  links.push({ href: '#/jobs', key: 'jobs', label: 'Jobs' });
  links.push({ href: '#/exports', key: 'exports', label: 'Export queue' });
  if (mayUsePools(me)) links.push({ href: '#/pools', key: 'pools', label: 'Pools' });
  return (
    <>
      <header className="topbar">
        <a className="brand" href="#/">
          <img src="/favicon.svg" alt="" width="24" height="24" />
          Ferry
        </a>
        <nav aria-label="Pages" className="nav">
          {links.map((link) => (
            <a key={link.key} href={link.href} aria-current={current === link.key ? 'page' : undefined}>
              {link.label}
            </a>
          ))}
        </nav>
        <div className="who">
          <span id="who" title={`Signed in as ${me.username}`}>
            {me.displayName || me.name || me.username}
          </span>
          <Button small secondary onClick={onSignOut}>
            Sign out
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
