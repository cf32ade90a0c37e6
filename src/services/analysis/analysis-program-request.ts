import {
  ANALYSIS_EXTRA_PARAMETERS,
  describeAnalysisExtras,
  parseAnalysisExtras,
  type AnalysisExtras,
} from './analysis-extras.ts';
import { FerryError } from '../../errors.ts';
import { ENROLLMENT_STATUSES, EVENT_STATUSES } from '../../domain/tracker/tracker-objects.ts';
import { ANALYSIS_FORMATS, type AnalysisFormat } from './analysis-file-writers.ts';

/**
 * The parameters of an analysis export of a program (event or tracker): which events, enrollments
 * and tracked entities, in which label language. Checked when the export is asked for (the export
 * queue's `validate`, the CLI) and again when it runs.
 */

export type EventStatus = (typeof EVENT_STATUSES)[number];
export type EnrollmentStatus = (typeof ENROLLMENT_STATUSES)[number];

export interface ProgramAnalysisRequest {
  format: AnalysisFormat;
  program: string;
  /** The program version the requester saw; the export fails when another one is in force. */
  programVersion?: number;
  /** Event statuses (any when empty). */
  statuses: EventStatus[];
  /** Enrollment statuses, tracker programs (any when empty). */
  programStatuses: EnrollmentStatus[];
  /** Org units, each with every org unit below it (the requester's whole view scope when empty). */
  orgUnits: string[];
  /** First and last day (inclusive): the event date (event programs) or enrollment date (tracker). */
  startDate?: string;
  endDate?: string;
  /** Label language (`fr`, `pt_BR`, ...): translated names where the metadata has them. */
  locale?: string;
  /** Metadata, paradata (analysis-extras.ts); none when absent. */
  extras?: AnalysisExtras;
}

/** Every parameter a program export takes (anything else is F1000). */
export const PROGRAM_ANALYSIS_PARAMETERS = [
  'program',
  'programVersion',
  'status',
  'programStatus',
  'orgUnit',
  'startDate',
  'endDate',
  'locale',
  ...ANALYSIS_EXTRA_PARAMETERS,
] as const;

/** Whether the parameters ask for a program (rather than data sets). */
export function isProgramAnalysis(params: Record<string, unknown>): boolean {
  return params.program !== undefined && params.program !== null && params.program !== '';
}

function list(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return values
    .flatMap((v) => String(v).split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

const UID = /^[A-Za-z][A-Za-z0-9]{10}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

function day(name: string, value: unknown): string | undefined {
  const [text, ...more] = list(value);
  if (text === undefined) return undefined;
  if (more.length > 0 || !DAY.test(text) || Number.isNaN(Date.parse(`${text}T00:00:00Z`)))
    throw new FerryError('F1000', [name, String(value), 'a date YYYY-MM-DD']);
  if (new Date(`${text}T00:00:00Z`).toISOString().slice(0, 10) !== text)
    throw new FerryError('F1000', [name, text, 'a date YYYY-MM-DD']);
  return text;
}

function statuses<T extends string>(name: string, value: unknown, allowed: readonly T[]): T[] {
  const out: T[] = [];
  for (const text of list(value)) {
    const match = allowed.find((s) => s === text.toUpperCase());
    if (!match) throw new FerryError('F1000', [name, text, allowed.join(', ')]);
    if (!out.includes(match)) out.push(match);
  }
  return out;
}

export function parseProgramAnalysisRequest(
  params: Record<string, unknown>,
  format: string,
): ProgramAnalysisRequest {
  if (!(ANALYSIS_FORMATS as readonly string[]).includes(format))
    throw new FerryError('F1000', ['format', format, ANALYSIS_FORMATS.join(', ')]);
  for (const key of Object.keys(params)) {
    if (!(PROGRAM_ANALYSIS_PARAMETERS as readonly string[]).includes(key))
      throw new FerryError('F1000', [key, String(params[key]), PROGRAM_ANALYSIS_PARAMETERS.join(', ')]);
  }
  const programs = list(params.program);
  if (programs.length === 0) throw new FerryError('F1004', ['program']);
  if (programs.length > 1 || !UID.test(programs[0]))
    throw new FerryError('F1000', ['program', String(params.program), 'one program UID']);
  const orgUnits = list(params.orgUnit);
  const badUnit = orgUnits.find((u) => !UID.test(u));
  if (badUnit) throw new FerryError('F1000', ['orgUnit', badUnit, 'org unit UIDs']);
  let programVersion: number | undefined;
  const versionText = list(params.programVersion)[0];
  if (versionText !== undefined) {
    programVersion = Number(versionText);
    if (!Number.isInteger(programVersion) || programVersion < 0)
      throw new FerryError('F1000', ['programVersion', versionText, 'a whole number']);
  }
  const startDate = day('startDate', params.startDate);
  const endDate = day('endDate', params.endDate);
  if (startDate && endDate && startDate > endDate)
    throw new FerryError('F1000', ['endDate', endDate, `a day on or after startDate ${startDate}`]);
  const locale = list(params.locale)[0];
  if (locale !== undefined && !/^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$/.test(locale))
    throw new FerryError('F1000', ['locale', locale, 'a locale such as fr, pt_BR, am']);
  return {
    format: format as AnalysisFormat,
    program: programs[0],
    ...(programVersion !== undefined ? { programVersion } : {}),
    statuses: statuses('status', params.status, EVENT_STATUSES),
    programStatuses: statuses('programStatus', params.programStatus, ENROLLMENT_STATUSES),
    orgUnits,
    ...(startDate ? { startDate } : {}),
    ...(endDate ? { endDate } : {}),
    ...(locale ? { locale } : {}),
    extras: parseAnalysisExtras(params),
  };
}

const FORMAT_NAMES: Readonly<Record<string, string>> = {
  tab: 'tab-separated',
  csv: 'CSV',
  stata: 'Stata 14+ (.dta format 118)',
  spss: 'SPSS (.sav)',
  parquet: 'Apache Parquet',
};

/**
 * Card and readme text, e.g. "Analysis file of program X (version 3); events COMPLETED; org units A
 * with descendants; from 2024-01-01 to 2024-06-30; labels in fr (Stata 14+ (.dta format 118))".
 * `program` is the program's name and version when known (the readme), else its UID (the card).
 */
export function describeProgramAnalysisExport(
  request: Omit<ProgramAnalysisRequest, 'format'> & { format: string },
  program?: { name: string; version: number | undefined },
): string {
  const version = program?.version ?? request.programVersion;
  const parts = [
    `program ${program ? `${program.name} (${request.program})` : request.program}${
      version !== undefined ? `, version ${version}` : ', the version in force'
    }`,
    request.statuses.length > 0 ? `events ${request.statuses.join(', ')}` : 'events in any status',
  ];
  if (request.programStatuses.length > 0) parts.push(`enrollments ${request.programStatuses.join(', ')}`);
  parts.push(
    request.orgUnits.length > 0
      ? `org unit${request.orgUnits.length > 1 ? 's' : ''} ${request.orgUnits.join(', ')} with descendants`
      : 'every org unit in the requester’s view scope',
  );
  if (request.startDate || request.endDate)
    parts.push(`dates ${request.startDate ?? 'any'} to ${request.endDate ?? 'any'}`);
  parts.push(
    request.locale ? `labels in ${request.locale} where translated` : 'labels in the default language',
  );
  const format = FORMAT_NAMES[request.format] ?? request.format;
  return `Analysis file of ${parts.join('; ')}${request.extras ? describeAnalysisExtras(request.extras) : ''} (${format})`;
}
