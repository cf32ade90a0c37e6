import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { parseArgsWithOneId } from '../../cli-command.ts';
import type { ExportCard } from '../../../services/jobs/export-queue-service.ts';
import { withCliContext } from '../../cli-database.ts';
import { DATABASE_FLAGS, DATABASE_HELP } from './jobs-command.ts';

function cardLine(card: ExportCard): string {
  const file = card.file
    ? `${card.file.name} ${card.file.sizeText}${card.file.expired ? ' (expired)' : ` until ${card.file.expires}`}`
    : '-';
  const description = card.passwordProtected
    ? `${card.description} [password-protected, ${card.encryption}]`
    : card.description;
  return [`#${card.jobNumber}`.padEnd(6), card.id, card.status.padEnd(11), description, file].join('  ');
}

const ADMIN = { uid: '', authorities: new Set(['ALL']) };

const listCommand: CliCommand = {
  path: ['exports', 'list'],
  summary: 'List export cards, newest first',
  usage: `Usage: ferry exports list\n${DATABASE_HELP}`,
  async run(args) {
    const { values } = parseArgs({ args, options: DATABASE_FLAGS, strict: true });
    return withCliContext(values, async (context) => {
      const cards = await context.exports.list(ADMIN);
      if (values.json) console.log(JSON.stringify(cards, null, 2));
      else for (const card of cards) console.log(cardLine(card));
      return 0;
    });
  },
};

const getCommand: CliCommand = {
  path: ['exports', 'get'],
  summary: "Show an export's card, or save its file with --output",
  usage: `Usage: ferry exports get <id> [--output FILE]\n${DATABASE_HELP}`,
  async run(args) {
    const { values, id } = parseArgsWithOneId(
      args,
      { ...DATABASE_FLAGS, output: { type: 'string', short: 'o' } },
      'Expected one export id.',
    );
    return withCliContext(values, async (context) => {
      if (values.output) {
        const { file } = await context.exports.file(ADMIN, id);
        await pipeline(await file.open(), createWriteStream(values.output));
        console.log(`Saved ${file.size} bytes to ${values.output} (sha256 ${file.sha256})`);
        return 0;
      }
      const card = await context.exports.card(ADMIN, id);
      console.log(values.json ? JSON.stringify(card, null, 2) : cardLine(card));
      return 0;
    });
  },
};

const regenerateCommand: CliCommand = {
  path: ['exports', 'regenerate'],
  summary: 'Queue an export again with the same parameters; its file replaces the old one',
  usage: `Usage: ferry exports regenerate <id>\n${DATABASE_HELP}`,
  async run(args) {
    const { values, id } = parseArgsWithOneId(args, DATABASE_FLAGS, 'Expected one export id.');
    return withCliContext(values, async (context) => {
      const old = await context.exports.card(ADMIN, id);
      if (old.passwordProtected) {
        // The password would live only in this short-lived process, which runs no workers.
        console.error(
          `Export #${old.jobNumber} is password-protected: regenerate it through the server, ` +
            `POST /api/exports/${old.id}/regenerate with {"password": "..."} (passwords are never stored).`,
        );
        return 1;
      }
      const { card, existing } = await context.exports.regenerate(ADMIN, id);
      console.log(
        values.json
          ? JSON.stringify(card, null, 2)
          : `${existing ? 'Already queued' : 'Queued'}: ${cardLine(card)}`,
      );
      return 0;
    });
  },
};

export const EXPORTS_COMMANDS: CliCommand[] = [listCommand, getCommand, regenerateCommand];
