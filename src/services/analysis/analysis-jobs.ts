import type { FerryContext } from '../ferry-context-types.ts';
import type { JobParams } from '../../jobs/job-types.ts';
import { requireRunAuthority, requireViewerAuthority } from '../jobs/job-helpers.ts';
import {
  ANALYSIS_FORMATS,
  describeAnalysisExport,
  parseAnalysisExportRequest,
  writeAnalysisExport,
} from './analysis-export-service.ts';
import {
  describeProgramAnalysisExport,
  isProgramAnalysis,
  parseProgramAnalysisRequest,
} from './analysis-program-request.ts';
import { writeProgramAnalysisExport } from './analysis-program-export-service.ts';

/** The export queue's format, compression and password are not the export's own parameters. */
function analysisParams(params: JobParams): Record<string, unknown> {
  const { format: _format, compression: _compression, ...rest } = params;
  return rest;
}

/** The analysis export producer: a zip of data files (tab, Stata, SPSS or CSV) and a readme. */
export function registerAnalysisJobs(context: FerryContext): void {
  context.exports.registerExportProducer(
    'analysis',
    async (params, out, ctx) => {
      // The requester's rights and scope now, not when the export was queued.
      const principal = await requireRunAuthority(context, ctx.userUid, 'F_EXPORT_DATA');
      if (isProgramAnalysis(analysisParams(params))) {
        const request = parseProgramAnalysisRequest(analysisParams(params), ctx.format);
        const summary = await writeProgramAnalysisExport(context, request, principal, out, {
          signal: ctx.signal,
          ...(ctx.password !== undefined ? { password: ctx.password } : {}),
          progress: (stage, processed) => ctx.progress({ stage, processed }),
        });
        ctx.notify(
          'INFO',
          `Exported ${summary.events} events of program ${request.program} (version ${summary.programVersion ?? 'none'}) into ${summary.files.map((f) => `${f.name} (${f.rows} rows)`).join(', ')}`,
        );
        return summary;
      }
      const request = parseAnalysisExportRequest(analysisParams(params), ctx.format);
      const summary = await writeAnalysisExport(context, request, principal, out, {
        signal: ctx.signal,
        ...(ctx.password !== undefined ? { password: ctx.password } : {}),
        progress: (stage, processed) => ctx.progress({ stage, processed }),
      });
      ctx.notify(
        'INFO',
        `Exported ${summary.values} data values into ${summary.files.map((f) => `${f.name} (${f.rows} rows)`).join(', ')}`,
      );
      return summary;
    },
    {
      formats: ANALYSIS_FORMATS,
      jobType: 'ANALYSIS_EXPORT',
      writesArchive: true,
      extension: (format) => `${format}.zip`,
      contentType: () => 'application/zip',
      describe: (params, format) =>
        isProgramAnalysis(analysisParams(params))
          ? describeProgramAnalysisExport(parseProgramAnalysisRequest(analysisParams(params), format))
          : describeAnalysisExport(parseAnalysisExportRequest(analysisParams(params), format)),
      validate: (params, format, viewer) => {
        requireViewerAuthority(viewer, 'F_EXPORT_DATA');
        if (isProgramAnalysis(analysisParams(params)))
          parseProgramAnalysisRequest(analysisParams(params), format);
        else parseAnalysisExportRequest(analysisParams(params), format);
      },
    },
  );
}
