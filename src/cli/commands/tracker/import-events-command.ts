import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { createProgressLine } from '../../progress-line.ts';
import { importLegacyTracker } from '../../../services/tracker/legacy-tracker-import-service.ts';
import type {
  LegacyImportSummaries,
  LegacyImportSummary,
} from '../../../codecs/tracker-legacy/import-summaries-encoder.ts';

/** The summaries as a short table: counts, then every conflict with the object it belongs to. */
export function formatLegacySummaries(summaries: LegacyImportSummaries): string {
  const lines = [
    `Status: ${summaries.status}`,
    `  imported ${summaries.imported}, updated ${summaries.updated}, deleted ${summaries.deleted}, ignored ${summaries.ignored} of ${summaries.total}`,
  ];
  const walk = (summary: LegacyImportSummary) => {
    for (const c of summary.conflicts) lines.push(`  ${c.errorCode} ${summary.reference}: ${c.value}`);
    for (const child of [summary.enrollments, summary.events]) child?.importSummaries.forEach(walk);
  };
  summaries.importSummaries.forEach(walk);
  return lines.join('\n');
}

export const importEventsCommand: CliCommand = {
  path: ['import', 'events'],
  summary: 'Import events or tracked entity instances (DHIS2 2.40 JSON, XML, event CSV)',
  usage: `Usage: ferry import events FILE [options]

Imports a file of DHIS2's older tracker formats, as POST /api/events and
POST /api/trackedEntityInstances do, through the same import as POST /api/tracker, as the operator
(every right): {"events": [...]} or {"trackedEntityInstances": [...]} JSON (current field names
read too), <events> or <trackedEntityInstances> XML, or event CSV in 2.40's or the current columns.
gzip and zip are recognised by their bytes.
  --format F             json, xml or csv (default: from the file name, else its first character)
  --strategy S           CREATE_AND_UPDATE (default), CREATE, UPDATE or DELETE (2.40's
                         NEW_AND_UPDATES, NEW, UPDATES taken too)
  --atomic-mode M        OBJECT (default, as 2.40: each object on its own) or ALL
  --dry-run              validate only; nothing is written
  --json                 print the ImportSummaries as JSON instead of the table
${databaseUsage(25)}
Exit code: 0 when the status is SUCCESS or WARNING, 1 when it is ERROR or the file is refused,
2 for bad arguments.`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string' },
        strategy: { type: 'string' },
        'atomic-mode': { type: 'string' },
        'dry-run': { type: 'boolean' },
        json: { type: 'boolean' },
        ...DATABASE_OPTIONS,
      },
    });
    if (positionals.length !== 1) throw new UsageError('Give exactly one FILE to import.');
    const path = resolve(positionals[0]);
    if (!existsSync(path)) throw new UsageError(`No such file: ${positionals[0]}`);
    return withCliContext(
      values,
      async (context) => {
        // --json keeps stderr quiet too: its output is for programs.
        const progress = values.json ? undefined : createProgressLine(process.stderr, 'objects');
        let result;
        try {
          result = await importLegacyTracker(
            context,
            { path, fileName: basename(path), format: values.format },
            'any',
            {
              importStrategy: values.strategy,
              atomicMode: values['atomic-mode'],
              dryRun: values['dry-run'] ? 'true' : undefined,
            },
            undefined,
            { progress: (update) => progress?.update(update), onBytesRead: progress?.bytes },
          );
        } finally {
          progress?.done();
        }
        console.log(
          values.json ? JSON.stringify(result.summaries, null, 2) : formatLegacySummaries(result.summaries),
        );
        return result.summaries.status === 'ERROR' ? 1 : 0;
      },
      (error) => (error.status === 400 && error.code === 'F1000' ? 2 : 1),
    );
  },
};
