import type { FerryContext } from '../ferry-context-types.ts';
import type { ExportField, ExportRowChunk } from '../../domain/data-values/exported-data-values.ts';
import { streamExportRows } from '../../storage/data-value-export-query.ts';
import {
  resolveSelection,
  type DataValueExportRequest,
  type DataValueExportScope,
} from '../data-values/data-value-export-service.ts';

/**
 * The selected values as rows of `fields`, every identifier a UID, read by the data value export's
 * own query under its view scope and data sharing rules (E2010-E2012 for what the user may not read,
 * values of unreadable attribute option combos left out), in primary-key order (org unit, period,
 * data element, option combo, attribute option combo). The checks run now; the rows stream when
 * iterated.
 */
export async function streamDataValueRows(
  context: FerryContext,
  request: DataValueExportRequest,
  scope: DataValueExportScope,
  fields: readonly ExportField[],
): Promise<AsyncIterable<ExportRowChunk>> {
  const { selection } = await resolveSelection(context, request, scope);
  return streamExportRows(context.storage, selection, {
    fields,
    dataElement: 'uid',
    orgUnit: 'uid',
    categoryOptionCombo: 'uid',
    attributeOptionCombo: 'uid',
  });
}
