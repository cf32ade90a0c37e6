import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { withoutUnsafeNameCharacters } from '../../domain/system/file-name.ts';
import { getFileResources, openFileResourceContent } from '../file-resources/file-resource-service.ts';
import {
  cell,
  eventProgramCondition,
  jsonValueSql,
  PAGE,
  programElements,
  queryRows,
} from './analysis-event-tables.ts';
import type { ProgramShape } from './analysis-program-metadata.ts';
import { trackerEventCondition } from './analysis-tracker-tables.ts';
import type { ProgramAnalysisRequest } from './analysis-program-request.ts';

/**
 * Binary data of a program's analysis export (`binary=true`, issue 15; the event file's events, or
 * a tracker program's stage events): each FILE_RESOURCE and IMAGE value's file goes into the archive as `Binary/<event id>/<data element code or
 * uid>-<file name>`, a folder per record as Survey Solutions lays out its binary data. Events are
 * read by keyset in pages, their file resources looked up in bulk per page, and every file is
 * streamed from disk into its zip entry. A value whose file resource or bytes are gone is listed
 * for the readme instead of failing the export.
 */

export const BINARY_FOLDER = 'Binary';
const BINARY_VALUE_TYPES = new Set(['FILE_RESOURCE', 'IMAGE']);
/** Missing files the readme names one by one: the readme is built in memory, so it stays small. */
const MAX_LISTED = 1000;

export interface BinarySummary {
  files: number;
  bytes: number;
  /** `<event>/<data element>: <uid> (<why>)` per value whose file is missing, the first MAX_LISTED. */
  missing: string[];
  /** All values whose file is missing (the readme lists MAX_LISTED of them). */
  missingCount: number;
  /** The data elements whose files were looked for (code or uid). */
  elements: string[];
}

type AddEntry = (name: string, chunks: AsyncIterable<string | Uint8Array>) => Promise<void>;

/** Characters a zip entry's last segment must not carry (path separators, controls, Windows' reserved). */
function entryName(name: string): string {
  return withoutUnsafeNameCharacters(name)
    .replace(/[\\/:*?"<>|]/g, '_')
    .slice(0, 200);
}

/** Adds the program's FILE_RESOURCE and IMAGE files to the archive through `addEntry`. */
export async function addProgramBinaryFiles(
  context: FerryContext,
  shape: ProgramShape,
  request: ProgramAnalysisRequest,
  principal: Principal | undefined,
  addEntry: AddEntry,
  options: { signal?: AbortSignal; progress?: (stage: string, processed: number) => void },
): Promise<BinarySummary> {
  const summary: BinarySummary = { files: 0, bytes: 0, missing: [], missingCount: 0, elements: [] };
  const uids = programElements(shape.stages).map((e) => e.uid);
  if (uids.length === 0) return summary;
  const rows = await context.metadata.findBy('dataElements', 'uid', uids);
  const elements = rows
    .filter((r) => BINARY_VALUE_TYPES.has(String(r.object.valueType)))
    .map((r) => ({
      uid: r.object.id,
      label: typeof r.object.code === 'string' && r.object.code !== '' ? r.object.code : r.object.id,
    }));
  summary.elements = elements.map((e) => e.label);
  if (elements.length === 0) return summary;
  const db = context.storage;
  // The same events as the data files: the event file, or a tracker program's stage files.
  const where = shape.tracker
    ? await trackerEventCondition(context, shape, request, principal)
    : await eventProgramCondition(context, shape, request, principal);
  const values = elements.map((e) => jsonValueSql(db, 'e.data_values', e.uid));
  const sql =
    `SELECT e.event_id, e.uid, ${values.join(', ')} FROM event e WHERE ${where.sql} ` +
    `AND (${values.map((v) => `${v} IS NOT NULL`).join(' OR ')}) AND e.event_id > ? ORDER BY e.event_id LIMIT ${PAGE}`;
  let last = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    const page = await queryRows(db, sql, [...where.params, last]);
    if (page.length === 0) break;
    const resources = await getFileResources(
      context,
      page.flatMap((row) => elements.map((_, i) => cell(row[2 + i]) ?? '')).filter((v) => v !== ''),
    );
    for (const row of page) {
      const event = String(row[1]);
      for (let i = 0; i < elements.length; i++) {
        const value = cell(row[2 + i]);
        if (value === null || value === '') continue;
        const where = `${event}/${elements[i].label}: ${value}`;
        const resource = resources.get(value);
        if (!resource) {
          if (summary.missingCount++ < MAX_LISTED) summary.missing.push(`${where} (no such file resource)`);
          continue;
        }
        const content = await openFileResourceContent(context, resource);
        if (!content) {
          if (summary.missingCount++ < MAX_LISTED)
            summary.missing.push(`${where} (its file is gone from the server's disk)`);
          continue;
        }
        await addEntry(
          `${BINARY_FOLDER}/${entryName(event)}/${entryName(`${elements[i].label}-${resource.name}`)}`,
          content,
        );
        summary.files++;
        summary.bytes += resource.contentLength;
      }
    }
    options.progress?.(`Writing ${BINARY_FOLDER}/`, summary.files);
    last = Number(page[page.length - 1][0]);
    if (page.length < PAGE) break;
  }
  return summary;
}
