import { parseArgs } from 'node:util';
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { createProgressLine, formatBytes } from '../../progress-line.ts';
import {
  exportDataValues,
  parseDataValueExportRequest,
  type DataValueExportRequest,
  type RawQuery,
} from '../../../services/data-values/data-value-export-service.ts';
import { isFerryError } from '../../../errors.ts';

export const exportDataCommand: CliCommand = {
  path: ['export', 'data'],
  summary: 'Export aggregate data values to a file (JSON, XML, CSV or ADX)',
  usage: `Usage: ferry export data --data-set DS --org-unit OU [--children] (--start DATE --end DATE | --period PE) -o FILE [options]

Writes what GET /api/dataValueSets returns, streamed from the database to FILE.
  --data-set ID          data set UID or code; repeat or comma-separate for several
  --data-element ID      data element(s) instead of, or beside, data sets
  --org-unit ID          org unit UID or code; repeatable
  --children             include every org unit below the given ones
  --start YYYY-MM-DD     periods starting on or after this day ...
  --end YYYY-MM-DD       ... and ending on or before this one
  --period PE            ISO period(s) instead of a date range, e.g. 202401
  --last-updated-duration D   only values changed in the last D (10d, 12h, 30m, 45s)
  --include-deleted      include soft-deleted values
  --format F             csv (default), json, xml or adx
  --compression C        none (default), gzip or zip (one entry)
  --id-scheme S          UID (default; CODE for ADX), CODE, NAME or ATTRIBUTE:<uid>
  --escape-formulas      CSV for a spreadsheet: ' before text such as =1+1 or @SUM(A1) (not -5);
                         leave it off for a file to import elsewhere (kept exact)
  -o, --output FILE      where to write (required; removed again if the export fails)
${databaseUsage(25)}

On a terminal, a running count of the values written with values/s; at the end one line with the
count, size and file (stderr stays quiet when it is not a terminal).

Exit status: 0 when written, 1 on an error, 2 on bad arguments.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        'data-set': { type: 'string', multiple: true },
        'data-element': { type: 'string', multiple: true },
        'org-unit': { type: 'string', multiple: true },
        children: { type: 'boolean' },
        start: { type: 'string' },
        end: { type: 'string' },
        period: { type: 'string', multiple: true },
        'last-updated-duration': { type: 'string' },
        'include-deleted': { type: 'boolean' },
        format: { type: 'string' },
        compression: { type: 'string' },
        'id-scheme': { type: 'string' },
        'escape-formulas': { type: 'boolean' },
        output: { type: 'string', short: 'o' },
        ...DATABASE_OPTIONS,
      },
    });
    if (!values.output) throw new UsageError('-o FILE is required.');
    const query: RawQuery = {
      dataSet: values['data-set'],
      dataElement: values['data-element'],
      orgUnit: values['org-unit'],
      children: values.children ? 'true' : undefined,
      startDate: values.start,
      endDate: values.end,
      period: values.period,
      lastUpdatedDuration: values['last-updated-duration'],
      includeDeleted: values['include-deleted'] ? 'true' : undefined,
      format: values.format ?? 'csv',
      compression: values.compression,
      idScheme: values['id-scheme'],
      escapeFormulas: values['escape-formulas'] ? 'true' : undefined,
    };
    let request: DataValueExportRequest;
    try {
      request = parseDataValueExportRequest(query);
    } catch (error) {
      if (isFerryError(error)) throw new UsageError(`${error.code}: ${error.message}`);
      throw error;
    }
    const output = resolve(values.output);
    return withCliContext(values, async (context) => {
      const started = performance.now();
      const progress = createProgressLine(process.stderr, 'values');
      let written = 0;
      // Opened once the export has started; a gzip or zip body may already be read before that.
      let file: WriteStream | undefined = undefined;
      const result = await exportDataValues(
        context,
        request,
        {},
        {
          onProgress(values) {
            written = values;
            progress.update({ stage: 'Exporting', processed: written });
            progress.bytes(file?.bytesWritten ?? 0);
          },
        },
      );
      // Opened only once the export has started: a refused request leaves an existing FILE alone.
      file = createWriteStream(output);
      try {
        await pipeline(result.body, file);
      } catch (error) {
        rmSync(output, { force: true });
        throw error;
      } finally {
        progress.done();
      }
      const seconds = (performance.now() - started) / 1000;
      const rate = Math.round(written / Math.max(0.001, seconds)).toLocaleString('en-US');
      const kind =
        request.compression === 'none' ? request.format : `${request.format}, ${request.compression}`;
      console.log(
        `Wrote ${output}: ${written.toLocaleString('en-US')} values, ` +
          `${formatBytes(file.bytesWritten)} (${kind}) in ${seconds.toFixed(1)} s (${rate} values/s)`,
      );
      return 0;
    });
  },
};
