import { useEffect, useState } from 'react';
import { api, type ExportCard } from '../api.ts';

/**
 * What an export card says about analysis files (issue 15) and de-duplication pool files (issue
 * 16), beyond the queue's common rows: the kind, the format by name, the filters in words with
 * names instead of UIDs, the label language, the version, and the destination.
 */

const KIND_LABELS: Record<string, string> = {
  dataValues: 'Data values',
  metadata: 'Metadata',
  metadataDependencies: 'Metadata with dependencies',
  analysis: 'Analysis files',
  dedupePool: 'De-duplication pool',
};

const ANALYSIS_FORMAT_NAMES: Record<string, string> = {
  tab: 'Tab-separated (.tab)',
  stata: 'Stata 14+ (.dta)',
  spss: 'SPSS (.sav)',
  csv: 'CSV (.csv)',
  parquet: 'Apache Parquet (.parquet)',
};

/** The card's format in words: an analysis export is a zip of files in that format. */
export function exportFormatText(card: ExportCard): string {
  const parts = [
    card.kind === 'analysis'
      ? `${ANALYSIS_FORMAT_NAMES[card.format] ?? card.format} in a zip`
      : card.format.toUpperCase(),
  ];
  if (card.compression !== 'none') parts.push(card.compression);
  if (card.passwordProtected)
    parts.push(`password-protected${card.encryption ? ` (${card.encryption})` : ''}`);
  return parts.join(', ');
}

/** Where the file goes: the card's download, a server directory, or a remote (rclone) destination. */
export function destinationText(card: ExportCard): string {
  const destination = card.destination as { type: string; path?: string; remote?: string; name?: string };
  if (destination.type === 'download') return 'Download from the card';
  if (destination.type === 'directory')
    return `Server directory ${card.file?.deliveredTo ?? destination.path ?? ''}`.trim();
  if (destination.type === 'remote') {
    const folder = destination.path ? `, folder ${destination.path}` : '';
    const delivered = card.file?.deliveredTo ? ` (delivered to ${card.file.deliveredTo})` : '';
    return `Cloud storage ${destination.name ?? destination.remote ?? ''}${folder}${delivered}`;
  }
  const where = destination.name ?? destination.remote ?? '';
  return `${destination.type}${where ? ` ${where}` : ''}${destination.path ? `: ${destination.path}` : ''}${
    card.file?.deliveredTo ? ` (delivered to ${card.file.deliveredTo})` : ''
  }`;
}

/** Kinds whose filters this component puts in words (the card's description is then not shown). */
export function hasCardDetails(card: ExportCard): boolean {
  return card.kind === 'analysis' || card.kind === 'dedupePool';
}

function list(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter(Boolean);
}

/** Names by `type/id`, looked up once each; a UID stays as it is until its name is known. */
const nameCache = new Map<string, Promise<string>>();
function lookUp(path: string, id: string): Promise<string> {
  const key = `${path}/${id}`;
  let found = nameCache.get(key);
  if (!found) {
    found = api<{ displayName?: string; name?: string }>(
      `/api/${path}/${encodeURIComponent(id)}?fields=displayName,name`,
    )
      .then((object) => object.displayName ?? object.name ?? id)
      .catch(() => id);
    nameCache.set(key, found);
  }
  return found;
}

function useNames(path: string, ids: string[]): string[] {
  const [names, setNames] = useState(ids);
  const joined = ids.join(',');
  useEffect(() => {
    let current = true;
    void Promise.all(ids.map((id) => lookUp(path, id))).then((found) => current && setNames(found));
    return () => {
      current = false;
    };
    // `joined` stands for the ids' contents.
  }, [path, joined]);
  return names;
}

function Row({ label, children }: { label: string; children: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

function AnalysisDetails({ params }: { params: Record<string, unknown> }) {
  const program = list(params.program);
  const dataSets = useNames('dataSets', list(params.dataSet));
  const programs = useNames('programs', program);
  const orgUnits = useNames('organisationUnits', list(params.orgUnit));
  const statuses = list(params.status);
  const programStatuses = list(params.programStatus);
  const periods = list(params.period);
  const start = list(params.startDate)[0];
  const end = list(params.endDate)[0];
  const extras = ['metadata', 'paradata', 'binary']
    .filter((key) => String(params[key]) === 'true')
    .map((key) => (key === 'binary' ? 'binary files' : key));
  const locale = list(params.locale)[0];
  const version = list(params.programVersion)[0];
  return (
    <>
      {program.length > 0 ? (
        <Row label="Program">{programs.join(', ')}</Row>
      ) : (
        <Row label={dataSets.length > 1 ? 'Data sets' : 'Data set'}>{dataSets.join(', ')}</Row>
      )}
      {program.length > 0 ? (
        <Row label="Version">{version !== undefined ? `${version} (pinned)` : 'the one in force'}</Row>
      ) : null}
      {program.length > 0 ? (
        <Row label="Status">
          {`${statuses.length > 0 ? `events ${statuses.join(', ').toLowerCase()}` : 'events in any status'}${
            programStatuses.length > 0 ? `; enrollments ${programStatuses.join(', ').toLowerCase()}` : ''
          }`}
        </Row>
      ) : null}
      <Row label="Org units">
        {orgUnits.length > 0 ? `${orgUnits.join(', ')}, with descendants` : 'all the requester may see'}
      </Row>
      <Row label={program.length > 0 ? 'Dates' : 'Periods'}>
        {periods.length > 0
          ? periods.join(', ')
          : start || end
            ? `${start ?? 'any'} to ${end ?? 'any'}`
            : 'any'}
      </Row>
      {program.length === 0 ? <Row label="Layout">{String(params.layout ?? 'wide')}</Row> : null}
      <Row label="Data type">{['main data', ...extras].join(', ')}</Row>
      <Row label="Label language">{locale ? `${locale} where translated` : 'default'}</Row>
    </>
  );
}

function PoolDetails({ params }: { params: Record<string, unknown> }) {
  const id = String(params.pool ?? '');
  const [name, setName] = useState(id);
  useEffect(() => {
    let current = true;
    api<{ name: string }>(`/api/dedupe/pools/${encodeURIComponent(id)}`)
      .then((pool) => current && setName(pool.name))
      .catch(() => undefined);
    return () => {
      current = false;
    };
  }, [id]);
  return <Row label="Pool">{`${name}: every entry, as value,entity_type_id`}</Row>;
}

/** The card's rows for its kind: what was asked (with names), and where the file goes. */
export function ExportCardDetails({ card }: { card: ExportCard }) {
  return (
    <>
      <Row label="Kind">{KIND_LABELS[card.kind] ?? card.kind}</Row>
      {card.kind === 'analysis' ? <AnalysisDetails params={card.params} /> : null}
      {card.kind === 'dedupePool' ? <PoolDetails params={card.params} /> : null}
      <Row label="Destination">{destinationText(card)}</Row>
    </>
  );
}
