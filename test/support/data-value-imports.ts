import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FerryContext } from '../../src/services/ferry-context.ts';
import {
  importDataValues,
  type DataValueImportPrincipal,
  type DataValueImportRun,
} from '../../src/services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../src/domain/data-values/import-summary.ts';
import { AGGREGATE_E2E_DIR } from './aggregate-metadata.ts';

/**
 * Data value imports through the service, for tests. `importAggregateE2eValues` and
 * `importJsonValues` store what a test of later steps needs, as the operator (no user), and
 * insist on status SUCCESS, naming the conflicts otherwise; `valueFiles` serves tests of the
 * import itself, which look at every summary.
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

const CONTENT_TYPES = {
  csv: 'application/csv',
  json: 'application/json',
  xml: 'application/xml',
  'adx.xml': 'application/adx+xml',
} as const;

export interface ValueFiles {
  /** Writes `content` to a new file (`<prefix>-<n>.<extension>`) and returns its path. */
  write(content: string | Uint8Array, extension: string): string;
  /**
   * Writes `content` to a new file and imports it as `values.<type>`, with the content type a
   * client sends for it; as the operator unless a `principal` is given.
   */
  importText(
    content: string,
    type: keyof typeof CONTENT_TYPES,
    params?: Record<string, string>,
    principal?: DataValueImportPrincipal,
  ): Promise<ImportSummary>;
}

/**
 * Files in `dir` for tests that import many small ones into one database, each under a name of
 * its own; `run` (a fixed clock, say) goes to every import.
 */
export function valueFiles(
  context: FerryContext,
  dir: string,
  prefix: string,
  run: DataValueImportRun = {},
): ValueFiles {
  let count = 0;
  const write = (content: string | Uint8Array, extension: string): string => {
    const path = join(dir, `${prefix}-${++count}.${extension}`);
    writeFileSync(path, content);
    return path;
  };
  return {
    write,
    importText: (content, type, params = {}, principal = undefined) =>
      importDataValues(
        context,
        { path: write(content, type), fileName: `values.${type}`, contentType: CONTENT_TYPES[type] },
        params,
        principal,
        run,
      ),
  };
}
