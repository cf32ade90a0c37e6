import type { FerryContext } from '../ferry-context-types.ts';
import type {
  DataValueInput,
  DataValueItem,
  DataValueSetHeader,
} from '../../domain/data-values/data-value-input.ts';
import {
  parseDataValueImportParams,
  describeImportOptions,
  parseIdSchemes,
  type DataValueImportOptions,
  type RawParams,
} from '../../domain/data-values/data-value-import-options.ts';
import {
  ConflictCollector,
  conflictMessage,
  type DataValueConflictCode,
} from '../../domain/data-values/import-conflicts.ts';
import type { ImportSummary, ImportCount } from '../../domain/data-values/import-summary.ts';
import {
  checkValue,
  isInsignificantZero,
  MAX_COMMENT_LENGTH,
} from '../../domain/data-values/data-value-validation.ts';
import { DataValueKeySet } from '../../domain/data-values/data-value-key-set.ts';
import { DEFAULT_CATEGORY_OPTION_COMBO_UID } from '../../domain/category/default-category-model.ts';
import { optionSetKey } from '../../domain/category/category-option-combos.ts';
import { formatIdScheme, IdSchemes, UID_SCHEME } from '../../domain/identifiers/id-scheme.ts';
import { parsePeriod, periodContaining, nextPeriod, type Period } from '../../domain/periods/periods.ts';
import { parseDay } from '../../domain/periods/calendar-days.ts';
import { isInScope } from '../../domain/access/org-unit-scope.ts';
import { sharingSubjectOf } from '../../domain/access/principal.ts';
import { INPUT_LIMITS } from '../../codecs/input/input-limits.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { openInput, type BytesReadListener } from '../../codecs/input/open-input.ts';
import {
  decoderForContentType,
  decoderForFileName,
  decoderForFormat,
  DATA_VALUE_DECODERS,
  type DataValueDecoder,
} from '../../codecs/data-value-decoders.ts';
import {
  DataValueStore,
  type DataValueAuditRow,
  type DataValueKey,
  type DataValueRow,
  type StoredDataValue,
} from '../../storage/data-value-store.ts';
import { PeriodStore } from '../../storage/period-store.ts';
import type { Transaction } from '../../storage/storage.ts';
import { FerryError } from '../../errors.ts';
import {
  DataValueImportPreheat,
  type DataWriteSharing,
  type CategoryInfo,
  type DataElementInfo,
  type DataSetInfo,
  type OptionComboInfo,
  type OrgUnitInfo,
} from './data-value-import-preheat.ts';

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
  /** Runs last inside the import transaction; a job passes its lease check here (fencing). */
  beforeCommit?: (tx: Transaction) => Promise<void>;
}

/**
 * Rows validated and written together; a batch is sorted into key order before writing. A batch's
 * objects outlive a few young-generation collections, so a large batch is promoted wholesale and
 * swells the old generation: 10,000 took 1,000,000 CSV values to 329 MB peak RSS, 2,000 to 253 MB,
 * and ran no slower (1.93 → 1.66 s CPU for 300,000).
 */
const BATCH_SIZE = 2_000;
/** Rows gathered from several batches into one write on PostgreSQL (see `rowsPerWrite`). */
const POSTGRES_ROWS_PER_WRITE = 10_000;

/** CREATE audit rows written by one statement at the end of a load into an empty table. */
const AUDIT_CHUNK_ROWS = 100_000;

class RollbackForDryRunOrAtomic extends Error {}

/** A conflict that stops the whole import (DHIS2 reports it as the aborted summary's conflict). */
interface FatalConflict {
  code: DataValueConflictCode;
  args: string[];
  objects: Record<string, string>;
  property: string;
}

/** A problem with the whole file: the import stops, nothing is written, the status is ERROR. */
class FatalImportError extends Error {
  readonly conflict: FatalConflict | undefined;

  constructor(message: string, conflict?: FatalConflict) {
    super(message);
    this.conflict = conflict;
  }
}

/**
 * Imports a data value file (DHIS2's `POST /api/dataValueSets`), streaming it through the decoder
 * for its format, resolving identifiers against metadata loaded once, validating every value, and
 * writing in sorted batches inside one transaction. Designed to run as a job handler: it takes the
 * spooled file and plain parameters, reports progress and stops on `signal`.
 *
 * Throws FerryError for requests that can't start (bad parameter, unknown content type, missing
 * authority); everything about the file's content ends up in the returned ImportSummary.
 */
export async function importDataValues(
  context: FerryContext,
  source: DataValueImportSource,
  params: RawParams,
  principal: DataValueImportPrincipal | undefined,
  run: DataValueImportRun = {},
): Promise<ImportSummary> {
  let options: DataValueImportOptions;
  try {
    options = parseDataValueImportParams(params);
  } catch (error) {
    if (error instanceof Error && 'parameter' in error) {
      const e = error as Error & { parameter: string; given: string; allowed: string };
      throw new FerryError('F1000', [e.parameter, e.given, e.allowed]);
    }
    throw error;
  }
  if (
    options.skipAudit &&
    principal &&
    !principal.authorities.has('ALL') &&
    !principal.authorities.has('F_SKIP_DATA_IMPORT_AUDIT')
  ) {
    throw new FerryError('F1102', ['F_SKIP_DATA_IMPORT_AUDIT']);
  }
  const decoder = pickDecoder(source);
  if (decoder.defaultIdScheme) options = { ...options, formatDefaultIdScheme: decoder.defaultIdScheme };

  const importer = new DataValueImporter(context, options, principal, run);
  try {
    const opened = await openInput(source.path, source.fileName, { onBytesRead: run.onBytesRead });
    await context.storage
      .transaction(async (tx) => {
        try {
          await importer.begin(tx);
          const items = decoder.decode(
            { path: source.path, fileName: source.fileName, chunks: opened.chunks },
            { firstRowIsHeader: options.firstRowIsHeader, limits: { ...INPUT_LIMITS } },
          );
          try {
            for await (const chunk of items) {
              // accept() returns a promise only when a batch is full: no await (and microtask) per row.
              if (isItemArray(chunk)) {
                for (const item of chunk) {
                  const flushing = importer.accept(item);
                  if (flushing) await flushing;
                }
              } else {
                await importer.accept(chunk);
              }
            }
            await importer.finish();
          } catch (error) {
            if (!importer.keepsFinishedBatchesOn(error)) throw error;
            await importer.finishCancelled();
          }
        } finally {
          await importer.end();
        }
        if (importer.mustRollBack()) throw new RollbackForDryRunOrAtomic();
        await run.beforeCommit?.(tx);
      })
      .catch((error: unknown) => {
        if (!(error instanceof RollbackForDryRunOrAtomic)) throw error;
      });
    importer.committed();
  } catch (error) {
    if (error instanceof FatalImportError && error.conflict) return importer.abortedSummary(error.conflict);
    if (error instanceof InputError || error instanceof FatalImportError) {
      return importer.failedSummary(error.message);
    }
    throw error;
  }
  if (importer.wasCancelled) throw new ImportCancelledError(importer.summary());
  return importer.summary();
}

/**
 * A non-atomic import cancelled while running: the batches written before the cancel are
 * committed, and `summary` counts exactly them (issue: "with the finished batches counted").
 */
export class ImportCancelledError extends Error {
  readonly summary: ImportSummary;

  constructor(summary: ImportSummary) {
    super(summary.description);
    this.summary = summary;
  }
}

function isItemArray(chunk: DataValueItem | readonly DataValueItem[]): chunk is readonly DataValueItem[] {
  return Array.isArray(chunk);
}

function pickDecoder(source: DataValueImportSource): DataValueDecoder {
  if (source.format) {
    const decoder = decoderForFormat(source.format);
    if (!decoder) {
      throw new FerryError('F1000', [
        'format',
        source.format,
        DATA_VALUE_DECODERS.map((d) => d.format).join(', '),
      ]);
    }
    return decoder;
  }
  const decoder = decoderForContentType(source.contentType) ?? decoderForFileName(source.fileName);
  if (!decoder) throw new FerryError('F1003', [source.contentType ?? source.fileName]);
  return decoder;
}

/** A validated row, resolved to ids, waiting to be compared with what is stored. */
interface ResolvedValue extends DataValueKey {
  index: number;
  value: string | null;
  comment: string | null;
  followUp: boolean;
  /** The row asks for deletion: `deleted=true`, or no value and no comment. */
  deleteRequested: boolean;
  insignificantZero: boolean;
  storedBy: string;
  created: string;
  /** For conflict messages (built only when one is reported): the identifiers as the file gave them. */
  input: DataValueInput;
  header: DataValueSetHeader;
  cocText: string;
}

function labelOf(entry: ResolvedValue): string {
  const { input, header } = entry;
  return [
    input.dataElement ?? '',
    input.period ?? header.period ?? '',
    input.orgUnit ?? header.orgUnit ?? '',
    entry.cocText,
    input.attributeOptionCombo ?? header.attributeOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID,
  ].join('/');
}

interface TimelinessProblem {
  code: DataValueConflictCode;
  args: string[];
}

/** A period of the file with its stored id, and whether each data set is open for it. */
interface ResolvedPeriod {
  id: number;
  period: Period;
  timeliness: Map<DataSetInfo, TimelinessProblem | null>;
}

/** What one header (file defaults and schemes) resolves to; rows under it share it. */
interface HeaderContext {
  header: DataValueSetHeader;
  dataElements: Map<string, DataElementInfo>;
  orgUnits: Map<string, OrgUnitInfo>;
  categoryOptionCombos: Map<string, OptionComboInfo>;
  attributeOptionCombos: Map<string, OptionComboInfo>;
  categoryOptions: Map<string, { uid: string }>;
  categories: Map<string, CategoryInfo>;
  /** The category id scheme, for conflict messages. */
  categoryScheme: string;
  dataSet: DataSetInfo | undefined;
  dataSetText: string | undefined;
}

/**
 * Why `{category: option}` pairs name no option combo: a category not found (F7101), an option not
 * of its category (F7102), or (code undefined) options that make no combo of the category combo,
 * which the caller reports with its own "not found" code.
 */
interface ComboMiss {
  code: 'F7101' | 'F7102' | undefined;
  args: string[];
  objects: Record<string, string>;
}

function isComboMiss(found: OptionComboInfo | ComboMiss): found is ComboMiss {
  return !('sid' in found);
}

function missConflict(
  miss: ComboMiss,
  notFound: DataValueConflictCode,
  comboType: 'categoryOptionCombo' | 'attributeOptionCombo',
): [DataValueConflictCode, Record<string, string>] {
  return miss.code ? [miss.code, miss.objects] : [notFound, { [comboType]: miss.args[0] }];
}

const TRUE_TEXTS = new Set(['true', 'TRUE', 'True', '1']);

/** `completeDate` of a header: a date or `true` asks to register completion; absent or `false` not. */
function asksForCompletion(header: DataValueSetHeader): boolean {
  const completeDate = header.completeDate;
  return completeDate !== undefined && completeDate !== '' && completeDate.toLowerCase() !== 'false';
}

function flag(value: string | boolean | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  return TRUE_TEXTS.has(value.trim());
}

class DataValueImporter {
  private readonly context: FerryContext;
  private readonly options: DataValueImportOptions;
  private readonly principal: DataValueImportPrincipal | undefined;
  private readonly run: DataValueImportRun;
  private readonly now: string;
  private readonly todayDay: number;
  private readonly today: string;
  private readonly username: string;
  private readonly captureScope: ReadonlySet<string> | undefined;

  private readonly conflicts = new ConflictCollector();
  private readonly keys = new DataValueKeySet();
  private readonly counts: ImportCount = { imported: 0, updated: 0, ignored: 0, deleted: 0 };
  private processed = 0;

  private tx: Transaction | undefined;
  private store: DataValueStore | undefined;
  private periods: PeriodStore | undefined;
  private preheat: DataValueImportPreheat | undefined;
  /** The preheat's, kept here for the per-value checks; undefined when nothing is checked. */
  private writeSharing: DataWriteSharing | undefined;
  /** When nothing was stored before this import, no row can exist: the look-ups are skipped. */
  private tableWasEmpty = false;
  /** The previous batch's write while it runs (see startWrite). */
  private writing: Promise<void> | undefined;
  /** Validated rows (and their audit rows) not yet sent to the database. */
  private unwrittenRows: DataValueRow[] = [];
  private unwrittenAudits: DataValueAuditRow[] = [];
  /**
   * How many rows to gather before writing. SQLite writes each batch as it comes: larger batches
   * only cost memory there (5,000-value batches: 5M JSON import 225 → 291 MB peak RSS). On
   * PostgreSQL each write is a COPY or statement with a fixed cost in round trips and executor
   * start-up: 10,000 rows a write took 1,000,000 values from 6.3 s to 4.1 s (bench
   * csv-import-postgres).
   */
  private rowsPerWrite = 0;
  /** Secondary indexes dropped for a load into an empty table, re-created at the end. */
  private deferredIndexes: string[] = [];
  /**
   * Loading into an empty SQLite table: every row written is a create, so the audit rows are
   * written once at the end from the table itself (one INSERT ... SELECT in SQLite's C code)
   * instead of bound row by row from JS.
   */
  private auditCreatesAtEnd = false;
  /** Set when a non-atomic import was cancelled and its finished batches kept. */
  wasCancelled = false;
  private restorePageCache: (() => Promise<void>) | undefined;

  private header: DataValueSetHeader = {};
  private readonly headerContexts = new Map<DataValueSetHeader, HeaderContext>();
  private pendingItems: Array<Extract<DataValueItem, { kind: 'value' }>> = [];
  private pendingHeaders: DataValueSetHeader[] = [];
  private readonly periodCache = new Map<string, ResolvedPeriod | null>();
  private lastComboByOptions:
    | {
        options: Record<string, string>;
        categoryComboUid: string | undefined;
        ctx: HeaderContext;
        result: OptionComboInfo | ComboMiss;
      }
    | undefined;
  private readonly scopeCache = new Map<number, boolean>();
  /** The last header of each data value set that asks for completion, in file order. */
  private readonly completionHeaders: DataValueSetHeader[] = [];
  /** The date of the last completion registered (DHIS2 has one header, so one date, per file). */
  private dataSetComplete = 'false';
  /** Completions a header asked for and that were refused with a conflict. */
  private completionsRefused = 0;
  private dryRun: boolean;

  constructor(
    context: FerryContext,
    options: DataValueImportOptions,
    principal: DataValueImportPrincipal | undefined,
    run: DataValueImportRun,
  ) {
    this.context = context;
    this.options = options;
    this.principal = principal;
    this.run = run;
    const now = run.now ?? new Date();
    this.now = now.toISOString();
    this.today = this.now.slice(0, 10);
    this.todayDay = parseDay(this.today) ?? 0;
    this.username = principal?.username ?? 'ferry-cli';
    this.dryRun = options.dryRun;
    const unrestricted = !principal || principal.authorities.has('ALL');
    this.captureScope = unrestricted ? undefined : new Set(principal.captureOrgUnits);
  }

  async begin(tx: Transaction): Promise<void> {
    this.tx = tx;
    this.store = new DataValueStore(tx);
    this.periods = new PeriodStore(tx);
    this.preheat = await DataValueImportPreheat.load(
      this.store,
      this.principal ? sharingSubjectOf(this.principal) : undefined,
    );
    this.writeSharing = this.preheat.writeSharing;
    this.tableWasEmpty = await this.store.isEmpty();
    this.rowsPerWrite = tx.kind === 'postgres' ? POSTGRES_ROWS_PER_WRITE : 0;
    this.restorePageCache = await this.store.limitPageCache();
    if (this.tableWasEmpty) this.deferredIndexes = await this.store.dropSecondaryIndexes();
    this.auditCreatesAtEnd =
      this.tableWasEmpty &&
      !this.options.skipAudit &&
      !this.options.skipExistingCheck &&
      this.store.canAuditStoredAsCreated();
    this.progress('Importing data values');
  }

  /** Takes one decoded item; returns a promise only when it filled a batch that is being written. */
  accept(item: DataValueItem): Promise<void> | undefined {
    switch (item.kind) {
      case 'header':
        // A header refining the set in force replaces it as the set's completion (see DataValueItem).
        if (!item.group && this.completionHeaders[this.completionHeaders.length - 1] === this.header) {
          this.completionHeaders.pop();
        }
        if (asksForCompletion(item.header)) this.completionHeaders.push(item.header);
        this.header = item.header;
        if (item.header.dryRun === true) this.dryRun = true;
        return;
      case 'issue':
        if (item.fatal) throw new FatalImportError(item.message);
        this.processed++;
        if (item.position) {
          this.conflicts.add(
            'F7100',
            item.position.index,
            [item.message],
            { row: String(item.position.index) },
            item.property,
          );
          this.conflicts.reject(item.position.index);
        } else {
          this.conflicts.add('F7100', undefined, [item.message], {}, item.property);
        }
        this.counts.ignored++;
        return;
      case 'value':
        this.pendingItems.push(item);
        this.pendingHeaders.push(this.header);
        if (this.pendingItems.length >= BATCH_SIZE) return this.flush();
        return;
    }
  }

  async finish(): Promise<void> {
    await this.flush();
    await this.writeUnwritten();
    await this.writeFinished();
    // A data set no value needed resolving is still checked: DHIS2 aborts on it before any value.
    if ((this.header.dataSet ?? this.options.dataSet) !== undefined) await this.contextFor(this.header);
    for (const header of this.completionHeaders) await this.registerCompletion(header);
    // A rollback restores them anyway.
    if (!this.mustRollBack()) {
      if (this.auditCreatesAtEnd) await this.auditStoredAsCreated();
      await this.store!.createIndexes(this.deferredIndexes);
    }
    this.progress('Done');
  }

  /**
   * The CREATE audit rows of a load into an empty table, by ranges of org units of about
   * AUDIT_CHUNK_ROWS values: SQLite statements block the event loop, and a server must keep
   * answering (and a job reporting progress) during the end of a multi-million-value import.
   */
  private async auditStoredAsCreated(): Promise<void> {
    const orgUnits = this.keys.orgUnitIds().sort((a, b) => a - b);
    if (orgUnits.length === 0) return;
    const perOrgUnit = Math.max(1, this.counts.imported / orgUnits.length);
    const step = Math.max(1, Math.floor(AUDIT_CHUNK_ROWS / perOrgUnit));
    for (let i = 0; i < orgUnits.length; i += step) {
      const range = { from: orgUnits[i], to: orgUnits[Math.min(i + step, orgUnits.length) - 1] };
      await this.store!.auditStoredAsCreated(this.username, this.now, this.run.jobId ?? null, range);
      this.progress('Importing data values');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Whether a cancel keeps what was written: only for a non-atomic, non-dry-run import stopped by
   * its own signal. The batch being gathered is dropped, unprocessed and uncounted.
   */
  keepsFinishedBatchesOn(error: unknown): boolean {
    const signal = this.run.signal;
    return !this.options.atomic && !this.dryRun && signal?.aborted === true && error === signal.reason;
  }

  /** Ends a cancelled import so that its finished batches commit whole: audit rows and indexes. */
  async finishCancelled(): Promise<void> {
    this.wasCancelled = true;
    this.pendingItems = [];
    this.pendingHeaders = [];
    // The batches validated before the cancel were counted: they must land.
    await this.writeUnwritten();
    await this.writeFinished();
    if (this.auditCreatesAtEnd) await this.auditStoredAsCreated();
    await this.store!.createIndexes(this.deferredIndexes);
    this.progress('Cancelled');
  }

  /** Undoes connection settings; called inside the transaction whether the import worked or not. */
  async end(): Promise<void> {
    // On a failure the last write may still be running; the connection must be idle to roll back.
    await this.writing?.catch(() => undefined);
    this.writing = undefined;
    await this.restorePageCache?.();
    this.restorePageCache = undefined;
  }

  mustRollBack(): boolean {
    return this.dryRun || (this.options.atomic && this.conflicts.size > 0);
  }

  committed(): void {
    if (!this.mustRollBack()) this.periods?.markCommitted();
  }

  summary(): ImportSummary {
    const atomicFailure = this.options.atomic && this.conflicts.size > 0;
    const counts: ImportCount = atomicFailure
      ? { imported: 0, updated: 0, ignored: this.processed, deleted: 0 }
      : { ...this.counts };
    const status = atomicFailure
      ? 'ERROR'
      : this.conflicts.size > 0 || this.wasCancelled
        ? 'WARNING'
        : 'SUCCESS';
    const description = atomicFailure
      ? `Import was not done: the import is atomic and ${this.conflicts.rejectedCount} of ${this.processed} values have conflicts${this.completionsRefused > 0 ? ' and the data set completion was refused' : ''}; nothing was written`
      : this.wasCancelled
        ? `Import was cancelled after ${this.processed} values; the values before the cancel were written and are counted here, the rest of the file was not read`
        : this.dryRun
          ? 'Dry run: nothing was written; the counts are what the import would do'
          : status === 'SUCCESS'
            ? 'Import process completed successfully'
            : 'Import process completed with conflicts';
    const summary: ImportSummary = {
      responseType: 'ImportSummary',
      status,
      importOptions: { ...describeImportOptions(this.options), dryRun: this.dryRun },
      description,
      importCount: counts,
      conflicts: this.conflicts.conflicts(),
      rejectedIndexes: [...this.conflicts.rejectedIndexes()].sort((a, b) => a - b),
      dataSetComplete: atomicFailure ? 'false' : this.dataSetComplete,
    };
    const omittedRejected = this.conflicts.rejectedCount - summary.rejectedIndexes.length;
    if (this.conflicts.omittedOccurrences > 0 || omittedRejected > 0) {
      summary.omitted = {
        conflictOccurrences: this.conflicts.omittedOccurrences,
        rejectedIndexes: omittedRejected,
      };
    }
    return summary;
  }

  /**
   * DHIS2's summary of an import its data-set-level validation aborted
   * (`DataValueSetImportValidator.abortDataSetImport`): ERROR, "Import process was aborted", the
   * reason as a conflict (E7600), nothing counted.
   */
  abortedSummary(conflict: FatalConflict): ImportSummary {
    this.conflicts.add(conflict.code, undefined, conflict.args, conflict.objects, conflict.property);
    return { ...this.failedSummary(''), description: 'Import process was aborted' };
  }

  failedSummary(message: string): ImportSummary {
    return {
      responseType: 'ImportSummary',
      status: 'ERROR',
      importOptions: { ...describeImportOptions(this.options), dryRun: this.dryRun },
      description: `The import process failed: ${message}`,
      importCount: { imported: 0, updated: 0, ignored: 0, deleted: 0 },
      conflicts: this.conflicts.conflicts(),
      rejectedIndexes: [...this.conflicts.rejectedIndexes()].sort((a, b) => a - b),
      dataSetComplete: 'false',
    };
  }

  private progress(stage: string): void {
    this.run.progress?.({ stage, processed: this.processed });
  }

  // ---------------------------------------------------------------------------------------------
  // Resolution

  private schemesOf(header: DataValueSetHeader): IdSchemes {
    const fromFile = parseIdSchemes(header as Record<string, unknown>);
    const base = this.options.formatDefaultIdScheme
      ? new IdSchemes(this.options.formatDefaultIdScheme).overriddenBy(this.options.idSchemes)
      : this.options.idSchemes;
    return base.overriddenBy(fromFile);
  }

  private async contextFor(header: DataValueSetHeader): Promise<HeaderContext> {
    let context = this.headerContexts.get(header);
    if (context) return context;
    const preheat = this.preheat!;
    let schemes: IdSchemes;
    try {
      schemes = this.schemesOf(header);
    } catch (error) {
      throw new FatalImportError(`the file's id scheme is not valid: ${(error as Error).message}`);
    }
    const dataSetText = header.dataSet ?? this.options.dataSet;
    let dataSet: DataSetInfo | undefined;
    if (dataSetText !== undefined) {
      dataSet =
        preheat.dataSets.under(schemes.schemeFor('dataSet')).get(dataSetText) ??
        preheat.dataSets.under(UID_SCHEME).get(dataSetText);
      if (!dataSet) {
        throw new FatalImportError(conflictMessage('E7600', [dataSetText]), {
          code: 'E7600',
          args: [dataSetText],
          objects: { dataSet: dataSetText },
          property: 'dataSet',
        });
      }
      // DHIS2 2.42 checks it next, at the data set level: it aborts the import as E7600 does.
      if (preheat.writeSharing && !preheat.writeSharing.canWrite(dataSet)) {
        throw new FatalImportError(conflictMessage('E7601', [dataSetText]), {
          code: 'E7601',
          args: [dataSetText],
          objects: { dataSet: dataSetText },
          property: 'dataSet',
        });
      }
    }
    context = {
      header,
      dataElements: preheat.dataElements.under(schemes.schemeFor('dataElement')),
      orgUnits: await preheat.orgUnits(schemes.schemeFor('orgUnit')),
      categoryOptionCombos: preheat.optionCombos.under(schemes.schemeFor('categoryOptionCombo')),
      attributeOptionCombos: preheat.optionCombos.under(schemes.schemeFor('attributeOptionCombo')),
      categoryOptions: preheat.categoryOptions.under(schemes.schemeFor('categoryOption')),
      categories: preheat.categories.under(schemes.schemeFor('category')),
      categoryScheme: formatIdScheme(schemes.schemeFor('category')),
      dataSet,
      dataSetText,
    };
    this.headerContexts.clear();
    this.headerContexts.set(header, context);
    return context;
  }

  private async resolvePeriods(
    items: ReadonlyArray<Extract<DataValueItem, { kind: 'value' }>>,
    headers: readonly DataValueSetHeader[],
  ): Promise<void> {
    const wanted = new Map<string, Period>();
    for (let i = 0; i < items.length; i++) {
      const text = items[i].value.period ?? headers[i].period;
      if (text === undefined || this.periodCache.has(text) || wanted.has(text)) continue;
      const period = parsePeriod(text);
      if (period) wanted.set(text, period);
      else this.periodCache.set(text, null);
    }
    if (wanted.size === 0) return;
    const ids = await this.periods!.idsFor(wanted.keys());
    for (const [text, period] of wanted) {
      const id = ids.get(text);
      this.periodCache.set(text, id === undefined ? null : { id, period, timeliness: new Map() });
    }
  }

  /** One period, from the cache the values filled or else stored now (a header's period). */
  private async periodFor(text: string): Promise<ResolvedPeriod | null> {
    const cached = this.periodCache.get(text);
    if (cached !== undefined) return cached;
    const period = parsePeriod(text);
    const id = period ? (await this.periods!.idsFor([text])).get(text) : undefined;
    const resolved = period && id !== undefined ? { id, period, timeliness: new Map() } : null;
    this.periodCache.set(text, resolved);
    return resolved;
  }

  private inScope(orgUnit: OrgUnitInfo): boolean {
    if (!this.captureScope) return true;
    let allowed = this.scopeCache.get(orgUnit.sid);
    if (allowed === undefined) {
      allowed = isInScope(orgUnit.path, this.captureScope);
      this.scopeCache.set(orgUnit.sid, allowed);
    }
    return allowed;
  }

  /** E7640 (past expiry days) or E7641 (after the latest open future period) for one data set. */
  private timelinessFor(dataSet: DataSetInfo, resolved: ResolvedPeriod): TimelinessProblem | null {
    const cached = resolved.timeliness.get(dataSet);
    if (cached !== undefined) return cached;
    const period = resolved.period;
    let problem: TimelinessProblem | null = null;
    const endDay = parseDay(period.endDate) ?? 0;
    if (dataSet.expiryDays > 0 && this.todayDay > endDay + dataSet.expiryDays) {
      problem = { code: 'E7640', args: [period.iso, dataSet.uid] };
    } else {
      let latest = periodContaining(dataSet.periodType, this.today);
      for (let i = 0; latest && i < dataSet.openFuturePeriods; i++) latest = nextPeriod(latest);
      if (latest && period.startDate > latest.endDate) {
        problem = { code: 'E7641', args: [period.iso, latest.iso, dataSet.uid] };
      }
    }
    resolved.timeliness.set(dataSet, problem);
    return problem;
  }

  /**
   * The combo for ADX / DHIS2 2.43 `{category: option}` disaggregation within a category combo:
   * each category named under `categoryIdScheme`, each option under `categoryOptionIdScheme` and
   * one of its category's. The last answer is kept: an ADX group's values share one options object.
   */
  private comboByOptions(
    categoryComboUid: string | undefined,
    options: Record<string, string>,
    ctx: HeaderContext,
  ): OptionComboInfo | ComboMiss {
    const last = this.lastComboByOptions;
    if (last && last.options === options && last.categoryComboUid === categoryComboUid && last.ctx === ctx) {
      return last.result;
    }
    const result = this.findComboByOptions(categoryComboUid, options, ctx);
    this.lastComboByOptions = { options, categoryComboUid, ctx, result };
    return result;
  }

  private findComboByOptions(
    categoryComboUid: string | undefined,
    options: Record<string, string>,
    ctx: HeaderContext,
  ): OptionComboInfo | ComboMiss {
    const optionUids: string[] = [];
    for (const category in options) {
      const option = options[category];
      const resolvedCategory = ctx.categories.get(category);
      if (!resolvedCategory) {
        return {
          code: 'F7101',
          args: [category, ctx.categoryScheme],
          objects: { category },
        };
      }
      const resolved = ctx.categoryOptions.get(option);
      if (!resolved || !resolvedCategory.options.has(resolved.uid)) {
        return {
          code: 'F7102',
          args: [option, category],
          objects: { categoryOption: option, category },
        };
      }
      optionUids.push(resolved.uid);
    }
    const combo = categoryComboUid ? this.preheat!.categoryCombos.get(categoryComboUid) : undefined;
    const found = combo?.combos.get(optionSetKey(optionUids));
    if (found) return found;
    const text = Object.entries(options)
      .map(([c, o]) => `${c}=${o}`)
      .join(',');
    return { code: undefined, args: [text], objects: {} };
  }

  /**
   * Validates one row against metadata, stopping at the first problem, in the order DHIS2 2.42
   * registers its checks (`DataValueSetImportValidator.init`): what the row names, each option combo
   * followed by the data write sharing of its category options (E7610-E7616), capture scope
   * (E7617), the value and comment (E7619-E7621), then the constraints (E7633-E7641).
   * The order decides which conflict a row with several problems reports. Returns the resolved
   * value, or undefined after recording the conflict.
   */
  private resolve(index: number, input: DataValueInput, ctx: HeaderContext): ResolvedValue | undefined {
    const header = ctx.header;
    const fail = (
      code: DataValueConflictCode,
      args: string[],
      objects: Record<string, string>,
      property: string,
    ): undefined => {
      this.conflicts.add(code, index, args, objects, property);
      this.conflicts.reject(index);
      return undefined;
    };

    const deText = input.dataElement ?? '';
    const dataElement = ctx.dataElements.get(deText);
    if (!dataElement) return fail('E7610', [deText], { dataElement: deText }, 'dataElement');

    const periodText = input.period ?? header.period ?? '';
    const period = this.periodCache.get(periodText);
    if (!period) return fail('E7611', [periodText], { period: periodText }, 'period');

    const ouText = input.orgUnit ?? header.orgUnit ?? '';
    const orgUnit = ctx.orgUnits.get(ouText);
    if (!orgUnit) return fail('E7612', [ouText], { orgUnit: ouText }, 'orgUnit');

    const dataSet = ctx.dataSet;
    // The category combo the element has in the data set (an override), or its own.
    const elementCombo =
      (dataSet ? dataSet.elements.get(dataElement.uid) : undefined) ?? dataElement.categoryComboUid;
    let coc: OptionComboInfo | undefined;
    let cocText: string;
    const categoryOptions = input.categoryOptions;
    if (categoryOptions) {
      // Found within the element's combo, so never E7634.
      const found = this.comboByOptions(elementCombo, categoryOptions, ctx);
      if (isComboMiss(found)) {
        const [code, objects] = missConflict(found, 'E7613', 'categoryOptionCombo');
        return fail(code, found.args, objects, 'categoryOptionCombo');
      }
      coc = found;
      cocText = found.uid;
    } else {
      cocText = input.categoryOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
      coc =
        input.categoryOptionCombo === undefined
          ? this.preheat!.optionCombos.under(UID_SCHEME).get(cocText)
          : ctx.categoryOptionCombos.get(cocText);
      if (!coc) return fail('E7613', [cocText], { categoryOptionCombo: cocText }, 'categoryOptionCombo');
    }
    const writeSharing = this.writeSharing;
    if (writeSharing) {
      const closed = writeSharing.closedOptions(coc);
      if (closed.length > 0)
        return this.refuseOptions(index, 'E7614', 'categoryOptionCombo', cocText, closed);
    }

    let aoc: OptionComboInfo | undefined;
    let aocText: string | undefined;
    const attributeOptions = input.attributeOptions;
    if (attributeOptions) {
      // Found within the data set's combo, so never E7635.
      const found = this.comboByOptions(dataSet?.categoryComboUid, attributeOptions, ctx);
      if (isComboMiss(found)) {
        const [code, objects] = missConflict(found, 'E7615', 'attributeOptionCombo');
        return fail(code, found.args, objects, 'attributeOptionCombo');
      }
      aoc = found;
    } else {
      const aocGiven = input.attributeOptionCombo ?? header.attributeOptionCombo;
      aocText = aocGiven ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
      aoc =
        aocGiven === undefined
          ? this.preheat!.optionCombos.under(UID_SCHEME).get(aocText)
          : ctx.attributeOptionCombos.get(aocText);
      if (!aoc) return fail('E7615', [aocText], { attributeOptionCombo: aocText }, 'attributeOptionCombo');
    }
    if (writeSharing) {
      const closed = writeSharing.closedOptions(aoc);
      if (closed.length > 0) {
        return this.refuseOptions(index, 'E7616', 'attributeOptionCombo', aocText ?? aoc.uid, closed);
      }
    }

    if (!this.inScope(orgUnit)) {
      return fail('E7617', [ouText, this.username], { orgUnit: ouText }, 'orgUnit');
    }

    let value: string | null = input.value ?? null;
    if (value !== null) {
      const check = checkValue(dataElement.valueType, value);
      if (!check.ok) {
        return fail(
          'E7619',
          [deText, `${dataElement.valueType}: ${check.reason}`],
          { dataElement: deText },
          'value',
        );
      }
      value = check.value;
    }
    const comment = input.comment ?? null;
    if (comment !== null && comment.length > MAX_COMMENT_LENGTH) {
      return fail(
        'E7620',
        [`longer than ${MAX_COMMENT_LENGTH} characters`],
        { dataElement: deText },
        'comment',
      );
    }
    if (value !== null && dataElement.optionCodes && !dataElement.optionCodes.has(value)) {
      return fail('E7621', [value, deText], { dataElement: deText }, 'value');
    }

    if (dataSet && !dataSet.elements.has(dataElement.uid)) {
      return fail(
        'E7633',
        [deText, ctx.dataSetText ?? dataSet.uid],
        { dataElement: deText, dataSet: dataSet.uid },
        'dataElement',
      );
    }
    if (
      coc.categoryComboUid !== elementCombo &&
      !categoryOptions &&
      !this.comboOverrides(dataElement, dataSet, coc)
    ) {
      return fail(
        'E7634',
        [cocText, deText],
        { categoryOptionCombo: cocText, dataElement: deText },
        'categoryOptionCombo',
      );
    }
    if (
      dataSet &&
      aoc.uid !== DEFAULT_CATEGORY_OPTION_COMBO_UID &&
      aoc.categoryComboUid !== dataSet.categoryComboUid &&
      aocText !== undefined
    ) {
      return fail(
        'E7635',
        [aocText, dataSet.uid],
        { attributeOptionCombo: aocText, dataSet: dataSet.uid },
        'attributeOptionCombo',
      );
    }
    if (dataSet) {
      const problem = this.timelinessFor(dataSet, period);
      if (problem)
        return fail(problem.code, problem.args, { period: periodText, dataElement: deText }, 'period');
    } else if (dataElement.dataSets.length > 0) {
      // Open in any of the element's data sets is enough; otherwise the first one's problem.
      let first: TimelinessProblem | null = null;
      let open = false;
      for (const candidate of dataElement.dataSets) {
        const problem = this.timelinessFor(candidate, period);
        if (!problem) {
          open = true;
          break;
        }
        first ??= problem;
      }
      if (!open && first)
        return fail(first.code, first.args, { period: periodText, dataElement: deText }, 'period');
    }

    const deleted = flag(input.deleted) === true;
    return {
      index,
      orgUnit: orgUnit.sid,
      period: period.id,
      dataElement: dataElement.sid,
      categoryOptionCombo: coc.sid,
      attributeOptionCombo: aoc.sid,
      value,
      comment,
      followUp: flag(input.followUp) ?? false,
      deleteRequested: deleted || (value === null && comment === null),
      insignificantZero:
        value !== null && isInsignificantZero(dataElement.valueType, value, dataElement.zeroIsSignificant),
      storedBy: input.storedBy ?? this.username,
      created: input.created && !Number.isNaN(Date.parse(input.created)) ? input.created : this.now,
      input,
      header,
      cocText,
    };
  }

  /**
   * E7614 or E7616: one conflict per category option of the combo the user may not write data of,
   * as DHIS2 2.42 reports them; the row is rejected once.
   */
  private refuseOptions(
    index: number,
    code: 'E7614' | 'E7616',
    property: 'categoryOptionCombo' | 'attributeOptionCombo',
    comboText: string,
    closed: readonly string[],
  ): undefined {
    for (const option of closed) {
      this.conflicts.add(
        code,
        index,
        [comboText, option],
        { [property]: comboText, categoryOption: option },
        property,
        option,
      );
    }
    this.conflicts.reject(index);
    return undefined;
  }

  /** An option combo of a data set override of the element's category combo is also fine. */
  private comboOverrides(
    element: DataElementInfo,
    dataSet: DataSetInfo | undefined,
    coc: OptionComboInfo,
  ): boolean {
    if (dataSet) return false;
    for (const candidate of element.dataSets) {
      if (candidate.elements.get(element.uid) === coc.categoryComboUid) return true;
    }
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Batches

  private async flush(): Promise<void> {
    const items = this.pendingItems;
    const headers = this.pendingHeaders;
    if (items.length === 0) return;
    this.pendingItems = [];
    this.pendingHeaders = [];
    this.run.signal?.throwIfAborted();
    await this.resolvePeriods(items, headers);

    const resolved: ResolvedValue[] = [];
    let ctx: HeaderContext | undefined;
    for (let i = 0; i < items.length; i++) {
      if (!ctx || ctx.header !== headers[i]) ctx = await this.contextFor(headers[i]);
      const item = items[i];
      this.processed++;
      const entry = this.resolve(item.position.index, item.value, ctx);
      if (!entry) {
        this.counts.ignored++;
        continue;
      }
      if (
        !this.keys.add(
          entry.orgUnit,
          entry.period,
          entry.dataElement,
          entry.categoryOptionCombo,
          entry.attributeOptionCombo,
        )
      ) {
        const label = labelOf(entry);
        this.conflicts.add('E8128', entry.index, [label], { dataValue: label }, 'dataValue');
        this.conflicts.reject(entry.index);
        this.counts.ignored++;
        continue;
      }
      resolved.push(entry);
    }
    // Once an atomic import has a conflict nothing will be written: keep validating, stop writing.
    if (this.options.atomic && this.conflicts.size > 0) {
      this.progress('Importing data values');
      return;
    }
    resolved.sort(compareKeys);
    if (this.options.skipExistingCheck) await this.insertWithoutLookup(resolved);
    else await this.compareAndWrite(resolved);
    this.progress('Importing data values');
  }

  private async compareAndWrite(resolved: ResolvedValue[]): Promise<void> {
    const stored: Array<StoredDataValue | undefined> = this.tableWasEmpty
      ? new Array(resolved.length)
      : await this.store!.findExisting(resolved);
    const strategy = this.options.importStrategy;
    // Gathered across batches until a write is due; a dry run or a doomed atomic import sends none.
    const rows = this.unwrittenRows;
    const audits = this.unwrittenAudits;
    const reject = (entry: ResolvedValue, code: 'E7650' | 'E7651'): void => {
      const label = labelOf(entry);
      this.conflicts.add(code, entry.index, [label, strategy], { dataValue: label }, 'importStrategy');
      this.conflicts.reject(entry.index);
      this.counts.ignored++;
    };
    for (let i = 0; i < resolved.length; i++) {
      const entry = resolved[i];
      const existing = stored[i];
      const live = existing !== undefined && !existing.deleted;
      const wantsDelete = strategy === 'DELETE' || entry.deleteRequested || entry.insignificantZero;
      if (strategy === 'CREATE' && live) {
        reject(entry, 'E7650');
        continue;
      }
      if (wantsDelete) {
        if (!live) {
          if (strategy === 'UPDATE') reject(entry, 'E7651');
          else this.counts.ignored++;
          continue;
        }
        this.counts.deleted++;
        rows.push(this.row(entry, existing.value, existing.comment, existing.followUp, true));
        audits.push(this.audit(entry, 'DELETE', existing.value, null));
        continue;
      }
      if (strategy === 'UPDATE' && !live) {
        reject(entry, 'E7651');
        continue;
      }
      if (!live) {
        this.counts.imported++;
        rows.push(this.row(entry, entry.value, entry.comment, entry.followUp, false));
        if (!this.auditCreatesAtEnd) audits.push(this.audit(entry, 'CREATE', null, entry.value));
      } else if (
        existing.value === entry.value &&
        existing.comment === entry.comment &&
        existing.followUp === entry.followUp
      ) {
        this.counts.ignored++;
      } else {
        this.counts.updated++;
        rows.push(this.row(entry, entry.value, entry.comment, entry.followUp, false));
        audits.push(this.audit(entry, 'UPDATE', existing.value, entry.value));
      }
    }
    if (rows.length >= this.rowsPerWrite) await this.writeUnwritten();
  }

  /** Sends the gathered rows and their audit rows (see `rowsPerWrite`). */
  private async writeUnwritten(): Promise<void> {
    const rows = this.unwrittenRows;
    const audits = this.unwrittenAudits;
    this.unwrittenRows = [];
    this.unwrittenAudits = [];
    // A dry run, or an atomic import with a conflict, rolls back: nothing needs sending.
    if ((rows.length === 0 && audits.length === 0) || this.mustRollBack()) return;
    const store = this.store!;
    const fresh = this.tableWasEmpty;
    const writeAudits = !this.options.skipAudit && !this.auditCreatesAtEnd;
    await this.startWrite(async () => {
      // Into an empty table every written row is a create the key set let through once.
      if (fresh) await store.insertFresh(rows);
      else await store.upsert(rows);
      if (writeAudits) await store.insertAudits(audits);
    });
  }

  /**
   * Starts writing a batch without waiting for it, once the previous batch's write has finished.
   * On PostgreSQL the server writes batch N while this process decodes and validates batch N + 1
   * (two cores busy instead of taking turns); SQLite's statements run on this thread, so there it
   * changes nothing. Batches never share a key (the key set lets each through once), so the order
   * of a write and the next batch's look-up does not matter; the connection runs them in order.
   */
  private async startWrite(write: () => Promise<void>): Promise<void> {
    await this.writeFinished();
    const writing = write();
    // Rejections are taken by writeFinished(); until then this keeps them from being unhandled.
    writing.catch(() => undefined);
    this.writing = writing;
  }

  /** Waits for the batch being written; its error, if any, is thrown here. */
  private async writeFinished(): Promise<void> {
    const writing = this.writing;
    this.writing = undefined;
    await writing;
  }

  /** `skipExistingCheck`: no look-up; new values are inserted and a clash becomes a conflict. */
  private async insertWithoutLookup(resolved: ResolvedValue[]): Promise<void> {
    const rows: DataValueRow[] = [];
    const entries: ResolvedValue[] = [];
    for (const entry of resolved) {
      if (this.options.importStrategy === 'DELETE' || entry.deleteRequested || entry.insignificantZero) {
        // Nothing is assumed to exist, so there is nothing to delete.
        this.counts.ignored++;
        continue;
      }
      rows.push(this.row(entry, entry.value, entry.comment, entry.followUp, false));
      entries.push(entry);
    }
    const clashes = this.dryRun ? [] : await this.store!.insertNew(rows);
    const clashed = new Set(clashes);
    const audits: DataValueAuditRow[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (clashed.has(i)) {
        const label = labelOf(entry);
        this.conflicts.add(
          'E7650',
          entry.index,
          [label, 'skipExistingCheck'],
          { dataValue: label },
          'skipExistingCheck',
        );
        this.conflicts.reject(entry.index);
        this.counts.ignored++;
        continue;
      }
      this.counts.imported++;
      audits.push(this.audit(entry, 'CREATE', null, entry.value));
    }
    if (!this.dryRun && !this.options.skipAudit) await this.store!.insertAudits(audits);
  }

  private row(
    entry: ResolvedValue,
    value: string | null,
    comment: string | null,
    followUp: boolean,
    deleted: boolean,
  ): DataValueRow {
    return {
      orgUnit: entry.orgUnit,
      period: entry.period,
      dataElement: entry.dataElement,
      categoryOptionCombo: entry.categoryOptionCombo,
      attributeOptionCombo: entry.attributeOptionCombo,
      value,
      storedBy: entry.storedBy,
      created: entry.created,
      lastUpdated: this.now,
      comment,
      followUp,
      deleted,
    };
  }

  private audit(
    entry: ResolvedValue,
    auditType: DataValueAuditRow['auditType'],
    previousValue: string | null,
    newValue: string | null,
  ): DataValueAuditRow {
    return {
      orgUnit: entry.orgUnit,
      period: entry.period,
      dataElement: entry.dataElement,
      categoryOptionCombo: entry.categoryOptionCombo,
      attributeOptionCombo: entry.attributeOptionCombo,
      auditType,
      previousValue,
      newValue,
      modifiedBy: this.username,
      created: this.now,
      jobId: this.run.jobId ?? null,
    };
  }

  /**
   * `completeDate` in the file's header registers its data set as complete for the header's org
   * unit, period and attribute option combo (DHIS2 clamps a future date to today). The header is
   * checked as a value would be: each refusal is a conflict with property `completeDate` (no row
   * index) and nothing is registered. DHIS2 2.42 checks neither the capture scope nor the expiry
   * here; Ferry does, so a clerk cannot complete another district's form or a locked period.
   */
  private async registerCompletion(header: DataValueSetHeader): Promise<void> {
    const completeDate = header.completeDate!;
    if (this.options.atomic && this.conflicts.size > 0) return;
    const refuse = (code: DataValueConflictCode, args: string[], objects: Record<string, string>): void => {
      this.conflicts.add(code, undefined, args, objects, 'completeDate');
      this.completionsRefused++;
    };
    let date = completeDate.toLowerCase() === 'true' ? this.today : completeDate.slice(0, 10);
    if (parseDay(date) === undefined) return refuse('F7104', [completeDate], { completeDate });
    if (date > this.today) date = this.today;

    const ctx = await this.contextFor(header);
    const dataSet = ctx.dataSet;
    if (!dataSet) return refuse('F7103', ['dataSet'], {});
    const periodText = header.period;
    if (periodText === undefined) return refuse('F7103', ['period'], { dataSet: dataSet.uid });
    const ouText = header.orgUnit;
    if (ouText === undefined) return refuse('F7103', ['orgUnit'], { dataSet: dataSet.uid });
    const period = await this.periodFor(periodText);
    if (!period) return refuse('E7611', [periodText], { period: periodText });
    const orgUnit = ctx.orgUnits.get(ouText);
    if (!orgUnit) return refuse('E7603', [ouText], { orgUnit: ouText, dataSet: dataSet.uid });
    if (!this.inScope(orgUnit)) return refuse('E7617', [ouText, this.username], { orgUnit: ouText });

    // Resolved as the header's values resolve theirs: ADX category attributes, else the combo's id.
    let aoc: OptionComboInfo | undefined;
    let aocText: string;
    if (header.attributeOptions) {
      const found = this.comboByOptions(dataSet.categoryComboUid, header.attributeOptions, ctx);
      if (isComboMiss(found)) {
        const [code, objects] = missConflict(found, 'E7604', 'attributeOptionCombo');
        return refuse(code, found.args, { ...objects, dataSet: dataSet.uid });
      }
      aoc = found;
      aocText = found.uid;
    } else {
      aocText = header.attributeOptionCombo ?? DEFAULT_CATEGORY_OPTION_COMBO_UID;
      aoc =
        header.attributeOptionCombo === undefined
          ? this.preheat!.optionCombos.under(UID_SCHEME).get(aocText)
          : ctx.attributeOptionCombos.get(aocText);
    }
    if (!aoc) return refuse('E7604', [aocText], { attributeOptionCombo: aocText, dataSet: dataSet.uid });
    if (aoc.uid !== DEFAULT_CATEGORY_OPTION_COMBO_UID && aoc.categoryComboUid !== dataSet.categoryComboUid) {
      return refuse('E7635', [aocText, dataSet.uid], { attributeOptionCombo: aocText, dataSet: dataSet.uid });
    }
    const closed = this.writeSharing?.closedOptions(aoc) ?? [];
    if (closed.length > 0) {
      // One conflict per closed option, as for a value; one refused completion.
      for (const option of closed) {
        this.conflicts.add(
          'E7616',
          undefined,
          [aocText, option],
          { attributeOptionCombo: aocText, categoryOption: option },
          'completeDate',
          option,
        );
      }
      this.completionsRefused++;
      return;
    }
    const problem = this.timelinessFor(dataSet, period);
    if (problem) return refuse(problem.code, problem.args, { period: periodText, dataSet: dataSet.uid });

    this.dataSetComplete = date;
    if (this.dryRun) return;
    await this.store!.registerComplete({
      dataSet: dataSet.sid,
      period: period.id,
      orgUnit: orgUnit.sid,
      attributeOptionCombo: aoc.sid,
      completedDate: date,
      storedBy: this.username,
      lastUpdated: this.now,
    });
  }
}

function compareKeys(a: DataValueKey, b: DataValueKey): number {
  return (
    a.orgUnit - b.orgUnit ||
    a.period - b.period ||
    a.dataElement - b.dataElement ||
    a.categoryOptionCombo - b.categoryOptionCombo ||
    a.attributeOptionCombo - b.attributeOptionCombo
  );
}
