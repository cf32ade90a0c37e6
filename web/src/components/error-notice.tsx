import { NoticeBox } from '@dhis2/ui';
import { ApiError } from '../api.ts';

/** What to do next for a refusal, by HTTP status. */
function nextStep(error: unknown): string {
  if (!(error instanceof ApiError)) return '';
  if (error.status === 0) return '';
  if (error.status === 401) return 'Your session has ended: sign in again.';
  if (error.status === 403) return 'Your user roles do not allow this; ask an administrator.';
  if (error.status === 413) return 'The file is larger than the server accepts; split it or compress it.';
  if (error.status >= 500)
    return 'The server failed; try again, and if it fails again tell an administrator.';
  return '';
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** An error in words, with what to do next, shown where the action that caused it is. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  const next = nextStep(error);
  return (
    <div role="alert" className="error-notice">
      <NoticeBox error title={title ?? 'Something went wrong'}>
        {messageOf(error)}
        {next ? ` ${next}` : ''}
      </NoticeBox>
    </div>
  );
}
