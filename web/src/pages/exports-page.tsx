import { useCallback, useEffect, useMemo, useState } from 'react';
import { Button, ButtonStrip, Card, Chip, CircularLoader, InputField, LinearLoader } from '@dhis2/ui';
import { api, type ExportCard } from '../api.ts';
import { ErrorNotice } from '../components/error-notice.tsx';
import { FINISHED, JobStatusTag } from '../components/job-progress.tsx';
import { formatBytes, formatSeconds, formatTime } from '../format.ts';
import { ExportCardDetails, exportFormatText, hasCardDetails } from '../components/export-card-details.tsx';
import { exportFormHref } from '../export-forms.ts';
import { navigate } from '../router.ts';
import { t } from '../i18n.ts';

/** How often the cards refresh while an export is being made. */
const REFRESH_MS = 2000;

function ExportCardView({
  card,
  onChanged,
  names,
}: {
  card: ExportCard;
  onChanged: () => void;
  names: Map<string, string>;
}) {
  const [error, setError] = useState<unknown>(null);
  const [password, setPassword] = useState('');
  // The kind's page with this request's options, to change before asking again (export-forms.ts).
  const changeHref = exportFormHref(card.kind, card.params, card.format, card.compression);
  const act = async (path: string, body?: unknown) => {
    setError(null);
    try {
      await api(path, {
        method: 'POST',
        ...(body ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      });
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };
  const finished = FINISHED.includes(card.status);
  const progress = card.progress;
  return (
    <Card className="export-card" dataTest={`export-card-${card.jobNumber}`}>
      <div className="card-body">
        <h2>
          #{card.jobNumber} <JobStatusTag status={card.status} />
        </h2>
        {hasCardDetails(card) ? null : <p>{card.description}</p>}
        {!finished ? (
          <>
            <LinearLoader
              amount={progress?.total ? Math.round((progress.processed / progress.total) * 100) : 0}
              aria-label={`Export ${card.jobNumber} progress`}
              width="100%"
            />
            {progress ? (
              <p className="progress-text">
                {progress.stage}:{' '}
                {progress.stage.includes('bytes')
                  ? formatBytes(progress.processed)
                  : progress.processed.toLocaleString()}
              </p>
            ) : null}
          </>
        ) : null}
        <dl>
          <ExportCardDetails card={card} />
          <dt>Format</dt>
          <dd>{exportFormatText(card)}</dd>
          <dt>Asked by</dt>
          <dd>{card.requestedBy ? (names.get(card.requestedBy) ?? card.requestedBy) : 'unknown'}</dd>
          <dt>Created</dt>
          <dd>{formatTime(card.created)}</dd>
          {card.timeInQueueSeconds !== null ? (
            <>
              <dt>In queue</dt>
              <dd>{formatSeconds(card.timeInQueueSeconds)}</dd>
            </>
          ) : null}
          {card.timeProducingSeconds !== null ? (
            <>
              <dt>Producing</dt>
              <dd>{formatSeconds(card.timeProducingSeconds)}</dd>
            </>
          ) : null}
          {card.file ? (
            <>
              <dt>File</dt>
              <dd className="export-file">
                {card.file.name}, {formatBytes(card.file.size)}, made {formatTime(card.file.created)}
                {card.file.expired
                  ? ' (expired: regenerate it)'
                  : card.file.expires
                    ? `, kept until ${formatTime(card.file.expires)}`
                    : ''}
              </dd>
            </>
          ) : null}
        </dl>
        {card.error ? <ErrorNotice error={card.error} title="The export failed" /> : null}
        {error ? <ErrorNotice error={error} /> : null}
        {card.passwordProtected && finished ? (
          <InputField
            label="Password for the regenerated file"
            type="password"
            name={`password-${card.id}`}
            value={password}
            onChange={({ value }) => setPassword(value ?? '')}
          />
        ) : null}
        <ButtonStrip>
          {card.file?.downloadUrl ? (
            <a className="download" href={card.file.downloadUrl} download>
              Download
            </a>
          ) : null}
          {finished ? (
            <Button
              small
              onClick={() =>
                void act(
                  `/api/exports/${encodeURIComponent(card.id)}/regenerate`,
                  card.passwordProtected ? { password } : undefined,
                )
              }
            >
              Regenerate
            </Button>
          ) : null}
          {finished && changeHref ? (
            <Button small secondary onClick={() => navigate(changeHref)}>
              {t('Change and export again')}
            </Button>
          ) : null}
          {!finished ? (
            <Button
              small
              destructive
              onClick={() => void act(`/api/jobs/${encodeURIComponent(card.id)}/cancel`)}
            >
              Cancel
            </Button>
          ) : null}
        </ButtonStrip>
      </div>
    </Card>
  );
}

export default function ExportsPage() {
  const [cards, setCards] = useState<ExportCard[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState<string[]>([]);
  const [search, setSearch] = useState('');
  const load = useCallback(() => {
    api<{ exports: ExportCard[] }>('/api/exports')
      .then((reply) => {
        setCards(reply.exports);
        setError(null);
      })
      .catch(setError);
  }, []);
  useEffect(load, [load]);
  // Live: while any export is queued or running, the cards refresh by themselves.
  useEffect(() => {
    if (!cards?.some((card) => !FINISHED.includes(card.status))) return;
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [cards, load]);

  // Who asked, by name: the cards carry user ids; names are looked up once per user.
  const [names, setNames] = useState(new Map<string, string>());
  useEffect(() => {
    const missing = [...new Set(cards?.map((card) => card.requestedBy))].filter(
      (id): id is string => typeof id === 'string' && !names.has(id),
    );
    if (missing.length === 0) return;
    void Promise.all(
      missing.map(async (id): Promise<[string, string]> => {
        const me = await api<{ id: string; displayName?: string }>('/api/me?fields=id,displayName').catch(
          () => null,
        );
        if (me?.id === id) return [id, me.displayName ?? id];
        const user = await api<{ displayName?: string }>(
          `/api/users/${encodeURIComponent(id)}?fields=displayName`,
        ).catch(() => null);
        return [id, user?.displayName ?? id];
      }),
    ).then((found) => setNames((previous) => new Map([...previous, ...found])));
  }, [cards, names]);

  const statuses = useMemo(() => [...new Set(cards?.map((card) => card.status))].sort(), [cards]);
  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return (cards ?? []).filter(
      (card) =>
        (status.length === 0 || status.includes(card.status)) &&
        (!needle ||
          `${card.jobNumber} ${card.description} ${card.requestedBy ?? ''} ${card.format}`
            .toLowerCase()
            .includes(needle)),
    );
  }, [cards, status, search]);

  return (
    <>
      <Card className="panel">
        <div className="row">
          <InputField
            label="Search exports"
            type="search"
            name="exportSearch"
            value={search}
            onChange={({ value }) => setSearch(value ?? '')}
          />
        </div>
        <div className="chips section" role="group" aria-label="Filter by status">
          <span className="muted">Status:</span>
          {statuses.map((value) => (
            <Chip
              key={value}
              dense
              selected={status.includes(value)}
              onClick={() =>
                setStatus(status.includes(value) ? status.filter((s) => s !== value) : [...status, value])
              }
            >
              {value}
            </Chip>
          ))}
          <a href="#/export">New data value export</a>
        </div>
      </Card>
      {error ? <ErrorNotice error={error} title="The export queue cannot be read" /> : null}
      {cards === null ? (
        <CircularLoader small aria-label="Loading exports" />
      ) : shown.length === 0 ? (
        <p className="section">
          {cards.length === 0 ? 'No exports yet.' : 'No export matches these filters.'}
        </p>
      ) : (
        <div className="cards section" id="export-cards">
          {shown.map((card) => (
            <ExportCardView key={card.id} card={card} onChanged={load} names={names} />
          ))}
        </div>
      )}
    </>
  );
}
