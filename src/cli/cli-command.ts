import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** One `ferry` command: parses its own arguments, calls a service, prints. */
export interface CliCommand {
  /** Words that select it, e.g. ['import', 'data']. */
  readonly path: readonly string[];
  readonly summary: string;
  /** Full help text shown by `--help`. */
  readonly usage: string;
  run(args: string[]): Promise<number>;
}

/** Thrown for bad arguments; main prints the message and the command's usage, exit code 2. */
export class UsageError extends Error {}

/** Parses a command that takes exactly one id as its positional argument; `missing` is the error when it does not. */
export function parseArgsWithOneId<const O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  missing: string,
) {
  const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
  if (positionals.length !== 1) throw new UsageError(missing);
  return { values, id: positionals[0] };
}
