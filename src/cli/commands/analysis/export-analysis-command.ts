import { parseArgs } from 'node:util';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { once } from 'node:events';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { createProgressLine, formatBytes } from '../../progress-line.ts';
import {
  parseAnalysisExportRequest,
  writeAnalysisExport,
  type AnalysisExportRequest,
} from '../../../services/analysis/analysis-export-service.ts';
import { parseProgramAnalysisRequest } from '../../../services/analysis/analysis-program-request.ts';
import { writeProgramAnalysisExport } from '../../../services/analysis/analysis-program-export-service.ts';
import { exportPasswordProblem } from '../../../services/jobs/export-compression.ts';
import { rcloneRemotes } from '../../../services/jobs/destinations/rclone-destination.ts';
import { checkRemotePath } from '../../../services/jobs/destinations/rclone-remotes.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import { isFerryError } from '../../../errors.ts';

/** `--destination NAME[:PATH]`: the server's export remote and the folder on it. */
function parseDestination(value: string | undefined): { remote: string; path: string } | undefined {
  if (value === undefined) return undefined;
  const [remote, ...rest] = value.split(':');
  if (!remote) throw new UsageError('--destination NAME[:PATH]: the remote name is missing.');
  try {
    return { remote, path: checkRemotePath(rest.join(':'), '--destination PATH') };
  } catch (error) {
    if (isFerryError(error)) throw new UsageError(`${error.code}: ${error.message}`);
    throw error;
  }
}

/** Copies the written zip to the remote; ", delivered to NAME:PATH" for the summary line, or ''. */
async function deliver(
  context: FerryContext,
  output: string,
  destination: { remote: string; path: string } | undefined,
): Promise<string> {
  if (!destination) return '';
  // The operator has no user: the server's remotes (a user's own remotes are theirs alone).
  const remotes = rcloneRemotes(context);
  const remote = await remotes.find(null, destination.remote);
  const name = basename(output);
  const target = destination.path ? `${destination.path}/${name}` : name;
  return `, delivered to ${await remotes.deliver(remote, output, target)}`;
}

export const exportAnalysisCommand: CliCommand = {
  path: ['export', 'analysis'],
  summary: 'Export aggregate data or a program as analysis files (tab, Stata, SPSS, CSV or Parquet) in a zip',
  usage: `Usage: ferry export analysis --data-set DS --org-unit OU (--start DATE --end DATE | --period PE) --format F -o FILE.zip [options]
       ferry export analysis --program PR [--org-unit OU] [--start DATE] [--end DATE] [--status S] --format F -o FILE.zip [options]

Writes a zip with one data file per data set and export__readme.txt (docs/formats/analysis-exports.md).
  --data-set ID          data set UID; repeat or comma-separate for several
  --org-unit ID          org unit UID, with every org unit below it; repeatable
  --start YYYY-MM-DD     periods starting on or after this day ...
  --end YYYY-MM-DD       ... and ending on or before this one
  --period PE            ISO period(s) instead of a date range, e.g. 202401
  --format F             tab, stata (.dta 118), spss (.sav), csv or parquet
  --program ID           an event program (one file, a row per event) or a tracker program (tracked
                         entities, enrollments and a file per stage); dates are event dates (event
                         programs) or enrollment dates (tracker programs), inclusive
  --program-version N    fail unless the program is at this version
  --status S             event statuses, comma-separated (ACTIVE, COMPLETED, SCHEDULE, ...)
  --program-status S     enrollment statuses (ACTIVE, COMPLETED, CANCELLED)
  --locale L             labels in this language where the metadata has translations (e.g. fr)
  --wide                 a row per org unit, period and attribute option combo (the default)
  --long                 a row per data value
  --metadata             add Metadata/ with a DDI Codebook 2.5 (ddi.xml), the DHIS2 definition (JSON)
                         and the form (data set) or the stages (program) as PDF, once per translation
  --paradata             add paradata.tab, the audit trail of the exported values or events
  --binary               FILE_RESOURCE and IMAGE files under Binary/<event>/ (programs only)
  --password-file FILE   encrypt every entry (AES-256) with the password on FILE's first line
  --destination NAME[:PATH]
                         also copy the zip to the server's export remote NAME (rclone), into PATH
  -o, --output FILE      where to write (required; removed again if the export fails)
${databaseUsage(25)}

Exit status: 0 when written, 1 on an error, 2 on bad arguments.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        'data-set': { type: 'string', multiple: true },
        'org-unit': { type: 'string', multiple: true },
        start: { type: 'string' },
        end: { type: 'string' },
        period: { type: 'string', multiple: true },
        format: { type: 'string' },
        program: { type: 'string' },
        'program-version': { type: 'string' },
        status: { type: 'string', multiple: true },
        'program-status': { type: 'string', multiple: true },
        locale: { type: 'string' },
        wide: { type: 'boolean' },
        long: { type: 'boolean' },
        'password-file': { type: 'string' },
        metadata: { type: 'boolean' },
        paradata: { type: 'boolean' },
        binary: { type: 'boolean' },
        destination: { type: 'string' },
        output: { type: 'string', short: 'o' },
        ...DATABASE_OPTIONS,
      },
    });
    if (!values.output) throw new UsageError('-o FILE is required.');
    if (!values.format) throw new UsageError('--format is required: tab, stata, spss, csv or parquet.');
    if (values.binary && values.program === undefined)
      throw new UsageError('--binary: FILE_RESOURCE and IMAGE files are exported for programs only.');
    const destination = parseDestination(values.destination);
    if (values.wide && values.long) throw new UsageError('--wide and --long exclude each other.');
    let password: string | undefined;
    if (values['password-file'] !== undefined) {
      let text: string;
      try {
        text = readFileSync(values['password-file'], 'utf8');
      } catch (error) {
        throw new UsageError(`--password-file ${values['password-file']}: ${(error as Error).message}`);
      }
      // The first line, without its line end: a file written by `echo` works as typed.
      password = text.split(/\r?\n/)[0];
      const problem = exportPasswordProblem(password);
      if (problem) throw new UsageError(`--password-file: the password must be ${problem}.`);
    }
    const output = resolve(values.output);
    if (values.program !== undefined) {
      if (values['data-set'] || values.period || values.wide || values.long)
        throw new UsageError('--program excludes --data-set, --period, --wide and --long.');
      let programRequest;
      try {
        programRequest = parseProgramAnalysisRequest(
          {
            program: values.program,
            ...(values['program-version'] !== undefined ? { programVersion: values['program-version'] } : {}),
            ...(values.status ? { status: values.status } : {}),
            ...(values['program-status'] ? { programStatus: values['program-status'] } : {}),
            ...(values['org-unit'] ? { orgUnit: values['org-unit'] } : {}),
            ...(values.start !== undefined ? { startDate: values.start } : {}),
            ...(values.end !== undefined ? { endDate: values.end } : {}),
            ...(values.locale !== undefined ? { locale: values.locale } : {}),
            ...(values.metadata ? { metadata: 'true' } : {}),
            ...(values.paradata ? { paradata: 'true' } : {}),
            ...(values.binary ? { binary: 'true' } : {}),
          },
          values.format,
        );
      } catch (error) {
        if (isFerryError(error)) throw new UsageError(`${error.code}: ${error.message}`);
        throw error;
      }
      const request = programRequest;
      return withCliContext(values, async (context) => {
        const started = performance.now();
        const progress = createProgressLine(process.stderr, 'events');
        const file = createWriteStream(output);
        try {
          // The operator: no user, so no view scope or sharing limit.
          const summary = await writeProgramAnalysisExport(context, request, undefined, file, {
            ...(password !== undefined ? { password } : {}),
            progress: (stage, processed) => progress.update({ stage, processed }),
          });
          file.end();
          await once(file, 'close');
          progress.done();
          const delivered = await deliver(context, output, destination);
          const seconds = (performance.now() - started) / 1000;
          console.log(
            `Wrote ${output}: program ${request.program} version ${summary.programVersion ?? 'none'}, ` +
              `${summary.events.toLocaleString('en-US')} events in ` +
              `${summary.files.map((f) => `${f.name} (${f.rows} rows, ${f.variables} variables)`).join(', ')}, ` +
              `${formatBytes(file.bytesWritten)}${password !== undefined ? ', AES-256 encrypted' : ''}${delivered} in ${seconds.toFixed(1)} s`,
          );
          return 0;
        } catch (error) {
          progress.done();
          file.destroy();
          rmSync(output, { force: true });
          throw error;
        }
      });
    }
    let request: AnalysisExportRequest;
    try {
      request = parseAnalysisExportRequest(
        {
          dataSet: values['data-set'],
          orgUnit: values['org-unit'],
          ...(values.start !== undefined ? { startDate: values.start } : {}),
          ...(values.end !== undefined ? { endDate: values.end } : {}),
          period: values.period,
          layout: values.long ? 'long' : 'wide',
          ...(values.metadata ? { metadata: 'true' } : {}),
          ...(values.paradata ? { paradata: 'true' } : {}),
        },
        values.format,
      );
    } catch (error) {
      if (isFerryError(error)) throw new UsageError(`${error.code}: ${error.message}`);
      throw error;
    }
    return withCliContext(values, async (context) => {
      const started = performance.now();
      const progress = createProgressLine(process.stderr, 'values');
      const file = createWriteStream(output);
      try {
        // The operator: no user, so no view scope or sharing limit (as `ferry export data`).
        const summary = await writeAnalysisExport(context, request, undefined, file, {
          ...(password !== undefined ? { password } : {}),
          progress: (stage, processed) => progress.update({ stage, processed }),
        });
        file.end();
        await once(file, 'close');
        progress.done();
        const delivered = await deliver(context, output, destination);
        const seconds = (performance.now() - started) / 1000;
        console.log(
          `Wrote ${output}: ${summary.values.toLocaleString('en-US')} values in ` +
            `${summary.files.map((f) => `${f.name} (${f.rows} rows, ${f.variables} variables)`).join(', ')}, ` +
            `${formatBytes(file.bytesWritten)}${password !== undefined ? ', AES-256 encrypted' : ''}` +
            `${summary.paradata !== undefined ? `, ${summary.paradata} paradata lines` : ''}` +
            `${summary.metadata ? `, ${summary.metadata.length} metadata files` : ''}${delivered} in ${seconds.toFixed(1)} s`,
        );
        return 0;
      } catch (error) {
        progress.done();
        file.destroy();
        rmSync(output, { force: true });
        throw error;
      }
    });
  },
};
