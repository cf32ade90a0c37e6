import { useEffect, useState } from 'react';
import {
  Button,
  ButtonStrip,
  CalendarInput,
  CheckboxField,
  InputField,
  MultiSelectField,
  MultiSelectOption,
  NoticeBox,
  Radio,
  SingleSelectField,
  SingleSelectOption,
} from '@dhis2/ui';
import { api, postJson } from '../api.ts';
import { navigate } from '../router.ts';
import { ErrorNotice } from './error-notice.tsx';
import { formatBytes } from '../format.ts';
import { t } from '../i18n.ts';

// Fields the export pages share (events, tracked entities, geometry, metadata with dependencies):
// a group of radio choices, format and compression, output id schemes with include deleted, optional
// dates, assigned users, and the Export / Add to export queue buttons with the result or the server's
// refusal in words beside them.

/** One choice of several as @dhis2/ui radios in a labelled group ("Which org units"). */
export function RadioChoice<T extends string>({
  legend,
  name,
  options,
  value,
  onChange,
}: {
  legend: string;
  name: string;
  options: readonly (readonly [T, string])[];
  value: T;
  onChange: (value: T) => void;
}) {
  return (
    <fieldset className="plain">
      <legend>{legend}</legend>
      <div className="row radios">
        {options.map(([option, label]) => (
          <Radio
            key={option}
            name={name}
            value={option}
            label={label}
            checked={value === option}
            onChange={() => onChange(option)}
            dataTest={`${name}-${option}`}
          />
        ))}
      </div>
    </fieldset>
  );
}

/** DHIS2's `orgUnitMode` for the chosen org units (the tracker exports). */
export function orgUnitModes() {
  return [
    ['SELECTED', t('Selected only')],
    ['CHILDREN', t('Selected and directly below')],
    ['DESCENDANTS', t('Selected and all below')],
  ] as const;
}

/** A query parameter of a form being recreated (`#/export/events?program=…`), else `fallback`. */
export function initial(query: URLSearchParams | undefined, key: string, fallback = ''): string {
  return query?.get(key) ?? fallback;
}

/** The id scheme parameters a recreated form starts with. */
export function initialSchemes(
  query: URLSearchParams | undefined,
  params: readonly (readonly [string, string])[],
): Record<string, string> {
  return Object.fromEntries(params.flatMap(([key]) => (query?.get(key) ? [[key, query.get(key)!]] : [])));
}

/**
 * Makes the export in the export queue (`POST /api/exports`) and opens the queue, where its card
 * shows the progress and, when done, the download.
 */
export async function queueExport(
  kind: string,
  format: string,
  compression: string,
  params: Record<string, string | undefined>,
): Promise<void> {
  const given = Object.fromEntries(Object.entries(params).filter(([, value]) => value));
  await postJson('/api/exports', { kind, format, compression, params: given });
  navigate('#/exports');
}

/** DHIS2's assigned user modes; PROVIDED takes the users chosen in the picker. */
export function assignedUserModes() {
  return [
    ['ALL', t('Any (assigned or not)')],
    ['CURRENT', t('Assigned to me')],
    ['PROVIDED', t('Assigned to the users chosen')],
    ['ANY', t('Assigned to someone')],
    ['NONE', t('Assigned to no one')],
  ] as const;
}

/**
 * Assigned user mode and, for PROVIDED, a searchable pick of users (`/api/users`), sent as
 * `assignedUserMode` and `assignedUsers`.
 */
export function AssignedUserFields({
  mode,
  users,
  onMode,
  onUsers,
}: {
  mode: string;
  users: string[];
  onMode: (mode: string) => void;
  onUsers: (users: string[]) => void;
}) {
  const [known, setKnown] = useState<{ id: string; displayName?: string; username?: string }[]>([]);
  const [error, setError] = useState<unknown>(null);
  const needsUsers = mode === 'PROVIDED';
  useEffect(() => {
    if (!needsUsers) return;
    api<{ users: { id: string; displayName?: string; username?: string }[] }>(
      '/api/users?fields=id,displayName,username&paging=false',
    )
      .then((reply) =>
        setKnown(
          [...reply.users].sort((a, b) =>
            (a.displayName ?? a.username ?? a.id).localeCompare(b.displayName ?? b.username ?? b.id),
          ),
        ),
      )
      .catch(setError);
  }, [needsUsers]);
  // Users named by a recreated form are kept even before (or without) the list.
  const options: { id: string; displayName?: string; username?: string }[] = [
    ...known,
    ...users.filter((id) => !known.some((user) => user.id === id)).map((id) => ({ id })),
  ];
  return (
    <div className="stack">
      <div className="row">
        <SingleSelectField
          label={t('Assigned user')}
          selected={mode}
          onChange={({ selected }) => onMode(selected)}
          dataTest="option-assignedUserMode"
        >
          {assignedUserModes().map(([value, label]) => (
            <SingleSelectOption key={value} value={value} label={label} />
          ))}
        </SingleSelectField>
        {needsUsers ? (
          <MultiSelectField
            label={t('Users')}
            selected={users}
            onChange={({ selected }) => onUsers(selected)}
            filterable
            noMatchText={t('No user matches')}
            placeholder={t('Choose users')}
            error={users.length === 0}
            validationText={users.length === 0 ? t('Choose at least one user.') : undefined}
            dataTest="option-assignedUsers"
          >
            {options.map((user) => (
              <MultiSelectOption
                key={user.id}
                value={user.id}
                label={user.username ? `${user.displayName ?? user.username} (${user.username})` : user.id}
              />
            ))}
          </MultiSelectField>
        ) : null}
      </div>
      {error ? <ErrorNotice error={error} title={t('The users could not be listed')} /> : null}
    </div>
  );
}

/** The assigned user fields as query parameters (nothing for ALL). */
export function assignedUserParams(mode: string, users: string[]): Record<string, string | undefined> {
  if (mode === 'ALL') return {};
  return { assignedUserMode: mode, assignedUsers: mode === 'PROVIDED' ? users.join(',') : undefined };
}

/** "Advanced options": the output id schemes and whether deleted objects are included. */
export function AdvancedExportOptions({
  schemeParams,
  schemes,
  onSchemes,
  includeDeleted,
  onIncludeDeleted,
  deletedLabel,
}: {
  schemeParams: readonly (readonly [string, string])[];
  schemes: Record<string, string>;
  onSchemes: (schemes: Record<string, string>) => void;
  includeDeleted: boolean;
  onIncludeDeleted: (checked: boolean) => void;
  deletedLabel: string;
}) {
  return (
    <details>
      <summary>{t('Advanced options')}</summary>
      <div className="stack section">
        <IdSchemeFields params={schemeParams} values={schemes} onChange={onSchemes} />
        <CheckboxField
          label={deletedLabel}
          name="includeDeleted"
          checked={includeDeleted}
          onChange={({ checked }) => onIncludeDeleted(checked)}
        />
      </div>
    </details>
  );
}

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
        label={t('Format')}
        selected={format}
        onChange={({ selected }) => onFormat(selected)}
        dataTest="option-format"
      >
        {formats.map(([value, label]) => (
          <SingleSelectOption key={value} value={value} label={label} />
        ))}
      </SingleSelectField>
      <SingleSelectField
        label={t('Compression')}
        selected={compression}
        onChange={({ selected }) => onCompression(selected)}
        dataTest="option-compression"
      >
        {COMPRESSIONS.map(([value, label]) => (
          <SingleSelectOption key={value} value={value} label={t(label)} />
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
  queueOnly,
}: {
  missing: string;
  run: () => Promise<{ name: string; size: number }>;
  /** Where offered: the same export through the export queue, for a file too large to wait for. */
  queue?: () => Promise<void>;
  /** Why only the export queue can make this export (a filter the download does not take). */
  queueOnly?: string;
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
      {error ? <ErrorNotice error={error} title={t('The export failed')} /> : null}
      {saved ? (
        <NoticeBox title={t('Downloaded')} dataTest="export-saved">
          {saved.name} ({formatBytes(saved.size)})
        </NoticeBox>
      ) : null}
      <div>
        <ButtonStrip>
          <Button
            primary
            onClick={() => void start(false)}
            disabled={Boolean(missing) || Boolean(queueOnly) || busy}
            loading={busy}
          >
            {t('Export')}
          </Button>
          {queue ? (
            <Button secondary onClick={() => void start(true)} disabled={Boolean(missing) || busy}>
              {t('Add to export queue')}
            </Button>
          ) : null}
        </ButtonStrip>
        {missing ? (
          <p className="muted">{missing}</p>
        ) : queueOnly ? (
          <p className="muted">{queueOnly}</p>
        ) : null}
      </div>
    </div>
  );
}
