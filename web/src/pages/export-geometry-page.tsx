import { useCallback, useEffect, useState } from 'react';
import { Card, SingleSelectField, SingleSelectOption } from '@dhis2/ui';
import { api } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { OrgUnitPicker, orgUnitIds } from '../components/org-unit-picker.tsx';
import { ExportAction, RadioChoice } from '../components/export-form-fields.tsx';
import { downloadExport, queryOf } from '../export-download.ts';

interface Level {
  level: number;
  displayName?: string;
}

/**
 * Geometry export (`GET /api/organisationUnits.geojson`): the boundaries and points of the chosen
 * org units, or of every org unit below them, optionally of one level only, as a GeoJSON
 * FeatureCollection (each feature's id the org unit's UID, as the geometry import matches it).
 */
export default function ExportGeometryPage() {
  const [orgUnits, setOrgUnits] = useState<string[]>([]);
  const [scope, setScope] = useState<'below' | 'selected'>('below');
  const [levels, setLevels] = useState<Level[]>([]);
  const [level, setLevel] = useState('ANY');
  const [loadError, setLoadError] = useState<unknown>(null);
  const onLoadError = useCallback((error: unknown) => setLoadError(error), []);

  useEffect(() => {
    api<{ organisationUnitLevels: Level[] }>(
      '/api/organisationUnitLevels?fields=level,displayName&paging=false',
    )
      .then((reply) => setLevels([...reply.organisationUnitLevels].sort((a, b) => a.level - b.level)))
      .catch(onLoadError);
  }, [onLoadError]);

  const missing = orgUnits.length === 0 ? 'Choose at least one org unit.' : '';
  const run = () => {
    const ids = orgUnitIds(orgUnits).join(',');
    return downloadExport(
      `/api/organisationUnits.geojson?${queryOf({
        ou: scope === 'selected' ? ids : undefined,
        parent: scope === 'below' ? ids : undefined,
        level: level === 'ANY' ? undefined : level,
        attachment: 'true',
      })}`,
      'organisationUnits.geojson',
    );
  };

  // Levels named in the metadata, else the numbers 1 to 6.
  const levelOptions: Level[] = levels.length > 0 ? levels : [1, 2, 3, 4, 5, 6].map((n) => ({ level: n }));

  return (
    <Card className="panel">
      <div className="stack">
        {loadError ? <ErrorNotice error={loadError} title="The form could not be filled in" /> : null}
        <OrgUnitPicker
          legend="Organisation units"
          selected={orgUnits}
          onChange={setOrgUnits}
          onError={onLoadError}
        />
        <RadioChoice
          legend="Which org units"
          name="scope"
          options={[
            ['below', 'Every org unit below the chosen ones'],
            ['selected', 'The chosen org units only'],
          ]}
          value={scope}
          onChange={setScope}
        />
        <div className="row">
          <SingleSelectField
            label="Level"
            selected={level}
            onChange={({ selected }) => setLevel(selected)}
            dataTest="option-level"
          >
            <SingleSelectOption value="ANY" label="Every level" />
            {levelOptions.map((l) => (
              <SingleSelectOption
                key={l.level}
                value={String(l.level)}
                label={l.displayName ? `${l.level}: ${l.displayName}` : `Level ${l.level}`}
              />
            ))}
          </SingleSelectField>
          <p className="muted">GeoJSON; org units without coordinates are left out.</p>
        </div>
        <ExportAction missing={missing} run={run} />
      </div>
    </Card>
  );
}
