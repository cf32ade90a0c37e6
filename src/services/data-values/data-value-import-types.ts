import type { DataValueConflictCode } from '../../domain/data-values/import-conflicts.ts';
import type { BytesReadListener } from '../../codecs/input/open-input.ts';
import type { Transaction } from '../../storage/storage.ts';

// The types the stages of a data value import share (reader, resolver, validation, writer,
// completion, summary); the service imports the stages, and the stages take their shared types
// from here, so no stage imports the service.

/** The uploaded (spooled) file to import. `format` (json, csv, ...) wins over the content type. */
export interface DataValueImportSource {
  path: string;
  fileName: string;
  contentType?: string;
  format?: string;
}

/**
 * Who imports: the fields of the auth layer's `Principal` this service needs. `undefined` means the
 * operator at the command line, who has the database and so every right.
 */
export interface DataValueImportPrincipal {
  readonly uid: string;
  readonly username: string;
  readonly authorities: ReadonlySet<string>;
  readonly captureOrgUnits: readonly string[];
  /** The groups the user is a member of, for data write sharing (E7601, E7614, E7616). */
  readonly userGroupUids: readonly string[];
}

export interface DataValueImportProgress {
  stage: string;
  processed: number;
  total?: number;
}

export interface DataValueImportRun {
  signal?: AbortSignal;
  /** Called after every batch (a few thousand rows); the job layer throttles what it stores. */
  progress?: (progress: DataValueImportProgress) => void;
  /**
   * Called as the file is read, with its bytes read so far and its size on disk (of a .gz or .zip,
   * the compressed bytes): a share of the work done where `progress` has no row total.
   */
  onBytesRead?: BytesReadListener;
  /** Recorded on audit rows when the import runs as a job. */
  jobId?: string;
  /** The clock, for tests of expiry days and future periods. */
  now?: Date;
  /**
   * Whether the file is decoded on a thread of its own: by its size (`auto`, the default; see
   * DECODE_THREAD_MIN_BYTES), or `always`/`never` (tests run both ways).
   */
  decodeThread?: 'auto' | 'always' | 'never';
  /** Runs last inside the import transaction; a job passes its lease check here (fencing). */
  beforeCommit?: (tx: Transaction) => Promise<void>;
}

/** A conflict that stops the whole import (DHIS2 reports it as the aborted summary's conflict). */
export interface FatalConflict {
  code: DataValueConflictCode;
  args: string[];
  objects: Record<string, string>;
  property: string;
}

/** A problem with the whole file: the import stops, nothing is written, the status is ERROR. */
export class FatalImportError extends Error {
  readonly conflict: FatalConflict | undefined;

  constructor(message: string, conflict?: FatalConflict) {
    super(message);
    this.conflict = conflict;
  }
}
