import { useEffect, useMemo, useRef, useState } from 'react';
import { Button, Card, CheckboxField, SingleSelectField, SingleSelectOption, Transfer } from '@dhis2/ui';
import { api, postJson, type ExportCard } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { navigate } from '../router.ts';

interface Schema {
  collectionName: string;
  displayName: string;
  metadata: boolean;
  /** Whether the type has DHIS2's metadata CSV columns (CSV holds one such type). */
  csv?: boolean;
}

const FORMATS = [
  ['json', 'JSON'],
  ['xml', 'XML'],
  ['csv', 'CSV (one type)'],
] as const;
const COMPRESSIONS = [
  ['zip', 'Zip'],
  ['gzip', 'Gzip'],
  ['none', 'None'],
] as const;

/**
 * Metadata export through the export queue: the types from `/api/schemas` in a searchable transfer
 * list (none chosen: everything), format, compression and skip sharing; `query` pre-fills it.
 */
export default function ExportMetadataPage({ query }: { query?: URLSearchParams }) {
  const [schemas, setSchemas] = useState<Schema[]>([]);
  // A recreated form (`?collections=a,b&format=…`, export-forms.ts) starts from the old request.
  const [selected, setSelected] = useState<string[]>(
    query?.get('collections')?.split(',').filter(Boolean) ?? [],
  );
  const [format, setFormat] = useState(query?.get('format') ?? 'json');
  const [compression, setCompression] = useState(query?.get('compression') ?? 'zip');
  const [skipSharing, setSkipSharing] = useState(query?.get('skipSharing') === 'true');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api<{ schemas: Schema[] }>('/api/schemas')
      .then((reply) => setSchemas(reply.schemas.filter((schema) => schema.metadata)))
      .catch(setError);
  }, []);

  const options = useMemo(
    () =>
      schemas
        .map((schema) => ({
          value: schema.collectionName,
          label: `${schema.displayName} (${schema.collectionName})`,
        }))
        .sort((a, b) => a.label.localeCompare(b.label)),
    [schemas],
  );
  // @dhis2/ui's Transfer shows its search fields' labels without tying them to the inputs (the
  // label's `for` names no element), so screen readers would announce an unnamed field.
  const transferRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const inputs = transferRef.current?.querySelectorAll<HTMLInputElement>(
      '[data-test$="-filter-input"] input',
    );
    inputs?.forEach((input, index) =>
      input.setAttribute('aria-label', index === 0 ? 'Search types' : 'Search chosen types'),
    );
  });

  const csvProblem =
    format === 'csv' && selected.length !== 1 ? 'A CSV file holds one type: choose exactly one.' : '';

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await postJson<ExportCard>('/api/exports', {
        kind: 'metadata',
        format,
        compression,
        params: {
          ...(selected.length > 0 ? { collections: selected } : {}),
          ...(skipSharing ? { skipSharing: 'true' } : {}),
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
        <div>
          <p id="types-label">Metadata types (none chosen: every type)</p>
          <div className="table-wrap" aria-labelledby="types-label" ref={transferRef}>
            <Transfer
              options={options}
              selected={selected}
              onChange={({ selected: chosen }) => setSelected(chosen)}
              filterable
              filterablePicked
              filterLabel="Search types"
              filterLabelPicked="Search chosen types"
              leftHeader={<strong>Available</strong>}
              rightHeader={<strong>Chosen</strong>}
              height="320px"
              addAllText="Add all"
              addIndividualText="Add"
              removeAllText="Remove all"
              removeIndividualText="Remove"
              dataTest="metadata-types"
            />
          </div>
        </div>
        <div className="row">
          <SingleSelectField
            label="Format"
            selected={format}
            onChange={({ selected: value }) => setFormat(value)}
            error={Boolean(csvProblem)}
            validationText={csvProblem || undefined}
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
        <CheckboxField
          label="Skip sharing (leave out sharing settings and users)"
          name="skipSharing"
          checked={skipSharing}
          onChange={({ checked }) => setSkipSharing(checked)}
        />
        {error ? <ErrorNotice error={error} title="The export was not queued" /> : null}
        <div>
          <Button primary onClick={() => void submit()} disabled={busy || Boolean(csvProblem)} loading={busy}>
            Queue export
          </Button>
        </div>
      </div>
    </Card>
  );
}
