import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import { copyTo } from '../../../services/jobs/job-helpers.ts';
import { entityTypesCsv, DEDUPE_ENTITY_TYPES } from '../../../domain/dedupe/dedupe-entity-types.ts';
import {
  createPool,
  listPools,
  pruneExpiredEntries,
  requirePool,
} from '../../../services/dedupe/dedupe-pool-service.ts';
import { importPoolCsv, poolCsvChunks } from '../../../services/dedupe/dedupe-pool-csv.ts';

// `ferry dedupe ...`: de-duplication pools straight on the database, as the operator (every
// right). docs/formats/dedupe-pools.md.

const FLAGS = { ...DATABASE_OPTIONS, json: { type: 'boolean' } } as const;
const HELP = `${databaseUsage(26)}\n  --json                  print JSON instead of text`;

const poolsCommand: CliCommand = {
  path: ['dedupe', 'pools'],
  summary: 'List de-duplication pools with their entry counts',
  usage: `Usage: ferry dedupe pools [--json]\n${HELP}`,
  async run(args) {
    const { values } = parseArgs({ args, options: FLAGS, strict: true });
    return withCliContext(values, async (context) => {
      const pools = await listPools(context, undefined);
      if (values.json) console.log(JSON.stringify(pools, null, 2));
      else if (pools.length === 0) console.log('No de-duplication pools.');
      else
        for (const pool of pools)
          console.log(
            `${pool.id}  ${pool.name}  ${pool.entryCount} entries, kept ${pool.retentionDays} days`,
          );
      return 0;
    });
  },
};

const createCommand: CliCommand = {
  path: ['dedupe', 'create'],
  summary: 'Create a de-duplication pool',
  usage: `Usage: ferry dedupe create NAME [--description TEXT] [--retention-days N]\n${HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...FLAGS, description: { type: 'string' }, 'retention-days': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('Expected the name of the pool.');
    const days = values['retention-days'];
    if (days !== undefined && !/^\d+$/.test(days))
      throw new UsageError('--retention-days takes a whole number.');
    return withCliContext(values, async (context) => {
      const pool = await createPool(context, undefined, {
        name: positionals[0],
        ...(values.description !== undefined ? { description: values.description } : {}),
        ...(days !== undefined ? { retentionDays: Number(days) } : {}),
      });
      console.log(values.json ? JSON.stringify(pool, null, 2) : `Created pool ${pool.id} '${pool.name}'`);
      return 0;
    });
  },
};

const importCommand: CliCommand = {
  path: ['dedupe', 'import'],
  summary: 'Import a pool CSV file (value,entity_type_id) into a pool, all or nothing',
  usage: `Usage: ferry dedupe import POOL FILE [--json]
  POOL is the pool's UID or name. The header must be exactly value,entity_type_id; a bad row
  refuses the whole file naming its line (exit 1). Size cap: FERRY_DEDUPE_IMPORT_MAX_BYTES.
${HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({ args, options: FLAGS, allowPositionals: true, strict: true });
    if (positionals.length !== 2) throw new UsageError('Expected POOL and FILE.');
    const [pool, file] = positionals;
    return withCliContext(values, async (context) => {
      const result = await importPoolCsv(context, undefined, pool, { path: file, fileName: basename(file) });
      console.log(
        values.json
          ? JSON.stringify(result, null, 2)
          : `Imported ${result.rows} rows: ${result.added} added, ${result.alreadyInPool} already in the pool; the pool holds ${result.entryCount} entries`,
      );
      return 0;
    });
  },
};

const exportCommand: CliCommand = {
  path: ['dedupe', 'export'],
  summary: "Write a pool's entries to a CSV file (value,entity_type_id)",
  usage: `Usage: ferry dedupe export POOL -o FILE\n${databaseUsage(26)}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...DATABASE_OPTIONS, output: { type: 'string', short: 'o' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('Expected POOL.');
    const output = values.output;
    if (!output) throw new UsageError('Expected -o FILE.');
    return withCliContext(values, async (context) => {
      const row = await requirePool(context.storage, undefined, positionals[0], 'filter');
      await context.storage.transaction((tx) => pruneExpiredEntries(tx, row));
      // Written beside the target and renamed at the end: a failed export leaves no half file.
      const part = `${output}.part`;
      const out = createWriteStream(part);
      let entries = 0;
      try {
        await copyTo(
          poolCsvChunks(context, row.poolId, undefined, (n) => (entries = n)),
          out,
          new AbortController().signal,
          () => undefined,
        );
        await new Promise<void>((resolve, reject) => {
          out.once('error', reject);
          out.end(resolve);
        });
        await rename(part, output);
      } catch (error) {
        out.destroy();
        await rm(part, { force: true });
        throw error;
      }
      console.log(`Wrote ${entries} entries of pool '${row.name}' to ${output}`);
      return 0;
    });
  },
};

const entityTypesCommand: CliCommand = {
  path: ['dedupe', 'entity-types'],
  summary: 'Print the entity types and their ids (CSV, or --json)',
  usage: 'Usage: ferry dedupe entity-types [--json]',
  async run(args) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true });
    process.stdout.write(
      values.json ? `${JSON.stringify(DEDUPE_ENTITY_TYPES, null, 2)}\n` : entityTypesCsv(),
    );
    return 0;
  },
};

export const DEDUPE_COMMANDS: CliCommand[] = [
  poolsCommand,
  createCommand,
  importCommand,
  exportCommand,
  entityTypesCommand,
];
