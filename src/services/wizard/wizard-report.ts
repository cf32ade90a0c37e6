import type { ImportSummary } from '../../domain/data-values/import-summary.ts';
import type { WizardMappingBody } from '../../domain/wizard/wizard-mapping.ts';
import { FerryError } from '../../errors.ts';
import type { UnmatchedValue, WizardIssue } from './aggregate-mapper.ts';
import { SourceConfigError, type SourceFile, type SourceRecord } from './sources/wizard-source.ts';
import { FILE_SOURCE_KINDS, WIZARD_SOURCES } from './sources/source-registry.ts';

// What a wizard run takes and answers, shared by the aggregate and org unit runs.

export const MAX_ISSUES = 1_000;
export const DEFAULT_PREVIEW = 50;

export interface WizardRunOptions {
  dryRun: boolean;
  /** The file for a file source. */
  file?: SourceFile;
  /** Source options for this run only (a different sheet, encoding). */
  sourceOptions?: Record<string, unknown>;
  /** Rows of `preview` (the values as they will be written). */
  previewSize?: number;
}

export interface WizardPreviewValue {
  row: number;
  sheet?: string;
  column: string;
  dataElement: string;
  period: string;
  orgUnit: string;
  categoryOptionCombo?: string;
  attributeOptionCombo?: string;
  value: string;
  comment?: string;
}

export interface WizardImportReport {
  responseType: 'WizardImportReport';
  mapping: { id?: string; name: string; version?: number };
  dryRun: boolean;
  status: 'SUCCESS' | 'WARNING' | 'ERROR';
  /** Source records read, and values (or org units) they gave. */
  records: number;
  values: number;
  counts: {
    new: number;
    updated: number;
    unchanged: number;
    deleted: number;
    /** Records held back by an error (a mandatory field could not be resolved). */
    heldBack: number;
    /** Values dropped by a conflict (the mapper's or the importer's). */
    dropped: number;
  };
  /** Errors and conflicts with their source rows; at most MAX_ISSUES listed. */
  issues: WizardIssue[];
  issuesOmitted: number;
  unmatched: UnmatchedValue[];
  preview: WizardPreviewValue[];
  /** The importer's own summary, without its conflicts (they are in `issues`, traced to the source). */
  importSummary?: Omit<ImportSummary, 'conflicts' | 'rejectedIndexes'>;
  /** A problem that stopped the whole run (an unreadable file). */
  error?: string;
}

/** Opens the mapping's source for this run: its saved options, the run's, and the file. */
export function openMappingSource(
  body: WizardMappingBody,
  options: Pick<WizardRunOptions, 'file' | 'sourceOptions'>,
  signal?: AbortSignal,
): AsyncIterable<SourceRecord> {
  const source = WIZARD_SOURCES[body.source.kind];
  if (!source) throw new FerryError('F1951', [`no source of kind ${body.source.kind}`]);
  if (FILE_SOURCE_KINDS.has(body.source.kind) && !options.file)
    throw new FerryError('F1951', [
      `a ${body.source.kind} mapping needs a file to read (--file, or an upload)`,
    ]);
  let config: unknown;
  try {
    config = source.parseConfig({ ...body.source.options, ...options.sourceOptions, file: options.file });
  } catch (error) {
    if (error instanceof SourceConfigError) throw new FerryError('F1951', [error.message]);
    throw error;
  }
  return source.open(config, signal);
}
