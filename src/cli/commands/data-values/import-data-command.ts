import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { createProgressLine } from '../../progress-line.ts';
import { importDataValues } from '../../../services/data-values/data-value-import-service.ts';
import type { ImportSummary } from '../../../domain/data-values/import-summary.ts';

const MAX_CONFLICTS_SHOWN = 10;

const USAGE = `Usage: ferry import data FILE [options]

Imports a data value file (DHIS2 JSON, CSV, XML, ADX or PDF; .gz and .zip too) straight into the
database, as POST /api/dataValueSets does, with no server running.

Options:
  --format FORMAT       json, csv, xml, adx or pdf (default: from the file name)
  --dry-run             validate and count, write nothing
  --strategy S          CREATE, UPDATE, CREATE_AND_UPDATE (default) or DELETE
  --id-scheme S         UID (default), CODE, NAME or ATTRIBUTE:<uid>
  --data-set UID        the data set the values belong to
  --atomic              all or nothing: any conflict writes nothing
  --skip-audit          write no audit rows
  --no-header           CSV without a header row (DHIS2's column order)
  --json                print the full ImportSummary as JSON
${databaseUsage(24)}

On a terminal, a progress bar of the file read (of a .gz or .zip, its compressed bytes) with rows
and rows/s. Then a summary table with rows/s and the first ${MAX_CONFLICTS_SHOWN} conflicts on stdout; stderr
stays quiet when it is not a terminal, and with --json.

Exit status: 0 on SUCCESS or WARNING, 1 on ERROR, 2 on bad arguments.`;

/** Rows the import went through and how long it took, for the rate under the summary. */
interface ImportPace {
  rows: number;
  seconds: number;
}

function printSummary(summary: ImportSummary, pace: ImportPace): void {
  const c = summary.importCount;
  const rows: Array<[string, string | number]> = [
    ['Status', summary.status],
    ['Imported', c.imported],
    ['Updated', c.updated],
    ['Ignored', c.ignored],
    ['Deleted', c.deleted],
    ['Conflicts', summary.conflicts.length],
  ];
  if (summary.dataSetComplete !== 'false') rows.push(['Data set complete', summary.dataSetComplete]);
  if (pace.rows > 0) {
    const rate = Math.round(pace.rows / Math.max(0.001, pace.seconds)).toLocaleString('en-US');
    rows.push([
      'Rows read',
      `${pace.rows.toLocaleString('en-US')} in ${pace.seconds.toFixed(1)} s (${rate} rows/s)`,
    ]);
  }
  for (const [label, value] of rows) console.log(`${label.padEnd(18)} ${value}`);
  console.log(summary.description);
  if (summary.conflicts.length > 0) {
    console.log(`\nFirst conflicts:`);
    for (const conflict of summary.conflicts.slice(0, MAX_CONFLICTS_SHOWN)) {
      const rows = conflict.indexes.slice(0, 5).join(', ');
      const more = conflict.indexes.length > 5 ? `, ... (${conflict.indexes.length} rows)` : '';
      console.log(`  ${conflict.errorCode} ${conflict.value}${rows ? ` [rows ${rows}${more}]` : ''}`);
    }
    if (summary.conflicts.length > MAX_CONFLICTS_SHOWN) {
      console.log(`  ... and ${summary.conflicts.length - MAX_CONFLICTS_SHOWN} more (use --json)`);
    }
  }
}

export const importDataCommand: CliCommand = {
  path: ['import', 'data'],
  summary: 'Import a data value file (JSON, CSV, XML, ADX, PDF)',
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        'dry-run': { type: 'boolean' },
        strategy: { type: 'string' },
        'id-scheme': { type: 'string' },
        'data-set': { type: 'string' },
        atomic: { type: 'boolean' },
        'skip-audit': { type: 'boolean' },
        'no-header': { type: 'boolean' },
        json: { type: 'boolean' },
        ...DATABASE_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError('Give exactly one FILE to import');
    const file = positionals[0];
    if (!existsSync(file)) throw new UsageError(`No such file: ${file}`);
    const params: Record<string, string> = {};
    if (values['dry-run']) params.dryRun = 'true';
    if (values.strategy) params.importStrategy = values.strategy;
    if (values['id-scheme']) params.idScheme = values['id-scheme'];
    if (values['data-set']) params.dataSet = values['data-set'];
    if (values.atomic) params.atomic = 'true';
    if (values['skip-audit']) params.skipAudit = 'true';
    if (values['no-header']) params.firstRowIsHeader = 'false';

    return withCliContext(
      values,
      async (context) => {
        await context.storage.migrate();
        // --json keeps stderr quiet too: its output is for programs.
        const progress = values.json ? undefined : createProgressLine(process.stderr, 'rows');
        const pace: ImportPace = { rows: 0, seconds: 0 };
        const started = performance.now();
        let summary: ImportSummary;
        try {
          summary = await importDataValues(
            context,
            { path: file, fileName: basename(file), format: values.format },
            params,
            undefined,
            {
              progress: (update) => {
                pace.rows = update.processed;
                progress?.update(update);
              },
              // The bar's share: the bytes read against the file's size (the import knows no row total).
              onBytesRead: progress?.bytes,
            },
          );
        } finally {
          progress?.done();
        }
        pace.seconds = (performance.now() - started) / 1000;
        if (values.json) console.log(JSON.stringify(summary, null, 2));
        else printSummary(summary, pace);
        return summary.status === 'ERROR' ? 1 : 0;
      },
      (error) => (error.status === 400 || error.status === 415 ? 2 : 1),
    );
  },
};
