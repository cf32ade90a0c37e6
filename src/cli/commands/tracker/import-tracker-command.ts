import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { importTracker } from '../../../services/tracker/tracker-import-service.ts';
import type { TrackerImportReport } from '../../../domain/tracker/tracker-import-report.ts';

/** The report as a short table: counts per type, then every error (code, type, uid, message). */
export function formatTrackerReport(report: TrackerImportReport): string {
  const lines = [`Status: ${report.status}`];
  for (const [type, typeReport] of Object.entries(report.bundleReport.typeReportMap)) {
    const s = typeReport!.stats;
    lines.push(
      `  ${type.padEnd(15)} created ${s.created}, updated ${s.updated}, deleted ${s.deleted}, ignored ${s.ignored} of ${s.total}`,
    );
  }
  for (const e of report.validationReport.errorReports)
    lines.push(`  ${e.errorCode} ${e.trackerType} ${e.uid}: ${e.message}`);
  return lines.join('\n');
}

export const importTrackerCommand: CliCommand = {
  path: ['import', 'tracker'],
  summary: 'Import tracked entities, enrollments, events and relationships (DHIS2 tracker JSON, event CSV)',
  usage: `Usage: ferry import tracker FILE [options]

Imports a DHIS2 tracker payload (nested or flat JSON, or event CSV; gzip or zip) as POST /api/tracker
does, as the operator (every right).
  --strategy S           CREATE_AND_UPDATE (default), CREATE, UPDATE or DELETE
  --atomic-mode M        ALL (default: any error and nothing is written) or OBJECT
  --validation-mode M    FULL (default), FAIL_FAST or SKIP (event dates not checked, as DHIS2's SKIP)
  --id-scheme S          how the file names metadata: UID (default), CODE, NAME or ATTRIBUTE:<uid>
  --org-unit-id-scheme S the same for org units only
  --dry-run              validate only; nothing is written
  --json                 print the full ImportReport as JSON instead of the table
${databaseUsage(25)}
Exit code: 0 when the status is OK, 1 when it is ERROR or the file is refused, 2 for bad arguments.`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        strategy: { type: 'string' },
        'atomic-mode': { type: 'string' },
        'validation-mode': { type: 'string' },
        'id-scheme': { type: 'string' },
        'org-unit-id-scheme': { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        ...DATABASE_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError('Give exactly one FILE to import.');
    const path = resolve(positionals[0]);
    return withCliContext(values, async (context) => {
      const report = await importTracker(
        context,
        { path, fileName: basename(path) },
        {
          async: 'false',
          importStrategy: values.strategy,
          atomicMode: values['atomic-mode'],
          validationMode: values['validation-mode'],
          idScheme: values['id-scheme'],
          orgUnitIdScheme: values['org-unit-id-scheme'],
          dryRun: values['dry-run'] ? 'true' : undefined,
          reportMode: 'FULL',
        },
        undefined,
      );
      console.log(values.json ? JSON.stringify(report, null, 2) : formatTrackerReport(report));
      return report.status === 'ERROR' ? 1 : 0;
    });
  },
};
