import { addAnalysisMetadata, metadataFileOf, type AnalysisMetadataFile } from './analysis-metadata.ts';
import { PARADATA_FILE } from './analysis-paradata.ts';
import { PROGRAM_PARADATA_COLUMNS, programParadata } from './analysis-program-paradata.ts';
import { addProgramBinaryFiles, BINARY_FOLDER } from './analysis-binary.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { ZipWriter } from '@zip.js/zip.js';
import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { sharingSubjectOf } from '../../domain/access/principal.ts';
import type { AnalysisVariable } from '../../domain/analysis/analysis-variables.ts';
import { writeText } from '../jobs/job-helpers.ts';
import { AnalysisSpool } from './analysis-table.ts';
import { analysisFile } from './analysis-file-writers.ts';
import { loadProgramShape, type ProgramShape } from './analysis-program-metadata.ts';
import { describeProgramAnalysisExport, type ProgramAnalysisRequest } from './analysis-program-request.ts';
import { eventTable, programElements, spoolEventProgram } from './analysis-event-tables.ts';
import { spoolTrackerProgram, trackerTables } from './analysis-tracker-tables.ts';

/**
 * Analysis exports of programs (issue 15): an event program as one file (a row per event), a
 * tracker program as linked files (tracked entities, enrollments, a file per stage), each in the
 * requested format, in a zip with `export__readme.txt`. Rows are spooled encrypted while widths
 * and ranges are counted (analysis-table.ts), then encoded straight into the zip entry.
 */

export interface ProgramAnalysisOptions {
  signal?: AbortSignal;
  /** Encrypts every entry of the archive (AES-256). */
  password?: string;
  progress?: (stage: string, processed: number) => void;
  now?: Date;
}

export interface ProgramAnalysisSummary {
  program: string;
  programVersion: number | undefined;
  files: { name: string; rows: number; variables: number }[];
  /** Events exported (every file's events). */
  values: number;
  events: number;
  trackedEntities: number;
  enrollments: number;
}

interface PendingFile {
  stem: string;
  label: string;
  what: string;
  cellVariables: AnalysisVariable[];
  spool: AnalysisSpool;
}

/** Writes the program's analysis export as a zip to `out` (not ended). */
export async function writeProgramAnalysisExport(
  context: FerryContext,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
  out: Writable,
  options: ProgramAnalysisOptions = {},
): Promise<ProgramAnalysisSummary> {
  const now = options.now ?? new Date();
  const limited = principal !== undefined && !principal.authorities.has('ALL');
  const shape = await loadProgramShape(context, request.program, {
    ...(request.programVersion !== undefined ? { version: request.programVersion } : {}),
    ...(request.locale ? { locale: request.locale } : {}),
    ...(limited ? { sharing: sharingSubjectOf(principal) } : {}),
  });
  const dir = await mkdtemp(join(tmpdir(), 'ferry-analysis-program-'));
  const summary: ProgramAnalysisSummary = {
    program: request.program,
    programVersion: shape.version,
    files: [],
    values: 0,
    events: 0,
    trackedEntities: 0,
    enrollments: 0,
  };
  const pending: PendingFile[] = [];
  const spoolFor = (name: string, variables: AnalysisVariable[]) =>
    new AnalysisSpool(join(dir, `${pending.length}-${name}.spool`), variables);
  try {
    if (!shape.tracker) {
      const table = eventTable(
        [{ name: 'event_id', label: 'Event ID', kind: 'string' }],
        programElements(shape.stages),
      );
      const spool = spoolFor('events', table.cellVariables);
      pending.push({
        stem: shape.stem,
        label: shape.name,
        what: 'events, a row each',
        cellVariables: table.cellVariables,
        spool,
      });
      try {
        summary.events = await spoolEventProgram(context, shape, table, request, principal, spool, options);
      } finally {
        await spool.close();
      }
    } else {
      const tables = trackerTables(shape);
      const spools = {
        trackedEntities: spoolFor('te', tables.trackedEntities.cellVariables),
        enrollments: spoolFor('en', tables.enrollments.cellVariables),
        stages: new Map<string, AnalysisSpool>(),
      };
      pending.push({
        stem: shape.stem,
        label: `${shape.name}: ${shape.trackedEntityType?.name ?? 'tracked entities'}`,
        what: 'tracked entities enrolled in the program, a row each, with their attributes',
        cellVariables: tables.trackedEntities.cellVariables,
        spool: spools.trackedEntities,
      });
      pending.push({
        stem: 'enrollments',
        label: `${shape.name}: enrollments`,
        what: 'enrollments, a row each, linked to tracked entities by tracked_entity_id',
        cellVariables: tables.enrollments.cellVariables,
        spool: spools.enrollments,
      });
      for (const { stage, table } of tables.stages) {
        const spool = spoolFor(stage.uid, table.cellVariables);
        spools.stages.set(stage.uid, spool);
        pending.push({
          stem: stage.stem,
          label: `${shape.name}: ${stage.name}`,
          what: `events of stage ${stage.name} (${stage.uid}${stage.repeatable ? ', repeatable' : ''}), a row each, linked by enrollment_id and tracked_entity_id; occurrence counts the stage's events in an enrollment`,
          cellVariables: table.cellVariables,
          spool,
        });
      }
      try {
        const counts = await spoolTrackerProgram(context, shape, tables, request, principal, spools, options);
        Object.assign(summary, counts);
      } finally {
        for (const file of pending) await file.spool.close();
      }
    }
    summary.values = summary.events;
    await writeArchive(context, shape, request, principal, pending, summary, out, options, now);
    return summary;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeArchive(
  context: FerryContext,
  shape: ProgramShape,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
  pending: PendingFile[],
  summary: ProgramAnalysisSummary,
  out: Writable,
  options: ProgramAnalysisOptions,
  now: Date,
): Promise<void> {
  const zip = new ZipWriter(new WritableStream<Uint8Array>({ write: (chunk) => writeText(out, chunk) }), {
    useWebWorkers: false,
    level: 6,
    ...(options.password !== undefined
      ? { password: options.password, encryptionStrength: 3, zipCrypto: false }
      : {}),
  });
  const addEntry = async (name: string, chunks: AsyncIterable<string | Uint8Array>) => {
    const encoder = new TextEncoder();
    const bytes = Readable.from(
      (async function* () {
        for await (const chunk of chunks) {
          options.signal?.throwIfAborted();
          yield typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
        }
      })(),
    );
    await zip.add(name, Readable.toWeb(bytes) as unknown as ReadableStream<Uint8Array>);
  };
  const taken = new Set<string>();
  const readmeFiles: string[] = [];
  const metadataFiles: AnalysisMetadataFile[] = [];
  for (const entry of pending) {
    const file = analysisFile(request.format, {
      stem: entry.stem,
      label: entry.label,
      created: now,
      cellVariables: entry.cellVariables,
      levelNames: shape.levelNames,
      spool: entry.spool,
    });
    let name = `${file.stem}.${file.extension}`;
    for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${file.stem}_${n}.${file.extension}`;
    taken.add(name.toLowerCase());
    options.progress?.(`Writing ${name}`, entry.spool.rowCount);
    await addEntry(name, file.bytes());
    summary.files.push({ name, rows: entry.spool.rowCount, variables: file.variables.length });
    if (request.extras?.metadata)
      metadataFiles.push(metadataFileOf(request.format, file, name, entry.spool.rowCount, entry.what));
    readmeFiles.push(
      `${name}: ${entry.spool.rowCount} rows, ${file.variables.length} variables: ${entry.what}`,
      ...file.variables.map((v) => `  ${v.name}\t${v.type}\t${v.label}`),
      '',
    );
  }
  // FILE_RESOURCE and IMAGE values' files (analysis-binary.ts), when asked for.
  if (request.extras?.binary) {
    options.progress?.(`Writing ${BINARY_FOLDER}/`, 0);
    const binary = await addProgramBinaryFiles(context, shape, request, principal, addEntry, options);
    readmeFiles.push(
      `${BINARY_FOLDER}/: ${binary.files} files (${binary.bytes} bytes) of FILE_RESOURCE and IMAGE values, as ${BINARY_FOLDER}/<event_id>/<data element code or id>-<file name>` +
        (binary.elements.length > 0
          ? `; data elements: ${binary.elements.join(', ')}`
          : '; the program has no FILE_RESOURCE or IMAGE data elements'),
      ...(binary.missingCount > 0
        ? [
            `  Missing files (${binary.missingCount}), event/data element: file resource:`,
            ...binary.missing.map((m) => `  ${m}`),
            ...(binary.missingCount > binary.missing.length
              ? [`  ... and ${binary.missingCount - binary.missing.length} more`]
              : []),
          ]
        : []),
      '',
    );
  }
  // Paradata and metadata (analysis-program-paradata.ts, analysis-metadata.ts), when asked for.
  if (request.extras?.paradata) {
    options.progress?.(`Writing ${PARADATA_FILE}`, 0);
    const paradata = await programParadata(context, shape, request, principal, options.signal);
    await addEntry(PARADATA_FILE, paradata.chunks);
    readmeFiles.push(
      `${PARADATA_FILE}: ${paradata.summary.rows} changed fields of the exported events${shape.tracker ? ' and enrollments' : ''} (their audit trail), oldest first`,
      ...PROGRAM_PARADATA_COLUMNS.map(([column, meaning]) => `  ${column}\t${meaning}`),
      '',
    );
  }
  if (request.extras?.metadata) {
    options.progress?.('Writing the metadata', 0);
    const names = await addAnalysisMetadata(
      context,
      {
        collection: 'programs',
        object: shape.program,
        stem: shape.stem,
        files: metadataFiles,
        produced: now,
        dataKind: shape.tracker
          ? 'event/transaction data (tracked entities, enrollments, events)'
          : 'event/transaction data',
        abstract: describeProgramAnalysisExport(request, { name: shape.name, version: shape.version }),
      },
      addEntry,
    );
    readmeFiles.push(
      'Metadata:',
      ...names.map((n) => `  ${n}`),
      '  ddi.xml: DDI Codebook 2.5 of the data files (variables, labels, categories, descriptions);',
      `  ${shape.stem}.json: the program's definition as DHIS2 metadata JSON (GET /api/programs/${request.program}/metadata);`,
      "  Forms/: the program's stages and data elements as a PDF, in the stored labels (default) and in each translation.",
      '',
    );
  }
  const counts = shape.tracker
    ? `Tracked entities: ${summary.trackedEntities}, enrollments: ${summary.enrollments}, events: ${summary.events}`
    : `Events: ${summary.events}`;
  const readme = [
    `Generated by Ferry ${context.version} on ${now.toISOString()}`,
    `Requested by: ${principal ? `${principal.username} (${principal.uid})` : 'the operator, on the command line'}`,
    `Asked for: ${describeProgramAnalysisExport(request, { name: shape.name, version: shape.version })}`,
    `Program: ${shape.name} (${request.program}), ${shape.tracker ? 'tracker program (with registration)' : 'event program'}, version ${shape.version ?? 'none'} in force at export time`,
    ...(shape.hiddenStages.length > 0
      ? [`Stages left out (no data read access): ${shape.hiddenStages.join(', ')}`]
      : []),
    `${counts}, within the requester's data view scope and the program's data sharing`,
    '',
    'Missing values: no value is empty in tab and CSV files, "." in Stata and system-missing in SPSS. A value',
    'that is not valid for its column (text in a number column, a code outside the option set) is kept as',
    'text in tab and CSV files and written as the declared missing value "not a valid value": .a in Stata,',
    'the user-missing value -999999999 in SPSS. Option sets, statuses and yes/no values are value labels;',
    'dates are Stata %td/%tc and SPSS DATE/DATETIME values.',
    '',
    'Files:',
    ...readmeFiles,
  ].join('\n');
  await addEntry(
    'export__readme.txt',
    (async function* () {
      yield readme;
    })(),
  );
  await zip.close();
}
