import { useEffect, useState } from 'react';

/** The route is the URL's hash (`#/import/data?...`): no server routes needed beyond `/`. */
export interface Route {
  path: string[];
  query: URLSearchParams;
}

function currentRoute(): Route {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  return { path: (path ?? '').split('/').filter(Boolean), query: new URLSearchParams(query ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}

export function navigate(hash: string): void {
  location.hash = hash;
}
