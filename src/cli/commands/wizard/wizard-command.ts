import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import {
  parseWizardMapping,
  WizardMappingError,
  type WizardMappingBody,
} from '../../../domain/wizard/wizard-mapping.ts';
import { FerryError } from '../../../errors.ts';
import {
  copyMapping,
  createMapping,
  deleteMapping,
  getMapping,
  listMappings,
  mappingVersions,
  suggestColumns,
  updateMapping,
} from '../../../services/wizard/wizard-mapping-service.ts';
import { issuesCsv, runWizardImport } from '../../../services/wizard/wizard-import-service.ts';
import type { WizardImportReport } from '../../../services/wizard/wizard-report.ts';
import { WIZARD_SOURCES } from '../../../services/wizard/sources/source-registry.ts';
import { SourceConfigError } from '../../../services/wizard/sources/wizard-source.ts';
import { WizardStore } from '../../../storage/wizard-store.ts';

// `ferry wizard ...`: the import wizard on the database, as the operator (every right):
// run a saved mapping (or a mapping file) on a file, manage saved mappings, look at a file's
// columns with suggestions. docs/wizard.md.

const FLAGS = { ...DATABASE_OPTIONS, json: { type: 'boolean' } } as const;
const HELP = `${databaseUsage(26)}\n  --json                  print JSON instead of text`;

function printReport(report: WizardImportReport): void {
  const c = report.counts;
  console.log(
    `${report.dryRun ? 'Preview (dry run, nothing written)' : 'Import'} with ${report.mapping.name}: ${report.status}`,
  );
  if (report.error) console.log(`  ${report.error}`);
  console.log(`  ${report.records} records read, ${report.values} values mapped`);
  console.log(
    `  ${c.new} new, ${c.updated} updated, ${c.unchanged} unchanged, ${c.deleted} deleted; ${c.heldBack} records held back, ${c.dropped} values dropped`,
  );
  for (const issue of report.issues.slice(0, 20)) {
    const where = [issue.sheet, issue.where].filter(Boolean).join('!');
    console.log(
      `  ${issue.kind} row ${issue.row}${where ? ` (${where})` : ''}: ${issue.code ? `${issue.code} ` : ''}${issue.message}`,
    );
  }
  const more = report.issues.length - 20 + report.issuesOmitted;
  if (more > 0) console.log(`  ... and ${more} more (--issues FILE writes them all)`);
  for (const u of report.unmatched.slice(0, 20)) {
    const hint = u.suggestions[0]
      ? `; did you mean ${u.suggestions[0].label} (${Math.round(u.suggestions[0].confidence * 100)}%)?`
      : '';
    console.log(
      `  unmatched ${u.kind} in ${u.column}: \`${u.value}\` (${u.count}x, first row ${u.rows[0]})${hint}`,
    );
  }
}

function readMappingFile(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`${path} is not a readable JSON mapping: ${(error as Error).message}`);
  }
}

const runCommand: CliCommand = {
  path: ['wizard', 'run'],
  summary: 'Import a file with a saved import mapping (or a mapping .json file)',
  usage: `Usage: ferry wizard run MAPPING [--file FILE] [--dry-run] [--sheet NAME] [--encoding E] [--issues FILE] [--json]
  MAPPING                 a saved mapping's name or UID, or a mapping .json file
  --file FILE             the source file (CSV, .xlsx, JSON)
  --dry-run               preview: run the importer without writing anything
  --sheet NAME            this run only: the sheet to read (Excel)
  --encoding E            this run only: the encoding (CSV; utf-8, utf-16le, windows-1252, ...)
  --issues FILE           write every error, conflict and unmatched value as CSV
${HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...FLAGS,
        file: { type: 'string' },
        'dry-run': { type: 'boolean' },
        sheet: { type: 'string' },
        encoding: { type: 'string' },
        issues: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1)
      throw new UsageError('Expected the mapping (a saved name or UID, or a .json file).');
    const ref = positionals[0];
    return withCliContext(values, async (context) => {
      let body: WizardMappingBody;
      let mapping: WizardImportReport['mapping'];
      if (ref.endsWith('.json') && existsSync(ref)) {
        try {
          body = parseWizardMapping(readMappingFile(ref));
        } catch (error) {
          if (error instanceof WizardMappingError) throw new FerryError('F1950', [error.message]);
          throw error;
        }
        mapping = { name: body.name };
      } else {
        const saved = await getMapping(context, undefined, ref);
        body = saved;
        mapping = { id: saved.id, name: saved.name, version: saved.version };
      }
      const sourceOptions: Record<string, unknown> = {};
      if (values.sheet !== undefined)
        sourceOptions.sheet = /^\d+$/.test(values.sheet) ? Number(values.sheet) : values.sheet;
      if (values.encoding !== undefined) sourceOptions.encoding = values.encoding;
      const file = values.file ? { path: resolve(values.file), fileName: basename(values.file) } : undefined;
      const report = await runWizardImport(
        context,
        body,
        mapping,
        { dryRun: values['dry-run'] === true, file, sourceOptions },
        undefined,
      );
      if (values.issues) writeFileSync(values.issues, issuesCsv(report));
      if (values.json) console.log(JSON.stringify(report, null, 2));
      else printReport(report);
      return report.status === 'ERROR' ? 1 : 0;
    });
  },
};

const mappingsCommand: CliCommand = {
  path: ['wizard', 'mappings'],
  summary: 'Saved import mappings: list, show, versions, import, export, copy, delete',
  usage: `Usage: ferry wizard mappings [list | show MAPPING [--version N] | versions MAPPING | import FILE.json | export MAPPING [--out FILE] | copy MAPPING [--name NAME] | delete MAPPING]
  import FILE.json        saves the mapping in the file; a new version when one of its id or name exists
${HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...FLAGS, version: { type: 'string' }, out: { type: 'string' }, name: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    const [action = 'list', target] = positionals;
    const needTarget = () => {
      if (!target) throw new UsageError(`ferry wizard mappings ${action} needs a mapping (or a file).`);
      return target;
    };
    return withCliContext(values, async (context) => {
      switch (action) {
        case 'list': {
          const list = await listMappings(context, undefined);
          if (values.json) console.log(JSON.stringify(list, null, 2));
          else if (list.length === 0) console.log('No import mappings.');
          else
            for (const m of list)
              console.log(`${m.id}  ${m.name}  v${m.version}  ${m.source.kind} → ${m.target.kind}`);
          return 0;
        }
        case 'show':
        case 'export': {
          const version = values.version === undefined ? undefined : Number(values.version);
          if (version !== undefined && !Number.isInteger(version))
            throw new UsageError('--version takes a whole number.');
          const text =
            JSON.stringify(await getMapping(context, undefined, needTarget(), version), null, 2) + '\n';
          if (values.out) {
            writeFileSync(values.out, text);
            console.log(`Wrote ${values.out}`);
          } else process.stdout.write(text);
          return 0;
        }
        case 'versions': {
          for (const v of await mappingVersions(context, undefined, needTarget()))
            console.log(`v${v.version}  ${v.saved}${v.savedBy ? `  by ${v.savedBy}` : ''}`);
          return 0;
        }
        case 'import': {
          const body = readMappingFile(needTarget()) as { id?: unknown; name?: unknown };
          const store = new WizardStore(context.storage);
          const existing =
            (typeof body.id === 'string' ? await store.byUid(body.id) : undefined) ??
            (typeof body.name === 'string' ? await store.byName(body.name) : undefined);
          const saved = existing
            ? await updateMapping(context, undefined, existing.uid, body)
            : await createMapping(context, undefined, body);
          console.log(
            `${existing ? 'Updated' : 'Created'} ${saved.name} (${saved.id}), version ${saved.version}`,
          );
          return 0;
        }
        case 'copy': {
          const copy = await copyMapping(context, undefined, needTarget(), values.name);
          console.log(`Copied to ${copy.name} (${copy.id})`);
          return 0;
        }
        case 'delete': {
          const gone = await deleteMapping(context, undefined, needTarget());
          console.log(`Deleted ${gone.name} (${gone.id})`);
          return 0;
        }
        default:
          throw new UsageError(
            `Unknown action ${action}: list, show, versions, import, export, copy or delete.`,
          );
      }
    });
  },
};

const columnsCommand: CliCommand = {
  path: ['wizard', 'columns'],
  summary: "A file's columns as the wizard reads them, with suggested targets",
  usage: `Usage: ferry wizard columns FILE [--kind csv|xlsx|json] [--sheet NAME] [--header-row N] [--record-path PATH] [--json]
${HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        ...FLAGS,
        kind: { type: 'string' },
        sheet: { type: 'string' },
        'header-row': { type: 'string' },
        'record-path': { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('Expected the file.');
    const path = resolve(positionals[0]);
    const kind = values.kind ?? (/\.xlsx$/i.test(path) ? 'xlsx' : /\.json$/i.test(path) ? 'json' : 'csv');
    const source = WIZARD_SOURCES[kind];
    if (!source) throw new UsageError(`--kind is csv, xlsx or json, not ${kind}.`);
    return withCliContext(values, async (context) => {
      let description;
      try {
        description = await source.describe(
          source.parseConfig({
            file: { path, fileName: basename(path) },
            ...(values.sheet !== undefined
              ? { sheet: /^\d+$/.test(values.sheet) ? Number(values.sheet) : values.sheet }
              : {}),
            ...(values['header-row'] !== undefined ? { headerRow: Number(values['header-row']) } : {}),
            ...(values['record-path'] !== undefined ? { recordPath: values['record-path'] } : {}),
          }),
        );
      } catch (error) {
        if (error instanceof SourceConfigError) throw new FerryError('F1951', [error.message]);
        throw error;
      }
      const suggestions = await suggestColumns(context, description.columns);
      if (values.json) {
        console.log(JSON.stringify({ ...description, suggestions }, null, 2));
        return 0;
      }
      console.log(
        `Read as ${Object.entries(description.detected)
          .map(([k, v]) => `${k} ${JSON.stringify(v)}`)
          .join(', ')}`,
      );
      for (const s of suggestions) {
        const best = [s.field[0], s.value[0]]
          .filter(Boolean)
          .map((m) => `${m!.label} (${m!.method}, ${Math.round(m!.confidence * 100)}%)`);
        console.log(`  ${s.column}${best.length > 0 ? ` → ${best.join(' or ')}` : ''}`);
      }
      return 0;
    });
  },
};

export const WIZARD_COMMANDS: CliCommand[] = [runCommand, mappingsCommand, columnsCommand];
