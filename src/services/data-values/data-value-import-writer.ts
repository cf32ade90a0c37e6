import type { DataValueImportOptions } from '../../domain/data-values/data-value-import-options.ts';
import type { ConflictCollector } from '../../domain/data-values/import-conflicts.ts';
import type { ImportCount } from '../../domain/data-values/import-summary.ts';
import type { DataValueKeySet } from '../../domain/data-values/data-value-key-set.ts';
import type {
  DataValueStore,
  DataValueAuditRow,
  DataValueKey,
  DataValueRow,
  StoredDataValue,
} from '../../storage/data-value-store.ts';
import type { DatabaseKind } from '../../storage/storage.ts';
import { labelOf, type ResolvedValue } from './data-value-import-validation.ts';

// Writing validated values: each sorted batch compared with what is stored (import, update,
// delete or ignore as unchanged, by the import strategy), written with its audit rows, and the
// fast path of a first load into an empty table.

/** Rows gathered from several batches into one write on PostgreSQL (see `rowsPerWrite`). */
const POSTGRES_ROWS_PER_WRITE = 10_000;

/** CREATE audit rows written by one statement at the end of a load into an empty table. */
const AUDIT_CHUNK_ROWS = 100_000;

export interface DataValueImportWriterSettings {
  store: DataValueStore;
  options: DataValueImportOptions;
  /** Shared with the importer: the writer counts what it imports, updates, deletes and ignores. */
  counts: ImportCount;
  conflicts: ConflictCollector;
  /** Every key the import let through; the org units of a first load's audit ranges. */
  keys: DataValueKeySet;
  username: string;
  now: string;
  jobId: string | undefined;
  /** Whether the transaction will roll back (a dry run, a doomed atomic import): nothing is sent. */
  mustRollBack: () => boolean;
  /** A header may turn dry run on in the middle of the file. */
  isDryRun: () => boolean;
  progress: () => void;
}

export class DataValueImportWriter {
  private readonly store: DataValueStore;
  private readonly options: DataValueImportOptions;
  private readonly counts: ImportCount;
  private readonly conflicts: ConflictCollector;
  private readonly keys: DataValueKeySet;
  private readonly username: string;
  private readonly now: string;
  private readonly jobId: string | null;
  private readonly mustRollBack: () => boolean;
  private readonly isDryRun: () => boolean;
  private readonly progress: () => void;

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
  /**
   * PostgreSQL, CREATE_AND_UPDATE: values that ask for no delete are not looked up here; they are staged by COPY and merged by one statement that counts them
   * (`DataValueStore.merge`). Deletes and the other strategies report per-value conflicts, so they
   * still compare in JavaScript.
   */
  private mergesOnServer = false;
  /** Rows waiting for the server-side merge, uncounted until it answers. */
  private unmergedRows: DataValueRow[] = [];
  /** Entries of `unmergedRows`, for counting them here when the merge will not run (see writeUnwritten). */
  private unmergedEntries: ResolvedValue[] = [];
  private restorePageCache: (() => Promise<void>) | undefined;

  constructor(settings: DataValueImportWriterSettings) {
    this.store = settings.store;
    this.options = settings.options;
    this.counts = settings.counts;
    this.conflicts = settings.conflicts;
    this.keys = settings.keys;
    this.username = settings.username;
    this.now = settings.now;
    this.jobId = settings.jobId ?? null;
    this.mustRollBack = settings.mustRollBack;
    this.isDryRun = settings.isDryRun;
    this.progress = settings.progress;
  }

  /** Prepares the connection: the empty-table fast path, the page cache, deferred indexes. */
  async begin(kind: DatabaseKind): Promise<void> {
    const store = this.store;
    this.tableWasEmpty = await store.isEmpty();
    this.rowsPerWrite = kind === 'postgres' ? POSTGRES_ROWS_PER_WRITE : 0;
    this.restorePageCache = await store.limitPageCache();
    if (this.tableWasEmpty) this.deferredIndexes = await store.dropSecondaryIndexes();
    this.auditCreatesAtEnd =
      this.tableWasEmpty &&
      !this.options.skipAudit &&
      !this.options.skipExistingCheck &&
      store.canAuditStoredAsCreated();
    this.mergesOnServer = this.options.importStrategy === 'CREATE_AND_UPDATE' && store.canMerge();
  }

  /** Writes one batch of validated values, sorted into key order first. */
  async write(resolved: ResolvedValue[]): Promise<void> {
    resolved.sort(compareKeys);
    if (this.options.skipExistingCheck) await this.insertWithoutLookup(resolved);
    else await this.compareAndWrite(resolved);
  }

  /** Sends what is still gathered and waits for every write to finish. */
  async drain(): Promise<void> {
    await this.writeUnwritten();
    await this.writeFinished();
  }

  /** The end of a load that will commit: a first load's audit rows, and the deferred indexes. */
  async completeLoad(): Promise<void> {
    if (this.auditCreatesAtEnd) await this.auditStoredAsCreated();
    await this.store.createIndexes(this.deferredIndexes);
  }

  /** Undoes connection settings; called inside the transaction whether the import worked or not. */
  async end(): Promise<void> {
    // On a failure the last write may still be running; the connection must be idle to roll back.
    await this.writing?.catch(() => undefined);
    this.writing = undefined;
    await this.restorePageCache?.();
    this.restorePageCache = undefined;
  }

  private async compareAndWrite(resolved: ResolvedValue[]): Promise<void> {
    if (this.mergesOnServer) resolved = this.setAsideForMerge(resolved);
    const stored: Array<StoredDataValue | undefined> =
      this.tableWasEmpty || resolved.length === 0
        ? new Array(resolved.length)
        : await this.store.findExisting(resolved);
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
    if (rows.length + this.unmergedRows.length >= this.rowsPerWrite) await this.writeUnwritten();
  }

  /** Takes the values the server merges out of a batch; returns the rest (deletes) for comparing here. */
  private setAsideForMerge(resolved: ResolvedValue[]): ResolvedValue[] {
    const rest: ResolvedValue[] = [];
    for (const entry of resolved) {
      if (entry.deleteRequested || entry.insignificantZero) {
        rest.push(entry);
        continue;
      }
      this.unmergedEntries.push(entry);
      this.unmergedRows.push(this.row(entry, entry.value, entry.comment, entry.followUp, false));
    }
    return rest;
  }

  /**
   * The rows set aside for the server-side merge, counted from their merge; or, when nothing will
   * be sent (a dry run, a doomed atomic import), compared here against the stored rows so that the
   * counts are the same as if they had been written.
   */
  private async mergeUnmerged(): Promise<void> {
    const rows = this.unmergedRows;
    const entries = this.unmergedEntries;
    if (rows.length === 0) return;
    this.unmergedRows = [];
    this.unmergedEntries = [];
    if (this.mustRollBack()) {
      const stored = await this.store.findExisting(rows);
      for (let i = 0; i < entries.length; i++) {
        const existing = stored[i];
        const entry = entries[i];
        if (existing === undefined || existing.deleted) this.counts.imported++;
        else if (
          existing.value === entry.value &&
          existing.comment === entry.comment &&
          existing.followUp === entry.followUp
        )
          this.counts.ignored++;
        else this.counts.updated++;
      }
      return;
    }
    const store = this.store;
    const fresh = this.tableWasEmpty;
    const audit = this.options.skipAudit
      ? undefined
      : { modifiedBy: this.username, created: this.now, jobId: this.jobId };
    await this.startWrite(async () => {
      const merged = await store.merge(rows, audit, fresh);
      this.counts.imported += merged.imported;
      this.counts.updated += merged.updated;
      this.counts.ignored += merged.ignored;
    });
  }

  /** Sends the gathered rows and their audit rows (see `rowsPerWrite`). */
  private async writeUnwritten(): Promise<void> {
    await this.mergeUnmerged();
    const rows = this.unwrittenRows;
    const audits = this.unwrittenAudits;
    this.unwrittenRows = [];
    this.unwrittenAudits = [];
    // A dry run, or an atomic import with a conflict, rolls back: nothing needs sending.
    if ((rows.length === 0 && audits.length === 0) || this.mustRollBack()) return;
    const store = this.store;
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
    const dryRun = this.isDryRun();
    const clashes = dryRun ? [] : await this.store.insertNew(rows);
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
    if (!dryRun && !this.options.skipAudit) await this.store.insertAudits(audits);
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
      await this.store.auditStoredAsCreated(this.username, this.now, this.jobId, range);
      this.progress();
      await new Promise((resolve) => setImmediate(resolve));
    }
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
      jobId: this.jobId,
    };
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
