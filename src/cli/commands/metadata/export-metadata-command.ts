import { parseArgs } from 'node:util';
import { createWriteStream } from 'node:fs';
import { resolve, basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import {
  buildExportRequest,
  streamMetadataExport,
  EXPORT_FORMATS,
  type ExportFormat,
} from '../../../services/metadata/metadata-export-service.ts';
import { dependencyExportChunks } from '../../../http/routes/metadata/metadata-routes.ts';
import { isFerryError, parseEnumParameter } from '../../../errors.ts';
import {
  compressStream,
  EXPORT_COMPRESSIONS,
  type ExportCompression,
} from '../../../services/jobs/export-compression.ts';

export const exportMetadataCommand: CliCommand = {
  path: ['export', 'metadata'],
  summary: 'Export metadata (everything, chosen types, or a dependency package) to a file',
  usage: `Usage: ferry export metadata -o FILE [options]

Writes what GET /api/metadata (or GET /api/{type}/{uid}/metadata) returns, streamed to FILE.
  -o, --output FILE          where to write (required)
  --types a,b                collections to export, e.g. dataElements,organisationUnits (default: all)
  --format F                 json (default), xml, or csv (csv: exactly one type with a CSV class)
  --compression C            none (default), gzip, or zip (one entry named metadata.<format>)
  --dependencies TYPE/UID    a dependency package, e.g. dataSets/qNtxTrp56wV (json or xml)
  --fields F                 DHIS2 field selection (default :owner)
  --skip-sharing             leave sharing out
  --escape-formulas          CSV for a spreadsheet: ' before text such as =1+1 or @SUM(A1) (not -5)
${databaseUsage(29)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      strict: true,
      options: {
        output: { type: 'string', short: 'o' },
        types: { type: 'string' },
        format: { type: 'string' },
        compression: { type: 'string' },
        dependencies: { type: 'string' },
        fields: { type: 'string' },
        'skip-sharing': { type: 'boolean' },
        'escape-formulas': { type: 'boolean' },
        ...DATABASE_OPTIONS,
      },
    });
    if (!values.output) throw new UsageError('-o FILE is required.');
    let format: ExportFormat;
    let compression: ExportCompression;
    try {
      format = parseEnumParameter('--format', values.format?.toLowerCase(), EXPORT_FORMATS, 'json');
      compression = parseEnumParameter(
        '--compression',
        values.compression?.toLowerCase(),
        EXPORT_COMPRESSIONS,
        'none',
      );
    } catch (error) {
      if (isFerryError(error)) throw new UsageError(error.message);
      throw error;
    }
    const output = resolve(values.output);
    return withCliContext(values, async (context) => {
      let chunks: AsyncIterable<string>;
      if (values.dependencies) {
        const [collection, uid] = values.dependencies.split('/');
        if (!collection || !uid)
          throw new UsageError('--dependencies takes TYPE/UID, e.g. dataSets/qNtxTrp56wV');
        if (format === 'csv') throw new UsageError('A dependency package is json or xml.');
        chunks = dependencyExportChunks(context, collection, uid, format, values['skip-sharing'] ?? false);
      } else {
        const query: Record<string, unknown> = {};
        for (const type of (values.types ?? '').split(',').filter(Boolean)) {
          if (!context.registry.byCollection(type)) throw new UsageError(`Unknown type '${type}'.`);
          query[type] = 'true';
        }
        if (values.fields) query.fields = values.fields;
        if (values['escape-formulas']) query.escapeFormulas = 'true';
        chunks = streamMetadataExport(
          context,
          buildExportRequest(context.registry, query, format, values['skip-sharing'] ?? false),
        );
      }
      await pipeline(
        compressStream(Readable.from(chunks), compression, `metadata.${format}`),
        createWriteStream(output),
      );
      console.log(`Wrote ${basename(output)}`);
      return 0;
    });
  },
};
