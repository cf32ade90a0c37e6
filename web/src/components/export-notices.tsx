import { useCallback, useEffect, useState } from 'react';
import { Button, ButtonStrip, NoticeBox } from '@dhis2/ui';
import { api, postJson } from '../api.ts';
import type { ExportNotice } from '../../../src/services/jobs/export-notice-service.ts';

/** How often the notices are asked for while the page is shown. */
const POLL_MS = 15_000;

/**
 * "Your export is ready": the signed-in user's queued exports that finished since they last
 * looked (GET /api/exports/notices), each with its download link, until downloaded or dismissed.
 * The server marks a notice seen when its file is downloaded, or on Dismiss.
 */
export function ExportNotices() {
  const [notices, setNotices] = useState<ExportNotice[]>([]);
  const load = useCallback(() => {
    if (document.visibilityState === 'hidden') return;
    api<{ notices: ExportNotice[] }>('/api/exports/notices')
      .then((reply) => setNotices(reply.notices))
      .catch(() => undefined);
  }, []);
  useEffect(() => {
    load();
    const timer = setInterval(load, POLL_MS);
    window.addEventListener('focus', load);
    return () => {
      clearInterval(timer);
      window.removeEventListener('focus', load);
    };
  }, [load]);
  const seen = (ids: string[]) => {
    setNotices((current) => current.filter((notice) => !ids.includes(notice.id)));
    void postJson('/api/exports/notices/seen', { ids }).catch(() => undefined);
  };
  if (notices.length === 0) return null;
  return (
    <aside className="export-notices" aria-label="Finished exports" aria-live="polite">
      {notices.map((notice) => (
        <NoticeBox
          key={notice.id}
          error={notice.status === 'FAILED'}
          title={
            notice.status === 'FAILED'
              ? `Export ${notice.jobNumber} failed`
              : `Export ${notice.jobNumber} is ready`
          }
          dataTest={`export-notice-${notice.jobNumber}`}
        >
          <p>
            {notice.description}
            {notice.status === 'FAILED' && notice.error ? `: ${notice.error}` : ''}
            {notice.status !== 'FAILED' && !notice.downloadUrl
              ? ' (the file is no longer on the server)'
              : ''}
          </p>
          <ButtonStrip>
            {notice.downloadUrl ? (
              <a
                className="download"
                href={notice.downloadUrl}
                download
                onClick={() => setTimeout(() => seen([notice.id]), 0)}
              >
                Download {notice.fileName ?? 'the file'}
              </a>
            ) : null}
            <a href="#/exports">Export queue</a>
            <Button small secondary onClick={() => seen([notice.id])}>
              Dismiss
            </Button>
          </ButtonStrip>
        </NoticeBox>
      ))}
    </aside>
  );
}
