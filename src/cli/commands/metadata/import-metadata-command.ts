import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { createProgressLine } from '../../progress-line.ts';
import { importMetadata } from '../../../services/metadata/metadata-import-service.ts';
import { parseImportParams } from '../../../http/routes/metadata/metadata-routes.ts';
import { isFerryError } from '../../../errors.ts';
import { allErrorReports, type ImportReport } from '../../../domain/metadata-import/import-report.ts';

export const importMetadataCommand: CliCommand = {
  path: ['import', 'metadata'],
  summary: 'Import a DHIS2 metadata file (JSON, XML or CSV; gzip or zip)',
  usage: `Usage: ferry import metadata FILE [options]

Imports metadata as POST /api/metadata does and prints DHIS2's import report as a table.
  --dry-run              validate only (importMode=VALIDATE); nothing is written
  --strategy S           CREATE_AND_UPDATE (default), CREATE, UPDATE, DELETE
  --atomic A             ALL (default: any error, nothing written) or NONE (valid objects written)
  --identifier I         UID (default), CODE or AUTO (UID, then code)
  --merge M              REPLACE (default) or MERGE (only the properties in the file)
  --format F             json, xml or csv (default: from the file name or its first character)
  --class-key K          CSV class, e.g. ORGANISATION_UNIT, DATA_ELEMENT, OPTION_SET
  --no-header            CSV without a header row (firstRowIsHeader=false)
  --report-mode M        ERRORS (default), FULL or DEBUG (with --json)
  --json                 print the full ImportReport as JSON instead of the table
${databaseUsage(25)}
Exit code: 0 when the status is OK or WARNING, 1 when it is ERROR, 2 for bad arguments.`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'dry-run': { type: 'boolean' },
        strategy: { type: 'string' },
        atomic: { type: 'string' },
        identifier: { type: 'string' },
        merge: { type: 'string' },
        format: { type: 'string' },
        'class-key': { type: 'string' },
        'no-header': { type: 'boolean' },
        'report-mode': { type: 'string' },
        json: { type: 'boolean' },
        ...DATABASE_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError('Give exactly one FILE to import.');
    let params;
    try {
      params = parseImportParams({
        dryRun: values['dry-run'] ? 'true' : undefined,
        importStrategy: values.strategy,
        atomicMode: values.atomic,
        identifier: values.identifier,
        mergeMode: values.merge,
        format: values.format?.toLowerCase(),
        classKey: values['class-key'],
        firstRowIsHeader: values['no-header'] ? 'false' : undefined,
        importReportMode: values['report-mode'],
      });
    } catch (error) {
      if (isFerryError(error)) throw new UsageError(error.message);
      throw error;
    }
    const path = resolve(positionals[0]);
    const progress = createProgressLine(process.stderr, 'objects');
    return withCliContext(values, async (context) => {
      let report: ImportReport;
      try {
        report = await importMetadata(context, { path, fileName: basename(path) }, params, undefined, {
          progress: progress.update,
        });
      } finally {
        progress.done();
      }
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else console.log(formatReport(report));
      return report.status === 'ERROR' ? 1 : 0;
    });
  },
};

/** The import report as a table: one row per type, then the first errors. */
export function formatReport(report: ImportReport): string {
  const rows = report.typeReports.map((t) => [
    t.klass.slice(t.klass.lastIndexOf('.') + 1),
    t.stats.created,
    t.stats.updated,
    t.stats.deleted,
    t.stats.ignored,
    t.stats.total,
  ]);
  rows.push([
    'Total',
    report.stats.created,
    report.stats.updated,
    report.stats.deleted,
    report.stats.ignored,
    report.stats.total,
  ]);
  const header = ['Type', 'Created', 'Updated', 'Deleted', 'Ignored', 'Total'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: ReadonlyArray<string | number>) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  const out = [`Status: ${report.status}`, '', line(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows) out.push(line(row));
  const errors = allErrorReports(report);
  if (errors.length > 0) {
    out.push('', `Errors (${errors.length}):`);
    for (const error of errors.slice(0, 50)) out.push(`  ${error.errorCode} ${error.message}`);
    if (errors.length > 50) out.push(`  ... and ${errors.length - 50} more (use --json for all)`);
  }
  return out.join('\n');
}
