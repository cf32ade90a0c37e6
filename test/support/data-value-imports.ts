import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import { importDataValues } from '../../src/services/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import { AGGREGATE_E2E_DIR } from './aggregate-metadata.ts';

/**
 * Data values stored through the import service as the operator (no user), for tests of what comes
 * after an import; each insists on status SUCCESS, naming the conflicts otherwise.
 */

/** DHIS2's 03_dataValues_bulk.json: 231 values on Bo, for the aggregate e2e metadata. */
export async function importAggregateE2eValues(context: FerryContext): Promise<ImportSummary> {
  const summary = await importDataValues(
    context,
    {
      path: join(AGGREGATE_E2E_DIR, '03_dataValues_bulk.json'),
      fileName: '03_dataValues_bulk.json',
      contentType: 'application/json',
    },
    {},
    undefined,
  );
  assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
  return summary;
}

/** `dataValues` written as a DHIS2 JSON data value set at `path`, then imported. */
export async function importJsonValues(
  context: FerryContext,
  path: string,
  dataValues: ReadonlyArray<Record<string, string>>,
): Promise<ImportSummary> {
  writeFileSync(path, JSON.stringify({ dataValues }));
  const summary = await importDataValues(
    context,
    { path, fileName: basename(path), format: 'json' },
    {},
    undefined,
  );
  assert.equal(summary.status, 'SUCCESS', JSON.stringify(summary.conflicts));
  return summary;
}
