import type { Readable } from 'node:stream';
import type { FerryContext } from '../ferry-context-types.ts';
import type { Principal } from '../../domain/access/principal.ts';
import type { JobParams, JobRecord } from '../../jobs/job-types.ts';
import { JobCancelledError } from '../../jobs/job-handlers.ts';
import { FerryError } from '../../errors.ts';
import { WizardStore } from '../../storage/wizard-store.ts';
import { inputFileName, principalOf, runOptions } from '../jobs/job-helpers.ts';
import { INPUT_LIMITS } from '../../codecs/input/input-limits.ts';
import { ImportCancelledError } from '../data-values/data-value-import-service.ts';
import { getMapping, requireMapping, requireWriterAuthority } from './wizard-mapping-service.ts';
import { runWizardImport } from './wizard-import-service.ts';
import type { WizardImportReport } from './wizard-report.ts';

/** The job type of a wizard import (or dry run) from a saved mapping. */
export const WIZARD_IMPORT_JOB = 'WIZARD_IMPORT';

export interface WizardRunRequest {
  mapping: string;
  /** An earlier version of the mapping; the current one when absent. */
  version?: number;
  dryRun: boolean;
  /** Source options for this run (a different sheet). */
  sourceOptions?: Record<string, unknown>;
  /** The file for a file source, streamed to the job's input file. */
  body?: Readable | AsyncIterable<Uint8Array>;
  fileName?: string | null;
  contentType?: string;
}

function mappingParam(params: JobParams): string {
  if (typeof params.mapping !== 'string' || params.mapping === '')
    throw new FerryError('F1004', ['params.mapping']);
  return params.mapping;
}

/**
 * Queues a run of a saved mapping. The caller must see the mapping and hold the authority to import
 * what it targets now; the job checks both again when it runs, as the user is then.
 */
export async function submitWizardRun(
  context: FerryContext,
  principal: Principal | undefined,
  request: WizardRunRequest,
): Promise<JobRecord> {
  const mapping = await getMapping(context, principal, request.mapping, request.version);
  requireWriterAuthority(principal, mapping);
  const job = await context.jobs.submit({
    type: WIZARD_IMPORT_JOB,
    params: {
      mapping: mapping.id,
      version: mapping.version,
      dryRun: request.dryRun,
      ...(request.sourceOptions ? { sourceOptions: request.sourceOptions } : {}),
      mappingName: mapping.name,
    },
    viewer: principal ?? null,
    body: request.body,
    contentType: request.contentType ?? 'application/octet-stream',
    originalName: request.fileName ?? null,
    maxBytes: INPUT_LIMITS.maxUploadBytes,
  });
  await new WizardStore(context.storage).insertRun({
    jobId: job.id,
    mappingUid: mapping.id,
    mappingVersion: mapping.version,
    dryRun: request.dryRun,
    userUid: principal?.uid ?? null,
    created: job.created,
  });
  return job;
}

export function registerWizardJobs(context: FerryContext): void {
  context.jobs.registerHandler(WIZARD_IMPORT_JOB, async (job, ctx): Promise<WizardImportReport> => {
    // The submitter as they are now: a mapping unshared or an authority taken away since the job
    // was queued stops it here; the importer then checks data sharing and scope value by value.
    const principal = await principalOf(context, job.userUid);
    const ref = mappingParam(job.params);
    await requireMapping(context.storage, principal, ref, 'see');
    const version = typeof job.params.version === 'number' ? job.params.version : undefined;
    const mapping = await getMapping(context, principal, ref, version);
    requireWriterAuthority(principal, mapping);
    const dryRun = job.params.dryRun === true;
    ctx.notify(
      'INFO',
      `${dryRun ? 'Previewing' : 'Importing'} with mapping ${mapping.name} (version ${mapping.version})`,
    );
    const file = job.inputFile
      ? { path: context.jobs.files.pathFor(job.inputFile.id), fileName: inputFileName(job) }
      : undefined;
    const sourceOptions = (job.params.sourceOptions ?? undefined) as Record<string, unknown> | undefined;
    const report = await runWizardImport(
      context,
      mapping,
      { id: mapping.id, name: mapping.name, version: mapping.version },
      { dryRun, file, sourceOptions },
      principal,
      { ...runOptions(ctx), jobId: job.id },
    ).catch((error: unknown) => {
      if (error instanceof ImportCancelledError) throw new JobCancelledError(job.id, error.summary);
      throw error;
    });
    ctx.notify(
      report.status === 'ERROR' ? 'ERROR' : 'INFO',
      `${report.records} records: ${report.counts.new} new, ${report.counts.updated} updated, ${report.counts.unchanged} unchanged, ${report.counts.heldBack} held back, ${report.counts.dropped} values dropped${report.error ? `; ${report.error}` : ''}`,
    );
    return report;
  });
}
