import type { DatabaseKind } from '../storage.ts';

// Shaped as migrations.ts's Migration, without importing it: migrations.ts imports this file.
// The notice sent when a queued export finishes (docs/jobs.md, "When an export is ready"):
// `notice_claimed` is set once, by the worker that finished the job, before it mails, so the
// requester is told at most once even if the hook runs twice; `notice_email` says what became of
// the email (sent, not configured, no address, failed: why); `seen` is when the requester saw the
// notice in the web app (or downloaded the file), so the app shows each finished export once.
const sql = `
ALTER TABLE export_job ADD COLUMN notice_claimed TEXT;
ALTER TABLE export_job ADD COLUMN notice_email TEXT;
ALTER TABLE export_job ADD COLUMN seen TEXT;
`;

export const EXPORT_NOTICE_MIGRATIONS: readonly {
  version: number;
  name: string;
  sql: Readonly<Record<DatabaseKind, string>>;
}[] = [{ version: 61, name: 'export notices', sql: { sqlite: sql, postgres: sql } }];
