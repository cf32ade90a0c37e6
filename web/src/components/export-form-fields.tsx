import { useState } from 'react';
import {
  Button,
  ButtonStrip,
  CalendarInput,
  InputField,
  NoticeBox,
  SingleSelectField,
  SingleSelectOption,
} from '@dhis2/ui';
import { ErrorNotice } from './error-notice.tsx';
import { formatBytes } from '../format.ts';

// Fields the export pages that download at once share (events, tracked entities, metadata with
// dependencies): format and compression, output id schemes, optional dates, and the Export button
// with the result or the server's refusal in words beside it.

export const COMPRESSIONS = [
  ['none', 'None'],
  ['gzip', 'Gzip'],
  ['zip', 'Zip'],
] as const;

export function FormatCompression({
  formats,
  format,
  compression,
  onFormat,
  onCompression,
}: {
  formats: readonly (readonly [string, string])[];
  format: string;
  compression: string;
  onFormat: (value: string) => void;
  onCompression: (value: string) => void;
}) {
  return (
    <div className="row">
      <SingleSelectField
        label="Format"
        selected={format}
        onChange={({ selected }) => onFormat(selected)}
        dataTest="option-format"
      >
        {formats.map(([value, label]) => (
          <SingleSelectOption key={value} value={value} label={label} />
        ))}
      </SingleSelectField>
      <SingleSelectField
        label="Compression"
        selected={compression}
        onChange={({ selected }) => onCompression(selected)}
        dataTest="option-compression"
      >
        {COMPRESSIONS.map(([value, label]) => (
          <SingleSelectOption key={value} value={value} label={label} />
        ))}
      </SingleSelectField>
    </div>
  );
}

/** The output id schemes the tracker exports take (`GET /api/tracker/events`, `/trackedEntities`). */
export const TRACKER_ID_SCHEMES = [
  ['idScheme', 'General id scheme'],
  ['orgUnitIdScheme', 'Org unit id scheme'],
  ['programIdScheme', 'Program id scheme'],
  ['programStageIdScheme', 'Program stage id scheme'],
  ['dataElementIdScheme', 'Data element id scheme'],
  ['categoryOptionComboIdScheme', 'Category option combo id scheme'],
] as const;

const SCHEMES = ['UID', 'CODE', 'NAME'] as const;

/**
 * DHIS2's output id schemes: UID, CODE, NAME or ATTRIBUTE:<uid>. "Default" leaves the parameter
 * out (UID, or the general scheme for the specific ones).
 */
export function IdSchemeFields({
  params,
  values,
  onChange,
}: {
  params: readonly (readonly [string, string])[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  const attributeOf = (key: string) => (values[key] ?? '').startsWith('ATTRIBUTE:');
  return (
    <>
      <div className="row">
        {params.map(([key, label]) => (
          <SingleSelectField
            key={key}
            label={label}
            selected={attributeOf(key) ? 'ATTRIBUTE' : values[key] || 'DEFAULT'}
            onChange={({ selected }) =>
              onChange({
                ...values,
                [key]: selected === 'DEFAULT' ? '' : selected === 'ATTRIBUTE' ? 'ATTRIBUTE:' : selected,
              })
            }
            dataTest={`option-${key}`}
          >
            <SingleSelectOption
              value="DEFAULT"
              label={key === 'idScheme' ? 'Default (UID)' : 'As the general one'}
            />
            {SCHEMES.map((scheme) => (
              <SingleSelectOption key={scheme} value={scheme} label={scheme} />
            ))}
            <SingleSelectOption value="ATTRIBUTE" label="Attribute (unique)" />
          </SingleSelectField>
        ))}
      </div>
      {params.some(([key]) => attributeOf(key)) ? (
        <div className="row">
          {params
            .filter(([key]) => attributeOf(key))
            .map(([key, label]) => (
              <InputField
                key={key}
                label={`${label}: attribute UID`}
                name={`${key}-attribute`}
                value={(values[key] ?? '').slice('ATTRIBUTE:'.length)}
                onChange={({ value: uid }) => onChange({ ...values, [key]: `ATTRIBUTE:${uid ?? ''}` })}
              />
            ))}
        </div>
      ) : null}
    </>
  );
}

/** The chosen id schemes as query parameters (an attribute scheme without its UID is left out). */
export function idSchemeParams(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== '' && value !== 'ATTRIBUTE:'),
  );
}

/** An optional date (YYYY-MM-DD) with @dhis2/ui's calendar; cleared, it filters nothing. */
export function OptionalDate({
  label,
  name,
  value,
  onChange,
  problem,
}: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  problem?: string;
}) {
  return (
    <CalendarInput
      label={label}
      name={name}
      calendar="gregory"
      date={value}
      clearable
      onDateSelect={(selected) => onChange(selected?.calendarDateString ?? '')}
      error={Boolean(problem)}
      validationText={problem || undefined}
      dataTest={`date-${name}`}
    />
  );
}

/** "Start" before "end", when both are given: the words to show, else ''. */
export function dateOrderProblem(start: string, end: string, what = 'start date'): string {
  return start && end && start > end ? `The ${what} is after the end date.` : '';
}

/**
 * The Export button, what is still missing to use it, and the outcome next to it: the saved file's
 * name and size, or the server's refusal in words.
 */
export function ExportAction({
  missing,
  run,
  queue,
}: {
  missing: string;
  run: () => Promise<{ name: string; size: number }>;
  /** Where offered: the same export through the export queue, for a file too large to wait for. */
  queue?: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<{ name: string; size: number } | null>(null);
  const start = async (queued: boolean) => {
    setBusy(true);
    setError(null);
    setSaved(null);
    try {
      if (queued && queue) await queue();
      else setSaved(await run());
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="stack" aria-live="polite">
      {error ? <ErrorNotice error={error} title="The export failed" /> : null}
      {saved ? (
        <NoticeBox title="Downloaded" dataTest="export-saved">
          {saved.name} ({formatBytes(saved.size)})
        </NoticeBox>
      ) : null}
      <div>
        <ButtonStrip>
          <Button
            primary
            onClick={() => void start(false)}
            disabled={Boolean(missing) || busy}
            loading={busy}
          >
            Export
          </Button>
          {queue ? (
            <Button secondary onClick={() => void start(true)} disabled={Boolean(missing) || busy}>
              Add to export queue
            </Button>
          ) : null}
        </ButtonStrip>
        {missing ? <p className="muted">{missing}</p> : null}
      </div>
    </div>
  );
}
