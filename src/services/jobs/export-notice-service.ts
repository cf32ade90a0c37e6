import type { Storage } from '../../storage/storage.ts';
import type { JobViewer } from './job-service.ts';
import type { Mailer, MailMessage } from './smtp-mailer.ts';

/** A queued export that has just reached its final status, as the export queue describes it. */
export interface FinishedExport {
  id: string;
  jobNumber: number;
  description: string;
  status: 'COMPLETED' | 'FAILED';
  /** The requesting user's UID; null for the operator at the command line. */
  requestedBy: string | null;
  fileName: string | null;
  /** `/api/exports/<id>/file` for a download; null for a file written to a server directory. */
  downloadPath: string | null;
  expires: string | null;
  deliveredTo: string | null;
  error: string | null;
}

/** One finished export the requester has not seen yet (GET /api/exports/notices). */
export interface ExportNotice {
  id: string;
  jobNumber: number;
  kind: string;
  description: string;
  status: string;
  finished: string | null;
  fileName: string | null;
  /** The download while it lasts; null once expired, replaced, or for a server directory. */
  downloadUrl: string | null;
  error: string | null;
  /** What became of the email: `sent to <address>`, `not sent: <why>`, `failed: <why>`. */
  email: string | null;
}

export interface ExportNoticeOptions {
  storage: Storage;
  /** Undefined when no SMTP server is configured: the web app's notice only. */
  mailer?: Mailer;
  /** The address links start with (FERRY_PUBLIC_URL), no trailing slash. */
  baseUrl: string;
  /** The user's email address, if the user has one. */
  emailOf: (userUid: string) => Promise<string | undefined>;
  log?: (line: string) => void;
}

/** Notices shown at most this many at a time; older unseen ones stay on the export queue page. */
const MAX_NOTICES = 20;

/**
 * Tells the requester that a queued export is ready (or failed): by email when an SMTP server is
 * configured and the user has an address, and in the web app through the notices list until the
 * user has seen it. Claimed once per export in the database, so no one is told twice; a mail that
 * fails is logged and recorded on the export, and never changes the export itself.
 */
export class ExportNoticeService {
  private readonly options: ExportNoticeOptions;
  private readonly log: (line: string) => void;

  constructor(options: ExportNoticeOptions) {
    this.options = options;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  get emailConfigured(): boolean {
    return this.options.mailer !== undefined;
  }

  /** Called once the export's final status is committed. */
  async exportFinished(done: FinishedExport): Promise<void> {
    const { storage } = this.options;
    const claimed = await storage.execute(
      'UPDATE export_job SET notice_claimed = ? WHERE job_id = ? AND notice_claimed IS NULL',
      [new Date().toISOString(), done.id],
    );
    if (claimed.changes === 0) return;
    const outcome = await this.email(done);
    await storage.execute('UPDATE export_job SET notice_email = ? WHERE job_id = ?', [outcome, done.id]);
  }

  private async email(done: FinishedExport): Promise<string> {
    const { mailer } = this.options;
    if (!mailer) return 'not sent: no SMTP server configured (FERRY_SMTP_HOST)';
    if (!done.requestedBy) return 'not sent: requested at the command line';
    let to: string | undefined;
    try {
      to = await this.options.emailOf(done.requestedBy);
    } catch (error) {
      return this.failed(done, error);
    }
    if (!to) return 'not sent: the requester has no email address';
    try {
      await mailer.send(exportMail(done, to, this.options.baseUrl));
      return `sent to ${to}`;
    } catch (error) {
      return this.failed(done, error);
    }
  }

  private failed(done: FinishedExport, error: unknown): string {
    const reason = error instanceof Error ? error.message : String(error);
    this.log(`export ${done.jobNumber} (${done.id}): the ready notice by email failed: ${reason}`);
    return `failed: ${reason.slice(0, 500)}`;
  }

  /** The viewer's own finished exports not seen yet, newest first. */
  async unseen(viewer: JobViewer): Promise<ExportNotice[]> {
    const rows = await this.options.storage.query<Record<string, unknown>>(
      `SELECT e.job_id, j.number, e.kind, e.description, j.status, j.finished, j.error, e.file_id,
              e.file_name, e.file_expires, e.destination, e.notice_email
         FROM export_job e JOIN job j ON j.id = e.job_id
        WHERE j.user_uid = ? AND e.notice_claimed IS NOT NULL AND e.seen IS NULL
        ORDER BY j.number DESC LIMIT ${MAX_NOTICES}`,
      [viewer.uid],
    );
    const now = Date.now();
    return rows.map((row) => {
      const destination = (
        typeof row.destination === 'string' ? JSON.parse(row.destination) : row.destination
      ) as { type: string };
      const expires = (row.file_expires as string | null) ?? null;
      const live =
        row.file_id !== null &&
        row.file_id !== undefined &&
        destination.type === 'download' &&
        (expires === null || Date.parse(expires) > now);
      return {
        id: row.job_id as string,
        jobNumber: Number(row.number),
        kind: row.kind as string,
        description: row.description as string,
        status: row.status as string,
        finished: (row.finished as string | null) ?? null,
        fileName: (row.file_name as string | null) ?? null,
        downloadUrl: live ? `/api/exports/${String(row.job_id)}/file` : null,
        error: (row.error as string | null) ?? null,
        email: (row.notice_email as string | null) ?? null,
      };
    });
  }

  /** Marks the viewer's notices seen (these ids, or all); returns how many changed. */
  async markSeen(viewer: JobViewer, ids?: readonly string[]): Promise<number> {
    if (ids && ids.length === 0) return 0;
    const only = ids ? ` AND job_id IN (${ids.map(() => '?').join(', ')})` : '';
    const result = await this.options.storage.execute(
      `UPDATE export_job SET seen = ?
        WHERE seen IS NULL AND notice_claimed IS NOT NULL
          AND job_id IN (SELECT id FROM job WHERE user_uid = ?)${only}`,
      [new Date().toISOString(), viewer.uid, ...(ids ?? [])],
    );
    return result.changes;
  }
}

/** The email: what was exported, and the download link with how long it lasts (or why it failed). */
export function exportMail(done: FinishedExport, to: string, baseUrl: string): MailMessage {
  const queue = `${baseUrl}/#/exports`;
  const what = `"${done.description}" (export ${done.jobNumber})`;
  if (done.status === 'FAILED') {
    return {
      to,
      subject: `Ferry: export ${done.jobNumber} failed`,
      text: [
        `Your export ${what} failed:`,
        '',
        `  ${done.error ?? 'no reason given'}`,
        '',
        `The export queue, where you can ask for it again: ${queue}`,
        '',
      ].join('\n'),
    };
  }
  const lines = [`Your export ${what} is ready.`, ''];
  if (done.downloadPath) {
    lines.push(
      `Download ${done.fileName ?? 'the file'} (sign in to Ferry if asked):`,
      `  ${baseUrl}${done.downloadPath}`,
      '',
    );
    // Short lines: longer ones reach the reader folded by quoted-printable encoding.
    if (done.expires) lines.push(`It is kept until ${done.expires} (UTC).`, '');
  } else if (done.deliveredTo) {
    lines.push(`It was written on the server to ${done.deliveredTo}.`, '');
  }
  lines.push(`Your export queue: ${queue}`, '');
  return { to, subject: `Ferry: export ${done.jobNumber} is ready`, text: lines.join('\n') };
}
