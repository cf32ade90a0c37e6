import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import {
  nestedFields,
  parseTrackedEntityExport,
  readTrackedEntities,
} from '../../../services/tracker/tracker-export-service.ts';
import { jsonListItems, writeExportFile } from './tracker-export-file.ts';

export const exportTrackedEntitiesCommand: CliCommand = {
  path: ['export', 'tracked-entities'],
  summary: 'Export tracked entities (with enrollments, events, relationships) as DHIS2 tracker JSON',
  usage: `Usage: ferry export tracked-entities -o FILE (--program UID | --tracked-entity-type UID) [options]

Writes every matching tracked entity, streamed, as GET /api/tracker/trackedEntities?paging=false
does (as the operator: no view scope applies). The file imports again with ferry import tracker.
  --program UID              tracked entities enrolled in this program
  --tracked-entity-type UID  tracked entities of this type
  --org-unit UID             tracked entities of this org unit ...
  --org-unit-mode M          ... SELECTED (default), CHILDREN or DESCENDANTS
  --updated-after D, --updated-before D
  --include-deleted          soft-deleted tracked entities too
  --fields F                 DHIS2's fields (default *: attributes, enrollments with their
                             events, relationships, program owners)
  -o, --output FILE          where to write (required; removed again if the export fails)
${databaseUsage(29)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      allowPositionals: false,
      strict: true,
      options: {
        program: { type: 'string' },
        'tracked-entity-type': { type: 'string' },
        'org-unit': { type: 'string' },
        'org-unit-mode': { type: 'string' },
        'updated-after': { type: 'string' },
        'updated-before': { type: 'string' },
        'include-deleted': { type: 'boolean' },
        fields: { type: 'string' },
        output: { type: 'string', short: 'o' },
        ...DATABASE_OPTIONS,
      },
    });
    if (!values.output) throw new UsageError('-o FILE is required.');
    if (!values.program && !values['tracked-entity-type'])
      throw new UsageError('Give --program or --tracked-entity-type.');
    const output = resolve(values.output);
    return withCliContext(values, async (context) => {
      const query = {
        program: values.program,
        trackedEntityType: values['tracked-entity-type'],
        orgUnits: values['org-unit'],
        orgUnitMode: values['org-unit-mode'],
        updatedAfter: values['updated-after'],
        updatedBefore: values['updated-before'],
        includeDeleted: values['include-deleted'] ? 'true' : undefined,
        fields: values.fields ?? '*',
        paging: 'false',
      };
      const request = await parseTrackedEntityExport(context, query, undefined);
      const count = await writeExportFile(output, async (write) => {
        let written = 0;
        await write('{"trackedEntities":[');
        for await (const batch of readTrackedEntities(
          context,
          request,
          nestedFields(query),
          values['include-deleted'] === true,
        )) {
          await write(jsonListItems(batch, written));
          written += batch.length;
        }
        await write(']}\n');
        return written;
      });
      console.log(`Wrote ${output}: ${count.toLocaleString('en-US')} tracked entities (JSON)`);
      return 0;
    });
  },
};
