import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { CssReset, CssVariables, CircularLoader } from '@dhis2/ui';
import { api, ApiError, SIGNED_OUT_EVENT, type Me } from './api.ts';
import { useRoute } from './router.ts';
import { LoginPage } from './pages/login-page.tsx';
import { Layout } from './components/layout.tsx';
import { ErrorNotice } from './components/error-notice.tsx';
import { SubNav } from './components/sub-nav.tsx';
import { may, mayUsePools } from './authorities.ts';
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

/** The export pages other than data values (`#/export`, and any unknown kind, is data values). */
const EXPORT_KINDS = ['metadata', 'analysis', 'events', 'trackedEntities', 'dependencies', 'geometry'];

type Session =
  | { state: 'loading' }
  | { state: 'signedOut' }
  | { state: 'signedIn'; me: Me }
  | { state: 'error'; error: unknown };

export function App() {
  const [session, setSession] = useState<Session>({ state: 'loading' });
  const route = useRoute();

  const loadMe = useCallback(async () => {
    try {
      setSession({
        state: 'signedIn',
        me: await api<Me>('/api/me?fields=id,username,name,displayName,authorities'),
      });
    } catch (error) {
      setSession(
        error instanceof ApiError && error.status === 401
          ? { state: 'signedOut' }
          : { state: 'error', error },
      );
    }
  }, []);

  useEffect(() => {
    void loadMe();
  }, [loadMe]);

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
        <CircularLoader aria-label="Loading" />
      </div>
    );
  } else if (session.state === 'signedOut') {
    content = <LoginPage onSignedIn={loadMe} />;
  } else if (session.state === 'error') {
    content = (
      <main className="page">
        <ErrorNotice error={session.error} title="Ferry could not be reached" />
      </main>
    );
  } else {
    const me = session.me;
    const [first, second] = route.path;
    let page;
    let title = 'Home';
    if (first === 'import' && second === 'tracker' && may(me, 'importTracker')) {
      title = 'Import events and tracked entities';
      page = <ImportPage kind="tracker" query={route.query} />;
    } else if (first === 'import' && second === 'geometry' && may(me, 'importMetadata')) {
      title = 'Import geometry';
      page = <ImportPage kind="geometry" query={route.query} />;
    } else if (first === 'import' && second === 'metadata' && may(me, 'importMetadata')) {
      title = 'Import metadata';
      page = <ImportPage kind="metadata" query={route.query} />;
    } else if (first === 'import' && !second && may(me, 'importData')) {
      title = 'Import data values';
      page = <ImportPage kind="dataValues" query={route.query} />;
    } else if (first === 'export' && second === 'metadata' && may(me, 'exportMetadata')) {
      title = 'Export metadata';
      page = <ExportMetadataPage />;
    } else if (first === 'export' && second === 'analysis' && may(me, 'exportData')) {
      title = 'Export analysis files';
      page = <ExportAnalysisPage query={route.query} />;
    } else if (first === 'export' && second === 'events' && may(me, 'exportData')) {
      title = 'Export events';
      page = <ExportEventsPage />;
    } else if (first === 'export' && second === 'trackedEntities' && may(me, 'exportData')) {
      title = 'Export tracked entities';
      page = <ExportTrackedEntitiesPage />;
    } else if (first === 'export' && second === 'dependencies' && may(me, 'exportMetadata')) {
      title = 'Export metadata with dependencies';
      page = <ExportDependenciesPage />;
    } else if (first === 'export' && second === 'geometry' && may(me, 'exportMetadata')) {
      title = 'Export geometry';
      page = <ExportGeometryPage />;
    } else if (first === 'export' && !EXPORT_KINDS.includes(second ?? '') && may(me, 'exportData')) {
      title = 'Export data values';
      page = <ExportDataPage query={route.query} />;
    } else if (first === 'jobs') {
      title = 'Jobs';
      page = <JobsPage selected={second} />;
    } else if (first === 'pools' && mayUsePools(me)) {
      title = 'De-duplication pools';
      page = second ? <DedupePoolPage me={me} id={second} /> : <DedupePoolsPage me={me} />;
    } else if (first === 'exports') {
      title = 'Export queue';
      page = <ExportsPage />;
    } else if (first) {
      title = 'Not available';
      page = (
        <ErrorNotice
          title="This page is not available"
          error="The page does not exist, or your user roles do not allow it. Ask an administrator for the authority if you need it."
        />
      );
    } else {
      page = <HomePage me={me} />;
    }
    if (first === 'import') {
      const kinds = [
        { href: '#/import', label: 'Data values', current: !second, allowed: may(me, 'importData') },
        {
          href: '#/import/metadata',
          label: 'Metadata',
          current: second === 'metadata',
          allowed: may(me, 'importMetadata'),
        },
        {
          href: '#/import/tracker',
          label: 'Events and tracked entities',
          current: second === 'tracker',
          allowed: may(me, 'importTracker'),
        },
        {
          href: '#/import/geometry',
          label: 'Geometry',
          current: second === 'geometry',
          allowed: may(me, 'importMetadata'),
        },
      ];
      page = (
        <>
          <SubNav label="What to import" links={kinds.filter((kind) => kind.allowed)} />
          {page}
        </>
      );
    }
    if (first === 'export') {
      const links = [];
      if (may(me, 'exportData'))
        links.push({
          href: '#/export',
          label: 'Data values',
          current: !EXPORT_KINDS.includes(second ?? ''),
        });
      if (may(me, 'exportData')) {
        links.push({ href: '#/export/events', label: 'Events', current: second === 'events' });
        links.push({
          href: '#/export/trackedEntities',
          label: 'Tracked entities',
          current: second === 'trackedEntities',
        });
      }
      if (may(me, 'exportMetadata'))
        links.push({ href: '#/export/metadata', label: 'Metadata', current: second === 'metadata' });
      if (may(me, 'exportMetadata'))
        links.push({
          href: '#/export/dependencies',
          label: 'Metadata with dependencies',
          current: second === 'dependencies',
        });
      if (may(me, 'exportMetadata'))
        links.push({ href: '#/export/geometry', label: 'Geometry', current: second === 'geometry' });
      if (may(me, 'exportData'))
        links.push({ href: '#/export/analysis', label: 'Analysis files', current: second === 'analysis' });
      page = (
        <>
          <SubNav label="What to export" links={links} />
          {page}
        </>
      );
    }
    content = (
      <Layout me={me} current={first ?? ''} title={title} onSignOut={signOut}>
        <Suspense
          fallback={
            <div className="centered">
              <CircularLoader small aria-label="Loading page" />
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
