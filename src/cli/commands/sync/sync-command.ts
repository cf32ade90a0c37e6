import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';
import type { FerryContext } from '../../../services/ferry-context.ts';
import {
  applyAcknowledgement,
  readAcknowledgementFile,
} from '../../../services/sync/sync-acknowledgements.ts';
import { listConflicts } from '../../../services/sync/sync-conflicts.ts';
import { importPackage } from '../../../services/sync/sync-package-importer.ts';
import { exportPackage } from '../../../services/sync/sync-package-writer.ts';
import { addSite, initSite, ownCard, syncStatus } from '../../../services/sync/sync-site-registry.ts';
import { pullFromParent, pushToParent } from '../../../services/sync/sync-transfer.ts';

// `ferry sync ...`: offline sync between sites (issue 18, docs/sync.md), straight on the database
// as the operator (every right).

const DB_HELP = databaseUsage(26);
const JSON_FLAG = { json: { type: 'boolean' } } as const;

function print(json: boolean | undefined, value: unknown, text: string): void {
  console.log(json ? JSON.stringify(value, null, 2) : text);
}

const initCommand: CliCommand = {
  path: ['sync', 'sites', 'init'],
  summary: 'Make this a sync site: its id and keys; prints its site card',
  usage: `Usage: ferry sync sites init --id SITE [--name NAME] [-o CARD_FILE]
  Generates the site's Ed25519 and X25519 keys and starts the change log. Give the card (public
  keys only) to the parent and children, which register it with 'ferry sync sites add'.
${DB_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...DATABASE_OPTIONS,
        id: { type: 'string' },
        name: { type: 'string' },
        output: { type: 'string', short: 'o' },
      },
      strict: true,
    });
    if (!values.id) throw new UsageError('Expected --id SITE.');
    return withCliContext(values, async (context) => {
      const { card, created } = await initSite(context, undefined, { siteId: values.id!, name: values.name });
      const text = `${JSON.stringify(card, null, 2)}\n`;
      if (values.output) writeFileSync(values.output, text);
      console.error(
        created
          ? `This site is now '${card.site}' (key ${card.fingerprint}).`
          : `This site is '${card.site}' already.`,
      );
      if (!values.output) process.stdout.write(text);
      return 0;
    });
  },
};

const cardCommand: CliCommand = {
  path: ['sync', 'sites', 'card'],
  summary: "Print this site's card (its id and public keys)",
  usage: `Usage: ferry sync sites card [-o CARD_FILE]\n${DB_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { ...DATABASE_OPTIONS, output: { type: 'string', short: 'o' } },
      strict: true,
    });
    return withCliContext(values, async (context) => {
      const text = `${JSON.stringify(await ownCard(context), null, 2)}\n`;
      if (values.output) writeFileSync(values.output, text);
      else process.stdout.write(text);
      return 0;
    });
  },
};

const addCommand: CliCommand = {
  path: ['sync', 'sites', 'add'],
  summary: 'Register the parent or a child site from its card',
  usage: `Usage: ferry sync sites add --role parent|child --card CARD_FILE [--url URL] [--encrypt]
  --url        the parent's Ferry address, for push and pull (https://...)
  --encrypt    encrypt packages for this site (X25519 + AES-256-GCM)
${DB_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...DATABASE_OPTIONS,
        role: { type: 'string' },
        card: { type: 'string' },
        url: { type: 'string' },
        encrypt: { type: 'boolean' },
      },
      strict: true,
    });
    if (!values.role || !values.card) throw new UsageError('Expected --role and --card.');
    const card = readFileSync(values.card, 'utf8');
    return withCliContext(values, async (context) => {
      const site = await addSite(context, undefined, {
        card,
        role: values.role!,
        url: values.url,
        encrypt: values.encrypt,
      });
      console.log(
        `Registered '${site.siteId}' as this site's ${site.role}${site.url ? ` at ${site.url}` : ''}`,
      );
      return 0;
    });
  },
};

const statusCommand: CliCommand = {
  path: ['sync', 'status'],
  summary: "Each site's last package and acknowledgement, pending changes, conflicts",
  usage: `Usage: ferry sync status [--json]\n${DB_HELP}`,
  async run(args) {
    const { values } = parseArgs({ args, options: { ...DATABASE_OPTIONS, ...JSON_FLAG }, strict: true });
    return withCliContext(values, async (context) => {
      const status = await syncStatus(context, undefined);
      if (values.json) return (print(true, status, ''), 0);
      if (!status.site) {
        console.log("This site is not set up for sync ('ferry sync sites init').");
        return 0;
      }
      console.log(
        `This site: ${status.site.site} (key ${status.site.fingerprint}), change ${status.changeSeq}`,
      );
      for (const s of status.sites)
        console.log(
          `${s.role.padEnd(6)} ${s.site}: sent ${s.lastPackageSent?.sequence ?? '-'}, acknowledged ${s.lastAcknowledged?.sequence ?? '-'}, ` +
            `imported ${s.lastPackageImported?.sequence ?? '-'}; ${s.pendingChanges} changes pending (${s.unsentChanges} unsent), ${s.conflicts} conflicts`,
        );
      return 0;
    });
  },
};

const exportCommand: CliCommand = {
  path: ['sync', 'export'],
  summary: 'Write the next sync package for a site',
  usage: `Usage: ferry sync export --to SITE -o FILE [--split-size BYTES] [--from-ack] [--encrypt]
  Data changes go to the parent, metadata changes to a child, since the previous package.
  --from-ack        start from the last package SITE acknowledged (after a lost package)
  --split-size N    cut into pieces of at most N bytes: FILE.part-1-of-3, ...
  --encrypt         encrypt for SITE (default: as registered)
${DB_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...DATABASE_OPTIONS,
        ...JSON_FLAG,
        to: { type: 'string' },
        output: { type: 'string', short: 'o' },
        'split-size': { type: 'string' },
        'from-ack': { type: 'boolean' },
        encrypt: { type: 'boolean' },
      },
      strict: true,
    });
    if (!values.to || !values.output) throw new UsageError('Expected --to SITE and -o FILE.');
    const split = values['split-size'];
    if (split !== undefined && !/^\d+$/.test(split))
      throw new UsageError('--split-size takes a number of bytes.');
    return withCliContext(values, async (context) => {
      const exported = await exportPackage(context, undefined, {
        to: values.to!,
        output: values.output!,
        fromAck: values['from-ack'],
        splitSize: split === undefined ? undefined : Number(split),
        encrypt: values.encrypt,
      });
      const m = exported.manifest;
      const counts = Object.entries(m.counts)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      print(
        values.json,
        { manifest: m, files: exported.files, bytes: exported.bytes },
        `Package ${m.sequence} for '${m.target}' (changes ${m.fromSeq + 1} to ${m.toSeq}${counts ? `: ${counts}` : ', nothing changed'}${m.encryption ? ', encrypted' : ''}): ${exported.files.join(', ')}`,
      );
      return 0;
    });
  },
};

const importCommand: CliCommand = {
  path: ['sync', 'import'],
  summary: 'Verify and import a sync package; writes the acknowledgement for the sender',
  usage: `Usage: ferry sync import FILE [--ack-out ACK_FILE] [--json]
  FILE may be any piece of a split package (the others must be beside it). The acknowledgement
  goes to ACK_FILE (default FILE.ack.json); the sender imports it with 'ferry sync ack'.
${DB_HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...DATABASE_OPTIONS, ...JSON_FLAG, 'ack-out': { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('Expected FILE.');
    const file = positionals[0];
    return withCliContext(values, async (context) => {
      const result = await importPackage(context, undefined, file);
      const ackFile = values['ack-out'] ?? `${file.replace(/\.part-\d+-of-\d+$/, '')}.ack.json`;
      writeFileSync(ackFile, `${JSON.stringify(result.acknowledgement, null, 2)}\n`);
      const counts = Object.entries(result.counts)
        .map(
          ([k, c]) =>
            `${k}: ${c.created} created, ${c.updated} updated, ${c.deleted} deleted, ${c.unchanged} unchanged`,
        )
        .join('; ');
      print(
        values.json,
        { ...result, acknowledgementFile: ackFile },
        result.status === 'ALREADY_IMPORTED'
          ? `Package ${result.sequence} from '${result.source}' was already imported; nothing changed. Acknowledgement: ${ackFile}`
          : `Imported package ${result.sequence} from '${result.source}' (${counts || 'nothing to change'}; ${result.conflicts} conflicts). Acknowledgement: ${ackFile}`,
      );
      return 0;
    });
  },
};

const ackCommand: CliCommand = {
  path: ['sync', 'ack'],
  summary: "Import a site's acknowledgement file: advances what it has surely received",
  usage: `Usage: ferry sync ack ACK_FILE\n${DB_HELP}`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { ...DATABASE_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1) throw new UsageError('Expected ACK_FILE.');
    return withCliContext(values, async (context) => {
      const file = await readAcknowledgementFile(positionals[0], basename(positionals[0]));
      const result = await applyAcknowledgement(context, undefined, file, basename(positionals[0]));
      console.log(
        result.advanced
          ? `'${result.site}' acknowledged package ${result.sequence}`
          : `'${result.site}' had acknowledged package ${result.sequence} already (last acknowledged: ${result.ackedPackage})`,
      );
      return 0;
    });
  },
};

const conflictsCommand: CliCommand = {
  path: ['sync', 'conflicts'],
  summary: 'List values changed at both ends and which version was kept',
  usage: `Usage: ferry sync conflicts [--site SITE] [--json]\n${DB_HELP}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { ...DATABASE_OPTIONS, ...JSON_FLAG, site: { type: 'string' } },
      strict: true,
    });
    return withCliContext(values, async (context) => {
      const conflicts = await listConflicts(context, undefined, { site: values.site });
      if (values.json) return (print(true, conflicts, ''), 0);
      if (conflicts.length === 0) console.log('No conflicts.');
      for (const c of conflicts)
        console.log(
          `${c.detected} ${c.site} package ${c.package} ${c.kind} ${c.key}: here ${JSON.stringify(c.local.value)} (${c.local.lastUpdated}), ` +
            `incoming ${JSON.stringify(c.incoming.value)} (${c.incoming.lastUpdated}); ${c.rule} kept ${c.kept}`,
        );
      return 0;
    });
  },
};

/** `--every 15m`: repeat until stopped (a schedule); without it, once. */
function intervalMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(s|m|h)$/.exec(text);
  if (!match || Number(match[1]) === 0)
    throw new UsageError('--every takes a duration such as 30s, 15m or 6h.');
  return Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
}

async function repeat(every: number | undefined, once: () => Promise<void>): Promise<number> {
  if (every === undefined) {
    await once();
    return 0;
  }
  for (;;) {
    try {
      await once();
    } catch (error) {
      // A schedule outlives a link that is down: report and try again at the next turn.
      console.error(
        error instanceof Error
          ? `${(error as { code?: string }).code ?? 'Error'}: ${error.message}`
          : String(error),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

const TRANSFER_HELP = `  Over the parent's API at the URL registered with 'ferry sync sites add --url'.
  FERRY_SYNC_CREDENTIALS   user:password or an API token (fry_...) of a user on the parent
  FERRY_SYNC_CA_FILE       PEM certificate(s) to trust for the parent's HTTPS (a private CA)
  --every 15m              repeat at this interval until stopped (s, m or h)
${DB_HELP}`;

/** `ferry sync push|pull`: one transfer with the parent, or one every `--every`. */
function transferCommand(
  verb: 'push' | 'pull',
  summary: string,
  transferOnce: (context: FerryContext, json: boolean | undefined) => Promise<void>,
): CliCommand {
  return {
    path: ['sync', verb],
    summary,
    usage: `Usage: ferry sync ${verb} [--every DURATION] [--json]\n${TRANSFER_HELP}`,
    async run(args) {
      const { values } = parseArgs({
        args,
        options: { ...DATABASE_OPTIONS, ...JSON_FLAG, every: { type: 'string' } },
        strict: true,
      });
      const every = intervalMs(values.every);
      return withCliContext(values, (context) => repeat(every, () => transferOnce(context, values.json)));
    },
  };
}

const pushCommand = transferCommand(
  'push',
  'Send the parent what it has not acknowledged (resumes a broken upload)',
  async (context, json) => {
    const result = await pushToParent(context, undefined);
    print(
      json,
      result,
      result.upToDate
        ? `Nothing to send to '${result.parent}'.`
        : `Sent ${result.sent.map((s) => `package ${s.sequence} (${s.bytes} bytes${s.resumedAt > 0 ? `, resumed at ${s.resumedAt}` : ''})`).join(', ')} to '${result.parent}'; acknowledged up to ${result.acknowledged}.`,
    );
  },
);

const pullCommand = transferCommand(
  'pull',
  'Fetch and import what the parent has for this site (metadata)',
  async (context, json) => {
    const result = await pullFromParent(context, undefined);
    print(
      json,
      result,
      result.imported.length === 0
        ? `Up to date with '${result.parent}'.`
        : `Imported ${result.imported.map((r) => `package ${r.sequence}`).join(', ')} from '${result.parent}'.`,
    );
  },
);

export const SYNC_COMMANDS: CliCommand[] = [
  initCommand,
  cardCommand,
  addCommand,
  statusCommand,
  exportCommand,
  importCommand,
  ackCommand,
  conflictsCommand,
  pushCommand,
  pullCommand,
];
