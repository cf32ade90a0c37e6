import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { EVENT_CSV_COLUMNS, parseEventExport } from '../../../services/tracker/tracker-export-service.ts';
import { readEventText } from '../../../services/tracker/tracker-event-text.ts';
import { writeExportFile } from './tracker-export-file.ts';

export const exportEventsCommand: CliCommand = {
  path: ['export', 'events'],
  summary: 'Export events as DHIS2 tracker JSON or CSV',
  usage: `Usage: ferry export events -o FILE [options]

Writes every matching event, streamed newest first, as GET /api/tracker/events?paging=false does
(as the operator: no view scope applies).
  --program UID          events of this program
  --program-stage UID    events of this stage
  --org-unit UID         events of this org unit ...
  --org-unit-mode M      ... SELECTED (default), CHILDREN or DESCENDANTS
  --occurred-after D, --occurred-before D, --updated-after D
  --include-deleted      soft-deleted events too
  --format F             json (default) or csv
  -o, --output FILE      where to write (required; removed again if the export fails)
${databaseUsage(25)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        program: { type: 'string' },
        'program-stage': { type: 'string' },
        'org-unit': { type: 'string' },
        'org-unit-mode': { type: 'string' },
        'occurred-after': { type: 'string' },
        'occurred-before': { type: 'string' },
        'updated-after': { type: 'string' },
        'include-deleted': { type: 'boolean' },
        format: { type: 'string' },
        output: { type: 'string', short: 'o' },
        ...DATABASE_OPTIONS,
      },
    });
    if (!values.output) throw new UsageError('-o FILE is required.');
    const format = (values.format ?? 'json').toLowerCase();
    if (format !== 'json' && format !== 'csv') throw new UsageError('--format must be json or csv.');
    const output = resolve(values.output);
    return withCliContext(values, async (context) => {
      const request = await parseEventExport(
        context,
        {
          program: values.program,
          programStage: values['program-stage'],
          orgUnit: values['org-unit'],
          orgUnitMode: values['org-unit-mode'],
          occurredAfter: values['occurred-after'],
          occurredBefore: values['occurred-before'],
          updatedAfter: values['updated-after'],
          includeDeleted: values['include-deleted'] ? 'true' : undefined,
          paging: 'false',
        },
        undefined,
      );
      const count = await writeExportFile(output, async (write) => {
        let written = 0;
        await write(format === 'csv' ? `${EVENT_CSV_COLUMNS.join(',')}\n` : '{"events":[');
        for await (const piece of readEventText(context, request, format)) {
          await write(piece.bytes);
          written += piece.events;
        }
        if (format === 'json') await write(']}\n');
        return written;
      });
      console.log(`Wrote ${output}: ${count.toLocaleString('en-US')} events (${format.toUpperCase()})`);
      return 0;
    });
  },
};
