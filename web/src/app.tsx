import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { CssReset, CssVariables, CircularLoader } from '@dhis2/ui';
import { api, ApiError, postJson, SIGNED_OUT_EVENT, type Me } from './api.ts';
import { useRoute } from './router.ts';
import { LoginPage } from './pages/login-page.tsx';
import { Layout } from './components/layout.tsx';
import { ErrorNotice } from './components/error-notice.tsx';
import { SubNav } from './components/sub-nav.tsx';
import { may, mayUsePools } from './authorities.ts';
import { appLocaleOf, browserLocale, setLocale, t } from './i18n.ts';
import './app.css';

// One chunk per page: the sign-in page loads without the import, export or job code.
const HomePage = lazy(() => import('./pages/home-page.tsx'));
const ImportPage = lazy(() => import('./pages/import-page.tsx'));
const JobsPage = lazy(() => import('./pages/jobs-page.tsx'));
const ExportDataPage = lazy(() => import('./pages/export-data-page.tsx'));
const ExportMetadataPage = lazy(() => import('./pages/export-metadata-page.tsx'));
const ExportsPage = lazy(() => import('./pages/exports-page.tsx'));
const ExportAnalysisPage = lazy(() => import('./pages/export-analysis-page.tsx'));
const ExportEventsPage = lazy(() => import('./pages/export-events-page.tsx'));
const ExportTrackedEntitiesPage = lazy(() => import('./pages/export-tracked-entities-page.tsx'));
const ExportDependenciesPage = lazy(() => import('./pages/export-dependencies-page.tsx'));
const ExportGeometryPage = lazy(() => import('./pages/export-geometry-page.tsx'));
const DedupePoolsPage = lazy(() => import('./pages/dedupe-pools-page.tsx'));
const DedupePoolPage = lazy(() => import('./pages/dedupe-pool-page.tsx'));
const SyncPage = lazy(() => import('./pages/sync-page.tsx'));

/** The export pages other than data values (`#/export`, and any unknown kind, is data values). */
const EXPORT_KINDS = ['metadata', 'analysis', 'events', 'trackedEntities', 'dependencies', 'geometry'];

type Session =
  | { state: 'loading' }
  | { state: 'signedOut' }
  | { state: 'signedIn'; me: Me }
  | { state: 'error'; error: unknown };

export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  // The language the app is shown in; state so that a switch re-renders every page.
  const [locale, setLocaleState] = useState(() => {
    const initial = browserLocale();
    void setLocale(initial);
    return initial;
  });
  const route = useRoute();

  const applyLocale = useCallback(async (value: string) => {
    // @dhis2/ui's translations load with it; the app's own words do not wait for them.
    await setLocale(value).catch(() => undefined);
    setLocaleState(value);
  }, []);

  const loadMe = useCallback(async () => {
    try {
      const me = await api<Me>('/api/me?fields=id,username,name,displayName,authorities');
      // The user's own language (DHIS2's keyUiLocale), before the first page is drawn.
      const settings = await api<{ keyUiLocale?: string }>('/api/userSettings?key=keyUiLocale').catch(
        () => ({}) as { keyUiLocale?: string },
      );
      if (settings.keyUiLocale) await applyLocale(settings.keyUiLocale);
      setSession({ state: 'signedIn', me });
    } catch (error) {
      setSession(
        error instanceof ApiError && error.status === 401
          ? { state: 'signedOut' }
          : { state: 'error', error },
      );
    }
  }, [applyLocale]);

  useEffect(() => {
    void loadMe();
  }, [loadMe]);

  /** The language switch: saved as the user's keyUiLocale, then applied. */
  const changeLocale = useCallback(
    async (value: string) => {
      await postJson('/api/userSettings', { keyUiLocale: value });
      await applyLocale(value);
    },
    [applyLocale],
  );

  useEffect(() => {
    const signedOut = () => setSession({ state: 'signedOut' });
    window.addEventListener(SIGNED_OUT_EVENT, signedOut);
    return () => window.removeEventListener(SIGNED_OUT_EVENT, signedOut);
  }, []);

  const signOut = useCallback(async () => {
    await api('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
    location.hash = '';
    setSession({ state: 'signedOut' });
  }, []);

  let content;
  if (session.state === 'loading') {
    content = (
      <div className="centered">
        <CircularLoader aria-label={t('Loading')} />
      </div>
    );
  } else if (session.state === 'signedOut') {
    content = <LoginPage onSignedIn={loadMe} locale={appLocaleOf(locale)} onLocale={applyLocale} />;
  } else if (session.state === 'error') {
    content = (
      <main className="page">
        <ErrorNotice error={session.error} title={t('Ferry could not be reached')} />
      </main>
    );
  } else {
    const me = session.me;
    const [first, second] = route.path;
    let page;
    let title = t('Home');
    if (first === 'import' && second === 'tracker' && may(me, 'importTracker')) {
      title = t('Import events and tracked entities');
      page = <ImportPage kind="tracker" query={route.query} />;
    } else if (first === 'import' && second === 'geometry' && may(me, 'importMetadata')) {
      title = t('Import geometry');
      page = <ImportPage kind="geometry" query={route.query} />;
    } else if (first === 'import' && second === 'metadata' && may(me, 'importMetadata')) {
      title = t('Import metadata');
      page = <ImportPage kind="metadata" query={route.query} />;
    } else if (first === 'import' && !second && may(me, 'importData')) {
      title = t('Import data values');
      page = <ImportPage kind="dataValues" query={route.query} />;
    } else if (first === 'export' && second === 'metadata' && may(me, 'exportMetadata')) {
      title = t('Export metadata');
      page = <ExportMetadataPage query={route.query} />;
    } else if (first === 'export' && second === 'analysis' && may(me, 'exportData')) {
      title = t('Export analysis files');
      page = <ExportAnalysisPage query={route.query} />;
    } else if (first === 'export' && second === 'events' && may(me, 'exportData')) {
      title = t('Export events');
      page = <ExportEventsPage query={route.query} />;
    } else if (first === 'export' && second === 'trackedEntities' && may(me, 'exportData')) {
      title = t('Export tracked entities');
      page = <ExportTrackedEntitiesPage query={route.query} />;
    } else if (first === 'export' && second === 'dependencies' && may(me, 'exportMetadata')) {
      title = t('Export metadata with dependencies');
      page = <ExportDependenciesPage query={route.query} />;
    } else if (first === 'export' && second === 'geometry' && may(me, 'exportMetadata')) {
      title = t('Export geometry');
      page = <ExportGeometryPage />;
    } else if (first === 'export' && !EXPORT_KINDS.includes(second ?? '') && may(me, 'exportData')) {
      title = t('Export data values');
      page = <ExportDataPage query={route.query} />;
    } else if (first === 'jobs') {
      title = t('Jobs');
      page = <JobsPage selected={second} />;
    } else if (first === 'pools' && mayUsePools(me)) {
      title = t('De-duplication pools');
      page = second ? <DedupePoolPage me={me} id={second} /> : <DedupePoolsPage me={me} />;
    } else if (first === 'sync' && me.authorities.some((a) => a === 'ALL' || a.startsWith('F_SYNC_'))) {
      title = t('Sync');
      page = <SyncPage />;
    } else if (first === 'exports') {
      title = t('Export queue');
      page = <ExportsPage />;
    } else if (first) {
      title = t('Not available');
      page = (
        <ErrorNotice
          title={t('This page is not available')}
          error={t(
            'The page does not exist, or your user roles do not allow it. Ask an administrator for the authority if you need it.',
          )}
        />
      );
    } else {
      page = <HomePage me={me} />;
    }
    if (first === 'import') {
      const kinds = [
        { href: '#/import', label: t('Data values'), current: !second, allowed: may(me, 'importData') },
        {
          href: '#/import/metadata',
          label: t('Metadata'),
          current: second === 'metadata',
          allowed: may(me, 'importMetadata'),
        },
        {
          href: '#/import/tracker',
          label: t('Events and tracked entities'),
          current: second === 'tracker',
          allowed: may(me, 'importTracker'),
        },
        {
          href: '#/import/geometry',
          label: t('Geometry'),
          current: second === 'geometry',
          allowed: may(me, 'importMetadata'),
        },
      ];
      page = (
        <>
          <SubNav label={t('What to import')} links={kinds.filter((kind) => kind.allowed)} />
          {page}
        </>
      );
    }
    if (first === 'export') {
      const links = [];
      if (may(me, 'exportData'))
        links.push({
          href: '#/export',
          label: t('Data values'),
          current: !EXPORT_KINDS.includes(second ?? ''),
        });
      if (may(me, 'exportData')) {
        links.push({ href: '#/export/events', label: t('Events'), current: second === 'events' });
        links.push({
          href: '#/export/trackedEntities',
          label: t('Tracked entities'),
          current: second === 'trackedEntities',
        });
      }
      if (may(me, 'exportMetadata'))
        links.push({ href: '#/export/metadata', label: t('Metadata'), current: second === 'metadata' });
      if (may(me, 'exportMetadata'))
        links.push({
          href: '#/export/dependencies',
          label: t('Metadata with dependencies'),
          current: second === 'dependencies',
        });
      if (may(me, 'exportMetadata'))
        links.push({ href: '#/export/geometry', label: t('Geometry'), current: second === 'geometry' });
      if (may(me, 'exportData'))
        links.push({ href: '#/export/analysis', label: t('Analysis files'), current: second === 'analysis' });
      page = (
        <>
          <SubNav label={t('What to export')} links={links} />
          {page}
        </>
      );
    }
    content = (
      <Layout
        me={me}
        current={first ?? ''}
        title={title}
        onSignOut={signOut}
        locale={appLocaleOf(locale)}
        onLocale={changeLocale}
      >
        <Suspense
          fallback={
            <div className="centered">
              <CircularLoader small aria-label={t('Loading page')} />
            </div>
          }
        >
          {page}
        </Suspense>
      </Layout>
    );
  }
  return (
    <>
      <CssReset />
      <CssVariables colors spacers theme elevations layers />
      {content}
    </>
  );
}
