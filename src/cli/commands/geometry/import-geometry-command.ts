import { parseArgs } from 'node:util';
import { basename, resolve } from 'node:path';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext, type DatabaseArgs } from '../../cli-database.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import {
  importGeoJson,
  importGml,
  ORG_UNIT_PROPERTIES,
  type OrgUnitProperty,
} from '../../../services/geometry/geometry-import-service.ts';
import type { ImportReport } from '../../../domain/metadata-import/import-report.ts';
import { formatReport } from '../metadata/import-metadata-command.ts';

const COMMON_OPTIONS = {
  'dry-run': { type: 'boolean' },
  json: { type: 'boolean' },
  ...DATABASE_OPTIONS,
} as const;

const COMMON_USAGE = `  --dry-run              report what would change; nothing is written
  --json                 print the full ImportReport as JSON instead of the table
${databaseUsage(25)}
Exit code: 0 when the status is OK or WARNING, 1 when it is ERROR or the file is refused, 2 for bad arguments.`;

async function runImport(
  values: DatabaseArgs & { json?: boolean },
  file: string,
  work: (context: FerryContext, input: { path: string; fileName: string }) => Promise<ImportReport>,
): Promise<number> {
  const path = resolve(file);
  return withCliContext(values, async (context) => {
    const report = await work(context, { path, fileName: basename(path) });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
    return report.status === 'ERROR' ? 1 : 0;
  });
}

export const importGmlCommand: CliCommand = {
  path: ['import', 'gml'],
  summary: 'Set org unit geometry from a GML 2 or 3 file (gzip or zip)',
  usage: `Usage: ferry import gml FILE [options]

Sets the geometry of existing org units from the file's features, as POST /api/metadata/gml does:
each feature is matched by a uid, code or name element (any letter case; uid before code before
name). Org units are never created; unmatched features are listed.
${COMMON_USAGE}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: COMMON_OPTIONS,
    });
    if (positionals.length !== 1) throw new UsageError('Give exactly one FILE to import.');
    return runImport(values, positionals[0], (context, input) =>
      importGml(context, input, { dryRun: values['dry-run'] === true }),
    );
  },
};

export const importGeoJsonCommand: CliCommand = {
  path: ['import', 'geojson'],
  summary: 'Set org unit geometry from a GeoJSON FeatureCollection (gzip or zip)',
  usage: `Usage: ferry import geojson FILE [options]

Sets the geometry of existing org units, as POST /api/organisationUnits/geometry does.
  --id-property P        take the identifier from feature property P (geoJsonProperty)
                         instead of the feature's id (geoJsonId=true, the default)
  --match id|code|name   what the identifier is matched against (orgUnitProperty; default id)
${COMMON_USAGE}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { ...COMMON_OPTIONS, 'id-property': { type: 'string' }, match: { type: 'string' } },
    });
    if (positionals.length !== 1) throw new UsageError('Give exactly one FILE to import.');
    const match = (values.match ?? 'id').toLowerCase();
    if (!(ORG_UNIT_PROPERTIES as readonly string[]).includes(match)) {
      throw new UsageError(`--match must be one of ${ORG_UNIT_PROPERTIES.join(', ')}`);
    }
    const idProperty = values['id-property'];
    return runImport(values, positionals[0], (context, input) =>
      importGeoJson(context, input, {
        dryRun: values['dry-run'] === true,
        geoJsonId: idProperty === undefined,
        geoJsonProperty: idProperty,
        orgUnitProperty: match as OrgUnitProperty,
      }),
    );
  },
};
