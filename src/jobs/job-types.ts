/**
 * The vocabulary of Ferry's durable jobs. Job types are DHIS2's (`JobType.java`) for imports and
 * Ferry's own for exports; the list is open: a feature may run any string type once it registers
 * a handler for it.
 */
export const IMPORT_JOB_TYPES = [
  'METADATA_IMPORT',
  'DATAVALUE_IMPORT',
  'GML_IMPORT',
  'GEOJSON_IMPORT',
  'TRACKER_IMPORT_JOB',
] as const;
export const EXPORT_JOB_TYPES = [
  'DATAVALUE_EXPORT',
  'METADATA_EXPORT',
  'METADATA_DEPENDENCY_EXPORT',
] as const;
export const JOB_TYPES = [...IMPORT_JOB_TYPES, ...EXPORT_JOB_TYPES] as const;
export type KnownJobType = (typeof JOB_TYPES)[number];
/** A known type or a later feature's own; upper snake case like DHIS2's. */
export type JobType = KnownJobType | (string & {});

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'COMPRESSING', 'COMPLETED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses a job never leaves. */
export const FINISHED_JOB_STATUSES: readonly JobStatus[] = ['COMPLETED', 'FAILED', 'CANCELLED'];
/** Statuses in which a worker holds the job's lease. */
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ['RUNNING', 'COMPRESSING'];

/** DHIS2's NotificationLevel, without OFF and LOOP (Ferry keeps progress apart from messages). */
export const NOTIFICATION_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;
export type NotificationLevel = (typeof NOTIFICATION_LEVELS)[number];

export function isJobType(value: string): boolean {
  return /^[A-Z][A-Z0-9_]{0,63}$/.test(value);
}

export function isFinished(status: JobStatus): boolean {
  return FINISHED_JOB_STATUSES.includes(status);
}

/** Parameters are JSON: every value needed to run the job again. */
export type JobParams = Record<string, unknown>;

export interface JobProgress {
  stage: string;
  processed: number;
  total?: number;
}

/** A job row as services and routes see it. Times are ISO-8601 strings. */
export interface JobRecord {
  id: string;
  number: number;
  type: JobType;
  queue: string;
  status: JobStatus;
  params: JobParams;
  inputFileId: string | null;
  userUid: string | null;
  dedupeKey: string | null;
  created: string;
  started: string | null;
  finished: string | null;
  runAfter: string;
  attempts: number;
  maxAttempts: number;
  leaseOwner: string | null;
  leaseExpires: string | null;
  cancelRequested: boolean;
  progress: (JobProgress & { rowsPerSecond: number | null; updated: string | null }) | null;
  summary: unknown;
  error: string | null;
  outputFileId: string | null;
}

export interface JobNotification {
  /** DHIS2 gives each notification a uid; Ferry's are UIDs too. */
  uid: string;
  level: NotificationLevel;
  time: string;
  message: string;
  completed: boolean;
}

/** What a handler receives about its job. */
export interface JobInput {
  id: string;
  type: JobType;
  params: JobParams;
  /** The uploaded body, when the job was started with one. */
  inputFile?: StoredFileHandle;
  userUid: string | null;
  /** 1 on the first run, 2 on the first retry, ... */
  attempt: number;
}

/** An uploaded or produced file: read it with `open()`, which streams from disk or the database. */
export interface StoredFileHandle {
  id: string;
  contentType: string;
  originalName: string | null;
  size: number;
  sha256: string;
  open(): Promise<NodeJS.ReadableStream & AsyncIterable<Uint8Array>>;
}
