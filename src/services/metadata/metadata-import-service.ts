import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import { principalHasAuthority } from '../../domain/access/principal.ts';
import { FerryError } from '../../errors.ts';
import {
  DEFAULT_IMPORT_PARAMS,
  type MetadataImportParams,
} from '../../domain/metadata-import/import-params.ts';
import type { ImportReport, ImportStatus } from '../../domain/metadata-import/import-report.ts';
import { MetadataImportBundle, type ImportRunOptions } from './metadata-import-bundle.ts';
import { metadataInputFormat, readMetadataInput, type MetadataImportInput } from './metadata-input-reader.ts';
import {
  computeHierarchyPaths,
  preheatReferences,
  propagateInvalidReferences,
  resolveReferences,
  settleIdentifiers,
} from './metadata-reference-resolver.ts';
import { validateObjects, validateShapes } from './metadata-object-validator.ts';
import { changesUserAccess, validateUserAccess } from './metadata-user-access-validator.ts';
import { validateSharingAccess } from './metadata-sharing-validator.ts';
import { writeBundle } from './metadata-import-writer.ts';
import { buildImportReport } from './metadata-import-report-builder.ts';

export type { ImportProgress, ImportRunOptions } from './metadata-import-bundle.ts';
export type { MetadataImportInput } from './metadata-input-reader.ts';

/**
 * DHIS2's metadata import (`POST /api/metadata`): decode (JSON, XML or CSV, streamed) → preheat
 * references in bulk → validate with DHIS2's error codes → commit in import order in one
 * transaction. Written so that a job runner can call it as a handler: the principal, cancellation
 * and progress are parameters; the result is DHIS2's ImportReport.
 */
export async function importMetadata(
  context: FerryContext,
  input: MetadataImportInput,
  params: MetadataImportParams = DEFAULT_IMPORT_PARAMS,
  principal?: Principal,
  options: ImportRunOptions = {},
): Promise<ImportReport> {
  if (principal && !principalHasAuthority(principal, 'F_METADATA_IMPORT')) {
    throw new FerryError('F1102', ['F_METADATA_IMPORT']);
  }
  const { format, membershipProperty } = await metadataInputFormat(context, input, params);
  const effective: MetadataImportParams =
    membershipProperty !== undefined ? { ...params, importStrategy: 'UPDATE' } : params;
  const bundle = new MetadataImportBundle(context, effective, principal, options, membershipProperty);
  for await (const item of readMetadataInput(context, input, format, params)) {
    bundle.add(item);
    if (options.signal?.aborted) throw new FerryError('F1300', ['Import cancelled']);
  }
  return runImport(bundle);
}

/** The same pipeline over objects already in memory (tests, the demo seeder, other services). */
export async function importMetadataObjects(
  context: FerryContext,
  payload: Record<string, readonly Record<string, unknown>[]>,
  params: Partial<MetadataImportParams> = {},
  principal?: Principal,
): Promise<ImportReport> {
  const bundle = new MetadataImportBundle(context, { ...DEFAULT_IMPORT_PARAMS, ...params }, principal, {});
  for (const [collection, objects] of Object.entries(payload)) {
    if (!Array.isArray(objects)) continue;
    objects.forEach((object, index) =>
      bundle.add({
        collection,
        index,
        object: structuredClone(object) as Record<string, unknown>,
        line: 0,
      }),
    );
  }
  return runImport(bundle);
}

/** The WebMessage for an import report: 200 when OK, otherwise 409, as DHIS2 replies. */
export function importReportHttpStatus(report: ImportReport): number {
  return report.status === 'OK' ? 200 : 409;
}

/** The stages in order: preheat, resolve, check rights, validate, write (unless refused), report. */
async function runImport(bundle: MetadataImportBundle): Promise<ImportReport> {
  const params = bundle.params;
  const total = [...bundle.entries.values()].reduce((n, l) => n + l.length, 0);
  bundle.progress('Creating bundle', 0, total);
  await preheatReferences(bundle);
  bundle.progress('Validating bundle', 0, total);
  settleIdentifiers(bundle);
  if (!params.skipValidation) validateShapes(bundle);
  resolveReferences(bundle);
  // Rights are checked whatever skipValidation says.
  await validateUserAccess(bundle);
  validateSharingAccess(bundle);
  if (!params.skipValidation) await validateObjects(bundle);
  await computeHierarchyPaths(bundle);
  propagateInvalidReferences(bundle);

  // A collection Ferry does not know is skipped with a warning (DHIS2 skips it silently): it never
  // decides whether the rest of the file is written.
  const hasErrors = bundle.allEntries().some((e) => e.errors.length > 0);
  const status: ImportStatus = hasErrors
    ? params.atomicMode === 'ALL'
      ? 'ERROR'
      : 'WARNING'
    : bundle.unsupported.size > 0
      ? 'WARNING'
      : 'OK';
  const writeNothing = params.importMode === 'VALIDATE' || status === 'ERROR';
  if (params.importMode === 'COMMIT' && status !== 'ERROR') {
    bundle.progress('Committing', 0, total);
    await writeBundle(bundle);
    // A user's authorities, roles or groups may have changed: the next request resolves its
    // principal afresh instead of using one cached before the import.
    if (changesUserAccess(bundle)) bundle.context.auth.forgetAll();
  }
  bundle.progress('Done', total, total);
  return buildImportReport(bundle, status, writeNothing);
}
