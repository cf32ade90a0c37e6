import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { registerRawBodyRoutes } from '../../raw-body-plugin.ts';
import { uploadFileName, requestInputName } from '../../async-import.ts';
import { spoolToFile } from '../../../services/jobs/upload-spool.ts';
import { jobConfigurationReply } from '../../../services/jobs/job-service.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { requirePrincipal } from '../../auth-plugin.ts';
import { webMessage } from '../../web-message.ts';
import { FerryError, parseBooleanParameter } from '../../../errors.ts';
import { INPUT_LIMITS } from '../../../codecs/input/input-limits.ts';
import {
  copyMapping,
  createMapping,
  deleteMapping,
  getMapping,
  listMappings,
  mappingVersions,
  requireMapping,
  suggestColumns,
  updateMapping,
} from '../../../services/wizard/wizard-mapping-service.ts';
import { submitWizardRun, WIZARD_IMPORT_JOB } from '../../../services/wizard/wizard-jobs.ts';
import { issuesCsv } from '../../../services/wizard/wizard-import-service.ts';
import type { WizardImportReport } from '../../../services/wizard/wizard-report.ts';
import { WIZARD_SOURCES } from '../../../services/wizard/sources/source-registry.ts';
import { SourceConfigError } from '../../../services/wizard/sources/wizard-source.ts';
import { InputError } from '../../../codecs/input/input-error.ts';
import { WizardStore } from '../../../storage/wizard-store.ts';

type MappingRequest = FastifyRequest<{ Params: { id: string }; Querystring: Record<string, unknown> }>;

function single(query: Record<string, unknown>, name: string): string | undefined {
  const raw = query[name];
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  return value === undefined || value === '' ? undefined : String(value);
}

/** Source options given as query parameters of a run or a describe: `sheet`, `encoding`, ... */
function sourceOptions(query: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of ['sheet', 'encoding', 'delimiter', 'layout', 'recordPath']) {
    const value = single(query, name);
    if (value !== undefined) out[name] = name === 'sheet' && /^\d+$/.test(value) ? Number(value) : value;
  }
  for (const name of ['headerRow', 'firstDataRow']) {
    const value = single(query, name);
    if (value === undefined) continue;
    if (!/^\d+$/.test(value)) throw new FerryError('F1000', [name, value, 'a row number']);
    out[name] = Number(value);
  }
  const cells = single(query, 'cells');
  if (cells !== undefined) out.cells = cells.split(',').map((c) => c.trim());
  return out;
}

/**
 * The import wizard (issue 17; docs/wizard.md): saved mappings (CRUD, versions, copy; a mapping's
 * JSON is its export and POSTing it back imports it), column suggestions, a file's description,
 * and runs as WIZARD_IMPORT jobs with their reports and issue lists. Rights are checked in the
 * services: a mapping's sharing, the authority to import what it targets, and, when a run's job
 * acts, the runner's data rights value by value.
 */
export async function registerWizardRoutes(app: FastifyInstance, context: FerryContext): Promise<void> {
  app.get('/api/wizard/mappings', async (request) => ({
    mappings: await listMappings(context, requirePrincipal(request)),
  }));
  app.post('/api/wizard/mappings', async (request, reply) => {
    const mapping = await createMapping(context, requirePrincipal(request), request.body);
    return reply
      .status(201)
      .header('location', `/api/wizard/mappings/${mapping.id}`)
      .send(webMessage(201, 'OK', `Import mapping '${mapping.name}' created`, { response: mapping }));
  });
  app.get('/api/wizard/mappings/:id', async (request: MappingRequest) => {
    const version = single(request.query, 'version');
    if (version !== undefined && !/^\d+$/.test(version))
      throw new FerryError('F1000', ['version', version, 'a version number']);
    return getMapping(
      context,
      requirePrincipal(request),
      request.params.id,
      version === undefined ? undefined : Number(version),
    );
  });
  app.put('/api/wizard/mappings/:id', async (request: MappingRequest) => {
    const mapping = await updateMapping(context, requirePrincipal(request), request.params.id, request.body);
    return webMessage(200, 'OK', `Import mapping '${mapping.name}' saved as version ${mapping.version}`, {
      response: mapping,
    });
  });
  app.delete('/api/wizard/mappings/:id', async (request: MappingRequest) => {
    const mapping = await deleteMapping(context, requirePrincipal(request), request.params.id);
    return webMessage(200, 'OK', `Import mapping '${mapping.name}' deleted`);
  });
  app.get('/api/wizard/mappings/:id/versions', async (request: MappingRequest) => ({
    versions: await mappingVersions(context, requirePrincipal(request), request.params.id),
  }));
  app.post('/api/wizard/mappings/:id/copy', async (request: MappingRequest, reply) => {
    const name = (request.body as { name?: unknown } | undefined)?.name;
    const copy = await copyMapping(
      context,
      requirePrincipal(request),
      request.params.id,
      typeof name === 'string' ? name : undefined,
    );
    return reply
      .status(201)
      .send(webMessage(201, 'OK', `Import mapping copied to '${copy.name}'`, { response: copy }));
  });
  app.post('/api/wizard/suggestions', async (request) => {
    requirePrincipal(request);
    const columns = (request.body as { columns?: unknown } | undefined)?.columns;
    if (!Array.isArray(columns) || columns.length > 5_000 || !columns.every((c) => typeof c === 'string'))
      throw new FerryError('F1000', [
        'columns',
        JSON.stringify(columns)?.slice(0, 100) ?? '',
        'a list of column names',
      ]);
    return { suggestions: await suggestColumns(context, columns as string[]) };
  });
  app.get('/api/wizard/mappings/:id/runs', async (request: MappingRequest) => {
    const principal = requirePrincipal(request);
    const row = await requireMapping(context.storage, principal, request.params.id, 'see');
    const runs = [];
    for (const run of await new WizardStore(context.storage).runs(row.uid)) {
      // Runs of jobs the caller may not see (another user's, without F_VIEW_JOBS) are left out.
      const job = await context.jobs.get(principal, run.jobId).catch(() => undefined);
      if (!job) continue;
      const report = job.summary as WizardImportReport | null;
      runs.push({
        ...run,
        status: job.status,
        finished: job.finished,
        counts: report?.counts ?? null,
        records: report?.records ?? null,
        error: job.error ?? report?.error ?? null,
      });
    }
    return { runs };
  });
  app.get('/api/wizard/runs/:id/issues.csv', async (request: MappingRequest, reply) => {
    const job = await context.jobs.get(requirePrincipal(request), request.params.id);
    if (job.type !== WIZARD_IMPORT_JOB || !job.summary)
      throw new FerryError('F1200', ['Wizard run report', request.params.id]);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="wizard-${job.id}-issues.csv"`)
      .send(issuesCsv(job.summary as WizardImportReport));
  });

  await registerRawBodyRoutes(app, async (scope) => {
    // A run: the body is the source file (none for sources that need none); always a job.
    scope.post('/api/wizard/mappings/:id/run', async (request: MappingRequest, reply) => {
      const principal = requirePrincipal(request);
      const options = sourceOptions(request.query);
      const job = await submitWizardRun(context, principal, {
        mapping: request.params.id,
        dryRun: parseBooleanParameter('dryRun', single(request.query, 'dryRun')),
        ...(Object.keys(options).length > 0 ? { sourceOptions: options } : {}),
        body: request.body as Readable,
        fileName: uploadFileName(request.headers),
        contentType: request.headers['content-type'] ?? 'application/octet-stream',
      });
      return reply.send(jobConfigurationReply(job));
    });
    // A file's columns, a sample and what was detected: the wizard's first step.
    scope.post('/api/wizard/describe', async (request: MappingRequest) => {
      requirePrincipal(request);
      const kind = single(request.query, 'kind') ?? 'csv';
      const source = WIZARD_SOURCES[kind];
      if (!source) throw new FerryError('F1000', ['kind', kind, Object.keys(WIZARD_SOURCES).join(', ')]);
      const upload = await spoolToFile(
        request.body as Readable,
        join(context.config.dataDir, 'uploads'),
        INPUT_LIMITS.maxUploadBytes,
      );
      try {
        const config = source.parseConfig({
          ...sourceOptions(request.query),
          file: { path: upload.path, fileName: requestInputName(request) },
        });
        const description = await source.describe(config);
        return { ...description, suggestions: await suggestColumns(context, description.columns) };
      } catch (error) {
        if (error instanceof SourceConfigError || error instanceof InputError)
          throw new FerryError('F1951', [error.message]);
        throw error;
      } finally {
        await upload.remove();
      }
    });
  });
}
