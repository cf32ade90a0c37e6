import type { FerryContext } from '../ferry-context-types.ts';
import { encodeDelimited } from '../../codecs/tab/tab-encoder.ts';
import { streamDataValueAudits } from '../../storage/data-value-audit-query.ts';
import {
  resolveSelection,
  type DataValueExportRequest,
  type DataValueExportScope,
} from '../data-values/data-value-export-service.ts';

/**
 * Paradata of an aggregate analysis export (`paradata=true`), in the spirit of Survey Solutions'
 * `paradata.tab`: one line per change of an exported record (org unit, period, data element, option
 * combos), in the order the changes were made, saying what happened (CREATE, UPDATE, DELETE), who
 * made the change, when (UTC), the value before and after, and the import job that made it (its id,
 * as in `GET /api/jobs/{id}`). Read under the same view scope and data sharing as the data values.
 */

export const PARADATA_FILE = 'paradata.tab';

/** The columns of paradata.tab, with their meaning (for the readme). */
export const PARADATA_COLUMNS: readonly (readonly [name: string, meaning: string])[] = [
  ['audit_id', 'the change: a number increasing in the order changes were stored'],
  ['orgunit_id', 'organisation unit UID'],
  ['period', 'ISO period'],
  ['de_id', 'data element UID'],
  ['coc_id', 'category option combo UID'],
  ['aoc_id', 'attribute option combo UID'],
  ['event', 'CREATE, UPDATE or DELETE'],
  ['previous_value', 'the value before the change (empty for CREATE)'],
  ['new_value', 'the value after it (empty for DELETE)'],
  ['changed_by', 'user name of who made the change'],
  ['timestamp_utc', 'when (ISO 8601, UTC)'],
  ['import_job', 'id of the import job that made the change (empty for a single value saved)'],
];

export interface ParadataSummary {
  rows: number;
}

/**
 * paradata.tab's text for the values `request` selects, as chunks; `summary.rows` counts the lines
 * once the chunks have been read. The scope's checks run now (E2010-E2012).
 */
export async function aggregateParadata(
  context: FerryContext,
  request: DataValueExportRequest,
  scope: DataValueExportScope,
  signal?: AbortSignal,
): Promise<{ chunks: AsyncIterable<string>; summary: ParadataSummary }> {
  const { selection } = await resolveSelection(context, request, scope);
  const summary: ParadataSummary = { rows: 0 };
  async function* rows(): AsyncIterable<(string | null)[]> {
    for await (const batch of streamDataValueAudits(context.storage, selection)) {
      signal?.throwIfAborted();
      for (const row of batch) {
        summary.rows++;
        // The storage query's fields are paradata.tab's columns, in the same order.
        yield row;
      }
    }
  }
  return {
    chunks: encodeDelimited(
      'tab',
      PARADATA_COLUMNS.map(([name]) => name),
      rows(),
    ),
    summary,
  };
}
