import { useCallback, useEffect, useRef, useState } from 'react';
import { Card, CheckboxField, SingleSelectField, SingleSelectOption } from '@dhis2/ui';
import { api } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { ExportAction, FormatCompression, initial, queueExport } from '../components/export-form-fields.tsx';
import { downloadExport, exportPath, queryOf } from '../export-download.ts';

interface Named {
  id: string;
  displayName: string;
}

/**
 * The types with a dependency export (`GET /api/{type}/{uid}/metadata`), as the server registers
 * them (the schemas marked `dependencyExport`) and as DHIS2's Import/Export app offers them.
 */
const TYPES = [
  ['dataSets', 'Data set'],
  ['programs', 'Program'],
  ['categoryCombos', 'Category combination'],
  ['dashboards', 'Dashboard'],
  ['dataElementGroups', 'Data element group'],
  ['optionSets', 'Option set'],
] as const;
const FORMATS = [
  ['json', 'JSON'],
  ['xml', 'XML'],
] as const;

/**
 * Metadata with dependencies: one object and everything it needs (a program's stages, data
 * elements, option sets, ...), as a package that imports into an empty server. Downloads at once or
 * through the export queue; `query` pre-fills the form (Recreate job).
 */
export default function ExportDependenciesPage({ query }: { query?: URLSearchParams }) {
  const [type, setType] = useState<string>(initial(query, 'type', 'programs'));
  const [objects, setObjects] = useState<Named[] | null>(null);
  const [object, setObject] = useState(initial(query, 'uid'));
  // A recreated form's object is kept while its type's list loads; a type chosen later clears it.
  const keepObject = useRef(object !== '');
  const [format, setFormat] = useState(initial(query, 'format', 'json'));
  const [compression, setCompression] = useState(initial(query, 'compression', 'zip'));
  const [skipSharing, setSkipSharing] = useState(initial(query, 'skipSharing') === 'true');
  const [loadError, setLoadError] = useState<unknown>(null);
  const onLoadError = useCallback((error: unknown) => setLoadError(error), []);

  useEffect(() => {
    let current = true;
    setObjects(null);
    if (keepObject.current) keepObject.current = false;
    else setObject('');
    api<Record<string, Named[]>>(`/api/${type}?fields=id,displayName&paging=false`)
      .then((reply) => {
        if (!current) return;
        setObjects([...(reply[type] ?? [])].sort((a, b) => a.displayName.localeCompare(b.displayName)));
      })
      .catch((error: unknown) => {
        if (current) onLoadError(error);
      });
    return () => {
      current = false;
    };
  }, [type, onLoadError]);

  const typeLabel = TYPES.find(([value]) => value === type)?.[1] ?? type;
  const missing = !object ? `Choose the ${typeLabel.toLowerCase()} to export.` : '';

  const run = () =>
    downloadExport(
      `${exportPath(`/api/${type}/${encodeURIComponent(object)}/metadata`, format, compression)}?${queryOf({
        skipSharing: skipSharing ? 'true' : undefined,
        download: 'true',
      })}`,
      `metadata.${format}`,
    );

  // A large package (a big data set's) can be made in the export queue instead (kind
  // metadataDependencies), its card then followed on the queue page.
  const queue = () =>
    queueExport('metadataDependencies', format, compression, {
      type,
      uid: object,
      skipSharing: skipSharing ? 'true' : undefined,
    });

  return (
    <Card className="panel">
      <div className="stack">
        {loadError ? <ErrorNotice error={loadError} title="The form could not be filled in" /> : null}
        <div className="row">
          <SingleSelectField
            label="Object type"
            selected={type}
            onChange={({ selected }) => setType(selected)}
            dataTest="option-objectType"
          >
            {TYPES.map(([value, label]) => (
              <SingleSelectOption key={value} value={value} label={label} />
            ))}
          </SingleSelectField>
          <SingleSelectField
            label={typeLabel}
            selected={object}
            onChange={({ selected }) => setObject(selected)}
            filterable
            filterPlaceholder="Search by name"
            noMatchText="Nothing matches"
            empty={objects === null ? 'Loading …' : `There is no ${typeLabel.toLowerCase()} to export.`}
            loading={objects === null}
            placeholder={`Choose a ${typeLabel.toLowerCase()}`}
            dataTest="option-object"
          >
            {(objects ?? []).map((o) => (
              <SingleSelectOption key={o.id} value={o.id} label={o.displayName} />
            ))}
          </SingleSelectField>
        </div>
        <FormatCompression
          formats={FORMATS}
          format={format}
          compression={compression}
          onFormat={setFormat}
          onCompression={setCompression}
        />
        <CheckboxField
          label="Skip sharing (leave out sharing settings and users)"
          name="skipSharing"
          checked={skipSharing}
          onChange={({ checked }) => setSkipSharing(checked)}
        />
        <ExportAction missing={missing} run={run} queue={queue} />
      </div>
    </Card>
  );
}
