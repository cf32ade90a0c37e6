import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FerryContext } from '../ferry-context-types.ts';
import type { ImportSummary } from '../../domain/data-values/import-summary.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { columnsUsed, mandatoryColumns, type WizardMappingBody } from '../../domain/wizard/wizard-mapping.ts';
import { InputError } from '../../codecs/input/input-error.ts';
import { importDataValues, ImportCancelledError } from '../data-values/data-value-import-service.ts';
import type { DataValueImportRun } from '../data-values/data-value-import-types.ts';
import { AggregateMapper, type MappedValue, type WizardIssue } from './aggregate-mapper.ts';
import { WizardMetadata } from './wizard-metadata.ts';
import { SourceConfigError, type SourceRecord } from './sources/wizard-source.ts';
import {
  DEFAULT_PREVIEW,
  MAX_ISSUES,
  openMappingSource,
  type WizardImportReport,
  type WizardRunOptions,
} from './wizard-report.ts';
import { importOrgUnitHierarchy } from './org-unit-hierarchy-import.ts';

/**
 * Runs a mapping: the source's records are read, mapped and written as a DHIS2 data value CSV to
 * a temporary file (streamed: nothing holds the whole source), then the real data value importer
 * imports that file, as a dry run for the preview or for real. So the preview is the import: the
 * same validation, sharing, scope and existing-value comparison, and its counts of new, updated
 * and unchanged values are the importer's. Every problem comes back with the source row (sheet,
 * cell, JSON path) it came from: the mapper's own (an unmatched org unit) and the importer's
 * conflicts, traced back through the row each written line came from.
 */
/** Growable Int32 columns: where each written line came from, 8 bytes a value. */
class Origins {
  rows = new Int32Array(1024);
  columns = new Int32Array(1024);
  length = 0;
  readonly columnNames: string[] = [];
  private readonly columnIndex = new Map<string, number>();
  readonly sheets: string[] = [];
  sheetOf = new Int32Array(1024);
  private readonly sheetIndex = new Map<string, number>();

  push(row: number, column: string, sheet: string | undefined): void {
    if (this.length === this.rows.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.rows = grow(this.rows);
      this.columns = grow(this.columns);
      this.sheetOf = grow(this.sheetOf);
    }
    this.rows[this.length] = row;
    this.columns[this.length] = this.index(this.columnIndex, this.columnNames, column);
    this.sheetOf[this.length] = sheet === undefined ? -1 : this.index(this.sheetIndex, this.sheets, sheet);
    this.length++;
  }

  private index(map: Map<string, number>, list: string[], key: string): number {
    let i = map.get(key);
    if (i === undefined) {
      i = list.length;
      list.push(key);
      map.set(key, i);
    }
    return i;
  }

  at(index: number): { row: number; column: string; sheet?: string } | undefined {
    if (index < 0 || index >= this.length) return undefined;
    const sheet = this.sheetOf[index];
    return {
      row: this.rows[index],
      column: this.columnNames[this.columns[index]],
      ...(sheet >= 0 ? { sheet: this.sheets[sheet] } : {}),
    };
  }
}

function csvField(value: string | undefined): string {
  if (value === undefined) return '';
  return /[",\r\n]/.test(value) || /^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export const DATA_VALUE_CSV_HEADER =
  'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup\n';

function csvLine(v: MappedValue): string {
  return `${csvField(v.dataElement)},${csvField(v.period)},${csvField(v.orgUnit)},${csvField(v.categoryOptionCombo)},${csvField(v.attributeOptionCombo)},${csvField(v.value)},,,${csvField(v.comment)},\n`;
}

/** Runs a mapping's import (or dry run). `principal` undefined: the operator at the command line. */
export async function runWizardImport(
  context: FerryContext,
  body: WizardMappingBody,
  mapping: WizardImportReport['mapping'],
  options: WizardRunOptions,
  principal: Principal | undefined,
  run: DataValueImportRun = {},
): Promise<WizardImportReport> {
  if (body.target.kind === 'organisationUnits')
    return importOrgUnitHierarchy(context, body, mapping, options, principal, run);
  const report: WizardImportReport = {
    responseType: 'WizardImportReport',
    mapping,
    dryRun: options.dryRun,
    status: 'SUCCESS',
    records: 0,
    values: 0,
    counts: { new: 0, updated: 0, unchanged: 0, deleted: 0, heldBack: 0, dropped: 0 },
    issues: [],
    issuesOmitted: 0,
    unmatched: [],
    preview: [],
  };
  const addIssue = (issue: WizardIssue) => {
    if (report.issues.length < MAX_ISSUES) report.issues.push(issue);
    else report.issuesOmitted++;
  };
  const records = openMappingSource(body, options, run.signal);
  const metadata = await WizardMetadata.load(context.metadata);
  const mapper = new AggregateMapper(body, metadata);
  const previewSize = options.previewSize ?? DEFAULT_PREVIEW;
  const dir = await mkdtemp(join(tmpdir(), 'ferry-wizard-'));
  const path = join(dir, 'values.csv');
  const origins = new Origins();
  try {
    const out = createWriteStream(path);
    const failed = once(out, 'error').then(([e]) => Promise.reject(e as Error));
    failed.catch(() => {});
    const write = async (text: string) => {
      if (!out.write(text)) await Promise.race([once(out, 'drain'), failed]);
    };
    await write(DATA_VALUE_CSV_HEADER);
    let checkedColumns = false;
    try {
      for await (const record of records) {
        if (!checkedColumns) {
          checkedColumns = true;
          checkColumns(body, record);
        }
        report.records++;
        const { values, issues } = mapper.map(record);
        for (const issue of issues) {
          addIssue(issue);
          if (issue.kind === 'conflict') report.counts.dropped++;
        }
        if (issues.some((i) => i.kind === 'error')) report.counts.heldBack++;
        for (const value of values) {
          origins.push(record.locator.row, value.column, record.locator.sheet);
          if (report.preview.length < previewSize)
            report.preview.push({
              row: record.locator.row,
              ...(record.locator.sheet ? { sheet: record.locator.sheet } : {}),
              column: value.column,
              dataElement: value.dataElement,
              period: value.period,
              orgUnit: value.orgUnit,
              ...(value.categoryOptionCombo ? { categoryOptionCombo: value.categoryOptionCombo } : {}),
              ...(value.attributeOptionCombo ? { attributeOptionCombo: value.attributeOptionCombo } : {}),
              value: value.value,
              ...(value.comment ? { comment: value.comment } : {}),
            });
          await write(csvLine(value));
        }
        if (report.records % 10_000 === 0)
          run.progress?.({ stage: 'Reading the source', processed: report.records });
      }
    } catch (error) {
      out.destroy();
      if (error instanceof InputError || error instanceof SourceConfigError) {
        report.status = 'ERROR';
        report.error = error.message;
        report.unmatched = mapper.unmatched();
        return report;
      }
      throw error;
    }
    out.end();
    await once(out, 'close');
    report.values = origins.length;
    report.unmatched = mapper.unmatched();
    const t = body.target;
    const params: Record<string, string> = {
      dryRun: String(options.dryRun),
      importStrategy: t.importStrategy,
      format: 'csv',
    };
    if (t.dataSet) params.dataSet = t.dataSet;
    if (t.dedupe) {
      params.dedupePool = t.dedupe.pool;
      params.dedupeMode = t.dedupe.mode;
    }
    let summary: ImportSummary;
    try {
      summary = await importDataValues(
        context,
        { path, fileName: 'wizard values.csv', format: 'csv' },
        params,
        principal,
        run,
      );
    } catch (error) {
      if (error instanceof ImportCancelledError) summary = error.summary;
      else throw error;
    }
    const { conflicts, rejectedIndexes, ...rest } = summary;
    report.importSummary = rest;
    const rejected = rejectedIndexes.length + (summary.omitted?.rejectedIndexes ?? 0);
    report.counts.new = summary.importCount.imported;
    report.counts.updated = summary.importCount.updated;
    report.counts.deleted = summary.importCount.deleted;
    report.counts.unchanged = Math.max(0, summary.importCount.ignored - rejected);
    report.counts.dropped += rejected;
    for (const conflict of conflicts) {
      const indexes = conflict.indexes.length > 0 ? conflict.indexes : [-1];
      for (const index of indexes) {
        const origin = origins.at(index);
        addIssue({
          kind: 'conflict',
          row: origin?.row ?? 0,
          ...(origin?.sheet ? { sheet: origin.sheet } : {}),
          field: origin?.column ?? conflict.property ?? '',
          value: conflict.object,
          message: conflict.value,
          code: conflict.errorCode,
        });
      }
    }
    if (summary.status === 'ERROR') {
      report.status = 'ERROR';
      if (summary.description) report.error = summary.description;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (report.status !== 'ERROR' && (report.issues.length > 0 || report.issuesOmitted > 0))
    report.status = 'WARNING';
  return report;
}

/**
 * The first record shows the source's columns (a CSV header, a sheet's header row): a column the
 * mapping needs and the source lacks fails the run at once, naming it, instead of holding back
 * every record. JSON records carry only their own keys, so they are checked record by record.
 */
function checkColumns(body: WizardMappingBody, record: SourceRecord): void {
  if (body.source.kind === 'json') return;
  const present = new Set(Object.keys(record.values));
  const mandatory = new Set(mandatoryColumns(body));
  const missing = columnsUsed(body).filter((c) => !present.has(c));
  if (missing.length === 0) return;
  const required = missing.filter((c) => mandatory.has(c));
  const list = (required.length > 0 ? required : missing).map((c) => `\`${c}\``).join(', ');
  throw new SourceConfigError(
    'columns',
    `the source has no column ${list}, which the mapping ${required.length > 0 ? 'needs' : 'reads'}; its columns are ${[...present].map((c) => `\`${c}\``).join(', ')}`,
  );
}

/** The report's issues as CSV: the preview's download. */
export function issuesCsv(report: WizardImportReport): string {
  const lines = ['kind,row,sheet,where,field,value,code,message'];
  for (const i of report.issues)
    lines.push(
      [i.kind, String(i.row), i.sheet, i.where, i.field, i.value, i.code, i.message]
        .map((v) => csvField(v))
        .join(','),
    );
  for (const u of report.unmatched)
    lines.push(
      [
        'unmatched',
        String(u.rows[0] ?? ''),
        '',
        '',
        u.column,
        u.value,
        u.kind,
        `${u.count} record(s); suggestions: ${u.suggestions.map((s) => `${s.label} (${s.id}, ${Math.round(s.confidence * 100)}%)`).join('; ') || 'none'}`,
      ]
        .map((v) => csvField(v))
        .join(','),
    );
  return lines.join('\n') + '\n';
}
