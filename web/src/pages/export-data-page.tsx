import { useEffect, useState } from 'react';
import {
  Button,
  Card,
  CalendarInput,
  CheckboxField,
  MultiSelectField,
  MultiSelectOption,
  OrganisationUnitTree,
  SingleSelectField,
  SingleSelectOption,
} from '@dhis2/ui';
import { DataProvider } from '@dhis2/app-runtime';
import { api, postJson, type ExportCard } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { navigate } from '../router.ts';
import { ancestorsOf, useOrgUnitPaths } from '../components/org-unit-picker.tsx';

interface Named {
  id: string;
  displayName: string;
  path?: string;
}

const FORMATS = [
  ['json', 'JSON'],
  ['csv', 'CSV'],
  ['xml', 'XML (DXF2)'],
  ['adx', 'ADX'],
] as const;
const COMPRESSIONS = [
  ['zip', 'Zip'],
  ['gzip', 'Gzip'],
  ['none', 'None'],
] as const;

const ID_SCHEMES = ['UID', 'CODE', 'NAME'];
const ID_SCHEME_PARAMS = [
  ['idScheme', 'General id scheme'],
  ['dataElementIdScheme', 'Data element id scheme'],
  ['orgUnitIdScheme', 'Org unit id scheme'],
  ['categoryOptionComboIdScheme', 'Category option combo id scheme'],
] as const;

/** A date a year before today, as DHIS2's app starts its export form. */
function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export default function ExportDataPage({ query }: { query: URLSearchParams }) {
  const [roots, setRoots] = useState<string[] | null>(null);
  // A recreated request's org units (UIDs) are looked up to their paths, so the tree shows them ticked.
  const [selected, setSelected, selectedPending] = useOrgUnitPaths(query.get('orgUnit') ?? '');
  const [children, setChildren] = useState(query.get('children') !== 'false');
  const [dataSets, setDataSets] = useState<Named[]>([]);
  const [chosenDataSets, setChosenDataSets] = useState<string[]>(
    query.get('dataSet')?.split(',').filter(Boolean) ?? [],
  );
  const [startDate, setStartDate] = useState(
    query.get('startDate') ?? isoDate(new Date(Date.now() - 365 * 86_400_000)),
  );
  const [endDate, setEndDate] = useState(query.get('endDate') ?? isoDate(new Date()));
  const [format, setFormat] = useState(query.get('format') ?? 'json');
  const [compression, setCompression] = useState(query.get('compression') ?? 'zip');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // Advanced: DHIS2's output id schemes (empty: UID, or CODE for ADX), deleted values, and
  // formulas neutralised for a CSV meant for a spreadsheet (then no longer for import).
  const [schemes, setSchemes] = useState<Record<string, string>>({});
  const [includeDeleted, setIncludeDeleted] = useState(false);
  const [escapeFormulas, setEscapeFormulas] = useState(false);

  useEffect(() => {
    // The user's own org units are the tree's roots, as in DHIS2's app.
    api<{ organisationUnits: { id: string }[]; dataViewOrganisationUnits?: { id: string }[] }>(
      '/api/me?fields=organisationUnits[id],dataViewOrganisationUnits[id]',
    )
      .then(async (me) => {
        const own = me.dataViewOrganisationUnits?.length
          ? me.dataViewOrganisationUnits
          : me.organisationUnits;
        if (own.length > 0) return setRoots(own.map((unit) => unit.id));
        // A user assigned nowhere (an administrator made before the hierarchy was imported) starts
        // from the top; the server still decides what the export may read.
        const top = await api<{ organisationUnits: { id: string }[] }>(
          '/api/organisationUnits?level=1&fields=id&paging=false',
        );
        setRoots(top.organisationUnits.map((unit) => unit.id));
      })
      .catch(setError);
    api<{ dataSets: Named[] }>('/api/dataSets?fields=id,displayName&paging=false')
      .then((reply) => setDataSets(reply.dataSets))
      .catch(setError);
  }, []);

  const dateProblem =
    startDate && endDate && startDate > endDate ? 'The start date is after the end date.' : '';
  const ready = selected.length > 0 && chosenDataSets.length > 0 && startDate && endDate && !dateProblem;

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await postJson<ExportCard>('/api/exports', {
        kind: 'dataValues',
        format,
        compression,
        params: {
          orgUnit: selected.map((path) => path.split('/').pop()).join(','),
          dataSet: chosenDataSets.join(','),
          startDate,
          endDate,
          children: String(children),
          ...Object.fromEntries(Object.entries(schemes).filter(([, value]) => value !== 'DEFAULT')),
          ...(includeDeleted ? { includeDeleted: 'true' } : {}),
          ...(escapeFormulas && format === 'csv' ? { escapeFormulas: 'true' } : {}),
        },
      });
      navigate('#/exports');
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card className="panel">
      <div className="stack">
        <fieldset className="plain">
          <legend>Organisation units</legend>
          <div className="tree" id="org-unit-tree">
            {roots === null || selectedPending ? null : roots.length === 0 ? (
              <p>You are assigned to no organisation unit, so there is nothing to export.</p>
            ) : (
              <DataProvider baseUrl={location.origin} apiVersion={41}>
                <OrganisationUnitTree
                  roots={roots}
                  selected={selected}
                  initiallyExpanded={[...roots.map((id) => `/${id}`), ...selected.flatMap(ancestorsOf)]}
                  onChange={({ path, checked }) =>
                    setSelected((previous) =>
                      checked ? [...previous, path] : previous.filter((p) => p !== path),
                    )
                  }
                />
              </DataProvider>
            )}
          </div>
          <CheckboxField
            label="Include descendants (every org unit below the chosen ones)"
            name="children"
            checked={children}
            onChange={({ checked }) => setChildren(checked)}
          />
        </fieldset>
        <MultiSelectField
          label="Data sets"
          selected={chosenDataSets}
          onChange={({ selected: chosen }) => setChosenDataSets(chosen)}
          filterable
          noMatchText="No data set matches"
          dataTest="option-dataSet"
        >
          {dataSets.map((dataSet) => (
            <MultiSelectOption key={dataSet.id} value={dataSet.id} label={dataSet.displayName} />
          ))}
        </MultiSelectField>
        <div className="row">
          <CalendarInput
            label="Start date"
            name="startDate"
            calendar="gregory"
            date={startDate}
            onDateSelect={(value) => setStartDate(value?.calendarDateString ?? '')}
            dataTest="start-date"
          />
          <CalendarInput
            label="End date"
            name="endDate"
            calendar="gregory"
            date={endDate}
            onDateSelect={(value) => setEndDate(value?.calendarDateString ?? '')}
            error={Boolean(dateProblem)}
            validationText={dateProblem || undefined}
            dataTest="end-date"
          />
        </div>
        <div className="row">
          <SingleSelectField
            label="Format"
            selected={format}
            onChange={({ selected: value }) => setFormat(value)}
            dataTest="option-format"
          >
            {FORMATS.map(([value, label]) => (
              <SingleSelectOption key={value} value={value} label={label} />
            ))}
          </SingleSelectField>
          <SingleSelectField
            label="Compression"
            selected={compression}
            onChange={({ selected: value }) => setCompression(value)}
            dataTest="option-compression"
          >
            {COMPRESSIONS.map(([value, label]) => (
              <SingleSelectOption key={value} value={value} label={label} />
            ))}
          </SingleSelectField>
        </div>
        <details>
          <summary>Advanced options</summary>
          <div className="stack section">
            <div className="row">
              {ID_SCHEME_PARAMS.map(([key, label]) => (
                <SingleSelectField
                  key={key}
                  label={label}
                  selected={schemes[key] ?? 'DEFAULT'}
                  onChange={({ selected: value }) =>
                    setSchemes((previous) => ({ ...previous, [key]: value }))
                  }
                  dataTest={`option-${key}`}
                >
                  <SingleSelectOption
                    value="DEFAULT"
                    label={key === 'idScheme' ? 'Default (UID; CODE for ADX)' : 'As the general one'}
                  />
                  {ID_SCHEMES.map((value) => (
                    <SingleSelectOption key={value} value={value} label={value} />
                  ))}
                </SingleSelectField>
              ))}
            </div>
            <CheckboxField
              label="Include deleted values"
              name="includeDeleted"
              checked={includeDeleted}
              onChange={({ checked }) => setIncludeDeleted(checked)}
            />
            {format === 'csv' ? (
              <CheckboxField
                label="For a spreadsheet: neutralise formulas (the file is then not for import)"
                name="escapeFormulas"
                checked={escapeFormulas}
                onChange={({ checked }) => setEscapeFormulas(checked)}
              />
            ) : null}
          </div>
        </details>
        {error ? <ErrorNotice error={error} title="The export was not queued" /> : null}
        <div>
          <Button primary onClick={() => void submit()} disabled={!ready || busy} loading={busy}>
            Queue export
          </Button>
          {!ready ? (
            <p className="muted">Choose at least one org unit and one data set, and valid dates.</p>
          ) : null}
        </div>
      </div>
    </Card>
  );
}
