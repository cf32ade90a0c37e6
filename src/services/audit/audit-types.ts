/**
 * What the audit log records (docs/security.md, "Audit log"). Closed sets, so a filter with an
 * unknown value is refused instead of silently matching nothing.
 */
export const AUDIT_TYPES = [
  /** A data value, metadata, geometry or tracker import (sync or async). */
  'IMPORT',
  /** A data value, metadata, geometry or PDF export, or an export queued or downloaded. */
  'EXPORT',
  /** A sign-in (`POST /api/auth/login`) or a request with credentials that were refused. */
  'LOGIN',
  'LOGOUT',
  /** A request refused for want of authentication or authority (401, 403). */
  'DENIAL',
  /** Any other change: API tokens, job cancel/recreate, task deletion, ... */
  'ADMIN',
  /** A 500 on a request of no other type; the row carries the reference the reply named. */
  'ERROR',
] as const;
export type AuditType = (typeof AUDIT_TYPES)[number];

export const AUDIT_OUTCOMES = [
  'SUCCESS',
  /** An async import or export queued; its job turns this into its own outcome. */
  'ACCEPTED',
  /** Refused input (4xx) or an import whose summary says ERROR. */
  'FAILURE',
  /** 401, 403 or 429. */
  'DENIED',
  'CANCELLED',
  /** A 500 or a job that failed for an internal reason. */
  'ERROR',
] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * How the actor proved who it was; never the credential itself. `cli`: a command run straight on
 * the database by an operator, who is named by their OS account.
 */
export type AuditAuthKind = 'basic' | 'apiToken' | 'session' | 'job' | 'cli';

/** One record as written. Every field but type and outcome is optional. */
export interface AuditEntry {
  type: AuditType;
  outcome: AuditOutcome;
  username?: string | null;
  userUid?: string | null;
  authKind?: AuditAuthKind | null;
  clientIp?: string | null;
  /** The request id, also the reference a 500's message names. */
  requestId?: string | null;
  jobId?: string | null;
  method?: string | null;
  /** The path without its query string (queries may carry secrets; `options` has them redacted). */
  path?: string | null;
  status?: number | null;
  /** json, csv, xml, adx, pdf, geojson, gml, zip, gzip, ... */
  format?: string | null;
  fileName?: string | null;
  fileSize?: number | null;
  fileSha256?: string | null;
  /** Parameters, with passwords, tokens and other secrets removed. */
  options?: Record<string, unknown> | null;
  /** Numbers only: imported, updated, ignored, deleted, ... */
  counts?: Record<string, number> | null;
  /** A short reason; never a cell value (internal errors give only their reference). */
  message?: string | null;
}

/** One record as read back (GET /api/audits). */
export interface AuditRecord extends Required<Omit<AuditEntry, 'options' | 'counts'>> {
  id: number;
  created: string;
  updated: string;
  options: Record<string, unknown> | null;
  counts: Record<string, number> | null;
}

export interface AuditFilter {
  /** Username (exact). */
  user?: string;
  type?: AuditType;
  outcome?: AuditOutcome;
  /** ISO-8601; inclusive. */
  since?: string;
  /** ISO-8601; exclusive. */
  until?: string;
  jobId?: string;
  requestId?: string;
}
