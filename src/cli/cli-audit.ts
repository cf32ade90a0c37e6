import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import type { FerryContext } from '../services/ferry-context.ts';
import type { AuditEntry, AuditType } from '../services/audit/audit-types.ts';
import { formatOf, redactOptions } from '../services/audit/audit-redaction.ts';
import { isFerryError } from '../errors.ts';

/** Sub-commands that only read: they leave no record, as plain reads over HTTP leave none. */
const READ_ONLY = new Set(['list', 'show', 'status', 'summary', 'tasks', 'files', 'get', 'events']);
/** Where the command writes: the target, not an option of what it did (and a URL may hold a password). */
const DATABASE_FLAGS = new Set(['data-dir', 'database-url']);

/** How the audit log names a CLI command: IMPORT, EXPORT, ADMIN, or nothing for a read. */
function typeOf(words: readonly string[]): AuditType | null {
  if (words[0] === 'import') return 'IMPORT';
  if (words[0] === 'export' || words[0] === 'form-pdf') return 'EXPORT';
  if (words.some((word) => READ_ONLY.has(word))) return null;
  return 'ADMIN';
}

/**
 * The audit record of a command run straight on the database (`ferry import data`, `ferry user
 * create`, ...), in its own words: `ferry import data` as the path, the operator's OS account as
 * the user (auth kind `cli`), the flags with secrets redacted, and for an import the file's size
 * and SHA-256. Runs `work` and records how it ended; its result or error passes through.
 */
export async function auditCliCommand(
  context: FerryContext,
  argv: readonly string[],
  work: () => Promise<number>,
): Promise<number> {
  const words: string[] = [];
  while (words.length < 2 && words.length < argv.length && /^[a-z][a-z-]*$/.test(argv[words.length])) {
    words.push(argv[words.length]);
  }
  const type = typeOf(words);
  if (!type) return work();
  let exitCode: number | undefined;
  let failure: unknown;
  try {
    exitCode = await work();
    return exitCode;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    await context.audit.record(await cliEntry(type, words, argv.slice(words.length), exitCode, failure));
  }
}

async function cliEntry(
  type: AuditType,
  words: readonly string[],
  rest: readonly string[],
  exitCode: number | undefined,
  failure: unknown,
): Promise<AuditEntry> {
  const options: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    // `--flag value`, `--flag=value`, or a boolean `--flag` (followed by another flag or nothing).
    const value =
      eq >= 0
        ? arg.slice(eq + 1)
        : rest[i + 1] !== undefined && !rest[i + 1].startsWith('--')
          ? rest[++i]
          : true;
    if (!DATABASE_FLAGS.has(name)) options[name] = value;
    // A value taken for a boolean flag may be the file: it is checked as a file below too.
    if (typeof value === 'string') positionals.push(value);
  }
  const file = type === 'IMPORT' ? await fileFacts(positionals) : null;
  const outcome =
    failure === undefined
      ? exitCode === 0
        ? 'SUCCESS'
        : 'FAILURE'
      : isFerryError(failure)
        ? failure.status === 401 || failure.status === 403
          ? 'DENIED'
          : failure.status < 500
            ? 'FAILURE'
            : 'ERROR'
        : 'ERROR';
  return {
    type,
    outcome,
    username: operator(),
    authKind: 'cli',
    path: `ferry ${words.join(' ')}`,
    status: exitCode ?? null,
    options: redactOptions(options),
    ...(file ?? {}),
    message: isFerryError(failure) ? failure.code : failure === undefined ? null : 'internal error',
  };
}

function operator(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** The first argument that names a regular file: its name, format, size and SHA-256 (streamed). */
async function fileFacts(candidates: readonly string[]): Promise<Partial<AuditEntry> | null> {
  for (const candidate of candidates) {
    const info = await stat(candidate).catch(() => undefined);
    if (!info?.isFile()) continue;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(candidate)) hash.update(chunk as Buffer);
    return {
      fileName: basename(candidate),
      fileSize: info.size,
      fileSha256: hash.digest('hex'),
      format: formatOf(null, candidate),
    };
  }
  return null;
}
