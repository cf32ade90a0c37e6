import { useEffect, useState, type Dispatch, type SetStateAction } from 'react';
import { OrganisationUnitTree } from '@dhis2/ui';
import { DataProvider } from '@dhis2/app-runtime';
import { api } from '../api.ts';

/**
 * @dhis2/ui's org unit tree starting at the user's data view org units (else their capture org
 * units, else the top level), as DHIS2's apps start it. `selected` holds paths (`/A/B/C`); the
 * server decides what an export may read.
 */
export function OrgUnitPicker({
  legend,
  selected,
  onChange,
  onError,
  pending = false,
}: {
  legend: string;
  selected: string[];
  onChange: (paths: string[]) => void;
  onError: (error: unknown) => void;
  /** The paths of a recreated form are still being looked up: the tree waits, to open at them. */
  pending?: boolean;
}) {
  const [roots, setRoots] = useState<string[] | null>(null);
  useEffect(() => {
    api<{ organisationUnits: { id: string }[]; dataViewOrganisationUnits?: { id: string }[] }>(
      '/api/me?fields=organisationUnits[id],dataViewOrganisationUnits[id]',
    )
      .then(async (me) => {
        const own = me.dataViewOrganisationUnits?.length
          ? me.dataViewOrganisationUnits
          : me.organisationUnits;
        if (own.length > 0) return setRoots(own.map((unit) => unit.id));
        const top = await api<{ organisationUnits: { id: string }[] }>(
          '/api/organisationUnits?level=1&fields=id&paging=false',
        );
        setRoots(top.organisationUnits.map((unit) => unit.id));
      })
      .catch(onError);
  }, [onError]);
  return (
    <fieldset className="plain">
      <legend>{legend}</legend>
      <div className="tree" id="org-unit-tree">
        {roots === null || pending ? null : roots.length === 0 ? (
          <p>You are assigned to no organisation unit, so there is nothing to export.</p>
        ) : (
          <DataProvider baseUrl={location.origin} apiVersion={41}>
            <OrganisationUnitTree
              roots={roots}
              selected={selected}
              initiallyExpanded={[...roots.map((id) => `/${id}`), ...selected.flatMap(ancestorsOf)]}
              onChange={({ path, checked }) =>
                onChange(checked ? [...selected, path] : selected.filter((p) => p !== path))
              }
            />
          </DataProvider>
        )}
      </div>
    </fieldset>
  );
}

/** The UIDs at the ends of the tree's paths. */
export function orgUnitIds(paths: string[]): string[] {
  return paths.map((path) => path.split('/').pop() ?? '').filter(Boolean);
}

/** `/A/B/C` → `/A`, `/A/B`: the branches to open so that a chosen org unit shows. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

/**
 * The tree's selection, starting from org unit UIDs (a recreated form's `orgUnit=A,B`): their
 * paths are looked up so the tree shows them ticked. Returns the paths, their setter, and whether
 * the lookup is still under way.
 */
export function useOrgUnitPaths(uids: string): [string[], Dispatch<SetStateAction<string[]>>, boolean] {
  const [paths, setPaths] = useState<string[]>([]);
  const [pending, setPending] = useState(uids !== '');
  useEffect(() => {
    const ids = uids.split(',').filter(Boolean);
    if (ids.length === 0) return;
    api<{ organisationUnits: { id: string; path?: string }[] }>(
      `/api/organisationUnits?filter=id:in:[${ids.join(',')}]&fields=id,path&paging=false`,
    )
      .then((reply) =>
        setPaths(ids.map((id) => reply.organisationUnits.find((unit) => unit.id === id)?.path ?? `/${id}`)),
      )
      // The UIDs alone still export the same org units; only the tree's ticks are missing.
      .catch(() => setPaths(ids.map((id) => `/${id}`)))
      .finally(() => setPending(false));
  }, [uids]);
  return [paths, setPaths, pending];
}
