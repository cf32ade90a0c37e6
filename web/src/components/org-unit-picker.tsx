import { useEffect, useState } from 'react';
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
}: {
  legend: string;
  selected: string[];
  onChange: (paths: string[]) => void;
  onError: (error: unknown) => void;
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
        {roots === null ? null : roots.length === 0 ? (
          <p>You are assigned to no organisation unit, so there is nothing to export.</p>
        ) : (
          <DataProvider baseUrl={location.origin} apiVersion={41}>
            <OrganisationUnitTree
              roots={roots}
              selected={selected}
              initiallyExpanded={roots.map((id) => `/${id}`)}
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
