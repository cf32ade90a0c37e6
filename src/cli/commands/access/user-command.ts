import { parseArgs } from 'node:util';
import type { CliCommand } from '../../cli-command.ts';
import { UsageError } from '../../cli-command.ts';
import { DATABASE_OPTIONS, databaseUsage, withCliContext } from '../../cli-database.ts';

/** Reads a password from standard input: everything up to the first newline. */
async function readPasswordFromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    length += chunk.length;
    if (length > 64 * 1024) throw new UsageError('--password-stdin: input is longer than 64 KiB');
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.split(/\r?\n/, 1)[0];
}

/** The options naming a user and giving its new password, taken by `user create` and `user set-password`. */
const CREDENTIAL_OPTIONS = {
  username: { type: 'string' },
  password: { type: 'string' },
  'password-stdin': { type: 'boolean' },
} as const;

async function credentialsFrom(values: {
  username?: string;
  password?: string;
  'password-stdin'?: boolean;
}): Promise<{ username: string; password: string }> {
  if (!values.username) throw new UsageError('--username is required');
  return { username: values.username, password: await passwordFrom(values) };
}

async function passwordFrom(values: { password?: string; 'password-stdin'?: boolean }): Promise<string> {
  if (values.password !== undefined && values['password-stdin']) {
    throw new UsageError('Give either --password or --password-stdin, not both');
  }
  if (values['password-stdin']) return readPasswordFromStdin();
  if (values.password === undefined) throw new UsageError('--password or --password-stdin is required');
  return values.password;
}

export const userCreateCommand: CliCommand = {
  path: ['user', 'create'],
  summary: 'Create a user (offline, on the data directory or database)',
  usage: `Usage: ferry user create --username U (--password P | --password-stdin) [options]

Creates a user directly in the database; the server need not be running.
  --username U          4-255 letters, digits, '.', '_' or '@'
  --password P          the password (visible in the process list: prefer --password-stdin)
  --password-stdin      read the password from the first line of standard input
  --first-name NAME     default: the username
  --surname NAME        default: the username
  --email ADDRESS
  --role ROLE           user role UID or name; repeatable
  --org-unit UID        data capture org unit; repeatable
  --view-org-unit UID   data view org unit; repeatable (default: the capture org units)
${databaseUsage(24)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...CREDENTIAL_OPTIONS,
        'first-name': { type: 'string' },
        surname: { type: 'string' },
        email: { type: 'string' },
        role: { type: 'string', multiple: true },
        'org-unit': { type: 'string', multiple: true },
        'view-org-unit': { type: 'string', multiple: true },
        ...DATABASE_OPTIONS,
      },
      strict: true,
    });
    const { username, password } = await credentialsFrom(values);
    return withCliContext(values, async (context) => {
      const user = await context.users.createUser({
        username,
        password,
        firstName: values['first-name'],
        surname: values.surname,
        email: values.email,
        roles: values.role ?? [],
        orgUnits: values['org-unit'] ?? [],
        viewOrgUnits: values['view-org-unit'] ?? [],
      });
      console.log(`Created user ${username} (${user.id})`);
      return 0;
    });
  },
};

export const userSetPasswordCommand: CliCommand = {
  path: ['user', 'set-password'],
  summary: "Set a user's password (offline); ends the user's web sessions",
  usage: `Usage: ferry user set-password --username U (--password P | --password-stdin)

${databaseUsage(24)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...CREDENTIAL_OPTIONS,
        ...DATABASE_OPTIONS,
      },
      strict: true,
    });
    const { username, password } = await credentialsFrom(values);
    return withCliContext(values, async (context) => {
      await context.users.setPassword(username, password);
      console.log(`Password of ${username} updated`);
      return 0;
    });
  },
};

export const userDisableCommand: CliCommand = {
  path: ['user', 'disable'],
  summary: 'Disable a user (or --enable it again)',
  usage: `Usage: ferry user disable --username U [--enable]

${databaseUsage(24)}`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        username: { type: 'string' },
        enable: { type: 'boolean' },
        ...DATABASE_OPTIONS,
      },
      strict: true,
    });
    if (!values.username) throw new UsageError('--username is required');
    const username = values.username;
    const disabled = !values.enable;
    return withCliContext(values, async (context) => {
      await context.users.setDisabled(username, disabled);
      console.log(`User ${username} ${disabled ? 'disabled' : 'enabled'}`);
      return 0;
    });
  },
};

export const USER_COMMANDS: CliCommand[] = [userCreateCommand, userSetPasswordCommand, userDisableCommand];
